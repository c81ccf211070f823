//! `Idempotency-Key` on POST: a retry gets the first response and appends nothing; the
//! same key with another body is a 422; keys expire after a day; concurrent retries run
//! once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, spawn_app};
use crate::order_fixture::world;

async fn post_with_key(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> Reply {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .header("Authorization", format!("Token {token}"))
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    TestApp::reply(response).await
}

async fn events(app: &TestApp) -> i64 {
    app.scalar_i64("SELECT count(*) FROM events").await
}

#[tokio::test]
async fn a_retry_with_the_same_key_gets_the_first_answer_and_appends_nothing() {
    let app = spawn_app().await;
    let body = json!({"name": "Once Org"});
    let first = post_with_key(
        &app,
        "/api/customers/",
        &app.admin_token,
        "k-1",
        body.clone(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let after_first = events(&app).await;

    let retry = post_with_key(
        &app,
        "/api/customers/",
        &app.admin_token,
        "k-1",
        body.clone(),
    )
    .await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.text, first.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(events(&app).await, after_first);
    let listed = app
        .get("/api/customers/?name=Once%20Org", &app.admin_token)
        .await;
    assert_eq!(listed.count(), 1);

    // The same key with another body is refused.
    let other = post_with_key(
        &app,
        "/api/customers/",
        &app.admin_token,
        "k-1",
        json!({"name": "Twice Org"}),
    )
    .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        other.body,
        json!({"detail": "This Idempotency-Key was used with another request."})
    );

    // A refusal is kept too, and another token's key of the same name is its own.
    let invalid = post_with_key(&app, "/api/customers/", &app.admin_token, "k-2", json!({})).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    let again = post_with_key(&app, "/api/customers/", &app.admin_token, "k-2", json!({})).await;
    assert_eq!(again.text, invalid.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let user = app.create_user("someone").await;
    let theirs = post_with_key(&app, "/api/customers/", &user.token, "k-1", body).await;
    assert_ne!(theirs.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn a_retried_action_runs_once() {
    let world = world().await;
    let app = &world.app;
    let order = world.place(&world.consumer_owner, json!({})).await;
    let path = format!(
        "/api/marketplace-orders/{}/approve_by_provider/",
        order.uuid()
    );
    let state = order.body["state"].clone();
    assert_eq!(state, "pending-provider", "{}", order.text);
    let first = post_with_key(
        app,
        &path,
        &world.provider_owner.token,
        "approve-1",
        json!({}),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let after_first = events(app).await;
    let retry = post_with_key(
        app,
        &path,
        &world.provider_owner.token,
        "approve-1",
        json!({}),
    )
    .await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(retry.text, first.text);
    assert_eq!(events(app).await, after_first);
    // Without a key, the same action again is refused by the order's state.
    let plain = app
        .post(&path, &world.provider_owner.token, json!({}))
        .await;
    assert_eq!(plain.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_run_once() {
    let app = spawn_app().await;
    let body = json!({"name": "Concurrent Org"});
    let attempts: Vec<_> = (0..5)
        .map(|_| {
            post_with_key(
                &app,
                "/api/customers/",
                &app.admin_token,
                "same",
                body.clone(),
            )
        })
        .collect();
    let replies = futures::future::join_all(attempts).await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.text, replies[0].text);
    }
    let listed = app
        .get("/api/customers/?name=Concurrent%20Org", &app.admin_token)
        .await;
    assert_eq!(listed.count(), 1);
}

#[tokio::test]
async fn a_key_expires_after_a_day() {
    let app = spawn_app().await;
    let body = json!({"name": "Daily Org"});
    let first = post_with_key(
        &app,
        "/api/customers/",
        &app.admin_token,
        "daily",
        body.clone(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&app.ledger.pool)
        .await
        .unwrap();
    let later = post_with_key(&app, "/api/customers/", &app.admin_token, "daily", body).await;
    assert_eq!(later.status, StatusCode::CREATED);
    assert_ne!(later.body["uuid"], first.body["uuid"]);
    assert_ne!(later.header("idempotent-replayed"), Some("true"));
    let purged = ledger::store::idempotency::purge_expired(&app.ledger.pool)
        .await
        .unwrap();
    assert_eq!(
        purged, 0,
        "the expired key was replaced, the new one is fresh"
    );
}
