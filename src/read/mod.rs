//! Typed queries over the read models: functions that take a pool (or executor) and plain
//! ids and answer one question from the `projection.*` tables. No HTTP types and no caller
//! here; the API adapts its caller to these and maps their errors.
//!
//! - [`visibility`]: who sees which customer, project, offering and order; roles in scopes.
//! - [`slugs`]: the next free slug for a name.
//! - [`orders`]: orders whose start date has come.

pub mod categories;
pub mod customers;
pub mod list;
pub mod orders;
pub mod projects;
pub mod resources;
pub mod roles;
pub mod service_providers;
pub mod slugs;
pub mod users;
pub mod visibility;

/// `%`, `_` and `\` match themselves in a LIKE pattern built from user input.
pub fn like_escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
