//! Where each projection stands: its checkpoint, and the event it is stuck at, if any.

use std::fmt;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::PROJECTIONS;
use crate::store::log::LogPoint;

/// One projection's progress through the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    pub name: &'static str,
    /// The last event this projection has applied or passed over.
    pub checkpoint: LogPoint,
    /// Events of its aggregate types in the log after its checkpoint (some may still be
    /// held back by transactions in flight).
    pub lag: u64,
    pub health: Health,
}

/// Whether a projection follows the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// An event could not be applied; later events wait behind it until the next start.
    Stuck(StuckAt),
    /// The read models have not been created yet (no checkpoint row).
    NotCreated,
}

/// The event a projection could not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckAt {
    pub position: i64,
    /// Empty when the event is no longer in the log.
    pub event_type: String,
    /// `type id`, for example `order 3f2a…`.
    pub aggregate: String,
    /// The error with its causes.
    pub error: String,
    pub since: DateTime<Utc>,
}

impl ProjectionStatus {
    pub fn is_stuck(&self) -> bool {
        matches!(self.health, Health::Stuck(_))
    }
}

impl fmt::Display for ProjectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<12} checkpoint {:<10} lag {:<8} ",
            self.name, self.checkpoint.position, self.lag
        )?;
        match &self.health {
            Health::Ok => write!(f, "ok"),
            Health::NotCreated => write!(f, "not created"),
            Health::Stuck(stuck) => write!(
                f,
                "stuck at position {} ({}, {}): {}",
                stuck.position, stuck.event_type, stuck.aggregate, stuck.error
            ),
        }
    }
}

type Row = (
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Reads every projection's checkpoint row, in the order of [`PROJECTIONS`].
pub(super) async fn read(pool: &PgPool) -> anyhow::Result<Vec<ProjectionStatus>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.name, c.last_xid::text::bigint, c.last_position, c.stuck_position, \
         c.stuck_error, c.stuck_at, e.event_type, e.aggregate_type, e.aggregate_id \
         FROM projection_checkpoints c LEFT JOIN events e ON e.position = c.stuck_position",
    )
    .fetch_all(pool)
    .await
    .context("reading the projection checkpoints")?;
    let mut statuses = Vec::with_capacity(PROJECTIONS.len());
    for projection in PROJECTIONS {
        let row = rows.iter().find(|row| row.0 == projection.name);
        let checkpoint = row.map_or(LogPoint::default(), |row| LogPoint {
            xid: row.1,
            position: row.2,
        });
        let lag: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE aggregate_type = ANY($1) \
             AND (transaction_id, position) > ($2::text::xid8, $3)",
        )
        .bind(projection.aggregate_types)
        .bind(checkpoint.xid.to_string())
        .bind(checkpoint.position)
        .fetch_one(pool)
        .await
        .with_context(|| format!("counting the events {} has not applied", projection.name))?;
        statuses.push(status(projection.name, row, checkpoint, lag.max(0) as u64));
    }
    Ok(statuses)
}

fn status(
    name: &'static str,
    row: Option<&Row>,
    checkpoint: LogPoint,
    lag: u64,
) -> ProjectionStatus {
    let Some(row) = row else {
        return ProjectionStatus {
            name,
            checkpoint,
            lag,
            health: Health::NotCreated,
        };
    };
    let (_, _, _, stuck_position, error, since, event_type, kind, id) = row.clone();
    let health = match stuck_position {
        None => Health::Ok,
        Some(stuck_position) => Health::Stuck(StuckAt {
            position: stuck_position,
            event_type: event_type.unwrap_or_default(),
            aggregate: format!("{} {}", kind.unwrap_or_default(), id.unwrap_or_default()),
            error: error.unwrap_or_default(),
            since: since.unwrap_or_default(),
        }),
    };
    ProjectionStatus {
        name,
        checkpoint,
        lag,
        health,
    }
}
