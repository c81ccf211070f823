//! Who sees what, from the role grants read model: the customers and projects a user is
//! connected to (as SQL fragments the list queries embed) and the roles a user holds in a
//! scope. Staff and support seeing everything, and what a role permits, are decided above.

use std::collections::HashSet;

use sqlx::PgPool;
use uuid::Uuid;

/// Who is asking: a user, and whether they see everything (staff and global support).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub uuid: Uuid,
    pub sees_all: bool,
}

/// A grant is in force while it has no expiry or the expiry is in the future.
pub const ACTIVE_GRANT: &str = "(r.expiration_time IS NULL OR r.expiration_time > now())";

/// SQL (with `$1` = the user's uuid) for the customers a user is connected to: a role in
/// the customer or in one of its projects.
pub const CONNECTED_CUSTOMERS: &str = "SELECT r.scope_uuid FROM projection.user_roles r \
     WHERE r.user_uuid = $1 AND r.scope_type = 'customer' \
       AND (r.expiration_time IS NULL OR r.expiration_time > now()) \
     UNION SELECT p.customer_uuid FROM projection.projects p \
     JOIN projection.user_roles r ON r.scope_type = 'project' AND r.scope_uuid = p.uuid \
     WHERE r.user_uuid = $1 AND (r.expiration_time IS NULL OR r.expiration_time > now())";

/// SQL (with `$1` = the user's uuid) for the projects a user sees: every project of a
/// customer they hold a role in, and every project they hold a role in.
pub const CONNECTED_PROJECTS: &str = "SELECT p.uuid FROM projection.projects p \
     JOIN projection.user_roles r ON r.scope_type = 'customer' AND r.scope_uuid = p.customer_uuid \
     WHERE r.user_uuid = $1 AND (r.expiration_time IS NULL OR r.expiration_time > now()) \
     UNION SELECT r.scope_uuid FROM projection.user_roles r \
     WHERE r.user_uuid = $1 AND r.scope_type = 'project' \
       AND (r.expiration_time IS NULL OR r.expiration_time > now())";

/// A scope a role (and so a permission) can be held in.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Customer(Uuid),
    Project(Uuid),
}

impl Scope {
    /// The scope's type as the role grants name it (`customer`, `project`) and its uuid.
    pub fn parts(self) -> (&'static str, Uuid) {
        match self {
            Scope::Customer(uuid) => ("customer", uuid),
            Scope::Project(uuid) => ("project", uuid),
        }
    }
}

/// The roles `user` holds (now) in any of `scopes`.
pub async fn roles_in(
    pool: &PgPool,
    user: Uuid,
    scopes: &[Scope],
) -> sqlx::Result<HashSet<String>> {
    let mut roles = HashSet::new();
    for scope in scopes {
        let (scope_type, scope_uuid) = scope.parts();
        let found: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT r.role FROM projection.user_roles r \
             WHERE r.user_uuid = $1 AND r.scope_type = $2 AND r.scope_uuid = $3 AND {ACTIVE_GRANT}"
        ))
        .bind(user)
        .bind(scope_type)
        .bind(scope_uuid)
        .fetch_all(pool)
        .await?;
        roles.extend(found);
    }
    Ok(roles)
}
