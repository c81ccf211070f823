//! Read models: every list and retrieve is answered from tables in the `projection` schema,
//! fed from the event log by the [`Projector`].
//!
//! The projector follows the log in `(transaction_id, position)` order (see
//! [`crate::store::log`]) and applies each batch together with its checkpoint in one
//! transaction, under an advisory lock so that several ledger processes never apply the same
//! event twice. It runs in two ways: right after a command commits (the request waits until
//! its own event is applied, so a client sees its write in the next read), and as a periodic
//! catch-up that converges after a crash between an event commit and its view update.
//!
//! Requests that wait at the same time share the work: one of them applies a batch for all
//! and publishes the new checkpoint; the others only watch the published checkpoint, so a
//! burst of commands costs one projector transaction per round, not one per request.

mod directory;
mod offerings;
mod orders;

use std::time::{Duration, Instant};

use anyhow::Context;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Mutex, watch};

use crate::domain::{
    category, customer, offering, order, project, resource, service_provider, user, username,
};
use crate::store::log::{self, LogPoint, StoredEvent};
use cqrs_es::Aggregate;

/// The SQL of every read model, in the order it is applied.
const PROJECTION_SQL: &[(&str, &str)] = &[
    (
        "directory.sql",
        include_str!("../../projections/directory.sql"),
    ),
    (
        "offerings.sql",
        include_str!("../../projections/offerings.sql"),
    ),
    ("orders.sql", include_str!("../../projections/orders.sql")),
];

/// The checkpoint row of the main projector.
const CHECKPOINT: &str = "main";
/// Advisory lock key that serializes projector batches across processes.
const LOCK_KEY: i64 = 0x4c45_4447_4552; // "LEDGER"
/// Events applied per transaction.
const BATCH: i64 = 500;

/// How long a waiter that could not apply a batch itself waits for the next published
/// checkpoint before looking again (an older transaction may still hold its event back).
const WAIT_STEP: Duration = Duration::from_millis(2);

/// Follows the event log and keeps the read models current.
pub struct Projector {
    pool: PgPool,
    batch_lock: Mutex<()>,
    /// The checkpoint as this process last read or wrote it.
    progress: watch::Sender<LogPoint>,
}

impl Projector {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            batch_lock: Mutex::new(()),
            progress: watch::Sender::new(LogPoint::default()),
        }
    }

    /// Creates the read models when missing or changed, rebuilding them from the log, then
    /// catches up.
    pub async fn ensure_ready(&self) -> anyhow::Result<()> {
        let stored_hash: Option<String> =
            sqlx::query_scalar("SELECT schema_hash FROM projection_checkpoints WHERE name = $1")
                .bind(CHECKPOINT)
                .fetch_optional(&self.pool)
                .await
                .context("reading the projection checkpoint")?;
        let missing = self.missing_tables().await?;
        if stored_hash.as_deref() != Some(schema_hash().as_str()) || !missing.is_empty() {
            tracing::info!(?missing, "rebuilding read models from the event log");
            self.rebuild().await?;
        } else {
            self.catch_up().await?;
        }
        Ok(())
    }

    /// Drops every read model, recreates it empty and replays the whole log into it.
    pub async fn rebuild(&self) -> anyhow::Result<u64> {
        let _guard = self.batch_lock.lock().await;
        {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(LOCK_KEY)
                .execute(&mut *tx)
                .await?;
            let mut ddl = String::from(
                "DROP SCHEMA IF EXISTS projection CASCADE; CREATE SCHEMA projection;\n",
            );
            for (_, sql) in PROJECTION_SQL {
                ddl.push_str(sql);
                ddl.push('\n');
            }
            sqlx::raw_sql(&ddl)
                .execute(&mut *tx)
                .await
                .context("creating the read model tables")?;
            sqlx::query(
                "INSERT INTO projection_checkpoints (name, last_xid, last_position, schema_hash) \
                 VALUES ($1, '0'::xid8, 0, $2) \
                 ON CONFLICT (name) DO UPDATE SET last_xid = '0'::xid8, last_position = 0, \
                 schema_hash = EXCLUDED.schema_hash, updated_at = now()",
            )
            .bind(CHECKPOINT)
            .bind(schema_hash())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        self.progress.send_replace(LogPoint::default());
        self.apply_all().await
    }

    /// Applies every event that is safely visible. Returns how many were applied.
    pub async fn catch_up(&self) -> anyhow::Result<u64> {
        let _guard = self.batch_lock.lock().await;
        self.apply_all().await
    }

    /// Applies batches until the log is exhausted; the caller holds `batch_lock`.
    async fn apply_all(&self) -> anyhow::Result<u64> {
        let mut total = 0;
        loop {
            let applied = self.apply_batch().await?;
            total += applied as u64;
            if applied < BATCH as usize {
                return Ok(total);
            }
        }
    }

    /// Waits until the event at `point` has been applied, driving the projector meanwhile.
    /// Gives up after `timeout` (the periodic catch-up still applies it later).
    pub async fn wait_for(&self, point: LogPoint, timeout: Duration) -> anyhow::Result<bool> {
        let deadline = Instant::now() + timeout;
        let mut progress = self.progress.subscribe();
        loop {
            if *progress.borrow_and_update() >= point {
                return Ok(true);
            }
            match self.batch_lock.try_lock() {
                Ok(_guard) => {
                    self.apply_all().await?;
                    if *progress.borrow_and_update() >= point {
                        return Ok(true);
                    }
                    if Instant::now() >= deadline {
                        return Ok(false);
                    }
                    // A transaction that began earlier is still open; its commit unblocks us.
                    tokio::time::sleep(WAIT_STEP).await;
                }
                Err(_) => {
                    // Another request is applying a batch; its checkpoint may cover ours.
                    let _ = tokio::time::timeout(WAIT_STEP, progress.changed()).await;
                }
            }
            if Instant::now() >= deadline {
                return Ok(*progress.borrow() >= point);
            }
        }
    }

    /// Where the projector stands in the log.
    pub async fn checkpoint(&self) -> anyhow::Result<LogPoint> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT last_xid::text::bigint, last_position FROM projection_checkpoints \
             WHERE name = $1",
        )
        .bind(CHECKPOINT)
        .fetch_optional(&self.pool)
        .await
        .context("reading the projection checkpoint")?;
        Ok(row
            .map(|(xid, position)| LogPoint { xid, position })
            .unwrap_or_default())
    }

    async fn apply_batch(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await?;
        // The read models and their checkpoint commit together and can always be rebuilt
        // from the log, so this commit need not wait for the disk: a crash loses both the
        // rows and the checkpoint of the last batches, and the catch-up applies them again.
        // Other sessions see the commit at once either way.
        sqlx::query(
            "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock($1)",
        )
        .bind(LOCK_KEY)
        .execute(&mut *tx)
        .await?;
        let after: LogPoint = sqlx::query_as::<_, (i64, i64)>(
            "SELECT last_xid::text::bigint, last_position FROM projection_checkpoints \
             WHERE name = $1",
        )
        .bind(CHECKPOINT)
        .fetch_optional(&mut *tx)
        .await?
        .map(|(xid, position)| LogPoint { xid, position })
        .context("the read models have not been created (no checkpoint row)")?;
        let events = log::read_after(&mut *tx, after, BATCH)
            .await
            .context("reading the event log")?;
        if events.is_empty() {
            tx.commit().await?;
            self.progress.send_replace(after);
            return Ok(0);
        }
        for run in events.chunk_by(|a, b| {
            a.aggregate_type == b.aggregate_type && a.aggregate_id == b.aggregate_id
        }) {
            apply_run(&mut tx, run).await.with_context(|| {
                let first = &run[0];
                format!(
                    "projecting events from {} ({} {}/{} #{})",
                    first.position,
                    first.event_type,
                    first.aggregate_type,
                    first.aggregate_id,
                    first.sequence
                )
            })?;
        }
        let last = events.last().map(StoredEvent::point).unwrap_or(after);
        sqlx::query(
            "UPDATE projection_checkpoints SET last_xid = $2::text::xid8, \
             last_position = $3, updated_at = now() WHERE name = $1",
        )
        .bind(CHECKPOINT)
        .bind(last.xid.to_string())
        .bind(last.position)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.progress.send_replace(last);
        Ok(events.len())
    }

    async fn missing_tables(&self) -> anyhow::Result<Vec<String>> {
        let present: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'projection'",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(expected_tables()
            .into_iter()
            .filter(|t| !present.contains(t))
            .collect())
    }
}

/// Decodes an event payload into the aggregate's event type.
fn decode<A: Aggregate>(event: &StoredEvent) -> anyhow::Result<A::Event> {
    crate::store::codec::decode(event.payload.clone()).with_context(|| {
        format!(
            "decoding {} v{} of {}",
            event.event_type,
            event.event_version,
            A::TYPE
        )
    })
}

/// Applies consecutive events of one aggregate: orders and resources fold the whole run
/// into one row write, the other read models take the events one by one.
async fn apply_run(conn: &mut PgConnection, run: &[StoredEvent]) -> anyhow::Result<()> {
    fn decoded<A: Aggregate>(run: &[StoredEvent]) -> anyhow::Result<Vec<(&StoredEvent, A::Event)>> {
        run.iter().map(|e| Ok((e, decode::<A>(e)?))).collect()
    }
    match run[0].aggregate_type.as_str() {
        order::Order::TYPE => orders::apply_order(conn, decoded::<order::Order>(run)?).await,
        resource::Resource::TYPE => {
            orders::apply_resource(conn, decoded::<resource::Resource>(run)?).await
        }
        _ => {
            for event in run {
                apply(conn, event).await?;
            }
            Ok(())
        }
    }
}

/// Routes one stored event to the read models that care about it.
async fn apply(conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()> {
    match event.aggregate_type.as_str() {
        user::User::TYPE => directory::apply_user(conn, event, decode::<user::User>(event)?).await,
        customer::Customer::TYPE => {
            directory::apply_customer(conn, event, decode::<customer::Customer>(event)?).await
        }
        project::Project::TYPE => {
            directory::apply_project(conn, event, decode::<project::Project>(event)?).await
        }
        category::Category::TYPE => {
            directory::apply_category(conn, event, decode::<category::Category>(event)?).await
        }
        service_provider::ServiceProvider::TYPE => {
            let decoded = decode::<service_provider::ServiceProvider>(event)?;
            directory::apply_service_provider(conn, event, decoded).await
        }
        offering::Offering::TYPE => {
            offerings::apply_offering(conn, event, decode::<offering::Offering>(event)?).await
        }
        order::Order::TYPE => {
            orders::apply_order(conn, vec![(event, decode::<order::Order>(event)?)]).await
        }
        resource::Resource::TYPE => {
            let decoded = decode::<resource::Resource>(event)?;
            orders::apply_resource(conn, vec![(event, decoded)]).await
        }
        // Username claims only guard uniqueness; the users table carries the name.
        username::Username::TYPE => Ok(()),
        other => {
            tracing::warn!(
                aggregate_type = other,
                "no read model for this aggregate type"
            );
            Ok(())
        }
    }
}

/// A fingerprint of the read model definitions: a change triggers a rebuild.
fn schema_hash() -> String {
    let mut hasher = Sha256::new();
    for (name, sql) in PROJECTION_SQL {
        hasher.update(name.as_bytes());
        hasher.update(sql.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The table names the read model SQL creates.
fn expected_tables() -> Vec<String> {
    PROJECTION_SQL
        .iter()
        .flat_map(|(_, sql)| sql.lines())
        .filter_map(|line| line.trim().strip_prefix("CREATE TABLE projection."))
        .map(|rest| {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_read_model_table_is_found_in_the_sql() {
        let tables = expected_tables();
        for table in [
            "users",
            "user_tokens",
            "customers",
            "projects",
            "user_roles",
        ] {
            assert!(tables.contains(&table.to_string()), "{table} missing");
        }
    }

    #[test]
    fn the_schema_hash_is_stable() {
        assert_eq!(schema_hash(), schema_hash());
        assert_eq!(schema_hash().len(), 64);
    }
}
