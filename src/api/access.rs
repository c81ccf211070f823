//! Who may see and do what: the caller adapted to the queries of [`crate::read::visibility`]
//! and the permission table, with failures as [`ApiError`]s. Staff pass every permission
//! check; staff and support see everything.

use std::collections::HashSet;

use uuid::Uuid;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::read::visibility::{self, Scope};

/// The roles `user` holds (now) in any of `scopes` (see [`visibility::roles_in`]).
pub async fn roles_in(
    state: &ApiState,
    user: Uuid,
    scopes: &[Scope],
) -> Result<HashSet<String>, ApiError> {
    Ok(visibility::roles_in(&state.ledger.pool, user, scopes).await?)
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

/// `Ok(())` for whoever may audit the ledger itself (its log, its digest), else 403: staff
/// and auditors.
pub fn require_audit_access(caller: &Caller) -> Result<(), ApiError> {
    if caller.reads_the_log() {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}
