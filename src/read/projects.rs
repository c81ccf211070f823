//! The projects read model.

use chrono::NaiveDate;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

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
