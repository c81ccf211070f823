//! Applying remote sync and sync run events to the tables of `projections/remote_sync.sql`.
//! Like orders, each run of consecutive events of one aggregate is folded into the row's
//! document and written once.

use anyhow::Context;
use sqlx::PgConnection;

use super::orders::{aggregate_uuid, fold};
use crate::domain::remote_sync::{RemoteSync, RemoteSyncEvent};
use crate::domain::sync_run::{SyncRun, SyncRunEvent};
use crate::store::log::StoredEvent;

/// Applies consecutive events of one sync.
pub async fn apply_sync(
    conn: &mut PgConnection,
    run: Vec<(&StoredEvent, RemoteSyncEvent)>,
) -> anyhow::Result<()> {
    let Some((first, _)) = run.first() else {
        return Ok(());
    };
    let uuid = aggregate_uuid(first)?;
    let Some((sync, sequence)) = fold::<RemoteSync>(conn, "remote_syncs", uuid, run).await? else {
        return Ok(());
    };
    if sync.deleted {
        sqlx::query("DELETE FROM projection.remote_syncs WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    let created = sync.created.context("a sync without a creation time")?;
    sqlx::query(
        "INSERT INTO projection.remote_syncs (uuid, local_service_provider_uuid, \
         remote_organization_uuid, is_active, last_run_uuid, created, modified, last_seq, \
         document) VALUES ($1, $2, $3, $4, \
         (SELECT uuid FROM projection.sync_runs WHERE sync_uuid = $1 \
          ORDER BY started DESC, uuid LIMIT 1), $5, $6, $7, $8) \
         ON CONFLICT (uuid) DO UPDATE SET \
         local_service_provider_uuid = EXCLUDED.local_service_provider_uuid, \
         is_active = EXCLUDED.is_active, modified = EXCLUDED.modified, \
         last_seq = EXCLUDED.last_seq, document = EXCLUDED.document",
    )
    .bind(uuid)
    .bind(sync.local_service_provider_uuid)
    .bind(sync.remote_organization_uuid)
    .bind(sync.is_active)
    .bind(created)
    .bind(sync.modified.unwrap_or(created))
    .bind(sequence)
    .bind(serde_json::to_value(&sync).context("encoding the sync document")?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies consecutive events of one run, and makes it its sync's newest run when it is.
pub async fn apply_run(
    conn: &mut PgConnection,
    run: Vec<(&StoredEvent, SyncRunEvent)>,
) -> anyhow::Result<()> {
    let Some((first, _)) = run.first() else {
        return Ok(());
    };
    let uuid = aggregate_uuid(first)?;
    let Some((state, sequence)) = fold::<SyncRun>(conn, "sync_runs", uuid, run).await? else {
        return Ok(());
    };
    let started = state.started.context("a run event before its start")?;
    sqlx::query(
        "INSERT INTO projection.sync_runs (uuid, sync_uuid, state, started, finished, last_seq, \
         document) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (uuid) DO UPDATE SET state = EXCLUDED.state, finished = EXCLUDED.finished, \
         last_seq = EXCLUDED.last_seq, document = EXCLUDED.document",
    )
    .bind(uuid)
    .bind(state.sync_uuid)
    .bind(state.state.as_str())
    .bind(started)
    .bind(state.finished)
    .bind(sequence)
    .bind(serde_json::to_value(&state).context("encoding the run document")?)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE projection.remote_syncs s SET last_run_uuid = $1 WHERE s.uuid = $2 \
         AND NOT EXISTS (SELECT 1 FROM projection.sync_runs r WHERE r.sync_uuid = $2 \
         AND (r.started, r.uuid) > ($3, $1))",
    )
    .bind(uuid)
    .bind(state.sync_uuid)
    .bind(started)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
