//! The users read model: users as their answers show them, who sees which (Waldur's
//! `filter_visible_users`), the list with its filters, and the user holding a token.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::list::{
    self, ListError, OrderKey, Ordering, Page, Paging, Sort, UnknownOrderKey, push_contains,
    push_equals, push_with_user,
};
use super::visibility::{CONNECTED_CUSTOMERS, CONNECTED_PROJECTS, Viewer};

/// A user with everything their answer shows.
#[derive(Debug, FromRow)]
pub struct UserRow {
    pub uuid: Uuid,
    pub username: String,
    pub slug: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    pub organization: String,
    pub job_title: String,
    pub phone_number: String,
    pub description: String,
    pub is_staff: bool,
    pub is_support: bool,
    pub is_active: bool,
    pub date_joined: DateTime<Utc>,
}

const COLUMNS: &str = "u.uuid, u.username, u.slug, u.email, u.first_name, u.last_name, \
    u.full_name, u.organization, u.job_title, u.phone_number, u.description, u.is_staff, \
    u.is_support, u.is_active, u.date_joined";

const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "full_name",
        sql: "u.full_name",
    },
    OrderKey {
        name: "email",
        sql: "u.email",
    },
    OrderKey {
        name: "phone_number",
        sql: "u.phone_number",
    },
    OrderKey {
        name: "description",
        sql: "u.description",
    },
    OrderKey {
        name: "organization",
        sql: "u.organization",
    },
    OrderKey {
        name: "job_title",
        sql: "u.job_title",
    },
    OrderKey {
        name: "username",
        sql: "u.username",
    },
    OrderKey {
        name: "is_active",
        sql: "u.is_active",
    },
    OrderKey {
        name: "is_staff",
        sql: "u.is_staff",
    },
    OrderKey {
        name: "is_support",
        sql: "u.is_support",
    },
    OrderKey {
        name: "date_joined",
        sql: "u.date_joined",
    },
    OrderKey {
        name: "registration_method",
        sql: "u.username",
    },
];

/// The order of a user list; by username by default.
pub fn ordering(sorts: &[Sort]) -> Result<Ordering, UnknownOrderKey> {
    Ordering::resolve(ORDER_KEYS, sorts, "u.username", "u.uuid")
}

/// What a user list keeps; the default keeps every user. Uuids that name nothing (the nil
/// uuid) match nothing.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    /// Contains (case-insensitive).
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub organization: Option<String>,
    pub job_title: Option<String>,
    /// Exactly.
    pub username: Option<String>,
    pub phone_number: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
    pub is_support: Option<bool>,
    /// The full name, username or email contains the text.
    pub query: Option<String>,
    /// Users holding a role in the customer or one of its projects.
    pub customer: Option<Uuid>,
    /// Users holding a role in the project.
    pub project: Option<Uuid>,
}

impl UserFilter {
    /// Pushes ` AND …` for each filter set, onto a query over `projection.users u`.
    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        for (column, value) in [
            ("u.full_name", &self.full_name),
            ("u.email", &self.email),
            ("u.organization", &self.organization),
            ("u.job_title", &self.job_title),
        ] {
            push_contains(qb, column, value.as_deref());
        }
        for (column, value) in [
            ("u.username", &self.username),
            ("u.phone_number", &self.phone_number),
            ("u.description", &self.description),
        ] {
            push_equals(qb, column, value.clone());
        }
        push_equals(qb, "u.is_active", self.is_active);
        push_equals(qb, "u.is_staff", self.is_staff);
        push_equals(qb, "u.is_support", self.is_support);
        if let Some(query) = &self.query {
            let pattern = list::contains_pattern(query);
            qb.push(" AND (u.full_name ILIKE ");
            qb.push_bind(pattern.clone());
            qb.push(" OR u.username ILIKE ");
            qb.push_bind(pattern.clone());
            qb.push(" OR u.email ILIKE ");
            qb.push_bind(pattern);
            qb.push(")");
        }
        if let Some(customer) = self.customer {
            qb.push(
                " AND u.uuid IN (SELECT r.user_uuid FROM projection.user_roles r WHERE \
                 (r.scope_type = 'customer' AND r.scope_uuid = ",
            );
            qb.push_bind(customer);
            qb.push(
                ") OR (r.scope_type = 'project' AND r.scope_uuid IN \
                 (SELECT p.uuid FROM projection.projects p WHERE p.customer_uuid = ",
            );
            qb.push_bind(customer);
            qb.push(")))");
        }
        if let Some(project) = self.project {
            qb.push(
                " AND u.uuid IN (SELECT r.user_uuid FROM projection.user_roles r \
                 WHERE r.scope_type = 'project' AND r.scope_uuid = ",
            );
            qb.push_bind(project);
            qb.push(")");
        }
    }
}

/// Staff and support see every user; others themselves and the active, non-staff users
/// holding roles where they hold roles.
fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, viewer: &Viewer) {
    if viewer.sees_all {
        return;
    }
    let connected = format!(
        "SELECT r.user_uuid FROM projection.user_roles r WHERE \
         (r.expiration_time IS NULL OR r.expiration_time > now()) AND \
         ((r.scope_type = 'customer' AND r.scope_uuid IN ({CONNECTED_CUSTOMERS})) OR \
          (r.scope_type = 'project' AND r.scope_uuid IN ({CONNECTED_PROJECTS})))"
    );
    qb.push(" AND (u.uuid = ");
    qb.push_bind(viewer.uuid);
    qb.push(" OR (u.is_active AND NOT u.is_staff AND u.uuid IN (");
    push_with_user(qb, &connected, viewer.uuid);
    qb.push(")))");
}

/// One page of the users `viewer` sees that match `filter`.
pub async fn list(
    pool: &PgPool,
    viewer: &Viewer,
    filter: &UserFilter,
    ordering: &Ordering,
    paging: Paging,
) -> Result<Page<UserRow>, ListError> {
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        push_visibility(qb, viewer);
        filter.push(qb);
    };
    let from = "projection.users u";
    list::fetch_page(pool, COLUMNS, from, filters, ordering.sql(), paging).await
}

/// The user if `viewer` sees them.
pub async fn find_visible(
    pool: &PgPool,
    viewer: &Viewer,
    uuid: Uuid,
) -> sqlx::Result<Option<UserRow>> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {COLUMNS} FROM projection.users u WHERE u.uuid = "
    ));
    qb.push_bind(uuid);
    push_visibility(&mut qb, viewer);
    qb.build_query_as().fetch_optional(pool).await
}

/// Whether the user is active; `None` when there is no such user.
pub async fn is_active(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar("SELECT is_active FROM projection.users WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(pool)
        .await
}

/// Whether the user exists.
pub async fn exists(pool: &PgPool, uuid: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projection.users WHERE uuid = $1)")
        .bind(uuid)
        .fetch_one(pool)
        .await
}

/// The usernames and full names of these users, by uuid (unknown ones are left out).
pub async fn names(
    pool: &PgPool,
    uuids: &[Uuid],
) -> sqlx::Result<std::collections::HashMap<Uuid, (String, String)>> {
    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT uuid, username, full_name FROM projection.users WHERE uuid = ANY($1)",
    )
    .bind(uuids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(uuid, username, full_name)| (uuid, (username, full_name)))
        .collect())
}

/// The user a token belongs to, as authentication needs them.
#[derive(Debug, FromRow)]
pub struct TokenHolder {
    pub uuid: Uuid,
    pub username: String,
    pub is_staff: bool,
    pub is_support: bool,
    pub is_active: bool,
    pub is_auditor: bool,
}

/// The holder of the token with this hash ([`crate::store::tokens::token_hash`]), if any.
pub async fn token_holder(pool: &PgPool, token_hash: &str) -> sqlx::Result<Option<TokenHolder>> {
    sqlx::query_as(
        "SELECT u.uuid, u.username, u.is_staff, u.is_support, u.is_active, u.is_auditor \
         FROM projection.user_tokens t JOIN projection.users u ON u.uuid = t.user_uuid \
         WHERE t.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_filter_takes_roles_in_the_customer_and_its_projects() {
        let mut qb = QueryBuilder::<Postgres>::new("WHERE true");
        UserFilter {
            is_staff: Some(false),
            customer: Some(Uuid::nil()),
            ..UserFilter::default()
        }
        .push(&mut qb);
        let text = qb.sql();
        assert!(
            text.starts_with("WHERE true AND u.is_staff = $1 AND u.uuid IN"),
            "{text}"
        );
        assert!(text.contains("r.scope_uuid = $2"), "{text}");
        assert!(text.contains("p.customer_uuid = $3"), "{text}");
    }
}
