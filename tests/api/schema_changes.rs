//! A read model rebuilds itself from the log when its SQL or the shape of the documents it
//! stores changes, and only that one: the other projections keep their tables and rows.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;

use ledger::app::LedgerOptions;
use ledger::projection::projection;
use serde_json::Value;

use crate::helpers::{TestApp, TestDatabase, spawn_app_with};
use crate::ledger::{dump_read_models, populate};

async fn quiet_app() -> TestApp {
    spawn_app_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions::default(),
        0,
    )
    .await
}

/// The identity of every read model table: a dropped and recreated table gets a new one.
async fn table_oids(app: &TestApp) -> BTreeMap<String, i64> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.relname::text, c.oid::bigint FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'projection' AND c.relkind = 'r'",
    )
    .fetch_all(&app.ledger.pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

async fn stored_hash(app: &TestApp, name: &str) -> String {
    sqlx::query_scalar("SELECT schema_hash FROM projection_checkpoints WHERE name = $1")
        .bind(name)
        .fetch_one(&app.ledger.pool)
        .await
        .unwrap()
}

async fn store_hash(app: &TestApp, name: &str, hash: &str) {
    sqlx::query("UPDATE projection_checkpoints SET schema_hash = $2 WHERE name = $1")
        .bind(name)
        .bind(hash)
        .execute(&app.ledger.pool)
        .await
        .unwrap();
}

/// The tables whose identity changed between two snapshots.
fn recreated(before: &BTreeMap<String, i64>, after: &BTreeMap<String, i64>) -> Vec<String> {
    let mut names: Vec<String> = after
        .iter()
        .filter(|(name, oid)| before.get(*name) != Some(oid))
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_renamed_order_document_field_rebuilds_the_orders_projection_alone() {
    // Arrange: the database was built by a ledger whose orders stored the reviewer as
    // `consumer_reviewer`; the columns and the SQL are what they are now.
    let first = quiet_app().await;
    populate(&first).await;
    let before = dump_read_models(&first).await;
    let oids = table_oids(&first).await;
    let orders = projection("orders").unwrap();
    let renamed: Vec<Value> = orders
        .document_shapes()
        .iter()
        .map(|shape| {
            let text = shape
                .to_string()
                .replace("\"consumer_reviewed_by\"", "\"consumer_reviewer\"");
            serde_json::from_str(&text).unwrap()
        })
        .collect();
    let old_hash = orders.fingerprint(&renamed);
    assert_ne!(old_hash, orders.schema_hash());
    store_hash(&first, "orders", &old_hash).await;

    // Act
    let second = first.restart(LedgerOptions::default(), 0).await;

    // Assert
    let after = table_oids(&second).await;
    assert_eq!(
        recreated(&oids, &after),
        sorted(&projection("orders").unwrap().tables())
    );
    assert_eq!(stored_hash(&second, "orders").await, orders.schema_hash());
    assert_eq!(dump_read_models(&second).await, before);
}

#[tokio::test]
async fn a_changed_offerings_schema_leaves_the_directory_and_orders_tables_alone() {
    // Arrange
    let first = quiet_app().await;
    populate(&first).await;
    let before = dump_read_models(&first).await;
    let oids = table_oids(&first).await;
    store_hash(&first, "offerings", "written-by-an-older-ledger").await;

    // Act
    let second = first.restart(LedgerOptions::default(), 0).await;

    // Assert
    let offerings = projection("offerings").unwrap();
    assert_eq!(
        recreated(&oids, &table_oids(&second).await),
        sorted(&offerings.tables())
    );
    assert!(offerings.tables().contains(&"offering_slugs"));
    assert_eq!(
        stored_hash(&second, "offerings").await,
        offerings.schema_hash()
    );
    assert_eq!(dump_read_models(&second).await, before);
}

#[tokio::test]
async fn a_missing_table_rebuilds_the_projection_that_owns_it() {
    // Arrange
    let first = quiet_app().await;
    populate(&first).await;
    let before = dump_read_models(&first).await;
    let oids = table_oids(&first).await;
    sqlx::query("DROP TABLE projection.slugs")
        .execute(&first.ledger.pool)
        .await
        .unwrap();

    // Act
    let second = first.restart(LedgerOptions::default(), 0).await;

    // Assert
    assert_eq!(
        recreated(&oids, &table_oids(&second).await),
        sorted(&projection("directory").unwrap().tables())
    );
    assert_eq!(dump_read_models(&second).await, before);
}

#[tokio::test]
async fn the_rebuild_command_can_name_one_projection() {
    // Arrange
    let app = quiet_app().await;
    populate(&app).await;
    let before = dump_read_models(&app).await;
    let oids = table_oids(&app).await;

    // Act
    let output = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args([
            "projections",
            "--database-url",
            &app.db.url,
            "rebuild",
            "orders",
        ])
        .env("RUST_LOG", "error")
        .output()
        .expect("the ledger binary runs");
    let unknown = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args([
            "projections",
            "--database-url",
            &app.db.url,
            "rebuild",
            "invoices",
        ])
        .env("RUST_LOG", "error")
        .output()
        .expect("the ledger binary runs");

    // Assert
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        recreated(&oids, &table_oids(&app).await),
        sorted(&projection("orders").unwrap().tables())
    );
    assert_eq!(dump_read_models(&app).await, before);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no projection named invoices"),
        "{unknown:?}"
    );
}
