//! Numbers at the edge of what Waldur stores: prices as `DecimalField(22, 10)`, component
//! limits as integer columns, and order costs that must fit `cost numeric(22, 10)`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::Reply;
use crate::resource_orders::placed;
use crate::resource_world::{ORDERS, World, world};

const COST_TOO_LARGE: &str =
    "Ensure that the order cost has no more than 12 digits before the decimal point.";
const DECIMAL_MAX: &str = "79228162514264337593543950335";
const TOO_MANY_DIGITS: &str = "Ensure that there are no more than 22 digits in total.";
const TOO_MANY_PLACES: &str = "Ensure that there are no more than 10 decimal places.";
const TOO_MANY_WHOLE: &str =
    "Ensure that there are no more than 12 digits before the decimal point.";

fn assert_refused(reply: &Reply, body: Value) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, body);
}

/// A `cpu` limit component without bounds and plans priced per `cpu`.
fn cpu_offering(plans: Value) -> Value {
    json!({
        "components": [{"type": "cpu", "name": "CPU", "billing_type": "limit"}],
        "plans": plans,
    })
}

impl World {
    /// An active offering whose `Default` plan prices `cpu` at 10; it becomes the world's
    /// offering.
    async fn with_cpu_offering(&mut self) {
        self.offering = self
            .basic_offering(cpu_offering(json!([
                {"name": "Default", "unit": "month", "unit_price": "0", "prices": {"cpu": "10"}},
                {"name": "Huge", "unit": "month", "unit_price": "0",
                 "prices": {"cpu": "999999999999"}},
            ])))
            .await;
    }

    /// Posts a Create order of the world's offering on plan `plan` without checking it.
    async fn try_order(&self, token: &str, plan: &str, limits: Value) -> Reply {
        let body = json!({
            "project": self.project.url(),
            "offering": self.public_url(&self.offering),
            "plan": self.plan_url(&self.offering, plan),
            "attributes": {"name": "my-res"},
            "limits": limits,
            "accepting_terms_of_service": true,
        });
        self.app.post(ORDERS, token, body).await
    }

    async fn order_events(&self) -> i64 {
        self.app
            .scalar_i64("SELECT count(*) FROM events WHERE aggregate_type = 'order'")
            .await
    }

    async fn create_offering_with(&self, extra: Value) -> Reply {
        let mut body = json!({
            "name": "Bounded",
            "category": self.category.url(),
            "customer": self.provider.url(),
            "type": "Marketplace.Basic",
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.app
            .post(
                "/api/marketplace-provider-offerings/",
                &self.app.admin_token,
                body,
            )
            .await
    }

    fn plan_path(&self, name: &str) -> String {
        format!(
            "/api/marketplace-plans/{}/",
            crate::world::plan_uuid(&self.offering, name)
        )
    }

    /// An ordinary order still works and the order list still answers with it.
    async fn assert_orders_still_flow(&self) {
        let reply = self
            .try_order(&self.app.admin_token, "Default", json!({"cpu": 2}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.body["cost"], "20.0000000000");
        let list = self.app.get(ORDERS, &self.app.admin_token).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        assert!(
            list.items().iter().any(|o| o["uuid"] == reply.body["uuid"]),
            "{}",
            list.text
        );
    }
}

// ---------------------------------------------------------------------------------------
// Order cost

#[tokio::test]
async fn an_order_whose_cost_exceeds_the_cost_column_is_refused_on_its_limits_and_appends_nothing()
{
    let mut w = world().await;
    w.with_cpu_offering().await;
    let before = w.order_events().await;

    let reply = w
        .try_order(
            &w.app.admin_token,
            "Default",
            json!({"cpu": 100_000_000_000_i64}),
        )
        .await;

    assert_refused(&reply, json!({"limits": [COST_TOO_LARGE]}));
    assert_eq!(w.order_events().await, before);
    w.assert_orders_still_flow().await;
}

#[tokio::test]
async fn a_price_of_rust_decimals_maximum_is_refused_and_orders_on_the_offering_still_price_exactly()
 {
    let mut w = world().await;
    w.with_cpu_offering().await;

    let create = w
        .create_offering_with(cpu_offering(json!([
            {"name": "Max", "unit": "month", "prices": {"cpu": DECIMAL_MAX}},
        ])))
        .await;
    let update = w
        .app
        .post(
            &format!("{}update_prices/", w.plan_path("Default")),
            &w.app.admin_token,
            json!({"prices": {"cpu": DECIMAL_MAX}}),
        )
        .await;

    assert_refused(
        &create,
        json!({"plans": [{"prices": {"cpu": [TOO_MANY_DIGITS]}}]}),
    );
    assert_refused(&update, json!({"prices": {"cpu": [TOO_MANY_DIGITS]}}));
    w.assert_orders_still_flow().await;
}

#[tokio::test]
async fn a_cost_exactly_at_the_largest_value_the_column_holds_is_accepted() {
    let mut w = world().await;
    w.offering = w
        .basic_offering(cpu_offering(json!([
            {"name": "Default", "unit": "month", "unit_price": "0.9999999999",
             "prices": {"cpu": "999999999999"}},
        ])))
        .await;

    let reply = w
        .try_order(&w.app.admin_token, "Default", json!({"cpu": 1}))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["cost"], "999999999999.9999999999");
    let stored = w
        .app
        .scalar_i64("SELECT count(*) FROM projection.orders WHERE cost = 999999999999.9999999999")
        .await;
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn updating_a_pending_order_to_limits_whose_cost_overflows_is_refused_on_its_limits() {
    let mut w = world().await;
    w.with_cpu_offering().await;
    let order = w
        .try_order(&w.manager.token, "Default", json!({"cpu": 1}))
        .await;
    assert_eq!(order.body["state"], "pending-consumer", "{}", order.text);
    let before = w.order_events().await;

    let reply = w
        .app
        .patch(
            &format!("{ORDERS}{}/", order.uuid()),
            &w.consumer_owner.token,
            json!({"limits": {"cpu": 100_000_000_000_i64}}),
        )
        .await;

    assert_refused(&reply, json!({"limits": [COST_TOO_LARGE]}));
    assert_eq!(w.order_events().await, before);
}

#[tokio::test]
async fn update_limits_whose_cost_overflows_is_refused_on_its_limits() {
    let mut w = world().await;
    w.with_cpu_offering().await;
    let resource = w.ok_resource(json!({"cpu": 10})).await;
    let before = w.order_events().await;

    let reply = w
        .update_limits(
            &resource,
            &w.consumer_owner.token,
            json!({"cpu": 100_000_000_000_i64}),
        )
        .await;

    assert_refused(&reply, json!({"limits": [COST_TOO_LARGE]}));
    assert_eq!(w.order_events().await, before);
    assert_eq!(w.state_of(&resource).await, "OK");
}

#[tokio::test]
async fn switching_to_a_plan_that_prices_the_limits_beyond_the_column_is_refused_on_the_plan() {
    let mut w = world().await;
    w.with_cpu_offering().await;
    let resource = w.ok_resource(json!({"cpu": 10})).await;
    let before = w.order_events().await;

    let reply = w
        .app
        .resource_action(
            &resource,
            "switch_plan",
            &w.consumer_owner.token,
            json!({"plan": w.plan_url(&w.offering, "Huge")}),
        )
        .await;

    assert_refused(&reply, json!({"plan": [COST_TOO_LARGE]}));
    assert_eq!(w.order_events().await, before);
    let switched = w
        .app
        .resource_action(
            &resource,
            "switch_plan",
            &w.consumer_owner.token,
            json!({"plan": w.plan_url(&w.offering, "Default")}),
        )
        .await;
    placed(&switched);
}

// ---------------------------------------------------------------------------------------
// Prices

#[tokio::test]
async fn prices_with_too_many_digits_places_or_whole_digits_are_refused_at_offering_create() {
    let w = world().await;

    let reply = w
        .create_offering_with(cpu_offering(json!([
            {"name": "A", "unit": "month", "unit_price": "1.00000000001", "prices": {"cpu": "1"}},
            {"name": "B", "unit": "month", "prices": {"cpu": "1000000000000"}},
            {"name": "C", "unit": "month", "prices": {"cpu": "123456789012.12345678901"}},
        ])))
        .await;

    assert_refused(
        &reply,
        json!({"plans": [
            {"unit_price": [TOO_MANY_PLACES]},
            {"prices": {"cpu": [TOO_MANY_WHOLE]}},
            {"prices": {"cpu": [TOO_MANY_DIGITS]}},
        ]}),
    );
}

#[tokio::test]
async fn a_unit_price_out_of_bounds_is_refused_at_plan_create_with_drfs_messages() {
    let mut w = world().await;
    w.with_cpu_offering().await;
    let offering = w
        .app
        .get(
            &format!("/api/marketplace-provider-offerings/{}/", w.offering.uuid()),
            &w.app.admin_token,
        )
        .await;
    let offering_url = offering.body["url"].as_str().unwrap().to_string();

    for (price, message) in [
        ("12345678901234567890123", TOO_MANY_DIGITS),
        ("0.00000000001", TOO_MANY_PLACES),
        ("1000000000000.5", TOO_MANY_WHOLE),
        ("ten", "A valid number is required."),
    ] {
        let reply = w
            .app
            .post(
                "/api/marketplace-plans/",
                &w.app.admin_token,
                json!({"name": "P", "offering": offering_url, "unit_price": price}),
            )
            .await;

        assert_refused(&reply, json!({"unit_price": [message]}));
    }
}

#[tokio::test]
async fn update_prices_refuses_each_price_out_of_bounds_with_drfs_message() {
    let mut w = world().await;
    w.with_cpu_offering().await;

    let reply = w
        .app
        .post(
            &format!("{}update_prices/", w.plan_path("Default")),
            &w.app.admin_token,
            json!({"prices": {"cpu": "0.12345678901"}}),
        )
        .await;
    let whole = w
        .app
        .post(
            &format!("{}update_prices/", w.plan_path("Default")),
            &w.app.admin_token,
            json!({"prices": {"cpu": 1e13}}),
        )
        .await;
    let exact = w
        .app
        .post(
            &format!("{}update_prices/", w.plan_path("Default")),
            &w.app.admin_token,
            json!({"prices": {"cpu": "999999999999.9999999999"}}),
        )
        .await;

    assert_refused(&reply, json!({"prices": {"cpu": [TOO_MANY_PLACES]}}));
    assert_refused(&whole, json!({"prices": {"cpu": [TOO_MANY_WHOLE]}}));
    assert_eq!(exact.status, StatusCode::OK, "{}", exact.text);
}

// ---------------------------------------------------------------------------------------
// Integers

#[tokio::test]
async fn a_component_bound_beyond_the_integer_column_is_refused() {
    let w = world().await;

    let reply = w
        .create_offering_with(json!({"components": [
            {"type": "cpu", "name": "CPU", "billing_type": "limit", "max_value": 2_147_483_648_i64},
        ]}))
        .await;

    assert_refused(
        &reply,
        json!({"components": [
            {"max_value": ["Ensure this value is less than or equal to 2147483647."]},
        ]}),
    );
}

#[tokio::test]
async fn offering_create_limits_beyond_the_integer_column_or_negative_are_refused() {
    let w = world().await;

    let reply = w
        .create_offering_with(json!({
            "components": [{"type": "cpu", "name": "CPU", "billing_type": "limit"}],
            "limits": {"cpu": {"min": -1, "max": 2_147_483_648_i64, "max_available_limit": 5}},
        }))
        .await;

    assert_refused(
        &reply,
        json!({"limits": {"cpu": {
            "min": ["Ensure this value is greater than or equal to 0."],
            "max": ["Ensure this value is less than or equal to 2147483647."],
        }}}),
    );
}

#[tokio::test]
async fn an_order_limit_beyond_a_64_bit_integer_is_refused_on_its_key() {
    let mut w = world().await;
    w.with_cpu_offering().await;
    let before = w.order_events().await;

    let reply = w
        .try_order(
            &w.app.admin_token,
            "Default",
            json!({"cpu": "100000000000000000000"}),
        )
        .await;

    assert_refused(
        &reply,
        json!({"limits": {"cpu": [
            "Ensure this value is less than or equal to 9223372036854775807."
        ]}}),
    );
    assert_eq!(w.order_events().await, before);
}
