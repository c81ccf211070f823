//! The role → permission table. Waldur ships it as configuration
//! (`permissions.yaml`) and its tests grant permissions per case, so the ledger loads it from a
//! JSON file the operator can change (`LEDGER_PERMISSIONS_FILE`), with Waldur's defaults
//! built in (`src/permissions.json`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;

const DEFAULTS: &str = include_str!("permissions.json");

/// The scope a role is granted in, read from its name's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleScope {
    Customer,
    Project,
    Offering,
}

impl RoleScope {
    pub fn of(role: &str) -> Option<Self> {
        match role.split('.').next()? {
            "CUSTOMER" => Some(RoleScope::Customer),
            "PROJECT" => Some(RoleScope::Project),
            "OFFERING" => Some(RoleScope::Offering),
            _ => None,
        }
    }
}

/// Which permissions each role grants.
#[derive(Debug, Clone)]
pub struct Permissions {
    table: BTreeMap<String, BTreeSet<String>>,
}

impl Default for Permissions {
    fn default() -> Self {
        Self::parse(DEFAULTS).expect("the built-in permission table is valid")
    }
}

impl Permissions {
    /// Parses a `{"ROLE": ["PERMISSION", …]}` table.
    pub fn parse(json: &str) -> anyhow::Result<Self> {
        let table: BTreeMap<String, BTreeSet<String>> =
            serde_json::from_str(json).context("parsing the permission table")?;
        for role in table.keys() {
            if RoleScope::of(role).is_none() {
                anyhow::bail!("role {role} does not name a customer, project or offering scope");
            }
        }
        Ok(Self { table })
    }

    /// Loads the table from a file, or the defaults when no file is given.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        match path {
            None => Ok(Self::default()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading permission table {}", path.display()))?;
                Self::parse(&text)
            }
        }
    }

    /// Whether `role` grants `permission`.
    pub fn grants(&self, role: &str, permission: &str) -> bool {
        self.table
            .get(role)
            .is_some_and(|permissions| permissions.contains(permission))
    }

    /// Whether `role` exists.
    pub fn is_role(&self, role: &str) -> bool {
        self.table.contains_key(role)
    }

    /// The roles that grant `permission`.
    pub fn roles_granting(&self, permission: &str) -> Vec<String> {
        self.table
            .iter()
            .filter(|(_, permissions)| permissions.contains(permission))
            .map(|(role, _)| role.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_approve_orders_and_project_managers_do_not() {
        let p = Permissions::default();
        assert!(p.grants("CUSTOMER.OWNER", "ORDER.APPROVE"));
        assert!(!p.grants("PROJECT.MANAGER", "ORDER.APPROVE"));
        assert!(p.grants("PROJECT.MANAGER", "ORDER.APPROVE_PRIVATE"));
        assert!(p.grants("CUSTOMER.OWNER", "RESOURCE.SET_BACKEND_ID"));
    }

    #[test]
    fn no_default_role_manages_customer_roles() {
        let p = Permissions::default();
        assert!(p.roles_granting("CUSTOMER.CREATE_PERMISSION").is_empty());
        assert_eq!(
            p.roles_granting("PROJECT.CREATE_PERMISSION"),
            vec!["CUSTOMER.OWNER", "PROJECT.MANAGER"]
        );
    }

    #[test]
    fn an_operator_table_replaces_the_defaults() {
        let p = Permissions::parse(r#"{"PROJECT.ADMIN": ["ORDER.APPROVE"]}"#).unwrap();
        assert!(p.grants("PROJECT.ADMIN", "ORDER.APPROVE"));
        assert!(!p.is_role("CUSTOMER.OWNER"));
    }

    #[test]
    fn a_role_without_a_known_scope_is_refused() {
        assert!(Permissions::parse(r#"{"ADMIN": []}"#).is_err());
    }
}
