//! Queries over the remote sync read models (`projections/remote_sync.sql`) and the offerings
//! a sync imported.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::domain::offering::Offering;
use crate::domain::remote_sync::RemoteSync;
use crate::domain::sync_run::SyncRun;

/// A sync with its newest run, if it has run.
#[derive(Debug, Clone)]
pub struct SyncView {
    pub sync: RemoteSync,
    pub last_run: Option<SyncRun>,
}

#[derive(FromRow)]
struct SyncRow {
    document: serde_json::Value,
    run_document: Option<serde_json::Value>,
}

impl SyncRow {
    fn decode(self) -> anyhow::Result<SyncView> {
        Ok(SyncView {
            sync: serde_json::from_value(self.document)?,
            last_run: self.run_document.map(serde_json::from_value).transpose()?,
        })
    }
}

const SELECT: &str = "SELECT s.document, r.document AS run_document \
    FROM projection.remote_syncs s \
    LEFT JOIN projection.sync_runs r ON r.uuid = s.last_run_uuid";

/// One sync.
pub async fn get(pool: &PgPool, uuid: Uuid) -> anyhow::Result<Option<SyncView>> {
    let row: Option<SyncRow> = sqlx::query_as(&format!("{SELECT} WHERE s.uuid = $1"))
        .bind(uuid)
        .fetch_optional(pool)
        .await?;
    row.map(SyncRow::decode).transpose()
}

/// How many syncs there are.
pub async fn count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM projection.remote_syncs")
        .fetch_one(pool)
        .await
}

/// A page of syncs, newest first (Waldur orders them by `-created`).
pub async fn page(pool: &PgPool, offset: i64, limit: i64) -> anyhow::Result<Vec<SyncView>> {
    let rows: Vec<SyncRow> = sqlx::query_as(&format!(
        "{SELECT} ORDER BY s.created DESC, s.uuid OFFSET $1 LIMIT $2"
    ))
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(SyncRow::decode).collect()
}

/// Every sync, oldest first (the command line and the scheduler).
pub async fn all(pool: &PgPool) -> anyhow::Result<Vec<SyncView>> {
    let rows: Vec<SyncRow> = sqlx::query_as(&format!("{SELECT} ORDER BY s.created, s.uuid"))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(SyncRow::decode).collect()
}

/// The sync, other than `except`, that imports the same remote organization for the same
/// local service provider.
pub async fn same_pair(
    pool: &PgPool,
    provider: Uuid,
    organization: Uuid,
    except: Option<Uuid>,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "SELECT uuid FROM projection.remote_syncs WHERE local_service_provider_uuid = $1 \
         AND remote_organization_uuid = $2 AND ($3::uuid IS NULL OR uuid <> $3) LIMIT 1",
    )
    .bind(provider)
    .bind(organization)
    .bind(except)
    .fetch_optional(pool)
    .await
}

/// The active syncs whose next run is due at `now`: `interval` after their last run
/// started, or after they were created when they have not run yet. No run is under way.
pub async fn due(
    pool: &PgPool,
    now: DateTime<Utc>,
    interval: chrono::Duration,
) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT s.uuid FROM projection.remote_syncs s \
         LEFT JOIN projection.sync_runs r ON r.uuid = s.last_run_uuid \
         WHERE s.is_active AND COALESCE(r.state, '') <> 'Processing' \
         AND COALESCE(r.started, s.created) <= $1 \
         ORDER BY s.created, s.uuid",
    )
    .bind(now - interval)
    .fetch_all(pool)
    .await
}

/// The runs of a sync still marked Processing.
pub async fn processing_runs(pool: &PgPool, sync: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT uuid FROM projection.sync_runs WHERE sync_uuid = $1 AND state = 'Processing'",
    )
    .bind(sync)
    .fetch_all(pool)
    .await
}

/// How many runs a sync has had.
pub async fn run_count(pool: &PgPool, sync: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM projection.sync_runs WHERE sync_uuid = $1")
        .bind(sync)
        .fetch_one(pool)
        .await
}

/// A page of a sync's runs, newest first.
pub async fn runs(
    pool: &PgPool,
    sync: Uuid,
    offset: i64,
    limit: i64,
) -> anyhow::Result<Vec<SyncRun>> {
    let documents: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT document FROM projection.sync_runs WHERE sync_uuid = $1 \
         ORDER BY started DESC, uuid OFFSET $2 LIMIT $3",
    )
    .bind(sync)
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    documents
        .into_iter()
        .map(|d| Ok(serde_json::from_value(d)?))
        .collect()
}

/// One run.
pub async fn run(pool: &PgPool, uuid: Uuid) -> anyhow::Result<Option<SyncRun>> {
    let document: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT document FROM projection.sync_runs WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(pool)
            .await?;
    Ok(document.map(serde_json::from_value).transpose()?)
}

/// The offerings a provider's customer imported from a remote organization, archived ones
/// included, each with its uuid.
pub async fn imported_offerings(
    pool: &PgPool,
    customer: Uuid,
    organization: Uuid,
) -> anyhow::Result<Vec<(Uuid, Offering)>> {
    let rows: Vec<(Uuid, serde_json::Value)> = sqlx::query_as(
        "SELECT uuid, document FROM projection.offerings \
         WHERE customer_uuid = $1 AND remote_organization_uuid = $2",
    )
    .bind(customer)
    .bind(organization)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(uuid, document)| Ok((uuid, serde_json::from_value(document)?)))
        .collect()
}

/// Whether a uuid is one of this ledger's own customers.
pub async fn is_local_customer(pool: &PgPool, uuid: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projection.customers WHERE uuid = $1)")
        .bind(uuid)
        .fetch_one(pool)
        .await
}

/// A service provider's customer and that customer's name.
pub async fn provider_customer(
    pool: &PgPool,
    provider: Uuid,
) -> sqlx::Result<Option<(Uuid, String)>> {
    sqlx::query_as(
        "SELECT c.uuid, c.name FROM projection.service_providers sp \
         JOIN projection.customers c ON c.uuid = sp.customer_uuid WHERE sp.uuid = $1",
    )
    .bind(provider)
    .fetch_optional(pool)
    .await
}

/// Which of the given categories exist.
pub async fn existing_categories(pool: &PgPool, uuids: &[Uuid]) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar("SELECT uuid FROM projection.categories WHERE uuid = ANY($1)")
        .bind(uuids)
        .fetch_all(pool)
        .await
}

/// The titles of the given categories.
pub async fn category_titles(
    pool: &PgPool,
    uuids: &[Uuid],
) -> sqlx::Result<std::collections::HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT uuid, title FROM projection.categories WHERE uuid = ANY($1)")
            .bind(uuids)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}
