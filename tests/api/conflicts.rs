//! A write conflict that outlives its retries is answered 409 on every command path: a
//! single aggregate, an order with its resource, and the resource commands placed after
//! their own checks. A trigger makes every append to one aggregate collide, as a writer
//! that always wins the race would.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

/// From now on, every append to `aggregate_id` fails as a taken sequence number does.
async fn always_conflict(app: &TestApp, aggregate_id: &str) {
    sqlx::raw_sql(&format!(
        "CREATE OR REPLACE FUNCTION always_conflict() RETURNS trigger AS $$ \
         BEGIN \
           IF NEW.aggregate_id = '{aggregate_id}' THEN \
             RAISE unique_violation USING MESSAGE = 'duplicate key value'; \
           END IF; \
           RETURN NEW; \
         END $$ LANGUAGE plpgsql; \
         DROP TRIGGER IF EXISTS always_conflict ON events; \
         CREATE TRIGGER always_conflict BEFORE INSERT ON events \
         FOR EACH ROW EXECUTE FUNCTION always_conflict();"
    ))
    .execute(&app.ledger.pool)
    .await
    .unwrap();
}

fn simple(uuid: &str) -> String {
    Uuid::parse_str(uuid).unwrap().simple().to_string()
}

#[tokio::test]
async fn a_lasting_conflict_on_one_aggregate_is_a_409_and_appends_nothing() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    always_conflict(&app, &simple(&customer.uuid())).await;
    let before = app.scalar_i64("SELECT count(*) FROM events").await;

    let reply = app
        .patch(
            &format!("/api/customers/{}/", customer.uuid()),
            &app.admin_token,
            json!({"name": "Renamed"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"detail": "The object was changed by another request; try again."})
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM events").await, before);
}

/// A Basic offering's order waiting for the provider, and its resource.
async fn pending_basic_order(app: &TestApp) -> (Uuid, Uuid) {
    let consumer = app.create_customer("Consumer").await;
    let project = app.create_project(&consumer.url(), "Project").await;
    let provider = app.create_provider("Provider").await;
    let category = app.create_category("Category").await;
    let offering = app
        .create_offering(
            &provider.url(),
            &category.url(),
            "Marketplace.Basic",
            json!({}),
        )
        .await;
    let uuid = |reply: &crate::helpers::Reply| Uuid::parse_str(&reply.uuid()).unwrap();
    let admin = app.get("/api/users/me/", &app.admin_token).await;
    app.place_order(
        uuid(&offering),
        uuid(&project),
        uuid(&consumer),
        uuid(&provider),
        uuid(&admin),
    )
    .await
}

#[tokio::test]
async fn a_lasting_conflict_on_an_order_moved_with_its_resource_is_a_409_and_moves_neither() {
    let app = spawn_app().await;
    let (order, _resource) = pending_basic_order(&app).await;
    always_conflict(&app, &order.simple().to_string()).await;
    let before = app.scalar_i64("SELECT count(*) FROM events").await;

    let reply = app
        .post(
            &format!("/api/marketplace-orders/{order}/approve_by_provider/"),
            &app.admin_token,
            json!({}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(app.scalar_i64("SELECT count(*) FROM events").await, before);
    let read = app
        .get(
            &format!("/api/marketplace-orders/{order}/"),
            &app.admin_token,
        )
        .await;
    assert_eq!(read.body["state"], "pending-provider");
}

#[tokio::test]
async fn a_lasting_conflict_on_a_resource_backend_id_is_a_409() {
    let app = spawn_app().await;
    let (_order, resource) = pending_basic_order(&app).await;
    always_conflict(&app, &resource.simple().to_string()).await;

    let reply = app
        .post(
            &format!("/api/marketplace-provider-resources/{resource}/set_backend_id/"),
            &app.admin_token,
            json!({"backend_id": "vm-42"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
}
