//! The digest of the ledger up to a position: how many events there are and the running
//! root over them in position order (see [`super`]).
//!
//! Positions come from a sequence, so a transaction still in flight may commit an event
//! below the newest position already visible. A digest therefore ends at a position no
//! commit can still land under: it takes `LOCK TABLE events IN SHARE MODE` for a moment,
//! which waits for every transaction that is appending and holds new appends back until
//! the highest position is read; every later append gets a higher position. Positions have
//! gaps (rolled-back appends), so a digest holds both the position and the count.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use super::{EMPTY_ROOT, next_root};
use crate::store::codec::canonical::{EventRow, event_hash};

/// How many events one read of the fold takes.
const BATCH: i64 = 20_000;

/// A digest of the whole ledger up to a position, as `/api/ledger/digest/` answers it and
/// an auditor keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// The last position it covers: every event at or below it.
    pub position: i64,
    /// How many events lie at or below `position`.
    pub event_count: i64,
    /// The running root after the last of them, 64 hex digits.
    pub root_hash: String,
    pub computed_at: DateTime<Utc>,
}

impl Digest {
    /// Whether `other` states the same ledger (when it was computed aside).
    pub fn same_ledger(&self, other: &Digest) -> bool {
        self.position == other.position
            && self.event_count == other.event_count
            && self.root_hash.eq_ignore_ascii_case(&other.root_hash)
    }
}

/// Why no digest was made.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("position {asked} lies beyond the end of the ledger ({end})")]
    BeyondEnd { asked: i64, end: i64 },
    #[error("a position cannot be negative")]
    Negative,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// The digest of the ledger now, or up to an earlier `position`.
pub async fn digest(pool: &PgPool, position: Option<i64>) -> Result<Digest, DigestError> {
    let end = stable_end(pool).await?;
    let through = match position {
        None => end,
        Some(asked) if asked < 0 => return Err(DigestError::Negative),
        Some(asked) if asked > end => return Err(DigestError::BeyondEnd { asked, end }),
        Some(asked) => asked,
    };
    let mut conn = pool.acquire().await.context("connecting for a digest")?;
    let running = fold(&mut conn, through, None, &mut |_| {})
        .await
        .with_context(|| format!("folding the ledger up to position {through}"))?;
    Ok(running.digest(through))
}

/// The highest position no transaction can still commit an event under.
async fn stable_end(pool: &PgPool) -> anyhow::Result<i64> {
    let mut tx = pool.begin().await.context("beginning a transaction")?;
    // Appends are short; a writer that holds the table longer fails the digest, not the
    // other way round.
    sqlx::query("SET LOCAL lock_timeout = '10s'")
        .execute(&mut *tx)
        .await?;
    sqlx::query("LOCK TABLE events IN SHARE MODE")
        .execute(&mut *tx)
        .await
        .context("waiting for appends in flight")?;
    let end: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
        .fetch_one(&mut *tx)
        .await
        .context("reading the end of the ledger")?;
    tx.commit().await.context("releasing the events table")?;
    Ok(end)
}

/// The running root and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Running {
    pub count: i64,
    pub root: [u8; 32],
}

impl Default for Running {
    fn default() -> Self {
        Self {
            count: 0,
            root: EMPTY_ROOT,
        }
    }
}

impl Running {
    fn push(&mut self, position: i64, event_hash: &[u8]) {
        self.count += 1;
        self.root = next_root(&self.root, position, event_hash);
    }

    pub fn digest(&self, position: i64) -> Digest {
        Digest {
            position,
            event_count: self.count,
            root_hash: hex::encode(self.root),
            computed_at: Utc::now(),
        }
    }
}

/// Folds the root over every event at or below `through`, in position order; when `mark`
/// is given, also returns the state at that position. `advanced` hears how many events
/// each batch folded.
pub(super) async fn fold(
    conn: &mut PgConnection,
    through: i64,
    mark: Option<i64>,
    advanced: &mut (dyn FnMut(u64) + Send),
) -> sqlx::Result<Running> {
    Ok(fold_marked(conn, through, mark, advanced).await?.0)
}

/// [`fold`], with the state at `mark` (the whole fold when there is none).
pub(super) async fn fold_marked(
    conn: &mut PgConnection,
    through: i64,
    mark: Option<i64>,
    advanced: &mut (dyn FnMut(u64) + Send),
) -> sqlx::Result<(Running, Running)> {
    let mut running = Running::default();
    let mut at_mark = None;
    let mut after = 0_i64;
    loop {
        let rows: Vec<(i64, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT position, hash FROM events WHERE position > $1 AND position <= $2 \
             ORDER BY position LIMIT $3",
        )
        .bind(after)
        .bind(through)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        let Some(&(last, _)) = rows.last() else {
            break;
        };
        for (position, hash) in &rows {
            if let Some(mark) = mark
                && at_mark.is_none()
                && *position > mark
            {
                at_mark = Some(running);
            }
            match hash {
                Some(hash) => running.push(*position, hash),
                None => running.push(*position, &unchained_hash(conn, *position).await?),
            }
        }
        advanced(rows.len() as u64);
        after = last;
    }
    Ok((running, at_mark.unwrap_or(running)))
}

/// What stands in the root for a row the ledger did not write (it has no hash): the hash
/// of its contents as the first of a chain, so the root still commits to it. The audit
/// reports such a row.
async fn unchained_hash(conn: &mut PgConnection, position: i64) -> sqlx::Result<Vec<u8>> {
    let (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata): (
        String,
        String,
        i64,
        String,
        String,
        Value,
        Value,
    ) = sqlx::query_as(
        "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
         metadata FROM events WHERE position = $1",
    )
    .bind(position)
    .fetch_one(conn)
    .await?;
    let row = EventRow {
        aggregate_type: &aggregate_type,
        aggregate_id: &aggregate_id,
        sequence,
        event_type: &event_type,
        event_version: &event_version,
        payload: &payload,
        metadata: &metadata,
    };
    Ok(event_hash(&row, None).to_vec())
}
