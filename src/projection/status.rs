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
            "{:<10} checkpoint {:<10} ",
            self.name, self.checkpoint.position
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
    Ok(PROJECTIONS
        .iter()
        .map(|projection| {
            let Some(row) = rows.iter().find(|row| row.0 == projection.name) else {
                return ProjectionStatus {
                    name: projection.name,
                    checkpoint: LogPoint::default(),
                    health: Health::NotCreated,
                };
            };
            let (_, xid, position, stuck_position, error, since, event_type, kind, id) =
                row.clone();
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
                name: projection.name,
                checkpoint: LogPoint { xid, position },
                health,
            }
        })
        .collect())
}
