//! The Arrow API against a fake Arrow: settings and their key, customer mappings and their
//! uniqueness, license import and link, consumption sync and records, billing syncs, and
//! every refusal (non-staff, unknown objects, Arrow down, slow or refusing the key).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fake_arrow::FakeArrow;
use crate::fake_arrow::fixtures::{
    self, Month, NORDIC, NORDIC_AZURE, PARTNER_NAME, PARTNER_REFERENCE,
};
use crate::helpers::{Reply, TestApp, spawn_app, spawn_app_with_config};
use crate::world::{Names, World};

const SETTINGS: &str = "/api/admin/arrow/settings/";
const MAPPINGS: &str = "/api/admin/arrow/customer-mappings/";
const RECORDS: &str = "/api/admin/arrow/consumption-records/";
const SYNCS: &str = "/api/admin/arrow/billing-syncs/";
const FORBIDDEN: &str = "You do not have permission to perform this action.";

/// Staff creates settings pointing at the fake.
async fn create_settings(app: &TestApp, arrow: &FakeArrow) -> Reply {
    let reply = app
        .post(
            SETTINGS,
            &app.admin_token,
            json!({"api_url": arrow.url(), "api_key": arrow.key()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply
}

/// Staff maps an Arrow customer to a local one.
async fn create_mapping(app: &TestApp, settings: &str, reference: &str, customer: &str) -> Reply {
    app.post(
        MAPPINGS,
        &app.admin_token,
        json!({"settings": settings, "arrow_reference": reference, "waldur_customer": customer}),
    )
    .await
}

async fn events_of(app: &TestApp, aggregate_type: &str) -> i64 {
    app.scalar_i64(&format!(
        "SELECT count(*) FROM events WHERE aggregate_type = '{aggregate_type}'"
    ))
    .await
}

// ---------------------------------------------------------------------------------------
// Staff only
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_arrow_route_refuses_a_non_staff_caller_before_any_lookup() {
    let app = spawn_app().await;
    let user = app.create_user("not-staff").await;
    let unknown = uuid::Uuid::new_v4().simple().to_string();
    let routes = [
        (Method::GET, SETTINGS.to_string()),
        (Method::POST, SETTINGS.to_string()),
        (Method::GET, format!("{SETTINGS}{unknown}/")),
        (Method::PATCH, format!("{SETTINGS}{unknown}/")),
        (Method::DELETE, format!("{SETTINGS}{unknown}/")),
        (Method::POST, format!("{SETTINGS}validate_credentials/")),
        (Method::POST, format!("{SETTINGS}preview_settings/")),
        (Method::POST, format!("{SETTINGS}save_settings/")),
        (Method::GET, MAPPINGS.to_string()),
        (Method::POST, MAPPINGS.to_string()),
        (Method::GET, format!("{MAPPINGS}{unknown}/")),
        (Method::PUT, format!("{MAPPINGS}{unknown}/")),
        (Method::DELETE, format!("{MAPPINGS}{unknown}/")),
        (Method::POST, format!("{MAPPINGS}{unknown}/import_license/")),
        (Method::POST, format!("{MAPPINGS}{unknown}/link_resource/")),
        (Method::GET, RECORDS.to_string()),
        (Method::GET, format!("{RECORDS}{unknown}/")),
        (Method::GET, SYNCS.to_string()),
        (Method::GET, format!("{SYNCS}{unknown}/")),
        (
            Method::POST,
            format!("{SYNCS}sync_resource_historical_consumption/"),
        ),
    ];
    for (method, path) in routes {
        let reply = app
            .request(method.clone(), &path, Some(&user.token), Some(json!({})))
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(reply.body, json!({"detail": FORBIDDEN}), "{method} {path}");
        let anonymous = app.request(method.clone(), &path, None, None).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn settings_are_created_without_showing_the_key_and_learn_the_partner() {
    let app = spawn_app().await;
    let arrow = FakeArrow::start().await;
    let reply = create_settings(&app, &arrow).await;
    let body = &reply.body;
    assert!(body.get("api_key").is_none(), "{body}");
    assert_eq!(body["api_url"], json!(arrow.url()));
    assert_eq!(body["partner_reference"], PARTNER_REFERENCE);
    assert_eq!(body["partner_name"], PARTNER_NAME);
    assert_eq!(body["classification_filter"], "IAAS");
    assert_eq!(body["invoice_price_source"], "sell");
    assert_eq!(body["invoice_item_prefix"], "Arrow consumption");
    assert_eq!(body["is_active"], true);
    assert_eq!(body["sync_enabled"], false);
    assert_eq!(body["export_type_reference"], "");
    assert_eq!(body["uuid"].as_str().unwrap().len(), 32);
    assert!(
        body["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/admin/arrow/settings/{}/", reply.uuid()))
    );
    let whoami = arrow.requests_to("whoami");
    assert_eq!(whoami.len(), 1);
    assert_eq!(whoami[0].header("apikey"), Some(arrow.key().as_str()));

    // The key is in no event, no read model document and no answer.
    let key = arrow.key();
    let in_events = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM events WHERE payload::text LIKE '%{key}%' \
             OR metadata::text LIKE '%{key}%'"
        ))
        .await;
    assert_eq!(in_events, 0);
    let in_documents = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM projection.arrow_settings WHERE document::text LIKE '%{key}%'"
        ))
        .await;
    assert_eq!(in_documents, 0);
    let listed = app.get(SETTINGS, &app.admin_token).await;
    assert!(!listed.text.contains(&key));
    assert_eq!(listed.count(), 1);
}

#[tokio::test]
async fn settings_are_saved_even_when_arrow_is_down_and_then_have_no_partner() {
    let app = spawn_app().await;
    let arrow = FakeArrow::start().await;
    arrow.fail(true);
    let reply = create_settings(&app, &arrow).await;
    assert_eq!(reply.body["partner_reference"], "");
    assert_eq!(reply.body["partner_name"], "");
}

#[tokio::test]
async fn settings_refuse_missing_and_malformed_fields() {
    let app = spawn_app().await;
    let reply = app.post(SETTINGS, &app.admin_token, json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["api_url"], json!(["This field is required."]));
    assert_eq!(reply.body["api_key"], json!(["This field is required."]));
    let reply = app
        .post(
            SETTINGS,
            &app.admin_token,
            json!({"api_url": "not a url", "api_key": "k", "invoice_price_source": "list"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body["invoice_price_source"],
        json!(["\"list\" is not a valid choice."])
    );
    let reply = app
        .post(
            SETTINGS,
            &app.admin_token,
            json!({"api_url": "ftp://arrow.example/", "api_key": "k"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(reply.body["api_url"].is_array());
    let long_key = "k".repeat(501);
    let reply = app
        .post(
            SETTINGS,
            &app.admin_token,
            json!({"api_url": "https://arrow.example/", "api_key": long_key}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["api_key"].is_array());
    assert_eq!(events_of(&app, "arrow_settings").await, 0);
}

#[tokio::test]
async fn updating_settings_keeps_the_key_and_is_active_unless_given() {
    let app = spawn_app().await;
    let arrow = FakeArrow::start().await;
    let settings = create_settings(&app, &arrow).await;
    let path = format!("{SETTINGS}{}/", settings.uuid());
    let patched = app
        .patch(&path, &app.admin_token, json!({"is_active": false}))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["is_active"], false);

    // PUT without is_active or api_key keeps both; Arrow is still asked with the old key.
    arrow.clear_requests();
    let put = app
        .request(
            Method::PUT,
            &path,
            Some(&app.admin_token),
            Some(json!({"api_url": arrow.url(), "classification_filter": "SAAS"})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["is_active"], false);
    assert_eq!(put.body["classification_filter"], "SAAS");
    let whoami = arrow.requests_to("whoami");
    assert_eq!(
        whoami.last().unwrap().header("apikey"),
        Some(arrow.key().as_str())
    );

    // The same values again append nothing.
    let before = events_of(&app, "arrow_settings").await;
    let again = app
        .patch(
            &path,
            &app.admin_token,
            json!({"classification_filter": "SAAS"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(events_of(&app, "arrow_settings").await, before);

    // A new key replaces the stored one: Arrow refuses it, and the partner stays.
    let replaced = app
        .patch(&path, &app.admin_token, json!({"api_key": "another-key"}))
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(replaced.body["partner_reference"], PARTNER_REFERENCE);
    let whoami = arrow.requests_to("whoami");
    assert_eq!(whoami.last().unwrap().header("apikey"), Some("another-key"));
    let stored = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM secrets WHERE owner_uuid = '{}'",
            settings.uuid()
        ))
        .await;
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn settings_lists_filter_and_unknown_settings_are_404() {
    let app = spawn_app().await;
    let arrow = FakeArrow::start().await;
    let first = create_settings(&app, &arrow).await;
    create_settings(&app, &arrow).await;
    app.patch(
        &format!("{SETTINGS}{}/", first.uuid()),
        &app.admin_token,
        json!({"is_active": false, "sync_enabled": true}),
    )
    .await;
    let all = app.get(SETTINGS, &app.admin_token).await;
    assert_eq!(all.count(), 2);
    // newest first
    assert_ne!(all.items()[0]["uuid"], json!(first.uuid()));
    let inactive = app
        .get(&format!("{SETTINGS}?is_active=false"), &app.admin_token)
        .await;
    assert_eq!(inactive.count(), 1);
    assert_eq!(inactive.items()[0]["uuid"], json!(first.uuid()));
    let syncing = app
        .get(&format!("{SETTINGS}?sync_enabled=true"), &app.admin_token)
        .await;
    assert_eq!(syncing.count(), 1);
    let unknown = app
        .get(
            &format!("{SETTINGS}{}/", uuid::Uuid::new_v4().simple()),
            &app.admin_token,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.body["detail"],
        "No ArrowSettings matches the given query."
    );
}

#[tokio::test]
async fn deleting_settings_deletes_their_mappings_and_their_key() {
    let world = World::new(Names::PLAIN).await;
    let app = &world.app;
    let arrow = FakeArrow::start().await;
    let settings = create_settings(app, &arrow).await;
    let mapping = create_mapping(
        app,
        &settings.uuid(),
        NORDIC.reference,
        &world.consumer.uuid(),
    )
    .await;
    assert_eq!(mapping.status, StatusCode::CREATED, "{}", mapping.text);
    let deleted = app
        .delete(&format!("{SETTINGS}{}/", settings.uuid()), &app.admin_token)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(app.get(MAPPINGS, &app.admin_token).await.count(), 0);
    assert_eq!(app.get(SETTINGS, &app.admin_token).await.count(), 0);
    let stored = app.scalar_i64("SELECT count(*) FROM secrets").await;
    assert_eq!(stored, 0);
    let again = app
        .delete(&format!("{SETTINGS}{}/", settings.uuid()), &app.admin_token)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn validate_credentials_answers_valid_or_why_not() {
    let app = spawn_app().await;
    let arrow = FakeArrow::start().await;
    let path = format!("{SETTINGS}validate_credentials/");
    let valid = app
        .post(
            &path,
            &app.admin_token,
            json!({"api_url": arrow.url(), "api_key": arrow.key()}),
        )
        .await;
    assert_eq!(valid.status, StatusCode::OK, "{}", valid.text);
    assert_eq!(valid.body["valid"], true);
    assert_eq!(valid.body["message"], "Credentials validated successfully");
    assert_eq!(valid.body["partner_info"]["reference"], PARTNER_REFERENCE);
    assert_eq!(valid.body["partner_info"]["company_name"], PARTNER_NAME);
    assert!(valid.body["export_types"].is_object(), "{}", valid.text);

    let wrong = app
        .post(
            &path,
            &app.admin_token,
            json!({"api_url": arrow.url(), "api_key": "wrong"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert_eq!(wrong.body["valid"], false);
    let error = wrong.body["error"].as_str().unwrap();
    assert!(
        error.starts_with("Arrow API whoami returned HTTP 401: "),
        "{error}"
    );
    assert!(!wrong.text.contains("wrong\""), "the key is not repeated");

    arrow.whoami_status(403);
    let denied = app
        .post(
            &path,
            &app.admin_token,
            json!({"api_url": arrow.url(), "api_key": arrow.key()}),
        )
        .await;
    assert_eq!(
        denied.body,
        json!({"valid": false, "error": "Unexpected response status"})
    );

    let missing = app.post(&path, &app.admin_token, json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["api_key"], json!(["This field is required."]));
    assert_eq!(events_of(&app, "arrow_settings").await, 0);
}

#[tokio::test]
async fn a_slow_arrow_is_an_answer_within_the_timeout() {
    let app = spawn_app_with_config(|server| server.remote.arrow_timeout_seconds = 1).await;
    let arrow = FakeArrow::start().await;
    arrow.slow(Duration::from_secs(10));
    let started = Instant::now();
    let reply = app
        .post(
            &format!("{SETTINGS}validate_credentials/"),
            &app.admin_token,
            json!({"api_url": arrow.url(), "api_key": arrow.key()}),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["valid"], false);
    let error = reply.body["error"].as_str().unwrap();
    assert!(
        error.starts_with("Arrow API request to whoami failed: "),
        "{error}"
    );

    let preview = app
        .post(
            &format!("{SETTINGS}preview_settings/"),
            &app.admin_token,
            json!({"api_url": arrow.url(), "api_key": arrow.key()}),
        )
        .await;
    assert_eq!(preview.status, StatusCode::BAD_REQUEST);
    assert!(preview.body["error"].as_str().unwrap().contains("failed"));
}

#[tokio::test]
async fn an_internal_arrow_address_is_refused_unless_allowed() {
    let app = spawn_app_with_config(|server| server.remote.allow_private = false).await;
    let arrow = FakeArrow::start().await;
    let reply = app
        .post(
            &format!("{SETTINGS}validate_credentials/"),
            &app.admin_token,
            json!({"api_url": arrow.url(), "api_key": arrow.key()}),
        )
        .await;
    assert_eq!(reply.body["valid"], false, "{}", reply.text);
    assert!(arrow.requests().is_empty());
}

#[tokio::test]
async fn preview_settings_asks_arrow_and_stores_nothing() {
    let app = spawn_app().await;
    let arrow = FakeArrow::start().await;
    let path = format!("{SETTINGS}preview_settings/");
    let reply = app
        .post(
            &path,
            &app.admin_token,
            json!({"api_url": arrow.url(), "api_key": arrow.key(), "export_type_reference": "E1"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({
            "api_url": arrow.url(),
            "partner_name": PARTNER_NAME,
            "partner_reference": PARTNER_REFERENCE,
            "export_type_reference": "E1",
            "classification_filter": "IAAS",
            "sync_enabled": false,
        })
    );
    arrow.fail(true);
    let down = app
        .post(
            &path,
            &app.admin_token,
            json!({"api_url": arrow.url(), "api_key": arrow.key()}),
        )
        .await;
    assert_eq!(down.status, StatusCode::BAD_REQUEST);
    assert!(
        down.body["error"]
            .as_str()
            .unwrap()
            .starts_with("Arrow API whoami returned HTTP 500: ")
    );
    assert_eq!(events_of(&app, "arrow_settings").await, 0);
}

#[tokio::test]
async fn save_settings_replaces_the_active_settings_and_maps_known_customers() {
    let world = World::new(Names::PLAIN).await;
    let app = &world.app;
    let arrow = FakeArrow::start().await;
    let old = create_settings(app, &arrow).await;
    let path = format!("{SETTINGS}save_settings/");
    let unknown_customer = uuid::Uuid::new_v4().simple().to_string();
    let reply = app
        .post(
            &path,
            &app.admin_token,
            json!({
                "api_url": arrow.url(),
                "api_key": arrow.key(),
                "sync_enabled": true,
                "customer_mappings": [
                    {"arrow_reference": NORDIC.reference, "waldur_customer_uuid": world.consumer.uuid()},
                    {"arrow_reference": NORDIC.reference, "waldur_customer_uuid": world.consumer.uuid()},
                    {"arrow_reference": "XSP-UNKNOWN", "waldur_customer_uuid": unknown_customer},
                ],
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["mappings_created"], 1);
    assert_eq!(
        reply.body["message"],
        "Settings saved with 1 customer mappings"
    );
    let new_uuid = reply.body["settings_uuid"].as_str().unwrap().to_string();

    let old_now = app
        .get(&format!("{SETTINGS}{}/", old.uuid()), &app.admin_token)
        .await;
    assert_eq!(old_now.body["is_active"], false);
    let new = app
        .get(&format!("{SETTINGS}{new_uuid}/"), &app.admin_token)
        .await;
    assert_eq!(new.body["is_active"], true);
    assert_eq!(new.body["sync_enabled"], true);
    assert_eq!(new.body["partner_name"], PARTNER_NAME);
    let mappings = app
        .get(
            &format!("{MAPPINGS}?settings_uuid={new_uuid}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(mappings.count(), 1);
    assert_eq!(
        mappings.items()[0]["arrow_company_name"],
        NORDIC.company_name
    );

    arrow.fail(true);
    let down = app
        .post(
            &path,
            &app.admin_token,
            json!({"api_url": arrow.url(), "api_key": arrow.key()}),
        )
        .await;
    assert_eq!(down.status, StatusCode::BAD_REQUEST);
    assert!(down.body["error"].is_string());
    assert_eq!(app.get(SETTINGS, &app.admin_token).await.count(), 2);
}

// ---------------------------------------------------------------------------------------
// Customer mappings
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_mapping_is_created_with_uuids_and_read_with_links() {
    let world = World::new(Names::PLAIN).await;
    let app = &world.app;
    let arrow = FakeArrow::start().await;
    let settings = create_settings(app, &arrow).await;
    let reply = create_mapping(
        app,
        &settings.uuid(),
        NORDIC.reference,
        &world.consumer.uuid(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["settings"], json!(settings.uuid()));
    assert_eq!(reply.body["waldur_customer"], json!(world.consumer.uuid()));
    assert_eq!(reply.body["waldur_customer_name"], Names::PLAIN.consumer);
    assert_eq!(reply.body["arrow_company_name"], "");
    assert_eq!(reply.body["is_active"], true);
    let read = app.get(&reply.url(), &app.admin_token).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(
        read.body["settings"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/admin/arrow/settings/{}/", settings.uuid()))
    );
    assert_eq!(read.body["waldur_customer"], json!(world.consumer.url()));
    assert_eq!(read.body["settings_uuid"], json!(settings.uuid()));
    assert_eq!(
        read.body["waldur_customer_uuid"],
        json!(world.consumer.uuid())
    );
    // No mapping action calls Arrow on create.
    assert_eq!(arrow.requests_to("customers").len(), 0);
}

#[tokio::test]
async fn a_mapping_refuses_unknown_settings_and_customers_and_duplicates() {
    let world = World::new(Names::PLAIN).await;
    let app = &world.app;
    let arrow = FakeArrow::start().await;
    let settings = create_settings(app, &arrow).await;
    let unknown = uuid::Uuid::new_v4().simple().to_string();
    let reply = create_mapping(app, &unknown, NORDIC.reference, &world.consumer.uuid()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"settings": [format!("Object with uuid={unknown} does not exist.")]})
    );
    let reply = create_mapping(app, &settings.uuid(), NORDIC.reference, &unknown).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["waldur_customer"].is_array());
    let missing = app.post(MAPPINGS, &app.admin_token, json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    for field in ["settings", "arrow_reference", "waldur_customer"] {
        assert_eq!(
            missing.body[field],
            json!(["This field is required."]),
            "{field}"
        );
    }

    let first = create_mapping(
        app,
        &settings.uuid(),
        NORDIC.reference,
        &world.consumer.uuid(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = create_mapping(
        app,
        &settings.uuid(),
        NORDIC.reference,
        &world.provider.uuid(),
    )
    .await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        second.body,
        json!({"non_field_errors": ["The fields arrow_reference, settings must make a unique set."]})
    );
    // Another settings may map the same reference.
    let other = create_settings(app, &arrow).await;
    let elsewhere =
        create_mapping(app, &other.uuid(), NORDIC.reference, &world.consumer.uuid()).await;
    assert_eq!(elsewhere.status, StatusCode::CREATED);
}

#[tokio::test]
async fn concurrent_duplicate_mappings_create_one() {
    let world = World::new(Names::PLAIN).await;
    let app = &world.app;
    let arrow = FakeArrow::start().await;
    let settings = create_settings(app, &arrow).await;
    let (s, c) = (settings.uuid(), world.consumer.uuid());
    let attempts: Vec<_> = (0..4)
        .map(|_| create_mapping(app, &s, "XSP999", &c))
        .collect();
    let replies = futures::future::join_all(attempts).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.status == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((created, refused), (1, 3));
    assert_eq!(events_of(app, "arrow_customer_mapping").await, 1);
}

#[tokio::test]
async fn mappings_filter_update_and_delete() {
    let world = World::new(Names::PLAIN).await;
    let app = &world.app;
    let arrow = FakeArrow::start().await;
    let settings = create_settings(app, &arrow).await;
    let other = create_settings(app, &arrow).await;
    let nordic = create_mapping(app, &settings.uuid(), "XSP661245", &world.consumer.uuid()).await;
    create_mapping(app, &other.uuid(), "XSP772001", &world.provider.uuid()).await;

    let count = |query: String| async move {
        app.get(&format!("{MAPPINGS}?{query}"), &app.admin_token)
            .await
            .count()
    };
    assert_eq!(count(format!("settings_uuid={}", settings.uuid())).await, 1);
    assert_eq!(count(format!("settings={}", settings.url())).await, 1);
    assert_eq!(count("arrow_reference=66124".to_string()).await, 1);
    assert_eq!(count("arrow_reference=xsp".to_string()).await, 2);
    assert_eq!(
        count(format!("waldur_customer_uuid={}", world.provider.uuid())).await,
        1
    );
    assert_eq!(
        count(format!("waldur_customer={}", world.consumer.url())).await,
        1
    );
    assert_eq!(count("is_active=false".to_string()).await, 0);
    assert_eq!(count("settings_uuid=nonsense".to_string()).await, 0);

    let patched = app
        .patch(
            &nordic.url(),
            &app.admin_token,
            json!({"arrow_company_name": "Nordic Research Labs Oy", "is_active": false}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(
        patched.body["arrow_company_name"],
        "Nordic Research Labs Oy"
    );
    assert_eq!(count("arrow_company_name=research".to_string()).await, 1);
    assert_eq!(count("is_active=false".to_string()).await, 1);

    // PUT takes links; moving onto a pair that is taken is refused.
    let put = app
        .request(
            Method::PUT,
            &nordic.url(),
            Some(&app.admin_token),
            Some(json!({
                "settings": other.url(),
                "arrow_reference": "XSP772001",
                "waldur_customer": world.consumer.url(),
            })),
        )
        .await;
    assert_eq!(put.status, StatusCode::BAD_REQUEST, "{}", put.text);
    assert!(put.body["non_field_errors"].is_array());
    let put = app
        .request(
            Method::PUT,
            &nordic.url(),
            Some(&app.admin_token),
            Some(json!({
                "settings": other.url(),
                "arrow_reference": "XSP661245",
                "waldur_customer": world.provider.url(),
            })),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["settings_uuid"], json!(other.uuid()));
    assert_eq!(
        put.body["waldur_customer_uuid"],
        json!(world.provider.uuid())
    );

    let deleted = app.delete(&nordic.url(), &app.admin_token).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&nordic.url(), &app.admin_token).await.status,
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------------------------------
// Import and link
// ---------------------------------------------------------------------------------------

/// A world with a mapping of Nordic to the consumer and an active Basic offering.
struct Licensed {
    world: World,
    arrow: FakeArrow,
    mapping: Reply,
    offering: Reply,
}

impl Licensed {
    async fn new() -> Self {
        let world = World::new(Names::PLAIN).await;
        let arrow = FakeArrow::start().await;
        let settings = create_settings(&world.app, &arrow).await;
        let mapping = create_mapping(
            &world.app,
            &settings.uuid(),
            NORDIC.reference,
            &world.consumer.uuid(),
        )
        .await;
        let offering = world
            .active_offering(
                "Marketplace.Basic",
                json!({
                    "name": "Azure via Arrow",
                    "plans": [{"name": "Monthly", "unit": "month", "unit_price": "5.00",
                               "prices": {}, "quotas": {}}],
                }),
            )
            .await;
        arrow.clear_requests();
        Self {
            world,
            arrow,
            mapping,
            offering,
        }
    }

    fn app(&self) -> &TestApp {
        &self.world.app
    }

    async fn import(&self, reference: &str, name: Option<&str>) -> Reply {
        let mut body = json!({
            "license_reference": reference,
            "offering_uuid": self.offering.uuid(),
            "project_uuid": self.world.project.uuid(),
        });
        if let Some(name) = name {
            body["license_name"] = json!(name);
        }
        self.app()
            .post(
                &format!("{}import_license/", self.mapping.url()),
                &self.app().admin_token,
                body,
            )
            .await
    }
}

#[tokio::test]
async fn importing_a_license_creates_a_running_resource_and_a_done_order_in_one_go() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let reply = licensed
        .import(NORDIC_AZURE.license_id, Some("Azure research"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let resource_uuid = reply.body["resource_uuid"].as_str().unwrap().to_string();
    assert_eq!(
        reply.body,
        json!({
            "resource_uuid": resource_uuid,
            "resource_name": "Azure research",
            "license_reference": NORDIC_AZURE.license_id,
            "offering_name": "Azure via Arrow",
            "project_name": Names::PLAIN.project,
            "success": true,
        })
    );
    let resource = app
        .get(
            &format!("/api/marketplace-resources/{resource_uuid}/"),
            &app.admin_token,
        )
        .await;
    assert_eq!(resource.status, StatusCode::OK, "{}", resource.text);
    assert_eq!(resource.body["state"], "OK");
    assert_eq!(resource.body["backend_id"], NORDIC_AZURE.license_id);
    assert_eq!(resource.body["name"], "Azure research");
    assert_eq!(resource.body["plan_name"], "Monthly");

    let orders = app
        .get(
            &format!("/api/marketplace-orders/?resource_uuid={resource_uuid}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(orders.count(), 1);
    let order = &orders.items()[0];
    assert_eq!(order["state"], "done");
    assert_eq!(order["type"], "Create");
    assert_eq!(order["cost"], "5.0000000000");
    let admin_uuid: String = sqlx::query_scalar(
        "SELECT replace(uuid::text, '-', '') FROM projection.users WHERE username = 'admin'",
    )
    .fetch_one(&app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(order["created_by_username"], "admin");
    assert_eq!(order["consumer_reviewed_by"], "admin");
    assert_eq!(order["provider_reviewed_by"], "admin");
    assert!(order["consumer_reviewed_at"].is_string());
    assert_eq!(order["completed_at"], order["created"]);

    // Both aggregates' events committed in one transaction, with the caller as actor.
    let events: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT aggregate_type, event_type, metadata->>'actor_uuid' FROM events \
         WHERE aggregate_type IN ('order', 'resource') ORDER BY position",
    )
    .fetch_all(&app.ledger.pool)
    .await
    .unwrap();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(a, e, _)| (a.as_str(), e.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [("resource", "ResourceCreated"), ("order", "OrderImported")]
    );
    for (_, _, actor) in &events {
        assert_eq!(actor.replace('-', ""), admin_uuid);
    }
    let transactions = app
        .scalar_i64(
            "SELECT count(DISTINCT transaction_id::text) FROM events \
             WHERE aggregate_type IN ('order', 'resource')",
        )
        .await;
    assert_eq!(transactions, 1);
    // Importing never calls Arrow.
    assert!(licensed.arrow.requests().is_empty());
}

#[tokio::test]
async fn an_imported_license_without_a_name_is_named_after_its_reference() {
    let licensed = Licensed::new().await;
    let reply = licensed.import("XSP777", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["resource_name"], "XSP777");
}

#[tokio::test]
async fn a_license_is_imported_once_per_offering_even_at_the_same_time() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let attempts: Vec<_> = (0..4).map(|_| licensed.import("XSP4242", None)).collect();
    let replies = futures::future::join_all(attempts).await;
    let imported = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let refused: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::BAD_REQUEST)
        .collect();
    assert_eq!(
        (imported, refused.len()),
        (1, 3),
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    for reply in refused {
        assert_eq!(
            reply.body,
            json!({"error": "License XSP4242 has already been imported"})
        );
    }
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM projection.resources WHERE backend_id = 'XSP4242'")
            .await,
        1
    );
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM events WHERE event_type = 'OrderImported'")
            .await,
        1
    );
    // Later, one at a time, too.
    let again = licensed.import("XSP4242", Some("again")).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn import_refuses_unknown_offerings_and_other_customers_projects() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let path = format!("{}import_license/", licensed.mapping.url());
    let unknown = uuid::Uuid::new_v4();
    let reply = app
        .post(
            &path,
            &app.admin_token,
            json!({"license_reference": "XSP1", "offering_uuid": unknown.simple().to_string(),
                   "project_uuid": licensed.world.project.uuid()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.body,
        json!({"error": format!("Offering {unknown} not found")})
    );

    let elsewhere = app
        .create_project(&licensed.world.provider.url(), "Provider project")
        .await;
    let reply = app
        .post(
            &path,
            &app.admin_token,
            json!({"license_reference": "XSP1", "offering_uuid": licensed.offering.uuid(),
                   "project_uuid": elsewhere.uuid()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let dashed = uuid::Uuid::parse_str(&elsewhere.uuid()).unwrap();
    assert_eq!(
        reply.body,
        json!({"error": format!("Project {dashed} not found for this customer")})
    );

    let missing = app.post(&path, &app.admin_token, json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    for field in ["license_reference", "offering_uuid", "project_uuid"] {
        assert_eq!(
            missing.body[field],
            json!(["This field is required."]),
            "{field}"
        );
    }
    let unknown_mapping = app
        .post(
            &format!(
                "{MAPPINGS}{}/import_license/",
                uuid::Uuid::new_v4().simple()
            ),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(unknown_mapping.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM projection.resources")
            .await,
        0
    );
}

#[tokio::test]
async fn linking_a_resource_records_its_previous_backend_id() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let imported = licensed.import("XSP-OLD", Some("Linked resource")).await;
    let resource = imported.body["resource_uuid"].as_str().unwrap().to_string();
    let path = format!("{}link_resource/", licensed.mapping.url());
    let reply = app
        .post(
            &path,
            &app.admin_token,
            json!({"resource_uuid": resource, "license_reference": NORDIC_AZURE.license_id}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({
            "resource_uuid": resource,
            "resource_name": "Linked resource",
            "license_reference": NORDIC_AZURE.license_id,
            "previous_backend_id": "XSP-OLD",
            "success": true,
        })
    );
    let payload: Value =
        sqlx::query_scalar("SELECT payload FROM events WHERE event_type = 'ResourceLicenseLinked'")
            .fetch_one(&app.ledger.pool)
            .await
            .unwrap();
    assert_eq!(
        payload["ResourceLicenseLinked"]["previous_backend_id"],
        "XSP-OLD"
    );
    let read = app
        .get(
            &format!("/api/marketplace-resources/{resource}/"),
            &app.admin_token,
        )
        .await;
    assert_eq!(read.body["backend_id"], NORDIC_AZURE.license_id);

    // The same link again changes nothing and appends nothing.
    let again = app
        .post(
            &path,
            &app.admin_token,
            json!({"resource_uuid": resource, "license_reference": NORDIC_AZURE.license_id}),
        )
        .await;
    assert_eq!(again.body["previous_backend_id"], NORDIC_AZURE.license_id);
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM events WHERE event_type = 'ResourceLicenseLinked'")
            .await,
        1
    );
    assert!(licensed.arrow.requests().is_empty());
}

#[tokio::test]
async fn linking_refuses_resources_of_other_customers() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let path = format!("{}link_resource/", licensed.mapping.url());
    let unknown = uuid::Uuid::new_v4();
    let reply = app
        .post(
            &path,
            &app.admin_token,
            json!({"resource_uuid": unknown.simple().to_string(), "license_reference": "XSP1"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.body,
        json!({"error": format!("Resource {unknown} not found for this customer")})
    );
    let missing = app
        .post(&path, &app.admin_token, json!({"resource_uuid": "x"}))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.body["resource_uuid"],
        json!(["Must be a valid UUID."])
    );
    assert_eq!(
        missing.body["license_reference"],
        json!(["This field is required."])
    );
}

// ---------------------------------------------------------------------------------------
// Consumption
// ---------------------------------------------------------------------------------------

const SYNC: &str = "/api/admin/arrow/billing-syncs/sync_resource_historical_consumption/";

#[tokio::test]
async fn consumption_sync_records_each_month_once_and_a_resync_appends_nothing() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let imported = licensed.import(NORDIC_AZURE.license_id, None).await;
    let resource = imported.body["resource_uuid"].as_str().unwrap().to_string();
    let previous = fixtures::period(Month::Previous);
    let current = fixtures::period(Month::Current);
    let body = json!({"resource_uuid": resource, "period_from": previous, "period_to": current});

    let reply = app.post(SYNC, &app.admin_token, body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["periods_synced"], 2);
    assert_eq!(reply.body["periods_skipped"], 0);
    assert_eq!(reply.body["periods_no_data"], 0);
    assert_eq!(reply.body["errors"], json!([]));
    assert_eq!(reply.body["dry_run"], false);
    assert_eq!(events_of(app, "arrow_consumption_record").await, 2);

    let records = app
        .get(
            &format!("{RECORDS}?resource_uuid={resource}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(records.count(), 2);
    let newest = &records.items()[0];
    assert_eq!(newest["billing_period"], format!("{current}-01"));
    assert_eq!(newest["consumed_sell"], "857.5000000000");
    assert_eq!(newest["consumed_buy"], "728.8800000000");
    assert_eq!(newest["license_reference"], NORDIC_AZURE.license_id);
    assert_eq!(newest["resource_name"], NORDIC_AZURE.license_id);
    assert_eq!(newest["project_uuid"], json!(licensed.world.project.uuid()));
    assert_eq!(newest["customer_name"], Names::PLAIN.consumer);
    assert_eq!(newest["final_sell"], Value::Null);
    assert_eq!(newest["adjustment_amount"], Value::Null);
    assert_eq!(newest["is_finalized"], false);
    assert_eq!(newest["raw_data"]["consumption_lines_count"], 2);
    assert_eq!(records.items()[1]["consumed_sell"], "778.8600000000");
    let synced_at = newest["last_sync_at"].clone();

    // The same figures again: counted, but no event and no new sync time.
    let again = app.post(SYNC, &app.admin_token, body).await;
    assert_eq!(again.body["periods_synced"], 2);
    assert_eq!(events_of(app, "arrow_consumption_record").await, 2);
    let retrieved = app
        .get(newest["url"].as_str().unwrap(), &app.admin_token)
        .await;
    assert_eq!(retrieved.status, StatusCode::OK);
    assert_eq!(retrieved.body["last_sync_at"], synced_at);

    // New figures are a new event on the same record.
    licensed.arrow.set_consumption(
        NORDIC_AZURE.license_id,
        &current,
        &[(json!("900.00"), json!(800))],
    );
    let changed = app
        .post(
            SYNC,
            &app.admin_token,
            json!({"resource_uuid": resource, "period_from": current}),
        )
        .await;
    assert_eq!(changed.body["periods_synced"], 1, "{}", changed.text);
    assert_eq!(events_of(app, "arrow_consumption_record").await, 3);
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM projection.arrow_consumption_records")
            .await,
        2
    );
}

#[tokio::test]
async fn consumption_sync_falls_back_to_the_prediction_for_the_current_month_only() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let imported = licensed.import(NORDIC_AZURE.license_id, None).await;
    let resource = imported.body["resource_uuid"].as_str().unwrap().to_string();
    licensed
        .arrow
        .fail_consumption(NORDIC_AZURE.license_id, Some(500));
    let previous = fixtures::period(Month::Previous);
    let reply = app
        .post(
            SYNC,
            &app.admin_token,
            json!({"resource_uuid": resource, "period_from": previous}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["periods_synced"], 1);
    let errors = reply.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["period"], previous);
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains("returned HTTP 500")
    );
    let records = app.get(RECORDS, &app.admin_token).await;
    assert_eq!(records.count(), 1);
    assert_eq!(records.items()[0]["consumed_sell"], "428.7500000000");
    assert_eq!(records.items()[0]["raw_data"]["source"], "prediction");
}

#[tokio::test]
async fn a_dry_run_previews_and_stores_nothing() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let imported = licensed.import(NORDIC_AZURE.license_id, None).await;
    let resource = imported.body["resource_uuid"].as_str().unwrap().to_string();
    let current = fixtures::period(Month::Current);
    let reply = app
        .post(
            SYNC,
            &app.admin_token,
            json!({"resource_uuid": resource, "period_from": current, "dry_run": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["dry_run"], true);
    assert_eq!(
        reply.body["preview_periods"],
        json!([{"period": current, "status": "would_sync", "row_count": 2,
                "consumed_sell": "857.50", "consumed_buy": "728.88", "has_existing": false}])
    );
    assert_eq!(events_of(app, "arrow_consumption_record").await, 0);
}

#[tokio::test]
async fn consumption_sync_refusals() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let unknown = uuid::Uuid::new_v4();
    let reply = app
        .post(
            SYNC,
            &app.admin_token,
            json!({"resource_uuid": unknown.simple().to_string()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.body,
        json!({"error": format!("Resource {unknown} not found")})
    );

    let imported = licensed.import("XSP-NO-DATA", None).await;
    let resource = imported.body["resource_uuid"].as_str().unwrap().to_string();
    let bad = app
        .post(
            SYNC,
            &app.admin_token,
            json!({"resource_uuid": resource, "period_from": "2024-13"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.body,
        json!({"period_from": ["Invalid period format. Use YYYY-MM (e.g., 2024-01)"]})
    );
    // A license Arrow knows nothing about: every month is an error or no data, never a 500.
    let nothing = app
        .post(SYNC, &app.admin_token, json!({"resource_uuid": resource}))
        .await;
    assert_eq!(nothing.status, StatusCode::OK, "{}", nothing.text);
    assert_eq!(nothing.body["periods_synced"], 0);

    // Arrow down: each month is an error.
    licensed.arrow.fail(true);
    let down = app
        .post(SYNC, &app.admin_token, json!({"resource_uuid": resource}))
        .await;
    assert_eq!(down.status, StatusCode::OK);
    assert_eq!(down.body["errors"].as_array().unwrap().len(), 12);

    // No active settings.
    let settings = app.get(SETTINGS, &app.admin_token).await;
    app.patch(
        settings.items()[0]["url"].as_str().unwrap(),
        &app.admin_token,
        json!({"is_active": false}),
    )
    .await;
    let inactive = app
        .post(SYNC, &app.admin_token, json!({"resource_uuid": resource}))
        .await;
    assert_eq!(inactive.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        inactive.body,
        json!({"error": "No active Arrow settings found"})
    );
}

#[tokio::test]
async fn a_resource_without_a_backend_id_has_no_consumption_to_sync() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let w = &licensed.world;
    let uuid = |r: &Reply| uuid::Uuid::parse_str(&r.uuid()).unwrap();
    let (_, resource) = app
        .place_order(
            uuid(&licensed.offering),
            uuid(&w.project),
            uuid(&w.consumer),
            uuid(&w.provider),
            uuid::Uuid::new_v4(),
        )
        .await;
    let reply = app
        .post(
            SYNC,
            &app.admin_token,
            json!({"resource_uuid": resource.simple().to_string()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"error": "Resource does not have a backend_id (Arrow license reference)"})
    );
}

#[tokio::test]
async fn records_and_billing_syncs_are_read_only() {
    let app = spawn_app().await;
    for path in [RECORDS, SYNCS] {
        let post = app.post(path, &app.admin_token, json!({})).await;
        assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let list = app.get(path, &app.admin_token).await;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(list.body, json!([]));
        let unknown = app
            .get(
                &format!("{path}{}/", uuid::Uuid::new_v4().simple()),
                &app.admin_token,
            )
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    }
    let bad = app
        .get(
            &format!("{RECORDS}?billing_period=someday"),
            &app.admin_token,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn consumption_records_filter_by_period_and_customer() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let imported = licensed.import(NORDIC_AZURE.license_id, None).await;
    let resource = imported.body["resource_uuid"].as_str().unwrap().to_string();
    let previous = fixtures::period(Month::Previous);
    let current = fixtures::period(Month::Current);
    app.post(
        SYNC,
        &app.admin_token,
        json!({"resource_uuid": resource, "period_from": previous}),
    )
    .await;
    let count = |query: String| async move {
        app.get(&format!("{RECORDS}?{query}"), &app.admin_token)
            .await
            .count()
    };
    assert_eq!(count(format!("billing_period={current}-01")).await, 1);
    assert_eq!(count(format!("billing_period_from={current}")).await, 1);
    assert_eq!(count(format!("billing_period_to={previous}-01")).await, 1);
    assert_eq!(
        count(format!("customer_uuid={}", licensed.world.consumer.uuid())).await,
        2
    );
    assert_eq!(
        count(format!("customer_uuid={}", licensed.world.provider.uuid())).await,
        0
    );
    assert_eq!(
        count(format!("project_uuid={}", licensed.world.project.uuid())).await,
        2
    );
    assert_eq!(count("license_reference=xsp123".to_string()).await, 2);
    assert_eq!(count("is_finalized=false".to_string()).await, 2);
    assert_eq!(count("is_reconciled=true".to_string()).await, 0);
    assert_eq!(
        count(format!("resource=/api/marketplace-resources/{resource}/")).await,
        2
    );
}

#[tokio::test]
async fn the_test_api_key_is_nowhere_in_the_event_log() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let imported = licensed.import(NORDIC_AZURE.license_id, None).await;
    let resource = imported.body["resource_uuid"].as_str().unwrap().to_string();
    app.post(SYNC, &app.admin_token, json!({"resource_uuid": resource}))
        .await;
    app.post(
        &format!("{SETTINGS}save_settings/"),
        &app.admin_token,
        json!({"api_url": licensed.arrow.url(), "api_key": licensed.arrow.key()}),
    )
    .await;
    let key = licensed.arrow.key();
    let found = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM events WHERE payload::text LIKE '%{key}%' \
             OR metadata::text LIKE '%{key}%'"
        ))
        .await;
    assert_eq!(found, 0);
    assert!(events_of(app, "arrow_settings").await >= 3);
}

#[tokio::test]
async fn the_arrow_read_models_rebuild_from_the_log_exactly() {
    let licensed = Licensed::new().await;
    let app = licensed.app();
    let imported = licensed
        .import(NORDIC_AZURE.license_id, Some("Azure"))
        .await;
    let resource = imported.body["resource_uuid"].as_str().unwrap().to_string();
    app.post(
        &format!("{}link_resource/", licensed.mapping.url()),
        &app.admin_token,
        json!({"resource_uuid": resource, "license_reference": NORDIC_AZURE.license_id}),
    )
    .await;
    app.post(
        SYNC,
        &app.admin_token,
        json!({"resource_uuid": resource, "period_from": fixtures::period(Month::Previous)}),
    )
    .await;
    app.patch(
        &licensed.mapping.url(),
        &app.admin_token,
        json!({"arrow_company_name": "Nordic"}),
    )
    .await;
    let before = crate::ledger::dump_read_models(app).await;
    for table in [
        "arrow_settings",
        "arrow_customer_mappings",
        "arrow_consumption_records",
    ] {
        assert!(!before[table].as_array().unwrap().is_empty(), "{table}");
    }
    app.ledger.projector.rebuild().await.unwrap();
    assert_eq!(crate::ledger::dump_read_models(app).await, before);
}
