//! The Arrow actions that read Arrow, against the stand-in: `discover_customers`,
//! `available_customers`, `sync_from_arrow`, `discover_licenses`, `fetch_arrow_data`, and
//! `billing_summary`, which never asks Arrow. Staff only; Arrow failing, slow or refusing
//! the key is answered as Waldur answers it, never with a 500 or a hang.

use std::time::{Duration, Instant};

use ledger::domain::resource::{ResourceCommand, ResourceSpec};
use ledger::store::metadata::{CommandContext, Source};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fake_arrow::FakeArrow;
use crate::fake_arrow::fixtures::{
    BALTIC, BASIC_EXPORT, MSP_EXTENDED, Month, NORDIC, NORDIC_AZURE, NORDIC_M365, TARTU, period,
};
use crate::helpers::{Reply, TestApp, spawn_app, spawn_app_with_config};

const ARROW: &str = "/api/admin/arrow";
const MAPPINGS: &str = "/api/admin/arrow/customer-mappings";
const DISCOVER: &str = "/api/admin/arrow/settings/discover_customers/";
const AVAILABLE: &str = "/api/admin/arrow/customer-mappings/available_customers/";
const SYNC: &str = "/api/admin/arrow/customer-mappings/sync_from_arrow/";

/// A ledger, the Arrow stand-in, and a local customer with a project and an offering for
/// resources.
struct Setup {
    app: TestApp,
    fake: FakeArrow,
    /// "Nordic Research Labs Oy", as Arrow names `NORDIC`.
    customer: Reply,
    project: Reply,
    offering: String,
}

impl Setup {
    async fn on(app: TestApp) -> Self {
        let fake = FakeArrow::start().await;
        let customer = app.create_customer(NORDIC.company_name).await;
        let project = app.create_project(&customer.url(), "Research").await;
        let provider = app.create_provider("Arrow Provider").await;
        let category = app.create_category("Cloud").await;
        let offering = app
            .create_offering(
                &provider.url(),
                &category.url(),
                "Marketplace.Basic",
                json!({}),
            )
            .await
            .uuid();
        Self {
            app,
            fake,
            customer,
            project,
            offering,
        }
    }

    async fn new() -> Self {
        Self::on(spawn_app().await).await
    }

    fn admin(&self) -> &str {
        &self.app.admin_token
    }

    fn credentials(&self) -> Value {
        json!({"api_url": self.fake.url(), "api_key": self.fake.key()})
    }

    /// Settings on the stand-in, with `extra` fields; answers their uuid.
    async fn settings(&self, extra: Value) -> String {
        let mut body = self.credentials();
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self
            .app
            .post(&format!("{ARROW}/settings/"), self.admin(), body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.uuid()
    }

    /// A mapping of `reference` to the customer; answers its uuid.
    async fn mapping(
        &self,
        settings: &str,
        reference: &str,
        company: &str,
        active: bool,
    ) -> String {
        self.mapping_of(settings, reference, &self.customer.uuid(), company, active)
            .await
    }

    async fn mapping_of(
        &self,
        settings: &str,
        reference: &str,
        customer: &str,
        company: &str,
        active: bool,
    ) -> String {
        let body = json!({
            "settings": settings,
            "arrow_reference": reference,
            "waldur_customer": customer,
            "arrow_company_name": company,
            "is_active": active,
        });
        let reply = self
            .app
            .post(&format!("{MAPPINGS}/"), self.admin(), body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.uuid()
    }

    /// A resource of the customer's project; with a backend id it runs (OK), without one
    /// it is being created.
    async fn resource(&self, name: &str, backend_id: &str) -> String {
        let ctx = CommandContext::system(Source::Cli);
        let uuid = Uuid::new_v4();
        let spec = ResourceSpec {
            uuid,
            offering_uuid: self.offering.parse().unwrap(),
            project_uuid: self.project.uuid().parse().unwrap(),
            customer_uuid: self.customer.uuid().parse().unwrap(),
            plan_uuid: None,
            name: name.into(),
            limits: Default::default(),
            attributes: Default::default(),
            end_date: None,
            end_date_requested_by: None,
            slug: "arrow".into(),
        };
        let create = ResourceCommand::Create {
            spec: Box::new(spec),
            backend_id: backend_id.into(),
            running: !backend_id.is_empty(),
            at: ctx.now,
        };
        self.app
            .ledger
            .execute::<ledger::domain::resource::Resource>(&uuid.simple().to_string(), create, &ctx)
            .await
            .unwrap();
        uuid.simple().to_string()
    }

    async fn action(&self, mapping: &str, action: &str) -> Reply {
        self.app
            .get(&format!("{MAPPINGS}/{mapping}/{action}/"), self.admin())
            .await
    }

    async fn mapping_events(&self) -> i64 {
        self.app
            .scalar_i64(
                "SELECT count(*) FROM events WHERE aggregate_type = 'arrow_customer_mapping'",
            )
            .await
    }
}

/// The suggestion for an Arrow reference.
fn suggestion<'r>(reply: &'r Reply, reference: &str) -> &'r Value {
    reply.body["suggestions"]
        .as_array()
        .expect("suggestions")
        .iter()
        .find(|s| s["arrow_customer"]["reference"] == reference)
        .unwrap_or_else(|| panic!("a suggestion for {reference}"))
}

fn export_type<'r>(reply: &'r Reply, reference: &str) -> &'r Value {
    reply.body["export_types"]
        .as_array()
        .expect("export types")
        .iter()
        .find(|t| t["reference"] == reference)
        .unwrap_or_else(|| panic!("export type {reference}"))
}

#[tokio::test]
async fn discovering_customers_lists_every_page_with_suggestions_and_checked_export_types() {
    // Arrange
    let s = Setup::new().await;
    let unrelated = s.app.create_customer("Zzyzx Qwv").await;

    // Act
    let reply = s.app.post(DISCOVER, s.admin(), s.credentials()).await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let customers = reply.body["arrow_customers"].as_array().unwrap();
    assert_eq!(customers.len(), 5);
    assert_eq!(
        s.fake.requests_to("customers").len(),
        3,
        "five customers, two a page"
    );
    assert!(s.fake.requests_to("whoami").is_empty());
    assert_eq!(
        customers[0],
        json!({"reference": NORDIC.reference, "companyName": NORDIC.company_name,
               "email": NORDIC.email(), "city": NORDIC.city,
               "countryCode": NORDIC.country_code, "company_name": NORDIC.company_name})
    );
    assert_eq!(customers[1]["email"], BALTIC.email());
    let names: Vec<&str> = reply.body["waldur_customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Zzyzx Qwv") && names.contains(&NORDIC.company_name));
    assert_eq!(reply.body["suggestions"].as_array().unwrap().len(), 5);
    let nordic = suggestion(&reply, NORDIC.reference);
    assert_eq!(
        nordic["suggested_waldur_customer"]["uuid"],
        s.customer.uuid()
    );
    assert_eq!(
        nordic["suggested_waldur_customer"]["name"],
        NORDIC.company_name
    );
    assert_eq!(nordic["confidence"], 1.0);
    assert_eq!(nordic["existing_mapping"], false);
    let tartu = suggestion(&reply, TARTU.reference);
    assert!(tartu.get("suggested_waldur_customer").is_none(), "{tartu}");
    assert_eq!(tartu["confidence"], 0.0);
    let suggested: Vec<&Value> = reply.body["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x.get("suggested_waldur_customer"))
        .collect();
    assert!(suggested.iter().all(|c| c["uuid"] != unrelated.uuid()));

    let msp = export_type(&reply, MSP_EXTENDED.reference);
    assert_eq!(msp["name"], MSP_EXTENDED.name);
    assert_eq!(msp["required_fields_total"], 5);
    assert_eq!(msp["required_fields_found"], 5);
    assert_eq!(msp["important_fields_total"], 22);
    assert_eq!(msp["important_fields_found"], 18);
    assert_eq!(msp["missing_required_fields"], json!([]));
    assert_eq!(
        msp["missing_important_fields"],
        json!([
            "End User Address Line1",
            "End User City",
            "End User E-mail",
            "End User Post Code"
        ])
    );
    assert_eq!(
        (msp["compatible"].clone(), msp["recommended"].clone()),
        (json!(true), json!(true))
    );
    let basic = export_type(&reply, BASIC_EXPORT.reference);
    assert_eq!(basic["required_fields_found"], 1);
    assert_eq!(basic["important_fields_found"], 5);
    assert_eq!(basic["compatible"], false);
    assert_eq!(basic["recommended"], false);
    let probes = s.fake.requests_to("billing/erp/exports/sync");
    assert_eq!(probes.len(), 2);
    for probe in probes {
        let body = probe.json();
        assert_eq!(
            body["filters"]["reportPeriod"],
            json!({"from": "2025-01", "to": "2025-01"})
        );
        assert_eq!(body["page"], 1);
    }
}

#[tokio::test]
async fn a_customer_any_mapping_has_is_marked_existing_without_a_suggestion() {
    // Arrange: an inactive mapping under settings that are not active either
    let s = Setup::new().await;
    let settings = s.settings(json!({"is_active": false})).await;
    s.mapping(&settings, NORDIC.reference, "", false).await;

    // Act
    let reply = s.app.post(DISCOVER, s.admin(), s.credentials()).await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let nordic = suggestion(&reply, NORDIC.reference);
    assert_eq!(nordic["existing_mapping"], true);
    assert!(
        nordic.get("suggested_waldur_customer").is_none(),
        "{nordic}"
    );
    assert_eq!(nordic["confidence"], 0.0);
    assert_eq!(
        suggestion(&reply, BALTIC.reference)["existing_mapping"],
        false
    );
}

#[tokio::test]
async fn discovering_customers_is_refused_with_arrows_error_when_arrow_fails() {
    // Arrange
    let s = Setup::new().await;

    // Act
    let wrong_key = s
        .app
        .post(
            DISCOVER,
            s.admin(),
            json!({"api_url": s.fake.url(), "api_key": "wrong"}),
        )
        .await;
    let missing = s
        .app
        .post(DISCOVER, s.admin(), json!({"api_url": s.fake.url()}))
        .await;
    s.fake.fail(true);
    let down = s.app.post(DISCOVER, s.admin(), s.credentials()).await;
    s.fake.fail(false);
    s.fake.non_json(true);
    let html = s.app.post(DISCOVER, s.admin(), s.credentials()).await;

    // Assert
    assert_eq!(
        wrong_key.status,
        StatusCode::BAD_REQUEST,
        "{}",
        wrong_key.text
    );
    let message = wrong_key.body["error"].as_str().unwrap();
    assert!(
        message.starts_with("Arrow API customers returned HTTP 401"),
        "{message}"
    );
    assert!(!message.contains(&s.fake.key()));
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.body,
        json!({"api_key": ["This field is required."]})
    );
    assert_eq!(down.status, StatusCode::BAD_REQUEST, "{}", down.text);
    let message = down.body["error"].as_str().unwrap();
    assert!(
        message.starts_with("Arrow API customers returned HTTP 500"),
        "{message}"
    );
    assert_eq!(html.status, StatusCode::BAD_REQUEST, "{}", html.text);
    let message = html.body["error"].as_str().unwrap();
    assert!(
        message.starts_with("Arrow API customers returned invalid JSON"),
        "{message}"
    );
}

#[tokio::test]
async fn a_slow_arrow_is_answered_after_the_timeout_not_waited_for() {
    // Arrange
    let app = spawn_app_with_config(|server| server.remote.arrow_timeout_seconds = 1).await;
    let s = Setup::on(app).await;
    let settings = s
        .settings(json!({"export_type_reference": MSP_EXTENDED.reference}))
        .await;
    let mapping = s
        .mapping(&settings, NORDIC.reference, NORDIC.company_name, true)
        .await;
    s.resource("Azure", NORDIC_AZURE.license_id).await;
    s.fake.slow(Duration::from_secs(4));
    let started = Instant::now();

    // Act
    let discovered = s.app.post(DISCOVER, s.admin(), s.credentials()).await;
    let available = s.app.get(AVAILABLE, s.admin()).await;
    let synced = s.app.post(SYNC, s.admin(), json!({})).await;
    let licenses = s.action(&mapping, "discover_licenses").await;
    let figures = s.action(&mapping, "fetch_arrow_data").await;

    // Assert: six calls of a second each, not six of four
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        discovered.status,
        StatusCode::BAD_REQUEST,
        "{}",
        discovered.text
    );
    assert!(
        discovered.body["error"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    assert_eq!(
        available.status,
        StatusCode::BAD_REQUEST,
        "{}",
        available.text
    );
    assert!(
        available.body["detail"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    assert_eq!(synced.status, StatusCode::BAD_REQUEST, "{}", synced.text);
    assert!(synced.body["error"].as_str().unwrap().contains("timed out"));
    assert_eq!(licenses.status, StatusCode::OK, "{}", licenses.text);
    let error = licenses.body["error"].as_str().unwrap();
    assert!(
        error.starts_with("Failed to fetch Arrow customers: "),
        "{error}"
    );
    assert_eq!(figures.status, StatusCode::OK, "{}", figures.text);
    assert_eq!(figures.body["billing_available"], false);
    assert!(
        figures.body["consumption_lines"][0]["error"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    assert_eq!(figures.body["error"], Value::Null);
}

#[tokio::test]
async fn every_action_is_refused_to_non_staff_before_any_lookup() {
    // Arrange
    let s = Setup::new().await;
    let settings = s.settings(json!({})).await;
    let mapping = s.mapping(&settings, NORDIC.reference, "", true).await;
    let owner = s.app.create_user("owner").await;
    s.app
        .grant("customers", &s.customer.uuid(), &owner, "CUSTOMER.OWNER")
        .await;
    let unknown = Uuid::new_v4().simple().to_string();
    s.fake.clear_requests();

    let token = owner.token.as_str();

    // Act
    let mut replies = vec![
        s.app.post(DISCOVER, token, s.credentials()).await,
        s.app.get(AVAILABLE, token).await,
        s.app.post(SYNC, token, json!({})).await,
    ];
    for uuid in [&mapping, &unknown] {
        for action in ["discover_licenses", "fetch_arrow_data", "billing_summary"] {
            replies.push(
                s.app
                    .get(&format!("{MAPPINGS}/{uuid}/{action}/"), token)
                    .await,
            );
        }
    }

    // Assert
    for reply in replies {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        assert_eq!(
            reply.body,
            json!({"detail": "You do not have permission to perform this action."})
        );
    }
    let anonymous = s
        .app
        .request(reqwest::Method::GET, AVAILABLE, None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(s.fake.requests().is_empty());
}

#[tokio::test]
async fn an_unknown_mapping_is_not_found_by_any_mapping_action() {
    // Arrange
    let s = Setup::new().await;
    s.settings(json!({})).await;
    let unknown = Uuid::new_v4().simple().to_string();

    for action in ["discover_licenses", "fetch_arrow_data", "billing_summary"] {
        // Act
        let reply = s.action(&unknown, action).await;
        let malformed = s.action("not-a-uuid", action).await;

        // Assert
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{action}: {}",
            reply.text
        );
        assert_eq!(malformed.status, StatusCode::NOT_FOUND, "{action}");
    }
}

#[tokio::test]
async fn available_customers_lists_those_the_active_settings_have_not_mapped() {
    // Arrange
    let s = Setup::new().await;
    let baltic = s.app.create_customer(BALTIC.company_name).await;
    let settings = s.settings(json!({})).await;
    s.mapping(&settings, NORDIC.reference, "", true).await;
    s.mapping_of(&settings, BALTIC.reference, &baltic.uuid(), "", false)
        .await;

    // Act
    let reply = s.app.get(AVAILABLE, s.admin()).await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["settings_uuid"], settings);
    let references: Vec<&str> = reply.body["arrow_customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reference"].as_str().unwrap())
        .collect();
    assert_eq!(references.len(), 4);
    assert!(!references.contains(&NORDIC.reference));
    assert!(
        references.contains(&BALTIC.reference),
        "an inactive mapping does not count"
    );
    assert_eq!(
        reply.body["arrow_customers"][0]["company_name"],
        BALTIC.company_name
    );
    assert_eq!(reply.body["waldur_customers"].as_array().unwrap().len(), 3);
    let suggestions = reply.body["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 4);
    assert!(suggestions.iter().all(|s| s["existing_mapping"] == false));
    let balt = suggestion(&reply, BALTIC.reference);
    assert_eq!(balt["suggested_waldur_customer"]["uuid"], baltic.uuid());
    assert_eq!(balt["confidence"], 1.0);
    assert!(
        suggestion(&reply, TARTU.reference)
            .get("suggested_waldur_customer")
            .is_none()
    );
}

#[tokio::test]
async fn available_customers_is_refused_with_a_detail_without_settings_or_arrow() {
    // Arrange
    let s = Setup::new().await;

    // Act
    let none = s.app.get(AVAILABLE, s.admin()).await;
    s.settings(json!({"is_active": false})).await;
    let inactive = s.app.get(AVAILABLE, s.admin()).await;
    let settings = s.settings(json!({})).await;
    s.fake.fail(true);
    let down = s.app.get(AVAILABLE, s.admin()).await;
    s.fake.fail(false);
    let patched = s
        .app
        .patch(
            &format!("{ARROW}/settings/{settings}/"),
            s.admin(),
            json!({"api_key": "wrong"}),
        )
        .await;
    let wrong_key = s.app.get(AVAILABLE, s.admin()).await;

    // Assert
    for reply in [&none, &inactive] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(
            reply.body,
            json!({"detail": "No active Arrow settings configured"})
        );
    }
    assert_eq!(down.status, StatusCode::BAD_REQUEST, "{}", down.text);
    let detail = down.body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Arrow API customers returned HTTP 500"),
        "{detail}"
    );
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(
        wrong_key.status,
        StatusCode::BAD_REQUEST,
        "{}",
        wrong_key.text
    );
    let detail = wrong_key.body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Arrow API customers returned HTTP 401"),
        "{detail}"
    );
}

#[tokio::test]
async fn syncing_from_arrow_renames_active_mappings_once() {
    // Arrange
    let s = Setup::new().await;
    let settings = s.settings(json!({})).await;
    let nordic = s
        .mapping(&settings, NORDIC.reference, "Old Name", true)
        .await;
    let tartu = s
        .mapping(&settings, TARTU.reference, TARTU.company_name, true)
        .await;
    let inactive = s
        .mapping(&settings, BALTIC.reference, "Old Baltic", false)
        .await;
    let unknown = s.mapping(&settings, "XSP000000", "Nobody", true).await;
    let events = s.mapping_events().await;

    // Act
    let first = s.app.post(SYNC, s.admin(), json!({})).await;
    let after_first = s.mapping_events().await;
    let second = s
        .app
        .post(SYNC, s.admin(), json!({"settings_uuid": settings}))
        .await;

    // Assert
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body, json!({"updated": 1}));
    assert_eq!(after_first, events + 1);
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(second.body, json!({"updated": 0}));
    assert_eq!(s.mapping_events().await, after_first);
    let name = |uuid: String| {
        let app = &s.app;
        async move {
            app.get(&format!("{MAPPINGS}/{uuid}/"), &app.admin_token)
                .await
                .body["arrow_company_name"]
                .clone()
        }
    };
    assert_eq!(name(nordic).await, NORDIC.company_name);
    assert_eq!(name(tartu).await, TARTU.company_name);
    assert_eq!(name(inactive).await, "Old Baltic");
    assert_eq!(name(unknown).await, "Nobody");
}

#[tokio::test]
async fn syncing_from_arrow_is_refused_without_settings_or_arrow() {
    // Arrange
    let s = Setup::new().await;

    // Act
    let none = s.app.post(SYNC, s.admin(), json!({})).await;
    let unknown = s
        .app
        .post(
            SYNC,
            s.admin(),
            json!({"settings_uuid": Uuid::new_v4().simple().to_string()}),
        )
        .await;
    let malformed = s
        .app
        .post(SYNC, s.admin(), json!({"settings_uuid": "nope"}))
        .await;
    let settings = s.settings(json!({})).await;
    s.mapping(&settings, NORDIC.reference, "Old Name", true)
        .await;
    s.fake.fail(true);
    let down = s.app.post(SYNC, s.admin(), json!({})).await;

    // Assert
    for reply in [&none, &unknown] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.body, json!({"error": "No Arrow settings found"}));
    }
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        malformed.body,
        json!({"settings_uuid": ["Must be a valid UUID."]})
    );
    assert_eq!(down.status, StatusCode::BAD_REQUEST, "{}", down.text);
    let error = down.body["error"].as_str().unwrap();
    assert!(
        error.starts_with("Arrow API customers returned HTTP 500"),
        "{error}"
    );
}

#[tokio::test]
async fn discovering_licenses_suggests_the_most_alike_free_license_for_each_free_resource() {
    // Arrange: the mapping names the customer by its short `Ref`
    let s = Setup::new().await;
    let settings = s.settings(json!({})).await;
    let mapping = s.mapping(&settings, NORDIC.short_ref, "", true).await;
    let free = s.resource(NORDIC_AZURE.friendly_name, "").await;
    let linked = s.resource("Linked seats", NORDIC_M365.license_id).await;
    let alike_a_linked_one = s.resource(NORDIC_M365.friendly_name, "").await;
    let unrelated = s.resource("qqqq", "").await;
    s.fake.clear_requests();

    // Act
    let reply = s.action(&mapping, "discover_licenses").await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["customer_mapping_uuid"], mapping);
    assert_eq!(reply.body["arrow_reference"], NORDIC.reference);
    assert_eq!(reply.body["waldur_customer_name"], NORDIC.company_name);
    assert_eq!(reply.body["error"], Value::Null);
    assert_eq!(
        s.fake.requests_to("licenses").len(),
        4,
        "eight licenses, two a page"
    );
    assert_eq!(
        reply.body["arrow_licenses"],
        json!([
            {"license_reference": NORDIC_AZURE.license_id, "vendor_name": NORDIC_AZURE.service_ref,
             "offer_name": NORDIC_AZURE.name, "offer_sku": NORDIC_AZURE.sku,
             "friendly_name": NORDIC_AZURE.friendly_name},
            {"license_reference": NORDIC_M365.license_id, "vendor_name": NORDIC_M365.service_ref,
             "offer_name": NORDIC_M365.name, "offer_sku": NORDIC_M365.sku,
             "friendly_name": NORDIC_M365.friendly_name},
        ])
    );
    let resources = reply.body["waldur_resources"].as_array().unwrap();
    assert_eq!(resources.len(), 4);
    let resource = |uuid: &str| resources.iter().find(|r| r["uuid"] == uuid).unwrap();
    assert_eq!(resource(&free)["state"], "1");
    assert_eq!(resource(&free)["backend_id"], "");
    assert_eq!(resource(&linked)["state"], "2");
    assert_eq!(resource(&linked)["backend_id"], NORDIC_M365.license_id);
    assert_eq!(resource(&linked)["project_name"], "Research");
    assert_eq!(
        resource(&linked)["offering_name"],
        "Marketplace.Basic offering"
    );
    let suggestions = reply.body["suggestions"].as_array().unwrap();
    let for_free = suggestions
        .iter()
        .find(|x| x["resource_uuid"] == free)
        .unwrap();
    assert_eq!(
        *for_free,
        json!({"resource_uuid": free, "resource_name": NORDIC_AZURE.friendly_name,
               "license_reference": NORDIC_AZURE.license_id,
               "license_name": NORDIC_AZURE.friendly_name, "confidence": 1.0})
    );
    assert!(suggestions.iter().all(|x| x["resource_uuid"] != linked));
    assert!(suggestions.iter().all(|x| x["resource_uuid"] != unrelated));
    assert!(
        suggestions
            .iter()
            .all(|x| x["license_reference"] != NORDIC_M365.license_id)
    );
    assert_eq!(
        suggestions.len(),
        2,
        "one per free resource: {suggestions:?}"
    );
    let for_alike = suggestions
        .iter()
        .find(|x| x["resource_uuid"] == alike_a_linked_one)
        .unwrap();
    assert_eq!(for_alike["license_reference"], NORDIC_AZURE.license_id);
}

#[tokio::test]
async fn discovering_licenses_of_an_unresolved_customer_lists_none_and_no_error() {
    // Arrange: neither the reference nor the customer's name is Arrow's
    let s = Setup::new().await;
    let settings = s.settings(json!({})).await;
    let other = s.app.create_customer("Local Only Ltd").await;
    let mapping = s
        .mapping_of(&settings, "XSP999999", &other.uuid(), "", true)
        .await;
    s.fake.clear_requests();

    // Act
    let reply = s.action(&mapping, "discover_licenses").await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["arrow_reference"], "XSP999999");
    assert_eq!(reply.body["arrow_licenses"], json!([]));
    assert_eq!(reply.body["waldur_resources"], json!([]));
    assert_eq!(reply.body["suggestions"], json!([]));
    assert_eq!(reply.body["error"], Value::Null);
    assert!(s.fake.requests_to("licenses").is_empty());
}

#[tokio::test]
async fn discovering_licenses_when_arrow_fails_answers_with_the_error() {
    // Arrange
    let s = Setup::new().await;
    let settings = s.settings(json!({})).await;
    let mapping = s.mapping(&settings, NORDIC.reference, "", true).await;
    s.resource("Some resource", "").await;
    s.fake.fail(true);

    // Act
    let reply = s.action(&mapping, "discover_licenses").await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let error = reply.body["error"].as_str().unwrap();
    assert!(
        error.starts_with("Failed to fetch Arrow customers: Arrow API customers returned HTTP 500"),
        "{error}"
    );
    assert_eq!(reply.body["arrow_reference"], NORDIC.reference);
    assert_eq!(reply.body["arrow_licenses"], json!([]));
    assert_eq!(reply.body["waldur_resources"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn fetching_arrow_data_shows_this_months_lines_with_totals_and_a_failed_line_alone() {
    // Arrange
    let s = Setup::new().await;
    let settings = s
        .settings(json!({"export_type_reference": MSP_EXTENDED.reference}))
        .await;
    let mapping = s
        .mapping(&settings, NORDIC.reference, NORDIC.company_name, true)
        .await;
    let azure = s.resource("Azure", NORDIC_AZURE.license_id).await;
    // a license Arrow has no lines for
    let backup = s.resource("Backup", "XSP22002").await;
    let office = s.resource("Office", NORDIC_M365.license_id).await;
    s.resource("Not linked", "").await;
    s.fake.fail_consumption(NORDIC_M365.license_id, Some(500));
    s.fake.clear_requests();
    let current = period(Month::Current);

    // Act
    let reply = s.action(&mapping, "fetch_arrow_data").await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = &reply.body;
    assert_eq!(body["customer_mapping_uuid"], mapping);
    assert_eq!(body["arrow_reference"], NORDIC.reference);
    assert_eq!(body["arrow_company_name"], NORDIC.company_name);
    assert_eq!(body["waldur_customer_name"], NORDIC.company_name);
    assert_eq!(body["period"], current);
    assert_eq!(body["billing_available"], true);
    assert_eq!(
        s.fake.requests_to("billing/erp/exports/sync").len(),
        3,
        "five lines this month, two a page"
    );
    assert_eq!(
        body["billing_lines"],
        json!([
            {"vendor_name": "Microsoft", "subscription_reference": "3f1c2b9e-7d4a-4e8b-9c1f-2a6b5d8e0f13",
             "license_reference": NORDIC_AZURE.license_id, "offer_sku": NORDIC_AZURE.sku,
             "classification": "IAAS", "quantity": "1.0000", "sell_price": "871.25",
             "buy_price": "740.57"},
            {"vendor_name": "Microsoft", "subscription_reference": "8a2d4c6e-1b3f-4a5c-9e7d-0f2b4d6a8c1e",
             "license_reference": NORDIC_M365.license_id, "offer_sku": NORDIC_M365.sku,
             "classification": "SAAS", "quantity": "25.0000", "sell_price": "900.00",
             "buy_price": "750.00"},
        ])
    );
    assert_eq!(body["billing_total_sell"], "1771.25");
    assert_eq!(body["billing_total_buy"], "1490.57");
    assert_eq!(
        body["consumption_lines"],
        json!([
            {"license_reference": NORDIC_AZURE.license_id, "resource_name": "Azure",
             "resource_uuid": azure, "period": current, "sell_price": "857.50",
             "buy_price": "728.88"},
            {"license_reference": "XSP22002", "resource_name": "Backup",
             "resource_uuid": backup, "period": current, "sell_price": "0.00",
             "buy_price": "0.00"},
            {"license_reference": NORDIC_M365.license_id, "resource_name": "Office",
             "resource_uuid": office, "period": current, "sell_price": null,
             "buy_price": null,
             "error": body["consumption_lines"][2]["error"].clone()},
        ])
    );
    let error = body["consumption_lines"][2]["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "Arrow API consumption/monthly/license/{} returned HTTP 500",
            NORDIC_M365.license_id
        )),
        "{error}"
    );
    assert_eq!(body["consumption_total_sell"], "857.50");
    assert_eq!(body["consumption_total_buy"], "728.88");
    assert_eq!(body["total_customer_resources"], 4);
    assert_eq!(body["resources_with_backend_id"], 3);
    assert_eq!(body["matched_resources"], 2);
    assert_eq!(body["error"], Value::Null);
    let asked = s.fake.requests_to(&format!(
        "consumption/monthly/license/{}",
        NORDIC_AZURE.license_id
    ));
    assert_eq!(asked[0].param("reportPeriodStart"), Some(current.as_str()));
    assert_eq!(asked[0].param("reportPeriodEnd"), Some(current.as_str()));
}

#[tokio::test]
async fn fetching_arrow_data_without_an_export_type_or_linked_resources_shows_no_totals() {
    // Arrange
    let s = Setup::new().await;
    let settings = s.settings(json!({})).await;
    let mapping = s
        .mapping(&settings, NORDIC.reference, NORDIC.company_name, true)
        .await;
    s.resource("Not linked", "").await;
    s.fake.clear_requests();

    // Act
    let reply = s.action(&mapping, "fetch_arrow_data").await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["billing_available"], false);
    assert_eq!(reply.body["billing_lines"], json!([]));
    assert_eq!(reply.body["billing_total_sell"], Value::Null);
    assert_eq!(reply.body["billing_total_buy"], Value::Null);
    assert_eq!(reply.body["consumption_lines"], json!([]));
    assert_eq!(reply.body["consumption_total_sell"], Value::Null);
    assert_eq!(reply.body["consumption_total_buy"], Value::Null);
    assert_eq!(reply.body["total_customer_resources"], 1);
    assert_eq!(reply.body["resources_with_backend_id"], 0);
    assert_eq!(reply.body["matched_resources"], 0);
    assert!(s.fake.requests().is_empty());
}

#[tokio::test]
async fn fetching_arrow_data_while_arrow_is_down_answers_every_line_with_its_error() {
    // Arrange
    let s = Setup::new().await;
    let settings = s
        .settings(json!({"export_type_reference": MSP_EXTENDED.reference}))
        .await;
    let mapping = s
        .mapping(&settings, NORDIC.reference, NORDIC.company_name, true)
        .await;
    s.resource("Azure", NORDIC_AZURE.license_id).await;
    s.resource("Office", NORDIC_M365.license_id).await;
    s.fake.fail(true);

    // Act
    let reply = s.action(&mapping, "fetch_arrow_data").await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["billing_available"], false);
    assert_eq!(reply.body["billing_lines"], json!([]));
    assert_eq!(reply.body["billing_total_sell"], Value::Null);
    let lines = reply.body["consumption_lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    for line in lines {
        assert_eq!(line["sell_price"], Value::Null);
        assert!(
            line["error"]
                .as_str()
                .unwrap()
                .contains("returned HTTP 500")
        );
    }
    assert_eq!(reply.body["consumption_total_sell"], "0.00");
    assert_eq!(reply.body["matched_resources"], 0);
    assert_eq!(reply.body["error"], Value::Null);
}

#[tokio::test]
async fn the_billing_summary_reads_the_ledger_without_asking_arrow() {
    // Arrange: two months recorded from Arrow
    let s = Setup::new().await;
    let settings = s.settings(json!({})).await;
    let mapping = s
        .mapping(&settings, NORDIC.reference, NORDIC.company_name, true)
        .await;
    let azure = s.resource("Azure", NORDIC_AZURE.license_id).await;
    let (previous, current) = (period(Month::Previous), period(Month::Current));
    let synced = s
        .app
        .post(
            &format!("{ARROW}/billing-syncs/sync_resource_historical_consumption/"),
            s.admin(),
            json!({"resource_uuid": azure, "period_from": previous, "period_to": current}),
        )
        .await;
    assert_eq!(synced.status, StatusCode::OK, "{}", synced.text);
    assert_eq!(synced.body["periods_synced"], 2, "{}", synced.text);
    s.fake.clear_requests();
    s.fake.fail(true);

    // Act
    let reply = s.action(&mapping, "billing_summary").await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(s.fake.requests().is_empty(), "{:?}", s.fake.requests());
    let body = &reply.body;
    assert_eq!(body["customer_mapping_uuid"], mapping);
    assert_eq!(body["arrow_reference"], NORDIC.reference);
    assert_eq!(body["arrow_company_name"], NORDIC.company_name);
    assert_eq!(body["waldur_customer_uuid"], s.customer.uuid());
    assert_eq!(body["waldur_customer_name"], NORDIC.company_name);
    assert_eq!(body["total_consumption_records"], 2);
    assert_eq!(body["total_consumed_sell"], "1636.36");
    assert_eq!(body["total_final_sell"], Value::Null);
    assert_eq!(body["pending_records"], 2);
    assert_eq!(body["finalized_records"], 0);
    assert_eq!(body["reconciled_records"], 0);
    assert_eq!(body["total_billing_syncs"], 0);
    assert_eq!(body["total_billing_sell"], Value::Null);
    assert_eq!(body["recent_billing_syncs"], json!([]));
    let records = body["recent_consumption_records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["billing_period"], format!("{current}-01"));
    assert_eq!(records[0]["license_reference"], NORDIC_AZURE.license_id);
    assert_eq!(records[0]["resource_name"], "Azure");
    assert_eq!(records[0]["consumed_sell"], "857.50");
    assert_eq!(records[0]["final_sell"], Value::Null);
    assert_eq!(records[0]["is_finalized"], false);
    assert_eq!(records[0]["is_reconciled"], false);
    assert_eq!(records[1]["billing_period"], format!("{previous}-01"));
    assert_eq!(records[1]["consumed_sell"], "778.86");
}

#[tokio::test]
async fn discovering_licenses_when_only_the_licenses_fail_names_that_failure() {
    // Arrange
    let s = Setup::new().await;
    let settings = s.settings(json!({})).await;
    let mapping = s.mapping(&settings, NORDIC.reference, "", true).await;
    s.fake.fail_endpoint("licenses");

    // Act
    let reply = s.action(&mapping, "discover_licenses").await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let error = reply.body["error"].as_str().unwrap();
    assert!(
        error.starts_with("Failed to fetch licenses: Arrow API licenses returned HTTP 500"),
        "{error}"
    );
    assert_eq!(reply.body["arrow_reference"], NORDIC.reference);
    assert_eq!(reply.body["arrow_licenses"], json!([]));
}

#[tokio::test]
async fn discovering_customers_when_export_types_fail_lists_none_or_counts_nothing_found() {
    // Arrange
    let s = Setup::new().await;
    s.fake.fail_endpoint("billing/erp/exports/sync");

    // Act: the probes fail
    let probed = s.app.post(DISCOVER, s.admin(), s.credentials()).await;

    // Assert
    assert_eq!(probed.status, StatusCode::OK, "{}", probed.text);
    let msp = export_type(&probed, MSP_EXTENDED.reference);
    assert_eq!(msp["required_fields_found"], 0);
    assert_eq!(msp["important_fields_found"], 0);
    assert_eq!(msp["missing_required_fields"].as_array().unwrap().len(), 5);
    assert_eq!(
        msp["missing_important_fields"].as_array().unwrap().len(),
        22
    );
    assert_eq!(
        (msp["compatible"].clone(), msp["recommended"].clone()),
        (json!(false), json!(false))
    );

    // Act: the list of export types fails
    s.fake.fail_endpoint("billing/erp/exports/types");
    let listed = s.app.post(DISCOVER, s.admin(), s.credentials()).await;

    // Assert: the customers still come, without export types
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["export_types"], json!([]));
    assert_eq!(listed.body["arrow_customers"].as_array().unwrap().len(), 5);
}
