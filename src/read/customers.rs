//! The customers read model: organizations as their answers show them (with counts of
//! projects and users), who sees which, the list with its filters, and the facts other
//! requests check of a customer.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::list::{
    self, ListError, OrderKey, Ordering, Page, Paging, Sort, UnknownOrderKey, push_contains,
    push_equals, push_with_user,
};
use super::visibility::{CONNECTED_CUSTOMERS, CONNECTED_PROJECTS, Viewer};

/// A customer with everything its answer shows.
#[derive(Debug, FromRow)]
pub struct CustomerRow {
    pub uuid: Uuid,
    pub slug: String,
    pub name: String,
    pub native_name: String,
    pub abbreviation: String,
    pub contact_details: String,
    pub agreement_number: String,
    pub email: String,
    pub phone_number: String,
    pub access_subnets: String,
    pub registration_code: String,
    pub homepage: String,
    pub domain: String,
    pub vat_code: String,
    pub postal: String,
    pub address: String,
    pub bank_name: String,
    pub bank_account: String,
    pub country: String,
    pub backend_id: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub blocked: bool,
    pub archived: bool,
    pub service_provider_uuid: Option<Uuid>,
    pub created: DateTime<Utc>,
    pub projects_count: i64,
    pub users_count: i64,
}

const SELECT: &str = "c.*, \
    (SELECT count(*) FROM projection.projects p WHERE p.customer_uuid = c.uuid) AS projects_count, \
    (SELECT count(DISTINCT r.user_uuid) FROM projection.user_roles r \
      WHERE (r.expiration_time IS NULL OR r.expiration_time > now()) \
        AND ((r.scope_type = 'customer' AND r.scope_uuid = c.uuid) \
          OR (r.scope_type = 'project' AND r.scope_uuid IN \
              (SELECT p.uuid FROM projection.projects p WHERE p.customer_uuid = c.uuid)))) \
      AS users_count";

const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "abbreviation",
        sql: "c.abbreviation",
    },
    OrderKey {
        name: "accounting_start_date",
        sql: "c.created",
    },
    OrderKey {
        name: "agreement_number",
        sql: "c.agreement_number",
    },
    OrderKey {
        name: "contact_details",
        sql: "c.contact_details",
    },
    OrderKey {
        name: "created",
        sql: "c.created",
    },
    OrderKey {
        name: "name",
        sql: "c.name",
    },
    OrderKey {
        name: "native_name",
        sql: "c.native_name",
    },
    OrderKey {
        name: "registration_code",
        sql: "c.registration_code",
    },
];

/// The order of a customer list; by name by default.
pub fn ordering(sorts: &[Sort]) -> Result<Ordering, UnknownOrderKey> {
    Ordering::resolve(ORDER_KEYS, sorts, "c.name", "c.uuid")
}

/// What a customer list keeps; the default keeps every customer.
#[derive(Debug, Default, Clone)]
pub struct CustomerFilter {
    /// Contains (case-insensitive).
    pub name: Option<String>,
    pub native_name: Option<String>,
    pub abbreviation: Option<String>,
    pub contact_details: Option<String>,
    /// Exactly.
    pub name_exact: Option<String>,
    pub registration_code: Option<String>,
    pub agreement_number: Option<String>,
    pub backend_id: Option<String>,
    pub slug: Option<String>,
    pub archived: Option<bool>,
    pub blocked: Option<bool>,
    /// Registered as a service provider (or not).
    pub is_service_provider: Option<bool>,
    /// Customers this user owns.
    pub owned_by: Option<Uuid>,
    /// Any of the names, the domain, the codes contain the text, or the uuid is it.
    pub query: Option<String>,
}

impl CustomerFilter {
    /// Pushes ` AND …` for each filter set, onto a query over `projection.customers c`.
    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        for (column, value) in [
            ("c.name", &self.name),
            ("c.native_name", &self.native_name),
            ("c.abbreviation", &self.abbreviation),
            ("c.contact_details", &self.contact_details),
        ] {
            push_contains(qb, column, value.as_deref());
        }
        for (column, value) in [
            ("c.name", &self.name_exact),
            ("c.registration_code", &self.registration_code),
            ("c.agreement_number", &self.agreement_number),
            ("c.backend_id", &self.backend_id),
            ("c.slug", &self.slug),
        ] {
            push_equals(qb, column, value.clone());
        }
        push_equals(qb, "c.archived", self.archived);
        push_equals(qb, "c.blocked", self.blocked);
        if let Some(flag) = self.is_service_provider {
            qb.push(if flag {
                " AND c.service_provider_uuid IS NOT NULL"
            } else {
                " AND c.service_provider_uuid IS NULL"
            });
        }
        if let Some(owner) = self.owned_by {
            qb.push(
                " AND c.uuid IN (SELECT r.scope_uuid FROM projection.user_roles r \
                 WHERE r.scope_type = 'customer' AND r.role = 'CUSTOMER.OWNER' \
                 AND (r.expiration_time IS NULL OR r.expiration_time > now()) AND r.user_uuid = ",
            );
            qb.push_bind(owner);
            qb.push(")");
        }
        if let Some(query) = &self.query {
            let pattern = list::contains_pattern(query);
            qb.push(" AND (");
            for (i, column) in [
                "c.name",
                "c.native_name",
                "c.abbreviation",
                "c.domain",
                "c.registration_code",
                "c.agreement_number",
            ]
            .iter()
            .enumerate()
            {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push(format!("{column} ILIKE "));
                qb.push_bind(pattern.clone());
            }
            if let Ok(uuid) = Uuid::parse_str(query.trim()) {
                qb.push(" OR c.uuid = ");
                qb.push_bind(uuid);
            }
            qb.push(")");
        }
    }
}

/// Staff and support see every customer, others those they are connected to.
fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, viewer: &Viewer) {
    if viewer.sees_all {
        return;
    }
    qb.push(" AND c.uuid IN (");
    push_with_user(qb, CONNECTED_CUSTOMERS, viewer.uuid);
    qb.push(")");
}

/// One page of the customers `viewer` sees that match `filter`.
pub async fn list(
    pool: &PgPool,
    viewer: &Viewer,
    filter: &CustomerFilter,
    ordering: &Ordering,
    paging: Paging,
) -> Result<Page<CustomerRow>, ListError> {
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        push_visibility(qb, viewer);
        filter.push(qb);
    };
    let from = "projection.customers c";
    list::fetch_page(pool, SELECT, from, filters, ordering.sql(), paging).await
}

/// The customer if `viewer` sees it.
pub async fn find_visible(
    pool: &PgPool,
    viewer: &Viewer,
    uuid: Uuid,
) -> sqlx::Result<Option<CustomerRow>> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {SELECT} FROM projection.customers c WHERE c.uuid = "
    ));
    qb.push_bind(uuid);
    push_visibility(&mut qb, viewer);
    qb.build_query_as().fetch_optional(pool).await
}

/// Whether `viewer` sees the customer.
pub async fn is_visible(pool: &PgPool, viewer: &Viewer, uuid: Uuid) -> sqlx::Result<bool> {
    let mut qb = QueryBuilder::new("SELECT count(*) FROM projection.customers c WHERE c.uuid = ");
    qb.push_bind(uuid);
    push_visibility(&mut qb, viewer);
    list::exists(pool, qb).await
}

/// A project as listed inside its customer.
#[derive(Debug, FromRow)]
pub struct ProjectBrief {
    pub uuid: Uuid,
    pub customer_uuid: Uuid,
    pub name: String,
    pub end_date: Option<NaiveDate>,
}

/// The projects of the given customers that `viewer` sees, by customer, each customer's
/// by name.
pub async fn visible_projects(
    pool: &PgPool,
    viewer: &Viewer,
    customers: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, Vec<ProjectBrief>>> {
    let mut qb = QueryBuilder::new(
        "SELECT p.uuid, p.customer_uuid, p.name, p.end_date FROM projection.projects p \
         WHERE p.customer_uuid = ANY(",
    );
    qb.push_bind(customers.to_vec());
    qb.push(")");
    if !viewer.sees_all {
        qb.push(" AND p.uuid IN (");
        push_with_user(&mut qb, CONNECTED_PROJECTS, viewer.uuid);
        qb.push(")");
    }
    qb.push(" ORDER BY p.name, p.uuid");
    let rows: Vec<ProjectBrief> = qb.build_query_as().fetch_all(pool).await?;
    let mut by_customer: HashMap<Uuid, Vec<ProjectBrief>> = HashMap::new();
    for row in rows {
        by_customer.entry(row.customer_uuid).or_default().push(row);
    }
    Ok(by_customer)
}

/// Whether the customer exists.
pub async fn exists(pool: &PgPool, uuid: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projection.customers WHERE uuid = $1)")
        .bind(uuid)
        .fetch_one(pool)
        .await
}

/// Whether a customer is blocked or archived.
#[derive(Debug, Clone, Copy, FromRow)]
pub struct Availability {
    pub blocked: bool,
    pub archived: bool,
}

/// The customer's availability, if it exists.
pub async fn availability(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<Availability>> {
    sqlx::query_as("SELECT blocked, archived FROM projection.customers WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(pool)
        .await
}

/// The service provider registered for the customer: `None` when there is no such
/// customer, `Some(None)` when it has none.
pub async fn service_provider(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<Option<Uuid>>> {
    sqlx::query_scalar("SELECT service_provider_uuid FROM projection.customers WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(filter: &CustomerFilter) -> String {
        let mut qb = QueryBuilder::<Postgres>::new("WHERE true");
        filter.push(&mut qb);
        qb.sql().to_string()
    }

    #[test]
    fn a_query_searches_names_and_codes_and_the_uuid_when_it_is_one() {
        let text = sql(&CustomerFilter {
            query: Some(format!(" {} ", Uuid::nil())),
            ..CustomerFilter::default()
        });
        assert!(text.starts_with("WHERE true AND (c.name ILIKE $1 OR c.native_name"));
        assert!(
            text.ends_with("c.agreement_number ILIKE $6 OR c.uuid = $7)"),
            "{text}"
        );
    }

    #[test]
    fn service_provider_and_owner_filters_need_no_value_but_the_owner() {
        let text = sql(&CustomerFilter {
            is_service_provider: Some(false),
            owned_by: Some(Uuid::nil()),
            ..CustomerFilter::default()
        });
        assert!(text.starts_with("WHERE true AND c.service_provider_uuid IS NULL AND c.uuid IN"));
        assert!(text.ends_with("r.user_uuid = $1)"), "{text}");
    }
}
