//! `/api/marketplace-plans/` and the public offering catalogue
//! (`/api/marketplace-public-offerings/`).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, TestUser, spawn_app};

const FORBIDDEN: &str = "You do not have permission to perform this action.";
const PLANS: &str = "/api/marketplace-plans/";
const PUBLIC: &str = "/api/marketplace-public-offerings/";
const OFFERINGS: &str = "/api/marketplace-provider-offerings/";

/// The keys `ProviderPlanDetails` requires (the client raises `KeyError` without them).
const REQUIRED_PLAN_KEYS: [&str; 15] = [
    "url",
    "uuid",
    "name",
    "is_active",
    "init_price",
    "switch_price",
    "organization_groups",
    "components",
    "offering",
    "prices",
    "future_prices",
    "quotas",
    "resources_count",
    "plan_type",
    "minimal_price",
];

/// One component of every billing type.
fn components() -> Value {
    json!([
        {"type": "cpu", "name": "CPU", "measured_unit": "hours", "billing_type": "usage"},
        {"type": "ram", "name": "RAM", "measured_unit": "GB", "billing_type": "fixed"},
        {"type": "setup", "name": "Setup", "measured_unit": "", "billing_type": "one"},
        {"type": "switch", "name": "Switch", "measured_unit": "", "billing_type": "few"},
        {"type": "storage", "name": "Storage", "measured_unit": "GB",
         "billing_type": "limit", "limit_period": "total"}
    ])
}

/// A provider customer with an owner, a category and a Basic offering with five
/// components and no plans.
struct Fixture {
    app: TestApp,
    provider: Reply,
    category: Reply,
    owner: TestUser,
    offering: Reply,
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let provider = app.create_provider("Plan Provider").await;
    let category = app.create_category("Plan Category").await;
    let owner = app.create_user("plan-owner").await;
    app.grant("customers", &provider.uuid(), &owner, "CUSTOMER.OWNER")
        .await;
    let offering = app
        .create_offering(
            &provider.url(),
            &category.url(),
            "Marketplace.Basic",
            json!({"name": "Compute", "components": components()}),
        )
        .await;
    Fixture {
        app,
        provider,
        category,
        owner,
        offering,
    }
}

impl Fixture {
    /// The owner creates a plan of the fixture's offering.
    async fn create_plan(&self, name: &str, extra: Value) -> Reply {
        create_plan(
            &self.app,
            &self.owner.token,
            &self.offering.url(),
            name,
            extra,
        )
        .await
    }
}

async fn create_plan(
    app: &TestApp,
    token: &str,
    offering_url: &str,
    name: &str,
    extra: Value,
) -> Reply {
    let mut body = json!({"name": name, "offering": offering_url, "billing_mode": "inherit"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let reply = app.post(PLANS, token, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply
}

fn plan_path(plan: &Reply) -> String {
    format!("{PLANS}{}/", plan.uuid())
}

fn action_path(plan: &Reply, action: &str) -> String {
    format!("{PLANS}{}/{action}/", plan.uuid())
}

/// Staff runs a lifecycle action on an offering.
async fn lifecycle(app: &TestApp, offering: &Reply, action: &str) {
    let reply = app
        .post(
            &format!("{OFFERINGS}{}/{action}/", offering.uuid()),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{action}: {}", reply.text);
}

/// Simulates a resource of the plan in the resources read model.
async fn insert_resource(app: &TestApp, offering: &Reply, plan: &Reply, customer: &Reply) {
    let uuid = |reply: &Reply| Uuid::parse_str(&reply.uuid()).expect("a uuid");
    sqlx::query(
        "INSERT INTO projection.resources (uuid, offering_uuid, plan_uuid, project_uuid, \
         customer_uuid, name, backend_id, state, created, modified, last_seq) \
         VALUES ($1, $2, $3, $4, $5, 'vm', '', 'OK', now(), now(), 0)",
    )
    .bind(Uuid::new_v4())
    .bind(uuid(offering))
    .bind(uuid(plan))
    .bind(Uuid::new_v4())
    .bind(uuid(customer))
    .execute(&app.ledger.pool)
    .await
    .expect("the resource is inserted");
}

async fn anonymous(app: &TestApp, method: Method, path: &str) -> Reply {
    app.request(method, path, None, None).await
}

fn names(reply: &Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|item| item["name"].as_str().expect("name").to_string())
        .collect()
}

fn component<'a>(plan: &'a Value, component_type: &str) -> &'a Value {
    plan["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["type"] == component_type)
        .expect("the component")
}

// ---------------------------------------------------------------------------------------
// Plan management
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_provider_owner_creates_a_plan_with_every_required_key() {
    let f = fixture().await;

    let plan = f
        .create_plan(
            "Small",
            json!({"unit": "month", "unit_price": "1.5", "description": "A small plan",
                   "article_code": "SM-1", "max_amount": 3, "backend_id": "b-1"}),
        )
        .await;

    let body = &plan.body;
    for key in REQUIRED_PLAN_KEYS {
        assert!(body.get(key).is_some(), "{key} is missing: {body}");
        if key != "plan_type" {
            assert!(!body[key].is_null(), "{key} is null: {body}");
        }
    }
    let hex = plan.uuid();
    assert_eq!(hex.len(), 32);
    assert_eq!(
        plan.url(),
        format!("{}/api/marketplace-plans/{hex}/", f.app.address)
    );
    assert_eq!(plan.header("location"), Some(plan.url().as_str()));
    assert_eq!(body["offering"], f.offering.url());
    assert_eq!(body["name"], "Small");
    assert_eq!(body["description"], "A small plan");
    assert_eq!(body["article_code"], "SM-1");
    assert_eq!(body["max_amount"], 3);
    assert_eq!(body["backend_id"], "b-1");
    assert_eq!(body["archived"], false);
    assert_eq!(body["is_active"], true);
    assert_eq!(body["unit"], "month");
    assert_eq!(body["unit_price"], "1.5000000000");
    assert_eq!(body["billing_mode"], "inherit");
    assert_eq!(body["init_price"], 0);
    assert_eq!(body["switch_price"], 0);
    assert_eq!(body["minimal_price"], 0);
    assert_eq!(body["plan_type"], Value::Null);
    assert_eq!(body["resources_count"], 0);
    assert_eq!(body["organization_groups"], json!([]));
    assert_eq!(
        body["prices"],
        json!({"cpu": 0.0, "ram": 0.0, "setup": 0.0, "switch": 0.0, "storage": 0.0})
    );
    assert_eq!(
        body["future_prices"],
        json!({"cpu": null, "ram": null, "setup": null, "switch": null, "storage": null})
    );
    assert_eq!(
        body["quotas"],
        json!({"cpu": 0, "ram": 0, "setup": 0, "switch": 0, "storage": 0})
    );
    assert_eq!(body["components"].as_array().map(Vec::len), Some(5));
    assert_eq!(component(body, "storage")["limit_period"], "total");
    assert!(component(body, "cpu").get("limit_period").is_none());

    let fetched = f.app.get(&plan_path(&plan), &f.owner.token).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(&fetched.body, body);
    let dashed = Uuid::parse_str(&hex).unwrap().hyphenated().to_string();
    let by_dashed = f
        .app
        .get(&format!("{PLANS}{dashed}/"), &f.owner.token)
        .await;
    assert_eq!(by_dashed.status, StatusCode::OK);

    let offering = f
        .app
        .get(
            &format!("{OFFERINGS}{}/", f.offering.uuid()),
            &f.owner.token,
        )
        .await;
    assert_eq!(offering.body["plans"][0]["uuid"], hex.as_str());
}

#[tokio::test]
async fn creating_a_plan_needs_a_name_and_an_offering_the_caller_can_see() {
    let f = fixture().await;
    let stranger = f.app.create_user("stranger").await;

    let empty = f.app.post(PLANS, &f.owner.token, json!({})).await;
    let hidden = f
        .app
        .post(
            PLANS,
            &stranger.token,
            json!({"name": "Mine", "offering": f.offering.url()}),
        )
        .await;
    let unknown = f
        .app
        .post(
            PLANS,
            &f.owner.token,
            json!({"name": "Mine",
                   "offering": format!("{}{OFFERINGS}{}/", f.app.address, Uuid::new_v4().simple())}),
        )
        .await;
    let bad_mode = f
        .app
        .post(
            PLANS,
            &f.owner.token,
            json!({"name": "Mine", "offering": f.offering.url(), "billing_mode": "monthly"}),
        )
        .await;
    let bad_unit = f
        .app
        .post(
            PLANS,
            &f.owner.token,
            json!({"name": "Mine", "offering": f.offering.url(), "unit": "fortnight"}),
        )
        .await;

    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        empty.body,
        json!({"name": ["This field is required."], "offering": ["This field is required."]})
    );
    assert_eq!(hidden.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        hidden.body,
        json!({"offering": ["Invalid hyperlink - Object does not exist."]})
    );
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.body,
        json!({"offering": ["Invalid hyperlink - Object does not exist."]})
    );
    assert_eq!(bad_mode.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_mode.body,
        json!({"billing_mode": ["\"monthly\" is not a valid choice."]})
    );
    assert_eq!(bad_unit.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_unit.body,
        json!({"unit": ["\"fortnight\" is not a valid choice."]})
    );
    let count = f
        .app
        .request(Method::HEAD, PLANS, Some(&f.owner.token), None)
        .await;
    assert_eq!(count.count(), 0);
}

#[tokio::test]
async fn a_service_manager_of_the_provider_may_not_create_plans() {
    let f = fixture().await;
    let manager = f.app.create_user("service-manager").await;
    f.app
        .grant(
            "customers",
            &f.provider.uuid(),
            &manager,
            "CUSTOMER.MANAGER",
        )
        .await;

    let reply = f
        .app
        .post(
            PLANS,
            &manager.token,
            json!({"name": "Sneaky", "offering": f.offering.url()}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
    let list = f.app.get(PLANS, &f.app.admin_token).await;
    assert_eq!(list.count(), 0);
}

#[tokio::test]
async fn updates_write_only_name_description_unit_max_amount_and_article_code() {
    let f = fixture().await;
    let plan = f.create_plan("Small", json!({"unit": "month"})).await;
    let other = f
        .app
        .create_offering(
            &f.provider.url(),
            &f.category.url(),
            "Marketplace.Basic",
            json!({"name": "Other"}),
        )
        .await;

    let put = f
        .app
        .request(
            Method::PUT,
            &plan_path(&plan),
            Some(&f.owner.token),
            Some(json!({
                "name": "Renamed", "offering": other.url(), "description": "Now bigger",
                "unit": "hour", "max_amount": 5, "article_code": "AC-1",
                "unit_price": "9.5", "archived": true, "backend_id": "ignored",
                "billing_mode": "usage"
            })),
        )
        .await;
    let patch = f
        .app
        .patch(
            &plan_path(&plan),
            &f.owner.token,
            json!({"description": "Only this", "billing_mode": "inherit"}),
        )
        .await;
    let put_without_name = f
        .app
        .request(
            Method::PUT,
            &plan_path(&plan),
            Some(&f.owner.token),
            Some(json!({"description": "x"})),
        )
        .await;
    let bad_max = f
        .app
        .patch(&plan_path(&plan), &f.owner.token, json!({"max_amount": 0}))
        .await;

    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    for key in REQUIRED_PLAN_KEYS {
        assert!(put.body.get(key).is_some(), "{key} is missing");
    }
    assert_eq!(put.body["name"], "Renamed");
    assert_eq!(put.body["description"], "Now bigger");
    assert_eq!(put.body["unit"], "hour");
    assert_eq!(put.body["max_amount"], 5);
    assert_eq!(put.body["article_code"], "AC-1");
    assert_eq!(put.body["unit_price"], "0.0000000000");
    assert_eq!(put.body["archived"], false);
    assert_eq!(put.body["backend_id"], "");
    assert_eq!(put.body["offering"], f.offering.url());
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.text);
    assert_eq!(patch.body["name"], "Renamed");
    assert_eq!(patch.body["description"], "Only this");
    assert_eq!(patch.body["unit"], "hour");
    assert_eq!(put_without_name.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        put_without_name.body,
        json!({"name": ["This field is required."]})
    );
    assert_eq!(bad_max.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_max.body,
        json!({"max_amount": ["Ensure this value is greater than or equal to 1."]})
    );
    let fetched = f.app.get(&plan_path(&plan), &f.owner.token).await;
    assert_eq!(fetched.body, patch.body);
}

#[tokio::test]
async fn only_the_provider_may_update_a_plan_and_not_once_resources_use_it() {
    let f = fixture().await;
    let plan = f.create_plan("Small", json!({})).await;
    let stranger = f.app.create_user("stranger").await;
    let manager = f.app.create_user("service-manager").await;
    f.app
        .grant(
            "customers",
            &f.provider.uuid(),
            &manager,
            "CUSTOMER.MANAGER",
        )
        .await;

    let by_stranger = f
        .app
        .patch(&plan_path(&plan), &stranger.token, json!({"name": "Mine"}))
        .await;
    let by_manager = f
        .app
        .patch(&plan_path(&plan), &manager.token, json!({"name": "Mine"}))
        .await;
    insert_resource(&f.app, &f.offering, &plan, &f.provider).await;
    let in_use = f
        .app
        .patch(
            &plan_path(&plan),
            &f.owner.token,
            json!({"name": "Renamed"}),
        )
        .await;
    let in_use_put = f
        .app
        .request(
            Method::PUT,
            &plan_path(&plan),
            Some(&f.owner.token),
            Some(json!({"name": "Renamed", "offering": f.offering.url()})),
        )
        .await;

    assert_eq!(by_stranger.status, StatusCode::FORBIDDEN);
    assert_eq!(by_stranger.body, json!({"detail": FORBIDDEN}));
    assert_eq!(by_manager.status, StatusCode::FORBIDDEN);
    assert_eq!(in_use.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        in_use.body,
        json!(["It is not possible to update plan because it is used by resources."])
    );
    assert_eq!(in_use_put.status, StatusCode::BAD_REQUEST);
    let fetched = f.app.get(&plan_path(&plan), &f.owner.token).await;
    assert_eq!(fetched.body["name"], "Small");
    assert_eq!(fetched.body["resources_count"], 1);
}

#[tokio::test]
async fn only_staff_delete_plans() {
    let f = fixture().await;
    let plan = f.create_plan("Small", json!({})).await;

    let by_owner = f.app.delete(&plan_path(&plan), &f.owner.token).await;
    let by_staff = f.app.delete(&plan_path(&plan), &f.app.admin_token).await;
    let after = f.app.get(&plan_path(&plan), &f.owner.token).await;
    let again = f.app.delete(&plan_path(&plan), &f.app.admin_token).await;

    assert_eq!(by_owner.status, StatusCode::FORBIDDEN);
    assert_eq!(by_owner.body, json!({"detail": FORBIDDEN}));
    assert_eq!(by_staff.status, StatusCode::NO_CONTENT);
    assert_eq!(by_staff.text, "");
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(
        after.body,
        json!({"detail": "No Plan matches the given query."})
    );
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let offering = f
        .app
        .get(
            &format!("{OFFERINGS}{}/", f.offering.uuid()),
            &f.owner.token,
        )
        .await;
    assert_eq!(offering.body["plans"], json!([]));
}

#[tokio::test]
async fn a_plan_that_resources_use_is_not_deleted() {
    let f = fixture().await;
    let plan = f.create_plan("Small", json!({})).await;
    insert_resource(&f.app, &f.offering, &plan, &f.provider).await;

    let reply = f.app.delete(&plan_path(&plan), &f.app.admin_token).await;

    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.body,
        json!({"detail": "Cannot delete plan with existing resources"})
    );
    assert_eq!(
        f.app.get(&plan_path(&plan), &f.owner.token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_plan_is_not_found() {
    let f = fixture().await;

    let unknown = f
        .app
        .get(
            &format!("{PLANS}{}/", Uuid::new_v4().simple()),
            &f.owner.token,
        )
        .await;
    let garbage = f
        .app
        .get(&format!("{PLANS}not-a-uuid/"), &f.owner.token)
        .await;
    let archive = f
        .app
        .post(
            &format!("{PLANS}{}/archive/", Uuid::new_v4().simple()),
            &f.owner.token,
            json!({}),
        )
        .await;

    for reply in [&unknown, &garbage, &archive] {
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(
            reply.body,
            json!({"detail": "No Plan matches the given query."})
        );
    }
}

#[tokio::test]
async fn archiving_a_plan_twice_is_refused() {
    let f = fixture().await;
    let plan = f.create_plan("Small", json!({})).await;
    let stranger = f.app.create_user("stranger").await;

    let by_stranger = f
        .app
        .post(&action_path(&plan, "archive"), &stranger.token, json!({}))
        .await;
    let first = f
        .app
        .post(&action_path(&plan, "archive"), &f.owner.token, json!({}))
        .await;
    let second = f
        .app
        .post(&action_path(&plan, "archive"), &f.owner.token, json!({}))
        .await;

    assert_eq!(by_stranger.status, StatusCode::FORBIDDEN);
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body, json!({"detail": "Plan has been archived."}));
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(second.body, json!(["Plan is already archived."]));
    let fetched = f.app.get(&plan_path(&plan), &f.owner.token).await;
    assert_eq!(fetched.body["archived"], true);
}

#[tokio::test]
async fn prices_and_quotas_give_init_switch_and_minimal_prices() {
    let f = fixture().await;
    let plan = f.create_plan("Priced", json!({})).await;

    let prices = f
        .app
        .post(
            &action_path(&plan, "update_prices"),
            &f.owner.token,
            json!({"prices": {"cpu": 0.5, "ram": 2, "setup": 10, "switch": "3", "storage": 0.25}}),
        )
        .await;
    let quotas = f
        .app
        .post(
            &action_path(&plan, "update_quotas"),
            &f.owner.token,
            json!({"quotas": {"ram": 4}}),
        )
        .await;
    let fetched = f.app.get(&plan_path(&plan), &f.owner.token).await;

    assert_eq!(prices.status, StatusCode::OK, "{}", prices.text);
    assert_eq!(quotas.status, StatusCode::OK, "{}", quotas.text);
    let body = &fetched.body;
    assert_eq!(
        body["prices"],
        json!({"cpu": 0.5, "ram": 2.0, "setup": 10.0, "switch": 3.0, "storage": 0.25})
    );
    assert_eq!(
        body["quotas"],
        json!({"cpu": 0, "ram": 4, "setup": 0, "switch": 0, "storage": 0})
    );
    assert_eq!(body["init_price"], 10);
    assert_eq!(body["switch_price"], 3);
    assert_eq!(body["plan_type"], "mixed");
    // storage (limit) 0.25 + ram (fixed) 2 × 4 + setup (one-time) 10.
    assert_eq!(body["minimal_price"], json!(18.25));
    assert_eq!(component(body, "ram")["amount"], 4);
    // Plan component prices are decimal strings, as waldur-api-client's NestedPlanComponent
    // declares them; the `prices` map stays numeric.
    assert_eq!(component(body, "ram")["price"], json!("2.0000000000"));
    assert_eq!(component(body, "cpu")["future_price"], Value::Null);
    assert_eq!(
        body["future_prices"],
        json!({"cpu": null, "ram": null, "setup": null, "switch": null, "storage": null})
    );
}

#[tokio::test]
async fn the_plan_type_names_the_billing_type_of_its_priced_components() {
    let f = fixture().await;
    let plan = f.create_plan("Typed", json!({})).await;
    f.app
        .post(
            &action_path(&plan, "update_quotas"),
            &f.owner.token,
            json!({"quotas": {"ram": 3}}),
        )
        .await;

    let mut seen = Vec::new();
    for (prices, plan_type, minimal, init, switch) in [
        (
            json!({"cpu": 1.5}),
            json!("usage-based"),
            json!(0),
            json!(0),
            json!(0),
        ),
        (
            json!({"ram": 2}),
            json!("fixed"),
            json!(6),
            json!(0),
            json!(0),
        ),
        (
            json!({"setup": 7}),
            json!("one-time"),
            json!(7),
            json!(7),
            json!(0),
        ),
        (
            json!({"switch": 4}),
            json!("on-plan-switch"),
            json!(0),
            json!(0),
            json!(4),
        ),
        (
            json!({"storage": 1.5}),
            json!("limit"),
            json!(1.5),
            json!(0),
            json!(0),
        ),
        (json!({}), Value::Null, json!(0), json!(0), json!(0)),
    ] {
        let reply = f
            .app
            .post(
                &action_path(&plan, "update_prices"),
                &f.owner.token,
                json!({"prices": prices}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let body = f.app.get(&plan_path(&plan), &f.owner.token).await.body;
        assert_eq!(body["plan_type"], plan_type, "{prices}");
        assert_eq!(body["minimal_price"], minimal, "{prices}");
        assert_eq!(body["init_price"], init, "{prices}");
        assert_eq!(body["switch_price"], switch, "{prices}");
        seen.push(body["prices"].clone());
    }
    // Components left out of a price update drop to zero.
    assert_eq!(
        seen[1],
        json!({"cpu": 0.0, "ram": 2.0, "setup": 0.0, "switch": 0.0, "storage": 0.0})
    );
}

#[tokio::test]
async fn price_and_quota_updates_refuse_bad_components_and_values() {
    let f = fixture().await;
    let plan = f.create_plan("Small", json!({})).await;
    let stranger = f.app.create_user("stranger").await;
    let prices = action_path(&plan, "update_prices");
    let quotas = action_path(&plan, "update_quotas");

    let unknown = f
        .app
        .post(
            &prices,
            &f.owner.token,
            json!({"prices": {"gpu": 1, "disk": 2, "cpu": 1}}),
        )
        .await;
    let negative = f
        .app
        .post(&prices, &f.owner.token, json!({"prices": {"cpu": -1}}))
        .await;
    let missing = f.app.post(&prices, &f.owner.token, json!({})).await;
    let by_stranger = f
        .app
        .post(&prices, &stranger.token, json!({"prices": {"cpu": 1}}))
        .await;
    let not_fixed = f
        .app
        .post(
            &quotas,
            &f.owner.token,
            json!({"quotas": {"cpu": 1, "ram": 1}}),
        )
        .await;
    let missing_quotas = f.app.post(&quotas, &f.owner.token, json!({})).await;
    let quotas_by_stranger = f
        .app
        .post(&quotas, &stranger.token, json!({"quotas": {"ram": 1}}))
        .await;

    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body, json!(["Invalid components disk, gpu."]));
    assert_eq!(negative.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        negative.body,
        json!({"prices": {"cpu": ["Ensure this value is greater than or equal to 0."]}})
    );
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body, json!({"prices": ["This field is required."]}));
    assert_eq!(by_stranger.status, StatusCode::FORBIDDEN);
    assert_eq!(by_stranger.body, json!({"detail": FORBIDDEN}));
    assert_eq!(not_fixed.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_fixed.body, json!(["Invalid components cpu."]));
    assert_eq!(missing_quotas.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing_quotas.body,
        json!({"quotas": ["This field is required."]})
    );
    assert_eq!(quotas_by_stranger.status, StatusCode::FORBIDDEN);
    let fetched = f.app.get(&plan_path(&plan), &f.owner.token).await;
    assert_eq!(fetched.body["prices"]["cpu"], json!(0.0));
    assert_eq!(fetched.body["quotas"]["ram"], 0);
}

#[tokio::test]
async fn prices_of_a_plan_in_use_become_future_prices() {
    let f = fixture().await;
    let plan = f.create_plan("Used", json!({"max_amount": 1})).await;
    let prices = action_path(&plan, "update_prices");
    let first = f
        .app
        .post(
            &prices,
            &f.owner.token,
            json!({"prices": {"cpu": 1, "ram": 3}}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    insert_resource(&f.app, &f.offering, &plan, &f.provider).await;

    let second = f
        .app
        .post(&prices, &f.owner.token, json!({"prices": {"cpu": 2}}))
        .await;
    let fetched = f.app.get(&plan_path(&plan), &f.owner.token).await;

    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let body = &fetched.body;
    assert_eq!(
        body["prices"],
        json!({"cpu": 1.0, "ram": 3.0, "setup": 0.0, "switch": 0.0, "storage": 0.0})
    );
    assert_eq!(
        body["future_prices"],
        json!({"cpu": 2.0, "ram": 0.0, "setup": 0.0, "switch": 0.0, "storage": 0.0})
    );
    assert_eq!(
        component(body, "cpu")["future_price"],
        json!("2.0000000000")
    );
    assert_eq!(component(body, "cpu")["price"], json!("1.0000000000"));
    assert_eq!(body["resources_count"], 1);
    // max_amount 1 and one resource: the plan is full.
    assert_eq!(body["is_active"], false);
}

#[tokio::test]
async fn plans_of_remote_offerings_are_not_managed_here() {
    let f = fixture().await;
    let remote = f
        .app
        .create_offering(
            &f.provider.url(),
            &f.category.url(),
            "Waldur.RemoteOffering",
            json!({
                "name": "Remote",
                "components": [{"type": "cpu", "name": "CPU", "billing_type": "usage"}],
                "plans": [{"name": "Remote plan"}]
            }),
        )
        .await;
    let plan_uuid = remote.body["plans"][0]["uuid"]
        .as_str()
        .expect("a plan")
        .to_string();
    let message = json!(["It is not possible to update plan for this offering type."]);

    let prices = f
        .app
        .post(
            &format!("{PLANS}{plan_uuid}/update_prices/"),
            &f.owner.token,
            json!({"prices": {"cpu": 1}}),
        )
        .await;
    let quotas = f
        .app
        .post(
            &format!("{PLANS}{plan_uuid}/update_quotas/"),
            &f.owner.token,
            json!({"quotas": {}}),
        )
        .await;
    let created = f
        .app
        .post(
            PLANS,
            &f.owner.token,
            json!({"name": "Another", "offering": remote.url()}),
        )
        .await;

    assert_eq!(prices.status, StatusCode::BAD_REQUEST);
    assert_eq!(prices.body, message);
    assert_eq!(quotas.status, StatusCode::BAD_REQUEST);
    assert_eq!(quotas.body, message);
    assert_eq!(created.status, StatusCode::BAD_REQUEST);
    assert_eq!(created.body, message);
}

#[tokio::test]
async fn every_user_lists_every_plan_by_name_with_filters_and_paging() {
    let f = fixture().await;
    for name in ["b-plan", "c-plan", "a-plan"] {
        f.create_plan(name, json!({})).await;
    }
    let other = f
        .app
        .create_offering(
            &f.provider.url(),
            &f.category.url(),
            "Marketplace.Slurm",
            json!({"name": "Other", "plans": [{"name": "z-plan"}]}),
        )
        .await;
    let stranger = f.app.create_user("stranger").await;
    let slug = f.offering.body["slug"].as_str().unwrap().to_string();
    let other_slug = other.body["slug"].as_str().unwrap().to_string();
    let get = |query: String| {
        let token = stranger.token.clone();
        let app = &f.app;
        async move { app.get(&format!("{PLANS}{query}"), &token).await }
    };

    let page = get("?page_size=2".into()).await;
    let second = get("?page_size=2&page=2".into()).await;
    let by_offering = get(format!("?offering={}", f.offering.url())).await;
    let by_slug = get(format!("?offering_slug={other_slug}")).await;
    let by_slugs = get(format!("?offering_slug={slug}&offering_slug={other_slug}")).await;
    let by_parent = get(format!("?parent_offering_uuid={}", f.offering.uuid())).await;
    let by_unknown = get(format!("?offering_uuid={}", Uuid::new_v4())).await;
    let head = f
        .app
        .request(Method::HEAD, PLANS, Some(&stranger.token), None)
        .await;
    let unauthenticated = anonymous(&f.app, Method::GET, PLANS).await;

    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.count(), 4);
    assert_eq!(names(&page), ["a-plan", "b-plan"]);
    let base = format!("{}{PLANS}", f.app.address);
    assert_eq!(
        page.header("link"),
        Some(
            format!(
                "<{base}?page_size=2>; rel=\"first\", <{base}?page=2&page_size=2>; rel=\"next\", \
                 <{base}?page=2&page_size=2>; rel=\"last\""
            )
            .as_str()
        )
    );
    assert_eq!(names(&second), ["c-plan", "z-plan"]);
    assert_eq!(second.items()[1]["offering"], other.url());
    for key in REQUIRED_PLAN_KEYS {
        assert!(second.items()[1].get(key).is_some(), "{key} is missing");
    }
    assert_eq!(by_offering.count(), 3);
    assert_eq!(names(&by_offering), ["a-plan", "b-plan", "c-plan"]);
    assert_eq!(names(&by_slug), ["z-plan"]);
    assert_eq!(by_slugs.count(), 4);
    assert_eq!(by_parent.count(), 3);
    assert_eq!(by_unknown.count(), 0);
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("x-result-count"), Some("4"));
    assert_eq!(head.text, "");
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------------
// The public catalogue
// ---------------------------------------------------------------------------------------

/// A Basic offering of the fixture's provider with one plan, in Draft.
async fn offering_with_plan(f: &Fixture, name: &str, extra: Value) -> Reply {
    let mut body =
        json!({"name": name, "components": components(), "plans": [{"name": "Default"}]});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    f.app
        .create_offering(
            &f.provider.url(),
            &f.category.url(),
            "Marketplace.Basic",
            body,
        )
        .await
}

async fn public_count(app: &TestApp, token: Option<&str>, query: &str) -> i64 {
    let reply = app
        .request(Method::GET, &format!("{PUBLIC}{query}"), token, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.count()
}

async fn public_retrieve(app: &TestApp, token: Option<&str>, offering: &Reply) -> Reply {
    app.request(
        Method::GET,
        &format!("{PUBLIC}{}/", offering.uuid()),
        token,
        None,
    )
    .await
}

#[tokio::test]
async fn only_active_and_paused_offerings_are_public_even_for_staff() {
    let f = fixture().await;
    let offering = offering_with_plan(&f, "Shared", json!({})).await;
    let staff = Some(f.app.admin_token.as_str());

    let draft_list = public_count(&f.app, staff, "").await;
    let draft_detail = public_retrieve(&f.app, staff, &offering).await;
    lifecycle(&f.app, &offering, "activate").await;
    let active_staff = public_count(&f.app, staff, "").await;
    let active_anonymous = public_count(&f.app, None, "").await;
    lifecycle(&f.app, &offering, "pause").await;
    let paused = public_count(&f.app, None, "").await;
    lifecycle(&f.app, &offering, "unpause").await;
    lifecycle(&f.app, &offering, "make_unavailable").await;
    let unavailable = public_count(&f.app, staff, "").await;
    lifecycle(&f.app, &offering, "make_available").await;
    lifecycle(&f.app, &offering, "archive").await;
    let archived = public_count(&f.app, staff, "").await;
    let archived_detail = public_retrieve(&f.app, staff, &offering).await;

    assert_eq!(draft_list, 0);
    assert_eq!(draft_detail.status, StatusCode::NOT_FOUND);
    assert_eq!(
        draft_detail.body,
        json!({"detail": "No Offering matches the given query."})
    );
    assert_eq!(active_staff, 1);
    assert_eq!(active_anonymous, 1);
    assert_eq!(paused, 1);
    assert_eq!(unavailable, 0);
    assert_eq!(archived, 0);
    assert_eq!(archived_detail.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_active_shared_offering_is_shown_to_anonymous_callers_with_public_plan_urls() {
    let f = fixture().await;
    let offering = offering_with_plan(&f, "Shared", json!({"secret_options": {"k": "v"}})).await;
    lifecycle(&f.app, &offering, "activate").await;
    let hex = offering.uuid();
    let plan_hex = offering.body["plans"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();

    let detail = public_retrieve(&f.app, None, &offering).await;
    let list = anonymous(&f.app, Method::GET, PUBLIC).await;
    let head = anonymous(&f.app, Method::HEAD, PUBLIC).await;
    let fields = anonymous(
        &f.app,
        Method::GET,
        &format!("{PUBLIC}{hex}/?field=uuid&field=state"),
    )
    .await;

    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    let body = &detail.body;
    assert_eq!(
        body["url"],
        format!("{}{PUBLIC}{hex}/", f.app.address).as_str()
    );
    assert_eq!(body["state"], "Active");
    assert_eq!(body["promotion_campaigns"], json!([]));
    assert!(body.get("secret_options").is_none());
    assert!(body.get("service_attributes").is_none());
    assert_eq!(body["customer_uuid"], f.provider.uuid());
    let plan = &body["plans"][0];
    assert_eq!(
        plan["url"],
        format!("{}{PUBLIC}{hex}/plans/{plan_hex}/", f.app.address).as_str()
    );
    assert!(plan.get("offering").is_none());
    assert_eq!(plan["prices"]["cpu"], json!(0.0));
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.count(), 1);
    assert_eq!(list.items()[0]["uuid"], hex.as_str());
    assert_eq!(list.items()[0]["plans"][0]["url"], plan["url"]);
    assert!(list.items()[0].get("total_cost").is_none());
    let base = format!("{}{PUBLIC}", f.app.address);
    assert_eq!(
        list.header("link"),
        Some(format!("<{base}>; rel=\"first\", <{base}>; rel=\"last\"").as_str())
    );
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("x-result-count"), Some("1"));
    assert_eq!(head.text, "");
    assert_eq!(fields.body, json!({"uuid": hex, "state": "Active"}));
}

#[tokio::test]
async fn a_private_offering_is_public_only_to_connected_users_while_it_has_an_open_plan() {
    let f = fixture().await;
    let offering = offering_with_plan(&f, "Private", json!({"shared": false})).await;
    lifecycle(&f.app, &offering, "activate").await;
    let project = f.app.create_project(&f.provider.url(), "Inside").await;
    let member = f.app.create_user("project-member").await;
    f.app
        .grant("projects", &project.uuid(), &member, "PROJECT.MEMBER")
        .await;
    let stranger = f.app.create_user("stranger").await;
    let support = f.app.create_support_user("support").await;
    let owner = Some(f.owner.token.as_str());

    let seen_by_owner = public_count(&f.app, owner, "").await;
    let seen_by_member = public_count(&f.app, Some(&member.token), "").await;
    let seen_by_support = public_count(&f.app, Some(&support.token), "").await;
    let seen_by_stranger = public_count(&f.app, Some(&stranger.token), "").await;
    let seen_anonymously = public_count(&f.app, None, "").await;
    let stranger_detail = public_retrieve(&f.app, Some(&stranger.token), &offering).await;
    let owner_detail = public_retrieve(&f.app, owner, &offering).await;

    let plan_uuid = offering.body["plans"][0]["uuid"].as_str().unwrap();
    let archived = f
        .app
        .post(
            &format!("{PLANS}{plan_uuid}/archive/"),
            &f.owner.token,
            json!({}),
        )
        .await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.text);
    let owner_after = public_count(&f.app, owner, "").await;
    let staff_after = public_count(&f.app, Some(&f.app.admin_token), "").await;

    assert_eq!(seen_by_owner, 1);
    assert_eq!(seen_by_member, 1);
    assert_eq!(seen_by_support, 1);
    assert_eq!(seen_by_stranger, 0);
    assert_eq!(seen_anonymously, 0);
    assert_eq!(stranger_detail.status, StatusCode::NOT_FOUND);
    assert_eq!(owner_detail.status, StatusCode::OK);
    assert_eq!(owner_detail.body["shared"], false);
    assert_eq!(owner_after, 0);
    assert_eq!(staff_after, 0);
}

#[tokio::test]
async fn public_plans_are_listed_and_retrieved_with_archived_ones_included() {
    let f = fixture().await;
    let offering = offering_with_plan(&f, "Shared", json!({})).await;
    let second = f
        .app
        .post(
            PLANS,
            &f.owner.token,
            json!({"name": "Archived", "offering": offering.url()}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    let archived = f
        .app
        .post(&action_path(&second, "archive"), &f.owner.token, json!({}))
        .await;
    assert_eq!(archived.status, StatusCode::OK);
    let hex = offering.uuid();
    let plans_path = format!("{PUBLIC}{hex}/plans/");

    let hidden = anonymous(&f.app, Method::GET, &plans_path).await;
    lifecycle(&f.app, &offering, "activate").await;
    let list = anonymous(&f.app, Method::GET, &plans_path).await;
    let dashed = Uuid::parse_str(&second.uuid()).unwrap().hyphenated();
    let one = anonymous(&f.app, Method::GET, &format!("{plans_path}{dashed}/")).await;
    let unknown = anonymous(
        &f.app,
        Method::GET,
        &format!("{plans_path}{}/", Uuid::new_v4().simple()),
    )
    .await;
    let foreign = f
        .app
        .create_offering(
            &f.provider.url(),
            &f.category.url(),
            "Marketplace.Basic",
            json!({"name": "Foreign", "plans": [{"name": "Elsewhere"}]}),
        )
        .await;
    let foreign_plan = foreign.body["plans"][0]["uuid"].as_str().unwrap();
    let not_of_this_offering =
        anonymous(&f.app, Method::GET, &format!("{plans_path}{foreign_plan}/")).await;

    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.header("x-result-count"), None);
    assert_eq!(names(&list), ["Archived", "Default"]);
    assert_eq!(list.items()[0]["archived"], true);
    let plan_url = format!("{}{plans_path}{}/", f.app.address, second.uuid());
    assert_eq!(list.items()[0]["url"], plan_url.as_str());
    assert!(list.items()[0].get("offering").is_none());
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body, list.items()[0]);
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.text, "");
    assert_eq!(not_of_this_offering.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_public_list_filters_orders_and_pages_like_the_provider_list() {
    let f = fixture().await;
    let other_provider = f.app.create_provider("Second Provider").await;
    let other_category = f.app.create_category("Storage Category").await;
    let alpha = offering_with_plan(&f, "Alpha", json!({})).await;
    let beta = f
        .app
        .create_offering(
            &other_provider.url(),
            &other_category.url(),
            "Marketplace.Slurm",
            json!({"name": "Beta", "plans": [{"name": "Default"}]}),
        )
        .await;
    let gamma = offering_with_plan(&f, "Gamma", json!({"shared": false})).await;
    let draft = offering_with_plan(&f, "Delta draft", json!({})).await;
    for offering in [&alpha, &beta, &gamma] {
        lifecycle(&f.app, offering, "activate").await;
    }
    lifecycle(&f.app, &gamma, "pause").await;
    let staff = Some(f.app.admin_token.as_str());
    let app = &f.app;
    let query = |q: String| async move {
        app.request(Method::GET, &format!("{PUBLIC}{q}"), staff, None)
            .await
    };

    let all = query(String::new()).await;
    let by_type = query("?type=Marketplace.Slurm&type=Support.OfferingTemplate".into()).await;
    let by_types = query("?type=Marketplace.Slurm&type=Marketplace.Basic".into()).await;
    let by_category = query(format!("?category_uuid={}", other_category.uuid())).await;
    let by_customer = query(format!("?customer_uuid={}", f.provider.uuid())).await;
    let not_shared = query("?shared=false".into()).await;
    let paused = query("?state=Paused".into()).await;
    let drafts = query("?state=Draft".into()).await;
    let bad_state = query("?state=Sleeping".into()).await;
    let allowed = query(format!("?allowed_customer_uuid={}", other_provider.uuid())).await;
    let descending = query("?o=-name".into()).await;
    let bad_order = query("?o=secret".into()).await;
    let page = query("?page_size=1&page=2".into()).await;
    let by_name = query("?name=amm".into()).await;

    assert_eq!(all.count(), 3);
    assert_eq!(names(&all), ["Alpha", "Beta", "Gamma"]);
    assert!(
        !names(&all).contains(&"Delta draft".to_string()),
        "{:?}",
        draft.uuid()
    );
    assert_eq!(names(&by_type), ["Beta"]);
    assert_eq!(by_types.count(), 3);
    assert_eq!(names(&by_category), ["Beta"]);
    assert_eq!(names(&by_customer), ["Alpha", "Gamma"]);
    assert_eq!(names(&not_shared), ["Gamma"]);
    assert_eq!(names(&paused), ["Gamma"]);
    assert_eq!(paused.items()[0]["state"], "Paused");
    assert_eq!(drafts.count(), 0);
    assert_eq!(bad_state.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_state.body,
        json!({"state": ["Select a valid choice. Sleeping is not one of the available choices."]})
    );
    // Shared offerings and the customer's own.
    assert_eq!(names(&allowed), ["Alpha", "Beta"]);
    assert_eq!(names(&descending), ["Gamma", "Beta", "Alpha"]);
    assert_eq!(bad_order.status, StatusCode::BAD_REQUEST);
    assert_eq!(page.count(), 3);
    assert_eq!(names(&page), ["Beta"]);
    let base = format!("{}{PUBLIC}", f.app.address);
    assert_eq!(
        page.header("link"),
        Some(
            format!(
                "<{base}?page_size=1>; rel=\"first\", <{base}?page_size=1>; rel=\"prev\", \
                 <{base}?page=3&page_size=1>; rel=\"next\", <{base}?page=3&page_size=1>; rel=\"last\""
            )
            .as_str()
        )
    );
    assert_eq!(names(&by_name), ["Gamma"]);
}
