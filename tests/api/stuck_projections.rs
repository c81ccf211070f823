//! A projection that cannot apply an event is marked stuck there and stops alone: the server
//! still starts, the other read models stay current, nothing past the event is applied to
//! it, and a restart after the cause is fixed resumes from that event.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger::app::LedgerOptions;
use ledger::projection::{Health, ProjectionStatus};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, TestDatabase, spawn_app_with};

/// Starts a ledger on a fresh database without the periodic catch-up, so that only
/// commands and starts drive the projector.
async fn quiet_app() -> TestApp {
    spawn_app_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions::default(),
        0,
    )
    .await
}

/// Appends an order event whose payload does not decode (a uuid field holding a number),
/// as a buggy or foreign writer might have. Returns its position.
async fn append_undecodable_order_event(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata) VALUES ('order', $1, 1, 'OrderApprovedByConsumer', '1.0', \
         '{\"OrderApprovedByConsumer\": {\"reviewer\": 42, \"at\": \"2024-01-01T00:00:00Z\"}}', \
         '{}') RETURNING position",
    )
    .bind(Uuid::new_v4().simple().to_string())
    .fetch_one(&app.ledger.pool)
    .await
    .expect("the event is appended")
}

async fn status_of(app: &TestApp, name: &str) -> ProjectionStatus {
    app.ledger
        .projector
        .status()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no projection {name}"))
}

/// Runs `ledger projections <action>` against the app's database.
fn ledger_projections(app: &TestApp, action: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["projections", "--database-url", &app.db.url, action])
        .env("RUST_LOG", "error")
        .output()
        .expect("the ledger binary runs")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar_i64(sql).await
}

#[tokio::test]
async fn the_server_starts_and_serves_customers_and_offerings_while_the_orders_projection_is_stuck()
{
    // Arrange
    let app = quiet_app().await;
    let customer = app.create_customer("Acme Research").await;
    let category = app.create_category("HPC").await;
    let provider = app.create_provider("Compute Provider").await;
    app.create_offering(
        &provider.url(),
        &category.url(),
        "Marketplace.Basic",
        json!({}),
    )
    .await;
    let poison = append_undecodable_order_event(&app).await;

    // Act
    let restarted = app.restart(LedgerOptions::default(), 0).await;

    // Assert
    let customers = restarted.get("/api/customers/", &app.admin_token).await;
    assert_eq!(customers.status, StatusCode::OK, "{}", customers.text);
    assert!(
        customers
            .items()
            .iter()
            .any(|c| c["uuid"] == customer.uuid()),
        "{}",
        customers.text
    );
    let offerings = restarted
        .get("/api/marketplace-provider-offerings/", &app.admin_token)
        .await;
    assert_eq!(offerings.status, StatusCode::OK, "{}", offerings.text);
    assert_eq!(offerings.items().len(), 1, "{}", offerings.text);

    let orders = status_of(&restarted, "orders").await;
    let Health::Stuck(stuck) = &orders.health else {
        panic!("orders should be stuck: {orders}");
    };
    assert_eq!(stuck.position, poison);
    assert_eq!(stuck.event_type, "OrderApprovedByConsumer");
    assert!(stuck.aggregate.starts_with("order "), "{}", stuck.aggregate);
    assert!(stuck.error.contains("decoding"), "{}", stuck.error);
    assert!(orders.checkpoint.position < poison);
    assert_eq!(status_of(&restarted, "directory").await.health, Health::Ok);
    assert_eq!(status_of(&restarted, "offerings").await.health, Health::Ok);

    let listed = ledger_projections(&restarted, "list");
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let orders_line = stdout
        .lines()
        .find(|l| l.starts_with("orders"))
        .expect("a line for orders");
    assert!(
        orders_line.contains(&format!(
            "stuck at position {poison} (OrderApprovedByConsumer"
        )),
        "{orders_line}"
    );
    assert!(orders_line.contains("decoding"), "{orders_line}");
    let directory_line = stdout
        .lines()
        .find(|l| l.starts_with("directory"))
        .expect("a line for directory");
    assert!(directory_line.ends_with("ok"), "{directory_line}");
}

#[tokio::test]
async fn events_after_the_stuck_one_still_reach_the_other_projections() {
    // Arrange
    let app = quiet_app().await;
    append_undecodable_order_event(&app).await;

    // Act
    let started = Instant::now();
    let customer = app.create_customer("Created After The Poison").await;
    let took = started.elapsed();

    // Assert
    let customers = app.get("/api/customers/", &app.admin_token).await;
    assert!(
        customers
            .items()
            .iter()
            .any(|c| c["uuid"] == customer.uuid()),
        "{}",
        customers.text
    );
    // The request did not wait for the stuck projection (it would give up after 5 s).
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(status_of(&app, "orders").await.is_stuck());
    let directory = status_of(&app, "directory").await;
    assert_eq!(directory.health, Health::Ok);
    let last: i64 = count(&app, "SELECT max(position) FROM events").await;
    assert_eq!(directory.checkpoint.position, last);
}

#[tokio::test]
async fn a_stuck_projection_applies_nothing_past_its_event_and_a_restart_after_the_fix_resumes_from_it()
 {
    // Arrange: a read model that refuses one customer's orders stands for a projection bug.
    let app = quiet_app().await;
    let (offering, project, provider, creator) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let (refused_customer, other_customer) = (Uuid::new_v4(), Uuid::new_v4());
    sqlx::query(&format!(
        "ALTER TABLE projection.orders ADD CONSTRAINT refuses_one_customer \
         CHECK (customer_uuid <> '{refused_customer}')"
    ))
    .execute(&app.ledger.pool)
    .await
    .unwrap();

    // Act
    let (refused, _) = app
        .place_order(offering, project, refused_customer, provider, creator)
        .await;
    let (later, later_resource) = app
        .place_order(offering, project, other_customer, provider, creator)
        .await;
    app.ledger.projector.catch_up().await.unwrap();

    // Assert: stuck at the refused order's placement; nothing after it reached the model.
    let placed: i64 = count(
        &app,
        &format!(
            "SELECT position FROM events WHERE aggregate_type = 'order' \
             AND aggregate_id = '{}' AND sequence = 1",
            refused.simple()
        ),
    )
    .await;
    let orders = status_of(&app, "orders").await;
    let Health::Stuck(stuck) = &orders.health else {
        panic!("orders should be stuck: {orders}");
    };
    assert_eq!(stuck.position, placed);
    assert!(
        stuck.error.contains("refuses_one_customer"),
        "{}",
        stuck.error
    );
    assert!(orders.checkpoint.position < placed);
    assert_eq!(
        count(&app, "SELECT count(*) FROM projection.orders").await,
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM projection.resources WHERE uuid = '{later_resource}'")
        )
        .await,
        0,
        "a resource created after the stuck event waits behind it"
    );

    // Act: the cause is fixed; a catch-up in this process does not retry, a restart does.
    sqlx::query("ALTER TABLE projection.orders DROP CONSTRAINT refuses_one_customer")
        .execute(&app.ledger.pool)
        .await
        .unwrap();
    app.ledger.projector.catch_up().await.unwrap();
    assert!(status_of(&app, "orders").await.is_stuck());
    assert_eq!(
        count(&app, "SELECT count(*) FROM projection.orders").await,
        0
    );
    let restarted = app.restart(LedgerOptions::default(), 0).await;

    // Assert
    assert_eq!(status_of(&restarted, "orders").await.health, Health::Ok);
    let projected: Vec<Uuid> =
        sqlx::query_scalar("SELECT uuid FROM projection.orders ORDER BY created")
            .fetch_all(&restarted.ledger.pool)
            .await
            .unwrap();
    assert_eq!(projected, vec![refused, later]);
    assert_eq!(
        count(&restarted, "SELECT count(*) FROM projection.resources").await,
        2
    );
}

#[tokio::test]
async fn a_rebuild_with_a_stuck_projection_reports_it_and_completes_the_others() {
    // Arrange
    let app = quiet_app().await;
    app.create_customer("Before The Poison").await;
    let poison = append_undecodable_order_event(&app).await;
    app.create_customer("After The Poison").await;
    let customers_before = count(&app, "SELECT count(*) FROM projection.customers").await;

    // Act
    let read = app.ledger.projector.rebuild().await.unwrap();

    // Assert
    assert!(read > 0);
    let statuses = app.ledger.projector.status().await.unwrap();
    let stuck: Vec<&str> = statuses
        .iter()
        .filter(|s| s.is_stuck())
        .map(|s| s.name)
        .collect();
    assert_eq!(stuck, vec!["orders"]);
    let last = count(&app, "SELECT max(position) FROM events").await;
    for status in statuses.iter().filter(|s| !s.is_stuck()) {
        assert_eq!(status.checkpoint.position, last, "{status}");
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM projection.customers").await,
        customers_before
    );

    let rebuilt = ledger_projections(&app, "rebuild");
    let stdout = String::from_utf8_lossy(&rebuilt.stdout);
    let stderr = String::from_utf8_lossy(&rebuilt.stderr);
    assert!(!rebuilt.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("stuck at position {poison}")),
        "{stdout}"
    );
    assert!(stderr.contains("orders"), "{stderr}");
    assert_eq!(
        count(&app, "SELECT count(*) FROM projection.customers").await,
        customers_before
    );
}

#[tokio::test]
async fn an_order_recorded_with_a_cost_beyond_todays_limits_is_still_projected() {
    // Arrange: a copy of a placement with a cost of 16 integer digits, as an older version
    // could record before costs were validated.
    let app = quiet_app().await;
    let (order, _) = app
        .place_order(
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        )
        .await;
    let copy = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata) \
         SELECT aggregate_type, $2, 1, event_type, event_version, \
         jsonb_set(jsonb_set(payload, '{OrderPlaced,spec,cost}', '\"1000000000000000\"'), \
                   '{OrderPlaced,spec,uuid}', to_jsonb($3::text)), metadata \
         FROM events WHERE aggregate_type = 'order' AND aggregate_id = $1 AND sequence = 1",
    )
    .bind(order.simple().to_string())
    .bind(copy.simple().to_string())
    .bind(copy.to_string())
    .execute(&app.ledger.pool)
    .await
    .unwrap();

    // Act
    app.ledger.projector.catch_up().await.unwrap();

    // Assert
    assert_eq!(status_of(&app, "orders").await.health, Health::Ok);
    let projected = count(
        &app,
        &format!(
            "SELECT count(*) FROM projection.orders \
             WHERE uuid = '{copy}' AND cost = 1000000000000000"
        ),
    )
    .await;
    assert_eq!(projected, 1);
}
