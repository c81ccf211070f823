//! The event codec: what an event becomes in the log, and the promise that it can always be
//! read back.
//!
//! An event is stored as `jsonb`, which is not the text serde_json wrote: PostgreSQL keeps
//! numbers as `numeric` and prints them without an exponent (`1e308` comes back as a
//! 309-digit integer), refuses `\u0000` in strings, and the reader parses with a nesting
//! limit. A payload that PostgreSQL accepts but the reader cannot parse would poison its
//! aggregate, every projection and every restart, so nothing is appended before
//! [`check`] has put it through the same transformation and decoded it back to the very
//! same event. Numbers are parsed with correct rounding (serde_json's `float_roundtrip`), so
//! every finite `f64` survives the trip, including those written before this check existed.
//!
//! The codec also writes the rows ([`write::append`]), each with the hash that chains it to
//! the previous event of its aggregate ([`canonical`]), and reads them: [`decode`] and the
//! framework's load path apply the same [`upcast`]ers to older event versions.
//!
//! [`CheckedRepository`] applies the check to every append the command framework makes and
//! writes its rows; [`crate::store::together`] calls [`encode`] and [`write::append`] for its
//! own appends.

pub mod canonical;
pub mod upcast;
pub mod write;

use cqrs_es::persist::{
    PersistedEventRepository, PersistedEventStore, PersistenceError, ReplayStream, SerializedEvent,
    SerializedSnapshot,
};
use cqrs_es::{Aggregate, CqrsFramework, DomainEvent};
use postgres_es::PostgresEventRepository;
use serde_json::{Map, Number, Value};
use sqlx::PgPool;

use canonical::EventRow;

/// Deeper than this, a payload is refused: the log reader parses with a nesting limit of
/// 128, and events wrap request data in a few levels of their own.
pub const MAX_DEPTH: usize = 100;

/// Why an event cannot be stored. Never names the value itself (it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("null character in a string at {path}")]
    NulCharacter { path: String },
    #[error("nesting deeper than {MAX_DEPTH} levels at {path}")]
    TooDeep { path: String },
    #[error("a number at {path} would not read back as written")]
    Number { path: String },
    #[error("{event_type} does not read back as itself: {reason}")]
    NotItself { event_type: String, reason: String },
}

/// Serializes an event and checks that the log gives it back unchanged.
pub fn encode<E: DomainEvent>(event: &E) -> Result<Value, CodecError> {
    let payload = serde_json::to_value(event).map_err(|err| CodecError::NotItself {
        event_type: event.event_type(),
        reason: err.to_string(),
    })?;
    check::<E>(&event.event_type(), &payload)?;
    Ok(payload)
}

/// Decodes a stored event into the current version of its type: older versions go through
/// the [`upcast`]ers first. `metadata` is the event's own (an upcaster may read it).
pub fn decode<E: DomainEvent>(
    event_type: &str,
    event_version: &str,
    payload: Value,
    metadata: &Value,
) -> serde_json::Result<E> {
    let stored = SerializedEvent::new(
        String::new(),
        0,
        String::new(),
        event_type.to_string(),
        event_version.to_string(),
        payload,
        metadata.clone(),
    );
    serde_json::from_value(upcast::upcast(stored).payload)
}

/// Checks that `payload`, once stored as jsonb and read back, decodes to an event that
/// serializes to the same stored form.
pub fn check<E: DomainEvent>(event_type: &str, payload: &Value) -> Result<(), CodecError> {
    let stored = as_stored(payload, "payload", 0)?;
    let not_itself = |reason: String| CodecError::NotItself {
        event_type: event_type.to_string(),
        reason,
    };
    let text = serde_json::to_string(&stored).map_err(|e| not_itself(e.to_string()))?;
    let reread: Value = serde_json::from_str(&text).map_err(|e| not_itself(e.to_string()))?;
    let event: E = serde_json::from_value(reread).map_err(|e| not_itself(e.to_string()))?;
    let again = serde_json::to_value(&event).map_err(|e| not_itself(e.to_string()))?;
    if as_stored(&again, "payload", 0)? != stored {
        return Err(not_itself(
            "the decoded event serializes differently".into(),
        ));
    }
    Ok(())
}

/// The value as PostgreSQL's jsonb gives it back: numbers printed in plain decimal notation
/// and parsed again; refuses what jsonb or the reader cannot hold.
fn as_stored(value: &Value, path: &str, depth: usize) -> Result<Value, CodecError> {
    let nested = |key: &dyn std::fmt::Display| format!("{path}.{key}");
    Ok(match value {
        Value::String(s) if s.contains('\0') => {
            return Err(CodecError::NulCharacter { path: path.into() });
        }
        Value::Number(n) => Value::Number(stored_number(n, path)?),
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => {
            return Err(CodecError::TooDeep { path: path.into() });
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| as_stored(item, &nested(&i), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, item) in map {
                if key.contains('\0') {
                    return Err(CodecError::NulCharacter { path: path.into() });
                }
                out.insert(key.clone(), as_stored(item, &nested(key), depth + 1)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// A number after a trip through `numeric`: integers are kept; a float is printed the way
/// PostgreSQL prints it (every digit, no exponent) and parsed again.
fn stored_number(n: &Number, path: &str) -> Result<Number, CodecError> {
    match n.as_f64() {
        Some(f) if n.is_f64() => format!("{f}")
            .parse::<Number>()
            .ok()
            .filter(|back| back.as_f64() == Some(f))
            .ok_or_else(|| CodecError::Number { path: path.into() }),
        _ => Ok(n.clone()),
    }
}

/// postgres-es's repository for reading; appends are checked by the codec and written by
/// [`write::append`], with their hashes.
pub struct CheckedRepository {
    reader: PostgresEventRepository,
    pool: PgPool,
}

impl CheckedRepository {
    pub fn new(pool: PgPool) -> Self {
        Self {
            reader: PostgresEventRepository::new(pool.clone()),
            pool,
        }
    }
}

/// A failed append as postgres-es reported it: a taken sequence number is a conflict
/// (cqrs-es's `AggregateConflict`, which commands retry), anything else is unexpected.
fn append_error(err: sqlx::Error) -> PersistenceError {
    if write::is_conflict(&err) {
        PersistenceError::OptimisticLockError
    } else if matches!(err, sqlx::Error::Io(_) | sqlx::Error::Tls(_)) {
        PersistenceError::ConnectionError(Box::new(err))
    } else {
        PersistenceError::UnknownError(Box::new(err))
    }
}

impl PersistedEventRepository for CheckedRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reader.get_events::<A>(aggregate_id).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reader
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.reader.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        if snapshot_update.is_some() {
            // The plain event store never asks for one (see the design rules).
            return Err(PersistenceError::UnknownError(
                "the ledger keeps no snapshots".into(),
            ));
        }
        for event in events {
            check::<A::Event>(&event.event_type, &event.payload)
                .map_err(|err| PersistenceError::UnknownError(Box::new(err)))?;
        }
        let rows: Vec<EventRow<'_>> = events
            .iter()
            .map(|event| EventRow {
                aggregate_type: A::TYPE,
                aggregate_id: &event.aggregate_id,
                sequence: event.sequence as i64,
                event_type: &event.event_type,
                event_version: &event.event_version,
                payload: &event.payload,
                metadata: &event.metadata,
            })
            .collect();
        let mut tx = self.pool.begin().await.map_err(append_error)?;
        write::append(&mut tx, &rows).await.map_err(append_error)?;
        tx.commit().await.map_err(append_error)?;
        Ok(())
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        self.reader.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.reader.stream_all_events::<A>().await
    }
}

/// The command framework of one aggregate, appending through the codec check.
pub type Framework<A> = CqrsFramework<A, PersistedEventStore<CheckedRepository, A>>;

/// The event store of one aggregate on `pool`: reads upcast, appends checked and chained.
pub fn event_store<A: Aggregate>(pool: PgPool) -> PersistedEventStore<CheckedRepository, A> {
    PersistedEventStore::new_event_store(CheckedRepository::new(pool))
        .with_upcasters(upcast::upcasters())
}

/// Wires the command framework of one aggregate on `pool`.
pub fn framework<A: Aggregate<Services = ()>>(pool: PgPool) -> Framework<A> {
    CqrsFramework::new(event_store(pool), vec![], ())
}

/// The codec error behind a failed command, if the codec refused one of its events.
pub fn refusal<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a CodecError> {
    err.downcast_ref::<CodecError>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Noted {
        Noted {
            text: String,
            extra: Value,
            ratio: f64,
        },
    }

    impl DomainEvent for Noted {
        fn event_type(&self) -> String {
            "Noted".into()
        }
        fn event_version(&self) -> String {
            "1".into()
        }
    }

    fn noted(text: &str, extra: Value, ratio: f64) -> Noted {
        Noted::Noted {
            text: text.into(),
            extra,
            ratio,
        }
    }

    #[test]
    fn an_ordinary_event_encodes() {
        let event = noted("hello", json!({"a": [1, 2.5, "x"], "b": null}), 0.1);
        assert!(encode(&event).is_ok());
    }

    #[test]
    fn the_largest_float_reads_back_from_its_plain_decimal_form() {
        let event = noted("x", json!({"k": f64::MAX}), f64::MAX);
        assert!(encode(&event).is_ok());

        // What PostgreSQL prints for 1.7976931348623157e308: every digit, no exponent.
        let plain = format!("17976931348623157{}", "0".repeat(292));
        let back: Value = serde_json::from_str(&plain).expect("parses");
        assert_eq!(back.as_f64(), Some(f64::MAX));
    }

    #[test]
    fn the_smallest_float_reads_back() {
        let event = noted("x", json!({"k": 5e-324}), -5e-324);
        assert!(encode(&event).is_ok());
    }

    #[test]
    fn a_null_character_is_refused_with_its_path() {
        let err = encode(&noted("a\0b", json!({}), 1.0)).unwrap_err();
        assert_eq!(
            err,
            CodecError::NulCharacter {
                path: "payload.Noted.text".into()
            }
        );
        let err = encode(&noted("a", json!({"k\0": 1}), 1.0)).unwrap_err();
        assert!(matches!(err, CodecError::NulCharacter { .. }));
    }

    #[test]
    fn nesting_the_reader_cannot_parse_is_refused() {
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH {
            deep = json!([deep]);
        }
        let err = encode(&noted("a", deep, 1.0)).unwrap_err();
        assert!(matches!(err, CodecError::TooDeep { .. }), "{err:?}");
    }

    #[test]
    fn a_payload_of_another_event_type_is_not_itself() {
        let err = check::<Noted>("Noted", &json!({"Other": {}})).unwrap_err();
        assert!(matches!(err, CodecError::NotItself { .. }), "{err:?}");
    }

    #[test]
    fn integers_beyond_u64_survive_as_floats() {
        let huge: Value = serde_json::from_str("100000000000000000000000").unwrap();
        assert!(encode(&noted("a", json!({"k": huge}), 1e23)).is_ok());
    }
}
