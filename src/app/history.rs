//! What the log says about one object: its versions (its state after each event, with who
//! made the change and when), its state at a point in time, and its events as they were
//! recorded. Everything is folded from the events with the aggregate's own `apply`, so a
//! version is exactly what the ledger knew then.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::codec;
use crate::store::log::{self, StoredEvent};

/// The state of an object after one of its events.
#[derive(Debug, Clone)]
pub struct Version<S> {
    /// The event's position in the log: the version's id.
    pub position: i64,
    pub sequence: i64,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    /// The user who made the change (none for the system, the scheduler or a sync).
    pub actor: Option<Uuid>,
    /// The actor's name (`system`, `scheduler`, `sync` or a username).
    pub actor_name: String,
    pub state: S,
}

fn actor_of(event: &StoredEvent) -> Option<Uuid> {
    Uuid::parse_str(event.meta("actor_uuid")).ok()
}

/// Decodes one stored event of `A`.
fn decode<A: Aggregate>(event: &StoredEvent) -> anyhow::Result<A::Event> {
    codec::decode::<A::Event>(
        &event.event_type,
        &event.event_version,
        event.payload.clone(),
        &event.metadata,
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "decoding {} {} of {} {}: {e}",
            event.event_type,
            event.sequence,
            A::TYPE,
            event.aggregate_id
        )
    })
}

/// Every version of aggregate `id`, oldest first, each shown through `view` (a version
/// whose view equals the one before it is left out: it changed nothing that shows).
pub async fn versions<A: Aggregate>(
    pool: &PgPool,
    id: &str,
    view: impl Fn(&A) -> Value,
) -> anyhow::Result<Vec<Version<Value>>> {
    let events = log::aggregate_events(pool, A::TYPE, id).await?;
    let mut state = A::default();
    let mut versions: Vec<Version<Value>> = Vec::with_capacity(events.len());
    for event in &events {
        state.apply(decode::<A>(event)?);
        let shown = view(&state);
        if versions.last().is_some_and(|v| v.state == shown) {
            continue;
        }
        versions.push(Version {
            position: event.position,
            sequence: event.sequence,
            event_type: event.event_type.clone(),
            recorded_at: event.recorded_at,
            actor: actor_of(event),
            actor_name: event.meta("actor").to_string(),
            state: shown,
        });
    }
    Ok(versions)
}

/// Aggregate `id` as it was at `at` (its events recorded at or before then), or `None`
/// when it had no event yet.
pub async fn state_at<A: Aggregate>(
    pool: &PgPool,
    id: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<Option<A>> {
    let events = log::aggregate_events(pool, A::TYPE, id).await?;
    let mut state = A::default();
    let mut any = false;
    for event in events.iter().filter(|e| e.recorded_at <= at) {
        state.apply(decode::<A>(event)?);
        any = true;
    }
    Ok(any.then_some(state))
}

/// Every aggregate of `A` as it was at `at`, with the time of its first event, oldest
/// first: the events of that type recorded up to then, folded in one pass over the log.
pub async fn all_at<A: Aggregate>(
    pool: &PgPool,
    at: DateTime<Utc>,
) -> anyhow::Result<Vec<(String, DateTime<Utc>, A)>> {
    let events = log::events_of_type_until(pool, A::TYPE, at).await?;
    let mut states: Vec<(String, DateTime<Utc>, A)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for event in &events {
        let slot = *index.entry(event.aggregate_id.clone()).or_insert_with(|| {
            states.push((event.aggregate_id.clone(), event.recorded_at, A::default()));
            states.len() - 1
        });
        states[slot].2.apply(decode::<A>(event)?);
    }
    Ok(states)
}

/// The events of aggregate `id` in order.
pub async fn events<A: Aggregate>(pool: &PgPool, id: &str) -> sqlx::Result<Vec<StoredEvent>> {
    log::aggregate_events(pool, A::TYPE, id).await
}

/// Every event of every aggregate named by `uuid` (an order and nothing else, usually), in
/// the order they were recorded: what `ledger audit history` prints.
pub async fn timeline(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Vec<StoredEvent>> {
    let mut events = Vec::new();
    for id in [uuid.simple().to_string(), uuid.to_string()] {
        events.extend(log::events_of_id(pool, &id).await?);
    }
    events.sort_by_key(|e| e.position);
    Ok(events)
}

/// One event as a line of a readable timeline: when, which aggregate and sequence, what
/// happened, who did it, from where, and what the event says.
pub fn timeline_line(event: &StoredEvent) -> String {
    let payload = event
        .payload
        .as_object()
        .and_then(|o| o.values().next())
        .map(|v| v.to_string())
        .unwrap_or_else(|| event.payload.to_string());
    let request = event.meta("request_id");
    format!(
        "{}  {} #{}  {} v{}  by {} ({}{})  {}",
        event
            .recorded_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        event.aggregate_type,
        event.sequence,
        event.event_type,
        event.event_version,
        if event.meta("actor").is_empty() {
            "?"
        } else {
            event.meta("actor")
        },
        event.meta("source"),
        if request.is_empty() {
            String::new()
        } else {
            format!(", request {request}")
        },
        payload
    )
}
