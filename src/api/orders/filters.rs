//! The order list filters beyond ids, states and types (Waldur's `OrderFilter`): slugs,
//! resources, service managers, time ranges, approvability and the free-text `query`.
//!
//! Every filter is answered from columns of `projection.orders` or from a subquery that
//! yields few uuids (offerings, roles), so a filtered page stays an index scan on the orders
//! table. Values are parsed before any SQL is built, so a bad date is a 400, not a query
//! error.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::form::parse_hyperlink;
use crate::api::list::{QueryParams, contains_pattern};
use crate::domain::order::OrderState;

/// Only grants still in force count.
const ACTIVE: &str = "(r.expiration_time IS NULL OR r.expiration_time > now())";

/// The parsed filters of one list request.
#[derive(Debug, Default)]
pub struct OrderFilters {
    offering_slugs: Vec<String>,
    parent_offering: bool,
    resource: Option<Uuid>,
    resource_name: Option<String>,
    service_manager: Option<Uuid>,
    slug: Option<String>,
    created_from: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    modified_from: Option<DateTime<Utc>>,
    modified_before: Option<DateTime<Utc>>,
    /// `can_approve_as_*`: the state it forces, and the caller's approver roles when the
    /// list is also limited to what the caller may approve.
    approvable: Vec<(OrderState, Option<Approver>)>,
    query: Option<String>,
    /// `was_auto_approved=true`: approved by a project's auto-approval rule.
    auto_approved_only: bool,
}

/// Whose orders a non-staff caller may approve: the caller and the roles granting
/// `ORDER.APPROVE`.
#[derive(Debug, Clone)]
struct Approver {
    user: Uuid,
    roles: Vec<String>,
}

/// django-filter's `BooleanFilter` values; anything else leaves the filter unapplied.
pub fn filter_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A `DateTimeFilter` value: an ISO 8601 date-time (`T` or a space, optional seconds,
/// fraction and offset; naive times are UTC), Django's month-first forms, or a bare date
/// (midnight).
pub fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    let text = raw.trim();
    let mut normalized = text.replacen(' ', "T", 1);
    if let Some(stripped) = normalized.strip_suffix(['Z', 'z']) {
        normalized = format!("{stripped}+00:00");
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
    ] {
        if let Ok(at) = DateTime::parse_from_str(&normalized, format) {
            return Some(at.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(&normalized, format) {
            return Some(at.and_utc());
        }
    }
    // Django's other DATETIME_INPUT_FORMATS (US month-first forms). Two-digit years first:
    // chrono's %Y would read "24" as the year 24.
    for format in [
        "%m/%d/%y %H:%M:%S%.f",
        "%m/%d/%y %H:%M",
        "%m/%d/%Y %H:%M:%S%.f",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Some(at.and_utc());
        }
    }
    ["%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y"]
        .into_iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
}

fn datetime(params: &QueryParams, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    params
        .get(key)
        .map(|raw| {
            parse_datetime(raw).ok_or_else(|| ApiError::field(key, "Enter a valid date/time."))
        })
        .transpose()
}

impl OrderFilters {
    pub fn parse(
        params: &QueryParams,
        caller: &Caller,
        state: &ApiState,
    ) -> Result<Self, ApiError> {
        let approver = || {
            (!caller.is_staff).then(|| Approver {
                user: caller.uuid,
                roles: state.ledger.permissions.roles_granting("ORDER.APPROVE"),
            })
        };
        let mut approvable = Vec::new();
        for (key, forced) in [
            ("can_approve_as_consumer", OrderState::PendingConsumer),
            ("can_approve_as_provider", OrderState::PendingProvider),
        ] {
            if let Some(value) = params.get(key).and_then(filter_bool) {
                approvable.push((forced, if value { approver() } else { None }));
            }
        }
        Ok(Self {
            // Repeated, or comma-separated as django-filter's `CharInFilter` reads them.
            offering_slugs: params
                .all("offering_slug")
                .into_iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect(),
            parent_offering: params.get("parent_offering_uuid").is_some(),
            resource: params
                .get("resource")
                .map(|url| parse_hyperlink(url, "marketplace-resources").unwrap_or(Uuid::nil())),
            resource_name: params.get("resource_name").map(str::to_string),
            service_manager: params
                .get("service_manager_uuid")
                .map(|raw| Uuid::parse_str(raw.trim()).unwrap_or(Uuid::nil())),
            slug: params.get("slug").map(str::to_string),
            created_from: datetime(params, "created")?,
            created_before: datetime(params, "created_before")?,
            modified_from: datetime(params, "modified")?,
            modified_before: datetime(params, "modified_before")?,
            approvable,
            query: params
                .get("query")
                .map(|q| q.trim().to_string())
                .filter(|q| !q.is_empty()),
            auto_approved_only: params.get("was_auto_approved").and_then(filter_bool) == Some(true),
        })
    }

    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        if !self.offering_slugs.is_empty() {
            qb.push(
                " AND o.offering_uuid IN (SELECT uuid FROM projection.offerings WHERE slug = ANY(",
            );
            qb.push_bind(self.offering_slugs.clone());
            qb.push("))");
        }
        // Offerings have no parent offerings here, so no order is of a child offering.
        if self.parent_offering {
            qb.push(" AND false");
        }
        if let Some(resource) = self.resource {
            qb.push(" AND o.resource_uuid = ");
            qb.push_bind(resource);
        }
        if let Some(name) = &self.resource_name {
            qb.push(" AND o.resource_uuid IN (SELECT uuid FROM projection.resources WHERE name = ");
            qb.push_bind(name.clone());
            qb.push(")");
        }
        if let Some(user) = self.service_manager {
            // Shared offerings of the customers the user manages services for (service
            // managers and offering managers hold their roles on the provider customer).
            qb.push(
                " AND o.offering_uuid IN (SELECT f.uuid FROM projection.offerings f \
                 WHERE f.shared AND f.customer_uuid IN (SELECT r.scope_uuid \
                 FROM projection.user_roles r WHERE r.scope_type = 'customer' \
                 AND r.role IN ('CUSTOMER.MANAGER', 'OFFERING.MANAGER') AND ",
            );
            qb.push(ACTIVE);
            qb.push(" AND r.user_uuid = ");
            qb.push_bind(user);
            qb.push("))");
        }
        if let Some(slug) = &self.slug {
            qb.push(" AND o.slug = ");
            qb.push_bind(slug.clone());
        }
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
        for (forced, approver) in &self.approvable {
            qb.push(" AND o.state = ");
            qb.push_bind(forced.as_str());
            if let Some(approver) = approver {
                push_approver(qb, *forced, approver);
            }
        }
        if let Some(query) = &self.query {
            push_query(qb, query);
        }
        // Auto-approval rules with cost limits (Waldur's ProjectOrderAutoApproval) do not
        // exist here, so no order was approved by one.
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
             WHERE r.scope_type = '{scope_type}' AND {ACTIVE} AND r.user_uuid = "
        ));
        qb.push_bind(approver.user);
        qb.push(" AND r.role = ANY(");
        qb.push_bind(approver.roles.clone());
        qb.push("))");
    }
    qb.push(")");
}

/// `query`: the order with that uuid if it exists, else orders whose project name, slug or
/// `attributes.name` contains the text.
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

    #[test]
    fn dates_and_date_times_parse_as_django_accepts_them() {
        let noon = "2024-05-01T12:30:00Z".parse::<DateTime<Utc>>().unwrap();
        for text in [
            "2024-05-01T12:30:00Z",
            "2024-05-01T12:30:00",
            "2024-05-01 12:30:00",
            "2024-05-01 12:30",
            "2024-05-01T14:30:00+02:00",
            "2024-05-01T12:30:00.000000Z",
        ] {
            assert_eq!(parse_datetime(text), Some(noon), "{text}");
        }
        assert_eq!(parse_datetime("05/01/2024 12:30"), Some(noon));
        assert_eq!(parse_datetime("05/01/24 12:30:00"), Some(noon));
        let midnight = "2024-05-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        for text in ["2024-05-01", "05/01/2024", "05/01/24"] {
            assert_eq!(parse_datetime(text), Some(midnight), "{text}");
        }
        for bad in ["yesterday", "2024-13-01", "2024-05-01T25:00"] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn boolean_filters_read_true_false_and_digits_in_any_case() {
        assert_eq!(filter_bool("True"), Some(true));
        assert_eq!(filter_bool("1"), Some(true));
        assert_eq!(filter_bool("false"), Some(false));
        assert_eq!(filter_bool("0"), Some(false));
        assert_eq!(filter_bool("maybe"), None);
    }
}
