//! Checking the live read models against the log: each projection is built afresh in the
//! scratch schema ([`super::rebuild`]) up to the live checkpoint, and the two are compared
//! row by row in one snapshot taken while the projector's lock held the live tables at that
//! checkpoint. The scratch tables are dropped afterwards.

use std::fmt;

use anyhow::Context;
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};

use super::rebuild::{self, BuildLock, BuildOptions, Builder, Observer, Target};
use super::scratch::SCRATCH_SCHEMA;
use super::{LIVE_SCHEMA, Projection};
use crate::store::log::LogPoint;

/// What a verification found.
#[derive(Debug)]
pub struct Verification {
    /// Each projection compared, and the checkpoint both sides stood at.
    pub checked: Vec<(&'static str, LogPoint)>,
    /// Events applied to build the fresh tables.
    pub applied: u64,
    pub differences: Vec<Difference>,
}

impl Verification {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

/// A table whose live rows are not what the log gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub projection: &'static str,
    pub table: String,
    /// The key of a differing row (`uuid=…`), or what differs when the tables do not
    /// compare row by row.
    pub key: String,
    /// Rows only in the live table, and rows only in the fresh one.
    pub only_live: i64,
    pub only_rebuilt: i64,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): differs at {}; {} row(s) only in the live table, {} only in the rebuilt one",
            self.table, self.projection, self.key, self.only_live, self.only_rebuilt
        )
    }
}

pub(super) async fn verify(
    pool: &PgPool,
    lock: &BuildLock,
    projections: &[&'static Projection],
    options: &BuildOptions,
    observer: Observer<'_>,
) -> anyhow::Result<Verification> {
    let plans: Vec<(&'static Projection, Target)> = projections
        .iter()
        .map(|p| (*p, Target::FollowLive))
        .collect();
    let mut builder = Builder::start(pool, lock, &plans, options, observer).await?;
    let result = build_and_compare(pool, &mut builder, projections, observer).await;
    let discarded = builder.discard().await;
    let verification = result?;
    discarded?;
    Ok(verification)
}

async fn build_and_compare(
    pool: &PgPool,
    builder: &mut Builder<'_>,
    projections: &[&'static Projection],
    observer: Observer<'_>,
) -> anyhow::Result<Verification> {
    builder.bulk().await?;
    let mut locked = rebuild::dedicated(pool).await?;
    rebuild::lock(&mut locked).await?;
    builder.last(&mut locked).await?;
    // The snapshot is taken while the lock holds the live tables at the checkpoints the
    // scratch tables reached; the projector may go on once it is taken.
    let mut conn = rebuild::dedicated(pool).await?;
    let mut snapshot = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *snapshot)
        .await?;
    sqlx::query("SELECT 1").execute(&mut *snapshot).await?;
    rebuild::unlock(&mut locked).await?;
    drop(locked);

    observer(rebuild::BuildEvent::Step("comparing"));
    let mut differences = Vec::new();
    for projection in projections {
        for table in projection.tables() {
            if let Some(difference) = compare(&mut snapshot, projection, table).await? {
                differences.push(difference);
            }
        }
    }
    snapshot.commit().await?;
    Ok(Verification {
        checked: builder
            .building
            .iter()
            .map(|b| (b.projection.name, b.checkpoint))
            .collect(),
        applied: builder.applied,
        differences,
    })
}

/// Compares one live table with its fresh copy.
async fn compare(
    conn: &mut PgConnection,
    projection: &'static Projection,
    table: &str,
) -> anyhow::Result<Option<Difference>> {
    let difference = |key: String, only_live, only_rebuilt| {
        Some(Difference {
            projection: projection.name,
            table: table.to_string(),
            key,
            only_live,
            only_rebuilt,
        })
    };
    let live = columns(conn, LIVE_SCHEMA, table).await?;
    let fresh = columns(conn, SCRATCH_SCHEMA, table).await?;
    if live.is_empty() {
        return Ok(difference("(the live table is missing)".into(), 0, 0));
    }
    if live != fresh {
        return Ok(difference("(its columns differ)".into(), 0, 0));
    }
    let (only_live, only_rebuilt, live_row, fresh_row): (i64, i64, Option<Value>, Option<Value>) =
        sqlx::query_as(&format!(
            "WITH only_live AS (SELECT * FROM {LIVE_SCHEMA}.{table} \
                                EXCEPT ALL SELECT * FROM {SCRATCH_SCHEMA}.{table}), \
                  only_fresh AS (SELECT * FROM {SCRATCH_SCHEMA}.{table} \
                                 EXCEPT ALL SELECT * FROM {LIVE_SCHEMA}.{table}) \
             SELECT (SELECT count(*) FROM only_live), (SELECT count(*) FROM only_fresh), \
                    (SELECT to_jsonb(l) FROM only_live l LIMIT 1), \
                    (SELECT to_jsonb(f) FROM only_fresh f LIMIT 1)"
        ))
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("comparing {table} with its rebuilt copy"))?;
    let Some(row) = live_row.or(fresh_row) else {
        return Ok(None);
    };
    let keys = primary_key(conn, table).await?;
    Ok(difference(row_key(&row, &keys), only_live, only_rebuilt))
}

/// A table's columns and their types, in order.
async fn columns(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(conn)
    .await?)
}

/// The columns of the scratch table's primary key.
async fn primary_key(conn: &mut PgConnection, table: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_index i \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
         WHERE i.indrelid = format('%I.%I', $1::text, $2::text)::regclass AND i.indisprimary \
         ORDER BY array_position(i.indkey::int2[], a.attnum)",
    )
    .bind(SCRATCH_SCHEMA)
    .bind(table)
    .fetch_all(conn)
    .await?)
}

/// `column=value` of the key columns of a row (of the whole row when it has no key).
fn row_key(row: &Value, keys: &[String]) -> String {
    if keys.is_empty() {
        return row.to_string();
    }
    keys.iter()
        .map(|key| match &row[key] {
            Value::String(text) => format!("{key}={text}"),
            other => format!("{key}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_named_by_its_key_columns() {
        let row = serde_json::json!({"kind": "users", "slug": "alice", "n": 1});
        assert_eq!(
            row_key(&row, &["kind".into(), "slug".into()]),
            "kind=users, slug=alice"
        );
    }
}
