//! Remote sync and sync run rows (`projections/remote_sync.sql`). Like orders, each
//! aggregate's events are folded into the row's document (see [`super::documents`]). A sync's
//! `last_run_uuid` names its newest run: set from the runs when the sync's row is created,
//! and moved by each run written.

use anyhow::Context;
use sqlx::PgConnection;
use uuid::Uuid;

use super::documents::{Document, Row, WriteError, time, time_opt, value};
use crate::domain::remote_sync::RemoteSync;
use crate::domain::sync_run::SyncRun;

impl Document for RemoteSync {
    const TABLE: &'static str = "remote_syncs";
    // `last_run_uuid` is the runs' to move (see `runs_written`).
    const KEEP: &'static [&'static str] = &["remote_organization_uuid", "created"];

    fn row(&self) -> anyhow::Result<Option<Row>> {
        if self.deleted {
            return Ok(None);
        }
        let created = self.created.context("a sync without a creation time")?;
        let mut row = Row::new();
        row.insert(
            "local_service_provider_uuid".into(),
            value(self.local_service_provider_uuid),
        );
        row.insert(
            "remote_organization_uuid".into(),
            value(self.remote_organization_uuid),
        );
        row.insert("is_active".into(), value(self.is_active));
        row.insert("created".into(), time(created));
        row.insert("modified".into(), time(self.modified.unwrap_or(created)));
        Ok(Some(row))
    }
}

impl Document for SyncRun {
    const TABLE: &'static str = "sync_runs";
    const KEEP: &'static [&'static str] = &["sync_uuid", "started"];

    fn row(&self) -> anyhow::Result<Option<Row>> {
        let started = self.started.context("a run event before its start")?;
        let mut row = Row::new();
        row.insert("sync_uuid".into(), value(self.sync_uuid));
        row.insert("state".into(), value(self.state.as_str()));
        row.insert("started".into(), time(started));
        row.insert("finished".into(), time_opt(self.finished));
        Ok(Some(row))
    }
}

/// Gives the syncs just written that name no run yet their newest run, if they have one.
pub(super) async fn syncs_written(
    conn: &mut PgConnection,
    syncs: &[Uuid],
) -> Result<(), WriteError> {
    if syncs.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE remote_syncs s SET last_run_uuid = (SELECT r.uuid FROM sync_runs r \
         WHERE r.sync_uuid = s.uuid ORDER BY r.started DESC, r.uuid LIMIT 1) \
         WHERE s.uuid = ANY($1) AND s.last_run_uuid IS NULL",
    )
    .bind(syncs)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Makes each run just written its sync's newest run when no later one exists.
pub(super) async fn runs_written(conn: &mut PgConnection, runs: &[Uuid]) -> Result<(), WriteError> {
    if runs.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE remote_syncs s SET last_run_uuid = w.uuid FROM sync_runs w \
         WHERE w.uuid = ANY($1) AND s.uuid = w.sync_uuid \
         AND NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.sync_uuid = w.sync_uuid \
         AND (r.started, r.uuid) > (w.started, w.uuid))",
    )
    .bind(runs)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
