//! Typed queries over the read models: each read model owns its questions as functions that
//! take a pool and plain values (ids, a [`visibility::Viewer`], a typed filter, an
//! [`list::Ordering`] and [`list::Paging`]) and answer with typed rows (`sqlx::FromRow`
//! structs defined beside them) from the `projection.*` tables. The SQL text lives here:
//! selects, joins, visibility subqueries, ordering keys and the filters' fragments. No HTTP
//! types and no caller here; the API reads request parameters into these values, renders
//! the rows and maps the errors. Filters, orderings and joins use columns only; JSON
//! documents are selected for rendering, never queried.
//!
//! - [`list`]: orderings over declared keys, counted pages, common filter fragments.
//! - [`visibility`]: who sees which customer, project, offering and order; roles in scopes.
//! - [`users`]: users, who sees whom, the holder of a token.
//! - [`customers`]: organizations with their counts and visible projects; availability.
//! - [`projects`]: projects with their customer; what an order checks of a project.
//! - [`roles`]: the grants on a scope, users' permissions, the customer of a scope.
//! - [`categories`], [`service_providers`]: the catalogue's directory entries.
//! - [`offerings`]: offerings from the provider's side and in the public catalogue, with
//!   filters; plans and the offerings holding them.
//! - [`orders`]: orders with their joins and filters, pending orders of a resource, orders
//!   whose start date has come.
//! - [`resources`]: resources from the consumer's and the provider's side, with filters.
//! - [`slugs`]: the next free slug for a name.
//! - [`remote_sync`]: syncs, their runs and the offerings they imported.

pub mod arrow;
pub mod categories;
pub mod customers;
pub mod list;
pub mod offerings;
pub mod orders;
pub mod projects;
pub mod remote_sync;
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
