//! The categories read model.

use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::list::{
    self, ListError, OrderKey, Ordering, Page, Paging, Sort, UnknownOrderKey, push_contains,
};

/// A category as its answer shows it.
#[derive(Debug, FromRow)]
pub struct CategoryRow {
    pub uuid: Uuid,
    pub title: String,
    pub description: String,
    pub default_vm_category: bool,
    pub default_volume_category: bool,
    pub default_tenant_category: bool,
}

const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "title",
        sql: "k.title",
    },
    OrderKey {
        name: "created",
        sql: "k.created",
    },
];

/// The order of a category list; by title by default.
pub fn ordering(sorts: &[Sort]) -> Result<Ordering, UnknownOrderKey> {
    Ordering::resolve(ORDER_KEYS, sorts, "k.title", "k.uuid")
}

/// What a category list keeps; the default keeps every category.
#[derive(Debug, Default, Clone)]
pub struct CategoryFilter {
    /// The title contains this (case-insensitive).
    pub title: Option<String>,
}

/// One page of the categories that match `filter`.
pub async fn list(
    pool: &PgPool,
    filter: &CategoryFilter,
    ordering: &Ordering,
    paging: Paging,
) -> Result<Page<CategoryRow>, ListError> {
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        push_contains(qb, "k.title", filter.title.as_deref());
    };
    let from = "projection.categories k";
    list::fetch_page(pool, "k.*", from, filters, ordering.sql(), paging).await
}

/// The category, if it exists.
pub async fn find(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<CategoryRow>> {
    sqlx::query_as("SELECT * FROM projection.categories WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(pool)
        .await
}

/// Whether the category exists.
pub async fn exists(pool: &PgPool, uuid: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projection.categories WHERE uuid = $1)")
        .bind(uuid)
        .fetch_one(pool)
        .await
}

/// A default that at most one category holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultFlag {
    Vm,
    Volume,
    Tenant,
}

impl DefaultFlag {
    fn column(self) -> &'static str {
        match self {
            DefaultFlag::Vm => "default_vm_category",
            DefaultFlag::Volume => "default_volume_category",
            DefaultFlag::Tenant => "default_tenant_category",
        }
    }
}

/// A category other than `except` that holds `flag`, if any.
pub async fn flag_holder(
    pool: &PgPool,
    flag: DefaultFlag,
    except: Option<Uuid>,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(&format!(
        "SELECT uuid FROM projection.categories WHERE {} AND uuid <> $1 LIMIT 1",
        flag.column()
    ))
    .bind(except.unwrap_or(Uuid::nil()))
    .fetch_optional(pool)
    .await
}
