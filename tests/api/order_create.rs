//! Placing orders with `POST /api/marketplace-orders/`: validation in Waldur's order,
//! auto-approval, cost and the resource created with the order.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestUser};
use crate::world::{self, Names};

const ORDERS: &str = "/api/marketplace-orders/";

/// The shared world on Waldur's reference names, with the order-placing methods below.
struct World(world::World);

impl std::ops::Deref for World {
    type Target = world::World;

    fn deref(&self) -> &world::World {
        &self.0
    }
}

async fn world() -> World {
    World(world::World::new(Names::REF).await)
}

impl World {
    /// An active offering of the provider (or `customer_url`) with one plan, merging `extra`.
    async fn offering_of(&self, customer_url: &str, offering_type: &str, extra: Value) -> Reply {
        let mut body = json!({
            "name": format!("{offering_type} offering"),
            "components": [
                {"type": "storage", "name": "Storage", "billing_type": "limit"},
                {"type": "seat", "name": "Seat", "billing_type": "fixed"},
            ],
            "plans": [{"name": "Default", "unit": "month", "unit_price": "10",
                       "prices": {"storage": "0", "seat": "3"}}],
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.active_offering_of(customer_url, offering_type, body)
            .await
    }

    async fn offering(&self, offering_type: &str, extra: Value) -> Reply {
        self.offering_of(&self.provider.url(), offering_type, extra)
            .await
    }

    /// Registers the consumer organization as a service provider too.
    async fn consumer_provides(&self) {
        let reply = self
            .app
            .post(
                "/api/marketplace-service-providers/",
                &self.app.admin_token,
                json!({ "customer": self.consumer.url() }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }

    /// A Create order body for the project, offering and its first plan, merging `extra`.
    fn body(&self, offering: &Reply, extra: Value) -> Value {
        let mut body = json!({
            "project": self.project.url(),
            "offering": self.public_url(offering),
            "plan": self.first_plan_url(offering),
            "attributes": {"name": "my-res"},
            "limits": {"storage": 100},
            "type": "Create",
            "accepting_terms_of_service": true,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    }

    async fn place(&self, token: &str, body: Value) -> Reply {
        self.app.post(ORDERS, token, body).await
    }

    async fn user_in_project(&self, name: &str, role: &str) -> TestUser {
        let user = self.app.create_user(name).await;
        self.app
            .grant("projects", &self.project.uuid(), &user, role)
            .await;
        user
    }

    async fn consumer_owner(&self) -> TestUser {
        let user = self.app.create_user("consumer-owner").await;
        self.app
            .grant("customers", &self.consumer.uuid(), &user, "CUSTOMER.OWNER")
            .await;
        user
    }

    async fn resource_state(&self, uuid: &str) -> String {
        sqlx::query_scalar("SELECT state FROM projection.resources WHERE uuid = $1::uuid")
            .bind(uuid)
            .fetch_one(&self.app.ledger.pool)
            .await
            .expect("the resource row")
    }
}

fn assert_refused(reply: &Reply, body: Value) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, body);
}

// ---------------------------------------------------------------------------------------------
// Who places orders and where auto-approval leaves them

#[tokio::test]
async fn staff_places_a_basic_order_that_waits_for_the_provider_with_the_create_serializer_body() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;

    let reply = w
        .place(&w.app.admin_token, w.body(&offering, json!({})))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let order = &reply.body;
    let url = format!("{}{ORDERS}{}/", w.app.address, reply.uuid());
    assert_eq!(reply.header("location"), Some(url.as_str()));
    assert_eq!(order["url"], url);
    assert_eq!(order["state"], "pending-provider");
    assert_eq!(order["type"], "Create");
    assert_eq!(order["project"], w.project.url());
    assert_eq!(order["project_uuid"], w.project.uuid());
    assert_eq!(order["customer_uuid"], w.consumer.uuid());
    assert_eq!(order["customer_name"], "Ref Consumer Org");
    assert_eq!(order["provider_uuid"], w.provider.uuid());
    assert_eq!(order["offering"], w.public_url(&offering));
    assert_eq!(order["plan"], w.first_plan_url(&offering));
    assert_eq!(order["attributes"], json!({"name": "my-res"}));
    assert_eq!(order["limits"], json!({"storage": 100}));
    assert_eq!(order["resource_name"], "my-res");
    assert_eq!(order["slug"], "my-res");
    let admin = w.app.get("/api/users/me/", &w.app.admin_token).await;
    assert_eq!(order["created_by"], admin.body["url"]);
    assert_eq!(order["created_by_username"], "admin");
    assert_eq!(order["consumer_reviewed_by"], admin.body["url"]);
    assert_eq!(order["consumer_reviewed_by_username"], "admin");
    assert!(order["consumer_reviewed_at"].is_string());
    assert!(order.get("provider_reviewed_by").is_none());
    let resource = order["marketplace_resource_uuid"].as_str().unwrap();
    assert_eq!(w.resource_state(resource).await, "Creating");
}

#[tokio::test]
async fn staff_places_a_support_order_that_is_done_at_once_with_its_resource_ok() {
    let w = world().await;
    let offering = w.offering("Support.OfferingTemplate", json!({})).await;

    let reply = w
        .place(&w.app.admin_token, w.body(&offering, json!({})))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "done");
    assert!(reply.body["completed_at"].is_string());
    let resource = reply.body["marketplace_resource_uuid"].as_str().unwrap();
    assert_eq!(w.resource_state(resource).await, "OK");
    let read = w
        .app
        .get(&format!("{ORDERS}{}/", reply.uuid()), &w.app.admin_token)
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["state"], "done");
    assert_eq!(read.body["marketplace_resource_uuid"], resource);
}

#[tokio::test]
async fn a_customer_owner_holding_order_approve_places_a_slurm_order_pending_provider() {
    let w = world().await;
    let offering = w.offering("Marketplace.Slurm", json!({})).await;
    let owner = w.consumer_owner().await;

    let reply = w.place(&owner.token, w.body(&offering, json!({}))).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "pending-provider");
    assert_eq!(
        reply.body["consumer_reviewed_by_username"],
        "consumer-owner"
    );
    let resource = reply.body["marketplace_resource_uuid"].as_str().unwrap();
    assert_eq!(w.resource_state(resource).await, "Creating");
}

#[tokio::test]
async fn a_project_manager_without_order_approve_leaves_the_order_pending_consumer() {
    let w = world().await;
    let offering = w.offering("Marketplace.Slurm", json!({})).await;
    let manager = w.user_in_project("manager", "PROJECT.MANAGER").await;

    let reply = w.place(&manager.token, w.body(&offering, json!({}))).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "pending-consumer");
    assert!(reply.body.get("consumer_reviewed_by").is_none());
    assert_eq!(reply.body["consumer_reviewed_at"], Value::Null);
    assert_eq!(reply.body["created_by_username"], "manager");
}

#[tokio::test]
async fn a_project_admin_without_order_approve_leaves_the_order_pending_consumer() {
    let w = world().await;
    let offering = w.offering("Support.OfferingTemplate", json!({})).await;
    let admin = w.user_in_project("padmin", "PROJECT.ADMIN").await;

    let reply = w.place(&admin.token, w.body(&offering, json!({}))).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "pending-consumer");
    let resource = reply.body["marketplace_resource_uuid"].as_str().unwrap();
    assert_eq!(w.resource_state(resource).await, "Creating");
}

#[tokio::test]
async fn a_private_offering_ordered_by_a_manager_with_approve_private_skips_consumer_review() {
    let w = world().await;
    w.consumer_provides().await;
    let private = json!({"shared": false, "billable": false});
    let slurm = w
        .offering_of(&w.consumer.url(), "Marketplace.Slurm", private.clone())
        .await;
    let support = w
        .offering_of(&w.consumer.url(), "Support.OfferingTemplate", private)
        .await;
    let manager = w.user_in_project("manager", "PROJECT.MANAGER").await;

    let reply = w.place(&manager.token, w.body(&slurm, json!({}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "pending-provider");
    assert_eq!(reply.body["consumer_reviewed_by_username"], "manager");

    let reply = w.place(&manager.token, w.body(&support, json!({}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "done");
    let resource = reply.body["marketplace_resource_uuid"].as_str().unwrap();
    assert_eq!(w.resource_state(resource).await, "OK");
}

#[tokio::test]
async fn a_script_offering_without_provider_review_is_executing_and_with_it_pending_provider() {
    let w = world().await;
    let auto = w.offering("Marketplace.Script", json!({})).await;
    let reviewed = w
        .offering(
            "Marketplace.Script",
            json!({"plugin_options": {"auto_approve_marketplace_script": false}}),
        )
        .await;

    let reply = w.place(&w.app.admin_token, w.body(&auto, json!({}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "executing");

    let reply = w
        .place(&w.app.admin_token, w.body(&reviewed, json!({})))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "pending-provider");
}

#[tokio::test]
async fn a_shared_offering_of_the_same_customer_auto_approves_only_when_its_option_says_so() {
    let w = world().await;
    w.consumer_provides().await;
    let auto = w
        .offering_of(
            &w.consumer.url(),
            "Support.OfferingTemplate",
            json!({"plugin_options": {"auto_approve_in_service_provider_projects": true}}),
        )
        .await;
    let manual = w
        .offering_of(
            &w.consumer.url(),
            "Support.OfferingTemplate",
            json!({"plugin_options": {"auto_approve_in_service_provider_projects": false}}),
        )
        .await;
    let manager = w.user_in_project("manager", "PROJECT.MANAGER").await;

    let reply = w.place(&manager.token, w.body(&auto, json!({}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "done");

    let reply = w.place(&manager.token, w.body(&manual, json!({}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "pending-consumer");
}

#[tokio::test]
async fn an_auto_approved_order_in_a_project_that_has_not_started_is_pending_project() {
    let w = world().await;
    let offering = w.offering("Support.OfferingTemplate", json!({})).await;
    let later = w
        .app
        .post(
            "/api/projects/",
            &w.app.admin_token,
            json!({"name": "Later", "customer": w.consumer.url(), "start_date": "2999-01-01"}),
        )
        .await;
    assert_eq!(later.status, StatusCode::CREATED, "{}", later.text);

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"project": later.url()})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "pending-project");
    let resource = reply.body["marketplace_resource_uuid"].as_str().unwrap();
    assert_eq!(w.resource_state(resource).await, "Creating");
}

#[tokio::test]
async fn the_placed_order_is_readable_and_its_resource_is_recorded() {
    let w = world().await;
    let offering = w.offering("Marketplace.Slurm", json!({})).await;
    let owner = w.consumer_owner().await;

    let reply = w.place(&owner.token, w.body(&offering, json!({}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let read = w
        .app
        .get(&format!("{ORDERS}{}/", reply.uuid()), &owner.token)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(
        read.body["marketplace_resource_uuid"],
        reply.body["marketplace_resource_uuid"]
    );
    assert_eq!(read.body["consumer_reviewed_by"], "consumer-owner");
    let rows: Vec<(String, String, Option<uuid::Uuid>)> = sqlx::query_as(
        "SELECT name, state, plan_uuid FROM projection.resources WHERE project_uuid = $1::uuid",
    )
    .bind(w.project.uuid())
    .fetch_all(&w.app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "my-res");
    assert_eq!(rows[0].1, "Creating");
    assert_eq!(
        rows[0].2.map(|u| u.simple().to_string()),
        offering.body["plans"][0]["uuid"]
            .as_str()
            .map(str::to_string)
    );
    let list = w.app.get(ORDERS, &owner.token).await;
    assert_eq!(list.count(), 1);
}

// ---------------------------------------------------------------------------------------------
// Field errors

#[tokio::test]
async fn project_and_offering_are_required() {
    let w = world().await;

    let reply = w.place(&w.app.admin_token, json!({})).await;

    assert_refused(
        &reply,
        json!({"project": ["This field is required."], "offering": ["This field is required."]}),
    );
}

#[tokio::test]
async fn a_project_the_caller_cannot_see_is_an_invalid_hyperlink() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;
    let stranger = w.app.create_user("stranger").await;

    let reply = w.place(&stranger.token, w.body(&offering, json!({}))).await;

    assert_refused(
        &reply,
        json!({"project": ["Invalid hyperlink - Object does not exist."]}),
    );
    assert_eq!(
        w.app
            .scalar_i64("SELECT count(*) FROM projection.resources")
            .await,
        0
    );
}

#[tokio::test]
async fn a_provider_offering_url_is_an_incorrect_url_match() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"offering": offering.url()})),
        )
        .await;

    assert_refused(
        &reply,
        json!({"offering": ["Invalid hyperlink - Incorrect URL match."]}),
    );
}

#[tokio::test]
async fn only_create_orders_are_placed_here() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"type": "Terminate"})),
        )
        .await;

    assert_refused(
        &reply,
        json!({"type": ["\"Terminate\" is not a valid choice."]}),
    );
}

// ---------------------------------------------------------------------------------------------
// The offering, its plan and limits

#[tokio::test]
async fn an_offering_that_is_not_active_is_not_available() {
    let w = world().await;
    let paused = w.offering("Marketplace.Basic", json!({})).await;
    w.lifecycle(&paused, "pause").await;
    let archived = w.offering("Marketplace.Basic", json!({})).await;
    w.lifecycle(&archived, "archive").await;

    for offering in [&paused, &archived] {
        let reply = w
            .place(&w.app.admin_token, w.body(offering, json!({})))
            .await;
        assert_refused(&reply, json!({"offering": ["Offering is not available."]}));
    }
}

#[tokio::test]
async fn a_plan_of_another_offering_is_not_available() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;
    let other = w.offering("Marketplace.Basic", json!({})).await;
    let provider_plan_url = format!(
        "{}/api/marketplace-plans/{}/",
        w.app.address,
        other.body["plans"][0]["uuid"].as_str().unwrap()
    );

    for plan in [w.first_plan_url(&other), provider_plan_url] {
        let reply = w
            .place(&w.app.admin_token, w.body(&offering, json!({"plan": plan})))
            .await;
        assert_refused(
            &reply,
            json!({"plan": ["This plan is not available for selected offering."]}),
        );
    }
}

#[tokio::test]
async fn an_archived_plan_is_not_available() {
    let w = world().await;
    let offering = w
        .offering(
            "Marketplace.Basic",
            json!({"plans": [
                {"name": "Default", "unit": "month"},
                {"name": "Old", "unit": "month", "archived": true},
            ]}),
        )
        .await;
    let old = offering.body["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Old")
        .unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let plan = format!("{}plans/{old}/", w.public_url(&offering));

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"plan": plan, "limits": {}})),
        )
        .await;

    assert_refused(
        &reply,
        json!({"plan": ["This plan is not available for selected offering."]}),
    );
}

#[tokio::test]
async fn a_plan_whose_max_amount_is_reached_is_not_available() {
    let w = world().await;
    let offering = w
        .offering(
            "Marketplace.Basic",
            json!({"plans": [{"name": "One", "unit": "month", "max_amount": 1}]}),
        )
        .await;

    let first = w
        .place(&w.app.admin_token, w.body(&offering, json!({})))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let second = w
        .place(&w.app.admin_token, w.body(&offering, json!({})))
        .await;

    assert_refused(
        &second,
        json!({"plan": ["This plan is not available for selected offering."]}),
    );
}

#[tokio::test]
async fn limits_are_taken_for_limit_components_and_refused_for_fixed_ones() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"limits": {"storage": 5}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["limits"], json!({"storage": 5}));
    let resource = reply.body["marketplace_resource_uuid"].as_str().unwrap();
    let stored: Value = sqlx::query_scalar(
        "SELECT document->'spec'->'limits' FROM projection.resources WHERE uuid = $1::uuid",
    )
    .bind(resource)
    .fetch_one(&w.app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(stored, json!({"storage": 5}));

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"limits": {"seat": 5}})),
        )
        .await;
    assert_refused(&reply, json!({"limits": ["Invalid types: seat"]}));
}

#[tokio::test]
async fn limits_must_be_integers() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"limits": {"storage": "lots"}})),
        )
        .await;

    assert_refused(
        &reply,
        json!({"limits": {"storage": ["A valid integer is required."]}}),
    );
}

#[tokio::test]
async fn limits_stay_within_the_component_bounds() {
    let w = world().await;
    let offering = w
        .offering(
            "Marketplace.Basic",
            json!({"components": [{"type": "storage", "name": "Storage", "billing_type": "limit",
                                   "min_value": 2, "max_value": 8, "limit_amount": 10}],
                   "plans": [{"name": "Default", "unit": "month"}]}),
        )
        .await;
    let within = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"limits": {"storage": 5}})),
        )
        .await;
    assert_eq!(within.status, StatusCode::CREATED, "{}", within.text);

    let low = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"limits": {"storage": 1}})),
        )
        .await;
    assert_refused(
        &low,
        json!({"limits": ["The limit 1 value cannot be less than 2."]}),
    );
    let high = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"limits": {"storage": 9}})),
        )
        .await;
    assert_refused(
        &high,
        json!({"limits": ["The limit 9 value cannot be more than 8."]}),
    );
}

#[tokio::test]
async fn terms_of_service_of_a_shared_offering_must_be_accepted() {
    let w = world().await;
    let offering = w
        .offering(
            "Marketplace.Basic",
            json!({"name": "Tos Offering", "terms_of_service": "Be nice"}),
        )
        .await;

    let refused = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"accepting_terms_of_service": false})),
        )
        .await;
    assert_refused(
        &refused,
        json!({"non_field_errors": ["Terms of service for offering 'Tos Offering' have not been accepted."]}),
    );
    let mut silent = w.body(&offering, json!({}));
    silent
        .as_object_mut()
        .unwrap()
        .remove("accepting_terms_of_service");
    let refused = w.place(&w.app.admin_token, silent).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);

    let accepted = w
        .place(&w.app.admin_token, w.body(&offering, json!({})))
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text);
}

#[tokio::test]
async fn without_terms_of_service_nothing_needs_accepting() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"accepting_terms_of_service": false})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

// ---------------------------------------------------------------------------------------------
// The consumer: organization, project and where the offering may be used

#[tokio::test]
async fn a_blocked_or_archived_organization_cannot_order() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;
    let customer_path = format!("/api/customers/{}/", w.consumer.uuid());

    let reply = w
        .app
        .patch(&customer_path, &w.app.admin_token, json!({"blocked": true}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = w
        .place(&w.app.admin_token, w.body(&offering, json!({})))
        .await;
    assert_refused(&reply, json!(["Blocked organization is not available."]));

    let reply = w
        .app
        .patch(
            &customer_path,
            &w.app.admin_token,
            json!({"blocked": false, "archived": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = w
        .place(&w.app.admin_token, w.body(&offering, json!({})))
        .await;
    assert_refused(&reply, json!(["Archived organization is not available."]));
    assert_eq!(
        w.app
            .scalar_i64("SELECT count(*) FROM projection.resources")
            .await,
        0
    );
}

#[tokio::test]
async fn an_expired_project_cannot_order() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let ending = w
        .app
        .post(
            "/api/projects/",
            &w.app.admin_token,
            json!({"name": "Ending", "customer": w.consumer.url(), "end_date": today}),
        )
        .await;
    assert_eq!(ending.status, StatusCode::CREATED, "{}", ending.text);

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"project": ending.url()})),
        )
        .await;

    assert_refused(&reply, json!(["Project 'Ending' is expired."]));
}

#[tokio::test]
async fn a_non_shared_offering_is_ordered_only_in_its_own_organization() {
    let w = world().await;
    w.consumer_provides().await;
    let foreign = w
        .offering(
            "Marketplace.Basic",
            json!({"name": "Foreign", "shared": false}),
        )
        .await;
    let own = w
        .offering_of(
            &w.consumer.url(),
            "Marketplace.Basic",
            json!({"name": "Own", "shared": false}),
        )
        .await;

    let reply = w
        .place(&w.app.admin_token, w.body(&foreign, json!({})))
        .await;
    assert_refused(
        &reply,
        json!(["Offering \"Foreign\" is not allowed in organization \"Ref Consumer Org\"."]),
    );
    let reply = w.place(&w.app.admin_token, w.body(&own, json!({}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

// ---------------------------------------------------------------------------------------------
// Cost

#[tokio::test]
async fn cost_is_the_unit_price_plus_limit_prices_times_limits_plus_the_init_price() {
    let w = world().await;
    let offering = w
        .offering(
            "Marketplace.Basic",
            json!({"components": [
                      {"type": "storage", "name": "Storage", "billing_type": "limit"},
                      {"type": "setup", "name": "Setup", "billing_type": "one"},
                      {"type": "seat", "name": "Seat", "billing_type": "fixed"},
                      {"type": "cpu", "name": "CPU", "billing_type": "usage"},
                  ],
                  "plans": [{"name": "Default", "unit": "month", "unit_price": "10",
                             "prices": {"storage": "2", "setup": "100", "seat": "3", "cpu": "7"}}]}),
        )
        .await;

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"limits": {"storage": 5}})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["cost"], "120.0000000000");
    assert_eq!(reply.body["activation_price"], json!(100.0));
    assert_eq!(reply.body["fixed_price"], json!(3.0));
}

#[tokio::test]
async fn a_one_time_component_alone_costs_its_price() {
    let w = world().await;
    let offering = w
        .offering(
            "Marketplace.Basic",
            json!({"components": [
                      {"type": "setup", "name": "Setup", "billing_type": "one"},
                      {"type": "cpu", "name": "CPU", "billing_type": "usage"},
                  ],
                  "plans": [{"name": "Default", "unit": "month",
                             "prices": {"setup": "100", "cpu": "1"}}]}),
        )
        .await;

    let reply = w
        .place(&w.app.admin_token, w.body(&offering, json!({"limits": {}})))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["cost"], "100.0000000000");
}

#[tokio::test]
async fn an_order_without_a_plan_has_no_cost() {
    let w = world().await;
    let offering = w.offering("Marketplace.Basic", json!({})).await;
    let mut body = w.body(&offering, json!({}));
    body.as_object_mut().unwrap().remove("plan");

    let reply = w.place(&w.app.admin_token, body).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["cost"], Value::Null);
    assert_eq!(reply.body["plan"], Value::Null);
}

#[tokio::test]
async fn a_limit_above_the_component_limit_amount_is_refused() {
    let w = world().await;
    let offering = w
        .offering(
            "Marketplace.Basic",
            json!({"components": [{"type": "storage", "name": "Storage", "billing_type": "limit",
                                   "limit_period": "total", "limit_amount": 1}],
                   "plans": [{"name": "Default", "unit": "month"}]}),
        )
        .await;

    let reply = w
        .place(
            &w.app.admin_token,
            w.body(&offering, json!({"limits": {"storage": 5}})),
        )
        .await;

    assert_refused(
        &reply,
        json!({"limits": ["The limit 5 value cannot be more than 1."]}),
    );
}
