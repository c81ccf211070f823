//! The provider offering catalogue: `/api/marketplace-provider-offerings/`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, TestUser, spawn_app, spawn_app_with_config};

const OFFERINGS: &str = "/api/marketplace-provider-offerings/";
const FORBIDDEN: &str = "You do not have permission to perform this action.";
const REQUIRED: &str = "This field is required.";
const NO_SUCH_OBJECT: &str = "Invalid hyperlink - Object does not exist.";
const STATES: [&str; 5] = ["Draft", "Active", "Paused", "Archived", "Unavailable"];
const BILLING_TYPES: [&str; 5] = ["fixed", "usage", "limit", "one", "few"];
const PLAN_UNITS: [&str; 6] = ["month", "quarter", "half_month", "day", "hour", "quantity"];
const LIMIT_PERIODS: [&str; 4] = ["month", "quarterly", "annual", "total"];

fn offering_path(uuid: &str) -> String {
    format!("{OFFERINGS}{uuid}/")
}

fn action_path(uuid: &str, action: &str) -> String {
    format!("{OFFERINGS}{uuid}/{action}/")
}

fn not_found() -> Value {
    json!({"detail": "No Offering matches the given query."})
}

fn is_hex32(value: &Value) -> bool {
    value.as_str().is_some_and(|text| {
        text.len() == 32
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// What the published client needs to parse a provider offering (see the research notes):
/// valid uuids and times, known enum values, objects where it expects objects.
fn assert_parseable(offering: &Value) {
    let object = offering.as_object().expect("an offering is an object");
    assert!(is_hex32(&offering["uuid"]), "uuid {}", offering["uuid"]);
    assert!(
        is_hex32(&offering["category_uuid"]),
        "category_uuid {}",
        offering["category_uuid"]
    );
    let created = offering["created"].as_str().expect("created");
    assert!(created.ends_with('Z'), "{created}");
    chrono::DateTime::parse_from_rfc3339(created).expect("created is ISO-8601");
    let state = offering["state"].as_str().expect("state");
    assert!(STATES.contains(&state), "{state}");
    let country = offering["country"].as_str().expect("country is never null");
    assert!(
        country.is_empty()
            || (country.len() == 2 && country.chars().all(|c| c.is_ascii_uppercase())),
        "{country}"
    );
    for key in [
        "attributes",
        "options",
        "resource_options",
        "plugin_options",
        "backend_metadata",
    ] {
        assert!(offering[key].is_object(), "{key}: {}", offering[key]);
    }
    for key in ["secret_options", "service_attributes", "backend_id_rules"] {
        if let Some(value) = object.get(key) {
            assert!(value.is_object(), "{key}: {value}");
        }
    }
    for key in ["options", "resource_options"] {
        assert!(offering[key]["options"].is_object(), "{key}");
        assert!(offering[key]["order"].is_array(), "{key}");
        for (name, option) in offering[key]["options"].as_object().unwrap() {
            assert!(option["type"].is_string(), "{key}.{name}");
            assert!(option.get("label").is_some(), "{key}.{name}");
        }
    }
    for key in [
        "endpoints",
        "components",
        "plans",
        "screenshots",
        "files",
        "partitions",
        "organization_groups",
    ] {
        assert!(offering[key].is_array(), "{key}: {}", offering[key]);
    }
    for endpoint in offering["endpoints"].as_array().unwrap() {
        assert!(is_hex32(&endpoint["uuid"]), "{endpoint}");
    }
    for component in offering["components"].as_array().unwrap() {
        assert!(is_hex32(&component["uuid"]), "{component}");
        let billing_type = component["billing_type"].as_str().expect("billing_type");
        assert!(BILLING_TYPES.contains(&billing_type), "{component}");
    }
    for plan in offering["plans"].as_array().unwrap() {
        assert!(is_hex32(&plan["uuid"]), "{plan}");
        let unit = plan["unit"].as_str().expect("unit");
        assert!(PLAN_UNITS.contains(&unit), "{plan}");
        let mode = plan["billing_mode"].as_str().expect("billing_mode");
        assert!(["inherit", "limit", "usage"].contains(&mode), "{plan}");
        for key in ["prices", "future_prices", "quotas"] {
            assert!(plan[key].is_object(), "{key}: {plan}");
        }
        for key in ["organization_groups", "components"] {
            assert!(plan[key].is_array(), "{key}: {plan}");
        }
        for item in plan["components"].as_array().unwrap() {
            assert!(
                item["price"].is_string(),
                "price is a decimal string: {item}"
            );
            assert!(
                item["future_price"].is_null() || item["future_price"].is_string(),
                "future_price is null or a decimal string: {item}"
            );
            let billing_type = item["billing_type"].as_str().expect("billing_type");
            assert!(BILLING_TYPES.contains(&billing_type), "{item}");
            if let Some(period) = item.get("limit_period") {
                let period = period
                    .as_str()
                    .expect("limit_period is omitted, never null");
                assert!(LIMIT_PERIODS.contains(&period), "{item}");
            }
        }
    }
}

fn assert_all_parseable(reply: &Reply) {
    for item in reply.items() {
        assert_parseable(item);
    }
}

fn names(reply: &Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|item| item["name"].as_str().expect("name").to_string())
        .collect()
}

/// A provider customer and a category, as most tests need.
struct Catalog {
    provider: Reply,
    category: Reply,
}

impl Catalog {
    async fn new(app: &TestApp) -> Self {
        Self {
            provider: app.create_provider("Ref Provider Org").await,
            category: app.create_category("Ref Category").await,
        }
    }

    /// The four required fields.
    fn body(&self, name: &str) -> Value {
        json!({
            "name": name,
            "category": self.category.url(),
            "customer": self.provider.url(),
            "type": "Marketplace.Basic",
        })
    }

    /// The required fields plus `extra`.
    fn body_with(&self, name: &str, extra: Value) -> Value {
        let mut body = self.body(name);
        let object = body.as_object_mut().unwrap();
        for (key, value) in extra.as_object().expect("extra is an object") {
            object.insert(key.clone(), value.clone());
        }
        body
    }

    /// A Basic offering with one component and one plan, so it can be activated.
    async fn offering(&self, app: &TestApp, name: &str) -> Reply {
        app.create_offering(
            &self.provider.url(),
            &self.category.url(),
            "Marketplace.Basic",
            json!({
                "name": name,
                "components": [{"type": "cpu", "name": "CPU", "billing_type": "usage"}],
                "plans": [{"name": "Default", "unit": "month"}],
            }),
        )
        .await
    }

    /// A Basic offering without plans.
    async fn bare_offering(&self, app: &TestApp, name: &str) -> Reply {
        app.create_offering(
            &self.provider.url(),
            &self.category.url(),
            "Marketplace.Basic",
            json!({"name": name}),
        )
        .await
    }
}

async fn post_empty(app: &TestApp, path: &str, token: &str) -> Reply {
    app.request(Method::POST, path, Some(token), None).await
}

/// Runs a lifecycle action as staff and checks it succeeded.
async fn move_to(app: &TestApp, uuid: &str, action: &str, state: &str) {
    let reply = post_empty(app, &action_path(uuid, action), &app.admin_token).await;
    assert_eq!(reply.status, StatusCode::OK, "{action}: {}", reply.text);
    assert_eq!(
        reply.body,
        json!({"detail": "Offering state updated.", "state": state})
    );
}

async fn user_with_role(app: &TestApp, customer: &Reply, username: &str, role: &str) -> TestUser {
    let user = app.create_user(username).await;
    app.grant("customers", &customer.uuid(), &user, role).await;
    user
}

async fn retrieve(app: &TestApp, uuid: &str) -> Value {
    let reply = app.get(&offering_path(uuid), &app.admin_token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_parseable(&reply.body);
    reply.body
}

async fn block(app: &TestApp, customer: &Reply) {
    let reply = app
        .patch(
            &format!("/api/customers/{}/", customer.uuid()),
            &app.admin_token,
            json!({"blocked": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// Records a marketplace resource of the offering in the read model (what an order makes).
async fn insert_resource(app: &TestApp, offering: &Reply) {
    let offering_uuid = Uuid::parse_str(&offering.uuid()).unwrap();
    let plan_uuid = offering.body["plans"][0]["uuid"]
        .as_str()
        .map(|u| Uuid::parse_str(u).unwrap());
    let customer_uuid = Uuid::parse_str(offering.body["customer_uuid"].as_str().unwrap()).unwrap();
    sqlx::query(
        "INSERT INTO projection.resources (uuid, offering_uuid, plan_uuid, project_uuid, \
         customer_uuid, name, backend_id, state, created, modified, last_seq) \
         VALUES ($1, $2, $3, $4, $5, 'vm', '', 'OK', now(), now(), 0)",
    )
    .bind(Uuid::new_v4())
    .bind(offering_uuid)
    .bind(plan_uuid)
    .bind(Uuid::new_v4())
    .bind(customer_uuid)
    .execute(&app.ledger.pool)
    .await
    .expect("the resource row is inserted");
}

// ---------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn staff_creates_a_draft_slurm_offering_with_its_components_and_plan() {
    let app = spawn_app().await;
    let provider = app.create_provider("Ref Provider Org").await;
    let category = app.create_category("Ref Category").await;

    let reply = app
        .create_offering(
            &provider.url(),
            &category.url(),
            "Marketplace.Slurm",
            json!({
                "name": "Ref Slurm Offering",
                "components": [
                    {"type": "cpu", "name": "CPU", "measured_unit": "hours", "billing_type": "usage"},
                    {"type": "storage", "name": "Storage", "measured_unit": "GB",
                     "billing_type": "limit", "limit_period": "total"}
                ],
                "plans": [{"name": "Default", "unit": "month", "prices": {"cpu": 0.5, "storage": 0.1}}]
            }),
        )
        .await;

    assert_eq!(reply.body["state"], "Draft");
    assert_eq!(reply.body["slug"], "ref-slur-1");
    assert_eq!(reply.body["customer_uuid"], provider.uuid());
    assert_eq!(reply.body["components"][0]["type"], "cpu");
    assert_eq!(reply.body["components"][1]["limit_period"], "total");
    let plan = &reply.body["plans"][0];
    assert_eq!(plan["unit"], "month");
    assert_eq!(plan["unit_price"], "0.0000000000");
    assert_eq!(plan["prices"], json!({"cpu": 0.5, "storage": 0.1}));
    assert_eq!(plan["quotas"], json!({"cpu": 0, "storage": 0}));
    assert!(
        plan["url"]
            .as_str()
            .unwrap()
            .contains("/api/marketplace-plans/")
    );
    assert_eq!(reply.header("location"), Some(reply.url().as_str()));

    let activated = app
        .post(
            &format!(
                "/api/marketplace-provider-offerings/{}/activate/",
                reply.uuid()
            ),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.text);
    assert_eq!(
        activated.body,
        json!({"detail": "Offering state updated.", "state": "Active"})
    );
}

#[tokio::test]
async fn an_offering_created_with_only_the_required_fields_is_a_draft_with_waldur_defaults() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;

    let reply = app
        .post(OFFERINGS, &app.admin_token, catalog.body("Plain"))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_parseable(&reply.body);
    let body = &reply.body;
    assert_eq!(body["state"], "Draft");
    assert_eq!(body["name"], "Plain");
    assert_eq!(body["type"], "Marketplace.Basic");
    assert_eq!(body["shared"], true);
    assert_eq!(body["billable"], true);
    assert_eq!(body["options"], json!({"options": {}, "order": []}));
    assert_eq!(
        body["resource_options"],
        json!({"options": {}, "order": []})
    );
    assert_eq!(body["attributes"], json!({}));
    assert_eq!(body["plugin_options"], json!({}));
    assert_eq!(body["secret_options"], json!({}));
    assert_eq!(body["service_attributes"], json!({}));
    assert_eq!(body["country"], "");
    assert_eq!(body["order_count"], 0);
    assert_eq!(body["paused_reason"], "");
    assert_eq!(body["latitude"], Value::Null);
    assert_eq!(body["longitude"], Value::Null);
    assert_eq!(body["project"], Value::Null);
    assert_eq!(body["components"], json!([]));
    assert_eq!(body["plans"], json!([]));
    assert_eq!(body["endpoints"], json!([]));
    assert_eq!(body["customer"], catalog.provider.url());
    assert_eq!(body["customer_uuid"], catalog.provider.uuid());
    assert_eq!(body["customer_name"], "Ref Provider Org");
    assert_eq!(body["category"], catalog.category.url());
    assert_eq!(body["category_title"], "Ref Category");
    for key in [
        "description",
        "full_description",
        "terms_of_service",
        "terms_of_service_link",
        "privacy_policy_link",
        "vendor_details",
        "getting_started",
        "integration_guide",
        "access_url",
        "backend_id",
    ] {
        assert_eq!(body[key], "", "{key}");
    }
    let url = reply.url();
    assert_eq!(
        url,
        format!("{}{}", app.address, offering_path(&reply.uuid()))
    );
    assert_eq!(reply.header("location"), Some(url.as_str()));
    // The create answer is the list form: no totals.
    assert!(body.get("total_customers").is_none(), "{body}");
}

#[tokio::test]
async fn every_optional_field_given_on_create_is_echoed_back_and_kept() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let options = json!({
        "options": {"size": {"type": "integer", "label": "Size", "required": true, "min": 1, "max": 8}},
        "order": ["size"],
    });
    let resource_options = json!({
        "options": {"name": {"type": "string", "label": "Name", "required": false}},
        "order": ["name"],
    });
    let extra = json!({
        "description": "Short",
        "full_description": "<p>Long</p>",
        "terms_of_service": "Be nice",
        "terms_of_service_link": "https://example.org/tos",
        "privacy_policy_link": "https://example.org/privacy",
        "vendor_details": "Vendor Inc.",
        "getting_started": "Log in",
        "integration_guide": "Use the agent",
        "access_url": "https://portal.example.org",
        "latitude": 58.38,
        "longitude": 26.72,
        "country": "EE",
        "backend_id": "be-1",
        "shared": false,
        "billable": false,
        "attributes": {"vpc": true, "regions": ["eu"]},
        "options": options,
        "resource_options": resource_options,
        "plugin_options": {"storage_mode": "fixed", "auto_approve_remote_orders": true},
        "secret_options": {"api_url": "https://api.example.org", "token": "s3cret"},
    });

    let reply = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with("Full", extra.clone()),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_parseable(&reply.body);
    let stored = retrieve(&app, &reply.uuid()).await;
    for body in [&reply.body, &stored] {
        for (key, value) in extra.as_object().unwrap() {
            assert_eq!(&body[key], value, "{key}");
        }
        assert_eq!(body["state"], "Draft");
    }
}

#[tokio::test]
async fn a_create_without_name_category_customer_and_type_names_all_four_as_required() {
    let app = spawn_app().await;

    let reply = app
        .post(OFFERINGS, &app.admin_token, json!({"description": "x"}))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({
            "name": [REQUIRED],
            "category": [REQUIRED],
            "customer": [REQUIRED],
            "type": [REQUIRED],
        })
    );
}

#[tokio::test]
async fn an_unregistered_offering_type_is_an_invalid_value() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let mut body = catalog.body("Odd");
    body["type"] = json!("Marketplace.Bogus");

    let reply = app.post(OFFERINGS, &app.admin_token, body).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, json!({"type": ["Invalid value."]}));
}

#[tokio::test]
async fn a_country_that_is_not_an_iso_code_is_not_a_valid_choice() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;

    let unknown = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with("C", json!({"country": "ZZ"})),
        )
        .await;
    let too_long = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with("C", json!({"country": "EST"})),
        )
        .await;
    let lower = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with("C", json!({"country": "ee"})),
        )
        .await;

    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    assert_eq!(
        unknown.body,
        json!({"country": ["\"ZZ\" is not a valid choice."]})
    );
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        too_long.body,
        json!({"country": ["\"EST\" is not a valid choice."]})
    );
    assert_eq!(lower.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_empty_plan_list_is_refused_with_the_nested_message() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;

    let reply = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with("P", json!({"plans": []})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"plans": {"plans": ["At least one plan should be specified."]}})
    );
}

#[tokio::test]
async fn a_component_type_with_a_space_gives_a_per_item_error() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;

    let one = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with(
                "C",
                json!({"components": [{"type": "a b", "name": "AB", "billing_type": "usage"}]}),
            ),
        )
        .await;
    let second_of_two = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with(
                "C",
                json!({"components": [
                    {"type": "cpu", "name": "CPU", "billing_type": "usage"},
                    {"type": "a b", "name": "AB"},
                ]}),
            ),
        )
        .await;

    assert_eq!(one.status, StatusCode::BAD_REQUEST, "{}", one.text);
    assert_eq!(
        one.body,
        json!({"components": [{"type": ["Enter a valid value."]}]})
    );
    assert_eq!(second_of_two.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        second_of_two.body,
        json!({"components": [
            {},
            {"type": ["Enter a valid value."], "billing_type": [REQUIRED]},
        ]})
    );
}

#[tokio::test]
async fn duplicate_component_types_are_refused() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;

    let reply = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with(
                "D",
                json!({"components": [
                    {"type": "cpu", "name": "CPU", "billing_type": "usage"},
                    {"type": "cpu", "name": "CPU again", "billing_type": "fixed"},
                ]}),
            ),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, json!(["Component cpu already exists."]));
    let list = app.get(OFFERINGS, &app.admin_token).await;
    assert_eq!(list.count(), 0);
}

#[tokio::test]
async fn an_openstack_tenant_takes_builtin_components_as_limits_and_refuses_extra_ones() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let tenant = |components: Value| {
        let mut body = catalog.body_with("Tenant", json!({"components": components}));
        body["type"] = json!("OpenStack.Tenant");
        body
    };

    let extra = app
        .post(
            OFFERINGS,
            &app.admin_token,
            tenant(json!([{"type": "gpu", "name": "GPU", "billing_type": "limit"}])),
        )
        .await;
    let builtin = app
        .post(
            OFFERINGS,
            &app.admin_token,
            tenant(json!([{"type": "cores", "name": "Cores", "billing_type": "limit"}])),
        )
        .await;

    assert_eq!(extra.status, StatusCode::BAD_REQUEST, "{}", extra.text);
    assert_eq!(
        extra.body,
        json!({"components": ["Extra components are not allowed."]})
    );
    assert_eq!(builtin.status, StatusCode::CREATED, "{}", builtin.text);
    assert_parseable(&builtin.body);
    let components = builtin.body["components"].as_array().unwrap();
    let types: Vec<&str> = components
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["cores", "ram", "storage"]);
    assert!(components.iter().all(|c| c["is_builtin"] == true));
    assert_eq!(components[1]["factor"], 1024);
}

#[tokio::test]
async fn a_customer_that_is_not_a_service_provider_cannot_own_offerings() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let plain = app.create_customer("Not A Provider").await;
    let mut body = catalog.body("X");
    body["customer"] = json!(plain.url());

    let reply = app.post(OFFERINGS, &app.admin_token, body).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"customer": ["Customer should be a service provider."]})
    );
}

#[tokio::test]
async fn an_unknown_category_customer_or_project_is_an_invalid_hyperlink() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let ghost = Uuid::new_v4().simple().to_string();
    let body = catalog.body_with(
        "X",
        json!({
            "category": format!("{}/api/marketplace-categories/{ghost}/", app.address),
            "customer": format!("{}/api/customers/{ghost}/", app.address),
            "project": format!("{}/api/projects/{ghost}/", app.address),
        }),
    );

    let reply = app.post(OFFERINGS, &app.admin_token, body).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({
            "category": [NO_SUCH_OBJECT],
            "customer": [NO_SUCH_OBJECT],
            "project": [NO_SUCH_OBJECT],
        })
    );
}

#[tokio::test]
async fn a_user_without_a_role_in_the_provider_cannot_create_offerings_for_it() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let stranger = app.create_user("stranger").await;
    let manager = user_with_role(&app, &catalog.provider, "manager", "CUSTOMER.MANAGER").await;

    let by_stranger = app
        .post(OFFERINGS, &stranger.token, catalog.body("X"))
        .await;
    let by_manager = app.post(OFFERINGS, &manager.token, catalog.body("X")).await;

    assert_eq!(
        by_stranger.status,
        StatusCode::FORBIDDEN,
        "{}",
        by_stranger.text
    );
    assert_eq!(by_stranger.body, json!({"detail": FORBIDDEN}));
    assert_eq!(
        by_manager.status,
        StatusCode::FORBIDDEN,
        "{}",
        by_manager.text
    );
    let list = app.get(OFFERINGS, &app.admin_token).await;
    assert_eq!(list.count(), 0);
}

#[tokio::test]
async fn a_customer_owner_creates_an_offering_for_its_provider_and_sees_it() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;

    let reply = app
        .post(
            OFFERINGS,
            &owner.token,
            catalog.body_with("Owned", json!({"secret_options": {"token": "t"}})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_parseable(&reply.body);
    assert_eq!(reply.body["state"], "Draft");
    assert_eq!(reply.body["secret_options"], json!({"token": "t"}));
    let seen = app.get(&offering_path(&reply.uuid()), &owner.token).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    assert_eq!(seen.body["name"], "Owned");
}

#[tokio::test]
async fn a_blocked_provider_cannot_get_new_offerings() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    block(&app, &catalog.provider).await;

    let reply = app
        .post(OFFERINGS, &app.admin_token, catalog.body("Blocked"))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!(["Blocked organization is not available."])
    );
}

#[tokio::test]
async fn plugin_options_with_values_clients_cannot_read_are_refused() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let with =
        |plugin_options: Value| catalog.body_with("P", json!({"plugin_options": plugin_options}));

    let bogus = app
        .post(
            OFFERINGS,
            &app.admin_token,
            with(json!({"storage_mode": "bogus"})),
        )
        .await;
    let null_scope = app
        .post(
            OFFERINGS,
            &app.admin_token,
            with(json!({"account_scope": null})),
        )
        .await;
    let not_a_dict = app
        .post(OFFERINGS, &app.admin_token, with(json!(["storage_mode"])))
        .await;

    assert_eq!(bogus.status, StatusCode::BAD_REQUEST, "{}", bogus.text);
    assert_eq!(
        bogus.body,
        json!({"plugin_options": ["\"bogus\" is not a valid choice for storage_mode."]})
    );
    assert_eq!(
        null_scope.status,
        StatusCode::BAD_REQUEST,
        "{}",
        null_scope.text
    );
    assert_eq!(not_a_dict.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        not_a_dict.body,
        json!({"plugin_options": ["Dictionary is expected."]})
    );
}

#[tokio::test]
async fn secret_options_with_values_clients_cannot_read_are_refused() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let with =
        |secret_options: Value| catalog.body_with("S", json!({"secret_options": secret_options}));

    let driver = app
        .post(
            OFFERINGS,
            &app.admin_token,
            with(json!({"node_disk_driver": "xd"})),
        )
        .await;
    let environ = app
        .post(OFFERINGS, &app.admin_token, with(json!({"environ": "A=1"})))
        .await;
    let fine = app
        .post(
            OFFERINGS,
            &app.admin_token,
            with(json!({"node_disk_driver": "vd", "environ": [{"name": "A", "value": "1"}]})),
        )
        .await;

    assert_eq!(driver.status, StatusCode::BAD_REQUEST, "{}", driver.text);
    assert_eq!(
        driver.body,
        json!({"secret_options": ["\"xd\" is not a valid choice for node_disk_driver."]})
    );
    assert_eq!(environ.status, StatusCode::BAD_REQUEST, "{}", environ.text);
    assert_eq!(
        environ.body,
        json!({"secret_options": ["environ must be a list of dictionaries."]})
    );
    assert_eq!(fine.status, StatusCode::CREATED, "{}", fine.text);
}

#[tokio::test]
async fn option_fields_need_a_known_type_and_a_label() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;

    let bad = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with(
                "O",
                json!({"options": {
                    "options": {
                        "size": {"type": "slider"},
                        "name": {"type": "string", "label": "Name"},
                    },
                    "order": ["size", "name"],
                }}),
            ),
        )
        .await;
    let no_order = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with("O", json!({"resource_options": {"options": {}}})),
        )
        .await;
    let cleaned = app
        .post(
            OFFERINGS,
            &app.admin_token,
            catalog.body_with(
                "O",
                json!({"options": {
                    "options": {"name": {"type": "string", "label": " Name ", "cascade_config": null}},
                    "order": ["name"],
                }}),
            ),
        )
        .await;

    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert_eq!(
        bad.body,
        json!({"options": {"options": {"size": {
            "type": ["\"slider\" is not a valid choice."],
            "label": [REQUIRED],
        }}}})
    );
    assert_eq!(no_order.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        no_order.body,
        json!({"resource_options": {"order": [REQUIRED]}})
    );
    assert_eq!(cleaned.status, StatusCode::CREATED, "{}", cleaned.text);
    assert_parseable(&cleaned.body);
    assert_eq!(
        cleaned.body["options"],
        json!({"options": {"name": {"type": "string", "label": "Name", "required": false}}, "order": ["name"]})
    );
}

// ---------------------------------------------------------------------------------------
// List and retrieve
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn staff_sees_every_offering_and_an_unrelated_user_sees_none() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let other = app.create_provider("Other Provider").await;
    let mine = catalog.offering(&app, "Mine").await;
    app.create_offering(
        &other.url(),
        &catalog.category.url(),
        "Marketplace.Basic",
        json!({"name": "Theirs"}),
    )
    .await;
    let stranger = app.create_user("stranger").await;

    let by_staff = app.get(OFFERINGS, &app.admin_token).await;
    let by_stranger = app.get(OFFERINGS, &stranger.token).await;
    let retrieve_by_stranger = app.get(&offering_path(&mine.uuid()), &stranger.token).await;
    let unknown = app
        .get(
            &offering_path(&Uuid::new_v4().simple().to_string()),
            &app.admin_token,
        )
        .await;

    assert_eq!(by_staff.status, StatusCode::OK);
    assert_eq!(by_staff.count(), 2);
    assert_eq!(names(&by_staff), ["Mine", "Theirs"]);
    assert_all_parseable(&by_staff);
    assert_eq!(by_stranger.status, StatusCode::OK);
    assert_eq!(by_stranger.count(), 0);
    assert_eq!(by_stranger.body, json!([]));
    assert_eq!(retrieve_by_stranger.status, StatusCode::NOT_FOUND);
    assert_eq!(retrieve_by_stranger.body, not_found());
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body, not_found());
}

#[tokio::test]
async fn the_owner_of_a_provider_sees_its_own_draft_offerings_only() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let other = app.create_provider("Other Provider").await;
    let mine = catalog.bare_offering(&app, "Mine").await;
    let theirs = app
        .create_offering(
            &other.url(),
            &catalog.category.url(),
            "Marketplace.Basic",
            json!({"name": "Theirs"}),
        )
        .await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;

    let list = app.get(OFFERINGS, &owner.token).await;
    let own = app.get(&offering_path(&mine.uuid()), &owner.token).await;
    let foreign = app.get(&offering_path(&theirs.uuid()), &owner.token).await;

    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.count(), 1);
    assert_eq!(names(&list), ["Mine"]);
    assert_eq!(list.items()[0]["state"], "Draft");
    assert_all_parseable(&list);
    assert_eq!(own.status, StatusCode::OK);
    assert_parseable(&own.body);
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(foreign.body, not_found());
}

#[tokio::test]
async fn secrets_are_shown_to_staff_and_the_owner_but_not_to_support_roles() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = app
        .create_offering(
            &catalog.provider.url(),
            &catalog.category.url(),
            "Marketplace.Basic",
            json!({"name": "Secretive", "secret_options": {"token": "t"}}),
        )
        .await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let support = user_with_role(&app, &catalog.provider, "support", "CUSTOMER.SUPPORT").await;
    let global_support = app.create_support_user("helpdesk").await;
    let path = offering_path(&offering.uuid());

    for (who, token, sees) in [
        ("staff", app.admin_token.as_str(), true),
        ("owner", owner.token.as_str(), true),
        ("customer support", support.token.as_str(), false),
        ("global support", global_support.token.as_str(), false),
    ] {
        let one = app.get(&path, token).await;
        let list = app.get(OFFERINGS, token).await;
        assert_eq!(one.status, StatusCode::OK, "{who}: {}", one.text);
        assert_eq!(list.count(), 1, "{who}");
        assert_parseable(&one.body);
        for body in [&one.body, &list.items()[0]] {
            if sees {
                assert_eq!(body["secret_options"], json!({"token": "t"}), "{who}");
                assert_eq!(body["service_attributes"], json!({}), "{who}");
            } else {
                assert!(body.get("secret_options").is_none(), "{who}: {body}");
                assert!(body.get("service_attributes").is_none(), "{who}: {body}");
            }
            assert_eq!(body["backend_id_rules"], json!({}), "{who}");
        }
    }
}

#[tokio::test]
async fn an_offering_of_a_project_is_seen_by_the_project_member_without_secrets() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let project = app.create_project(&catalog.provider.url(), "Lab").await;
    let offering = app
        .create_offering(
            &catalog.provider.url(),
            &catalog.category.url(),
            "Marketplace.Basic",
            json!({"name": "Lab only", "project": project.url(), "secret_options": {"token": "t"}}),
        )
        .await;
    let member = app.create_user("member").await;
    app.grant("projects", &project.uuid(), &member, "PROJECT.MEMBER")
        .await;

    let one = app
        .get(&offering_path(&offering.uuid()), &member.token)
        .await;
    let list = app.get(OFFERINGS, &member.token).await;

    assert_eq!(offering.body["project"], project.url());
    assert_eq!(offering.body["project_uuid"], project.uuid());
    assert_eq!(offering.body["project_name"], "Lab");
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_parseable(&one.body);
    assert!(one.body.get("secret_options").is_none(), "{}", one.body);
    assert_eq!(list.count(), 1);
}

#[tokio::test]
async fn list_items_leave_out_the_totals_that_retrieve_shows() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Totals").await;

    let list = app.get(OFFERINGS, &app.admin_token).await;
    let one = app
        .get(&offering_path(&offering.uuid()), &app.admin_token)
        .await;

    let item = &list.items()[0];
    for key in ["total_customers", "total_cost", "total_cost_estimated"] {
        assert!(item.get(key).is_none(), "{key} in a list item");
    }
    assert_eq!(one.body["total_customers"], 0);
    assert_eq!(one.body["total_cost"], 0);
    assert_eq!(one.body["total_cost_estimated"], 0);
}

#[tokio::test]
async fn retrieve_accepts_dashed_uuids_and_selects_fields() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Dashed").await;
    let dashed = Uuid::parse_str(&offering.uuid()).unwrap().to_string();

    let one = app.get(&offering_path(&dashed), &app.admin_token).await;
    let fields = app
        .get(
            &format!("{}?field=name&field=state", offering_path(&offering.uuid())),
            &app.admin_token,
        )
        .await;
    let garbage = app
        .get(&offering_path("not-a-uuid"), &app.admin_token)
        .await;

    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["uuid"], offering.uuid());
    assert_eq!(fields.body, json!({"name": "Dashed", "state": "Draft"}));
    assert_eq!(garbage.status, StatusCode::NOT_FOUND);
}

/// Four offerings in four states; Mixed is an OpenStack.Tenant, not shared and not billable.
async fn varied_catalog(app: &TestApp) -> (Catalog, Reply, Vec<Reply>) {
    let catalog = Catalog::new(app).await;
    let other = app.create_provider("Second Org").await;
    let other_category = app.create_category("Storage").await;
    let alpha = catalog.offering(app, "Alpha compute").await;
    let beta = catalog.offering(app, "Beta storage").await;
    let gamma = catalog.offering(app, "Gamma archive").await;
    let mixed = app
        .create_offering(
            &other.url(),
            &other_category.url(),
            "OpenStack.Tenant",
            json!({
                "name": "Delta cloud",
                "description": "Private tenant",
                "shared": false,
                "billable": false,
                "plans": [{"name": "Small"}],
            }),
        )
        .await;
    move_to(app, &beta.uuid(), "activate", "Active").await;
    move_to(app, &gamma.uuid(), "activate", "Active").await;
    move_to(app, &gamma.uuid(), "pause", "Paused").await;
    move_to(app, &mixed.uuid(), "archive", "Archived").await;
    (catalog, other, vec![alpha, beta, gamma, mixed])
}

async fn list_names(app: &TestApp, query: &str) -> Vec<String> {
    let reply = app
        .get(&format!("{OFFERINGS}?{query}"), &app.admin_token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
    assert_all_parseable(&reply);
    names(&reply)
}

#[tokio::test]
async fn the_state_filter_takes_repeated_values_and_refuses_unknown_ones() {
    let app = spawn_app().await;
    varied_catalog(&app).await;

    let bogus = app
        .get(
            &format!("{OFFERINGS}?state=Active&state=Bogus"),
            &app.admin_token,
        )
        .await;

    assert_eq!(list_names(&app, "state=Draft").await, ["Alpha compute"]);
    assert_eq!(
        list_names(&app, "state=Active&state=Paused").await,
        ["Beta storage", "Gamma archive"]
    );
    assert_eq!(list_names(&app, "state=Archived").await, ["Delta cloud"]);
    assert!(list_names(&app, "state=Unavailable").await.is_empty());
    assert_eq!(bogus.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bogus.body,
        json!({"state": ["Select a valid choice. Bogus is not one of the available choices."]})
    );
}

#[tokio::test]
async fn the_type_filter_takes_repeated_values() {
    let app = spawn_app().await;
    varied_catalog(&app).await;

    assert_eq!(
        list_names(&app, "type=OpenStack.Tenant").await,
        ["Delta cloud"]
    );
    assert_eq!(
        list_names(&app, "type=OpenStack.Tenant&type=Marketplace.Basic")
            .await
            .len(),
        4
    );
    assert!(list_names(&app, "type=Marketplace.Slurm").await.is_empty());
}

#[tokio::test]
async fn customer_and_category_filters_narrow_the_list() {
    let app = spawn_app().await;
    let (catalog, other, _) = varied_catalog(&app).await;
    let dashed = Uuid::parse_str(&other.uuid()).unwrap().to_string();

    assert_eq!(
        list_names(&app, &format!("customer_uuid={}", catalog.provider.uuid()))
            .await
            .len(),
        3
    );
    assert_eq!(
        list_names(&app, &format!("customer_uuid={dashed}")).await,
        ["Delta cloud"]
    );
    assert_eq!(
        list_names(&app, &format!("category_uuid={}", catalog.category.uuid()))
            .await
            .len(),
        3
    );
    assert!(
        list_names(&app, &format!("customer_uuid={}", Uuid::new_v4()))
            .await
            .is_empty()
    );
    assert!(list_names(&app, "category_uuid=nonsense").await.is_empty());
}

#[tokio::test]
async fn shared_and_billable_filters_match_the_flags() {
    let app = spawn_app().await;
    varied_catalog(&app).await;

    assert_eq!(list_names(&app, "shared=false").await, ["Delta cloud"]);
    assert_eq!(list_names(&app, "shared=true").await.len(), 3);
    assert_eq!(list_names(&app, "billable=False").await, ["Delta cloud"]);
    assert_eq!(list_names(&app, "billable=true").await.len(), 3);
}

#[tokio::test]
async fn name_keyword_and_query_filters_search_the_text() {
    let app = spawn_app().await;
    let (_, _, offerings) = varied_catalog(&app).await;
    let beta = &offerings[1];

    assert_eq!(list_names(&app, "name=STORAGE").await, ["Beta storage"]);
    // keyword also matches the provider's name.
    assert_eq!(list_names(&app, "keyword=second").await, ["Delta cloud"]);
    assert_eq!(list_names(&app, "keyword=tenant").await, ["Delta cloud"]);
    // query matches the name, slug or description, or the uuid.
    assert_eq!(list_names(&app, "query=gamma").await, ["Gamma archive"]);
    assert_eq!(
        list_names(&app, &format!("query={}", beta.uuid())).await,
        ["Beta storage"]
    );
    assert!(list_names(&app, "query=nothing-like-it").await.is_empty());
}

#[tokio::test]
async fn ordering_by_name_created_and_state_follows_waldur_and_unknown_keys_are_refused() {
    let app = spawn_app().await;
    varied_catalog(&app).await;

    let unknown = app
        .get(&format!("{OFFERINGS}?o=bogus"), &app.admin_token)
        .await;

    let by_name = [
        "Alpha compute",
        "Beta storage",
        "Delta cloud",
        "Gamma archive",
    ];
    assert_eq!(list_names(&app, "").await, by_name);
    assert_eq!(list_names(&app, "o=name").await, by_name);
    let mut reversed = by_name;
    reversed.reverse();
    assert_eq!(list_names(&app, "o=-name").await, reversed);
    let by_created = [
        "Alpha compute",
        "Beta storage",
        "Gamma archive",
        "Delta cloud",
    ];
    assert_eq!(list_names(&app, "o=created").await, by_created);
    let mut newest_first = by_created;
    newest_first.reverse();
    assert_eq!(list_names(&app, "o=-created").await, newest_first);
    // Draft < Active < Paused < Archived, as Waldur's stored numbers sort.
    assert_eq!(
        list_names(&app, "o=state").await,
        [
            "Alpha compute",
            "Beta storage",
            "Gamma archive",
            "Delta cloud"
        ]
    );
    assert_eq!(
        list_names(&app, "o=-state,name").await,
        [
            "Delta cloud",
            "Gamma archive",
            "Beta storage",
            "Alpha compute"
        ]
    );
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.body,
        json!({"o": ["Select a valid choice. bogus is not one of the available choices."]})
    );
}

#[tokio::test]
async fn the_list_pages_with_waldur_link_headers() {
    let app = spawn_app().await;
    varied_catalog(&app).await;
    let base = format!("{}{OFFERINGS}", app.address);

    let first = app
        .get(&format!("{OFFERINGS}?page_size=3"), &app.admin_token)
        .await;
    let second = app
        .get(&format!("{OFFERINGS}?page_size=3&page=2"), &app.admin_token)
        .await;
    let beyond = app
        .get(&format!("{OFFERINGS}?page_size=3&page=3"), &app.admin_token)
        .await;

    assert_eq!(first.count(), 4);
    assert_eq!(first.items().len(), 3);
    assert_eq!(
        first.header("link"),
        Some(
            format!(
                "<{base}?page_size=3>; rel=\"first\", <{base}?page=2&page_size=3>; rel=\"next\", \
                 <{base}?page=2&page_size=3>; rel=\"last\""
            )
            .as_str()
        )
    );
    assert_eq!(names(&second), ["Gamma archive"]);
    assert_eq!(second.count(), 4);
    assert_eq!(beyond.status, StatusCode::NOT_FOUND);
    assert_eq!(beyond.body, json!({"detail": "Invalid page."}));
}

// ---------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn activating_a_draft_without_plans_is_refused() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.bare_offering(&app, "Planless").await;

    let reply = post_empty(
        &app,
        &action_path(&offering.uuid(), "activate"),
        &app.admin_token,
    )
    .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!(["Offering does not have any billing plans."])
    );
    assert_eq!(retrieve(&app, &offering.uuid()).await["state"], "Draft");
}

#[tokio::test]
async fn activating_a_draft_with_a_plan_answers_the_new_state() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Planned").await;

    move_to(&app, &offering.uuid(), "activate", "Active").await;
    let again = post_empty(
        &app,
        &action_path(&offering.uuid(), "activate"),
        &app.admin_token,
    )
    .await;

    assert_eq!(retrieve(&app, &offering.uuid()).await["state"], "Active");
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.body, json!(["Offering state is invalid."]));
}

#[tokio::test]
async fn pausing_a_draft_is_an_invalid_state() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Draft").await;

    let reply = post_empty(
        &app,
        &action_path(&offering.uuid(), "pause"),
        &app.admin_token,
    )
    .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, json!(["Offering state is invalid."]));
}

#[tokio::test]
async fn pausing_keeps_the_reason_and_unpausing_clears_it() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Pausable").await;
    let uuid = offering.uuid();
    move_to(&app, &uuid, "activate", "Active").await;

    let paused = app
        .post(
            &action_path(&uuid, "pause"),
            &app.admin_token,
            json!({"paused_reason": "Maintenance until Monday"}),
        )
        .await;
    let while_paused = retrieve(&app, &uuid).await;
    let listed = app
        .get(&format!("{OFFERINGS}?state=Paused"), &app.admin_token)
        .await;
    move_to(&app, &uuid, "unpause", "Active").await;
    let after = retrieve(&app, &uuid).await;

    assert_eq!(paused.status, StatusCode::OK, "{}", paused.text);
    assert_eq!(
        paused.body,
        json!({"detail": "Offering state updated.", "state": "Paused"})
    );
    assert_eq!(while_paused["state"], "Paused");
    assert_eq!(while_paused["paused_reason"], "Maintenance until Monday");
    assert_eq!(
        listed.items()[0]["paused_reason"],
        "Maintenance until Monday"
    );
    assert_eq!(after["paused_reason"], "");
}

#[tokio::test]
async fn an_active_offering_is_made_unavailable_and_available_again() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Flaky").await;
    let uuid = offering.uuid();

    let from_draft = post_empty(
        &app,
        &action_path(&uuid, "make_unavailable"),
        &app.admin_token,
    )
    .await;
    move_to(&app, &uuid, "activate", "Active").await;
    let available_while_active = post_empty(
        &app,
        &action_path(&uuid, "make_available"),
        &app.admin_token,
    )
    .await;
    move_to(&app, &uuid, "make_unavailable", "Unavailable").await;
    let unavailable = retrieve(&app, &uuid).await;
    move_to(&app, &uuid, "make_available", "Active").await;

    assert_eq!(from_draft.status, StatusCode::BAD_REQUEST);
    assert_eq!(from_draft.body, json!(["Offering state is invalid."]));
    assert_eq!(available_while_active.status, StatusCode::BAD_REQUEST);
    assert_eq!(unavailable["state"], "Unavailable");
    assert_eq!(retrieve(&app, &uuid).await["state"], "Active");
}

#[tokio::test]
async fn archive_works_from_any_state_and_draft_brings_an_offering_back() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let draft = catalog.offering(&app, "From draft").await;
    let paused = catalog.offering(&app, "From paused").await;

    move_to(&app, &draft.uuid(), "archive", "Archived").await;
    move_to(&app, &draft.uuid(), "archive", "Archived").await;
    move_to(&app, &draft.uuid(), "draft", "Draft").await;
    move_to(&app, &paused.uuid(), "activate", "Active").await;
    move_to(&app, &paused.uuid(), "pause", "Paused").await;
    move_to(&app, &paused.uuid(), "archive", "Archived").await;
    let unpause_archived = post_empty(
        &app,
        &action_path(&paused.uuid(), "unpause"),
        &app.admin_token,
    )
    .await;
    move_to(&app, &paused.uuid(), "draft", "Draft").await;

    assert_eq!(unpause_archived.status, StatusCode::BAD_REQUEST);
    assert_eq!(unpause_archived.body, json!(["Offering state is invalid."]));
    assert_eq!(retrieve(&app, &draft.uuid()).await["state"], "Draft");
    assert_eq!(retrieve(&app, &paused.uuid()).await["state"], "Draft");
}

#[tokio::test]
async fn the_provider_owner_cannot_run_lifecycle_actions_by_default() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Staff managed").await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;

    for action in [
        "activate",
        "pause",
        "unpause",
        "archive",
        "draft",
        "make_unavailable",
        "make_available",
    ] {
        let reply = post_empty(&app, &action_path(&offering.uuid(), action), &owner.token).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{action}: {}",
            reply.text
        );
        assert_eq!(reply.body, json!({"detail": FORBIDDEN}), "{action}");
    }
    assert_eq!(retrieve(&app, &offering.uuid()).await["state"], "Draft");
}

#[tokio::test]
async fn with_provider_management_allowed_the_owner_runs_lifecycle_actions() {
    let app =
        spawn_app_with_config(|server| server.allow_provider_offering_management = true).await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Self managed").await;
    let uuid = offering.uuid();
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let support = user_with_role(&app, &catalog.provider, "support", "CUSTOMER.SUPPORT").await;
    let stranger = app.create_user("stranger").await;

    let by_support = post_empty(&app, &action_path(&uuid, "activate"), &support.token).await;
    let by_stranger = post_empty(&app, &action_path(&uuid, "activate"), &stranger.token).await;
    let mut states = Vec::new();
    for action in ["activate", "pause", "unpause", "archive", "draft"] {
        let reply = post_empty(&app, &action_path(&uuid, action), &owner.token).await;
        assert_eq!(reply.status, StatusCode::OK, "{action}: {}", reply.text);
        states.push(reply.body["state"].as_str().unwrap().to_string());
    }

    assert_eq!(
        by_support.status,
        StatusCode::FORBIDDEN,
        "{}",
        by_support.text
    );
    assert_eq!(by_support.body, json!({"detail": FORBIDDEN}));
    assert_eq!(by_stranger.status, StatusCode::NOT_FOUND);
    assert_eq!(by_stranger.body, not_found());
    assert_eq!(states, ["Active", "Paused", "Active", "Archived", "Draft"]);
}

#[tokio::test]
async fn a_blocked_provider_cannot_activate_its_offering() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Blocked").await;
    block(&app, &catalog.provider).await;

    let activate = post_empty(
        &app,
        &action_path(&offering.uuid(), "activate"),
        &app.admin_token,
    )
    .await;
    let draft = post_empty(
        &app,
        &action_path(&offering.uuid(), "draft"),
        &app.admin_token,
    )
    .await;

    assert_eq!(
        activate.status,
        StatusCode::BAD_REQUEST,
        "{}",
        activate.text
    );
    assert_eq!(
        activate.body,
        json!(["Blocked organization is not available."])
    );
    // Returning to draft has no customer validator.
    assert_eq!(draft.status, StatusCode::OK, "{}", draft.text);
}

#[tokio::test]
async fn lifecycle_actions_on_an_unknown_offering_are_not_found() {
    let app = spawn_app().await;
    let ghost = Uuid::new_v4().to_string();

    let reply = post_empty(&app, &action_path(&ghost, "activate"), &app.admin_token).await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body, not_found());
}

// ---------------------------------------------------------------------------------------
// Edits
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_owner_updates_the_overview_of_a_draft() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Before").await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;

    let reply = app
        .post(
            &action_path(&offering.uuid(), "update_overview"),
            &owner.token,
            json!({
                "name": "  After  ",
                "description": "New description",
                "full_description": "Full",
                "terms_of_service": "Terms",
                "terms_of_service_link": "https://example.org/tos",
                "privacy_policy_link": "https://example.org/privacy",
                "access_url": "https://portal.example.org",
                "getting_started": "Start here",
                "integration_guide": "Guide",
                "backend_id": "overview-be",
            }),
        )
        .await;
    let after = retrieve(&app, &offering.uuid()).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.text, "");
    assert_eq!(after["name"], "After");
    assert_eq!(after["description"], "New description");
    assert_eq!(after["full_description"], "Full");
    assert_eq!(after["terms_of_service"], "Terms");
    assert_eq!(after["terms_of_service_link"], "https://example.org/tos");
    assert_eq!(after["privacy_policy_link"], "https://example.org/privacy");
    assert_eq!(after["access_url"], "https://portal.example.org");
    assert_eq!(after["getting_started"], "Start here");
    assert_eq!(after["integration_guide"], "Guide");
    assert_eq!(after["backend_id"], "overview-be");
}

#[tokio::test]
async fn update_overview_leaves_fields_outside_the_overview_alone() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Shared").await;

    let reply = app
        .post(
            &action_path(&offering.uuid(), "update_overview"),
            &app.admin_token,
            json!({"name": "Still shared", "shared": false, "billable": "nonsense", "country": "ZZ"}),
        )
        .await;
    let after = retrieve(&app, &offering.uuid()).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(after["name"], "Still shared");
    assert_eq!(after["shared"], true);
    assert_eq!(after["billable"], true);
    assert_eq!(after["country"], "");
}

#[tokio::test]
async fn outside_draft_only_staff_updates_the_overview() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Live").await;
    move_to(&app, &offering.uuid(), "activate", "Active").await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let path = action_path(&offering.uuid(), "update_overview");

    let by_owner = app
        .post(&path, &owner.token, json!({"name": "Owner's"}))
        .await;
    let by_staff = app
        .post(&path, &app.admin_token, json!({"name": "Staff's"}))
        .await;

    assert_eq!(by_owner.status, StatusCode::FORBIDDEN, "{}", by_owner.text);
    assert_eq!(by_owner.body, json!({"detail": FORBIDDEN}));
    assert_eq!(by_staff.status, StatusCode::OK, "{}", by_staff.text);
    assert_eq!(retrieve(&app, &offering.uuid()).await["name"], "Staff's");
}

#[tokio::test]
async fn update_overview_needs_a_name() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Named").await;
    let path = action_path(&offering.uuid(), "update_overview");

    let missing = app
        .post(&path, &app.admin_token, json!({"description": "x"}))
        .await;
    let blank = app
        .post(&path, &app.admin_token, json!({"name": "  "}))
        .await;

    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body, json!({"name": [REQUIRED]}));
    assert_eq!(blank.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        blank.body,
        json!({"name": ["This field may not be blank."]})
    );
    assert_eq!(retrieve(&app, &offering.uuid()).await["description"], "");
}

#[tokio::test]
async fn an_archived_offering_refuses_every_edit() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Old").await;
    let uuid = offering.uuid();
    move_to(&app, &uuid, "archive", "Archived").await;
    let archived = json!(["It is not possible to update archived offering."]);

    for (action, body) in [
        ("update_overview", json!({"name": "New"})),
        (
            "update_description",
            json!({"category": catalog.category.url()}),
        ),
        (
            "update_options",
            json!({"options": {"options": {}, "order": []}}),
        ),
        (
            "update_resource_options",
            json!({"resource_options": {"options": {}, "order": []}}),
        ),
        ("update_integration", json!({"backend_id": "x"})),
        ("update_attributes", json!({"a": 1})),
        (
            "update_location",
            json!({"latitude": 1.0, "longitude": 2.0}),
        ),
        (
            "add_endpoint",
            json!({"name": "Web", "url": "https://example.org"}),
        ),
        (
            "delete_endpoint",
            json!({"uuid": Uuid::new_v4().to_string()}),
        ),
    ] {
        let reply = app
            .post(&action_path(&uuid, action), &app.admin_token, body)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{action}: {}",
            reply.text
        );
        assert_eq!(reply.body, archived, "{action}");
    }
    assert_eq!(retrieve(&app, &uuid).await["name"], "Old");
}

#[tokio::test]
async fn a_blocked_provider_cannot_edit_its_offering() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Frozen").await;
    block(&app, &catalog.provider).await;

    let reply = app
        .post(
            &action_path(&offering.uuid(), "update_overview"),
            &app.admin_token,
            json!({"name": "Thawed"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!(["Blocked organization is not available."])
    );
}

#[tokio::test]
async fn update_description_moves_the_offering_to_another_category() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Movable").await;
    let storage = app.create_category("Storage").await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let stranger = app.create_user("stranger").await;
    let path = action_path(&offering.uuid(), "update_description");
    let ghost = format!(
        "{}/api/marketplace-categories/{}/",
        app.address,
        Uuid::new_v4().simple()
    );

    let missing = app.post(&path, &owner.token, json!({})).await;
    let unknown = app
        .post(&path, &owner.token, json!({"category": ghost}))
        .await;
    let by_stranger = app
        .post(&path, &stranger.token, json!({"category": storage.url()}))
        .await;
    let moved = app
        .post(&path, &owner.token, json!({"category": storage.url()}))
        .await;
    let after = retrieve(&app, &offering.uuid()).await;

    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body, json!({"category": [REQUIRED]}));
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body, json!({"category": [NO_SUCH_OBJECT]}));
    assert_eq!(by_stranger.status, StatusCode::NOT_FOUND);
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.text, "");
    assert_eq!(after["category"], storage.url());
    assert_eq!(after["category_uuid"], storage.uuid());
    assert_eq!(after["category_title"], "Storage");
}

#[tokio::test]
async fn update_options_and_resource_options_replace_the_form_definitions() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Configurable").await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let uuid = offering.uuid();
    let options = json!({
        "options": {"flavor": {"type": "select_string", "label": "Flavor", "choices": ["s", "m"],
                               "required": true, "default": "s"}},
        "order": ["flavor"],
    });
    let resource_options = json!({
        "options": {"quota": {"type": "integer", "label": "Quota", "required": false, "min": 0}},
        "order": ["quota"],
    });

    let options_reply = app
        .post(
            &action_path(&uuid, "update_options"),
            &owner.token,
            json!({"options": options, "resource_options": {"ignored": true}}),
        )
        .await;
    let resource_reply = app
        .post(
            &action_path(&uuid, "update_resource_options"),
            &owner.token,
            json!({"resource_options": resource_options}),
        )
        .await;
    let missing = app
        .post(
            &action_path(&uuid, "update_options"),
            &owner.token,
            json!({}),
        )
        .await;
    let not_a_dict = app
        .post(
            &action_path(&uuid, "update_resource_options"),
            &owner.token,
            json!({"resource_options": ["quota"]}),
        )
        .await;
    let bad_order = app
        .post(
            &action_path(&uuid, "update_options"),
            &owner.token,
            json!({"options": {"options": {}, "order": "flavor"}}),
        )
        .await;
    let after = retrieve(&app, &uuid).await;

    assert_eq!(
        options_reply.status,
        StatusCode::OK,
        "{}",
        options_reply.text
    );
    assert_eq!(options_reply.text, "");
    assert_eq!(
        resource_reply.status,
        StatusCode::OK,
        "{}",
        resource_reply.text
    );
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body, json!({"options": [REQUIRED]}));
    assert_eq!(not_a_dict.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        not_a_dict.body,
        json!({"resource_options": {"non_field_errors": [
            "Invalid data. Expected a dictionary, but got list."
        ]}})
    );
    assert_eq!(bad_order.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_order.body,
        json!({"options": {"order": ["Expected a list of items but got type \"str\"."]}})
    );
    assert_eq!(after["options"], options);
    assert_eq!(after["resource_options"], resource_options);
}

#[tokio::test]
async fn update_integration_sets_secret_and_plugin_options_and_the_backend_id() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = app
        .create_offering(
            &catalog.provider.url(),
            &catalog.category.url(),
            "Marketplace.Basic",
            json!({"name": "Integrated", "attributes": {"keep": 1}}),
        )
        .await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let path = action_path(&offering.uuid(), "update_integration");

    let reply = app
        .post(
            &path,
            &owner.token,
            json!({
                "secret_options": {"api_url": "https://api.example.org"},
                "plugin_options": {"auto_approve_remote_orders": true},
                "service_attributes": {"region": "eu"},
                "backend_id": "int-1",
                "attributes": {"ignored": true},
            }),
        )
        .await;
    let bad_plugin = app
        .post(
            &path,
            &owner.token,
            json!({"plugin_options": {"storage_mode": "bogus"}}),
        )
        .await;
    let after = retrieve(&app, &offering.uuid()).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.text, "");
    assert_eq!(
        after["secret_options"],
        json!({"api_url": "https://api.example.org"})
    );
    assert_eq!(
        after["plugin_options"],
        json!({"auto_approve_remote_orders": true})
    );
    assert_eq!(after["service_attributes"], json!({"region": "eu"}));
    assert_eq!(after["backend_id"], "int-1");
    assert_eq!(after["attributes"], json!({"keep": 1}));
    assert_eq!(bad_plugin.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_plugin.body,
        json!({"plugin_options": ["\"bogus\" is not a valid choice for storage_mode."]})
    );
}

#[tokio::test]
async fn update_attributes_replaces_the_whole_dictionary() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = app
        .create_offering(
            &catalog.provider.url(),
            &catalog.category.url(),
            "Marketplace.Basic",
            json!({"name": "Attributed", "attributes": {"old": 1, "kept": 2}}),
        )
        .await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let path = action_path(&offering.uuid(), "update_attributes");

    let replaced = app
        .post(&path, &owner.token, json!({"kept": 3, "new": ["x"]}))
        .await;
    let array = app.post(&path, &owner.token, json!([1, 2])).await;
    let after = retrieve(&app, &offering.uuid()).await;

    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(replaced.text, "");
    assert_eq!(array.status, StatusCode::BAD_REQUEST);
    assert_eq!(array.body, json!(["Dictionary is expected."]));
    assert_eq!(after["attributes"], json!({"kept": 3, "new": ["x"]}));
}

#[tokio::test]
async fn update_location_needs_both_coordinates() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Located").await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let path = action_path(&offering.uuid(), "update_location");

    let only_latitude = app
        .post(&path, &owner.token, json!({"latitude": 59.43}))
        .await;
    let bad = app
        .post(
            &path,
            &owner.token,
            json!({"latitude": "north", "longitude": null}),
        )
        .await;
    let moved = app
        .post(
            &path,
            &owner.token,
            json!({"latitude": 59.43, "longitude": "24.75"}),
        )
        .await;
    let after = retrieve(&app, &offering.uuid()).await;

    assert_eq!(only_latitude.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_latitude.body, json!({"longitude": [REQUIRED]}));
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.body,
        json!({
            "latitude": ["A valid number is required."],
            "longitude": ["This field may not be null."],
        })
    );
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.text, "");
    assert_eq!(after["latitude"], 59.43);
    assert_eq!(after["longitude"], 24.75);
}

#[tokio::test]
async fn endpoints_are_added_with_their_uuid_and_deleted_with_no_content() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Reachable").await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let uuid = offering.uuid();

    let added = app
        .post(
            &action_path(&uuid, "add_endpoint"),
            &owner.token,
            json!({"name": "Portal", "url": "https://portal.example.org/login"}),
        )
        .await;
    let bad_url = app
        .post(
            &action_path(&uuid, "add_endpoint"),
            &owner.token,
            json!({"name": "Bad", "url": "ftp://files.example.org"}),
        )
        .await;
    let missing = app
        .post(&action_path(&uuid, "add_endpoint"), &owner.token, json!({}))
        .await;
    let with_endpoint = retrieve(&app, &uuid).await;
    let endpoint_uuid = added.uuid();
    let bad_uuid = app
        .post(
            &action_path(&uuid, "delete_endpoint"),
            &owner.token,
            json!({"uuid": "nope"}),
        )
        .await;
    let deleted = app
        .post(
            &action_path(&uuid, "delete_endpoint"),
            &owner.token,
            json!({"uuid": Uuid::parse_str(&endpoint_uuid).unwrap().to_string()}),
        )
        .await;
    let unknown = app
        .post(
            &action_path(&uuid, "delete_endpoint"),
            &owner.token,
            json!({"uuid": Uuid::new_v4().simple().to_string()}),
        )
        .await;
    let without_endpoint = retrieve(&app, &uuid).await;

    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(added.body.as_object().unwrap().len(), 1, "{}", added.text);
    assert!(is_hex32(&added.body["uuid"]));
    assert_eq!(bad_url.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_url.body, json!({"url": ["Enter a valid URL."]}));
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body, json!({"name": [REQUIRED], "url": [REQUIRED]}));
    assert_eq!(
        with_endpoint["endpoints"],
        json!([{"uuid": endpoint_uuid, "name": "Portal", "url": "https://portal.example.org/login"}])
    );
    assert_eq!(bad_uuid.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_uuid.body, json!({"uuid": ["Must be a valid UUID."]}));
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(deleted.text, "");
    assert_eq!(unknown.status, StatusCode::NO_CONTENT);
    assert_eq!(without_endpoint["endpoints"], json!([]));
}

#[tokio::test]
async fn edits_by_users_without_the_permission_are_forbidden() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Guarded").await;
    let support = user_with_role(&app, &catalog.provider, "support", "CUSTOMER.SUPPORT").await;
    let uuid = offering.uuid();

    for (action, body) in [
        ("update_overview", json!({"name": "New"})),
        (
            "update_description",
            json!({"category": catalog.category.url()}),
        ),
        (
            "update_options",
            json!({"options": {"options": {}, "order": []}}),
        ),
        ("update_integration", json!({"backend_id": "x"})),
        ("update_attributes", json!({"a": 1})),
        (
            "update_location",
            json!({"latitude": 1.0, "longitude": 2.0}),
        ),
        (
            "add_endpoint",
            json!({"name": "Web", "url": "https://example.org"}),
        ),
        (
            "delete_endpoint",
            json!({"uuid": Uuid::new_v4().to_string()}),
        ),
    ] {
        let reply = app
            .post(&action_path(&uuid, action), &support.token, body)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{action}: {}",
            reply.text
        );
        assert_eq!(reply.body, json!({"detail": FORBIDDEN}), "{action}");
    }
    assert_eq!(retrieve(&app, &uuid).await["name"], "Guarded");
}

#[tokio::test]
async fn put_and_patch_on_an_offering_are_not_allowed() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Immutable").await;
    let path = offering_path(&offering.uuid());

    let put = app
        .request(
            Method::PUT,
            &path,
            Some(&app.admin_token),
            Some(catalog.body("Changed")),
        )
        .await;
    let patch = app
        .patch(&path, &app.admin_token, json!({"name": "Changed"}))
        .await;

    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(put.body, json!({"detail": "Method \"PUT\" not allowed."}));
    assert_eq!(patch.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        patch.body,
        json!({"detail": "Method \"PATCH\" not allowed."})
    );
    assert_eq!(retrieve(&app, &offering.uuid()).await["name"], "Immutable");
}

// ---------------------------------------------------------------------------------------
// Destroy
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn staff_deletes_any_offering_even_an_active_one_with_resources() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.offering(&app, "Doomed").await;
    move_to(&app, &offering.uuid(), "activate", "Active").await;
    insert_resource(&app, &offering).await;
    let path = offering_path(&offering.uuid());

    let deleted = app.delete(&path, &app.admin_token).await;
    let gone = app.get(&path, &app.admin_token).await;
    let again = app.delete(&path, &app.admin_token).await;
    let list = app.get(OFFERINGS, &app.admin_token).await;

    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(deleted.text, "");
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body, not_found());
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(list.count(), 0);
}

#[tokio::test]
async fn the_owner_cannot_delete_offerings_by_default() {
    let app = spawn_app().await;
    let catalog = Catalog::new(&app).await;
    let offering = catalog.bare_offering(&app, "Kept").await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;

    let reply = app
        .delete(&offering_path(&offering.uuid()), &owner.token)
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
    assert_eq!(retrieve(&app, &offering.uuid()).await["name"], "Kept");
}

#[tokio::test]
async fn with_provider_management_allowed_the_owner_deletes_only_unused_drafts() {
    let app =
        spawn_app_with_config(|server| server.allow_provider_offering_management = true).await;
    let catalog = Catalog::new(&app).await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let unused = catalog.offering(&app, "Unused draft").await;
    let active = catalog.offering(&app, "Active").await;
    move_to(&app, &active.uuid(), "activate", "Active").await;
    let used = catalog.offering(&app, "Used draft").await;
    insert_resource(&app, &used).await;
    let support = user_with_role(&app, &catalog.provider, "support", "CUSTOMER.SUPPORT").await;

    let by_support = app
        .delete(&offering_path(&unused.uuid()), &support.token)
        .await;
    let unused_reply = app
        .delete(&offering_path(&unused.uuid()), &owner.token)
        .await;
    let active_reply = app
        .delete(&offering_path(&active.uuid()), &owner.token)
        .await;
    let used_reply = app.delete(&offering_path(&used.uuid()), &owner.token).await;
    let left = app.get(OFFERINGS, &owner.token).await;

    assert_eq!(
        by_support.status,
        StatusCode::FORBIDDEN,
        "{}",
        by_support.text
    );
    assert_eq!(
        unused_reply.status,
        StatusCode::NO_CONTENT,
        "{}",
        unused_reply.text
    );
    assert_eq!(active_reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        active_reply.body,
        json!({"detail": "Offering was not deleted since offering is not in draft state."})
    );
    assert_eq!(used_reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        used_reply.body,
        json!({"detail": "Offering was not deleted since it has resources."})
    );
    assert_eq!(names(&left), ["Active", "Used draft"]);
}

#[tokio::test]
async fn a_blocked_provider_owner_cannot_delete_its_draft() {
    let app =
        spawn_app_with_config(|server| server.allow_provider_offering_management = true).await;
    let catalog = Catalog::new(&app).await;
    let owner = user_with_role(&app, &catalog.provider, "owner", "CUSTOMER.OWNER").await;
    let offering = catalog.bare_offering(&app, "Stuck").await;
    block(&app, &catalog.provider).await;

    let reply = app
        .delete(&offering_path(&offering.uuid()), &owner.token)
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!(["Blocked organization is not available."])
    );
}
