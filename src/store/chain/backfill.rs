//! Chaining the events written before the chain existed.
//!
//! Migration `0006_event_chain.sql` recorded the highest position of that time
//! (`event_chain.legacy_through`). The first `ledger migrate` or start after it computes the
//! hashes of exactly those rows, aggregate by aggregate in sequence order, as the codec
//! would have written them, in one transaction that also stamps `backfilled_at`; it never
//! runs again. A row above that position without a hash stays without one: the ledger did
//! not write it, and the audit says so.

use anyhow::Context;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::store::codec::canonical::{EventRow, event_hash};

/// How many events one read of the backfill takes.
const BATCH: i64 = 5_000;

/// Chains the rows written before the chain existed, if that has not been done yet.
/// Returns how many rows got a hash.
pub async fn backfill(pool: &PgPool) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await.context("beginning the chain backfill")?;
    // Several processes may start at once: the row lock makes them take turns, and the
    // later ones find the work done.
    let state: Option<(i64, bool)> = sqlx::query_as(
        "SELECT legacy_through, backfilled_at IS NOT NULL FROM event_chain FOR UPDATE",
    )
    .fetch_optional(&mut *tx)
    .await
    .context("reading the chain's state")?;
    let Some((legacy_through, false)) = state else {
        return Ok(0);
    };
    tracing::info!(
        legacy_through,
        "chaining the events written before the chain"
    );
    let chained = chain_legacy_rows(&mut tx, legacy_through).await?;
    sqlx::query("UPDATE event_chain SET backfilled_at = now()")
        .execute(&mut *tx)
        .await
        .context("recording the chain backfill")?;
    tx.commit().await.context("committing the chain backfill")?;
    tracing::info!(chained, "chained the events written before the chain");
    Ok(chained)
}

#[derive(sqlx::FromRow)]
struct Legacy {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: Value,
    metadata: Value,
    hash: Option<Vec<u8>>,
}

async fn chain_legacy_rows(conn: &mut PgConnection, legacy_through: i64) -> anyhow::Result<u64> {
    let mut chained = 0;
    // The previous row's aggregate, sequence and hash.
    let mut previous: Option<(String, String, i64, Vec<u8>)> = None;
    let mut after = (String::new(), String::new(), -1_i64);
    loop {
        let rows: Vec<Legacy> = sqlx::query_as(
            "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, \
             payload, metadata, hash FROM events \
             WHERE position <= $1 AND (aggregate_type, aggregate_id, sequence) > ($2, $3, $4) \
             ORDER BY aggregate_type, aggregate_id, sequence LIMIT $5",
        )
        .bind(legacy_through)
        .bind(&after.0)
        .bind(&after.1)
        .bind(after.2)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await
        .context("reading events written before the chain")?;
        let Some(last) = rows.last() else {
            return Ok(chained);
        };
        after = (
            last.aggregate_type.clone(),
            last.aggregate_id.clone(),
            last.sequence,
        );
        let mut keys = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for row in rows {
            let chained_to = previous
                .as_ref()
                .filter(|(t, i, s, _)| {
                    *t == row.aggregate_type && *i == row.aggregate_id && *s == row.sequence - 1
                })
                .map(|(_, _, _, hash)| hash.as_slice());
            let hash = match row.hash {
                Some(hash) => hash,
                None => {
                    let event = EventRow {
                        aggregate_type: &row.aggregate_type,
                        aggregate_id: &row.aggregate_id,
                        sequence: row.sequence,
                        event_type: &row.event_type,
                        event_version: &row.event_version,
                        payload: &row.payload,
                        metadata: &row.metadata,
                    };
                    let hash = event_hash(&event, chained_to).to_vec();
                    keys.0.push(row.aggregate_type.clone());
                    keys.1.push(row.aggregate_id.clone());
                    keys.2.push(row.sequence);
                    keys.3.push(hash.clone());
                    hash
                }
            };
            previous = Some((row.aggregate_type, row.aggregate_id, row.sequence, hash));
        }
        let updated = sqlx::query(
            "UPDATE events SET hash = v.hash \
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[]) \
                  AS v(aggregate_type, aggregate_id, sequence, hash) \
             WHERE events.aggregate_type = v.aggregate_type \
               AND events.aggregate_id = v.aggregate_id \
               AND events.sequence = v.sequence AND events.hash IS NULL",
        )
        .bind(&keys.0)
        .bind(&keys.1)
        .bind(&keys.2)
        .bind(&keys.3)
        .execute(&mut *conn)
        .await
        .context("storing the hashes of events written before the chain")?;
        chained += updated.rows_affected();
    }
}
