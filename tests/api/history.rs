//! What the log tells auditors and clients: histories in Waldur's `VersionHistory` shape,
//! every event of an object, objects and the order list as they were at a time, and the
//! auditor, who reads everything and writes nothing.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestUser;
use crate::order_fixture::{ORDERS, World, world};

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
        .replace('+', "%2B")
}

/// A moment between two steps: the log's clock moves on before and after it.
async fn moment() -> DateTime<Utc> {
    tokio::time::sleep(Duration::from_millis(30)).await;
    let at = Utc::now();
    tokio::time::sleep(Duration::from_millis(30)).await;
    at
}

/// An order walked to done by three users, with the moments between the steps.
struct Walked {
    world: World,
    order: String,
    /// Before the order existed, after each step.
    moments: Vec<DateTime<Utc>>,
}

async fn walked() -> Walked {
    let world = world().await;
    let before = moment().await;
    let order = world.pending_consumer().await;
    let placed = moment().await;
    let approve = world
        .action(&order, "approve_by_consumer", &world.consumer_owner.token)
        .await;
    assert_eq!(approve.status, StatusCode::OK, "{}", approve.text);
    let approved = moment().await;
    let state = world.order(&order, &world.app.admin_token).await.body["state"].clone();
    if state == "pending-provider" {
        let reply = world
            .action(&order, "approve_by_provider", &world.provider_owner.token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let state = world.order(&order, &world.app.admin_token).await.body["state"].clone();
    if state == "executing" {
        let reply = world
            .action(&order, "set_state_done", &world.provider_owner.token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let done = moment().await;
    let state = world.order(&order, &world.app.admin_token).await.body["state"].clone();
    assert_eq!(state, "done");
    Walked {
        world,
        order,
        moments: vec![before, placed, approved, done],
    }
}

fn usernames(history: &Value) -> Vec<String> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v["revision_user"]["username"]
                .as_str()
                .unwrap_or("-")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn an_orders_history_events_and_past_states_show_each_step_and_its_actor() {
    let Walked {
        world,
        order,
        moments,
    } = walked().await;
    let app = &world.app;

    // History: newest first, one version per change, each with its actor.
    let history = app
        .get(
            &format!("{ORDERS}{order}/history/?page_size=50"),
            &world.manager.token,
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    let names = usernames(&history.body);
    assert_eq!(names.last().unwrap(), "manager", "{names:?}");
    assert!(names.contains(&"consumer-owner".to_string()), "{names:?}");
    let newest = &history.items()[0];
    assert_eq!(newest["serialized_data"]["state"], "Done");
    let oldest = history.items().last().unwrap();
    assert_eq!(oldest["serialized_data"]["state"], "PendingConsumer");
    assert_eq!(oldest["revision_comment"], "Order placed");
    assert_eq!(oldest["revision_user"]["uuid"], json!(world.manager.uuid));
    for version in history.items() {
        for key in [
            "id",
            "revision_date",
            "revision_user",
            "revision_comment",
            "serialized_data",
        ] {
            assert!(version.get(key).is_some(), "{key}");
        }
    }
    let ids: Vec<i64> = history
        .items()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    // The filters keep the versions of a time span.
    let early = app
        .get(
            &format!(
                "{ORDERS}{order}/history/?created_before={}",
                stamp(moments[1])
            ),
            &world.manager.token,
        )
        .await;
    assert_eq!(early.count(), 1, "{}", early.text);
    let late = app
        .get(
            &format!(
                "{ORDERS}{order}/history/?created_after={}",
                stamp(moments[2])
            ),
            &world.manager.token,
        )
        .await;
    assert!(
        late.items()
            .iter()
            .all(|v| v["revision_user"]["username"] != "manager")
    );

    // Every event, in order, as recorded.
    let events = app
        .get(
            &format!("{ORDERS}{order}/events/?page_size=50"),
            &world.manager.token,
        )
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text);
    let stored = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM events WHERE aggregate_type = 'order' AND aggregate_id = '{order}'"
        ))
        .await;
    assert_eq!(events.count(), stored);
    let first = &events.items()[0];
    assert_eq!(first["type"], "OrderPlaced");
    assert_eq!(first["sequence"], 1);
    assert_eq!(first["actor"], "manager");
    assert_eq!(first["source"], "api");
    assert!(first["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(first["payload"]["OrderPlaced"].is_object());
    let sequences: Vec<i64> = events
        .items()
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] + 1 == w[1]));

    // The order as it was after each step.
    let as_of = |at: DateTime<Utc>| {
        let path = format!("{ORDERS}{order}/?as_of={}", stamp(at));
        async move { app.get(&path, &app.admin_token).await }
    };
    assert_eq!(as_of(moments[0]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(as_of(moments[1]).await.body["state"], "pending-consumer");
    let approved = as_of(moments[2]).await;
    assert_ne!(approved.body["state"], "pending-consumer");
    assert_eq!(approved.body["consumer_reviewed_by"], "consumer-owner");
    assert_eq!(as_of(moments[3]).await.body["state"], "done");
    let bad = app
        .get(
            &format!("{ORDERS}{order}/?as_of=yesterday"),
            &app.admin_token,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body, json!({"as_of": ["Invalid timestamp format."]}));

    // The version at a time.
    let at = |query: String| {
        let path = format!("{ORDERS}{order}/history/at/{query}");
        async move { app.get(&path, &app.admin_token).await }
    };
    let placed = at(format!("?timestamp={}", stamp(moments[1]))).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.text);
    assert_eq!(placed.body["serialized_data"]["state"], "PendingConsumer");
    assert!(placed.body["queried_at"].is_string());
    let missing = at(String::new()).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.body,
        json!({"timestamp": "This parameter is required."})
    );
    let malformed = at("?timestamp=soon".into()).await;
    assert_eq!(
        malformed.body,
        json!({"timestamp": "Invalid timestamp format."})
    );
    let before = at(format!("?timestamp={}", stamp(moments[0]))).await;
    assert_eq!(before.status, StatusCode::NOT_FOUND);
    assert_eq!(
        before.body,
        json!({"detail": "No version found before the specified timestamp."})
    );

    // Whoever cannot see the order gets 404.
    for path in [
        format!("{ORDERS}{order}/history/"),
        format!("{ORDERS}{order}/events/"),
    ] {
        let reply = app.get(&path, &world.stranger.token).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_orders_list_as_it_was() {
    let Walked {
        world,
        order,
        moments,
    } = walked().await;
    let app = &world.app;
    let list = |query: String, token: String| {
        let path = format!("{ORDERS}?{query}");
        async move { app.get(&path, &token).await }
    };
    let empty = list(
        format!("as_of={}", stamp(moments[0])),
        app.admin_token.clone(),
    )
    .await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text);
    assert_eq!(empty.count(), 0);
    let pending = list(
        format!("as_of={}&state=pending-consumer", stamp(moments[1])),
        world.manager.token.clone(),
    )
    .await;
    assert_eq!(pending.count(), 1, "{}", pending.text);
    assert_eq!(pending.items()[0]["uuid"], json!(order));
    assert_eq!(pending.items()[0]["state"], "pending-consumer");
    let done_then = list(
        format!("as_of={}&state=done", stamp(moments[1])),
        app.admin_token.clone(),
    )
    .await;
    assert_eq!(done_then.count(), 0);
    let done_now = list(
        format!("as_of={}&state=done", stamp(moments[3])),
        app.admin_token.clone(),
    )
    .await;
    assert_eq!(done_now.count(), 1);
    let stranger = list(
        format!("as_of={}", stamp(moments[3])),
        world.stranger.token.clone(),
    )
    .await;
    assert_eq!(stranger.count(), 0);
}

async fn history_of(world: &World, path: &str, user: &TestUser) -> reqwest::StatusCode {
    world.app.get(path, &user.token).await.status
}

#[tokio::test]
async fn histories_of_offerings_plans_resources_customers_and_users_are_for_staff_and_support() {
    let world = world().await;
    let app = &world.app;
    let order = world.place(&world.consumer_owner, json!({})).await;
    let resource = order.body["marketplace_resource_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let offering = world.offering.uuid();
    let plan = world.offering.body["plans"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let support = app.create_support_user("support").await;
    let paths = [
        format!("/api/marketplace-provider-offerings/{offering}/history/"),
        format!("/api/marketplace-plans/{plan}/history/"),
        format!("/api/marketplace-resources/{resource}/history/"),
        format!("/api/marketplace-provider-resources/{resource}/history/"),
        format!("/api/customers/{}/history/", world.consumer.uuid()),
        format!("/api/users/{}/history/", world.manager.uuid),
    ];
    // Users who see each object but are neither staff nor support.
    let seers = [
        &world.provider_owner,
        &world.provider_owner,
        &world.consumer_owner,
        &world.provider_owner,
        &world.consumer_owner,
        &world.consumer_owner,
    ];
    for (path, seer) in paths.iter().zip(seers) {
        let staff = app.get(path, &app.admin_token).await;
        assert_eq!(staff.status, StatusCode::OK, "{path}: {}", staff.text);
        assert!(staff.count() >= 1, "{path}");
        assert_eq!(
            history_of(&world, path, &support).await,
            StatusCode::OK,
            "{path}"
        );
        assert_eq!(
            history_of(&world, path, seer).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        let at = app
            .get(
                &format!("{path}at/?timestamp={}", stamp(Utc::now())),
                &app.admin_token,
            )
            .await;
        assert_eq!(at.status, StatusCode::OK, "{path}: {}", at.text);
    }
    let unknown = app
        .get(
            &format!("/api/customers/{}/history/", uuid::Uuid::new_v4().simple()),
            &app.admin_token,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // A plan's history shows the plan; a user's never shows a token or its hash.
    let plan_history = app.get(&paths[1], &app.admin_token).await;
    let shown = plan_history.items()[0]["serialized_data"]["uuid"]
        .as_str()
        .unwrap()
        .replace('-', "");
    assert_eq!(shown, plan);
    let user_history = app.get(&paths[5], &app.admin_token).await;
    assert_eq!(
        user_history.items()[0]["serialized_data"]["username"],
        "manager"
    );
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM projection.user_tokens")
        .fetch_all(&app.ledger.pool)
        .await
        .unwrap();
    for hash in hashes {
        assert!(!user_history.text.contains(&hash));
    }
    assert!(!user_history.text.contains(&world.manager.token));

    // Resources and offerings also as they were.
    let resource_then = app
        .get(
            &format!(
                "/api/marketplace-resources/{resource}/?as_of={}",
                stamp(Utc::now())
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(
        resource_then.status,
        StatusCode::OK,
        "{}",
        resource_then.text
    );
    let offering_then = app
        .get(
            &format!(
                "/api/marketplace-provider-offerings/{offering}/?as_of={}",
                stamp(Utc::now())
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(
        offering_then.status,
        StatusCode::OK,
        "{}",
        offering_then.text
    );
    let events = app
        .get(
            &format!("/api/marketplace-resources/{resource}/events/"),
            &world.consumer_owner.token,
        )
        .await;
    assert_eq!(events.status, StatusCode::OK);
    assert_eq!(events.items()[0]["type"], "ResourceCreated");
}

#[tokio::test]
async fn an_auditor_reads_the_whole_log_and_is_refused_every_write() {
    let world = world().await;
    let app = &world.app;
    let ctx = ledger::store::metadata::CommandContext::system(ledger::store::metadata::Source::Cli);
    let (uuid, token) = ledger::app::directory::token_for(&app.ledger, &ctx, "auditor", false)
        .await
        .unwrap();
    ledger::app::directory::grant_auditor(&app.ledger, &ctx, uuid)
        .await
        .unwrap();

    let page = app.get("/api/ledger/events/?limit=5", &token).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let first = page.body.as_array().unwrap();
    assert_eq!(first.len(), 5);
    let last = first.last().unwrap()["position"].as_i64().unwrap();
    let next = app
        .get(
            &format!("/api/ledger/events/?after={last}&limit=1000"),
            &token,
        )
        .await;
    let total = app.scalar_i64("SELECT count(*) FROM events").await;
    assert_eq!(5 + next.body.as_array().unwrap().len() as i64, total);
    let mut positions: Vec<i64> = first
        .iter()
        .chain(next.body.as_array().unwrap())
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    positions.sort_unstable();
    positions.dedup();
    assert_eq!(
        positions.len() as i64,
        total,
        "no event twice, none left out"
    );

    // Reads everything.
    let orders = app.get(ORDERS, &token).await;
    assert_eq!(orders.status, StatusCode::OK);
    let history = app
        .get(
            &format!("/api/customers/{}/history/", world.consumer.uuid()),
            &token,
        )
        .await;
    assert_eq!(history.status, StatusCode::OK);
    // Writes nothing.
    for (method, path) in [
        (Method::POST, "/api/customers/".to_string()),
        (
            Method::PATCH,
            format!("/api/customers/{}/", world.consumer.uuid()),
        ),
        (Method::POST, ORDERS.to_string()),
        (
            Method::DELETE,
            format!("/api/projects/{}/", world.project.uuid()),
        ),
    ] {
        let reply = app
            .request(
                method.clone(),
                &path,
                Some(&token),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    // Others may not read the log.
    let refused = app
        .get("/api/ledger/events/", &world.consumer_owner.token)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let staff = app
        .get("/api/ledger/events/?after=0&limit=2", &app.admin_token)
        .await;
    assert_eq!(staff.body.as_array().unwrap().len(), 2);
}
