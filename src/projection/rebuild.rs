//! Building read models from the log beside the live ones, and swapping them in at once.
//!
//! A build creates the projections' tables in the scratch schema ([`super::scratch`]) and
//! applies the log to them with the projector's own code, in large batches and without the
//! projector's lock, so the live read models keep answering and following the log. A
//! projection that follows the live one ([`Target::FollowLive`]) is built up to the live
//! checkpoint, then caught up again, since the live projector moved on meanwhile. Last, the
//! builder takes the projector's lock, so that no live batch commits, applies the few
//! events left and:
//!
//! - for a rebuild, drops the live tables and moves the scratch ones into `projection` in
//!   one transaction: a reader sees the old tables or the new ones, never a half-built
//!   table;
//! - for a verification ([`super::verify`]), takes a snapshot in which the live and the
//!   scratch tables stand at the same checkpoint, and lets the projector go on.
//!
//! One build runs at a time (a session lock), since builds share the scratch schema.

use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::mpsc;

use super::batch::{self, Cursor, Outcome, Stuck};
use super::scratch::{self, SCRATCH_SCHEMA};
use super::{LIVE_SCHEMA, LOCK_KEY, PROJECTIONS, Projection, search_path};
use crate::store::log::{self, LogPoint, StoredEvent};

/// Advisory lock key held by the session that builds in the scratch schema.
const BUILD_LOCK_KEY: i64 = 0x4c45_4447_4542; // "LEDGEB"

/// Catch-up rounds without the projector's lock, each bringing the build closer to the live
/// checkpoint, before the last one under the lock.
const CATCH_UP_ROUNDS: usize = 3;

/// A catch-up round that applies fewer events than this ends the rounds.
const SMALL_GAP: u64 = 1_000;

/// How long the swap waits for readers to let go of the live tables before it steps back
/// and tries again (readers then go on meanwhile).
const SWAP_LOCK_TIMEOUT: &str = "200ms";

/// How a build runs.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Events read and applied per transaction.
    pub batch: i64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self { batch: 10_000 }
    }
}

/// What a build tells its observer as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildEvent {
    /// About this many events are to be applied in all (it grows while the log does).
    Total(u64),
    /// This many more were applied.
    Applied(u64),
    /// The build entered a step.
    Step(&'static str),
}

/// Told each [`BuildEvent`] (a progress bar, or nothing).
pub type Observer<'a> = &'a (dyn Fn(BuildEvent) + Send + Sync);

/// How far a projection is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// Up to the checkpoint of the live projection, which keeps its checkpoint and marks.
    FollowLive,
    /// As far as the log goes; the checkpoint and any stuck mark are the build's.
    End,
}

/// A projection being built, and where it stands in the log.
pub(super) struct Building {
    pub projection: &'static Projection,
    pub target: Target,
    pub checkpoint: LogPoint,
    /// The last event to apply, when following the live projection.
    stop: Option<LogPoint>,
    pub stuck: Option<Stuck>,
    done: bool,
}

/// A session holding the build lock for as long as it lives. Its own connection, so that
/// the lock goes with it whatever happens.
pub(super) struct BuildLock {
    _conn: PgConnection,
}

impl BuildLock {
    /// Waits until no other build runs.
    pub async fn acquire(pool: &PgPool) -> anyhow::Result<Self> {
        let mut conn = dedicated(pool).await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(BUILD_LOCK_KEY)
            .execute(&mut conn)
            .await
            .context("waiting for another rebuild to finish")?;
        Ok(Self { _conn: conn })
    }
}

/// A connection of its own, outside the pool: session locks on it end with it.
pub(super) async fn dedicated(pool: &PgPool) -> anyhow::Result<PgConnection> {
    PgConnection::connect_with(pool.connect_options().as_ref())
        .await
        .context("opening a connection")
}

/// The live projection checkpoints, by name.
async fn live_checkpoints(conn: &mut PgConnection) -> anyhow::Result<Vec<(String, LogPoint)>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT name, last_xid::text::bigint, last_position FROM public.projection_checkpoints",
    )
    .fetch_all(conn)
    .await
    .context("reading the projection checkpoints")?;
    Ok(rows
        .into_iter()
        .map(|(name, xid, position)| (name, LogPoint { xid, position }))
        .collect())
}

/// A build in the scratch schema, on a connection of its own.
pub(super) struct Builder<'a> {
    pool: PgPool,
    conn: PgConnection,
    pub building: Vec<Building>,
    options: BuildOptions,
    observer: Observer<'a>,
    /// Events applied so far.
    pub applied: u64,
}

impl<'a> Builder<'a> {
    /// Creates the scratch tables of the projections; the caller holds the build lock.
    pub async fn start(
        pool: &PgPool,
        _lock: &BuildLock,
        plans: &[(&'static Projection, Target)],
        options: &BuildOptions,
        observer: Observer<'a>,
    ) -> anyhow::Result<Self> {
        let mut conn = dedicated(pool).await?;
        let projections: Vec<&'static Projection> = plans.iter().map(|(p, _)| *p).collect();
        observer(BuildEvent::Step("creating the scratch tables"));
        scratch::create(&mut conn, &projections).await?;
        let building = plans
            .iter()
            .map(|(projection, target)| Building {
                projection,
                target: *target,
                checkpoint: LogPoint::default(),
                stop: None,
                stuck: None,
                done: false,
            })
            .collect();
        Ok(Self {
            pool: pool.clone(),
            conn,
            building,
            options: options.clone(),
            observer,
            applied: 0,
        })
    }

    /// Builds up to the live checkpoints (or the end of the log), creates the remaining
    /// indexes and catches up with the live projector until little is left.
    pub async fn bulk(&mut self) -> anyhow::Result<()> {
        self.follow_live(None).await?;
        let total = self.remaining().await?;
        (self.observer)(BuildEvent::Total(total));
        (self.observer)(BuildEvent::Step("applying the log"));
        self.run().await?;
        (self.observer)(BuildEvent::Step("creating indexes"));
        let projections: Vec<&'static Projection> =
            self.building.iter().map(|b| b.projection).collect();
        scratch::finish(&mut self.conn, &projections).await?;
        (self.observer)(BuildEvent::Step("catching up"));
        for _ in 0..CATCH_UP_ROUNDS {
            self.follow_live(None).await?;
            let before = self.applied;
            self.run().await?;
            if self.applied - before < SMALL_GAP {
                break;
            }
        }
        Ok(())
    }

    /// Applies the last events while `locked` holds the projector's lock: afterwards every
    /// projection that follows the live one stands at its checkpoint.
    pub async fn last(&mut self, locked: &mut PgConnection) -> anyhow::Result<()> {
        (self.observer)(BuildEvent::Step("applying the last events"));
        self.follow_live(Some(locked)).await?;
        self.run().await
    }

    /// Sets the stop of each projection that follows the live one to its live checkpoint.
    async fn follow_live(&mut self, conn: Option<&mut PgConnection>) -> anyhow::Result<()> {
        let live = live_checkpoints(conn.unwrap_or(&mut self.conn)).await?;
        for building in &mut self.building {
            match building.target {
                Target::FollowLive => {
                    let stop = live
                        .iter()
                        .find(|(name, _)| name == building.projection.name)
                        .map(|(_, point)| *point)
                        .with_context(|| {
                            format!("{} has no live checkpoint", building.projection.name)
                        })?;
                    building.stop = Some(stop);
                    building.done = building.stuck.is_some() || building.checkpoint >= stop;
                }
                Target::End => {
                    building.done = building.stuck.is_some();
                }
            }
        }
        Ok(())
    }

    /// About how many events of the projections' aggregate types are left to apply.
    async fn remaining(&mut self) -> anyhow::Result<u64> {
        let types: Vec<&str> = self
            .building
            .iter()
            .flat_map(|b| b.projection.aggregate_types.iter().copied())
            .collect();
        let from = self
            .building
            .iter()
            .map(|b| b.checkpoint)
            .min()
            .unwrap_or_default();
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM public.events WHERE aggregate_type = ANY($1) \
             AND (transaction_id, position) > ($2::text::xid8, $3)",
        )
        .bind(&types)
        .bind(from.xid.to_string())
        .bind(from.position)
        .fetch_one(&mut self.conn)
        .await
        .context("counting the events to apply")?;
        Ok(count.max(0) as u64)
    }

    /// Applies batches until every projection reached its stop or the end of the log. The
    /// log is read a batch ahead of the writes, on a connection of its own.
    async fn run(&mut self) -> anyhow::Result<()> {
        let active = self.building.iter().filter(|b| !b.done);
        let Some(from) = active.clone().map(|b| b.checkpoint).min() else {
            return Ok(());
        };
        let until = active
            .map(|b| b.stop)
            .collect::<Option<Vec<LogPoint>>>()
            .and_then(|stops| stops.into_iter().max());
        let (sender, mut batches) = mpsc::channel(2);
        let reader = tokio::spawn(read_ahead(
            self.pool.clone(),
            from,
            self.options.batch,
            until,
            sender,
        ));
        let result = async {
            while let Some(events) = batches.recv().await {
                if !self.apply(&events?).await? {
                    break;
                }
            }
            anyhow::Ok(())
        }
        .await;
        reader.abort();
        for building in &mut self.building {
            building.done = true;
        }
        result
    }

    /// Applies one batch read from the log; `false` once every projection is done.
    async fn apply(&mut self, events: &[StoredEvent]) -> anyhow::Result<bool> {
        let active: Vec<usize> = (0..self.building.len())
            .filter(|&i| !self.building[i].done)
            .collect();
        if active.is_empty() {
            return Ok(false);
        }
        let cursors: Vec<Cursor> = active
            .iter()
            .map(|&i| Cursor {
                projection: self.building[i].projection,
                checkpoint: self.building[i].checkpoint,
                stop: self.building[i].stop,
            })
            .collect();
        let mut tx = self.conn.begin().await?;
        sqlx::query(
            "SELECT set_config('synchronous_commit', 'off', true), \
             set_config('search_path', $1, true)",
        )
        .bind(search_path(SCRATCH_SCHEMA))
        .execute(&mut *tx)
        .await?;
        let outcomes = batch::apply_shares(&mut tx, &cursors, events).await?;
        tx.commit().await?;

        let applied = events
            .iter()
            .filter(|e| {
                cursors.iter().any(|c| {
                    c.projection.concerns(e)
                        && e.point() > c.checkpoint
                        && c.stop.is_none_or(|stop| e.point() <= stop)
                })
            })
            .count() as u64;
        self.applied += applied;
        (self.observer)(BuildEvent::Applied(applied));
        let exhausted = (events.len() as i64) < self.options.batch;
        for (&i, outcome) in active.iter().zip(outcomes) {
            let building = &mut self.building[i];
            match outcome {
                Outcome::Idle => {}
                Outcome::Advanced(point) => building.checkpoint = point,
                Outcome::Stuck(stuck) => {
                    building.checkpoint = stuck.before;
                    building.stuck = Some(stuck);
                }
            }
            building.done = building.stuck.is_some()
                || exhausted
                || building
                    .stop
                    .is_some_and(|stop| building.checkpoint >= stop);
        }
        Ok(self.building.iter().any(|b| !b.done))
    }

    /// Drops the scratch schema.
    pub async fn discard(mut self) -> anyhow::Result<()> {
        scratch::drop(&mut self.conn).await
    }

    /// Replaces the live tables of the built projections by the scratch ones, and sets
    /// the checkpoints of those built to the end of the log, in one transaction on `locked`
    /// (which holds the projector's lock). Tables in `projection` that no projection creates
    /// any more are dropped too.
    pub async fn swap(mut self, locked: &mut PgConnection) -> anyhow::Result<()> {
        (self.observer)(BuildEvent::Step("swapping the tables in"));
        let mut attempt = 0;
        while !self.try_swap(locked, attempt < 25).await? {
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(20 * attempt.min(10) as u64)).await;
        }
        scratch::drop(&mut self.conn).await
    }

    /// One attempt at the swap; `false` when readers held a live table past the timeout.
    async fn try_swap(&self, conn: &mut PgConnection, bounded: bool) -> anyhow::Result<bool> {
        let mut tx = conn.begin().await?;
        if bounded {
            sqlx::query(&format!("SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'"))
                .execute(&mut *tx)
                .await?;
        }
        let present: Vec<String> = sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
        )
        .bind(LIVE_SCHEMA)
        .fetch_all(&mut *tx)
        .await?;
        let owned: Vec<&str> = PROJECTIONS.iter().flat_map(|p| p.tables()).collect();
        let replaced: Vec<&str> = self
            .building
            .iter()
            .flat_map(|b| b.projection.tables())
            .collect();
        let dropped: Vec<&String> = present
            .iter()
            .filter(|t| !owned.contains(&t.as_str()) || replaced.contains(&t.as_str()))
            .collect();
        let mut ddl = format!("CREATE SCHEMA IF NOT EXISTS {LIVE_SCHEMA};\n");
        if !dropped.is_empty() {
            let list: Vec<String> = dropped
                .iter()
                .map(|t| format!("{LIVE_SCHEMA}.\"{t}\""))
                .collect();
            ddl.push_str(&format!(
                "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE;\nDROP TABLE {} CASCADE;\n",
                list.join(", "),
                list.join(", ")
            ));
        }
        for table in &replaced {
            ddl.push_str(&format!(
                "ALTER TABLE {SCRATCH_SCHEMA}.{table} SET SCHEMA {LIVE_SCHEMA};\n"
            ));
        }
        match sqlx::raw_sql(&ddl).execute(&mut *tx).await {
            Ok(_) => {}
            Err(sqlx::Error::Database(db)) if bounded && db.code().as_deref() == Some("55P03") => {
                tx.rollback().await?;
                tracing::debug!("readers hold the live tables; trying the swap again");
                return Ok(false);
            }
            Err(error) => return Err(error).context("swapping the rebuilt tables in"),
        }
        let names: Vec<&str> = PROJECTIONS.iter().map(|p| p.name).collect();
        sqlx::query("DELETE FROM public.projection_checkpoints WHERE name <> ALL($1)")
            .bind(&names)
            .execute(&mut *tx)
            .await?;
        for building in &self.building {
            self.record(&mut tx, building).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Writes a swapped projection's checkpoint row: its schema, and for a projection built
    /// to the end of the log, where the build stopped and why.
    async fn record(&self, conn: &mut PgConnection, building: &Building) -> anyhow::Result<()> {
        let projection = building.projection;
        sqlx::query(
            "INSERT INTO public.projection_checkpoints (name, last_xid, last_position, \
             schema_hash) VALUES ($1, $2::text::xid8, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET schema_hash = EXCLUDED.schema_hash, \
             updated_at = now()",
        )
        .bind(projection.name)
        .bind(building.checkpoint.xid.to_string())
        .bind(building.checkpoint.position)
        .bind(projection.schema_hash())
        .execute(&mut *conn)
        .await
        .with_context(|| format!("recording the rebuild of {}", projection.name))?;
        if building.target == Target::End {
            sqlx::query(
                "UPDATE public.projection_checkpoints SET stuck_position = NULL, \
                 stuck_error = NULL, stuck_at = NULL WHERE name = $1",
            )
            .bind(projection.name)
            .execute(&mut *conn)
            .await?;
            batch::set_checkpoint(conn, projection, building.checkpoint).await?;
            if let Some(stuck) = &building.stuck {
                batch::mark_stuck(conn, projection, stuck).await?;
            }
        }
        Ok(())
    }
}

/// Reads the log batch after batch from `from` into `batches`, until the log runs dry (for
/// now) or a batch reaches `until`.
async fn read_ahead(
    pool: PgPool,
    mut from: LogPoint,
    batch: i64,
    until: Option<LogPoint>,
    batches: mpsc::Sender<anyhow::Result<Vec<StoredEvent>>>,
) {
    loop {
        let events = match log::read_after(&pool, from, batch).await {
            Ok(events) => events,
            Err(error) => {
                let _ = batches
                    .send(Err(
                        anyhow::Error::new(error).context("reading the event log")
                    ))
                    .await;
                return;
            }
        };
        let last = events.last().map(StoredEvent::point);
        let more = (events.len() as i64) == batch;
        if batches.send(Ok(events)).await.is_err() {
            return;
        }
        match last {
            Some(last) if more && until.is_none_or(|until| last < until) => from = last,
            _ => return,
        }
    }
}

/// Takes the projector's lock on `conn` for the session: no live batch commits until
/// [`unlock`].
pub(super) async fn lock(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(conn)
        .await
        .context("waiting for the projector's lock")?;
    Ok(())
}

pub(super) async fn unlock(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(conn)
        .await?;
    Ok(())
}
