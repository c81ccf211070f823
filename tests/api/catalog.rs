//! Marketplace categories and service providers.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, TestUser, spawn_app};

const FORBIDDEN: &str = "You do not have permission to perform this action.";
const CATEGORIES: &str = "/api/marketplace-categories/";
const PROVIDERS: &str = "/api/marketplace-service-providers/";

fn titles(reply: &Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|item| item["title"].as_str().expect("title").to_string())
        .collect()
}

fn customer_names(reply: &Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|item| {
            item["customer_name"]
                .as_str()
                .expect("customer_name")
                .to_string()
        })
        .collect()
}

fn assert_hex32(value: &Value) {
    let text = value.as_str().expect("a string");
    assert_eq!(text.len(), 32, "{text}");
    assert!(text.chars().all(|c| c.is_ascii_hexdigit()), "{text}");
}

fn assert_recent(value: &Value) {
    let text = value.as_str().expect("a time");
    assert!(text.ends_with('Z'), "{text}");
    let at = chrono::DateTime::parse_from_rfc3339(text).expect("an ISO-8601 time");
    assert!(
        (Utc::now() - at.to_utc()).num_seconds().abs() < 60,
        "{text}"
    );
}

async fn anonymous_get(app: &TestApp, path: &str) -> Reply {
    app.request(Method::GET, path, None, None).await
}

/// A customer with the sample's name and abbreviation, and its owner.
async fn provider_customer(app: &TestApp) -> (Reply, TestUser) {
    let customer = app
        .post(
            "/api/customers/",
            &app.admin_token,
            json!({"name": "Ref Provider Org", "abbreviation": "REFP"}),
        )
        .await;
    assert_eq!(customer.status, StatusCode::CREATED, "{}", customer.text);
    let owner = app.create_user("owner").await;
    app.grant("customers", &customer.uuid(), &owner, "CUSTOMER.OWNER")
        .await;
    (customer, owner)
}

async fn register(app: &TestApp, customer_url: &str) -> Reply {
    let reply = app
        .post(
            PROVIDERS,
            &app.admin_token,
            json!({"customer": customer_url, "description": "Reference SP"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply
}

// Categories.

#[tokio::test]
async fn staff_creates_a_category_shaped_like_waldurs_sample() {
    let app = spawn_app().await;

    let reply = app
        .post(
            CATEGORIES,
            &app.admin_token,
            json!({"title": "Ref Category", "description": "Reference category"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let uuid = reply.uuid();
    assert_hex32(&reply.body["uuid"]);
    let url = format!("{}{CATEGORIES}{uuid}/", app.address);
    assert_eq!(reply.header("location"), Some(url.as_str()));
    let expected = json!({
        "url": url,
        "uuid": uuid,
        "title": "Ref Category",
        "description": "Reference category",
        "icon": null,
        "default_vm_category": false,
        "default_volume_category": false,
        "default_tenant_category": false,
        "offering_count": 0,
        "sections": [],
        "columns": [],
        "components": [],
        "articles": [],
        "group": null,
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&reply.body[key], value, "field {key}");
    }
}

#[tokio::test]
async fn a_non_staff_user_cannot_create_a_category() {
    let app = spawn_app().await;
    let (_customer, owner) = provider_customer(&app).await;

    let valid = app
        .post(CATEGORIES, &owner.token, json!({"title": "Mine"}))
        .await;
    let invalid = app.post(CATEGORIES, &owner.token, json!({})).await;

    assert_eq!(valid.status, StatusCode::FORBIDDEN);
    assert_eq!(valid.body, json!({"detail": FORBIDDEN}));
    assert_eq!(invalid.status, StatusCode::FORBIDDEN);
    assert_eq!(anonymous_get(&app, CATEGORIES).await.count(), 0);
}

#[tokio::test]
async fn anonymous_users_list_and_retrieve_categories() {
    let app = spawn_app().await;
    let category = app.create_category("Compute").await;

    let list = anonymous_get(&app, CATEGORIES).await;
    let detail = anonymous_get(&app, &format!("{CATEGORIES}{}/", category.uuid())).await;

    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.count(), 1);
    assert_eq!(titles(&list), vec!["Compute"]);
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert_eq!(detail.body["uuid"], category.uuid());
    assert_eq!(detail.body["title"], "Compute");
}

#[tokio::test]
async fn a_category_without_title_is_refused() {
    let app = spawn_app().await;

    let missing = app
        .post(CATEGORIES, &app.admin_token, json!({"description": "x"}))
        .await;
    let blank = app
        .post(CATEGORIES, &app.admin_token, json!({"title": "   "}))
        .await;

    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body, json!({"title": ["This field is required."]}));
    assert_eq!(blank.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        blank.body,
        json!({"title": ["This field may not be blank."]})
    );
}

#[tokio::test]
async fn only_one_category_may_be_the_default_vm_category() {
    let app = spawn_app().await;
    let first = app
        .post(
            CATEGORIES,
            &app.admin_token,
            json!({"title": "VMs", "default_vm_category": true}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["default_vm_category"], true);

    let second = app
        .post(
            CATEGORIES,
            &app.admin_token,
            json!({"title": "More VMs", "default_vm_category": true}),
        )
        .await;
    let same = app
        .patch(
            &format!("{CATEGORIES}{}/", first.uuid()),
            &app.admin_token,
            json!({"default_vm_category": true}),
        )
        .await;

    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        second.body,
        json!({"default_vm_category": ["A category with default vm category as True already exists."]})
    );
    assert_eq!(same.status, StatusCode::OK, "{}", same.text);
    assert_eq!(anonymous_get(&app, CATEGORIES).await.count(), 1);
}

#[tokio::test]
async fn staff_updates_a_category_and_others_may_not() {
    let app = spawn_app().await;
    let category = app.create_category("Compute").await;
    let user = app.create_user("alice").await;
    let path = format!("{CATEGORIES}{}/", category.uuid());

    let by_user = app
        .patch(&path, &user.token, json!({"title": "Hijacked"}))
        .await;
    let by_staff = app
        .patch(
            &path,
            &app.admin_token,
            json!({"title": "Compute & HPC", "description": "Big iron"}),
        )
        .await;

    assert_eq!(by_user.status, StatusCode::FORBIDDEN);
    assert_eq!(by_user.body, json!({"detail": FORBIDDEN}));
    assert_eq!(by_staff.status, StatusCode::OK, "{}", by_staff.text);
    assert_eq!(by_staff.body["title"], "Compute & HPC");
    assert_eq!(by_staff.body["description"], "Big iron");
    assert_eq!(by_staff.body["uuid"], category.uuid());
    let fetched = anonymous_get(&app, &path).await;
    assert_eq!(fetched.body["title"], "Compute & HPC");
}

#[tokio::test]
async fn staff_deletes_a_category_and_it_is_gone() {
    let app = spawn_app().await;
    let category = app.create_category("Compute").await;
    let user = app.create_user("alice").await;
    let path = format!("{CATEGORIES}{}/", category.uuid());
    let refused = app.delete(&path, &user.token).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let reply = app.delete(&path, &app.admin_token).await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert_eq!(reply.text, "");
    let after = app.get(&path, &app.admin_token).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(
        after.body,
        json!({"detail": "No Category matches the given query."})
    );
    assert_eq!(app.get(CATEGORIES, &app.admin_token).await.count(), 0);
}

#[tokio::test]
async fn categories_are_filtered_by_title_and_ordered_by_title() {
    let app = spawn_app().await;
    for title in ["Storage", "Compute", "HPC compute"] {
        app.create_category(title).await;
    }

    let default = anonymous_get(&app, CATEGORIES).await;
    let filtered = anonymous_get(&app, &format!("{CATEGORIES}?title=COMPUTE")).await;
    let ascending = anonymous_get(&app, &format!("{CATEGORIES}?o=title")).await;
    let descending = anonymous_get(&app, &format!("{CATEGORIES}?o=-title")).await;

    assert_eq!(titles(&default), vec!["Compute", "HPC compute", "Storage"]);
    assert_eq!(filtered.count(), 2);
    assert_eq!(titles(&filtered), vec!["Compute", "HPC compute"]);
    assert_eq!(
        titles(&ascending),
        vec!["Compute", "HPC compute", "Storage"]
    );
    assert_eq!(
        titles(&descending),
        vec!["Storage", "HPC compute", "Compute"]
    );
}

// Service providers.

#[tokio::test]
async fn staff_registers_a_service_provider_shaped_like_waldurs_sample() {
    let app = spawn_app().await;
    let (customer, _owner) = provider_customer(&app).await;

    let reply = app
        .post(
            PROVIDERS,
            &app.admin_token,
            json!({"customer": customer.url(), "description": "Reference SP"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let uuid = reply.uuid();
    assert_hex32(&reply.body["uuid"]);
    let url = format!("{}{PROVIDERS}{uuid}/", app.address);
    assert_eq!(reply.header("location"), Some(url.as_str()));
    let expected = json!({
        "url": url,
        "uuid": uuid,
        "description": "Reference SP",
        "enable_notifications": true,
        "customer": customer.url(),
        "customer_name": "Ref Provider Org",
        "customer_uuid": customer.uuid(),
        "customer_image": null,
        "customer_abbreviation": "REFP",
        "customer_native_name": "",
        "customer_country": "",
        "image": null,
        "organization_group": null,
        "offering_count": 0,
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&reply.body[key], value, "field {key}");
    }
    assert_recent(&reply.body["created"]);
    let customer_now = app
        .get(
            &format!("/api/customers/{}/", customer.uuid()),
            &app.admin_token,
        )
        .await;
    assert_eq!(customer_now.body["is_service_provider"], true);
    assert_eq!(customer_now.body["service_provider_uuid"], uuid.as_str());
    assert_eq!(customer_now.body["service_provider"], url.as_str());
}

#[tokio::test]
async fn a_customer_can_be_registered_as_service_provider_only_once() {
    let app = spawn_app().await;
    let (customer, _owner) = provider_customer(&app).await;
    register(&app, &customer.url()).await;

    let reply = app
        .post(
            PROVIDERS,
            &app.admin_token,
            json!({"customer": customer.url()}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"customer": ["Service provider with this customer already exists."]})
    );
    assert_eq!(app.get(PROVIDERS, &app.admin_token).await.count(), 1);
}

#[tokio::test]
async fn a_customer_owner_cannot_register_their_customer_by_default() {
    let app = spawn_app().await;
    let (customer, owner) = provider_customer(&app).await;

    let reply = app
        .post(PROVIDERS, &owner.token, json!({"customer": customer.url()}))
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
    let customer_now = app
        .get(
            &format!("/api/customers/{}/", customer.uuid()),
            &owner.token,
        )
        .await;
    assert_eq!(customer_now.body["is_service_provider"], false);
    assert_eq!(app.get(PROVIDERS, &owner.token).await.count(), 0);
}

#[tokio::test]
async fn registering_an_unknown_customer_is_an_invalid_hyperlink() {
    let app = spawn_app().await;
    let missing = format!(
        "{}/api/customers/{}/",
        app.address,
        uuid::Uuid::new_v4().simple()
    );

    let reply = app
        .post(PROVIDERS, &app.admin_token, json!({"customer": missing}))
        .await;
    let without = app.post(PROVIDERS, &app.admin_token, json!({})).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"customer": ["Invalid hyperlink - Object does not exist."]})
    );
    assert_eq!(without.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        without.body,
        json!({"customer": ["This field is required."]})
    );
}

#[tokio::test]
async fn every_user_and_anonymous_callers_list_service_providers() {
    let app = spawn_app().await;
    let (customer, _owner) = provider_customer(&app).await;
    let provider = register(&app, &customer.url()).await;
    let stranger = app.create_user("stranger").await;

    let as_stranger = app.get(PROVIDERS, &stranger.token).await;
    let anonymous = anonymous_get(&app, PROVIDERS).await;
    let anonymous_detail = anonymous_get(&app, &format!("{PROVIDERS}{}/", provider.uuid())).await;

    assert_eq!(as_stranger.status, StatusCode::OK);
    assert_eq!(as_stranger.count(), 1);
    assert_eq!(as_stranger.items()[0]["uuid"], provider.uuid());
    assert_eq!(as_stranger.items()[0]["enable_notifications"], true);
    assert_eq!(anonymous.status, StatusCode::OK, "{}", anonymous.text);
    assert_eq!(anonymous.count(), 1);
    assert_eq!(anonymous.items()[0]["customer_uuid"], customer.uuid());
    assert!(anonymous.items()[0].get("enable_notifications").is_none());
    assert_eq!(anonymous_detail.status, StatusCode::OK);
    assert!(anonymous_detail.body.get("enable_notifications").is_none());
}

#[tokio::test]
async fn the_owner_updates_the_provider_and_an_unrelated_user_may_not() {
    let app = spawn_app().await;
    let (customer, owner) = provider_customer(&app).await;
    let provider = register(&app, &customer.url()).await;
    let stranger = app.create_user("stranger").await;
    let path = format!("{PROVIDERS}{}/", provider.uuid());

    let by_stranger = app
        .patch(&path, &stranger.token, json!({"description": "mine now"}))
        .await;
    let by_owner = app
        .patch(
            &path,
            &owner.token,
            json!({"description": "Updated SP", "enable_notifications": false}),
        )
        .await;

    assert_eq!(by_stranger.status, StatusCode::FORBIDDEN);
    assert_eq!(by_stranger.body, json!({"detail": FORBIDDEN}));
    assert_eq!(by_owner.status, StatusCode::OK, "{}", by_owner.text);
    assert_eq!(by_owner.body["description"], "Updated SP");
    assert_eq!(by_owner.body["enable_notifications"], false);
    assert_eq!(by_owner.body["customer_uuid"], customer.uuid());
    let fetched = app.get(&path, &stranger.token).await;
    assert_eq!(fetched.body["description"], "Updated SP");
}

#[tokio::test]
async fn service_providers_are_filtered_by_customer_uuid_and_keyword() {
    let app = spawn_app().await;
    let mut customers = Vec::new();
    for (name, abbreviation) in [
        ("Alpha Cloud", "AC"),
        ("Beta Compute", "BCX"),
        ("Gamma", "GX"),
    ] {
        let customer = app
            .post(
                "/api/customers/",
                &app.admin_token,
                json!({"name": name, "abbreviation": abbreviation}),
            )
            .await;
        assert_eq!(customer.status, StatusCode::CREATED, "{}", customer.text);
        register(&app, &customer.url()).await;
        customers.push(customer);
    }

    let all = app.get(PROVIDERS, &app.admin_token).await;
    let by_uuid = app
        .get(
            &format!("{PROVIDERS}?customer_uuid={}", customers[1].uuid()),
            &app.admin_token,
        )
        .await;
    let by_name = app
        .get(
            &format!("{PROVIDERS}?customer_keyword=cloud"),
            &app.admin_token,
        )
        .await;
    let by_abbreviation = app
        .get(
            &format!("{PROVIDERS}?customer_keyword=bcx"),
            &app.admin_token,
        )
        .await;
    let descending = app
        .get(&format!("{PROVIDERS}?o=-customer_name"), &app.admin_token)
        .await;

    assert_eq!(all.count(), 3);
    assert_eq!(
        customer_names(&all),
        vec!["Alpha Cloud", "Beta Compute", "Gamma"]
    );
    assert_eq!(by_uuid.count(), 1);
    assert_eq!(customer_names(&by_uuid), vec!["Beta Compute"]);
    assert_eq!(customer_names(&by_name), vec!["Alpha Cloud"]);
    assert_eq!(customer_names(&by_abbreviation), vec!["Beta Compute"]);
    assert_eq!(
        customer_names(&descending),
        vec!["Gamma", "Beta Compute", "Alpha Cloud"]
    );
}

#[tokio::test]
async fn concurrent_registrations_of_one_customer_make_one_provider() {
    let app = spawn_app().await;

    for round in 0..10 {
        let customer = app.create_customer(&format!("Racer {round}")).await;
        let body = json!({"customer": customer.url()});

        let (first, second) = tokio::join!(
            app.post(PROVIDERS, &app.admin_token, body.clone()),
            app.post(PROVIDERS, &app.admin_token, body.clone()),
        );

        let mut statuses = [first.status, second.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::CREATED, StatusCode::BAD_REQUEST],
            "round {round}: {} / {}",
            first.text,
            second.text
        );
        let refused = if first.status == StatusCode::BAD_REQUEST {
            &first
        } else {
            &second
        };
        assert_eq!(
            refused.body,
            json!({"customer": ["Service provider with this customer already exists."]})
        );
        let dashed = uuid::Uuid::parse_str(&customer.uuid())
            .unwrap()
            .hyphenated();
        let registered = app
            .scalar_i64(&format!(
                "SELECT count(*) FROM events WHERE event_type = 'ServiceProviderRegistered' \
                 AND payload::text LIKE '%{dashed}%'"
            ))
            .await;
        let claimed = app
            .scalar_i64(&format!(
                "SELECT count(*) FROM events \
                 WHERE event_type = 'CustomerRegisteredAsServiceProvider' \
                 AND aggregate_id = '{}'",
                customer.uuid()
            ))
            .await;
        assert_eq!(registered, 1, "round {round}");
        assert_eq!(claimed, 1, "round {round}");
        let listed = app
            .get(
                &format!("{PROVIDERS}?customer_uuid={}", customer.uuid()),
                &app.admin_token,
            )
            .await;
        assert_eq!(listed.count(), 1, "round {round}");
    }
}
