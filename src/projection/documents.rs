//! Read model tables whose rows hold an aggregate's folded state as `document`, beside the
//! columns lists filter and sort on: orders, resources, offerings, syncs, runs and the Arrow
//! records.
//!
//! A batch is applied in three statements per table, whatever its size: the rows of the
//! aggregates it touches are read back at once, every aggregate's events are folded into its
//! state in memory, and the resulting rows are written with one multi-row upsert (rows as a
//! JSON array, `jsonb_populate_recordset`) and one delete. The same code serves the live
//! projector and rebuilds, so a rebuilt table holds what the live one would.
//!
//! Table names are unqualified: the projector's transaction chooses the schema through its
//! `search_path` (`projection`, or a scratch schema during a rebuild).

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::log::StoredEvent;

/// The columns of one row, by name. `uuid`, `last_seq` and `document` are added by
/// [`write`].
pub(super) type Row = Map<String, Value>;

/// An aggregate stored whole as the document of one row of [`Document::TABLE`].
pub(super) trait Document: Aggregate + Serialize + DeserializeOwned {
    const TABLE: &'static str;
    /// Columns an update leaves as they are: set when the row is created, or kept by
    /// another writer.
    const KEEP: &'static [&'static str];

    /// The row's columns, or `None` when the aggregate's row is to be deleted.
    fn row(&self) -> anyhow::Result<Option<Row>>;
}

/// An event to fold: its index in the batch, the stored row and the decoded event.
pub(super) type Item<'e, A> = (usize, &'e StoredEvent, <A as Aggregate>::Event);

/// One aggregate after its events were folded in.
pub(super) struct Folded<A> {
    pub uuid: Uuid,
    pub state: A,
    /// The sequence of the last event applied, `None` when the row held them all already.
    pub last_seq: Option<i64>,
    /// The index in the batch of the aggregate's first event: where a failure is placed.
    pub first: usize,
}

/// Why a document write failed: at an event (its index in the batch), or somewhere in a
/// multi-row statement.
pub(super) enum WriteError {
    At(usize, anyhow::Error),
    Statement(anyhow::Error),
}

impl From<sqlx::Error> for WriteError {
    fn from(error: sqlx::Error) -> Self {
        Self::Statement(error.into())
    }
}

pub(super) fn aggregate_uuid(stored: &StoredEvent) -> anyhow::Result<Uuid> {
    Uuid::parse_str(&stored.aggregate_id)
        .with_context(|| format!("aggregate id {} is not a uuid", stored.aggregate_id))
}

/// Reads back the rows of the aggregates in `items` and folds into each the events its row
/// does not hold yet, in order; `seen` is called with each event applied. Aggregates come
/// out in the order of their first event.
pub(super) async fn fold<'e, A: Document>(
    conn: &mut PgConnection,
    items: Vec<Item<'e, A>>,
    mut seen: impl FnMut(&A::Event),
) -> Result<Vec<Folded<A>>, WriteError> {
    let mut order: Vec<Uuid> = Vec::new();
    let mut firsts: HashMap<Uuid, usize> = HashMap::new();
    let mut uuids = Vec::with_capacity(items.len());
    for (index, stored, _) in &items {
        let uuid = aggregate_uuid(stored).map_err(|e| WriteError::At(*index, e))?;
        uuids.push(uuid);
        firsts.entry(uuid).or_insert_with(|| {
            order.push(uuid);
            *index
        });
    }
    let held: Vec<(Uuid, Value, i64)> = sqlx::query_as(&format!(
        "SELECT uuid, document, last_seq FROM {} WHERE uuid = ANY($1) FOR UPDATE",
        A::TABLE
    ))
    .bind(&order)
    .fetch_all(&mut *conn)
    .await?;
    let mut states: HashMap<Uuid, (A, i64, Option<i64>)> = HashMap::with_capacity(order.len());
    for (uuid, document, last_seq) in held {
        let state = serde_json::from_value(document)
            .with_context(|| format!("decoding a {} row", A::TABLE))
            .map_err(|e| WriteError::At(firsts[&uuid], e))?;
        states.insert(uuid, (state, last_seq, None));
    }
    for ((_, stored, event), uuid) in items.into_iter().zip(uuids) {
        let (state, held, last) = states
            .entry(uuid)
            .or_insert_with(|| (A::default(), 0, None));
        if stored.sequence > *held {
            seen(&event);
            state.apply(event);
            *held = stored.sequence;
            *last = Some(stored.sequence);
        }
    }
    Ok(order
        .into_iter()
        .map(|uuid| {
            let (state, _, last_seq) = states.remove(&uuid).expect("every uuid was folded");
            Folded {
                uuid,
                state,
                last_seq,
                first: firsts[&uuid],
            }
        })
        .collect())
}

/// Writes the folded aggregates that changed: one upsert for the rows, one delete for the
/// aggregates whose row goes. Returns the uuids of the rows written.
pub(super) async fn write<A: Document>(
    conn: &mut PgConnection,
    folded: &[Folded<A>],
) -> Result<Vec<Uuid>, WriteError> {
    let mut rows = Rows::default();
    let mut written = Vec::with_capacity(folded.len());
    let mut deleted = Vec::new();
    for aggregate in folded {
        let Some(last_seq) = aggregate.last_seq else {
            continue;
        };
        match aggregate
            .state
            .row()
            .map_err(|e| WriteError::At(aggregate.first, e))?
        {
            None => deleted.push(aggregate.uuid),
            Some(mut row) => {
                row.insert("uuid".into(), Value::from(aggregate.uuid.to_string()));
                row.insert("last_seq".into(), Value::from(last_seq));
                // The document is written as text straight into the row, without a tree.
                let document = serde_json::to_string(&aggregate.state)
                    .with_context(|| format!("encoding a {} document", A::TABLE))
                    .map_err(|e| WriteError::At(aggregate.first, e))?;
                rows.push(row, Some(&document));
                written.push(aggregate.uuid);
            }
        }
    }
    if !deleted.is_empty() {
        sqlx::query(&format!("DELETE FROM {} WHERE uuid = ANY($1)", A::TABLE))
            .bind(&deleted)
            .execute(&mut *conn)
            .await?;
    }
    rows.upsert(conn, A::TABLE, A::KEEP).await?;
    Ok(written)
}

/// Rows to write, as the text of a JSON array of objects with the same keys.
#[derive(Default)]
pub(super) struct Rows {
    columns: Vec<String>,
    text: String,
}

impl Rows {
    /// Adds a row; `document`, when given, is the JSON text of its `document` column.
    pub fn push(&mut self, row: Row, document: Option<&str>) {
        if self.columns.is_empty() {
            self.columns = row.keys().cloned().collect();
            if document.is_some() {
                self.columns.push("document".into());
            }
        }
        self.text.push(if self.text.is_empty() { '[' } else { ',' });
        let object = Value::Object(row).to_string();
        match document {
            None => self.text.push_str(&object),
            Some(document) => {
                self.text.push_str(&object[..object.len() - 1]);
                self.text.push_str(",\"document\":");
                self.text.push_str(document);
                self.text.push('}');
            }
        }
    }

    /// Inserts the rows into `table`, updating every column but `uuid` and `keep` of the
    /// rows that exist. Columns a row does not name are null on insert.
    pub async fn upsert(
        self,
        conn: &mut PgConnection,
        table: &str,
        keep: &[&str],
    ) -> Result<(), WriteError> {
        let updates: Vec<String> = self
            .columns
            .iter()
            .filter(|column| *column != "uuid" && !keep.contains(&column.as_str()))
            .map(|column| format!("{column} = EXCLUDED.{column}"))
            .collect();
        self.insert(
            conn,
            table,
            &format!("ON CONFLICT (uuid) DO UPDATE SET {}", updates.join(", ")),
        )
        .await
    }

    /// Inserts the rows into `table` as they are, with `conflict` as the ON CONFLICT
    /// clause (or nothing).
    pub async fn insert(
        mut self,
        conn: &mut PgConnection,
        table: &str,
        conflict: &str,
    ) -> Result<(), WriteError> {
        if self.text.is_empty() {
            return Ok(());
        }
        self.text.push(']');
        sqlx::query(&format!(
            "INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1::jsonb) \
             {conflict}"
        ))
        .bind(self.text)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// A time as PostgreSQL stores it: whole microseconds, the rest cut off as a bound
/// parameter would.
pub(super) fn time(at: DateTime<Utc>) -> Value {
    Value::from(at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

/// An optional time, see [`time`].
pub(super) fn time_opt(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, time)
}

/// Any serializable column value.
pub(super) fn value(v: impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_keeps_whole_microseconds_as_a_bound_parameter_does() {
        let at: DateTime<Utc> = "2024-05-06T07:08:09.123456789Z".parse().unwrap();
        assert_eq!(time(at), Value::from("2024-05-06T07:08:09.123456Z"));
        let round: DateTime<Utc> = "2024-05-06T07:08:09Z".parse().unwrap();
        assert_eq!(time(round), Value::from("2024-05-06T07:08:09.000000Z"));
    }
}
