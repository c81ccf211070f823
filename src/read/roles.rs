//! The role grants read model as teams and users show it: the grants in force on one
//! customer or project, the `permissions` of users, and the customer a scope belongs to.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::list::{self, ListError, Page, Paging, push_equals};
use super::visibility::{ACTIVE_GRANT, Scope};

/// The customer a scope belongs to (a customer is its own), and whether it is available.
#[derive(Debug, Clone, Copy, FromRow)]
pub struct ScopeCustomer {
    pub customer_uuid: Uuid,
    pub customer_blocked: bool,
    pub customer_archived: bool,
}

/// The customer of `scope`, if the scope exists.
pub async fn scope_customer(pool: &PgPool, scope: Scope) -> sqlx::Result<Option<ScopeCustomer>> {
    let sql = match scope {
        Scope::Customer(_) => {
            "SELECT c.uuid AS customer_uuid, c.blocked AS customer_blocked, \
             c.archived AS customer_archived FROM projection.customers c WHERE c.uuid = $1"
        }
        Scope::Project(_) => {
            "SELECT c.uuid AS customer_uuid, c.blocked AS customer_blocked, \
             c.archived AS customer_archived FROM projection.projects p \
             JOIN projection.customers c ON c.uuid = p.customer_uuid WHERE p.uuid = $1"
        }
    };
    let (_, uuid) = scope.parts();
    sqlx::query_as(sql).bind(uuid).fetch_optional(pool).await
}

/// A grant in force on a scope, with its user and who granted it.
#[derive(Debug, FromRow)]
pub struct GrantRow {
    pub user_uuid: Uuid,
    pub role: String,
    pub expiration_time: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub created_by_full_name: Option<String>,
}

/// What a list of grants keeps; the default keeps every grant in force on the scope.
#[derive(Debug, Default, Clone)]
pub struct GrantFilter {
    pub user: Option<Uuid>,
    pub role: Option<String>,
    /// The user's full name or email contains the text.
    pub search: Option<String>,
}

/// One page of the grants in force on exactly `scope`, held by active users, oldest first.
pub async fn grants(
    pool: &PgPool,
    scope: Scope,
    filter: &GrantFilter,
    paging: Paging,
) -> Result<Page<GrantRow>, ListError> {
    let (scope_type, scope_uuid) = scope.parts();
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE r.scope_type = ");
        qb.push_bind(scope_type);
        qb.push(" AND r.scope_uuid = ");
        qb.push_bind(scope_uuid);
        qb.push(" AND (r.expiration_time IS NULL OR r.expiration_time > now()) AND u.is_active");
        push_equals(qb, "r.user_uuid", filter.user);
        push_equals(qb, "r.role", filter.role.clone());
        if let Some(search) = &filter.search {
            let pattern = list::contains_pattern(search);
            qb.push(" AND (u.full_name ILIKE ");
            qb.push_bind(pattern.clone());
            qb.push(" OR u.email ILIKE ");
            qb.push_bind(pattern);
            qb.push(")");
        }
    };
    list::fetch_page(
        pool,
        "r.user_uuid, r.role, r.expiration_time, r.created, r.created_by, u.username, \
         u.full_name, u.email, cb.full_name AS created_by_full_name",
        "projection.user_roles r JOIN projection.users u ON u.uuid = r.user_uuid \
         LEFT JOIN projection.users cb ON cb.uuid = r.created_by",
        filters,
        "r.created, r.user_uuid, r.role",
        paging,
    )
    .await
}

/// A grant in force held by a user, with its scope and who granted it.
#[derive(Debug, FromRow)]
pub struct PermissionRow {
    pub user_uuid: Uuid,
    pub username: String,
    pub user_slug: String,
    pub scope_type: String,
    pub scope_uuid: Uuid,
    pub role: String,
    pub expiration_time: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
    pub scope_name: Option<String>,
    /// For a project scope, its customer.
    pub customer_uuid: Option<Uuid>,
    pub customer_name: Option<String>,
    pub created_by_full_name: Option<String>,
    pub created_by_username: Option<String>,
}

/// The grants in force held by any of `users`, oldest first.
pub async fn permissions(pool: &PgPool, users: &[Uuid]) -> sqlx::Result<Vec<PermissionRow>> {
    sqlx::query_as(
        "SELECT r.user_uuid, u.username, u.slug AS user_slug, r.scope_type, r.scope_uuid, \
         r.role, r.expiration_time, r.created, \
         COALESCE(c.name, p.name) AS scope_name, \
         CASE WHEN r.scope_type = 'project' THEN pc.uuid END AS customer_uuid, \
         CASE WHEN r.scope_type = 'project' THEN pc.name END AS customer_name, \
         cb.full_name AS created_by_full_name, cb.username AS created_by_username \
         FROM projection.user_roles r \
         JOIN projection.users u ON u.uuid = r.user_uuid \
         LEFT JOIN projection.customers c ON r.scope_type = 'customer' AND c.uuid = r.scope_uuid \
         LEFT JOIN projection.projects p ON r.scope_type = 'project' AND p.uuid = r.scope_uuid \
         LEFT JOIN projection.customers pc ON pc.uuid = p.customer_uuid \
         LEFT JOIN projection.users cb ON cb.uuid = r.created_by \
         WHERE r.user_uuid = ANY($1) \
           AND (r.expiration_time IS NULL OR r.expiration_time > now()) \
         ORDER BY r.created",
    )
    .bind(users)
    .fetch_all(pool)
    .await
}

/// The first customer (by the grant's age) the user owns now, if any.
pub async fn first_owned_customer(pool: &PgPool, user: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(&format!(
        "SELECT r.scope_uuid FROM projection.user_roles r \
         JOIN projection.customers c ON c.uuid = r.scope_uuid \
         WHERE r.user_uuid = $1 AND r.scope_type = 'customer' AND r.role = 'CUSTOMER.OWNER' \
           AND {ACTIVE_GRANT} \
         ORDER BY r.created, r.scope_uuid LIMIT 1"
    ))
    .bind(user)
    .fetch_optional(pool)
    .await
}
