//! `PUT`/`PATCH /api/marketplace-orders/{uuid}/`: changing what a pending-consumer order
//! asks for, and its resource following while it is being created.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::Reply;
use crate::order_fixture::{ORDERS, World, world};

impl World {
    async fn update_order(&self, method: Method, order: &str, token: &str, body: Value) -> Reply {
        self.app
            .request(
                method,
                &format!("{ORDERS}{order}/"),
                Some(token),
                Some(body),
            )
            .await
    }

    /// The resource read model's document for the order's resource.
    async fn resource_document(&self, order: &str) -> Value {
        let resource =
            self.order(order, &self.app.admin_token).await.body["marketplace_resource_uuid"]
                .as_str()
                .unwrap()
                .to_string();
        sqlx::query_scalar("SELECT document FROM projection.resources WHERE uuid = $1::uuid")
            .bind(resource)
            .fetch_one(&self.app.ledger.pool)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_consumer_owner_patches_limits_and_the_order_is_priced_again() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let before = w.order(&order, &w.manager.token).await.body;
    assert_eq!(before["cost"], "30.0000000000");

    let reply = w
        .update_order(
            Method::PATCH,
            &order,
            &w.consumer_owner.token,
            json!({"limits": {"storage": 20}}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["uuid"], order);
    assert_eq!(reply.body["limits"], json!({"storage": 20}));
    assert_eq!(reply.body["cost"], "50.0000000000");
    assert_eq!(reply.body["attributes"], json!({"name": "my-res"}));
    assert_eq!(reply.body["state"], "pending-consumer");
    let after = w.order(&order, &w.manager.token).await.body;
    assert_eq!(after["limits"], json!({"storage": 20}));
    assert_eq!(after["cost"], "50.0000000000");
    assert_eq!(
        w.resource_document(&order).await["limits"],
        json!({"storage": 20})
    );
}

#[tokio::test]
async fn put_replaces_attributes_and_start_date_and_the_creating_resource_follows() {
    let w = world().await;
    let order = w.pending_consumer().await;

    let reply = w
        .update_order(
            Method::PUT,
            &order,
            &w.app.admin_token,
            json!({"attributes": {"name": "my-res", "flavor": "large"}, "start_date": "2031-05-01"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["attributes"],
        json!({"name": "my-res", "flavor": "large"})
    );
    assert_eq!(reply.body["start_date"], "2031-05-01");
    assert_eq!(reply.body["limits"], json!({"storage": 10}));
    let resource = w.resource_document(&order).await;
    assert_eq!(resource["spec"]["attributes"]["flavor"], "large");
    let updated = w
        .app
        .scalar_i64("SELECT count(*) FROM events WHERE event_type = 'OrderUpdated'")
        .await;
    assert_eq!(updated, 1);
}

#[tokio::test]
async fn project_managers_without_approve_cannot_update_and_strangers_do_not_see_the_order() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let body = json!({"limits": {"storage": 20}});

    let manager = w
        .update_order(Method::PATCH, &order, &w.manager.token, body.clone())
        .await;
    let provider = w
        .update_order(Method::PATCH, &order, &w.provider_owner.token, body.clone())
        .await;
    let stranger = w
        .update_order(Method::PATCH, &order, &w.stranger.token, body)
        .await;

    assert_eq!(manager.status, StatusCode::FORBIDDEN, "{}", manager.text);
    assert_eq!(provider.status, StatusCode::FORBIDDEN, "{}", provider.text);
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "{}", stranger.text);
    let after = w.order(&order, &w.manager.token).await.body;
    assert_eq!(after["limits"], json!({"storage": 10}));
}

#[tokio::test]
async fn an_order_past_the_consumer_review_cannot_be_updated() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let reply = w
        .action(&order, "approve_by_consumer", &w.consumer_owner.token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let reply = w
        .update_order(
            Method::PATCH,
            &order,
            &w.consumer_owner.token,
            json!({"limits": {"storage": 20}}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"detail": "Valid states for operation: pending-consumer."})
    );
}

#[tokio::test]
async fn limits_are_validated_as_when_the_order_was_placed() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let token = &w.consumer_owner.token;

    let fixed = w
        .update_order(Method::PATCH, &order, token, json!({"limits": {"seat": 2}}))
        .await;
    let too_many = w
        .update_order(
            Method::PATCH,
            &order,
            token,
            json!({"limits": {"storage": 5000}}),
        )
        .await;
    let not_a_number = w
        .update_order(
            Method::PATCH,
            &order,
            token,
            json!({"limits": {"storage": "lots"}}),
        )
        .await;
    let bad_date = w
        .update_order(Method::PATCH, &order, token, json!({"start_date": "soon"}))
        .await;

    assert_eq!(fixed.status, StatusCode::BAD_REQUEST, "{}", fixed.text);
    assert_eq!(fixed.body, json!({"limits": ["Invalid types: seat"]}));
    assert_eq!(
        too_many.status,
        StatusCode::BAD_REQUEST,
        "{}",
        too_many.text
    );
    assert_eq!(
        too_many.body,
        json!({"limits": ["The limit 5000 value cannot be more than 1000."]})
    );
    assert_eq!(
        not_a_number.body,
        json!({"limits": {"storage": ["A valid integer is required."]}})
    );
    assert_eq!(
        bad_date.body,
        json!({"start_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]})
    );
    let after = w.order(&order, token).await.body;
    assert_eq!(after["limits"], json!({"storage": 10}));
    assert_eq!(after["cost"], "30.0000000000");
}

#[tokio::test]
async fn an_order_of_an_expired_project_cannot_be_updated() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let today = chrono::Utc::now().date_naive().to_string();
    let patched = w
        .app
        .patch(
            &format!("/api/projects/{}/", w.project.uuid()),
            &w.app.admin_token,
            json!({"end_date": today}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);

    let reply = w
        .update_order(
            Method::PATCH,
            &order,
            &w.app.admin_token,
            json!({"limits": {"storage": 20}}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, json!(["Project 'Alpha' is expired."]));
}

/// The order and resource read models as sorted JSON.
async fn dump_orders_and_resources(w: &World) -> Value {
    let mut dump = serde_json::Map::new();
    for table in ["orders", "resources"] {
        let rows: Value = sqlx::query_scalar(&format!(
            "SELECT coalesce(json_agg(x ORDER BY x::text), '[]'::json) FROM projection.{table} x"
        ))
        .fetch_one(&w.app.ledger.pool)
        .await
        .unwrap();
        dump.insert(table.to_string(), rows);
    }
    Value::Object(dump)
}

#[tokio::test]
async fn updated_orders_and_their_resources_rebuild_to_the_same_read_models() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let reply = w
        .update_order(
            Method::PATCH,
            &order,
            &w.consumer_owner.token,
            json!({"limits": {"storage": 30}, "attributes": {"name": "renamed"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let before = dump_orders_and_resources(&w).await;
    assert_eq!(before["orders"][0]["name"], "renamed");

    w.app.ledger.projector.rebuild().await.unwrap();

    assert_eq!(dump_orders_and_resources(&w).await, before);
}
