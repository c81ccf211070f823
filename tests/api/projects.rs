//! Projects: CRUD, end dates, visibility.

use chrono::{Days, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, TestUser, spawn_app};

const FORBIDDEN: &str = "You do not have permission to perform this action.";

/// Staff creates a customer with the sample's name and abbreviation.
async fn reference_customer(app: &TestApp) -> Reply {
    let reply = app
        .post(
            "/api/customers/",
            &app.admin_token,
            json!({"name": "Ref Consumer Org", "abbreviation": "REFC"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply
}

/// A customer and a user holding CUSTOMER.OWNER in it.
async fn customer_with_owner(app: &TestApp) -> (Reply, TestUser) {
    let customer = reference_customer(app).await;
    let owner = app.create_user("owner").await;
    app.grant("customers", &customer.uuid(), &owner, "CUSTOMER.OWNER")
        .await;
    (customer, owner)
}

fn user_url(app: &TestApp, user: &TestUser) -> String {
    format!("{}/api/users/{}/", app.address, user.uuid)
}

fn days_from_today(days: i64) -> String {
    let today = Utc::now().date_naive();
    let date = if days >= 0 {
        today.checked_add_days(Days::new(days as u64))
    } else {
        today.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    date.expect("a date").format("%Y-%m-%d").to_string()
}

fn names(reply: &Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|item| item["name"].as_str().expect("name").to_string())
        .collect()
}

fn not_found() -> Value {
    json!({"detail": "No Project matches the given query."})
}

#[tokio::test]
async fn a_customer_owner_creates_a_project_shaped_like_waldurs_sample() {
    let app = spawn_app().await;
    let (customer, owner) = customer_with_owner(&app).await;

    let reply = app
        .post(
            "/api/projects/",
            &owner.token,
            json!({"name": "Ref Project", "customer": customer.url()}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let uuid = reply.uuid();
    assert_eq!(uuid.len(), 32);
    assert!(uuid.chars().all(|c| c.is_ascii_hexdigit()));
    let url = format!("{}/api/projects/{uuid}/", app.address);
    assert_eq!(reply.header("location"), Some(url.as_str()));
    let expected = json!({
        "url": url,
        "uuid": uuid,
        "name": "Ref Project",
        "slug": "ref-proj-1",
        "customer": customer.url(),
        "customer_uuid": customer.uuid(),
        "customer_name": "Ref Consumer Org",
        "customer_slug": "ref-cons-1",
        "customer_native_name": "",
        "customer_abbreviation": "REFC",
        "description": "",
        "type": null,
        "backend_id": "",
        "start_date": null,
        "end_date": null,
        "end_date_requested_by": null,
        "oecd_fos_2007_code": null,
        "oecd_fos_2007_label": null,
        "is_industry": false,
        "image": null,
        "resources_count": 0,
        "billing_price_estimate": {"total": 0.0, "current": 0, "tax": 0, "tax_current": 0},
        "marketplace_resource_count": {},
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&reply.body[key], value, "field {key}");
    }
    let created = reply.body["created"].as_str().expect("created");
    let created = chrono::DateTime::parse_from_rfc3339(created).expect("an ISO-8601 time");
    assert!((Utc::now() - created.to_utc()).num_seconds().abs() < 60);
    assert!(reply.body["created"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn staff_creates_a_project_in_any_customer() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;

    let reply = app
        .post(
            "/api/projects/",
            &app.admin_token,
            json!({"name": "Staff Project", "customer": customer.url(), "description": "  d  "}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["name"], "Staff Project");
    assert_eq!(reply.body["description"], "d");
    assert_eq!(reply.body["customer_uuid"], customer.uuid());
    let fetched = app
        .get(
            &format!("/api/projects/{}/", reply.uuid()),
            &app.admin_token,
        )
        .await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body["slug"], reply.body["slug"]);
}

#[tokio::test]
async fn a_project_manager_of_another_project_cannot_create_projects_in_the_customer() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let project = app.create_project(&customer.url(), "Existing").await;
    let manager = app.create_user("manager").await;
    app.grant("projects", &project.uuid(), &manager, "PROJECT.MANAGER")
        .await;

    let reply = app
        .post(
            "/api/projects/",
            &manager.token,
            json!({"name": "Sneaky", "customer": customer.url()}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
    let count = app
        .get(
            &format!("/api/projects/?customer={}", customer.uuid()),
            &app.admin_token,
        )
        .await
        .count();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_user_who_cannot_see_the_customer_gets_an_invalid_hyperlink() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let stranger = app.create_user("stranger").await;

    let reply = app
        .post(
            "/api/projects/",
            &stranger.token,
            json!({"name": "Nope", "customer": customer.url()}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"customer": ["Invalid hyperlink - Object does not exist."]})
    );
}

#[tokio::test]
async fn a_project_without_name_and_customer_is_refused_with_both_fields_required() {
    let app = spawn_app().await;

    let reply = app
        .post("/api/projects/", &app.admin_token, json!({}))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({
            "customer": ["This field is required."],
            "name": ["This field is required."],
        })
    );
}

#[tokio::test]
async fn an_end_date_in_the_past_is_refused_with_drfs_nested_body() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;

    let reply = app
        .post(
            "/api/projects/",
            &app.admin_token,
            json!({"name": "Late", "customer": customer.url(), "end_date": days_from_today(-1)}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"end_date": {"end_date": "Cannot be earlier than the current date."}})
    );
}

#[tokio::test]
async fn an_owner_setting_the_end_date_on_create_is_recorded_as_its_requester() {
    let app = spawn_app().await;
    let (customer, owner) = customer_with_owner(&app).await;
    let end_date = days_from_today(30);

    let reply = app
        .post(
            "/api/projects/",
            &owner.token,
            json!({"name": "Ending", "customer": customer.url(), "end_date": end_date}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["end_date"], end_date.as_str());
    assert_eq!(reply.body["end_date_requested_by"], user_url(&app, &owner));
}

#[tokio::test]
async fn an_owner_setting_the_end_date_by_patch_is_recorded_as_its_requester() {
    let app = spawn_app().await;
    let (customer, owner) = customer_with_owner(&app).await;
    let project = app.create_project(&customer.url(), "Ending").await;
    let end_date = days_from_today(10);

    let reply = app
        .patch(
            &format!("/api/projects/{}/", project.uuid()),
            &owner.token,
            json!({"end_date": end_date}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["end_date"], end_date.as_str());
    assert_eq!(reply.body["end_date_requested_by"], user_url(&app, &owner));
    let fetched = app
        .get(&format!("/api/projects/{}/", project.uuid()), &owner.token)
        .await;
    assert_eq!(fetched.body["end_date"], end_date.as_str());
    assert_eq!(
        fetched.body["end_date_requested_by"],
        user_url(&app, &owner)
    );
}

#[tokio::test]
async fn a_project_manager_cannot_set_the_end_date_but_can_change_the_description() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let project = app.create_project(&customer.url(), "Managed").await;
    let manager = app.create_user("manager").await;
    app.grant("projects", &project.uuid(), &manager, "PROJECT.MANAGER")
        .await;
    let path = format!("/api/projects/{}/", project.uuid());

    let end_date = app
        .patch(
            &path,
            &manager.token,
            json!({"end_date": days_from_today(5)}),
        )
        .await;
    let description = app
        .patch(&path, &manager.token, json!({"description": "new words"}))
        .await;

    assert_eq!(end_date.status, StatusCode::FORBIDDEN, "{}", end_date.text);
    assert_eq!(end_date.body, json!({"detail": FORBIDDEN}));
    assert_eq!(description.status, StatusCode::OK, "{}", description.text);
    assert_eq!(description.body["description"], "new words");
    assert_eq!(description.body["end_date"], Value::Null);
    assert_eq!(description.body["end_date_requested_by"], Value::Null);
}

#[tokio::test]
async fn a_project_in_a_blocked_customer_cannot_be_created() {
    let app = spawn_app().await;
    let customer = app.create_customer("Blocked Org").await;
    let blocked = app
        .patch(
            &format!("/api/customers/{}/", customer.uuid()),
            &app.admin_token,
            json!({"blocked": true}),
        )
        .await;
    assert_eq!(blocked.status, StatusCode::OK, "{}", blocked.text);

    let reply = app
        .post(
            "/api/projects/",
            &app.admin_token,
            json!({"name": "Blocked", "customer": customer.url()}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!(["Blocked organization is not available."])
    );
}

#[tokio::test]
async fn a_project_member_sees_the_project_and_an_unrelated_user_gets_404() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let project = app.create_project(&customer.url(), "Visible").await;
    let member = app.create_user("member").await;
    let stranger = app.create_user("stranger").await;
    app.grant("projects", &project.uuid(), &member, "PROJECT.MEMBER")
        .await;
    let path = format!("/api/projects/{}/", project.uuid());

    let as_member = app.get(&path, &member.token).await;
    let as_stranger = app.get(&path, &stranger.token).await;
    let stranger_list = app.get("/api/projects/", &stranger.token).await;

    assert_eq!(as_member.status, StatusCode::OK);
    assert_eq!(as_member.body["uuid"], project.uuid());
    assert_eq!(as_stranger.status, StatusCode::NOT_FOUND);
    assert_eq!(as_stranger.body, not_found());
    assert_eq!(stranger_list.status, StatusCode::OK);
    assert_eq!(stranger_list.count(), 0);
    assert_eq!(stranger_list.items().len(), 0);
}

#[tokio::test]
async fn a_customer_owner_sees_every_project_of_the_customer_and_no_other() {
    let app = spawn_app().await;
    let (customer, owner) = customer_with_owner(&app).await;
    let other = app.create_customer("Other").await;
    app.create_project(&customer.url(), "Alpha").await;
    app.create_project(&customer.url(), "Beta").await;
    app.create_project(&other.url(), "Gamma").await;

    let reply = app.get("/api/projects/", &owner.token).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.count(), 2);
    assert_eq!(names(&reply), vec!["Alpha", "Beta"]);
}

#[tokio::test]
async fn an_owner_deletes_a_project_and_it_is_gone() {
    let app = spawn_app().await;
    let (customer, owner) = customer_with_owner(&app).await;
    let project = app.create_project(&customer.url(), "Doomed").await;
    let path = format!("/api/projects/{}/", project.uuid());

    let reply = app.delete(&path, &owner.token).await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert_eq!(reply.text, "");
    let after = app.get(&path, &app.admin_token).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(after.body, not_found());
    let again = app.delete(&path, &owner.token).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_project_manager_cannot_delete_the_project() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let project = app.create_project(&customer.url(), "Kept").await;
    let manager = app.create_user("manager").await;
    app.grant("projects", &project.uuid(), &manager, "PROJECT.MANAGER")
        .await;
    let path = format!("/api/projects/{}/", project.uuid());

    let reply = app.delete(&path, &manager.token).await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
    assert_eq!(app.get(&path, &manager.token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn projects_are_filtered_by_customer_name_and_query() {
    let app = spawn_app().await;
    let acme = app.create_customer("Acme").await;
    let other = app.create_customer("Other").await;
    app.create_project(&acme.url(), "Apollo").await;
    app.create_project(&acme.url(), "Gemini").await;
    let mercury = app.create_project(&other.url(), "Mercury Apollo").await;

    let by_customer = app
        .get(
            &format!("/api/projects/?customer={}", acme.uuid()),
            &app.admin_token,
        )
        .await;
    let by_name = app.get("/api/projects/?name=apol", &app.admin_token).await;
    let by_query = app.get("/api/projects/?query=GEMI", &app.admin_token).await;
    let by_uuid = app
        .get(
            &format!("/api/projects/?query={}", mercury.uuid()),
            &app.admin_token,
        )
        .await;

    assert_eq!(by_customer.count(), 2);
    assert_eq!(names(&by_customer), vec!["Apollo", "Gemini"]);
    assert_eq!(by_name.count(), 2);
    assert_eq!(names(&by_name), vec!["Apollo", "Mercury Apollo"]);
    assert_eq!(names(&by_query), vec!["Gemini"]);
    assert_eq!(names(&by_uuid), vec!["Mercury Apollo"]);
}

#[tokio::test]
async fn projects_are_ordered_by_name_and_by_newest_first() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    for name in ["Bravo", "Charlie", "Alpha"] {
        app.create_project(&customer.url(), name).await;
    }

    let by_name = app.get("/api/projects/?o=name", &app.admin_token).await;
    let newest = app.get("/api/projects/?o=-created", &app.admin_token).await;
    let by_name_desc = app.get("/api/projects/?o=-name", &app.admin_token).await;

    assert_eq!(names(&by_name), vec!["Alpha", "Bravo", "Charlie"]);
    assert_eq!(names(&newest), vec!["Alpha", "Charlie", "Bravo"]);
    assert_eq!(names(&by_name_desc), vec!["Charlie", "Bravo", "Alpha"]);
}

#[tokio::test]
async fn a_project_admin_without_update_permission_gets_403_before_body_validation() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let project = app.create_project(&customer.url(), "Guarded").await;
    let admin = app.create_user("padmin").await;
    app.grant("projects", &project.uuid(), &admin, "PROJECT.ADMIN")
        .await;
    let path = format!("/api/projects/{}/", project.uuid());

    let invalid = app.patch(&path, &admin.token, json!({"name": ""})).await;
    let valid = app
        .patch(&path, &admin.token, json!({"name": "Renamed"}))
        .await;

    assert_eq!(invalid.status, StatusCode::FORBIDDEN, "{}", invalid.text);
    assert_eq!(invalid.body, json!({"detail": FORBIDDEN}));
    assert_eq!(valid.status, StatusCode::FORBIDDEN, "{}", valid.text);
    let fetched = app.get(&path, &admin.token).await;
    assert_eq!(fetched.body["name"], "Guarded");
}

#[tokio::test]
async fn an_owner_gets_drfs_nested_error_for_a_past_end_date_on_patch() {
    let app = spawn_app().await;
    let (customer, owner) = customer_with_owner(&app).await;
    let project = app.create_project(&customer.url(), "Dated").await;

    let reply = app
        .patch(
            &format!("/api/projects/{}/", project.uuid()),
            &owner.token,
            json!({"end_date": days_from_today(-3)}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"end_date": {"end_date": "Cannot be earlier than the current date."}})
    );
}

#[tokio::test]
async fn clearing_the_end_date_keeps_its_requester() {
    let app = spawn_app().await;
    let (customer, owner) = customer_with_owner(&app).await;
    let created = app
        .post(
            "/api/projects/",
            &owner.token,
            json!({"name": "Ending", "customer": customer.url(), "end_date": days_from_today(0)}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    let reply = app
        .patch(
            &format!("/api/projects/{}/", created.uuid()),
            &app.admin_token,
            json!({"end_date": null}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["end_date"], Value::Null);
    assert_eq!(reply.body["end_date_requested_by"], user_url(&app, &owner));
}

#[tokio::test]
async fn a_support_user_sees_projects_but_cannot_create_them() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let project = app.create_project(&customer.url(), "Seen").await;
    let support = app.create_support_user("support").await;

    let seen = app
        .get(
            &format!("/api/projects/{}/", project.uuid()),
            &support.token,
        )
        .await;
    let create = app
        .post(
            "/api/projects/",
            &support.token,
            json!({"name": "Nope", "customer": customer.url()}),
        )
        .await;

    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(create.status, StatusCode::FORBIDDEN, "{}", create.text);
    assert_eq!(create.body, json!({"detail": FORBIDDEN}));
}

#[tokio::test]
async fn an_unknown_ordering_key_is_refused() {
    let app = spawn_app().await;

    let reply = app.get("/api/projects/?o=colour", &app.admin_token).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"o": ["Select a valid choice. colour is not one of the available choices."]})
    );
}

#[tokio::test]
async fn a_deleted_project_keeps_its_slug_taken() {
    let app = spawn_app().await;
    let customer = app.create_customer("Ref Consumer Org").await;
    let first = app.create_project(&customer.url(), "Ref Project").await;
    assert_eq!(first.body["slug"], "ref-proj-1");
    let deleted = app
        .delete(
            &format!("/api/projects/{}/", first.uuid()),
            &app.admin_token,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let second = app.create_project(&customer.url(), "Ref Project").await;

    assert_eq!(second.body["slug"], "ref-proj-2");
}
