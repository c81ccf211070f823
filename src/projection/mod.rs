//! Read models: every list and retrieve is answered from tables in the `projection` schema,
//! fed from the event log by the [`Projector`].
//!
//! The read models form named projections ([`PROJECTIONS`]: `directory`, `offerings`,
//! `orders`, `remote_sync`, `arrow`), each with its own SQL file and its own row in
//! `projection_checkpoints`; a projection whose SQL or document shape changed is rebuilt alone.
//! The projector follows the log in `(transaction_id, position)` order (see
//! [`crate::store::log`]) and applies each batch together with the checkpoints in one
//! transaction, under an advisory lock so that several ledger processes never apply the same
//! event twice. An event one projection cannot apply stops only that projection (see
//! [`batch`]); the others go on, and the next start retries it. It runs in two ways: right
//! after a command commits (the request waits until its own event is applied, so a client
//! sees its write in the next read), and as a periodic catch-up that converges after a crash
//! between an event commit and its view update.
//!
//! Requests that wait at the same time share the work: one of them applies a batch for all
//! and publishes the new progress; the others only watch the published progress, so a burst
//! of commands costs one projector transaction per round, not one per request.

mod arrow;
mod batch;
mod directory;
mod documents;
mod offerings;
mod orders;
mod rebuild;
mod remote_sync;
mod route;
mod scratch;
mod status;
mod verify;

use std::time::{Duration, Instant};

use anyhow::Context;
use cqrs_es::Aggregate;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::{Mutex, watch};

use crate::domain::arrow::{
    consumption::ArrowConsumptionRecord, mapping::ArrowCustomerMapping, settings::ArrowSettings,
};
use crate::domain::{
    category, customer, offering, order, project, remote_sync as sync, resource, service_provider,
    sync_run, user, username,
};
use crate::store::log::{LogPoint, StoredEvent};

pub use rebuild::{BuildEvent, BuildOptions, Observer};
pub use status::{Health, ProjectionStatus, StuckAt};
pub use verify::{Difference, Verification};

use rebuild::{BuildLock, Builder, Target};

/// A read model with its own checkpoint: the tables of one SQL file, fed by the events of
/// some aggregate types. No projection reads or writes another's tables, so each one is
/// rebuilt alone when its schema changes.
#[derive(Debug)]
pub struct Projection {
    pub name: &'static str,
    file: &'static str,
    sql: &'static str,
    aggregate_types: &'static [&'static str],
    /// The JSON schemas of the documents its rows store (see [`shape`]).
    documents: fn() -> Vec<serde_json::Value>,
}

impl Projection {
    /// Whether this projection applies the event.
    fn concerns(&self, event: &StoredEvent) -> bool {
        self.aggregate_types
            .contains(&event.aggregate_type.as_str())
    }

    /// The shapes of the documents its rows store, as JSON schemas without their prose.
    pub fn document_shapes(&self) -> Vec<serde_json::Value> {
        (self.documents)()
    }

    /// A fingerprint of the projection's tables and of the documents they store: a change
    /// to either triggers a rebuild of this projection.
    pub fn schema_hash(&self) -> String {
        self.fingerprint(&self.document_shapes())
    }

    /// The fingerprint of this projection's SQL together with the given document shapes.
    pub fn fingerprint(&self, shapes: &[serde_json::Value]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.file.as_bytes());
        hasher.update(self.sql.as_bytes());
        for shape in shapes {
            hasher.update(shape.to_string().as_bytes());
        }
        hex::encode(hasher.finalize())
    }

    /// The tables its SQL creates in the `projection` schema.
    pub fn tables(&self) -> Vec<&'static str> {
        self.sql
            .lines()
            .filter_map(|line| line.trim().strip_prefix("CREATE TABLE projection."))
            .filter_map(|rest| {
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
            })
            .collect()
    }
}

/// The shape of a document type: its JSON schema with descriptions and titles left out, so
/// that a changed doc comment is not a changed shape, while a renamed, added or retyped
/// field, or a renamed state, is.
fn shape<T: schemars::JsonSchema>() -> serde_json::Value {
    let mut schema = schemars::schema_for!(T).to_value();
    strip_prose(&mut schema);
    schema
}

/// Removes the annotation keywords from a schema and every schema inside it; property
/// names (the keys of `properties` and `$defs`) stay whatever they are.
fn strip_prose(schema: &mut serde_json::Value) {
    match schema {
        serde_json::Value::Object(map) => {
            for keyword in ["description", "title", "$schema", "examples"] {
                map.remove(keyword);
            }
            for (key, value) in map.iter_mut() {
                if matches!(key.as_str(), "properties" | "$defs" | "patternProperties")
                    && let serde_json::Value::Object(children) = value
                {
                    children.values_mut().for_each(strip_prose);
                } else {
                    strip_prose(value);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_prose),
        _ => {}
    }
}

/// Every projection, in the order its tables are created.
pub const PROJECTIONS: &[Projection] = &[
    Projection {
        name: "directory",
        file: "directory.sql",
        sql: include_str!("../../projections/directory.sql"),
        aggregate_types: &[
            user::User::TYPE,
            username::Username::TYPE,
            customer::Customer::TYPE,
            project::Project::TYPE,
            category::Category::TYPE,
            service_provider::ServiceProvider::TYPE,
        ],
        documents: Vec::new,
    },
    Projection {
        name: "offerings",
        file: "offerings.sql",
        sql: include_str!("../../projections/offerings.sql"),
        aggregate_types: &[offering::Offering::TYPE],
        // plan rows hold `Plan`, which is part of the offering's shape
        documents: || vec![shape::<offering::Offering>()],
    },
    Projection {
        name: "orders",
        file: "orders.sql",
        sql: include_str!("../../projections/orders.sql"),
        aggregate_types: &[order::Order::TYPE, resource::Resource::TYPE],
        documents: || vec![shape::<order::Order>(), shape::<resource::Resource>()],
    },
    Projection {
        name: "remote_sync",
        file: "remote_sync.sql",
        sql: include_str!("../../projections/remote_sync.sql"),
        aggregate_types: &[sync::RemoteSync::TYPE, sync_run::SyncRun::TYPE],
        documents: || vec![shape::<sync::RemoteSync>(), shape::<sync_run::SyncRun>()],
    },
    Projection {
        name: "arrow",
        file: "arrow.sql",
        sql: include_str!("../../projections/arrow.sql"),
        aggregate_types: &[
            ArrowSettings::TYPE,
            ArrowCustomerMapping::TYPE,
            ArrowConsumptionRecord::TYPE,
        ],
        documents: || {
            vec![
                shape::<ArrowSettings>(),
                shape::<ArrowCustomerMapping>(),
                shape::<ArrowConsumptionRecord>(),
            ]
        },
    },
];

/// The projection named `name`.
pub fn projection(name: &str) -> Option<&'static Projection> {
    PROJECTIONS.iter().find(|p| p.name == name)
}

/// The schema the read models are served from.
const LIVE_SCHEMA: &str = "projection";

/// The `search_path` of a projector transaction writing the tables in `schema`: the
/// projection code names its tables without a schema, and the event log is in `public`.
fn search_path(schema: &str) -> String {
    format!("{schema}, public")
}

/// Advisory lock key that serializes projector batches across processes.
const LOCK_KEY: i64 = 0x4c45_4447_4552; // "LEDGER"

/// How long a waiter that could not apply a batch itself waits for the next published
/// progress before looking again (an older transaction may still hold its event back).
const WAIT_STEP: Duration = Duration::from_millis(2);

/// The progress published when every projection is stuck: nothing is left to wait for.
const NOTHING_TO_WAIT_FOR: LogPoint = LogPoint {
    xid: i64::MAX,
    position: i64::MAX,
};

/// Follows the event log and keeps the read models current.
pub struct Projector {
    pool: PgPool,
    batch_lock: Mutex<()>,
    /// The lowest checkpoint of the projections that are not stuck, as this process last
    /// read or wrote it.
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

    /// Creates the read models that are missing or changed, rebuilding only those from the
    /// log (beside the old tables, which go when the new ones are complete); the others keep
    /// their rows and catch up. Stuck marks are cleared first, so a stuck projection tries
    /// its event again. A projection that is stuck again does not fail this: only the
    /// database itself can.
    pub async fn ensure_ready(&self) -> anyhow::Result<()> {
        let lock = BuildLock::acquire(&self.pool).await?;
        let stale = self.stale().await?;
        self.clear_stuck().await?;
        if !stale.is_empty() {
            let names: Vec<&str> = stale.iter().map(|p| p.name).collect();
            tracing::info!(?names, "rebuilding read models from the event log");
            let plans: Vec<_> = stale.iter().map(|p| (*p, Target::End)).collect();
            self.build_and_swap(&lock, &plans, &BuildOptions::default(), &|_| {})
                .await?;
        }
        drop(lock);
        self.catch_up().await?;
        for status in self.status().await? {
            if status.is_stuck() {
                tracing::warn!(%status, "a read model is stuck; the others are current");
            }
        }
        Ok(())
    }

    /// The projections whose checkpoint row, schema fingerprint or tables are missing or
    /// out of date.
    async fn stale(&self) -> anyhow::Result<Vec<&'static Projection>> {
        let stored: Vec<(String, String)> =
            sqlx::query_as("SELECT name, schema_hash FROM projection_checkpoints")
                .fetch_all(&self.pool)
                .await
                .context("reading the projection checkpoints")?;
        let present = self.present_tables().await?;
        Ok(PROJECTIONS
            .iter()
            .filter(|p| {
                !stored.contains(&(p.name.to_string(), p.schema_hash()))
                    || p.tables().iter().any(|t| !present.iter().any(|x| x == t))
            })
            .collect())
    }

    /// Rebuilds every read model from the log and swaps it in. Returns how many events
    /// were applied; a projection that ends stuck is in [`Projector::status`].
    pub async fn rebuild(&self) -> anyhow::Result<u64> {
        let all: Vec<&'static Projection> = PROJECTIONS.iter().collect();
        self.rebuild_only(&all).await
    }

    /// Rebuilds the given projections from the log and swaps them in; the other
    /// projections keep their rows and checkpoints.
    pub async fn rebuild_only(&self, projections: &[&'static Projection]) -> anyhow::Result<u64> {
        self.rebuild_with(projections, &BuildOptions::default(), &|_| {})
            .await
    }

    /// Builds fresh tables for the given projections from the log, beside the live ones
    /// which keep answering and following the log, and swaps them in at once when they
    /// have caught up: readers see the old tables or the new ones, never a half-built one.
    /// A projection that follows the log is rebuilt up to its live checkpoint and keeps it;
    /// a stuck, missing or changed one is rebuilt as far as the log goes, and its
    /// checkpoint (and any stuck mark) becomes the rebuild's. Tables in the `projection`
    /// schema that no projection creates any more are dropped. Returns how many events
    /// were applied.
    pub async fn rebuild_with(
        &self,
        projections: &[&'static Projection],
        options: &BuildOptions,
        observer: Observer<'_>,
    ) -> anyhow::Result<u64> {
        let lock = BuildLock::acquire(&self.pool).await?;
        let stale = self.stale().await?;
        let statuses = self.status().await?;
        let plans: Vec<_> = projections
            .iter()
            .map(|projection| {
                let follows = statuses
                    .iter()
                    .any(|s| s.name == projection.name && s.health == Health::Ok)
                    && !stale.iter().any(|p| p.name == projection.name);
                let target = if follows {
                    Target::FollowLive
                } else {
                    Target::End
                };
                (*projection, target)
            })
            .collect();
        let applied = self
            .build_and_swap(&lock, &plans, options, observer)
            .await?;
        drop(lock);
        self.catch_up().await?;
        Ok(applied)
    }

    /// Builds the planned projections in the scratch schema and swaps them in.
    async fn build_and_swap(
        &self,
        lock: &BuildLock,
        plans: &[(&'static Projection, Target)],
        options: &BuildOptions,
        observer: Observer<'_>,
    ) -> anyhow::Result<u64> {
        let mut builder = Builder::start(&self.pool, lock, plans, options, observer).await?;
        let built = async {
            builder.bulk().await?;
            let mut locked = rebuild::dedicated(&self.pool).await?;
            rebuild::lock(&mut locked).await?;
            builder.last(&mut locked).await?;
            anyhow::Ok(locked)
        }
        .await;
        let mut locked = match built {
            Ok(locked) => locked,
            Err(error) => {
                if let Err(cleanup) = builder.discard().await {
                    tracing::warn!(error = %format!("{cleanup:#}"), "leaving the scratch schema");
                }
                return Err(error);
            }
        };
        let applied = builder.applied;
        builder.swap(&mut locked).await?;
        rebuild::unlock(&mut locked).await?;
        // Whatever this process published may have been about the old tables.
        self.progress.send_replace(LogPoint::default());
        Ok(applied)
    }

    /// Builds the given projections afresh from the log, beside the live ones, and compares
    /// them row by row at the same checkpoint; the fresh tables are dropped afterwards.
    pub async fn verify(
        &self,
        projections: &[&'static Projection],
        options: &BuildOptions,
        observer: Observer<'_>,
    ) -> anyhow::Result<Verification> {
        let lock = BuildLock::acquire(&self.pool).await?;
        verify::verify(&self.pool, &lock, projections, options, observer).await
    }

    /// Applies every event that is safely visible. Returns how many were read.
    pub async fn catch_up(&self) -> anyhow::Result<u64> {
        let _guard = self.batch_lock.lock().await;
        self.apply_all().await
    }

    /// Every projection's checkpoint and health, in the order of [`PROJECTIONS`].
    pub async fn status(&self) -> anyhow::Result<Vec<ProjectionStatus>> {
        status::read(&self.pool).await
    }

    /// Forgets the stuck marks, so that the next batch tries those events again.
    async fn clear_stuck(&self) -> anyhow::Result<()> {
        let _guard = self.batch_lock.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *tx)
            .await?;
        let retried: Vec<(String, i64)> = sqlx::query_as(
            "UPDATE projection_checkpoints SET stuck_position = NULL, stuck_error = NULL, \
             stuck_at = NULL WHERE stuck_position IS NOT NULL \
             RETURNING name, last_position",
        )
        .fetch_all(&mut *tx)
        .await
        .context("clearing the stuck marks of the projections")?;
        tx.commit().await?;
        for (name, position) in retried {
            tracing::info!(projection = %name, after = position, "retrying a stuck projection");
        }
        Ok(())
    }

    /// Applies batches until the log is exhausted; the caller holds `batch_lock`.
    async fn apply_all(&self) -> anyhow::Result<u64> {
        let mut total = 0;
        loop {
            let batch = batch::apply_batch(&self.pool).await?;
            self.progress
                .send_replace(batch.progress.unwrap_or(NOTHING_TO_WAIT_FOR));
            total += batch.read as u64;
            if batch.read < batch::BATCH as usize {
                return Ok(total);
            }
        }
    }

    /// Waits until the event at `point` has been applied by every projection that is not
    /// stuck, driving the projector meanwhile. Gives up after `timeout` (the periodic
    /// catch-up still applies it later).
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
                    // Another request is applying a batch; its progress may cover ours.
                    let _ = tokio::time::timeout(WAIT_STEP, progress.changed()).await;
                }
            }
            if Instant::now() >= deadline {
                return Ok(*progress.borrow() >= point);
            }
        }
    }

    /// Where the read models stand in the log: the lowest checkpoint of the projections
    /// that are not stuck (of all of them when every one is).
    pub async fn checkpoint(&self) -> anyhow::Result<LogPoint> {
        let statuses = self.status().await?;
        let healthy = statuses
            .iter()
            .filter(|s| s.health == Health::Ok)
            .map(|s| s.checkpoint)
            .min();
        Ok(healthy
            .or_else(|| statuses.iter().map(|s| s.checkpoint).min())
            .unwrap_or_default())
    }

    /// The tables that exist in the `projection` schema.
    async fn present_tables(&self) -> anyhow::Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'projection'",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_read_model_table_is_found_in_the_sql() {
        let tables = projection("directory").unwrap().tables();
        for table in [
            "users",
            "user_tokens",
            "customers",
            "projects",
            "user_roles",
            "slugs",
        ] {
            assert!(tables.contains(&table), "{table} missing");
        }
        assert_eq!(
            projection("orders").unwrap().tables(),
            ["orders", "resources"]
        );
    }

    #[test]
    fn no_table_belongs_to_two_projections() {
        let mut all: Vec<&str> = PROJECTIONS.iter().flat_map(|p| p.tables()).collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count);
    }

    #[test]
    fn no_projection_writes_into_another_ones_tables() {
        for projection in PROJECTIONS {
            let others: Vec<&str> = PROJECTIONS
                .iter()
                .filter(|p| p.name != projection.name)
                .flat_map(|p| p.tables())
                .collect();
            let code = match projection.name {
                "directory" => include_str!("directory.rs"),
                "offerings" => include_str!("offerings.rs"),
                "orders" => include_str!("orders.rs"),
                "remote_sync" => include_str!("remote_sync.rs"),
                "arrow" => include_str!("arrow.rs"),
                other => panic!("no source listed for {other}"),
            };
            for table in others {
                for reference in [
                    format!("FROM {table} "),
                    format!("INTO {table} "),
                    format!("UPDATE {table} "),
                    format!("JOIN {table} "),
                    format!("\"{table}\""),
                ] {
                    assert!(
                        !code.contains(&reference),
                        "{} names {table}: {reference}",
                        projection.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_renamed_document_field_changes_the_schema_hash() {
        let orders = projection("orders").unwrap();
        let shapes = orders.document_shapes();
        let text = shapes[0].to_string();
        assert!(text.contains("\"consumer_reviewed_by\""));
        let renamed: Vec<serde_json::Value> = shapes
            .iter()
            .map(|s| {
                serde_json::from_str(
                    &s.to_string()
                        .replace("\"consumer_reviewed_by\"", "\"consumer_reviewer\""),
                )
                .unwrap()
            })
            .collect();
        assert_ne!(orders.fingerprint(&renamed), orders.schema_hash());
        assert_eq!(orders.fingerprint(&shapes), orders.schema_hash());
    }

    #[test]
    fn the_document_shape_leaves_out_prose_but_keeps_field_names() {
        let offerings = projection("offerings").unwrap();
        let text = offerings.document_shapes()[0].to_string();
        // `description` is a field of the offering's details, kept as a property name
        assert!(text.contains("\"description\":{"));
        assert!(!text.contains("The state of an offering"));
        // the states a document may hold are part of its shape
        assert!(
            projection("orders").unwrap().document_shapes()[0]
                .to_string()
                .contains("\"PendingStartDate\"")
        );
    }

    #[test]
    fn the_schema_hash_is_stable() {
        let orders = &PROJECTIONS[2];
        assert_eq!(orders.schema_hash(), orders.schema_hash());
        assert_eq!(orders.schema_hash().len(), 64);
    }

    #[test]
    fn every_projection_has_its_own_name_and_schema_hash() {
        for (i, a) in PROJECTIONS.iter().enumerate() {
            for b in &PROJECTIONS[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.schema_hash(), b.schema_hash());
            }
        }
    }

    #[test]
    fn every_aggregate_type_is_applied_by_exactly_one_projection() {
        for aggregate_type in [
            user::User::TYPE,
            username::Username::TYPE,
            customer::Customer::TYPE,
            project::Project::TYPE,
            category::Category::TYPE,
            service_provider::ServiceProvider::TYPE,
            offering::Offering::TYPE,
            order::Order::TYPE,
            resource::Resource::TYPE,
            sync::RemoteSync::TYPE,
            sync_run::SyncRun::TYPE,
            ArrowSettings::TYPE,
            ArrowCustomerMapping::TYPE,
            ArrowConsumptionRecord::TYPE,
        ] {
            let owners = PROJECTIONS
                .iter()
                .filter(|p| p.aggregate_types.contains(&aggregate_type))
                .count();
            assert_eq!(owners, 1, "{aggregate_type}");
        }
    }

    #[test]
    fn orders_and_resources_live_in_the_orders_projection() {
        let orders = &PROJECTIONS[2];
        assert_eq!(orders.name, "orders");
        assert!(orders.sql.contains("CREATE TABLE projection.orders"));
        assert!(orders.sql.contains("CREATE TABLE projection.resources"));
    }
}
