//! Two aggregates changed as one: an order and its resource. Both commands are decided
//! against fresh state and all their events commit in one transaction, so a crash can never
//! leave an order moved and its resource behind (or a resource created for an order that was
//! never placed).
//!
//! The rows are written by the codec as the framework's are (same columns, serialization and
//! hash chain), and a concurrent writer on either aggregate collides on the table's key
//! exactly as it does with the framework: the pair is then decided again, a few times,
//! before the conflict is reported.

use std::collections::HashMap;

use anyhow::Context;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::store::codec::canonical::EventRow;
use crate::store::codec::{self, CodecError, write};
use crate::store::commands::CONFLICT_RETRIES;
use crate::store::log::LogPoint;

/// Why a pair of commands did not commit.
#[derive(Debug, thiserror::Error)]
pub enum PairError<E1: std::error::Error, E2: std::error::Error> {
    #[error(transparent)]
    First(E1),
    #[error(transparent)]
    Second(E2),
    #[error("another command changed one of the aggregates at the same time")]
    Conflict,
    /// An event the log could not give back as written (see [`crate::store::codec`]).
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// One aggregate loaded from its events, with the sequence of the last one.
struct Loaded<A> {
    aggregate: A,
    sequence: i64,
}

/// Loads one aggregate as the framework does, through the codec's upcasters.
async fn load<A: Aggregate>(conn: &mut PgConnection, id: &str) -> anyhow::Result<Loaded<A>> {
    let rows: Vec<(i64, String, String, Value, Value)> = sqlx::query_as(
        "SELECT sequence, event_type, event_version, payload, metadata FROM events \
         WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
    )
    .bind(A::TYPE)
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .with_context(|| format!("loading the events of {} {id}", A::TYPE))?;
    let mut loaded = Loaded {
        aggregate: A::default(),
        sequence: 0,
    };
    for (sequence, event_type, event_version, payload, metadata) in rows {
        let event: A::Event = codec::decode(&event_type, &event_version, payload, &metadata)
            .with_context(|| format!("decoding event {sequence} of {} {id}", A::TYPE))?;
        loaded.aggregate.apply(event);
        loaded.sequence = sequence;
    }
    Ok(loaded)
}

async fn decide<A: Aggregate<Services = ()>>(
    aggregate: &mut A,
    command: A::Command,
) -> Result<Vec<A::Event>, A::Error> {
    let sink = EventSink::default();
    aggregate.handle(command, &(), &sink).await?;
    Ok(sink.collect().await)
}

/// What appending did: the log point of the last event written, or a lost race.
enum Appended {
    Written(Option<LogPoint>),
    Conflict,
}

/// Appends `events` after `sequence`.
async fn append<A: Aggregate, E1: std::error::Error, E2: std::error::Error>(
    conn: &mut PgConnection,
    id: &str,
    sequence: i64,
    events: &[A::Event],
    metadata: &Value,
) -> Result<Appended, PairError<E1, E2>> {
    let payloads = events
        .iter()
        .map(codec::encode)
        .collect::<Result<Vec<_>, _>>()?;
    let types: Vec<(String, String)> = events
        .iter()
        .map(|event| (event.event_type(), event.event_version()))
        .collect();
    let rows: Vec<EventRow<'_>> = payloads
        .iter()
        .zip(&types)
        .enumerate()
        .map(
            |(offset, (payload, (event_type, event_version)))| EventRow {
                aggregate_type: A::TYPE,
                aggregate_id: id,
                sequence: sequence + 1 + offset as i64,
                event_type,
                event_version,
                payload,
                metadata,
            },
        )
        .collect();
    let last = match write::append(conn, &rows).await {
        Ok(last) => last,
        // Another writer took the sequence number (or, writing the same two aggregates in
        // the other order, was chosen by PostgreSQL to go first): decide again.
        Err(e) if write::is_conflict(&e) || is_deadlock(&e) => return Ok(Appended::Conflict),
        Err(e) => {
            let err = anyhow::Error::new(e).context(format!("appending to {} {id}", A::TYPE));
            return Err(PairError::Store(err));
        }
    };
    Ok(Appended::Written(last))
}

fn is_deadlock(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.code().as_deref() == Some("40P01"))
}

/// Runs `first` on aggregate `first_id`, then the command `then` derives from the first
/// aggregate's new state and events (none: only the first changes) on `second_id`, and
/// commits every event of both in one transaction. Returns the log point of the last event
/// written (none when neither command changed anything).
pub async fn execute_pair<A, B>(
    pool: &PgPool,
    (first_id, first): (&str, A::Command),
    second_id: &str,
    then: impl Fn(&A, &[A::Event]) -> Option<B::Command>,
    metadata: &HashMap<String, String>,
) -> Result<Option<LogPoint>, PairError<A::Error, B::Error>>
where
    A: Aggregate<Services = ()>,
    A::Command: Clone,
    B: Aggregate<Services = ()>,
{
    let metadata = serde_json::to_value(metadata).context("serializing event metadata")?;
    for attempt in 1..=CONFLICT_RETRIES + 1 {
        let mut tx = pool.begin().await.context("beginning a transaction")?;
        let mut a = load::<A>(&mut tx, first_id).await?;
        let first_events = decide(&mut a.aggregate, first.clone())
            .await
            .map_err(PairError::First)?;
        let second = then(&a.aggregate, &first_events);
        let mut outcome = append::<A, A::Error, B::Error>(
            &mut tx,
            first_id,
            a.sequence,
            &first_events,
            &metadata,
        )
        .await?;
        if let (Appended::Written(first_point), Some(command)) = (&outcome, second) {
            let first_point = *first_point;
            let mut b = load::<B>(&mut tx, second_id).await?;
            let second_events = decide(&mut b.aggregate, command)
                .await
                .map_err(PairError::Second)?;
            outcome = match append::<B, A::Error, B::Error>(
                &mut tx,
                second_id,
                b.sequence,
                &second_events,
                &metadata,
            )
            .await?
            {
                Appended::Written(point) => Appended::Written(point.or(first_point)),
                Appended::Conflict => Appended::Conflict,
            };
        }
        if let Appended::Written(point) = outcome {
            tx.commit().await.context("committing a pair of commands")?;
            return Ok(point);
        }
        // Dropping the transaction rolls back whatever half was written.
        drop(tx);
        tracing::debug!(
            first = A::TYPE,
            first_id,
            second = B::TYPE,
            second_id,
            attempt,
            "write conflict on a pair, retrying"
        );
        tokio::task::yield_now().await;
    }
    Err(PairError::Conflict)
}
