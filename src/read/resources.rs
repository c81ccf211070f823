//! The resources read model: resources as their answers show them (joined with offering,
//! project, customers and category), who sees which resource from either side, and the
//! list with Waldur's `ResourceFilter` as typed values.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::list::{
    self, ListError, OrderKey, Ordering, Page, Paging, Sort, UnknownOrderKey, push_any,
    push_contains, push_equals, push_one_of,
};
use super::orders::PENDING_STATES;
use super::visibility::Viewer;
use crate::domain::resource::ResourceState;

/// The two views of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The consumer's view: resources of their projects and customers, and of their
    /// offerings.
    Consumer,
    /// The provider's view: resources of their offerings only.
    Provider,
}

/// A resource with everything its answer shows.
#[derive(Debug, FromRow)]
pub struct ResourceRow {
    pub resource_doc: Value,
    pub offering_doc: Option<Value>,
    pub project_name: Option<String>,
    pub project_slug: Option<String>,
    pub project_description: Option<String>,
    pub project_end_date: Option<NaiveDate>,
    pub project_end_date_requested_by: Option<Uuid>,
    pub customer_name: Option<String>,
    pub customer_slug: Option<String>,
    pub provider_uuid: Option<Uuid>,
    pub provider_name: Option<String>,
    pub provider_slug: Option<String>,
    pub category_title: Option<String>,
    /// An order for the resource is pending or executing.
    pub pending_order: bool,
}

fn select() -> String {
    format!(
        "r.document AS resource_doc, f.document AS offering_doc, \
         p.name AS project_name, p.slug AS project_slug, p.description AS project_description, \
         p.end_date AS project_end_date, \
         p.end_date_requested_by AS project_end_date_requested_by, \
         c.name AS customer_name, c.slug AS customer_slug, \
         f.customer_uuid AS provider_uuid, pc.name AS provider_name, pc.slug AS provider_slug, \
         k.title AS category_title, \
         EXISTS (SELECT 1 FROM projection.orders po WHERE po.resource_uuid = r.uuid \
           AND po.state IN {PENDING_STATES}) AS pending_order"
    )
}

const FROM: &str = "projection.resources r \
    LEFT JOIN projection.offerings f ON f.uuid = r.offering_uuid \
    LEFT JOIN projection.projects p ON p.uuid = r.project_uuid \
    LEFT JOIN projection.customers c ON c.uuid = r.customer_uuid \
    LEFT JOIN projection.customers pc ON pc.uuid = f.customer_uuid \
    LEFT JOIN projection.categories k ON k.uuid = f.category_uuid";

/// Waldur sorts states by their number, not their name.
const STATE_RANK: &str = "CASE r.state WHEN 'Creating' THEN 1 WHEN 'OK' THEN 2 \
    WHEN 'Erred' THEN 3 WHEN 'Updating' THEN 4 WHEN 'Terminating' THEN 5 ELSE 6 END";

/// The `o=` keys of Waldur's `ResourceFilter`.
const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "created",
        sql: "r.created",
    },
    OrderKey {
        name: "end_date",
        sql: "r.end_date",
    },
    OrderKey {
        name: "name",
        sql: "r.name",
    },
    OrderKey {
        name: "project_name",
        sql: "p.name",
    },
    OrderKey {
        name: "state",
        sql: STATE_RANK,
    },
];

/// The order of a resource list: `created`, `end_date`, `name`, `project_name` or
/// `state` (by Waldur's state numbers); oldest first by default.
pub fn ordering(sorts: &[Sort]) -> Result<Ordering, UnknownOrderKey> {
    Ordering::resolve(ORDER_KEYS, sorts, "r.created", "r.uuid")
}

/// What a resource list keeps; the default keeps every resource. Uuids that name nothing
/// (the nil uuid) match nothing.
#[derive(Debug, Default, Clone)]
pub struct ResourceFilter {
    /// One of these states (none: any).
    pub states: Vec<ResourceState>,
    /// One of these offerings (none: any).
    pub offering_uuids: Vec<Uuid>,
    /// Exactly this offering, besides `offering_uuids`.
    pub offering: Option<Uuid>,
    /// The resource's project is each of these (two different ones match nothing).
    pub projects: Vec<Uuid>,
    /// The resource's customer is each of these.
    pub customers: Vec<Uuid>,
    /// The customer of the resource's offering.
    pub provider: Option<Uuid>,
    pub plan: Option<Uuid>,
    /// The category of the resource's offering.
    pub category: Option<Uuid>,
    /// Offerings with one of these slugs (none: any).
    pub offering_slugs: Vec<String>,
    /// Offerings of one of these types (none: any).
    pub offering_types: Vec<String>,
    pub offering_shared: Option<bool>,
    pub offering_billable: Option<bool>,
    pub has_terminate_date: Option<bool>,
    /// Nothing is paused, downscaled or access-restricted here: `Some(true)` matches
    /// nothing.
    pub paused: Option<bool>,
    pub downscaled: Option<bool>,
    pub restrict_member_access: Option<bool>,
    /// Offerings with (or without) a usage-billed component.
    pub usage_based: Option<bool>,
    /// Offerings with (or without) a limit-billed component.
    pub limit_based: Option<bool>,
    /// Offerings billed by usage and not by limits (or not so).
    pub only_usage_based: Option<bool>,
    /// Offerings billed by limits and not by usage (or not so).
    pub only_limit_based: Option<bool>,
    /// Resources of child offerings only: offerings have no parents here, so none.
    pub child_offerings_only: bool,
    /// The project's name contains this.
    pub project_name: Option<String>,
    pub backend_id: Option<String>,
    /// The name is exactly this.
    pub name_exact: Option<String>,
    /// The name contains this.
    pub name: Option<String>,
    /// The name contains the text, the backend id is the text, or the uuid is it.
    pub query: Option<String>,
    /// Time bounds; `Some(None)` is a time that could not be read and matches nothing.
    pub created_from: Option<Option<DateTime<Utc>>>,
    pub created_before: Option<Option<DateTime<Utc>>>,
    pub modified_from: Option<Option<DateTime<Utc>>>,
    pub modified_before: Option<Option<DateTime<Utc>>>,
}

impl ResourceFilter {
    /// Pushes ` AND …` for each filter set, onto a query over [`FROM`]'s aliases.
    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        let states: Vec<String> = self.states.iter().map(|s| s.as_str().into()).collect();
        push_any(qb, "r.state", &states);
        push_any(qb, "r.offering_uuid", &self.offering_uuids);
        for project in &self.projects {
            push_equals(qb, "r.project_uuid", Some(*project));
        }
        for customer in &self.customers {
            push_equals(qb, "r.customer_uuid", Some(*customer));
        }
        push_equals(qb, "f.customer_uuid", self.provider);
        push_equals(qb, "r.plan_uuid", self.plan);
        push_equals(qb, "f.category_uuid", self.category);
        push_equals(qb, "r.offering_uuid", self.offering);
        push_one_of(qb, "f.slug", self.offering_slugs.clone());
        for (column, value) in [
            ("f.shared", self.offering_shared),
            ("f.billable", self.offering_billable),
            ("(r.end_date IS NOT NULL)", self.has_terminate_date),
            ("false", self.paused),
            ("false", self.downscaled),
            ("false", self.restrict_member_access),
        ] {
            push_equals(qb, column, value);
        }
        let billed =
            |billing: &str| format!("('{billing}' = ANY(COALESCE(f.billing_types, '{{}}')))");
        let usage = billed("usage");
        let limit = billed("limit");
        for (sql, value) in [
            (usage.clone(), self.usage_based),
            (limit.clone(), self.limit_based),
            (format!("({usage} AND NOT {limit})"), self.only_usage_based),
            (format!("({limit} AND NOT {usage})"), self.only_limit_based),
        ] {
            push_equals(qb, &sql, value);
        }
        if self.child_offerings_only {
            qb.push(" AND false");
        }
        push_contains(qb, "p.name", self.project_name.as_deref());
        push_any(qb, "f.type", &self.offering_types);
        push_equals(qb, "r.backend_id", self.backend_id.clone());
        push_equals(qb, "r.name", self.name_exact.clone());
        push_contains(qb, "r.name", self.name.as_deref());
        if let Some(query) = &self.query {
            qb.push(" AND (r.name ILIKE ");
            qb.push_bind(list::contains_pattern(query));
            qb.push(" OR r.backend_id = ");
            qb.push_bind(query.clone());
            if let Ok(uuid) = Uuid::parse_str(query) {
                qb.push(" OR r.uuid = ");
                qb.push_bind(uuid);
            }
            qb.push(")");
        }
        for (column, op, bound) in [
            ("r.created", ">=", self.created_from),
            ("r.created", "<", self.created_before),
            ("r.modified", ">=", self.modified_from),
            ("r.modified", "<", self.modified_before),
        ] {
            if let Some(at) = bound {
                qb.push(format!(" AND {column} {op} "));
                qb.push_bind(at);
            }
        }
    }
}

/// The viewer's active roles of `scope` type, as a subquery.
fn push_roles(qb: &mut QueryBuilder<'_, Postgres>, viewer: &Viewer, scope: &str) {
    qb.push(format!(
        "(SELECT g.scope_uuid FROM projection.user_roles g WHERE g.scope_type = '{scope}' \
         AND (g.expiration_time IS NULL OR g.expiration_time > now()) AND g.user_uuid = "
    ));
    qb.push_bind(viewer.uuid);
    qb.push(")");
}

/// Staff and support see every resource. Consumers see those of projects and customers
/// they hold a role in, providers those of their offerings; the provider side shows only
/// the latter.
fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, viewer: &Viewer, side: Side) {
    if viewer.sees_all {
        return;
    }
    qb.push(" AND (f.customer_uuid IN ");
    push_roles(qb, viewer, "customer");
    if side == Side::Consumer {
        qb.push(" OR r.project_uuid IN ");
        push_roles(qb, viewer, "project");
        qb.push(" OR r.customer_uuid IN ");
        push_roles(qb, viewer, "customer");
    }
    qb.push(")");
}

/// One page of the resources `viewer` sees from `side` that match `filter`.
pub async fn list(
    pool: &PgPool,
    viewer: &Viewer,
    side: Side,
    filter: &ResourceFilter,
    ordering: &Ordering,
    paging: Paging,
) -> Result<Page<ResourceRow>, ListError> {
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        push_visibility(qb, viewer, side);
        filter.push(qb);
    };
    list::fetch_page(pool, &select(), FROM, filters, ordering.sql(), paging).await
}

/// The resource if `viewer` sees it from `side`.
pub async fn find_visible(
    pool: &PgPool,
    viewer: &Viewer,
    side: Side,
    uuid: Uuid,
) -> sqlx::Result<Option<ResourceRow>> {
    let mut qb = QueryBuilder::new(format!("SELECT {} FROM {FROM} WHERE r.uuid = ", select()));
    qb.push_bind(uuid);
    push_visibility(&mut qb, viewer, side);
    qb.build_query_as().fetch_optional(pool).await
}

/// How many resources that are not terminated use the plan.
pub async fn count_on_plan(pool: &PgPool, plan: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM projection.resources WHERE plan_uuid = $1 AND state <> 'Terminated'",
    )
    .bind(plan)
    .fetch_one(pool)
    .await
}

/// How many resources (in any state) use each plan of the offering; plans no resource uses
/// are left out.
pub async fn count_by_plan(pool: &PgPool, offering: Uuid) -> sqlx::Result<HashMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT plan_uuid, count(*) FROM projection.resources \
         WHERE offering_uuid = $1 AND plan_uuid IS NOT NULL GROUP BY plan_uuid",
    )
    .bind(offering)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(filter: &ResourceFilter) -> String {
        let mut qb = QueryBuilder::<Postgres>::new("WHERE true");
        filter.push(&mut qb);
        qb.sql().to_string()
    }

    #[test]
    fn no_filter_adds_nothing() {
        assert_eq!(sql(&ResourceFilter::default()), "WHERE true");
    }

    #[test]
    fn billing_filters_read_the_offerings_billing_types_column() {
        let text = sql(&ResourceFilter {
            only_usage_based: Some(true),
            ..ResourceFilter::default()
        });
        assert_eq!(
            text,
            "WHERE true AND (('usage' = ANY(COALESCE(f.billing_types, '{}'))) \
             AND NOT ('limit' = ANY(COALESCE(f.billing_types, '{}')))) = $1"
        );
    }

    #[test]
    fn a_query_matches_the_uuid_only_when_it_is_one() {
        let by_text = sql(&ResourceFilter {
            query: Some("alloc".into()),
            ..ResourceFilter::default()
        });
        assert_eq!(
            by_text,
            "WHERE true AND (r.name ILIKE $1 OR r.backend_id = $2)"
        );
        let by_uuid = sql(&ResourceFilter {
            query: Some(Uuid::nil().to_string()),
            ..ResourceFilter::default()
        });
        assert!(by_uuid.ends_with(" OR r.uuid = $3)"), "{by_uuid}");
    }

    #[test]
    fn states_always_bind_as_an_array_and_an_unreadable_time_is_still_bound() {
        let text = sql(&ResourceFilter {
            states: vec![ResourceState::Ok],
            created_before: Some(None),
            ..ResourceFilter::default()
        });
        assert_eq!(text, "WHERE true AND r.state = ANY($1) AND r.created < $2");
    }
}
