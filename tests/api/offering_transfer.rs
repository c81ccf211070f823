//! Export, import, move, backend id checks and billing modes of provider offerings.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, TestUser, spawn_app};

const PO: &str = "/api/marketplace-provider-offerings";

/// A provider with an owner, a category and a Slurm offering with two components, a priced
/// plan, an endpoint, terms of service and secret options.
struct Setup {
    app: TestApp,
    provider: Reply,
    category: Reply,
    offering: Reply,
    owner: TestUser,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let provider = app.create_provider("Transfer Provider").await;
    let category = app.create_category("Transfer Category").await;
    let offering = app
        .create_offering(
            &provider.url(),
            &category.url(),
            "Marketplace.Slurm",
            json!({
                "name": "Transfer Slurm",
                "description": "HPC time",
                "terms_of_service": "Be nice",
                "terms_of_service_link": "https://tos.example.com/",
                "attributes": {"key": "value"},
                "secret_options": {"api_key": "s3cret"},
                "plugin_options": {"storage_mode": "fixed"},
                "components": [
                    {"type": "cpu", "name": "CPU", "measured_unit": "hours", "billing_type": "usage"},
                    {"type": "storage", "name": "Storage", "measured_unit": "GB",
                     "billing_type": "limit", "limit_period": "total", "limit_amount": 100}
                ],
                "plans": [{"name": "Default", "unit": "month", "unit_price": "10",
                           "prices": {"cpu": 0.5, "storage": 0.1}}]
            }),
        )
        .await;
    let endpoint = app
        .post(
            &format!("{PO}/{}/add_endpoint/", offering.uuid()),
            &app.admin_token,
            json!({"name": "API", "url": "https://api.example.com"}),
        )
        .await;
    assert_eq!(endpoint.status, StatusCode::CREATED, "{}", endpoint.text);
    let owner = app.create_user("transfer-owner").await;
    app.grant("customers", &provider.uuid(), &owner, "CUSTOMER.OWNER")
        .await;
    Setup {
        app,
        provider,
        category,
        offering,
        owner,
    }
}

impl Setup {
    async fn export(&self, token: &str, flags: Value) -> Reply {
        self.app
            .post(
                &format!("{PO}/{}/export_offering/", self.offering.uuid()),
                token,
                flags,
            )
            .await
    }

    async fn import(&self, token: &str, body: Value) -> Reply {
        self.app
            .post(&format!("{PO}/import_offering/"), token, body)
            .await
    }

    async fn retrieve(&self, uuid: &str) -> Reply {
        let reply = self
            .app
            .get(&format!("{PO}/{uuid}/"), &self.app.admin_token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply
    }

    async fn activate(&self) {
        let reply = self
            .app
            .post(
                &format!("{PO}/{}/activate/", self.offering.uuid()),
                &self.app.admin_token,
                json!({}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

fn types_of(offering: &Value) -> Vec<String> {
    offering["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn export_with_default_flags_carries_every_section_but_the_secret_options() {
    let s = setup().await;

    let reply = s.export(&s.owner.token, json!({})).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["offering_uuid"], s.offering.uuid());
    assert_eq!(reply.body["offering_name"], "Transfer Slurm");
    let stamp = reply.body["export_timestamp"].as_str().unwrap();
    assert!(stamp.ends_with('Z'), "{stamp}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "{stamp}"
    );
    assert_eq!(
        reply.body["exported_components"],
        json!([
            "cpu",
            "storage",
            "plans",
            "screenshots",
            "files",
            "endpoints",
            "organization_groups",
            "terms_of_service"
        ])
    );
    let data = &reply.body["export_data"];
    assert_eq!(
        keys(data),
        sorted(&[
            "offering",
            "resource_options",
            "plugin_options",
            "components",
            "plans",
            "screenshots",
            "files",
            "endpoints",
            "organization_groups",
            "terms_of_service"
        ])
    );
    assert_eq!(
        keys(&data["offering"]),
        sorted(&[
            "name",
            "description",
            "full_description",
            "vendor_details",
            "getting_started",
            "integration_guide",
            "type",
            "shared",
            "billable",
            "state",
            "category_name",
            "country",
            "latitude",
            "longitude",
            "access_url",
            "paused_reason",
            "attributes",
            "options"
        ])
    );
    let offering = &data["offering"];
    assert_eq!(offering["type"], "Marketplace.Slurm");
    assert_eq!(offering["state"], "Draft");
    assert_eq!(offering["category_name"], "Transfer Category");
    assert_eq!(offering["description"], "HPC time");
    assert_eq!(offering["latitude"], Value::Null);
    assert_eq!(offering["attributes"], json!({"key": "value"}));
    assert_eq!(offering["options"], json!({"options": {}, "order": []}));
    assert_eq!(
        data["resource_options"],
        json!({"options": {}, "order": []})
    );
    assert_eq!(data["plugin_options"], json!({"storage_mode": "fixed"}));
    assert_eq!(
        data["components"],
        json!([
            {"type": "cpu", "name": "CPU", "description": "", "billing_type": "usage",
             "measured_unit": "hours", "unit_factor": 1.0, "limit_period": null,
             "limit_amount": null, "article_code": "", "backend_id": ""},
            {"type": "storage", "name": "Storage", "description": "", "billing_type": "limit",
             "measured_unit": "GB", "unit_factor": 1.0, "limit_period": "total",
             "limit_amount": 100, "article_code": "", "backend_id": ""}
        ])
    );
    assert_eq!(
        data["plans"],
        json!([{
            "name": "Default", "description": "", "unit_price": 10.0, "unit": "month",
            "archived": false, "max_amount": null, "article_code": "", "backend_id": "",
            "components": [
                {"component_type": "cpu", "amount": 0, "price": 0.5, "future_price": null},
                {"component_type": "storage", "amount": 0, "price": 0.1, "future_price": null}
            ]
        }])
    );
    assert_eq!(data["screenshots"], json!([]));
    assert_eq!(data["files"], json!([]));
    assert_eq!(data["organization_groups"], json!([]));
    assert_eq!(
        data["endpoints"],
        json!([{"name": "API", "url": "https://api.example.com"}])
    );
    assert_eq!(
        data["terms_of_service"],
        json!([{
            "terms_of_service": "Be nice",
            "terms_of_service_link": "https://tos.example.com/",
            "version": "1",
            "is_active": true,
            "requires_reconsent": false,
            "grace_period_days": 60
        }])
    );
}

#[tokio::test]
async fn export_carries_the_secret_options_only_when_asked() {
    let s = setup().await;

    let with = s
        .export(&s.owner.token, json!({"include_secret_options": true}))
        .await;
    let without = s
        .export(&s.owner.token, json!({"include_secret_options": false}))
        .await;

    assert_eq!(with.status, StatusCode::OK, "{}", with.text);
    assert_eq!(
        with.body["export_data"]["secret_options"],
        json!({"api_key": "s3cret"})
    );
    assert_eq!(without.status, StatusCode::OK, "{}", without.text);
    assert!(
        without.body["export_data"].get("secret_options").is_none(),
        "{}",
        without.text
    );
}

#[tokio::test]
async fn export_leaves_out_every_section_whose_flag_is_false() {
    let s = setup().await;

    let reply = s
        .export(
            &s.owner.token,
            json!({
                "include_components": false, "include_plans": false,
                "include_screenshots": false, "include_files": false,
                "include_endpoints": false, "include_organization_groups": false,
                "include_terms_of_service": false, "include_plugin_options": false,
                "include_attributes": false, "include_options": false,
                "include_resource_options": false, "include_secret_options": false
            }),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(keys(&reply.body["export_data"]), vec!["offering"]);
    let offering = &reply.body["export_data"]["offering"];
    assert!(offering.get("attributes").is_none(), "{offering}");
    assert!(offering.get("options").is_none(), "{offering}");
    assert_eq!(offering["name"], "Transfer Slurm");
    assert_eq!(reply.body["exported_components"], json!([]));

    let some = s
        .export(
            &s.owner.token,
            json!({"include_plans": false, "include_screenshots": false}),
        )
        .await;
    assert!(some.body["export_data"].get("plans").is_none());
    assert!(some.body["export_data"].get("screenshots").is_none());
    assert!(some.body["export_data"].get("components").is_some());
    assert_eq!(
        some.body["exported_components"],
        json!([
            "cpu",
            "storage",
            "files",
            "endpoints",
            "organization_groups",
            "terms_of_service"
        ])
    );
}

#[tokio::test]
async fn export_of_an_offering_the_user_cannot_see_is_not_found() {
    let s = setup().await;
    let stranger = s.app.create_user("stranger").await;

    let reply = s.export(&stranger.token, json!({})).await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
}

#[tokio::test]
async fn import_of_a_new_name_creates_a_draft_with_the_same_components_plans_and_endpoints() {
    let s = setup().await;
    s.activate().await;
    let export = s.export(&s.owner.token, json!({})).await;
    let mut data = export.body["export_data"].clone();
    assert_eq!(data["offering"]["state"], "Active");
    data["offering"]["name"] = json!("Imported Slurm");

    let reply = s
        .import(
            &s.owner.token,
            json!({"offering_data": data, "customer": s.provider.uuid()}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["imported_offering_name"], "Imported Slurm");
    assert_eq!(
        reply.body["imported_components"],
        json!(["cpu", "storage", "plans", "endpoints", "terms_of_service"])
    );
    assert_eq!(reply.body["warnings"], json!([]));
    assert!(
        reply.body["import_timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let uuid = reply.body["imported_offering_uuid"].as_str().unwrap();
    assert_eq!(uuid.len(), 32, "{uuid}");
    assert_ne!(uuid, s.offering.uuid());

    let imported = s.retrieve(uuid).await;
    let body = &imported.body;
    assert_eq!(body["name"], "Imported Slurm");
    assert_eq!(body["state"], "Draft");
    assert_eq!(body["type"], "Marketplace.Slurm");
    assert_eq!(body["description"], "HPC time");
    assert_eq!(body["customer_uuid"], s.provider.uuid());
    assert_eq!(body["category_uuid"], s.category.uuid());
    assert_eq!(body["terms_of_service"], "Be nice");
    assert_eq!(body["attributes"], json!({"key": "value"}));
    assert_eq!(body["plugin_options"], json!({"storage_mode": "fixed"}));
    assert_eq!(body["secret_options"], json!({}));
    assert_eq!(types_of(body), vec!["cpu", "storage"]);
    assert_eq!(body["components"][0]["billing_type"], "usage");
    assert_eq!(body["components"][1]["limit_period"], "total");
    assert_eq!(body["components"][1]["limit_amount"], 100);
    assert_ne!(
        body["components"][0]["uuid"],
        s.offering.body["components"][0]["uuid"]
    );
    let plan = &body["plans"][0];
    assert_eq!(body["plans"].as_array().unwrap().len(), 1);
    assert_eq!(plan["name"], "Default");
    assert_eq!(plan["unit"], "month");
    assert_eq!(plan["unit_price"], "10.0000000000");
    assert_eq!(plan["prices"], json!({"cpu": 0.5, "storage": 0.1}));
    assert_eq!(body["endpoints"][0]["name"], "API");
    assert_eq!(body["endpoints"][0]["url"], "https://api.example.com");
}

#[tokio::test]
async fn import_reads_offering_data_given_as_a_yaml_string() {
    let s = setup().await;
    let yaml = "\
offering:
  name: YAML Offering
  type: Marketplace.Basic
  description: From YAML
  shared: false
components:
  - type: licence
    name: Licence
    billing_type: fixed
plans:
  - name: Small
    unit: month
    unit_price: 5
    components:
      - component_type: licence
        amount: 2
        price: 3.5
        future_price: null
endpoints:
  - name: Portal
    url: https://portal.example.com
";

    let reply = s
        .import(
            &s.owner.token,
            json!({"offering_data": yaml, "customer": s.provider.uuid(),
                   "category": "Transfer Category"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.body["imported_components"],
        json!(["licence", "plans", "endpoints"])
    );
    let uuid = reply.body["imported_offering_uuid"].as_str().unwrap();
    let body = s.retrieve(uuid).await.body;
    assert_eq!(body["name"], "YAML Offering");
    assert_eq!(body["type"], "Marketplace.Basic");
    assert_eq!(body["description"], "From YAML");
    assert_eq!(body["shared"], false);
    assert_eq!(body["state"], "Draft");
    assert_eq!(types_of(&body), vec!["licence"]);
    assert_eq!(body["components"][0]["billing_type"], "fixed");
    assert_eq!(body["plans"][0]["name"], "Small");
    assert_eq!(body["plans"][0]["unit_price"], "5.0000000000");
    assert_eq!(body["plans"][0]["quotas"], json!({"licence": 2}));
    assert_eq!(body["plans"][0]["prices"], json!({"licence": 3.5}));
    assert_eq!(body["endpoints"][0]["url"], "https://portal.example.com");
}

#[tokio::test]
async fn import_of_an_existing_name_without_overwrite_is_refused() {
    let s = setup().await;
    let export = s.export(&s.owner.token, json!({})).await;

    let reply = s
        .import(
            &s.owner.token,
            json!({"offering_data": export.body["export_data"], "customer": s.provider.uuid()}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!([
            "Offering 'Transfer Slurm' already exists. Set overwrite_existing=True to update it."
        ])
    );
    let count = s
        .app
        .scalar_i64("SELECT count(*) FROM projection.offerings WHERE name = 'Transfer Slurm'")
        .await;
    assert_eq!(count, 1);
}

#[tokio::test]
async fn import_with_overwrite_updates_the_existing_offering_in_place() {
    let s = setup().await;
    s.activate().await;
    let export = s.export(&s.owner.token, json!({})).await;
    let mut data = export.body["export_data"].clone();
    data["offering"]["description"] = json!("Updated description");
    data["components"][0]["name"] = json!("CPU hours");
    data["plans"][0]["components"][0]["price"] = json!(0.75);
    data["plans"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Large", "unit": "month", "unit_price": 100, "components": []}));
    data["endpoints"] = json!([
        {"name": "API", "url": "https://api2.example.com"},
        {"name": "Docs", "url": "https://docs.example.com"}
    ]);

    let reply = s
        .import(
            &s.owner.token,
            json!({"offering_data": data, "customer": s.provider.uuid(),
                   "overwrite_existing": true}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["imported_offering_uuid"], s.offering.uuid());
    let body = s.retrieve(&s.offering.uuid()).await.body;
    assert_eq!(body["description"], "Updated description");
    assert_eq!(body["state"], "Draft");
    assert_eq!(body["components"][0]["name"], "CPU hours");
    assert_eq!(
        body["components"][0]["uuid"],
        s.offering.body["components"][0]["uuid"]
    );
    let plans = body["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0]["uuid"], s.offering.body["plans"][0]["uuid"]);
    assert_eq!(plans[0]["prices"], json!({"cpu": 0.75, "storage": 0.1}));
    assert_eq!(plans[1]["name"], "Large");
    assert_eq!(plans[1]["unit_price"], "100.0000000000");
    let endpoints = body["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2);
    assert_eq!(endpoints[0]["url"], "https://api2.example.com");
    assert_eq!(endpoints[1]["name"], "Docs");
    let count = s
        .app
        .scalar_i64("SELECT count(*) FROM projection.offerings")
        .await;
    assert_eq!(count, 1);
}

#[tokio::test]
async fn import_into_another_customer_creates_a_draft_there() {
    let s = setup().await;
    let second = s.app.create_provider("Second Provider").await;
    let second_owner = s.app.create_user("second-owner").await;
    s.app
        .grant("customers", &second.uuid(), &second_owner, "CUSTOMER.OWNER")
        .await;
    let export = s.export(&s.app.admin_token, json!({})).await;

    // No customer given: the caller's own customer is used.
    let reply = s
        .import(
            &second_owner.token,
            json!({"offering_data": export.body["export_data"]}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["imported_offering_name"], "Transfer Slurm");
    let uuid = reply.body["imported_offering_uuid"].as_str().unwrap();
    let seen = s
        .app
        .get(&format!("{PO}/{uuid}/"), &second_owner.token)
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    assert_eq!(seen.body["customer_uuid"], second.uuid());
    assert_eq!(seen.body["state"], "Draft");
    assert_eq!(types_of(&seen.body), vec!["cpu", "storage"]);
}

#[tokio::test]
async fn import_with_an_unknown_category_warns_and_uses_the_first_category_by_title() {
    let s = setup().await;
    let first = s.app.create_category("Another Category").await;

    let reply = s
        .import(
            &s.owner.token,
            json!({
                "customer": s.provider.uuid(),
                "offering_data": {"offering": {"name": "Category Test", "category_name": "Nope"}}
            }),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.body["warnings"],
        json!(["Category with name 'Nope' not found, using first available category"])
    );
    let uuid = reply.body["imported_offering_uuid"].as_str().unwrap();
    let body = s.retrieve(uuid).await.body;
    assert_eq!(body["category_uuid"], first.uuid());
    // No type in the document: a basic offering.
    assert_eq!(body["type"], "Marketplace.Basic");
}

#[tokio::test]
async fn import_warns_about_plan_components_of_unknown_types() {
    let s = setup().await;

    let reply = s
        .import(
            &s.owner.token,
            json!({
                "customer": s.provider.uuid(),
                "category": "Transfer Category",
                "offering_data": {
                    "offering": {"name": "Component Warning Test"},
                    "components": [{"type": "cpu", "name": "CPU"}],
                    "plans": [{"name": "Test Plan", "components": [
                        {"component_type": "memory", "amount": 4, "price": 10.0}
                    ]}]
                }
            }),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.body["warnings"],
        json!(["Component type 'memory' not found for plan 'Test Plan'"])
    );
}

#[tokio::test]
async fn import_by_a_user_without_rights_in_the_customer_is_forbidden() {
    let s = setup().await;
    let stranger = s.app.create_user("stranger").await;
    let body = json!({
        "customer": s.provider.uuid(),
        "offering_data": {"offering": {"name": "Sneaky"}}
    });

    let reply = s.import(&stranger.token, body).await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"detail": "You do not have permission to create offerings for this customer."})
    );
    let none = s
        .import(
            &stranger.token,
            json!({"offering_data": {"offering": {"name": "Sneaky"}}}),
        )
        .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST, "{}", none.text);
    assert_eq!(none.body, json!(["No target customer specified or found"]));
}

#[tokio::test]
async fn import_of_broken_yaml_is_refused() {
    let s = setup().await;

    let reply = s
        .import(
            &s.owner.token,
            json!({"customer": s.provider.uuid(), "offering_data": "invalid: yaml: data: ["}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let messages = reply.body.as_array().expect("a list of messages");
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0]
            .as_str()
            .unwrap()
            .starts_with("Invalid YAML data: "),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn import_of_an_unregistered_type_or_bad_items_is_refused() {
    let s = setup().await;

    let unknown = s
        .import(
            &s.owner.token,
            json!({"customer": s.provider.uuid(),
                   "offering_data": {"offering": {"name": "X", "type": "Nope.Nothing"}}}),
        )
        .await;
    let bad_component = s
        .import(
            &s.owner.token,
            json!({"customer": s.provider.uuid(),
                   "offering_data": {"offering": {"name": "X"},
                                     "components": [{"type": "cpu", "billing_type": "weekly"}]}}),
        )
        .await;
    let missing = s
        .import(&s.owner.token, json!({"customer": s.provider.uuid()}))
        .await;

    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    assert_eq!(unknown.body, json!({"type": ["Invalid value."]}));
    assert_eq!(
        bad_component.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_component.text
    );
    assert_eq!(
        bad_component.body,
        json!({"offering_data": {"components": [
            {"billing_type": ["\"weekly\" is not a valid choice."]}
        ]}})
    );
    assert_eq!(
        missing.body,
        json!({"offering_data": ["This field is required."]})
    );
}

#[tokio::test]
async fn staff_moves_an_offering_to_another_customer_and_gets_its_public_body() {
    let s = setup().await;
    let second = s.app.create_provider("Second Provider").await;

    let reply = s
        .app
        .post(
            &format!("{PO}/{}/move_offering/", s.offering.uuid()),
            &s.app.admin_token,
            json!({"customer": second.url(), "preserve_permissions": true}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["uuid"], s.offering.uuid());
    assert_eq!(reply.body["customer_uuid"], second.uuid());
    assert_eq!(reply.body["customer_name"], "Second Provider");
    assert!(
        reply.url().contains("/api/marketplace-public-offerings/"),
        "{}",
        reply.url()
    );
    let plan_url = reply.body["plans"][0]["url"].as_str().unwrap();
    assert!(
        plan_url.contains("/api/marketplace-public-offerings/"),
        "{plan_url}"
    );
    assert!(reply.body.get("secret_options").is_none());
    let body = s.retrieve(&s.offering.uuid()).await.body;
    assert_eq!(body["customer_uuid"], second.uuid());
    let old_owner = s
        .app
        .get(&format!("{PO}/{}/", s.offering.uuid()), &s.owner.token)
        .await;
    assert_eq!(old_owner.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn moving_is_refused_to_owners_to_the_same_customer_and_to_blocked_customers() {
    let s = setup().await;
    let blocked = s.app.create_provider("Blocked Provider").await;
    let block = s
        .app
        .patch(&blocked.url(), &s.app.admin_token, json!({"blocked": true}))
        .await;
    assert_eq!(block.status, StatusCode::OK, "{}", block.text);
    let path = format!("{PO}/{}/move_offering/", s.offering.uuid());

    let by_owner = s
        .app
        .post(
            &path,
            &s.owner.token,
            json!({"customer": blocked.url(), "preserve_permissions": true}),
        )
        .await;
    let same = s
        .app
        .post(
            &path,
            &s.app.admin_token,
            json!({"customer": s.provider.url(), "preserve_permissions": false}),
        )
        .await;
    let to_blocked = s
        .app
        .post(
            &path,
            &s.app.admin_token,
            json!({"customer": blocked.url(), "preserve_permissions": true}),
        )
        .await;
    let incomplete = s.app.post(&path, &s.app.admin_token, json!({})).await;

    assert_eq!(by_owner.status, StatusCode::FORBIDDEN, "{}", by_owner.text);
    assert_eq!(
        by_owner.body,
        json!({"detail": "You do not have permission to perform this action."})
    );
    assert_eq!(same.status, StatusCode::BAD_REQUEST, "{}", same.text);
    assert_eq!(
        same.body,
        json!(["Offering is already assigned to the target provider."])
    );
    assert_eq!(
        to_blocked.status,
        StatusCode::BAD_REQUEST,
        "{}",
        to_blocked.text
    );
    assert_eq!(
        to_blocked.body,
        json!(["Target provider's customer can not be blocked."])
    );
    assert_eq!(
        incomplete.body,
        json!({"customer": ["This field is required."],
               "preserve_permissions": ["This field is required."]})
    );
    let body = s.retrieve(&s.offering.uuid()).await.body;
    assert_eq!(body["customer_uuid"], s.provider.uuid());
}

/// Adds a resource of `offering` with `backend_id` straight into the read model.
async fn insert_resource(app: &TestApp, offering: &str, customer: &str, backend_id: &str) {
    sqlx::query(
        "INSERT INTO projection.resources (uuid, offering_uuid, plan_uuid, project_uuid, \
         customer_uuid, name, backend_id, state, created, modified, last_seq) \
         VALUES ($1, $2, NULL, $3, $4, 'res', $5, 'Terminated', now(), now(), 1)",
    )
    .bind(Uuid::new_v4())
    .bind(Uuid::parse_str(offering).unwrap())
    .bind(Uuid::new_v4())
    .bind(Uuid::parse_str(customer).unwrap())
    .bind(backend_id)
    .execute(&app.ledger.pool)
    .await
    .expect("the resource is inserted");
}

#[tokio::test]
async fn backend_ids_are_unique_per_offering_or_across_the_customers_offerings() {
    let s = setup().await;
    let sibling = s
        .app
        .create_offering(
            &s.provider.url(),
            &s.category.url(),
            "Marketplace.Basic",
            json!({"name": "Sibling"}),
        )
        .await;
    insert_resource(&s.app, &s.offering.uuid(), &s.provider.uuid(), "job-1").await;
    let check = |offering: String, body: Value| {
        let app = &s.app;
        let token = s.owner.token.clone();
        async move {
            app.post(
                &format!("{PO}/{offering}/check_unique_backend_id/"),
                &token,
                body,
            )
            .await
        }
    };

    let taken = check(s.offering.uuid(), json!({"backend_id": "job-1"})).await;
    let free = check(s.offering.uuid(), json!({"backend_id": "job-2"})).await;
    let elsewhere = check(sibling.uuid(), json!({"backend_id": "job-1"})).await;
    let customer_wide = check(
        sibling.uuid(),
        json!({"backend_id": "job-1", "check_all_offerings": true}),
    )
    .await;
    let missing = check(s.offering.uuid(), json!({})).await;

    assert_eq!(taken.status, StatusCode::OK, "{}", taken.text);
    assert_eq!(taken.body, json!({"is_unique": false}));
    assert_eq!(free.body, json!({"is_unique": true}));
    assert_eq!(elsewhere.body, json!({"is_unique": true}));
    assert_eq!(customer_wide.body, json!({"is_unique": false}));
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.body,
        json!({"backend_id": ["This field is required."]})
    );
}

#[tokio::test]
async fn backend_id_checks_with_offering_rules_report_the_format_as_unknown() {
    let s = setup().await;
    let ruled = s
        .app
        .create_offering(
            &s.provider.url(),
            &s.category.url(),
            "Marketplace.Basic",
            json!({"name": "Ruled", "backend_id_rules": {
                "format": {"regex": "^job-[0-9]+$"},
                "uniqueness": {"scope": "offering"}
            }}),
        )
        .await;
    insert_resource(&s.app, &s.offering.uuid(), &s.provider.uuid(), "job-1").await;
    let path = format!("{PO}/{}/check_unique_backend_id/", ruled.uuid());

    // The rules' offering scope wins over check_all_offerings.
    let reply = s
        .app
        .post(
            &path,
            &s.owner.token,
            json!({"backend_id": "job-1", "check_all_offerings": true,
                   "use_offering_rules": true}),
        )
        .await;
    let stranger = s.app.create_user("stranger").await;
    let hidden = s
        .app
        .post(&path, &stranger.token, json!({"backend_id": "job-1"}))
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"is_unique": true, "is_valid_format": null, "errors": []})
    );
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn switching_the_billing_mode_changes_the_builtin_components_of_a_tenant_offering() {
    let s = setup().await;
    let tenant = s
        .app
        .create_offering(
            &s.provider.url(),
            &s.category.url(),
            "OpenStack.Tenant",
            json!({"name": "Tenant"}),
        )
        .await;
    let path = format!("{PO}/{}/switch_billing_mode/", tenant.uuid());
    assert!(
        tenant.body["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["billing_type"] == "limit")
    );

    let usage = s
        .app
        .post(&path, &s.owner.token, json!({"billing_mode": "usage"}))
        .await;
    assert_eq!(usage.status, StatusCode::OK, "{}", usage.text);
    assert_eq!(usage.text, "");
    let body = s.retrieve(&tenant.uuid()).await.body;
    let billing: Vec<&Value> = body["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["billing_type"])
        .collect();
    assert_eq!(billing, vec!["usage", "usage", "usage"]);

    let prepaid = s
        .app
        .post(&path, &s.owner.token, json!({"billing_mode": "prepaid"}))
        .await;
    assert_eq!(prepaid.status, StatusCode::OK, "{}", prepaid.text);
    let body = s.retrieve(&tenant.uuid()).await.body;
    assert_eq!(body["components"][0]["billing_type"], "one");
}

#[tokio::test]
async fn switching_the_billing_mode_is_refused_without_builtin_components_or_a_valid_mode() {
    let s = setup().await;
    let basic = s
        .app
        .create_offering(
            &s.provider.url(),
            &s.category.url(),
            "Marketplace.Basic",
            json!({"name": "Basic", "components": [
                {"type": "licence", "name": "Licence", "billing_type": "fixed"}
            ]}),
        )
        .await;
    let path = format!("{PO}/{}/switch_billing_mode/", basic.uuid());

    let basic_reply = s
        .app
        .post(&path, &s.owner.token, json!({"billing_mode": "monthly"}))
        .await;
    let bad = s
        .app
        .post(&path, &s.owner.token, json!({"billing_mode": "yearly"}))
        .await;

    assert_eq!(
        basic_reply.status,
        StatusCode::BAD_REQUEST,
        "{}",
        basic_reply.text
    );
    assert_eq!(
        basic_reply.body,
        json!(["Offering type does not have builtin components."])
    );
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert_eq!(
        bad.body,
        json!({"billing_mode": ["\"yearly\" is not a valid choice."]})
    );
    let body = s.retrieve(&basic.uuid()).await.body;
    assert_eq!(body["components"][0]["billing_type"], "fixed");
}
