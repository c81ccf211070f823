//! Rebuilds beside the live read models: built from the log while the server answers and
//! writes go on, swapped in at once, and checked row by row by `verify`.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ledger::app::LedgerOptions;
use ledger::domain::customer::{Customer, CustomerCommand, CustomerDetails};
use ledger::projection::{BuildOptions, PROJECTIONS, Projection};
use ledger::store::metadata::{CommandContext, Source};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, TestDatabase, spawn_app_with};
use crate::ledger::{dump_read_models, populate};
use crate::world::{Names, World};

fn all() -> Vec<&'static Projection> {
    PROJECTIONS.iter().collect()
}

/// Small batches, so that a rebuild of a small ledger takes many transactions.
fn small_batches() -> BuildOptions {
    BuildOptions { batch: 20 }
}

async fn quiet_app() -> TestApp {
    spawn_app_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions::default(),
        0,
    )
    .await
}

/// Runs `ledger projections <args>` against the app's database.
fn ledger_projections(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["projections", "--database-url", &app.db.url])
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("the ledger binary runs")
}

async fn scratch_schemas(app: &TestApp) -> i64 {
    app.scalar_i64("SELECT count(*) FROM pg_namespace WHERE nspname = 'projection_build'")
        .await
}

/// What one writer needs to place orders: a project and an active offering with its plan.
#[derive(Clone)]
struct OrderTarget {
    project: String,
    offering: String,
    plan: String,
}

/// Creates customers, a project in each and an order in the shared project over HTTP
/// until told to stop (or 60 rounds); returns the customers it created.
async fn write_until(app: Arc<TestApp>, stop: Arc<AtomicBool>, target: OrderTarget) -> usize {
    let mut created = 0;
    for round in 0..60 {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let customer = app
            .create_customer(&format!("Busy Org {}", Uuid::new_v4().simple()))
            .await;
        app.create_project(&customer.url(), &format!("Project {round}"))
            .await;
        let order = app
            .post(
                "/api/marketplace-orders/",
                &app.admin_token,
                json!({
                    "project": target.project,
                    "offering": target.offering,
                    "plan": target.plan,
                    "attributes": {"name": format!("job-{round}")},
                }),
            )
            .await;
        assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
        created += 1;
    }
    created
}

#[tokio::test]
async fn a_rebuild_and_a_verify_during_concurrent_writes_find_no_difference() {
    // Arrange: a world with an active offering, and four clients writing through HTTP.
    let world = World::on(
        spawn_app_with(
            Arc::new(TestDatabase::new().await),
            LedgerOptions::default(),
            100,
        )
        .await,
        Names::PLAIN,
    )
    .await;
    let offering = world
        .active_offering(
            "Marketplace.Slurm",
            json!({
                "components": [{"type": "cpu", "name": "CPU", "billing_type": "usage"}],
                "plans": [{"name": "Default", "unit": "month", "unit_price": "10"}],
            }),
        )
        .await;
    let target = OrderTarget {
        project: world.project.url(),
        offering: world.public_url(&offering),
        plan: world.first_plan_url(&offering),
    };
    let app = Arc::new(world.app);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|_| tokio::spawn(write_until(app.clone(), stop.clone(), target.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Act
    let applied = app
        .ledger
        .projector
        .rebuild_with(&all(), &small_batches(), &|_| {})
        .await
        .unwrap();
    let during = app
        .ledger
        .projector
        .verify(&all(), &small_batches(), &|_| {})
        .await
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut created = 0;
    for writer in writers {
        created += writer.await.unwrap();
    }
    let after = app
        .ledger
        .projector
        .verify(&all(), &BuildOptions::default(), &|_| {})
        .await
        .unwrap();

    // Assert
    assert!(applied > 0);
    assert!(created > 0);
    assert!(during.is_clean(), "{:#?}", during.differences);
    assert!(after.is_clean(), "{:#?}", after.differences);
    assert_eq!(during.checked.len(), PROJECTIONS.len());
    let customers = app
        .get("/api/customers/?page_size=1", &app.admin_token)
        .await;
    assert_eq!(
        customers.count(),
        created as i64 + 2,
        "every write is in the view"
    );
    assert_eq!(scratch_schemas(&app).await, 0);
}

#[tokio::test]
async fn readers_during_a_rebuild_always_see_complete_data() {
    // Arrange
    let app = Arc::new(quiet_app().await);
    populate(&app).await;
    let mut customers = Vec::new();
    for i in 0..20 {
        customers.push(app.create_customer(&format!("Org {i}")).await.uuid());
    }
    let listed = app
        .get("/api/customers/?page_size=1", &app.admin_token)
        .await;
    let (customer_count, orders) = (
        listed.count(),
        app.get("/api/marketplace-orders/?page_size=1", &app.admin_token)
            .await
            .count(),
    );
    assert!(orders > 0);
    let before = dump_read_models(&app).await;
    let stop = Arc::new(AtomicBool::new(false));
    let rebuilding = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (app, stop, customer) = (app.clone(), stop.clone(), customers[r].clone());
            let rebuilding = rebuilding.clone();
            tokio::spawn(async move {
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    let during = rebuilding.load(Ordering::Relaxed);
                    let list = app
                        .get("/api/customers/?page_size=1", &app.admin_token)
                        .await;
                    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
                    assert_eq!(list.count(), customer_count);
                    let one = app
                        .get(&format!("/api/customers/{customer}/"), &app.admin_token)
                        .await;
                    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
                    let list = app
                        .get("/api/marketplace-orders/?page_size=1", &app.admin_token)
                        .await;
                    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
                    assert_eq!(list.count(), orders);
                    if during && rebuilding.load(Ordering::Relaxed) {
                        reads += 1;
                    }
                }
                reads
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Act
    rebuilding.store(true, Ordering::Relaxed);
    let rebuilt = app
        .ledger
        .projector
        .rebuild_with(&all(), &BuildOptions { batch: 5 }, &|_| {})
        .await;
    rebuilding.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);

    // Assert
    rebuilt.unwrap();
    for reader in readers {
        let reads_during_the_rebuild = reader.await.unwrap();
        assert!(reads_during_the_rebuild > 0);
    }
    assert_eq!(dump_read_models(&app).await, before);
}

#[tokio::test]
async fn a_tampered_read_model_row_makes_verify_fail_naming_its_table_and_key() {
    // Arrange
    let app = quiet_app().await;
    populate(&app).await;
    let clean = ledger_projections(&app, &["verify"]);
    assert!(clean.status.success(), "{clean:?}");
    let uuid: Uuid = sqlx::query_scalar("SELECT uuid FROM projection.customers LIMIT 1")
        .fetch_one(&app.ledger.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE projection.customers SET name = 'Tampered' WHERE uuid = $1")
        .bind(uuid)
        .execute(&app.ledger.pool)
        .await
        .unwrap();

    // Act
    let verification = app
        .ledger
        .projector
        .verify(&all(), &BuildOptions::default(), &|_| {})
        .await
        .unwrap();
    let output = ledger_projections(&app, &["verify", "directory"]);

    // Assert
    assert_eq!(verification.differences.len(), 1, "{verification:#?}");
    let difference = &verification.differences[0];
    assert_eq!(difference.table, "customers");
    assert_eq!(difference.projection, "directory");
    assert_eq!(difference.key, format!("uuid={uuid}"));
    assert_eq!((difference.only_live, difference.only_rebuilt), (1, 1));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!("customers (directory): differs at uuid={uuid}")));
    assert!(String::from_utf8_lossy(&output.stderr).contains("customers"));
    assert_eq!(scratch_schemas(&app).await, 0);
    let name: String = sqlx::query_scalar("SELECT name FROM projection.customers WHERE uuid = $1")
        .bind(uuid)
        .fetch_one(&app.ledger.pool)
        .await
        .unwrap();
    assert_eq!(name, "Tampered", "verify changes nothing");
}

/// Appends a customer through the library without projecting it.
async fn append_customer(app: &TestApp, name: &str) {
    let uuid = Uuid::new_v4();
    let ctx = CommandContext::system(Source::Cli);
    let command = CustomerCommand::Create {
        uuid,
        slug: format!("lagging-{}", uuid.simple()),
        details: CustomerDetails {
            name: name.into(),
            ..Default::default()
        },
        at: ctx.now,
    };
    app.ledger
        .execute::<Customer>(&uuid.simple().to_string(), command, &ctx)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_list_shows_how_many_events_each_projection_has_yet_to_apply() {
    // Arrange
    let app = spawn_app_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions {
            inline_projection: false,
            ..LedgerOptions::default()
        },
        0,
    )
    .await;
    // The admin's bootstrap events are in the views: only the customers below lag.
    app.ledger.projector.catch_up().await.unwrap();
    for i in 0..3 {
        append_customer(&app, &format!("Lagging {i}")).await;
    }

    // Act
    let statuses = app.ledger.projector.status().await.unwrap();
    let listed = ledger_projections(&app, &["list"]);

    // Assert
    let lag = |name: &str| statuses.iter().find(|s| s.name == name).unwrap().lag;
    assert_eq!(lag("directory"), 3);
    assert_eq!(lag("orders"), 0);
    let stdout = String::from_utf8_lossy(&listed.stdout);
    let directory = stdout
        .lines()
        .find(|l| l.starts_with("directory"))
        .expect("a line for directory");
    assert!(directory.contains("lag 3 "), "{directory}");
    assert!(directory.ends_with("ok"), "{directory}");

    app.ledger.projector.catch_up().await.unwrap();
    let statuses = app.ledger.projector.status().await.unwrap();
    assert!(statuses.iter().all(|s| s.lag == 0), "{statuses:?}");
}
