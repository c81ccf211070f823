//! The offering catalogue's read model (`projection.offerings`, `projection.plans`):
//! offerings as their answers show them (joined with customer, category and project), who
//! sees which offering on the provider side and in the public catalogue, the lists with
//! their filters ([`filter`]), and the plans list.

use serde_json::Value;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::list::{self, ListError, OrderKey, Ordering, Page, Paging, Sort, UnknownOrderKey};
use super::visibility::{CONNECTED_CUSTOMERS, CONNECTED_PROJECTS, Viewer};
use crate::domain::offering::model::OfferingState;

pub mod filter;

pub use filter::{OfferingFilter, PlanFilter};

/// The states shown in the public catalogue.
pub const PUBLIC_STATES: [OfferingState; 2] = [OfferingState::Active, OfferingState::Paused];

/// An offering with the names its answer shows.
#[derive(Debug, FromRow)]
pub struct OfferingRow {
    pub document: Value,
    pub customer_name: String,
    pub customer_blocked: bool,
    pub customer_archived: bool,
    pub category_title: Option<String>,
    pub project_name: Option<String>,
}

const SELECT: &str = "o.document, c.name AS customer_name, \
    c.blocked AS customer_blocked, c.archived AS customer_archived, \
    k.title AS category_title, p.name AS project_name";

const FROM: &str = "projection.offerings o \
    JOIN projection.customers c ON c.uuid = o.customer_uuid \
    LEFT JOIN projection.categories k ON k.uuid = o.category_uuid \
    LEFT JOIN projection.projects p ON p.uuid = o.project_uuid";

/// Who a list or lookup of offerings is for.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    /// The provider side: staff and support see every offering; others those of customers
    /// they hold a role in or of projects they hold a role in.
    Provider(&'a Viewer),
    /// The public catalogue (an anonymous caller: `None`): Active and Paused offerings only;
    /// shared ones for everyone, and those with a plan that is not archived for staff and
    /// support, or for users connected to their customer or project.
    Public(Option<&'a Viewer>),
}

/// Providers and the public both sort by these; they differ in how `state` sorts.
const COMMON_KEYS: [OrderKey; 6] = [
    OrderKey {
        name: "name",
        sql: "o.name",
    },
    OrderKey {
        name: "created",
        sql: "o.created",
    },
    OrderKey {
        name: "type",
        sql: "o.type",
    },
    // The totals are not computed; they sort by age.
    OrderKey {
        name: "total_customers",
        sql: "o.created",
    },
    OrderKey {
        name: "total_cost",
        sql: "o.created",
    },
    OrderKey {
        name: "total_cost_estimated",
        sql: "o.created",
    },
];

/// The provider side sorts states by Waldur's stored state numbers, not by their names.
const STATE_RANK: &str = "CASE o.state WHEN 'Draft' THEN 1 WHEN 'Active' THEN 2 \
    WHEN 'Paused' THEN 3 WHEN 'Archived' THEN 4 ELSE 5 END";

/// The order of an offering list: `name`, `created`, `type`, `state` (by state number on
/// the provider side, by name in the public catalogue) and the totals (by age); by name
/// by default.
pub fn ordering(audience: Audience<'_>, sorts: &[Sort]) -> Result<Ordering, UnknownOrderKey> {
    let state = match audience {
        Audience::Provider(_) => STATE_RANK,
        Audience::Public(_) => "o.state",
    };
    let mut keys = COMMON_KEYS.to_vec();
    keys.push(OrderKey {
        name: "state",
        sql: state,
    });
    Ordering::resolve(&keys, sorts, "o.name", "o.uuid")
}

/// An offering has a plan that is not archived.
const HAS_OPEN_PLAN: &str = "EXISTS (SELECT 1 FROM projection.plans pl \
    WHERE pl.offering_uuid = o.uuid AND NOT pl.archived)";

/// SQL (with `$1` = the user's uuid) for the offerings of customers and projects the user
/// holds a role in.
const PROVIDER_VISIBLE: &str = "(o.customer_uuid IN (SELECT r.scope_uuid \
     FROM projection.user_roles r WHERE r.user_uuid = $1 AND r.scope_type = 'customer' \
       AND (r.expiration_time IS NULL OR r.expiration_time > now())) \
     OR o.project_uuid IN (SELECT r.scope_uuid FROM projection.user_roles r \
       WHERE r.user_uuid = $1 AND r.scope_type = 'project' \
       AND (r.expiration_time IS NULL OR r.expiration_time > now())))";

/// Pushes ` AND …` keeping the offerings (`o`) the audience sees, as [`Audience`] says.
fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, audience: Audience<'_>) {
    match audience {
        Audience::Provider(viewer) if viewer.sees_all => {}
        Audience::Provider(viewer) => {
            qb.push(" AND ");
            list::push_with_user(qb, PROVIDER_VISIBLE, viewer.uuid);
        }
        Audience::Public(viewer) => {
            let states: Vec<String> = PUBLIC_STATES.iter().map(|s| s.as_str().into()).collect();
            qb.push(" AND o.state = ANY(");
            qb.push_bind(states);
            qb.push(")");
            match viewer {
                None => {
                    qb.push(" AND o.shared");
                }
                Some(viewer) if viewer.sees_all => {
                    qb.push(format!(" AND (o.shared OR {HAS_OPEN_PLAN})"));
                }
                Some(viewer) => {
                    let sql = format!(
                        " AND (o.shared OR ((o.customer_uuid IN ({CONNECTED_CUSTOMERS}) \
                         OR o.project_uuid IN ({CONNECTED_PROJECTS})) AND {HAS_OPEN_PLAN}))"
                    );
                    list::push_with_user(qb, &sql, viewer.uuid);
                }
            }
        }
    }
}

/// One page of the offerings the audience sees that match `filter`.
pub async fn list(
    pool: &PgPool,
    audience: Audience<'_>,
    filter: &OfferingFilter,
    ordering: &Ordering,
    paging: Paging,
) -> Result<Page<OfferingRow>, ListError> {
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        push_visibility(qb, audience);
        filter.push(qb);
    };
    list::fetch_page(pool, SELECT, FROM, filters, ordering.sql(), paging).await
}

/// The offering if the audience sees it.
pub async fn find_visible(
    pool: &PgPool,
    audience: Audience<'_>,
    uuid: Uuid,
) -> sqlx::Result<Option<OfferingRow>> {
    let mut qb = QueryBuilder::new(format!("SELECT {SELECT} FROM {FROM} WHERE o.uuid = "));
    qb.push_bind(uuid);
    push_visibility(&mut qb, audience);
    qb.build_query_as().fetch_optional(pool).await
}

/// The offering, whoever asks (deleted ones included).
pub async fn find(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<OfferingRow>> {
    sqlx::query_as(&format!("SELECT {SELECT} FROM {FROM} WHERE o.uuid = $1"))
        .bind(uuid)
        .fetch_optional(pool)
        .await
}

/// A plan with its offering's document (which holds the plan) and how many resources use
/// it (all states).
#[derive(Debug, FromRow)]
pub struct PlanRow {
    pub document: Value,
    pub plan_uuid: Uuid,
    pub resources_count: i64,
}

const PLAN_SELECT: &str = "o.document, pl.uuid AS plan_uuid, \
    (SELECT count(*) FROM projection.resources r WHERE r.plan_uuid = pl.uuid) AS resources_count";

const PLAN_FROM: &str =
    "projection.plans pl JOIN projection.offerings o ON o.uuid = pl.offering_uuid";

/// One page of the plans that match `filter`, by name.
pub async fn list_plans(
    pool: &PgPool,
    filter: &PlanFilter,
    paging: Paging,
) -> Result<Page<PlanRow>, ListError> {
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        filter.push(qb);
    };
    list::fetch_page(
        pool,
        PLAN_SELECT,
        PLAN_FROM,
        filters,
        "pl.name, pl.uuid",
        paging,
    )
    .await
}

/// The offering that holds the plan, if the plan exists.
pub async fn plan_offering(pool: &PgPool, plan: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT offering_uuid FROM projection.plans WHERE uuid = $1")
        .bind(plan)
        .fetch_optional(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visibility(audience: Audience<'_>) -> String {
        let mut qb = QueryBuilder::<Postgres>::new("WHERE true");
        push_visibility(&mut qb, audience);
        qb.sql().to_string()
    }

    const USER: Viewer = Viewer {
        uuid: Uuid::nil(),
        sees_all: false,
    };
    const STAFF: Viewer = Viewer {
        uuid: Uuid::nil(),
        sees_all: true,
    };

    #[test]
    fn the_provider_side_limits_users_to_their_customers_and_projects() {
        assert_eq!(visibility(Audience::Provider(&STAFF)), "WHERE true");
        let text = visibility(Audience::Provider(&USER));
        assert!(
            text.starts_with("WHERE true AND (o.customer_uuid IN (SELECT r.scope_uuid"),
            "{text}"
        );
        assert!(text.contains("r.user_uuid = $1 AND r.scope_type = 'customer'"));
        assert!(text.contains("r.user_uuid = $2 AND r.scope_type = 'project'"));
    }

    #[test]
    fn the_public_side_shows_shared_offerings_and_for_users_those_with_an_open_plan() {
        assert_eq!(
            visibility(Audience::Public(None)),
            "WHERE true AND o.state = ANY($1) AND o.shared"
        );
        assert_eq!(
            visibility(Audience::Public(Some(&STAFF))),
            format!("WHERE true AND o.state = ANY($1) AND (o.shared OR {HAS_OPEN_PLAN})")
        );
        let text = visibility(Audience::Public(Some(&USER)));
        assert!(text.starts_with(
            "WHERE true AND o.state = ANY($1) AND (o.shared OR ((o.customer_uuid IN ("
        ));
        assert!(
            text.ends_with(&format!(") AND {HAS_OPEN_PLAN}))")),
            "{text}"
        );
        assert!(
            text.contains("r.user_uuid = $2") && !text.contains("r.user_uuid = $1"),
            "the user is bound after the states: {text}"
        );
    }

    #[test]
    fn state_sorts_by_number_for_providers_and_by_name_in_the_catalogue() {
        let sorts = [Sort::parse("-state")];
        let provider = ordering(Audience::Provider(&USER), &sorts).unwrap();
        assert_eq!(provider.sql(), format!("{STATE_RANK} DESC, o.uuid"));
        let public = ordering(Audience::Public(None), &sorts).unwrap();
        assert_eq!(public.sql(), "o.state DESC, o.uuid");
        assert_eq!(
            ordering(Audience::Public(None), &[]).unwrap().sql(),
            "o.name, o.uuid"
        );
        assert!(ordering(Audience::Public(None), &[Sort::parse("rating")]).is_err());
    }
}
