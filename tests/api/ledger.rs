//! The ledger's promises: every change is an event with metadata, read models converge after
//! a crash, rebuild identically, and the log reader never skips a late commit.

use std::sync::Arc;
use std::time::Duration;

use ledger::app::LedgerOptions;
use ledger::domain::customer::{Customer, CustomerCommand, CustomerDetails};
use ledger::domain::order::{Order, OrderCommand, OrderError, OrderType};
use ledger::domain::resource::{OrderOutcome, Resource, ResourceCommand, ResourceError};
use ledger::store::log::{self, LogPoint};
use ledger::store::metadata::{CommandContext, Source};
use ledger::store::together::PairError;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestDatabase, server_url, spawn_app, spawn_app_with};

/// Every read model table as sorted JSON, to compare views before and after a rebuild.
pub(crate) async fn dump_read_models(app: &TestApp) -> Value {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'projection' ORDER BY table_name",
    )
    .fetch_all(&app.ledger.pool)
    .await
    .unwrap();
    let mut dump = serde_json::Map::new();
    for table in tables {
        let rows: Value = sqlx::query_scalar(&format!(
            "SELECT coalesce(json_agg(x ORDER BY x::text), '[]'::json) FROM projection.{table} x"
        ))
        .fetch_one(&app.ledger.pool)
        .await
        .unwrap();
        dump.insert(table, rows);
    }
    Value::Object(dump)
}

/// A small ledger: a customer with an owner, a project with a manager, a category, service
/// providers and an offering that went through several changes.
pub(crate) async fn populate(app: &TestApp) {
    let customer = app.create_customer("Acme Research").await;
    let owner = app.create_user("owner").await;
    app.grant("customers", &customer.uuid(), &owner, "CUSTOMER.OWNER")
        .await;
    let project = app.create_project(&customer.url(), "Climate").await;
    let manager = app.create_user("manager").await;
    app.grant("projects", &project.uuid(), &manager, "PROJECT.MANAGER")
        .await;
    let reply = app
        .patch(
            &format!("/api/customers/{}/", customer.uuid()),
            &app.admin_token,
            json!({"email": "info@acme.example", "blocked": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let category = app.create_category("HPC").await;
    let reply = app
        .post(
            "/api/marketplace-service-providers/",
            &app.admin_token,
            json!({"customer": customer.url()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let provider = app.create_provider("Compute Provider").await;
    let offering = app
        .create_offering(
            &provider.url(),
            &category.url(),
            "Marketplace.Slurm",
            json!({
                "components": [{"type": "cpu", "name": "CPU", "billing_type": "usage"}],
                "plans": [{"name": "Default", "unit": "month", "prices": {"cpu": 0.25}}],
            }),
        )
        .await;
    let base = format!("/api/marketplace-provider-offerings/{}", offering.uuid());
    for (action, body) in [
        (
            "add_endpoint",
            json!({"name": "Portal", "url": "https://hpc.example.org"}),
        ),
        (
            "update_overview",
            json!({"name": "Compute", "description": "Cores"}),
        ),
        ("activate", json!({})),
        ("pause", json!({"paused_reason": "upgrade"})),
    ] {
        let reply = app
            .post(&format!("{base}/{action}/"), &app.admin_token, body)
            .await;
        assert!(reply.status.is_success(), "{action}: {}", reply.text);
    }
    app.place_order(
        Uuid::parse_str(&offering.uuid()).unwrap(),
        Uuid::parse_str(&project.uuid()).unwrap(),
        Uuid::parse_str(&customer.uuid()).unwrap(),
        Uuid::parse_str(&provider.uuid()).unwrap(),
        Uuid::new_v4(),
    )
    .await;
}

#[tokio::test]
async fn orders_and_resources_are_projected_from_their_events() {
    let app = spawn_app().await;
    let (order, resource) = app
        .place_order(
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        )
        .await;

    let row: (String, String, Option<rust_decimal::Decimal>, Uuid, i64) = sqlx::query_as(
        "SELECT state, type, cost, resource_uuid, last_seq FROM projection.orders WHERE uuid = $1",
    )
    .bind(order)
    .fetch_one(&app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(row.0, "pending-provider");
    assert_eq!(row.1, "Create");
    assert_eq!(row.2, Some("12.5".parse().unwrap()));
    assert_eq!(row.3, resource);
    assert_eq!(row.4, 3);
    let state: String =
        sqlx::query_scalar("SELECT state FROM projection.resources WHERE uuid = $1")
            .bind(resource)
            .fetch_one(&app.ledger.pool)
            .await
            .unwrap();
    assert_eq!(state, "Creating");
}

/// Rejects a pending-provider order and settles its resource as one pair.
async fn reject_with_resource(
    app: &TestApp,
    order: Uuid,
    resource: Uuid,
) -> Result<(), PairError<OrderError, ResourceError>> {
    let ctx = CommandContext::system(Source::Cli);
    let reject = OrderCommand::RejectByProvider {
        reviewer: Uuid::nil(),
        comment: String::new(),
        at: ctx.now,
    };
    app.ledger
        .execute_pair::<Order, Resource>(
            (&order.simple().to_string(), reject),
            &resource.simple().to_string(),
            |_, events| {
                (!events.is_empty()).then(|| ResourceCommand::SettleOrder {
                    order_type: OrderType::Create,
                    outcome: OrderOutcome::Rejected,
                    plan_uuid: None,
                    limits: Default::default(),
                    at: ctx.now,
                })
            },
            &ctx,
        )
        .await
}

async fn event_count(app: &TestApp, aggregate_type: &str, id: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = $1 AND aggregate_id = $2",
    )
    .bind(aggregate_type)
    .bind(id.simple().to_string())
    .fetch_one(&app.ledger.pool)
    .await
    .unwrap()
}

async fn placed_order(app: &TestApp) -> (Uuid, Uuid) {
    let ids = [(); 5].map(|_| Uuid::new_v4());
    app.place_order(ids[0], ids[1], ids[2], ids[3], ids[4])
        .await
}

#[tokio::test]
async fn an_order_and_its_resource_change_in_one_transaction() {
    let app = spawn_app().await;
    let (order, resource) = placed_order(&app).await;

    reject_with_resource(&app, order, resource).await.unwrap();

    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT event_type, transaction_id::text FROM events \
         WHERE (aggregate_type, aggregate_id) IN (('order', $1), ('resource', $2)) \
         ORDER BY position DESC LIMIT 2",
    )
    .bind(order.simple().to_string())
    .bind(resource.simple().to_string())
    .fetch_all(&app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(rows[0].0, "ResourceStateChanged");
    assert_eq!(rows[1].0, "OrderRejectedByProvider");
    assert_eq!(
        rows[0].1, rows[1].1,
        "both events come from one transaction"
    );
    let states: (String, String) = sqlx::query_as(
        "SELECT o.state, r.state FROM projection.orders o \
         JOIN projection.resources r ON r.uuid = o.resource_uuid WHERE o.uuid = $1",
    )
    .bind(order)
    .fetch_one(&app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(states, ("rejected".to_string(), "Terminated".to_string()));
}

#[tokio::test]
async fn a_pair_whose_second_command_is_refused_commits_neither() {
    let app = spawn_app().await;
    let (order, _) = placed_order(&app).await;
    let before = event_count(&app, "order", order).await;

    let missing_resource = Uuid::new_v4();
    let result = reject_with_resource(&app, order, missing_resource).await;

    assert!(matches!(
        result,
        Err(PairError::Second(ResourceError::NotFound))
    ));
    assert_eq!(event_count(&app, "order", order).await, before);
}

#[tokio::test]
async fn concurrent_pairs_on_one_order_move_it_once() {
    let app = spawn_app().await;
    let (order, resource) = placed_order(&app).await;
    let (orders_before, resources_before) = (
        event_count(&app, "order", order).await,
        event_count(&app, "resource", resource).await,
    );

    let results =
        futures::future::join_all((0..8).map(|_| reject_with_resource(&app, order, resource)))
            .await;

    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(succeeded, 1, "{results:?}");
    for result in results.iter().filter(|r| r.is_err()) {
        assert!(
            matches!(
                result,
                Err(PairError::First(OrderError::InvalidState { .. })) | Err(PairError::Conflict)
            ),
            "{result:?}"
        );
    }
    assert_eq!(event_count(&app, "order", order).await, orders_before + 1);
    assert_eq!(
        event_count(&app, "resource", resource).await,
        resources_before + 1
    );
}

#[tokio::test]
async fn every_change_is_an_event_with_actor_request_source_time_and_position() {
    let app = spawn_app().await;

    let reply = app.create_customer("Acme").await;

    let row: (i64, String, Value, Value, String) = sqlx::query_as(
        "SELECT position, transaction_id::text, metadata, payload, event_type FROM events \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1",
    )
    .bind(reply.uuid())
    .fetch_one(&app.ledger.pool)
    .await
    .unwrap();
    let (position, xid, metadata, payload, event_type) = row;
    assert!(position > 0);
    assert!(xid.parse::<u64>().unwrap() > 0);
    assert_eq!(event_type, "CustomerCreated");
    assert_eq!(payload["CustomerCreated"]["details"]["name"], "Acme");
    assert_eq!(metadata["actor"], "admin");
    assert_eq!(metadata["source"], "api");
    assert_eq!(metadata["actor_uuid"].as_str().unwrap().len(), 32);
    assert_eq!(
        metadata["request_id"].as_str(),
        reply.header("x-request-id")
    );
    assert!(metadata["recorded_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_client_sees_its_write_in_the_very_next_read() {
    let app = spawn_app().await;

    for i in 0..5 {
        let created = app.create_customer(&format!("Org {i}")).await;
        let listed = app
            .get(
                &format!("/api/customers/?query={}", created.uuid()),
                &app.admin_token,
            )
            .await;
        assert_eq!(listed.count(), 1);
        assert_eq!(listed.items()[0]["uuid"], created.body["uuid"]);
    }
}

/// Appends a customer through the library, as a request would, but without inline projection.
async fn create_customer_without_projection(app: &TestApp, name: &str) -> Uuid {
    let uuid = Uuid::new_v4();
    let ctx = CommandContext::system(Source::Cli);
    let command = CustomerCommand::Create {
        uuid,
        slug: "x-1".into(),
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
    uuid
}

#[tokio::test]
async fn views_converge_on_restart_after_a_crash_between_event_and_view_update() {
    let crashed = spawn_app_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions {
            inline_projection: false,
            ..LedgerOptions::default()
        },
        0,
    )
    .await;
    let uuid = create_customer_without_projection(&crashed, "Committed Org").await;
    let projected = crashed
        .scalar_i64(&format!(
            "SELECT count(*) FROM projection.customers WHERE uuid = '{uuid}'"
        ))
        .await;
    assert_eq!(projected, 0, "the view must not have been updated yet");

    let restarted = crashed.restart(LedgerOptions::default(), 50).await;
    let path = format!("/api/customers/{}/", uuid.simple());

    let reply = eventually_found(&restarted, &path).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["name"], "Committed Org");
}

#[tokio::test]
async fn the_periodic_catch_up_applies_events_the_inline_path_missed() {
    let app = spawn_app_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions {
            inline_projection: false,
            ..LedgerOptions::default()
        },
        50,
    )
    .await;

    let uuid = create_customer_without_projection(&app, "Late Org").await;

    let path = format!("/api/customers/{}/", uuid.simple());
    let reply = eventually_found(&app, &path).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["name"], "Late Org");
}

/// Polls a detail path until it is found (or five seconds pass): the projector waits for
/// transactions still in flight anywhere on the server, so convergence may take a moment
/// (until then even the admin's token may be unknown to the read models).
async fn eventually_found(app: &TestApp, path: &str) -> crate::helpers::Reply {
    let mut reply = app.get(path, &app.admin_token).await;
    for _ in 0..100 {
        if reply.status != StatusCode::NOT_FOUND && reply.status != StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        reply = app.get(path, &app.admin_token).await;
    }
    reply
}

#[tokio::test]
async fn a_restart_keeps_everything_and_creates_no_second_admin() {
    let first = spawn_app().await;
    populate(&first).await;
    let before = dump_read_models(&first).await;

    let second = first.restart(LedgerOptions::default(), 100).await;

    assert_eq!(dump_read_models(&second).await, before);
    let me = second.get("/api/users/me/", &first.admin_token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        second
            .scalar_i64("SELECT count(*) FROM projection.users WHERE username = 'admin'")
            .await,
        1
    );
}

#[tokio::test]
async fn dropping_every_read_model_table_and_restarting_rebuilds_them_identically() {
    let first = spawn_app_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions::default(),
        0,
    )
    .await;
    populate(&first).await;
    let before = dump_read_models(&first).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'projection'",
    )
    .fetch_all(&first.ledger.pool)
    .await
    .unwrap();
    assert!(tables.len() >= 7);
    for table in &tables {
        sqlx::query(&format!("DROP TABLE projection.{table}"))
            .execute(&first.ledger.pool)
            .await
            .unwrap();
    }

    let second = first.restart(LedgerOptions::default(), 0).await;

    assert_eq!(dump_read_models(&second).await, before);
}

#[tokio::test]
async fn a_rebuild_reproduces_the_read_models_exactly() {
    let app = spawn_app().await;
    populate(&app).await;
    let before = dump_read_models(&app).await;

    assert_eq!(before["offerings"].as_array().unwrap().len(), 1);
    assert_eq!(before["plans"].as_array().unwrap().len(), 1);
    assert_eq!(before["orders"].as_array().unwrap().len(), 1);
    assert_eq!(before["resources"].as_array().unwrap().len(), 1);

    let applied = app.ledger.projector.rebuild().await.unwrap();

    assert!(applied > 10);
    assert_eq!(dump_read_models(&app).await, before);
}

async fn append_raw(tx: &mut sqlx::PgConnection, aggregate_id: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata) VALUES ('probe', $1, 1, 'Probed', '1', '{}', '{}') RETURNING position",
    )
    .bind(aggregate_id)
    .fetch_one(tx)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_log_reader_never_skips_an_event_that_commits_late_with_a_lower_position() {
    let app = spawn_app_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions::default(),
        0,
    )
    .await;
    let start = app.ledger.projector.checkpoint().await.unwrap();
    let pool = &app.ledger.pool;
    let mut slow = pool.begin().await.unwrap();
    let low = append_raw(&mut slow, "slow").await;
    let mut fast = pool.begin().await.unwrap();
    let high = append_raw(&mut fast, "fast").await;
    fast.commit().await.unwrap();
    assert!(low < high);

    let visible = log::read_after(pool, start, 100).await.unwrap();
    assert!(
        visible.iter().all(|e| e.aggregate_type != "probe"),
        "nothing may be read past a transaction still in flight"
    );

    slow.commit().await.unwrap();
    // Transactions of other databases on the server also hold the horizon back for a moment.
    let mut visible = Vec::new();
    for _ in 0..200 {
        visible = log::read_after(pool, start, 100).await.unwrap();
        if visible
            .iter()
            .filter(|e| e.aggregate_type == "probe")
            .count()
            == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let probes: Vec<i64> = visible
        .iter()
        .filter(|e| e.aggregate_type == "probe")
        .map(|e| e.position)
        .collect();
    assert_eq!(probes, vec![low, high]);
    let last = visible.last().unwrap().point();
    assert!(last > LogPoint::default());
    assert!(log::read_after(pool, last, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_transaction_left_open_in_another_database_does_not_hold_the_log_reader_back() {
    use sqlx::Connection;
    let app = spawn_app_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions::default(),
        0,
    )
    .await;
    let start = app.ledger.projector.checkpoint().await.unwrap();
    // A session of another database with a transaction id of its own, left open.
    let mut other = sqlx::PgConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .unwrap();
    let mut elsewhere = other.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *elsewhere)
        .await
        .unwrap();

    let mut ours = app.ledger.pool.begin().await.unwrap();
    let position = append_raw(&mut ours, "after-foreign").await;
    ours.commit().await.unwrap();

    let visible = log::read_after(&app.ledger.pool, start, 100).await.unwrap();
    assert!(
        visible.iter().any(|e| e.position == position),
        "an event committed after a foreign transaction began is read at once"
    );
    elsewhere.rollback().await.unwrap();
}

#[tokio::test]
async fn concurrent_partial_updates_of_one_customer_all_survive() {
    let app = spawn_app().await;
    let customer = app.create_customer("Busy Org").await;
    let path = format!("/api/customers/{}/", customer.uuid());

    let fields = [
        "email",
        "phone_number",
        "postal",
        "address",
        "bank_name",
        "vat_code",
    ];
    let values = [
        "a@example.com",
        "+372 555",
        "10111",
        "Main St 1",
        "Bank",
        "EE123",
    ];
    let replies = futures::future::join_all(fields.iter().zip(values).map(|(field, value)| {
        let path = path.clone();
        let app = &app;
        async move {
            app.patch(&path, &app.admin_token, json!({ *field: value }))
                .await
        }
    }))
    .await;

    for reply in &replies {
        assert!(
            reply.status == StatusCode::OK || reply.status == StatusCode::CONFLICT,
            "{} {}",
            reply.status,
            reply.text
        );
    }
    let current = app.get(&path, &app.admin_token).await;
    for ((field, value), reply) in fields.iter().zip(values).zip(&replies) {
        if reply.status == StatusCode::OK {
            assert_eq!(current.body[*field], value, "{field} was lost");
        }
    }
    let updates = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM events WHERE aggregate_id = '{}' \
             AND event_type = 'CustomerUpdated'",
            customer.uuid()
        ))
        .await;
    let succeeded = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count() as i64;
    assert_eq!(updates, succeeded);
}

#[tokio::test]
async fn two_servers_starting_on_an_empty_ledger_create_one_admin() {
    let db = Arc::new(TestDatabase::empty());
    let config = db.config();
    let server = ledger::config::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        catch_up_interval_ms: 0,
        ..Default::default()
    };
    let (a, b) = tokio::join!(
        ledger::server::Application::build(&config, &server, LedgerOptions::default()),
        ledger::server::Application::build(&config, &server, LedgerOptions::default()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());

    let tokens = [a.admin_token.is_some(), b.admin_token.is_some()];
    assert_eq!(tokens.iter().filter(|t| **t).count(), 1);
    let admins: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'user' AND event_type = 'UserCreated'",
    )
    .fetch_one(&a.ledger().pool)
    .await
    .unwrap();
    assert_eq!(admins, 1);
}
