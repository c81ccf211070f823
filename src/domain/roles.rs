//! Role grants held inside a scope aggregate (a customer or a project). The customer and
//! project aggregates share these rules, as Waldur has them: a user cannot be given a role
//! they already hold for at least as long, and only a grant still in force can be changed or
//! revoked. Time comes from the command, never from the clock.

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
    /// The expiry of a grant in force at `at` (`Some(None)`: permanent).
    fn active(&self, user: Uuid, role: &str, at: DateTime<Utc>) -> Option<Option<DateTime<Utc>>> {
        self.grants
            .get(&(user, role.to_string()))
            .copied()
            .filter(|expiry| expiry.is_none_or(|e| e > at))
    }

    /// Whether the user holds the role at `at`.
    pub fn has(&self, user: Uuid, role: &str, at: DateTime<Utc>) -> bool {
        self.active(user, role, at).is_some()
    }

    /// A new grant is refused when a grant in force already covers it: a permanent one, or
    /// one lasting at least until the requested expiry.
    pub fn check_grant(
        &self,
        user: Uuid,
        role: &str,
        expiration_time: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), RoleError> {
        let covered = match (self.active(user, role, at), expiration_time) {
            (None, _) => false,
            (Some(None), _) => true,
            (Some(Some(_)), None) => false,
            (Some(Some(existing)), Some(requested)) => existing >= requested,
        };
        if covered {
            Err(RoleError::AlreadyGranted)
        } else {
            Ok(())
        }
    }

    /// Changing or revoking needs a grant in force.
    pub fn check_change(&self, user: Uuid, role: &str, at: DateTime<Utc>) -> Result<(), RoleError> {
        if self.has(user, role, at) {
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

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_role_can_be_granted_once_and_revoked_once() {
        let user = Uuid::new_v4();
        let now = at("2026-01-01T00:00:00Z");
        let mut grants = RoleGrants::default();
        assert_eq!(
            grants.check_grant(user, "CUSTOMER.OWNER", None, now),
            Ok(())
        );
        grants.grant(user, "CUSTOMER.OWNER", None);
        assert_eq!(
            grants.check_grant(user, "CUSTOMER.OWNER", None, now),
            Err(RoleError::AlreadyGranted)
        );
        assert_eq!(grants.check_change(user, "CUSTOMER.OWNER", now), Ok(()));
        grants.revoke(user, "CUSTOMER.OWNER");
        assert_eq!(
            grants.check_change(user, "CUSTOMER.OWNER", now),
            Err(RoleError::NotGranted)
        );
    }

    #[test]
    fn an_expired_grant_can_be_granted_again_but_not_changed() {
        let user = Uuid::new_v4();
        let mut grants = RoleGrants::default();
        grants.grant(user, "PROJECT.ADMIN", Some(at("2026-01-01T00:00:00Z")));
        let later = at("2026-02-01T00:00:00Z");
        assert!(!grants.has(user, "PROJECT.ADMIN", later));
        assert_eq!(
            grants.check_grant(user, "PROJECT.ADMIN", None, later),
            Ok(())
        );
        assert_eq!(
            grants.check_change(user, "PROJECT.ADMIN", later),
            Err(RoleError::NotGranted)
        );
    }

    #[test]
    fn a_longer_grant_replaces_a_shorter_one_but_not_the_other_way_round() {
        let user = Uuid::new_v4();
        let now = at("2026-01-01T00:00:00Z");
        let mut grants = RoleGrants::default();
        grants.grant(user, "PROJECT.ADMIN", Some(at("2026-06-01T00:00:00Z")));
        assert_eq!(grants.check_grant(user, "PROJECT.ADMIN", None, now), Ok(()));
        assert_eq!(
            grants.check_grant(user, "PROJECT.ADMIN", Some(at("2026-07-01T00:00:00Z")), now),
            Ok(())
        );
        assert_eq!(
            grants.check_grant(user, "PROJECT.ADMIN", Some(at("2026-05-01T00:00:00Z")), now),
            Err(RoleError::AlreadyGranted)
        );
    }
}
