//! One projector batch: read the log once, from the lowest checkpoint of the projections
//! that are not stuck, and give each projection the events after its own checkpoint that
//! concern it.
//!
//! Each projection's share is applied inside a savepoint. When an event cannot be applied,
//! only that savepoint is rolled back: the events before it are applied again, the
//! projection's checkpoint stays just before it and the projection is marked stuck there.
//! The other projections advance and the batch commits. A stuck projection is passed over
//! by later batches, so no event after the stuck one is ever applied to it (none is skipped
//! silently) and the failure is not retried in a loop; the next start tries again.

use anyhow::Context;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use super::route::{Failure, Mode, apply_events};
use super::{LIVE_SCHEMA, LOCK_KEY, PROJECTIONS, Projection, search_path};
use crate::store::log::{self, LogPoint, StoredEvent};

/// Events read per batch.
pub(super) const BATCH: i64 = 500;

/// What a batch did.
pub(super) struct Batch {
    /// Events read from the log.
    pub read: usize,
    /// The lowest checkpoint of the projections that are not stuck: every event up to it
    /// is in every healthy read model. `None` when every projection is stuck.
    pub progress: Option<LogPoint>,
}

/// A projection that takes part in a batch, and where it stands.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cursor {
    pub projection: &'static Projection,
    pub checkpoint: LogPoint,
    /// The last event to apply; `None`: as far as the log goes.
    pub stop: Option<LogPoint>,
}

/// An event a projection could not apply.
#[derive(Debug)]
pub(super) struct Stuck {
    pub position: i64,
    pub event_type: String,
    pub aggregate: String,
    /// The projection's checkpoint: the event read just before the stuck one.
    pub before: LogPoint,
    pub error: anyhow::Error,
}

/// What a batch did to one projection.
#[derive(Debug)]
pub(super) enum Outcome {
    /// No event of the batch was for it.
    Idle,
    /// Every event up to this point is applied.
    Advanced(LogPoint),
    Stuck(Stuck),
}

pub(super) async fn apply_batch(pool: &PgPool) -> anyhow::Result<Batch> {
    let mut tx = pool.begin().await?;
    // The read models and their checkpoints commit together and can always be rebuilt
    // from the log, so this commit need not wait for the disk: a crash loses both the
    // rows and the checkpoints of the last batches, and the catch-up applies them again.
    // Other sessions see the commit at once either way.
    sqlx::query(
        "SELECT set_config('synchronous_commit', 'off', true), \
         set_config('search_path', $2, true), pg_advisory_xact_lock($1)",
    )
    .bind(LOCK_KEY)
    .bind(search_path(LIVE_SCHEMA))
    .execute(&mut *tx)
    .await?;
    let cursors = healthy_cursors(&mut tx).await?;
    let Some(from) = cursors.iter().map(|c| c.checkpoint).min() else {
        tx.commit().await?;
        return Ok(Batch {
            read: 0,
            progress: None,
        });
    };
    let events = log::read_after(&mut *tx, from, BATCH)
        .await
        .context("reading the event log")?;
    if events.is_empty() {
        tx.commit().await?;
        return Ok(Batch {
            read: 0,
            progress: Some(from),
        });
    }
    warn_unclaimed(&events, &cursors);

    let mut progress: Option<LogPoint> = None;
    let outcomes = apply_shares(&mut tx, &cursors, &events).await?;
    for (cursor, outcome) in cursors.iter().zip(outcomes) {
        match outcome {
            Outcome::Idle => {
                progress = Some(progress.map_or(cursor.checkpoint, |p| p.min(cursor.checkpoint)));
            }
            Outcome::Advanced(last) => {
                set_checkpoint(&mut tx, cursor.projection, last).await?;
                progress = Some(progress.map_or(last, |p| p.min(last)));
            }
            Outcome::Stuck(stuck) => mark_stuck(&mut tx, cursor.projection, &stuck).await?,
        }
    }
    tx.commit().await?;
    Ok(Batch {
        read: events.len(),
        progress,
    })
}

/// Gives each cursor's projection the events of `events` after its checkpoint (and not
/// past its stop), each projection in a savepoint of its own.
pub(super) async fn apply_shares(
    conn: &mut PgConnection,
    cursors: &[Cursor],
    events: &[StoredEvent],
) -> anyhow::Result<Vec<Outcome>> {
    let mut outcomes = Vec::with_capacity(cursors.len());
    for cursor in cursors {
        let from = events.partition_point(|e| e.point() <= cursor.checkpoint);
        let to = match cursor.stop {
            Some(stop) => events.partition_point(|e| e.point() <= stop),
            None => events.len(),
        };
        if from >= to {
            outcomes.push(Outcome::Idle);
            continue;
        }
        let pending = &events[from..to];
        outcomes.push(match apply_share(conn, cursor, pending).await? {
            None => Outcome::Advanced(pending[pending.len() - 1].point()),
            Some(stuck) => Outcome::Stuck(stuck),
        });
    }
    Ok(outcomes)
}

/// The projections that are not stuck, with their checkpoints.
async fn healthy_cursors(tx: &mut Transaction<'_, Postgres>) -> anyhow::Result<Vec<Cursor>> {
    let rows: Vec<(String, i64, i64, bool)> = sqlx::query_as(
        "SELECT name, last_xid::text::bigint, last_position, stuck_position IS NOT NULL \
         FROM public.projection_checkpoints",
    )
    .fetch_all(&mut **tx)
    .await
    .context("reading the projection checkpoints")?;
    let mut cursors = Vec::new();
    for projection in PROJECTIONS {
        let (_, xid, position, stuck) = rows
            .iter()
            .find(|row| row.0 == projection.name)
            .with_context(|| {
                format!(
                    "the read models have not been created (no checkpoint row for {})",
                    projection.name
                )
            })?;
        if !stuck {
            cursors.push(Cursor {
                projection,
                checkpoint: LogPoint {
                    xid: *xid,
                    position: *position,
                },
                stop: None,
            });
        }
    }
    Ok(cursors)
}

/// Events that no projection takes (for example from a newer version of the ledger), told
/// once: when they are read for the first time.
fn warn_unclaimed(events: &[StoredEvent], cursors: &[Cursor]) {
    let newest = cursors
        .iter()
        .map(|c| c.checkpoint)
        .max()
        .unwrap_or_default();
    for event in events.iter().filter(|e| e.point() > newest) {
        if !PROJECTIONS.iter().any(|p| p.concerns(event)) {
            tracing::warn!(
                aggregate_type = %event.aggregate_type,
                position = event.position,
                "no read model for this aggregate type"
            );
        }
    }
}

/// Applies the events of `pending` that concern the cursor's projection inside a
/// savepoint. After a failure the savepoint is rolled back and the events before the
/// failing one are applied again, until a prefix applies cleanly.
async fn apply_share(
    conn: &mut PgConnection,
    cursor: &Cursor,
    pending: &[StoredEvent],
) -> anyhow::Result<Option<Stuck>> {
    if !pending.iter().any(|e| cursor.projection.concerns(e)) {
        return Ok(None);
    }
    let mut end = pending.len();
    let mut stuck = None;
    let mut mode = Mode::Batched;
    while end > 0 {
        // Inside a transaction, `begin` opens a savepoint.
        let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
        let failure =
            match apply_events(&mut savepoint, cursor.projection, &pending[..end], mode).await {
                Ok(()) => {
                    savepoint.commit().await?;
                    break;
                }
                Err(failure) => failure,
            };
        savepoint
            .rollback()
            .await
            .context("rolling back a projection's share of a batch")?;
        match failure {
            Failure::Unplaced(error) => {
                if is_infrastructure(&error) {
                    return Err(error);
                }
                mode = Mode::RunByRun;
            }
            Failure::At(index, error) => {
                if is_infrastructure(&error) {
                    return Err(error);
                }
                let event = &pending[index];
                let error = error.context(format!(
                    "projecting {} ({} {} #{}) into {}",
                    event.event_type,
                    event.aggregate_type,
                    event.aggregate_id,
                    event.sequence,
                    cursor.projection.name
                ));
                let before = match index {
                    0 => cursor.checkpoint,
                    _ => pending[index - 1].point(),
                };
                stuck = Some(Stuck {
                    position: event.position,
                    event_type: event.event_type.clone(),
                    aggregate: format!("{} {}", event.aggregate_type, event.aggregate_id),
                    before,
                    error,
                });
                end = index;
            }
        }
    }
    Ok(stuck)
}

/// Whether an error says the database or the connection failed rather than this event:
/// then the whole batch fails and is tried again, and nothing is marked stuck.
fn is_infrastructure(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .any(|err| match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // Connection exceptions, rollbacks (deadlocks, serialization), resources,
            // operator intervention and system errors.
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|code| ["08", "40", "53", "57", "58"].contains(&&code[..2])),
            _ => false,
        })
}

pub(super) async fn set_checkpoint(
    tx: &mut PgConnection,
    projection: &Projection,
    point: LogPoint,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE public.projection_checkpoints SET last_xid = $2::text::xid8, last_position = $3, \
         updated_at = now() WHERE name = $1",
    )
    .bind(projection.name)
    .bind(point.xid.to_string())
    .bind(point.position)
    .execute(&mut *tx)
    .await
    .with_context(|| format!("writing the checkpoint of {}", projection.name))?;
    Ok(())
}

pub(super) async fn mark_stuck(
    tx: &mut PgConnection,
    projection: &Projection,
    stuck: &Stuck,
) -> anyhow::Result<()> {
    let error = format!("{:#}", stuck.error);
    tracing::error!(
        projection = projection.name,
        position = stuck.position,
        event_type = %stuck.event_type,
        aggregate = %stuck.aggregate,
        error = %error,
        "a projection is stuck: an event cannot be applied, later events wait behind it"
    );
    set_checkpoint(tx, projection, stuck.before).await?;
    sqlx::query(
        "UPDATE public.projection_checkpoints SET stuck_position = $2, stuck_error = $3, \
         stuck_at = now() WHERE name = $1",
    )
    .bind(projection.name)
    .bind(stuck.position)
    .bind(error)
    .execute(&mut *tx)
    .await
    .with_context(|| format!("marking {} stuck", projection.name))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_is_an_infrastructure_error() {
        let error = anyhow::Error::new(sqlx::Error::PoolTimedOut).context("projecting");
        assert!(is_infrastructure(&error));
    }

    #[test]
    fn an_event_that_does_not_decode_is_not_an_infrastructure_error() {
        let error = anyhow::anyhow!("invalid type: integer `42`, expected a string")
            .context("decoding OrderApprovedByConsumer v1 of order");
        assert!(!is_infrastructure(&error));
    }
}
