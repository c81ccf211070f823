//! The projects read model: projects as their answers show them (with their customer),
//! who sees which, the list with its filters, and what orders check of a project.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::list::{
    self, ListError, OrderKey, Ordering, Page, Paging, Sort, UnknownOrderKey, push_contains,
    push_equals, push_with_user,
};
use super::visibility::{CONNECTED_PROJECTS, Viewer};

/// A project with everything its answer shows.
#[derive(Debug, FromRow)]
pub struct ProjectRow {
    pub uuid: Uuid,
    pub customer_uuid: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub backend_id: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub end_date_requested_by: Option<Uuid>,
    pub oecd_fos_2007_code: Option<String>,
    pub is_industry: bool,
    pub created: DateTime<Utc>,
    pub customer_name: String,
    pub customer_slug: String,
    pub customer_native_name: String,
    pub customer_abbreviation: String,
    pub customer_blocked: bool,
    pub customer_archived: bool,
}

const SELECT: &str = "p.*, c.name AS customer_name, c.slug AS customer_slug, \
    c.native_name AS customer_native_name, c.abbreviation AS customer_abbreviation, \
    c.blocked AS customer_blocked, c.archived AS customer_archived";

const FROM: &str = "projection.projects p JOIN projection.customers c ON c.uuid = p.customer_uuid";

const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "name",
        sql: "p.name",
    },
    OrderKey {
        name: "created",
        sql: "p.created",
    },
    OrderKey {
        name: "customer_name",
        sql: "c.name",
    },
    OrderKey {
        name: "customer_native_name",
        sql: "c.native_name",
    },
    OrderKey {
        name: "customer_abbreviation",
        sql: "c.abbreviation",
    },
    OrderKey {
        name: "end_date",
        sql: "p.end_date",
    },
    OrderKey {
        name: "start_date",
        sql: "p.start_date",
    },
];

/// The order of a project list; by name by default.
pub fn ordering(sorts: &[Sort]) -> Result<Ordering, UnknownOrderKey> {
    Ordering::resolve(ORDER_KEYS, sorts, "p.name", "p.uuid")
}

/// What a project list keeps; the default keeps every project. Uuids that name nothing
/// (the nil uuid) match nothing.
#[derive(Debug, Default, Clone)]
pub struct ProjectFilter {
    /// Contains (case-insensitive).
    pub name: Option<String>,
    pub customer_name: Option<String>,
    pub customer_native_name: Option<String>,
    pub customer_abbreviation: Option<String>,
    pub description: Option<String>,
    /// Exactly.
    pub name_exact: Option<String>,
    pub backend_id: Option<String>,
    pub slug: Option<String>,
    /// For each list, the project's customer is one of its uuids.
    pub customers: Vec<Vec<Uuid>>,
    /// The name contains the text, or the uuid is it.
    pub query: Option<String>,
    /// Projects this user manages: owner of the customer or manager of the project.
    pub managed_by: Option<Uuid>,
    /// Projects this user administers.
    pub administered_by: Option<Uuid>,
}

impl ProjectFilter {
    /// Pushes ` AND …` for each filter set, onto a query over [`FROM`]'s aliases.
    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        for (column, value) in [
            ("p.name", &self.name),
            ("c.name", &self.customer_name),
            ("c.native_name", &self.customer_native_name),
            ("c.abbreviation", &self.customer_abbreviation),
            ("p.description", &self.description),
        ] {
            push_contains(qb, column, value.as_deref());
        }
        for (column, value) in [
            ("p.name", &self.name_exact),
            ("p.backend_id", &self.backend_id),
            ("p.slug", &self.slug),
        ] {
            push_equals(qb, column, value.clone());
        }
        for customers in &self.customers {
            qb.push(" AND p.customer_uuid = ANY(");
            qb.push_bind(customers.clone());
            qb.push(")");
        }
        if let Some(query) = &self.query {
            qb.push(" AND (p.name ILIKE ");
            qb.push_bind(list::contains_pattern(query));
            if let Ok(uuid) = Uuid::parse_str(query.trim()) {
                qb.push(" OR p.uuid = ");
                qb.push_bind(uuid);
            }
            qb.push(")");
        }
        if let Some(user) = self.managed_by {
            qb.push(
                " AND (p.customer_uuid IN (SELECT r.scope_uuid FROM projection.user_roles r \
                 WHERE r.scope_type = 'customer' AND r.role = 'CUSTOMER.OWNER' AND r.user_uuid = ",
            );
            qb.push_bind(user);
            qb.push(
                ") OR p.uuid IN (SELECT r.scope_uuid FROM projection.user_roles r \
                 WHERE r.scope_type = 'project' AND r.role = 'PROJECT.MANAGER' AND r.user_uuid = ",
            );
            qb.push_bind(user);
            qb.push("))");
        }
        if let Some(user) = self.administered_by {
            qb.push(
                " AND p.uuid IN (SELECT r.scope_uuid FROM projection.user_roles r \
                 WHERE r.scope_type = 'project' AND r.role = 'PROJECT.ADMIN' AND r.user_uuid = ",
            );
            qb.push_bind(user);
            qb.push(")");
        }
    }
}

/// Staff and support see every project, others those they are connected to.
fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, viewer: &Viewer) {
    if viewer.sees_all {
        return;
    }
    qb.push(" AND p.uuid IN (");
    push_with_user(qb, CONNECTED_PROJECTS, viewer.uuid);
    qb.push(")");
}

/// One page of the projects `viewer` sees that match `filter`.
pub async fn list(
    pool: &PgPool,
    viewer: &Viewer,
    filter: &ProjectFilter,
    ordering: &Ordering,
    paging: Paging,
) -> Result<Page<ProjectRow>, ListError> {
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        push_visibility(qb, viewer);
        filter.push(qb);
    };
    list::fetch_page(pool, SELECT, FROM, filters, ordering.sql(), paging).await
}

/// The project if `viewer` sees it.
pub async fn find_visible(
    pool: &PgPool,
    viewer: &Viewer,
    uuid: Uuid,
) -> sqlx::Result<Option<ProjectRow>> {
    let mut qb = QueryBuilder::new(format!("SELECT {SELECT} FROM {FROM} WHERE p.uuid = "));
    qb.push_bind(uuid);
    push_visibility(&mut qb, viewer);
    qb.build_query_as().fetch_optional(pool).await
}

/// Whether `viewer` sees the project.
pub async fn is_visible(pool: &PgPool, viewer: &Viewer, uuid: Uuid) -> sqlx::Result<bool> {
    let mut qb = QueryBuilder::new("SELECT count(*) FROM projection.projects p WHERE p.uuid = ");
    qb.push_bind(uuid);
    push_visibility(&mut qb, viewer);
    list::exists(pool, qb).await
}

/// Whether the project exists.
pub async fn exists(pool: &PgPool, uuid: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projection.projects WHERE uuid = $1)")
        .bind(uuid)
        .fetch_one(pool)
        .await
}

/// A project with what orders placed in it check of it and its organization.
#[derive(Debug, FromRow)]
pub struct ProjectStanding {
    pub name: String,
    pub customer_uuid: Uuid,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub customer_name: String,
    pub customer_blocked: bool,
    pub customer_archived: bool,
}

/// The project with its organization's standing, if it exists.
pub async fn standing(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<ProjectStanding>> {
    sqlx::query_as(
        "SELECT p.name, p.customer_uuid, p.start_date, p.end_date, c.name AS customer_name, \
         c.blocked AS customer_blocked, c.archived AS customer_archived \
         FROM projection.projects p JOIN projection.customers c ON c.uuid = p.customer_uuid \
         WHERE p.uuid = $1",
    )
    .bind(uuid)
    .fetch_optional(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(filter: &ProjectFilter) -> String {
        let mut qb = QueryBuilder::<Postgres>::new("WHERE true");
        filter.push(&mut qb);
        qb.sql().to_string()
    }

    #[test]
    fn each_customer_list_is_one_condition() {
        let text = sql(&ProjectFilter {
            customers: vec![vec![Uuid::nil()], vec![Uuid::nil(), Uuid::max()]],
            ..ProjectFilter::default()
        });
        assert_eq!(
            text,
            "WHERE true AND p.customer_uuid = ANY($1) AND p.customer_uuid = ANY($2)"
        );
    }

    #[test]
    fn managing_binds_the_user_for_both_roles() {
        let text = sql(&ProjectFilter {
            managed_by: Some(Uuid::nil()),
            ..ProjectFilter::default()
        });
        assert!(
            text.contains("'CUSTOMER.OWNER' AND r.user_uuid = $1"),
            "{text}"
        );
        assert!(
            text.contains("'PROJECT.MANAGER' AND r.user_uuid = $2"),
            "{text}"
        );
    }
}
