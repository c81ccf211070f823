//! The service providers read model: providers with their customer's names.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::list::{self, ListError, OrderKey, Ordering, Page, Paging, Sort, UnknownOrderKey};

/// A service provider as its answer shows it.
#[derive(Debug, FromRow)]
pub struct ProviderRow {
    pub uuid: Uuid,
    pub customer_uuid: Uuid,
    pub description: String,
    pub enable_notifications: bool,
    pub created: DateTime<Utc>,
    pub customer_name: String,
    pub customer_slug: String,
    pub customer_abbreviation: String,
    pub customer_native_name: String,
    pub customer_country: String,
}

const SELECT: &str = "s.uuid, s.customer_uuid, s.description, s.enable_notifications, \
    s.created, c.name AS customer_name, c.slug AS customer_slug, \
    c.abbreviation AS customer_abbreviation, c.native_name AS customer_native_name, \
    c.country AS customer_country";

const FROM: &str =
    "projection.service_providers s JOIN projection.customers c ON c.uuid = s.customer_uuid";

const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "customer_name",
        sql: "c.name",
    },
    OrderKey {
        name: "created",
        sql: "s.created",
    },
];

/// The order of a provider list; by customer name by default.
pub fn ordering(sorts: &[Sort]) -> Result<Ordering, UnknownOrderKey> {
    Ordering::resolve(ORDER_KEYS, sorts, "c.name", "s.uuid")
}

/// What a provider list keeps; the default keeps every provider. Uuids that name nothing
/// (the nil uuid) match nothing.
#[derive(Debug, Default, Clone)]
pub struct ProviderFilter {
    /// The provider's customer is each of these (two different ones match nothing).
    pub customers: Vec<Uuid>,
    /// The customer's name, abbreviation or native name contains this.
    pub customer_keyword: Option<String>,
}

impl ProviderFilter {
    /// Pushes ` AND …` for each filter set, onto a query over [`FROM`]'s aliases.
    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        for customer in &self.customers {
            list::push_equals(qb, "s.customer_uuid", Some(*customer));
        }
        if let Some(keyword) = &self.customer_keyword {
            let pattern = list::contains_pattern(keyword);
            qb.push(" AND (c.name ILIKE ");
            qb.push_bind(pattern.clone());
            qb.push(" OR c.abbreviation ILIKE ");
            qb.push_bind(pattern.clone());
            qb.push(" OR c.native_name ILIKE ");
            qb.push_bind(pattern);
            qb.push(")");
        }
    }
}

/// One page of the providers that match `filter`.
pub async fn list(
    pool: &PgPool,
    filter: &ProviderFilter,
    ordering: &Ordering,
    paging: Paging,
) -> Result<Page<ProviderRow>, ListError> {
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        filter.push(qb);
    };
    list::fetch_page(pool, SELECT, FROM, filters, ordering.sql(), paging).await
}

/// The provider, if it exists.
pub async fn find(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<ProviderRow>> {
    sqlx::query_as(&format!("SELECT {SELECT} FROM {FROM} WHERE s.uuid = $1"))
        .bind(uuid)
        .fetch_optional(pool)
        .await
}
