//! The scratch schema rebuilds and verifications build read models in, beside the live
//! `projection` schema: the same SQL files with the schema name rewritten.
//!
//! Tables are created with their keys and unique indexes; the other indexes are created
//! once the log is in, which is several times faster than keeping them up to date row by
//! row. Indexes keep their names: an index lives in its table's schema, so the names clash
//! with nothing here, and move with the table when it is swapped in.

use anyhow::Context;
use sqlx::PgConnection;

use super::{LIVE_SCHEMA, Projection};

/// Where rebuilds and verifications build.
pub(super) const SCRATCH_SCHEMA: &str = "projection_build";

/// A projection's SQL for `schema`: the statements that create its tables (with their keys
/// and unique indexes), and the indexes that can wait until the rows are in.
pub(super) fn statements(projection: &Projection, schema: &str) -> (Vec<String>, Vec<String>) {
    let without_comments: String = projection
        .sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut tables = Vec::new();
    let mut indexes = Vec::new();
    for statement in without_comments.split(';') {
        let statement = statement.trim();
        if statement.is_empty() {
            continue;
        }
        let statement = statement.replace(&format!("{LIVE_SCHEMA}."), &format!("{schema}."));
        if statement.starts_with("CREATE INDEX") {
            indexes.push(statement);
        } else {
            tables.push(statement);
        }
    }
    (tables, indexes)
}

/// Drops what a previous build left behind and creates the tables of `projections`, empty,
/// in the scratch schema.
pub(super) async fn create(
    conn: &mut PgConnection,
    projections: &[&'static Projection],
) -> anyhow::Result<()> {
    let mut ddl = format!(
        "DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE;\nCREATE SCHEMA {SCRATCH_SCHEMA};\n"
    );
    for projection in projections {
        for statement in statements(projection, SCRATCH_SCHEMA).0 {
            ddl.push_str(&statement);
            ddl.push_str(";\n");
        }
    }
    sqlx::raw_sql(&ddl)
        .execute(conn)
        .await
        .context("creating the scratch tables")?;
    Ok(())
}

/// Creates the indexes that waited for the rows and gathers the planner's statistics, so
/// that the tables answer as the live ones do from the moment they are swapped in.
pub(super) async fn finish(
    conn: &mut PgConnection,
    projections: &[&'static Projection],
) -> anyhow::Result<()> {
    sqlx::raw_sql("SET maintenance_work_mem = '256MB'")
        .execute(&mut *conn)
        .await?;
    for projection in projections {
        for statement in statements(projection, SCRATCH_SCHEMA).1 {
            sqlx::raw_sql(&statement)
                .execute(&mut *conn)
                .await
                .with_context(|| format!("creating an index of {}", projection.name))?;
        }
        for table in projection.tables() {
            sqlx::raw_sql(&format!("ANALYZE {SCRATCH_SCHEMA}.{table}"))
                .execute(&mut *conn)
                .await?;
        }
    }
    sqlx::raw_sql("RESET maintenance_work_mem")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drops the scratch schema and whatever is left in it.
pub(super) async fn drop(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
        .execute(conn)
        .await
        .context("dropping the scratch schema")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::projection;
    use super::*;

    #[test]
    fn the_scratch_sql_creates_every_table_and_index_in_the_scratch_schema() {
        let orders = projection("orders").unwrap();
        let (tables, indexes) = statements(orders, SCRATCH_SCHEMA);
        assert_eq!(tables.len(), 2);
        assert!(tables[0].starts_with("CREATE TABLE projection_build.orders"));
        assert!(!indexes.is_empty());
        for statement in tables.iter().chain(&indexes) {
            assert!(!statement.contains("projection."), "{statement}");
        }
        assert!(indexes.iter().any(|i| {
            i.contains("ON projection_build.orders USING gin (name public.gin_trgm_ops)")
        }));
    }

    #[test]
    fn unique_indexes_are_created_with_their_tables() {
        let (tables, indexes) = statements(projection("directory").unwrap(), SCRATCH_SCHEMA);
        assert!(
            tables
                .iter()
                .any(|t| t.starts_with("CREATE UNIQUE INDEX users_username_idx"))
        );
        assert!(indexes.iter().all(|i| !i.contains("UNIQUE")));
    }
}
