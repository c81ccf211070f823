//! Appending event rows: every event enters `events` here, whichever path wrote it (the
//! command framework through [`super::CheckedRepository`], a pair of aggregates through
//! [`crate::store::together`]), with the hash that chains it to the previous event of its
//! aggregate (see [`super::canonical`]).
//!
//! The rows are the ones postgres-es wrote before (same table, same columns, one `INSERT` per
//! event) plus `hash`, so two writers on one aggregate still collide on the table's key and
//! the loser gets a unique violation, which the callers answer as a write conflict.

use sqlx::PgConnection;

use super::canonical::{EventRow, Hash, event_hash};
use crate::store::log::LogPoint;

/// Appends consecutive events of one aggregate (in sequence order) and returns the log
/// point of the last one. Runs inside the caller's transaction.
pub async fn append(
    conn: &mut PgConnection,
    rows: &[EventRow<'_>],
) -> sqlx::Result<Option<LogPoint>> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    debug_assert!(rows.windows(2).all(|pair| {
        pair[1].sequence == pair[0].sequence + 1
            && pair[1].aggregate_type == pair[0].aggregate_type
            && pair[1].aggregate_id == pair[0].aggregate_id
    }));
    let mut previous = previous_hash(conn, first).await?;
    let mut last = None;
    for row in rows {
        let hash: Hash = event_hash(row, previous.as_deref());
        let (xid, position): (i64, i64) = sqlx::query_as(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING transaction_id::text::bigint, position",
        )
        .bind(row.aggregate_type)
        .bind(row.aggregate_id)
        .bind(row.sequence)
        .bind(row.event_type)
        .bind(row.event_version)
        .bind(row.payload)
        .bind(row.metadata)
        .bind(&hash[..])
        .fetch_one(&mut *conn)
        .await?;
        last = Some(LogPoint { xid, position });
        previous = Some(hash.to_vec());
    }
    Ok(last)
}

/// The hash of the event just before `row` in its aggregate: none for a first event, and
/// none when that event has no hash (a row written outside the ledger, which the audit
/// reports).
async fn previous_hash(
    conn: &mut PgConnection,
    row: &EventRow<'_>,
) -> sqlx::Result<Option<Vec<u8>>> {
    if row.sequence <= 1 {
        return Ok(None);
    }
    let hash: Option<Option<Vec<u8>>> = sqlx::query_scalar(
        "SELECT hash FROM events \
         WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3",
    )
    .bind(row.aggregate_type)
    .bind(row.aggregate_id)
    .bind(row.sequence - 1)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(hash.flatten())
}

/// Whether an append failed because another writer took the sequence number.
pub fn is_conflict(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}
