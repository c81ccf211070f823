//! The order list filters (Waldur's `OrderFilter`) as typed values, and the SQL they become.
//!
//! Every filter is answered from columns of `projection.orders` or from a subquery that
//! yields few uuids (offerings, resources, roles), so a filtered page stays an index scan
//! on the orders table.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::order::{OrderState, OrderType};
use crate::read::list::{contains_pattern, push_equals, push_one_of};
use crate::read::visibility::ACTIVE_GRANT;

/// What an order list keeps; the default keeps every order. Uuids that name nothing
/// (the nil uuid) match nothing.
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    /// One of these states (none: any).
    pub states: Vec<OrderState>,
    /// One of these types (none: any).
    pub types: Vec<OrderType>,
    /// One of these offerings (none: any).
    pub offering_uuids: Vec<Uuid>,
    pub project: Option<Uuid>,
    pub customer: Option<Uuid>,
    /// The customer of the order's offering.
    pub provider: Option<Uuid>,
    /// The order's resource is each of these (two different ones match nothing).
    pub resources: Vec<Uuid>,
    /// Exactly this offering, besides `offering_uuids`.
    pub offering: Option<Uuid>,
    /// Offerings of one of these types (none: any).
    pub offering_types: Vec<String>,
    /// Offerings of this category.
    pub category: Option<Uuid>,
    /// Offerings with one of these slugs (none: any).
    pub offering_slugs: Vec<String>,
    /// Orders of child offerings only: offerings have no parents here, so none.
    pub child_offerings_only: bool,
    /// Resources of exactly this name.
    pub resource_name: Option<String>,
    /// Shared offerings of the customers this user manages services for.
    pub service_manager: Option<Uuid>,
    pub slug: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub modified_from: Option<DateTime<Utc>>,
    pub modified_before: Option<DateTime<Utc>>,
    /// Orders waiting for an approval, each limited to what an approver may approve.
    pub approvable: Vec<Approvable>,
    /// The order with this uuid if it exists, else orders whose name, slug or project name
    /// contains the text.
    pub query: Option<String>,
    /// Orders approved by a project's auto-approval rule: none exist here.
    pub auto_approved_only: bool,
}

/// Orders in `state`, and when `approver` is given only those it may approve there.
#[derive(Debug, Clone)]
pub struct Approvable {
    pub state: OrderState,
    pub approver: Option<Approver>,
}

/// A user and the roles that grant them approval.
#[derive(Debug, Clone)]
pub struct Approver {
    pub user: Uuid,
    pub roles: Vec<String>,
}

impl OrderFilter {
    /// Pushes ` AND …` for each filter set, onto a query over `projection.orders o`.
    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        let names = |names: Vec<&str>| names.into_iter().map(str::to_string).collect();
        push_one_of(
            qb,
            "o.state",
            names(self.states.iter().map(|s| s.as_str()).collect()),
        );
        push_one_of(
            qb,
            "o.type",
            names(self.types.iter().map(|t| t.as_str()).collect()),
        );
        push_one_of(qb, "o.offering_uuid", self.offering_uuids.clone());
        push_equals(qb, "o.project_uuid", self.project);
        push_equals(qb, "o.customer_uuid", self.customer);
        push_equals(qb, "o.provider_customer_uuid", self.provider);
        for resource in &self.resources {
            push_equals(qb, "o.resource_uuid", Some(*resource));
        }
        push_equals(qb, "o.offering_uuid", self.offering);
        if !self.offering_types.is_empty() {
            qb.push(
                " AND o.offering_uuid IN (SELECT uuid FROM projection.offerings WHERE type = ANY(",
            );
            qb.push_bind(self.offering_types.clone());
            qb.push("))");
        }
        if let Some(category) = self.category {
            qb.push(
                " AND o.offering_uuid IN (SELECT uuid FROM projection.offerings \
                 WHERE category_uuid = ",
            );
            qb.push_bind(category);
            qb.push(")");
        }
        if !self.offering_slugs.is_empty() {
            qb.push(
                " AND o.offering_uuid IN (SELECT uuid FROM projection.offerings WHERE slug = ANY(",
            );
            qb.push_bind(self.offering_slugs.clone());
            qb.push("))");
        }
        if self.child_offerings_only {
            qb.push(" AND false");
        }
        if let Some(name) = &self.resource_name {
            qb.push(" AND o.resource_uuid IN (SELECT uuid FROM projection.resources WHERE name = ");
            qb.push_bind(name.clone());
            qb.push(")");
        }
        if let Some(user) = self.service_manager {
            // Service managers and offering managers hold their roles on the provider
            // customer.
            qb.push(
                " AND o.offering_uuid IN (SELECT f.uuid FROM projection.offerings f \
                 WHERE f.shared AND f.customer_uuid IN (SELECT r.scope_uuid \
                 FROM projection.user_roles r WHERE r.scope_type = 'customer' \
                 AND r.role IN ('CUSTOMER.MANAGER', 'OFFERING.MANAGER') AND ",
            );
            qb.push(ACTIVE_GRANT);
            qb.push(" AND r.user_uuid = ");
            qb.push_bind(user);
            qb.push("))");
        }
        push_equals(qb, "o.slug", self.slug.clone());
        for (column, op, value) in [
            ("o.created", ">=", self.created_from),
            ("o.created", "<=", self.created_before),
            ("o.modified", ">=", self.modified_from),
            ("o.modified", "<=", self.modified_before),
        ] {
            if let Some(at) = value {
                qb.push(format!(" AND {column} {op} "));
                qb.push_bind(at);
            }
        }
        for approvable in &self.approvable {
            qb.push(" AND o.state = ");
            qb.push_bind(approvable.state.as_str());
            if let Some(approver) = &approvable.approver {
                push_approver(qb, approvable.state, approver);
            }
        }
        if let Some(query) = &self.query {
            push_query(qb, query);
        }
        if self.auto_approved_only {
            qb.push(" AND false");
        }
    }
}

/// Limits the list to orders `approver` may approve: as consumer through a role on the
/// project or its customer, as provider through a role on the offering's customer.
fn push_approver(qb: &mut QueryBuilder<'_, Postgres>, side: OrderState, approver: &Approver) {
    let scopes: &[(&str, &str)] = if side == OrderState::PendingConsumer {
        &[
            ("project", "o.project_uuid"),
            ("customer", "o.customer_uuid"),
        ]
    } else {
        &[("customer", "o.provider_customer_uuid")]
    };
    qb.push(" AND (false");
    for (scope_type, column) in scopes {
        qb.push(format!(
            " OR {column} IN (SELECT r.scope_uuid FROM projection.user_roles r \
             WHERE r.scope_type = '{scope_type}' AND {ACTIVE_GRANT} AND r.user_uuid = "
        ));
        qb.push_bind(approver.user);
        qb.push(" AND r.role = ANY(");
        qb.push_bind(approver.roles.clone());
        qb.push("))");
    }
    qb.push(")");
}

/// The order with the uuid `query` if it exists, else orders whose name, slug or project
/// name contains the text.
fn push_query(qb: &mut QueryBuilder<'_, Postgres>, query: &str) {
    let pattern = contains_pattern(query);
    let by_text = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push("(o.name ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR o.slug ILIKE ");
        qb.push_bind(pattern.clone());
        // Each arm has a trigram (or uuid) index; `= ANY(ARRAY(...))` lets the project arm
        // join them in one bitmap scan instead of filtering every order row.
        qb.push(
            " OR o.project_uuid = ANY(ARRAY(SELECT uuid FROM projection.projects \
             WHERE name ILIKE ",
        );
        qb.push_bind(pattern.clone());
        qb.push(")))");
    };
    match Uuid::parse_str(query) {
        Ok(uuid) => {
            qb.push(" AND (o.uuid = ");
            qb.push_bind(uuid);
            qb.push(" OR (NOT EXISTS (SELECT 1 FROM projection.orders x WHERE x.uuid = ");
            qb.push_bind(uuid);
            qb.push(") AND ");
            by_text(qb);
            qb.push("))");
        }
        Err(_) => {
            qb.push(" AND ");
            by_text(qb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(filter: &OrderFilter) -> String {
        let mut qb = QueryBuilder::<Postgres>::new("WHERE true");
        filter.push(&mut qb);
        qb.sql().to_string()
    }

    #[test]
    fn no_filter_adds_nothing() {
        assert_eq!(sql(&OrderFilter::default()), "WHERE true");
    }

    #[test]
    fn one_state_is_bound_as_itself_and_offerings_by_type_come_from_a_subquery() {
        let filter = OrderFilter {
            states: vec![OrderState::Done],
            types: vec![OrderType::Create, OrderType::Terminate],
            offering_types: vec!["Marketplace.Slurm".into()],
            ..OrderFilter::default()
        };
        assert_eq!(
            sql(&filter),
            "WHERE true AND o.state = $1 AND o.type = ANY($2) AND o.offering_uuid IN \
             (SELECT uuid FROM projection.offerings WHERE type = ANY($3))"
        );
    }

    #[test]
    fn a_query_that_is_a_uuid_also_matches_by_text_when_no_order_has_it() {
        let filter = OrderFilter {
            query: Some(Uuid::nil().to_string()),
            ..OrderFilter::default()
        };
        let text = sql(&filter);
        assert!(
            text.starts_with("WHERE true AND (o.uuid = $1 OR (NOT EXISTS"),
            "{text}"
        );
        assert!(text.contains("o.name ILIKE $3"), "{text}");
        let by_text = sql(&OrderFilter {
            query: Some("alloc".into()),
            ..OrderFilter::default()
        });
        assert!(
            by_text.starts_with("WHERE true AND (o.name ILIKE $1"),
            "{by_text}"
        );
    }

    #[test]
    fn an_approver_sees_consumer_approvals_through_project_or_customer_roles() {
        let filter = OrderFilter {
            approvable: vec![Approvable {
                state: OrderState::PendingConsumer,
                approver: Some(Approver {
                    user: Uuid::nil(),
                    roles: vec!["PROJECT.MANAGER".into()],
                }),
            }],
            ..OrderFilter::default()
        };
        let text = sql(&filter);
        assert!(text.starts_with("WHERE true AND o.state = $1 AND (false OR o.project_uuid IN"));
        assert!(text.contains("OR o.customer_uuid IN"), "{text}");
        assert!(!text.contains("provider_customer_uuid"), "{text}");
    }
}
