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
use sqlx::{PgPool, Postgres, Transaction};

use super::route::{RunFailure, apply_run};
use super::{LOCK_KEY, PROJECTIONS, Projection};
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

/// A projection that takes part in a batch, and where it stood when the batch began.
struct Cursor {
    projection: &'static Projection,
    checkpoint: LogPoint,
}

/// Why a projection's share of a batch stopped short.
struct Stuck<'e> {
    event: &'e StoredEvent,
    /// The projection's checkpoint: the event read just before the stuck one.
    before: LogPoint,
    error: anyhow::Error,
}

pub(super) async fn apply_batch(pool: &PgPool) -> anyhow::Result<Batch> {
    let mut tx = pool.begin().await?;
    // The read models and their checkpoints commit together and can always be rebuilt
    // from the log, so this commit need not wait for the disk: a crash loses both the
    // rows and the checkpoints of the last batches, and the catch-up applies them again.
    // Other sessions see the commit at once either way.
    sqlx::query("SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
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
    let Some(last) = events.last().map(StoredEvent::point) else {
        tx.commit().await?;
        return Ok(Batch {
            read: 0,
            progress: Some(from),
        });
    };
    warn_unclaimed(&events, &cursors);

    let mut progress: Option<LogPoint> = None;
    for cursor in &cursors {
        let pending = &events[events.partition_point(|e| e.point() <= cursor.checkpoint)..];
        if pending.is_empty() {
            progress = Some(progress.map_or(cursor.checkpoint, |p| p.min(cursor.checkpoint)));
            continue;
        }
        match apply_share(&mut tx, cursor, pending).await? {
            None => {
                set_checkpoint(&mut tx, cursor.projection, last).await?;
                progress = Some(progress.map_or(last, |p| p.min(last)));
            }
            Some(stuck) => mark_stuck(&mut tx, cursor.projection, stuck).await?,
        }
    }
    tx.commit().await?;
    Ok(Batch {
        read: events.len(),
        progress,
    })
}

/// The projections that are not stuck, with their checkpoints.
async fn healthy_cursors(tx: &mut Transaction<'_, Postgres>) -> anyhow::Result<Vec<Cursor>> {
    let rows: Vec<(String, i64, i64, bool)> = sqlx::query_as(
        "SELECT name, last_xid::text::bigint, last_position, stuck_position IS NOT NULL \
         FROM projection_checkpoints",
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
async fn apply_share<'e>(
    tx: &mut Transaction<'_, Postgres>,
    cursor: &Cursor,
    pending: &'e [StoredEvent],
) -> anyhow::Result<Option<Stuck<'e>>> {
    if !pending.iter().any(|e| cursor.projection.concerns(e)) {
        return Ok(None);
    }
    let mut end = pending.len();
    let mut stuck = None;
    while end > 0 {
        // Inside a transaction, `begin` opens a savepoint.
        let mut savepoint = sqlx::Connection::begin(&mut **tx).await?;
        match apply_events(&mut savepoint, cursor.projection, &pending[..end]).await {
            Ok(()) => {
                savepoint.commit().await?;
                break;
            }
            Err((index, error)) => {
                savepoint
                    .rollback()
                    .await
                    .context("rolling back a projection's share of a batch")?;
                if is_infrastructure(&error) {
                    return Err(error);
                }
                let before = match index {
                    0 => cursor.checkpoint,
                    _ => pending[index - 1].point(),
                };
                stuck = Some(Stuck {
                    event: &pending[index],
                    before,
                    error,
                });
                end = index;
            }
        }
    }
    Ok(stuck)
}

/// Applies the events that concern `projection`, consecutive events of one aggregate as a
/// run. A failure carries the index in `events` of the event that could not be applied.
async fn apply_events(
    conn: &mut sqlx::PgConnection,
    projection: &Projection,
    events: &[StoredEvent],
) -> Result<(), (usize, anyhow::Error)> {
    let ours: Vec<(usize, &StoredEvent)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| projection.concerns(e))
        .collect();
    for run in ours.chunk_by(|(_, a), (_, b)| {
        a.aggregate_type == b.aggregate_type && a.aggregate_id == b.aggregate_id
    }) {
        let stored: Vec<&StoredEvent> = run.iter().map(|(_, e)| *e).collect();
        if let Err(RunFailure { offset, error }) = apply_run(conn, &stored).await {
            let (index, event) = run[offset];
            let error = error.context(format!(
                "projecting {} ({} {} #{}) into {}",
                event.event_type,
                event.aggregate_type,
                event.aggregate_id,
                event.sequence,
                projection.name
            ));
            return Err((index, error));
        }
    }
    Ok(())
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

async fn set_checkpoint(
    tx: &mut Transaction<'_, Postgres>,
    projection: &Projection,
    point: LogPoint,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE projection_checkpoints SET last_xid = $2::text::xid8, last_position = $3, \
         updated_at = now() WHERE name = $1",
    )
    .bind(projection.name)
    .bind(point.xid.to_string())
    .bind(point.position)
    .execute(&mut **tx)
    .await
    .with_context(|| format!("writing the checkpoint of {}", projection.name))?;
    Ok(())
}

async fn mark_stuck(
    tx: &mut Transaction<'_, Postgres>,
    projection: &Projection,
    stuck: Stuck<'_>,
) -> anyhow::Result<()> {
    let error = format!("{:#}", stuck.error);
    tracing::error!(
        projection = projection.name,
        position = stuck.event.position,
        event_type = %stuck.event.event_type,
        aggregate = %format_args!("{} {}", stuck.event.aggregate_type, stuck.event.aggregate_id),
        error = %error,
        "a projection is stuck: an event cannot be applied, later events wait behind it"
    );
    set_checkpoint(tx, projection, stuck.before).await?;
    sqlx::query(
        "UPDATE projection_checkpoints SET stuck_position = $2, stuck_error = $3, \
         stuck_at = now() WHERE name = $1",
    )
    .bind(projection.name)
    .bind(stuck.event.position)
    .bind(error)
    .execute(&mut **tx)
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
