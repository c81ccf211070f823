//! Reading the global event log in an order that never skips a late commit.
//!
//! Positions come from a sequence, so a transaction that started earlier can commit an event
//! with a *lower* position after a later one is already visible. Followers therefore read in
//! `(transaction_id, position)` order and only events whose writing transaction is older than
//! the oldest transaction still in flight (`pg_current_snapshot()`, less the transactions of
//! other databases): every event that can still appear sorts after everything already read.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, PgExecutor};

/// A point in the log: the writing transaction and the event's global position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogPoint {
    pub xid: i64,
    pub position: i64,
}

/// One event row as stored, with its place in the global log.
#[derive(Debug, Clone, FromRow)]
pub struct StoredEvent {
    pub position: i64,
    pub xid: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
}

impl StoredEvent {
    pub fn point(&self) -> LogPoint {
        LogPoint {
            xid: self.xid,
            position: self.position,
        }
    }

    /// A metadata value as text (empty when absent).
    pub fn meta(&self, key: &str) -> &str {
        self.metadata.get(key).and_then(Value::as_str).unwrap_or("")
    }
}

const SELECT_COLUMNS: &str = "position, transaction_id::text::bigint AS xid, aggregate_type, \
     aggregate_id, sequence, event_type, event_version, payload, metadata, recorded_at";

/// The oldest transaction that may still commit events: the oldest one in flight, leaving
/// out those of sessions connected to other databases of the cluster (they cannot write
/// this database's log, and a long transaction there must not hold the projector back). A
/// transaction that cannot be placed in another database counts as possibly ours.
const HORIZON: &str = "(SELECT least(pg_snapshot_xmax(s), \
       (SELECT min(x) FROM pg_snapshot_xip(s) AS x \
        WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a \
                          WHERE a.backend_xid = xid(x) \
                            AND a.datname <> current_database()))) \
     FROM pg_current_snapshot() AS s)";

/// Up to `limit` events strictly after `after`, in follower order, that can no longer be
/// preceded by a commit still in flight.
pub async fn read_after<'e>(
    executor: impl PgExecutor<'e>,
    after: LogPoint,
    limit: i64,
) -> sqlx::Result<Vec<StoredEvent>> {
    let sql = format!(
        "SELECT {SELECT_COLUMNS} FROM events \
         WHERE (transaction_id, position) > ($1::text::xid8, $2) \
           AND transaction_id < {HORIZON} \
         ORDER BY transaction_id, position \
         LIMIT $3"
    );
    sqlx::query_as::<_, StoredEvent>(&sql)
        .bind(after.xid.to_string())
        .bind(after.position)
        .bind(limit)
        .fetch_all(executor)
        .await
}

/// The log point of the newest event of one aggregate, if it has any.
pub async fn last_point_of<'e>(
    executor: impl PgExecutor<'e>,
    aggregate_type: &str,
    aggregate_id: &str,
) -> sqlx::Result<Option<LogPoint>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, position FROM events \
         WHERE aggregate_type = $1 AND aggregate_id = $2 \
         ORDER BY sequence DESC LIMIT 1",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|(xid, position)| LogPoint { xid, position }))
}

/// Every event of one aggregate in sequence order (history views, audits, tests).
pub async fn aggregate_events<'e>(
    executor: impl PgExecutor<'e>,
    aggregate_type: &str,
    aggregate_id: &str,
) -> sqlx::Result<Vec<StoredEvent>> {
    let sql = format!(
        "SELECT {SELECT_COLUMNS} FROM events \
         WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"
    );
    sqlx::query_as::<_, StoredEvent>(&sql)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_all(executor)
        .await
}

/// Every event of one aggregate type recorded at or before `until`, by aggregate and
/// sequence (point-in-time views of a whole list).
pub async fn events_of_type_until<'e>(
    executor: impl PgExecutor<'e>,
    aggregate_type: &str,
    until: DateTime<Utc>,
) -> sqlx::Result<Vec<StoredEvent>> {
    let sql = format!(
        "SELECT {SELECT_COLUMNS} FROM events WHERE aggregate_type = $1 AND recorded_at <= $2 \
         ORDER BY aggregate_id, sequence"
    );
    sqlx::query_as::<_, StoredEvent>(&sql)
        .bind(aggregate_type)
        .bind(until)
        .fetch_all(executor)
        .await
}

/// Up to `limit` events after the event at position `after` (0: from the start), in the
/// order a log follower reads them (see [`read_after`]): the page never passes an event a
/// transaction still in flight may yet commit. An unknown `after` reads from the start.
pub async fn page_after<'e, E: PgExecutor<'e> + Copy>(
    executor: E,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<StoredEvent>> {
    let point: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, position FROM events WHERE position = $1",
    )
    .bind(after)
    .fetch_optional(executor)
    .await?;
    let from = point
        .map(|(xid, position)| LogPoint { xid, position })
        .unwrap_or(LogPoint {
            xid: 0,
            position: 0,
        });
    read_after(executor, from, limit).await
}

/// Every event of the aggregates with this id, of any type, by position.
pub async fn events_of_id<'e>(
    executor: impl PgExecutor<'e>,
    aggregate_id: &str,
) -> sqlx::Result<Vec<StoredEvent>> {
    let sql =
        format!("SELECT {SELECT_COLUMNS} FROM events WHERE aggregate_id = $1 ORDER BY position");
    sqlx::query_as::<_, StoredEvent>(&sql)
        .bind(aggregate_id)
        .fetch_all(executor)
        .await
}

/// Whether the log holds any event at all.
pub async fn is_empty<'e>(executor: impl PgExecutor<'e>) -> sqlx::Result<bool> {
    let any: Option<i32> = sqlx::query_scalar("SELECT 1 FROM events LIMIT 1")
        .fetch_optional(executor)
        .await?;
    Ok(any.is_none())
}
