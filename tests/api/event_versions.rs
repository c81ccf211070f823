//! Event versions: a role grant stored in its version-1 shape (the grantor only in the
//! metadata) reads back as version 2 (the grantor in the payload) through the aggregate
//! load and through a rebuild of the read models; new grants are stored as version 2.

use cqrs_es::EventStore;
use ledger::domain::customer::{Customer, CustomerEvent};
use ledger::store::codec;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

/// Appends a `CustomerRoleGranted` event as version 1 wrote it, granted by `granter`.
async fn append_version_1_grant(app: &TestApp, customer: &str, user: &str, granter: &str) {
    let payload = json!({"CustomerRoleGranted": {
        "user_uuid": Uuid::parse_str(user).unwrap(),
        "role": "CUSTOMER.OWNER",
        "expiration_time": null,
        "at": "2024-05-01T10:00:00Z",
    }});
    let metadata = json!({
        "actor": "admin",
        "actor_uuid": granter,
        "request_id": "old-request",
        "source": "api",
        "recorded_at": "2024-05-01T10:00:00.000000Z",
    });
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
         event_version, payload, metadata) \
         SELECT 'customer', $1, max(sequence) + 1, 'CustomerRoleGranted', '1', $2, $3 \
         FROM events WHERE aggregate_type = 'customer' AND aggregate_id = $1",
    )
    .bind(customer)
    .bind(payload)
    .bind(metadata)
    .execute(&app.ledger.pool)
    .await
    .expect("the old event is appended");
}

async fn owners_listed(app: &TestApp, customer: &str) -> Vec<Value> {
    let reply = app
        .get(
            &format!("/api/customers/{customer}/list_users/"),
            &app.admin_token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.items().clone()
}

#[tokio::test]
async fn a_version_1_role_grant_reads_back_as_version_2_through_the_aggregate_and_a_rebuild() {
    // Arrange
    let app = spawn_app().await;
    let customer = app.create_customer("Old Org").await.uuid();
    let owner = app.create_user("old-owner").await;
    let granter = app.get("/api/users/me/", &app.admin_token).await.uuid();
    append_version_1_grant(&app, &customer, &owner.uuid, &granter).await;

    // Act
    let loaded = codec::event_store::<Customer>(app.ledger.pool.clone())
        .load_events(&customer)
        .await
        .expect("the customer's events load");
    app.ledger
        .projector
        .rebuild()
        .await
        .expect("the read models rebuild");
    let listed = owners_listed(&app, &customer).await;
    // The aggregate knows the grant: revoking it goes through.
    let revoked = app
        .post(
            &format!("/api/customers/{customer}/delete_user/"),
            &app.admin_token,
            json!({"user": owner.uuid, "role": "CUSTOMER.OWNER"}),
        )
        .await;

    // Assert
    let last = loaded.last().expect("events").payload.clone();
    assert_eq!(
        last,
        CustomerEvent::CustomerRoleGranted {
            user_uuid: Uuid::parse_str(&owner.uuid).unwrap(),
            role: "CUSTOMER.OWNER".into(),
            expiration_time: None,
            granted_by: Some(Uuid::parse_str(&granter).unwrap()),
            at: "2024-05-01T10:00:00Z".parse().unwrap(),
        }
    );
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["user_uuid"], owner.uuid.as_str());
    assert_eq!(listed[0]["created_by_uuid"], granter.as_str());
    assert!(revoked.status.is_success(), "{}", revoked.text);
}

#[tokio::test]
async fn a_new_role_grant_is_stored_as_version_2_naming_its_grantor() {
    // Arrange
    let app = spawn_app().await;
    let customer = app.create_customer("New Org").await.uuid();
    let owner = app.create_user("new-owner").await;
    let granter = app.get("/api/users/me/", &app.admin_token).await.uuid();

    // Act
    app.grant("customers", &customer, &owner, "CUSTOMER.OWNER")
        .await;

    // Assert
    let (version, payload): (String, Value) = sqlx::query_as(
        "SELECT event_version, payload FROM events \
         WHERE aggregate_id = $1 AND event_type = 'CustomerRoleGranted'",
    )
    .bind(&customer)
    .fetch_one(&app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(version, "2");
    assert_eq!(
        payload["CustomerRoleGranted"]["granted_by"],
        json!(Uuid::parse_str(&granter).unwrap())
    );
}
