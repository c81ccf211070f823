//! What a resource's dates and money come to: end dates set at ordering (Waldur's end
//! date cases), one-time and switch prices, the resource's cost, and rebuilding resources
//! that orders changed.

use reqwest::StatusCode;
use serde_json::json;

use crate::resource_orders::placed;
use crate::resource_world::world;

// ---------------------------------------------------------------------------------------------
// End dates (Waldur's test_order_crud end date cases)

#[tokio::test]
async fn an_end_date_in_the_attributes_becomes_the_resources_end_date_requested_by_the_user() {
    let w = world().await;
    let end_date = (chrono::Utc::now().date_naive() + chrono::Days::new(20)).to_string();

    let order = w
        .order_with(
            &w.consumer_owner.token,
            &w.offering,
            "Default",
            json!({"attributes": {"name": "dated", "end_date": end_date}}),
        )
        .await;

    let resource = order.body["marketplace_resource_uuid"].as_str().unwrap();
    let reply = w.app.resource(resource, &w.app.admin_token).await;
    assert_eq!(reply.body["end_date"], end_date.as_str());
    assert_eq!(
        reply.body["end_date_requested_by"],
        format!("{}/api/users/{}/", w.app.address, w.consumer_owner.uuid).as_str()
    );
}

#[tokio::test]
async fn a_required_end_date_defaults_to_the_offerings_offset() {
    let w = world().await;
    let offering = w
        .basic_offering(json!({
            "plugin_options": {
                "is_resource_termination_date_required": true,
                "default_resource_termination_offset_in_days": 7,
            },
            "plans": [{"name": "Default", "unit": "month"}],
        }))
        .await;

    let order = w
        .order_with(&w.consumer_owner.token, &offering, "Default", json!({}))
        .await;

    let resource = order.body["marketplace_resource_uuid"].as_str().unwrap();
    let reply = w.app.resource(resource, &w.app.admin_token).await;
    let created = reply.body["created"].as_str().unwrap()[..10]
        .parse::<chrono::NaiveDate>()
        .unwrap();
    let expected = (created + chrono::Days::new(7)).to_string();
    assert_eq!(reply.body["end_date"], expected.as_str());
    assert_eq!(reply.body["end_date_requested_by"], serde_json::Value::Null);
}

#[tokio::test]
async fn an_end_date_beyond_the_offerings_maximum_or_latest_date_is_refused() {
    let w = world().await;
    let offering = w
        .basic_offering(json!({
            "plugin_options": {
                "is_resource_termination_date_required": true,
                "default_resource_termination_offset_in_days": 7,
                "max_resource_termination_offset_in_days": 30,
                "latest_date_for_resource_termination": "2099-01-01",
            },
            "plans": [{"name": "Default", "unit": "month"}],
        }))
        .await;
    let body = |end_date: String| {
        json!({
            "project": w.project.url(),
            "offering": w.public_url(&offering),
            "plan": w.plan_url(&offering, "Default"),
            "attributes": {"name": "dated", "end_date": end_date},
        })
    };
    let today = chrono::Utc::now().date_naive();

    let beyond_offset = (today + chrono::Days::new(40)).to_string();
    let reply = w
        .app
        .post(
            "/api/marketplace-orders/",
            &w.consumer_owner.token,
            body(beyond_offset),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let within = (today + chrono::Days::new(10)).to_string();
    let reply = w
        .app
        .post(
            "/api/marketplace-orders/",
            &w.consumer_owner.token,
            body(within),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let latest = w
        .basic_offering(json!({
            "plugin_options": {"latest_date_for_resource_termination": "2030-01-01"},
            "plans": [{"name": "Default", "unit": "month"}],
        }))
        .await;
    let reply = w
        .app
        .post(
            "/api/marketplace-orders/",
            &w.consumer_owner.token,
            json!({
                "project": w.project.url(),
                "offering": w.public_url(&latest),
                "plan": w.plan_url(&latest, "Default"),
                "attributes": {"name": "late", "end_date": "2031-12-25"},
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        w.app
            .scalar_i64("SELECT count(*) FROM projection.resources")
            .await,
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Cost (Waldur's test_order_crud and test_resources cost cases)

#[tokio::test]
async fn one_time_and_switch_prices_are_charged_on_create_and_update_orders() {
    let w = world().await;
    let offering = w
        .basic_offering(json!({
            "components": [
                {"type": "setup", "name": "Setup", "billing_type": "one"},
                {"type": "cpu_hours", "name": "CPU hours", "billing_type": "usage"},
                {"type": "switch", "name": "Switch", "billing_type": "few"},
            ],
            "plans": [
                {"name": "Small", "unit": "month", "unit_price": "0",
                 "prices": {"setup": "100", "cpu_hours": "5", "switch": "0"}},
                {"name": "Big", "unit": "month", "unit_price": "0",
                 "prices": {"setup": "100", "cpu_hours": "5", "switch": "50"}},
            ],
        }))
        .await;

    let order = w
        .order_with(&w.app.admin_token, &offering, "Small", json!({}))
        .await;
    assert_eq!(order.body["cost"], "100.0000000000");
    let approve = w
        .app
        .order_action(
            &order.uuid(),
            "approve_by_provider",
            &w.provider_owner.token,
        )
        .await;
    assert_eq!(approve.status, StatusCode::OK, "{}", approve.text);
    let resource = order.body["marketplace_resource_uuid"].as_str().unwrap();

    let reply = w
        .app
        .resource_action(
            resource,
            "switch_plan",
            &w.consumer_owner.token,
            json!({"plan": w.plan_url(&offering, "Big")}),
        )
        .await;

    let update = w.app.order(&placed(&reply)).await;
    assert_eq!(update.body["cost"], "50.0000000000");
    assert_eq!(update.body["activation_price"], 50.0);
}

#[tokio::test]
async fn a_processed_basic_resource_costs_its_plans_unit_price() {
    let w = world().await;

    let resource = w.ok_resource(json!({"storage": 50})).await;

    let reply = w.app.resource(&resource, &w.app.admin_token).await;
    assert_eq!(reply.body["state"], "OK");
    assert_eq!(reply.body["cost"], "10.0000000000");
}

// ---------------------------------------------------------------------------------------------
// Rebuilds

/// The resource and order read models as sorted JSON.
async fn dump(app: &crate::helpers::TestApp) -> serde_json::Value {
    let mut dump = serde_json::Map::new();
    for table in ["resources", "orders"] {
        let rows: serde_json::Value = sqlx::query_scalar(&format!(
            "SELECT coalesce(json_agg(x ORDER BY x::text), '[]'::json) FROM projection.{table} x"
        ))
        .fetch_one(&app.ledger.pool)
        .await
        .unwrap();
        dump.insert(table.to_string(), rows);
    }
    serde_json::Value::Object(dump)
}

#[tokio::test]
async fn resources_changed_by_update_and_terminate_orders_rebuild_identically() {
    let w = world().await;
    let updated = w.ok_resource(json!({"storage": 50})).await;
    let order = placed(
        &w.update_limits(&updated, &w.consumer_owner.token, json!({"storage": 100}))
            .await,
    );
    w.app
        .order_action(&order, "approve_by_provider", &w.provider_owner.token)
        .await;
    let terminated = w.ok_resource(json!({"storage": 50})).await;
    let order = placed(
        &w.app
            .resource_action(&terminated, "terminate", &w.consumer_owner.token, json!({}))
            .await,
    );
    w.app
        .order_action(&order, "approve_by_provider", &w.provider_owner.token)
        .await;
    w.app
        .set_resource_backend_id(&updated, &w.provider_owner.token, "backend-1")
        .await;
    let before = dump(&w.app).await;
    assert_eq!(before["resources"].as_array().unwrap().len(), 2);
    assert_eq!(before["orders"].as_array().unwrap().len(), 4);

    w.app.ledger.projector.rebuild().await.unwrap();

    assert_eq!(dump(&w.app).await, before);
    let after = w.app.resource(&updated, &w.app.admin_token).await;
    assert_eq!(after.body["limits"], json!({"storage": 100}));
    assert_eq!(after.body["backend_id"], "backend-1");
    assert_eq!(w.state_of(&terminated).await, "Terminated");
}
