//! Role grants held inside a scope aggregate (a customer or a project). The customer and
//! project aggregates share these rules: a role is granted at most once per user, and only a
//! granted role can be revoked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who holds which role in one scope, with the grant's expiry.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoleGrants {
    grants: BTreeMap<(Uuid, String), Option<DateTime<Utc>>>,
}

/// A role rule that a grant or revoke would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("user already has this role")]
    AlreadyGranted,
    #[error("user does not have this role")]
    NotGranted,
}

impl RoleGrants {
    pub fn has(&self, user: Uuid, role: &str) -> bool {
        self.grants.contains_key(&(user, role.to_string()))
    }

    pub fn check_grant(&self, user: Uuid, role: &str) -> Result<(), RoleError> {
        if self.has(user, role) {
            Err(RoleError::AlreadyGranted)
        } else {
            Ok(())
        }
    }

    pub fn check_change(&self, user: Uuid, role: &str) -> Result<(), RoleError> {
        if self.has(user, role) {
            Ok(())
        } else {
            Err(RoleError::NotGranted)
        }
    }

    pub fn grant(&mut self, user: Uuid, role: &str, expiration_time: Option<DateTime<Utc>>) {
        self.grants
            .insert((user, role.to_string()), expiration_time);
    }

    pub fn revoke(&mut self, user: Uuid, role: &str) {
        self.grants.remove(&(user, role.to_string()));
    }

    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_can_be_granted_once_and_revoked_once() {
        let user = Uuid::new_v4();
        let mut grants = RoleGrants::default();
        assert_eq!(grants.check_grant(user, "CUSTOMER.OWNER"), Ok(()));
        grants.grant(user, "CUSTOMER.OWNER", None);
        assert_eq!(
            grants.check_grant(user, "CUSTOMER.OWNER"),
            Err(RoleError::AlreadyGranted)
        );
        assert_eq!(grants.check_change(user, "CUSTOMER.OWNER"), Ok(()));
        grants.revoke(user, "CUSTOMER.OWNER");
        assert_eq!(
            grants.check_change(user, "CUSTOMER.OWNER"),
            Err(RoleError::NotGranted)
        );
    }
}
