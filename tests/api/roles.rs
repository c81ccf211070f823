//! Team management on customers and projects: add_user, update_user, delete_user, list_users.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, TestUser, spawn_app};

const FORBIDDEN: &str = "You do not have permission to perform this action.";

fn action(collection: &str, scope_uuid: &str, name: &str) -> String {
    format!("/api/{collection}/{scope_uuid}/{name}/")
}

async fn add_user(
    app: &TestApp,
    token: &str,
    collection: &str,
    scope_uuid: &str,
    body: Value,
) -> Reply {
    app.post(&action(collection, scope_uuid, "add_user"), token, body)
        .await
}

/// A customer, one project in it, and its owner.
async fn customer_project_owner(app: &TestApp) -> (Reply, Reply, TestUser) {
    let customer = app.create_customer("Acme").await;
    let project = app.create_project(&customer.url(), "Apollo").await;
    let owner = app.create_user("owner").await;
    app.grant("customers", &customer.uuid(), &owner, "CUSTOMER.OWNER")
        .await;
    (customer, project, owner)
}

async fn admin_uuid(app: &TestApp) -> String {
    app.get("/api/users/me/", &app.admin_token).await.uuid()
}

fn is_hex32(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()))
}

/// How many `event_type` events of aggregate `aggregate_id` mention `user_uuid` (hex).
async fn grant_events(app: &TestApp, event_type: &str, aggregate_id: &str, user_uuid: &str) -> i64 {
    let dashed = uuid::Uuid::parse_str(user_uuid).unwrap().hyphenated();
    app.scalar_i64(&format!(
        "SELECT count(*) FROM events WHERE event_type = '{event_type}' \
         AND aggregate_id = '{aggregate_id}' \
         AND (payload::text LIKE '%{dashed}%' OR payload::text LIKE '%{user_uuid}%')"
    ))
    .await
}

#[tokio::test]
async fn staff_adds_a_customer_owner_without_expiration() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let user = app.create_user("alice").await;

    let reply = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({"user": user.uuid, "role": "CUSTOMER.OWNER"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body, json!({"expiration_time": null}));
    let seen = app
        .get(&format!("/api/customers/{}/", customer.uuid()), &user.token)
        .await;
    assert_eq!(seen.status, StatusCode::OK);
}

#[tokio::test]
async fn a_date_only_expiration_time_means_midnight_utc() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let user = app.create_user("alice").await;

    let reply = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({"user": user.uuid, "role": "CUSTOMER.OWNER", "expiration_time": "2099-01-01"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"expiration_time": "2099-01-01T00:00:00Z"})
    );
    let listed = app
        .get(
            &action("customers", &customer.uuid(), "list_users"),
            &app.admin_token,
        )
        .await;
    assert_eq!(listed.items()[0]["expiration_time"], "2099-01-01T00:00:00Z");
}

#[tokio::test]
async fn granting_the_same_role_twice_is_refused() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let user = app.create_user("alice").await;
    app.grant("customers", &customer.uuid(), &user, "CUSTOMER.OWNER")
        .await;

    let reply = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({"user": user.uuid, "role": "CUSTOMER.OWNER"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"non_field_errors": ["User has already the same role in this scope."]})
    );
}

#[tokio::test]
async fn an_unknown_role_is_not_found() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let user = app.create_user("alice").await;

    let reply = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({"user": user.uuid, "role": "CUSTOMER.EMPEROR"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body, json!({"role": ["Role is not found."]}));
}

#[tokio::test]
async fn a_project_role_is_not_valid_on_a_customer() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let user = app.create_user("alice").await;

    let reply = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({"user": user.uuid, "role": "PROJECT.ADMIN"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"non_field_errors": ["Role is not valid for this scope."]})
    );
}

#[tokio::test]
async fn the_permission_check_comes_before_the_role_scope_check() {
    let app = spawn_app().await;
    let (customer, _project, owner) = customer_project_owner(&app).await;
    let user = app.create_user("alice").await;

    let reply = add_user(
        &app,
        &owner.token,
        "customers",
        &customer.uuid(),
        json!({"user": user.uuid, "role": "PROJECT.ADMIN"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
}

#[tokio::test]
async fn an_unknown_user_is_not_found() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;

    let reply = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({"user": uuid::Uuid::new_v4().simple().to_string(), "role": "CUSTOMER.OWNER"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body, json!({"user": ["User is not found."]}));
}

#[tokio::test]
async fn user_and_role_are_required_and_user_must_be_a_uuid() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;

    let empty = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({}),
    )
    .await;
    let bad_uuid = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({"user": "not-a-uuid", "role": "CUSTOMER.OWNER"}),
    )
    .await;

    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        empty.body,
        json!({"role": ["This field is required."], "user": ["This field is required."]})
    );
    assert_eq!(bad_uuid.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_uuid.body, json!({"user": ["Must be a valid UUID."]}));
}

#[tokio::test]
async fn an_expiration_time_in_the_past_is_refused() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let user = app.create_user("alice").await;

    let reply = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({"user": user.uuid, "role": "CUSTOMER.OWNER", "expiration_time": "2001-01-01T00:00:00Z"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"expiration_time": ["Expiration time should be greater than current time."]})
    );
}

#[tokio::test]
async fn a_customer_owner_cannot_grant_customer_roles_by_default() {
    let app = spawn_app().await;
    let (customer, _project, owner) = customer_project_owner(&app).await;
    let user = app.create_user("alice").await;

    let reply = add_user(
        &app,
        &owner.token,
        "customers",
        &customer.uuid(),
        json!({"user": user.uuid, "role": "CUSTOMER.SUPPORT"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
    let seen = app
        .get(&format!("/api/customers/{}/", customer.uuid()), &user.token)
        .await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_customer_owner_adds_a_project_manager_recorded_as_its_granter() {
    let app = spawn_app().await;
    let (_customer, project, owner) = customer_project_owner(&app).await;
    let manager = app.create_user("manager").await;

    let reply = add_user(
        &app,
        &owner.token,
        "projects",
        &project.uuid(),
        json!({"user": manager.uuid, "role": "PROJECT.MANAGER"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body, json!({"expiration_time": null}));
    let listed = app
        .get(
            &action("projects", &project.uuid(), "list_users"),
            &manager.token,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.count(), 1);
    let item = &listed.items()[0];
    assert_eq!(item["role_name"], "PROJECT.MANAGER");
    assert_eq!(item["user_uuid"], manager.uuid.as_str());
    assert_eq!(item["user_username"], "manager");
    assert_eq!(item["created_by_uuid"], owner.uuid.as_str());
    assert!(is_hex32(&item["role_uuid"]), "{item}");
    assert!(is_hex32(&item["uuid"]), "{item}");
    assert_eq!(item["expiration_time"], Value::Null);
}

#[tokio::test]
async fn a_project_manager_adds_an_admin_but_cannot_change_their_own_role() {
    let app = spawn_app().await;
    let (_customer, project, _owner) = customer_project_owner(&app).await;
    let manager = app.create_user("manager").await;
    let helper = app.create_user("helper").await;
    app.grant("projects", &project.uuid(), &manager, "PROJECT.MANAGER")
        .await;

    let other = add_user(
        &app,
        &manager.token,
        "projects",
        &project.uuid(),
        json!({"user": helper.uuid, "role": "PROJECT.ADMIN"}),
    )
    .await;
    let own = add_user(
        &app,
        &manager.token,
        "projects",
        &project.uuid(),
        json!({"user": manager.uuid, "role": "PROJECT.ADMIN"}),
    )
    .await;

    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    assert_eq!(own.status, StatusCode::BAD_REQUEST, "{}", own.text);
    assert_eq!(
        own.body,
        json!({"non_field_errors": ["User can not manage own role."]})
    );
    let seen = app
        .get(&format!("/api/projects/{}/", project.uuid()), &helper.token)
        .await;
    assert_eq!(seen.status, StatusCode::OK);
}

#[tokio::test]
async fn a_project_admin_cannot_add_users() {
    let app = spawn_app().await;
    let (_customer, project, _owner) = customer_project_owner(&app).await;
    let admin = app.create_user("padmin").await;
    let user = app.create_user("alice").await;
    app.grant("projects", &project.uuid(), &admin, "PROJECT.ADMIN")
        .await;

    let reply = add_user(
        &app,
        &admin.token,
        "projects",
        &project.uuid(),
        json!({"user": user.uuid, "role": "PROJECT.MEMBER"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
}

#[tokio::test]
async fn an_unrelated_user_cannot_find_the_project() {
    let app = spawn_app().await;
    let (_customer, project, _owner) = customer_project_owner(&app).await;
    let stranger = app.create_user("stranger").await;

    let add = add_user(
        &app,
        &stranger.token,
        "projects",
        &project.uuid(),
        json!({"user": stranger.uuid, "role": "PROJECT.MEMBER"}),
    )
    .await;
    let list = app
        .get(
            &action("projects", &project.uuid(), "list_users"),
            &stranger.token,
        )
        .await;

    assert_eq!(add.status, StatusCode::NOT_FOUND);
    assert_eq!(
        add.body,
        json!({"detail": "No Project matches the given query."})
    );
    assert_eq!(list.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn roles_cannot_be_managed_in_a_blocked_customer() {
    let app = spawn_app().await;
    let (customer, project, owner) = customer_project_owner(&app).await;
    let user = app.create_user("alice").await;
    let blocked = app
        .patch(
            &format!("/api/customers/{}/", customer.uuid()),
            &app.admin_token,
            json!({"blocked": true}),
        )
        .await;
    assert_eq!(blocked.status, StatusCode::OK, "{}", blocked.text);

    let on_customer = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({"user": user.uuid, "role": "CUSTOMER.SUPPORT"}),
    )
    .await;
    let on_project = add_user(
        &app,
        &owner.token,
        "projects",
        &project.uuid(),
        json!({"user": user.uuid, "role": "PROJECT.MEMBER"}),
    )
    .await;

    let unavailable = json!({"non_field_errors": ["Customer is not available."]});
    assert_eq!(on_customer.status, StatusCode::BAD_REQUEST);
    assert_eq!(on_customer.body, unavailable);
    assert_eq!(on_project.status, StatusCode::BAD_REQUEST);
    assert_eq!(on_project.body, unavailable);
}

#[tokio::test]
async fn update_user_changes_the_expiration_time() {
    let app = spawn_app().await;
    let (_customer, project, owner) = customer_project_owner(&app).await;
    let member = app.create_user("member").await;
    app.grant("projects", &project.uuid(), &member, "PROJECT.MEMBER")
        .await;
    let path = action("projects", &project.uuid(), "update_user");

    let reply = app
        .post(
            &path,
            &owner.token,
            json!({"user": member.uuid, "role": "PROJECT.MEMBER", "expiration_time": "2099-06-30T12:30:00Z"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"expiration_time": "2099-06-30T12:30:00Z"})
    );
    let listed = app
        .get(
            &action("projects", &project.uuid(), "list_users"),
            &owner.token,
        )
        .await;
    assert_eq!(listed.items()[0]["expiration_time"], "2099-06-30T12:30:00Z");
    let cleared = app
        .post(
            &path,
            &owner.token,
            json!({"user": member.uuid, "role": "PROJECT.MEMBER", "expiration_time": null}),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text);
    assert_eq!(cleared.body, json!({"expiration_time": null}));
}

#[tokio::test]
async fn update_user_on_a_role_the_user_does_not_hold_is_refused() {
    let app = spawn_app().await;
    let (_customer, project, _owner) = customer_project_owner(&app).await;
    let member = app.create_user("member").await;
    app.grant("projects", &project.uuid(), &member, "PROJECT.MEMBER")
        .await;

    let reply = app
        .post(
            &action("projects", &project.uuid(), "update_user"),
            &app.admin_token,
            json!({"user": member.uuid, "role": "PROJECT.ADMIN", "expiration_time": "2099-01-01"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"non_field_errors": ["User does not have this role in this scope."]})
    );
}

#[tokio::test]
async fn delete_user_revokes_the_role_and_the_access_it_gave() {
    let app = spawn_app().await;
    let (_customer, project, owner) = customer_project_owner(&app).await;
    let member = app.create_user("member").await;
    app.grant("projects", &project.uuid(), &member, "PROJECT.MEMBER")
        .await;
    let project_path = format!("/api/projects/{}/", project.uuid());
    assert_eq!(
        app.get(&project_path, &member.token).await.status,
        StatusCode::OK
    );

    let reply = app
        .post(
            &action("projects", &project.uuid(), "delete_user"),
            &owner.token,
            json!({"user": member.uuid, "role": "PROJECT.MEMBER"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.text, "");
    let after = app.get(&project_path, &member.token).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(
        after.body,
        json!({"detail": "No Project matches the given query."})
    );
    let listed = app
        .get(
            &action("projects", &project.uuid(), "list_users"),
            &owner.token,
        )
        .await;
    assert_eq!(listed.count(), 0);
}

#[tokio::test]
async fn list_users_pages_the_grants_of_exactly_that_scope() {
    let app = spawn_app().await;
    let (customer, project, owner) = customer_project_owner(&app).await;
    let admin = admin_uuid(&app).await;
    let support = app.create_user("support").await;
    let member = app.create_user("member").await;
    app.grant("customers", &customer.uuid(), &support, "CUSTOMER.SUPPORT")
        .await;
    app.grant("projects", &project.uuid(), &member, "PROJECT.MEMBER")
        .await;
    let path = action("customers", &customer.uuid(), "list_users");

    let reply = app.get(&path, &owner.token).await;
    let page = app
        .get(&format!("{path}?page_size=1&page=2"), &owner.token)
        .await;
    let filtered = app
        .get(&format!("{path}?role=CUSTOMER.SUPPORT"), &owner.token)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.count(), 2);
    let items = reply.items();
    assert_eq!(items[0]["role_name"], "CUSTOMER.OWNER");
    assert_eq!(items[0]["user_uuid"], owner.uuid.as_str());
    assert_eq!(items[0]["user_username"], "owner");
    assert_eq!(items[1]["role_name"], "CUSTOMER.SUPPORT");
    assert_eq!(items[1]["user_uuid"], support.uuid.as_str());
    assert_eq!(items[1]["user_username"], "support");
    for item in items {
        assert!(is_hex32(&item["role_uuid"]), "{item}");
        assert_eq!(item["created_by_uuid"], admin.as_str());
        assert_eq!(item["expiration_time"], Value::Null);
        assert_eq!(item["user_image"], Value::Null);
    }
    assert_ne!(items[0]["role_uuid"], items[1]["role_uuid"]);
    assert_eq!(page.count(), 2);
    assert_eq!(page.items().len(), 1);
    assert_eq!(page.items()[0]["user_username"], "support");
    assert_eq!(filtered.count(), 1);
    assert_eq!(filtered.items()[0]["user_uuid"], support.uuid.as_str());
}

#[tokio::test]
async fn a_role_can_be_named_by_its_uuid() {
    let app = spawn_app().await;
    let (_customer, project, _owner) = customer_project_owner(&app).await;
    let manager = app.create_user("manager").await;
    let other = app.create_user("other").await;
    app.grant("projects", &project.uuid(), &manager, "PROJECT.MANAGER")
        .await;
    let listed = app
        .get(
            &action("projects", &project.uuid(), "list_users"),
            &app.admin_token,
        )
        .await;
    let role_uuid = listed.items()[0]["role_uuid"].as_str().unwrap().to_string();

    let reply = add_user(
        &app,
        &app.admin_token,
        "projects",
        &project.uuid(),
        json!({"user": other.uuid, "role": role_uuid}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let listed = app
        .get(
            &action("projects", &project.uuid(), "list_users"),
            &app.admin_token,
        )
        .await;
    let roles: Vec<&Value> = listed.items().iter().map(|i| &i["role_name"]).collect();
    assert_eq!(roles, vec!["PROJECT.MANAGER", "PROJECT.MANAGER"]);
}

#[tokio::test]
async fn a_granted_role_appears_in_the_grantees_permissions() {
    let app = spawn_app().await;
    let (customer, project, _owner) = customer_project_owner(&app).await;
    let user = app.create_user("alice").await;
    app.grant("customers", &customer.uuid(), &user, "CUSTOMER.SUPPORT")
        .await;
    app.grant("projects", &project.uuid(), &user, "PROJECT.ADMIN")
        .await;

    let me = app.get("/api/users/me/", &user.token).await;

    assert_eq!(me.status, StatusCode::OK);
    let permissions = me.body["permissions"].as_array().expect("a list");
    assert_eq!(permissions.len(), 2, "{permissions:?}");
    let customer_grant = permissions
        .iter()
        .find(|p| p["scope_type"] == "customer")
        .expect("a customer grant");
    assert_eq!(customer_grant["role_name"], "CUSTOMER.SUPPORT");
    assert_eq!(customer_grant["scope_uuid"], customer.uuid());
    assert_eq!(customer_grant["scope_name"], "Acme");
    assert_eq!(customer_grant["user_uuid"], user.uuid.as_str());
    assert!(customer_grant.get("customer_uuid").is_none());
    let project_grant = permissions
        .iter()
        .find(|p| p["scope_type"] == "project")
        .expect("a project grant");
    assert_eq!(project_grant["role_name"], "PROJECT.ADMIN");
    assert_eq!(project_grant["scope_uuid"], project.uuid());
    assert_eq!(project_grant["scope_name"], "Apollo");
    assert_eq!(project_grant["customer_uuid"], customer.uuid());
    assert_eq!(project_grant["customer_name"], "Acme");
    assert_eq!(project_grant["created_by_username"], "admin");
}

#[tokio::test]
async fn an_expired_grant_no_longer_gives_access() {
    let app = spawn_app().await;
    let (_customer, project, _owner) = customer_project_owner(&app).await;
    let member = app.create_user("member").await;
    let expires = (Utc::now() + chrono::Duration::seconds(2))
        .with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let granted = add_user(
        &app,
        &app.admin_token,
        "projects",
        &project.uuid(),
        json!({"user": member.uuid, "role": "PROJECT.MEMBER", "expiration_time": expires}),
    )
    .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    assert_eq!(granted.body, json!({"expiration_time": expires}));
    let path = format!("/api/projects/{}/", project.uuid());
    assert_eq!(app.get(&path, &member.token).await.status, StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(3200)).await;

    let after = app.get(&path, &member.token).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    let me = app.get("/api/users/me/", &member.token).await;
    assert_eq!(me.body["permissions"], json!([]));
    let listed = app
        .get(
            &action("projects", &project.uuid(), "list_users"),
            &app.admin_token,
        )
        .await;
    assert_eq!(listed.count(), 0);

    let regranted = add_user(
        &app,
        &app.admin_token,
        "projects",
        &project.uuid(),
        json!({"user": member.uuid, "role": "PROJECT.MEMBER"}),
    )
    .await;
    assert_eq!(regranted.status, StatusCode::CREATED, "{}", regranted.text);
    assert_eq!(app.get(&path, &member.token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn concurrent_identical_customer_grants_record_exactly_one_grant() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let path = action("customers", &customer.uuid(), "add_user");

    for round in 0..10 {
        let user = app.create_user(&format!("racer{round}")).await;
        let body = json!({"user": user.uuid, "role": "CUSTOMER.OWNER"});

        let (first, second) = tokio::join!(
            app.post(&path, &app.admin_token, body.clone()),
            app.post(&path, &app.admin_token, body.clone()),
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
            json!({"non_field_errors": ["User has already the same role in this scope."]})
        );
        let events = grant_events(&app, "CustomerRoleGranted", &customer.uuid(), &user.uuid).await;
        assert_eq!(events, 1, "round {round}");
    }
    let listed = app
        .get(
            &format!(
                "{}?page_size=50",
                action("customers", &customer.uuid(), "list_users")
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(listed.count(), 10);
}

#[tokio::test]
async fn concurrent_identical_project_grants_record_exactly_one_grant() {
    let app = spawn_app().await;
    let (_customer, project, owner) = customer_project_owner(&app).await;
    let path = action("projects", &project.uuid(), "add_user");

    for round in 0..10 {
        let user = app.create_user(&format!("racer{round}")).await;
        let body = json!({"user": user.uuid, "role": "PROJECT.MEMBER"});

        let (first, second) = tokio::join!(
            app.post(&path, &owner.token, body.clone()),
            app.post(&path, &app.admin_token, body.clone()),
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
        let events = grant_events(&app, "ProjectRoleGranted", &project.uuid(), &user.uuid).await;
        assert_eq!(events, 1, "round {round}");
    }
}

#[tokio::test]
async fn a_customer_owner_may_give_themself_a_project_role() {
    let app = spawn_app().await;
    let (_customer, project, owner) = customer_project_owner(&app).await;

    let reply = add_user(
        &app,
        &owner.token,
        "projects",
        &project.uuid(),
        json!({"user": owner.uuid, "role": "PROJECT.MANAGER"}),
    )
    .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let me = app.get("/api/users/me/", &owner.token).await;
    let roles: Vec<&Value> = me.body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["role_name"])
        .collect();
    assert_eq!(roles, vec!["CUSTOMER.OWNER", "PROJECT.MANAGER"]);
}

#[tokio::test]
async fn a_project_manager_cannot_revoke_their_own_role() {
    let app = spawn_app().await;
    let (_customer, project, _owner) = customer_project_owner(&app).await;
    let manager = app.create_user("manager").await;
    app.grant("projects", &project.uuid(), &manager, "PROJECT.MANAGER")
        .await;

    let reply = app
        .post(
            &action("projects", &project.uuid(), "delete_user"),
            &manager.token,
            json!({"user": manager.uuid, "role": "PROJECT.MANAGER"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"non_field_errors": ["User can not manage own role."]})
    );
    let seen = app
        .get(
            &format!("/api/projects/{}/", project.uuid()),
            &manager.token,
        )
        .await;
    assert_eq!(seen.status, StatusCode::OK);
}

#[tokio::test]
async fn revoking_a_role_the_user_does_not_hold_answers_200_and_changes_nothing() {
    let app = spawn_app().await;
    let (customer, _project, owner) = customer_project_owner(&app).await;
    let before = app.scalar_i64("SELECT count(*) FROM events").await;

    let reply = app
        .post(
            &action("customers", &customer.uuid(), "delete_user"),
            &app.admin_token,
            json!({"user": owner.uuid, "role": "CUSTOMER.SUPPORT"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.text, "");
    assert_eq!(app.scalar_i64("SELECT count(*) FROM events").await, before);
    let seen = app
        .get(
            &format!("/api/customers/{}/", customer.uuid()),
            &owner.token,
        )
        .await;
    assert_eq!(seen.status, StatusCode::OK);
}

#[tokio::test]
async fn a_customer_owner_cannot_revoke_customer_roles_by_default() {
    let app = spawn_app().await;
    let (customer, _project, owner) = customer_project_owner(&app).await;
    let support = app.create_user("support").await;
    app.grant("customers", &customer.uuid(), &support, "CUSTOMER.SUPPORT")
        .await;

    let reply = app
        .post(
            &action("customers", &customer.uuid(), "delete_user"),
            &owner.token,
            json!({"user": support.uuid, "role": "CUSTOMER.SUPPORT"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
}

#[tokio::test]
async fn an_operator_permission_table_changes_who_manages_teams() {
    let table = std::env::temp_dir().join(format!("permissions-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(
        &table,
        r#"{"PROJECT.ADMIN": ["PROJECT.CREATE_PERMISSION"], "PROJECT.MEMBER": []}"#,
    )
    .unwrap();
    let path = table.clone();
    let app = crate::helpers::spawn_app_with_config(move |server| {
        server.permissions_file = Some(path);
    })
    .await;
    let customer = app.create_customer("Acme").await;
    let project = app.create_project(&customer.url(), "Apollo").await;
    let admin = app.create_user("project-admin").await;
    app.grant("projects", &project.uuid(), &admin, "PROJECT.ADMIN")
        .await;
    let member = app.create_user("member").await;

    let reply = add_user(
        &app,
        &admin.token,
        "projects",
        &project.uuid(),
        json!({"user": member.uuid, "role": "PROJECT.MEMBER"}),
    )
    .await;
    let unknown = add_user(
        &app,
        &app.admin_token,
        "customers",
        &customer.uuid(),
        json!({"user": member.uuid, "role": "CUSTOMER.OWNER"}),
    )
    .await;
    std::fs::remove_file(&table).ok();

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body, json!({"role": ["Role is not found."]}));
}
