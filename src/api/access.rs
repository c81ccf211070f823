//! Who may see and do what, answered from the role grants read model and the permission
//! table. Staff pass every permission check; staff and support see everything.

use std::collections::HashSet;

use uuid::Uuid;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;

/// A grant is in force while it has no expiry or the expiry is in the future.
pub const ACTIVE_GRANT: &str = "(r.expiration_time IS NULL OR r.expiration_time > now())";

/// SQL (with `$1` = the caller's uuid) for the customers a user is connected to: a role in
/// the customer or in one of its projects.
pub const CONNECTED_CUSTOMERS: &str = "SELECT r.scope_uuid FROM projection.user_roles r \
     WHERE r.user_uuid = $1 AND r.scope_type = 'customer' \
       AND (r.expiration_time IS NULL OR r.expiration_time > now()) \
     UNION SELECT p.customer_uuid FROM projection.projects p \
     JOIN projection.user_roles r ON r.scope_type = 'project' AND r.scope_uuid = p.uuid \
     WHERE r.user_uuid = $1 AND (r.expiration_time IS NULL OR r.expiration_time > now())";

/// SQL (with `$1` = the caller's uuid) for the projects a user sees: every project of a
/// customer they hold a role in, and every project they hold a role in.
pub const CONNECTED_PROJECTS: &str = "SELECT p.uuid FROM projection.projects p \
     JOIN projection.user_roles r ON r.scope_type = 'customer' AND r.scope_uuid = p.customer_uuid \
     WHERE r.user_uuid = $1 AND (r.expiration_time IS NULL OR r.expiration_time > now()) \
     UNION SELECT r.scope_uuid FROM projection.user_roles r \
     WHERE r.user_uuid = $1 AND r.scope_type = 'project' \
       AND (r.expiration_time IS NULL OR r.expiration_time > now())";

/// A scope a permission can be held in.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Customer(Uuid),
    Project(Uuid),
}

impl Scope {
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            Scope::Customer(uuid) => ("customer", uuid),
            Scope::Project(uuid) => ("project", uuid),
        }
    }
}

/// The roles the caller holds (now) in any of `scopes`.
pub async fn roles_in(
    state: &ApiState,
    user: Uuid,
    scopes: &[Scope],
) -> Result<HashSet<String>, ApiError> {
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
        .fetch_all(&state.ledger.pool)
        .await?;
        roles.extend(found);
    }
    Ok(roles)
}

/// Whether the caller is staff or holds `permission` through a role in one of `scopes`.
pub async fn has_permission(
    state: &ApiState,
    caller: &Caller,
    permission: &str,
    scopes: &[Scope],
) -> Result<bool, ApiError> {
    if caller.is_staff {
        return Ok(true);
    }
    let roles = roles_in(state, caller.uuid, scopes).await?;
    Ok(roles
        .iter()
        .any(|role| state.ledger.permissions.grants(role, permission)))
}

/// `Ok(())` when [`has_permission`] holds, else 403.
pub async fn require_permission(
    state: &ApiState,
    caller: &Caller,
    permission: &str,
    scopes: &[Scope],
) -> Result<(), ApiError> {
    if has_permission(state, caller, permission, scopes).await? {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

/// `Ok(())` for staff, else 403.
pub fn require_staff(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_staff {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}
