//! Customers: CRUD, visibility, blocking and archiving.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, TestUser, spawn_app};

const FORBIDDEN: &str = "You do not have permission to perform this action.";

fn path(uuid: &str) -> String {
    format!("/api/customers/{uuid}/")
}

fn names(reply: &Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|c| c["name"].as_str().expect("a name").to_string())
        .collect()
}

/// A customer with an owner, one project and a manager of that project.
struct Team {
    customer: Reply,
    project: Reply,
    owner: TestUser,
    manager: TestUser,
}

async fn team(app: &TestApp) -> Team {
    let customer = app.create_customer("Acme").await;
    let project = app.create_project(&customer.url(), "Rockets").await;
    let owner = app.create_user("owner").await;
    let manager = app.create_user("manager").await;
    app.grant("customers", &customer.uuid(), &owner, "CUSTOMER.OWNER")
        .await;
    app.grant("projects", &project.uuid(), &manager, "PROJECT.MANAGER")
        .await;
    Team {
        customer,
        project,
        owner,
        manager,
    }
}

#[tokio::test]
async fn staff_creates_a_customer_with_location_hex_uuid_and_slug() {
    let app = spawn_app().await;

    let reply = app
        .post(
            "/api/customers/",
            &app.admin_token,
            json!({"name": "Ref Provider Org", "abbreviation": "REFP", "native_name": "", "email": "org@example.com"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let uuid = reply.uuid();
    assert_eq!(uuid.len(), 32);
    assert!(
        uuid.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    );
    let url = format!("{}/api/customers/{uuid}/", app.address);
    assert_eq!(reply.header("location"), Some(url.as_str()));
    assert_eq!(reply.body["url"], url.as_str());
    assert_eq!(reply.body["slug"], "ref-prov-1");
    assert_eq!(reply.body["display_name"], "REFP");
    assert_eq!(reply.body["email"], "org@example.com");
    assert_eq!(reply.body["projects"], json!([]));
    assert_eq!(reply.body["projects_count"], 0);
    assert_eq!(reply.body["users_count"], 0);
    assert_eq!(reply.body["blocked"], false);
    assert_eq!(reply.body["archived"], false);
    assert_eq!(reply.body["default_tax_percent"], "0.00");
    assert_eq!(reply.body["latitude"], Value::Null);
    assert_eq!(reply.body["is_service_provider"], false);
}

#[tokio::test]
async fn a_second_customer_with_a_similar_name_gets_the_next_slug() {
    let app = spawn_app().await;
    app.create_customer("Ref Provider Org").await;

    let second = app.create_customer("Ref Providers United").await;

    assert_eq!(second.body["slug"], "ref-prov-2");
}

#[tokio::test]
async fn a_non_staff_user_with_a_valid_body_cannot_create_a_customer() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;

    let reply = app
        .post("/api/customers/", &alice.token, json!({"name": "Mine"}))
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM projection.customers")
            .await,
        0
    );
}

#[tokio::test]
async fn a_non_staff_user_with_an_invalid_body_gets_400_before_403() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;

    let reply = app
        .post("/api/customers/", &alice.token, json!({"email": "bad"}))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"name": ["This field is required."], "email": ["Enter a valid email address."]})
    );
}

#[tokio::test]
async fn an_owner_patches_fields_and_the_others_are_kept() {
    let app = spawn_app().await;
    let customer = app
        .post(
            "/api/customers/",
            &app.admin_token,
            json!({"name": "Acme", "abbreviation": "AC", "email": "a@example.com"}),
        )
        .await;
    let owner = app.create_user("owner").await;
    app.grant("customers", &customer.uuid(), &owner, "CUSTOMER.OWNER")
        .await;

    let reply = app
        .patch(
            &path(&customer.uuid()),
            &owner.token,
            json!({"name": "Acme Corp", "phone_number": "+372 555 1234"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["name"], "Acme Corp");
    assert_eq!(reply.body["phone_number"], "+372 555 1234");
    assert_eq!(reply.body["abbreviation"], "AC");
    assert_eq!(reply.body["email"], "a@example.com");
    assert_eq!(reply.body["slug"], customer.body["slug"]);
    let fetched = app.get(&path(&customer.uuid()), &owner.token).await;
    assert_eq!(fetched.body["name"], "Acme Corp");
    assert_eq!(fetched.body["abbreviation"], "AC");
}

#[tokio::test]
async fn a_project_manager_cannot_patch_the_customer() {
    let app = spawn_app().await;
    let team = team(&app).await;

    let reply = app
        .patch(
            &path(&team.customer.uuid()),
            &team.manager.token,
            json!({"name": "Taken Over"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
    let fetched = app
        .get(&path(&team.customer.uuid()), &app.admin_token)
        .await;
    assert_eq!(fetched.body["name"], "Acme");
}

#[tokio::test]
async fn a_project_managers_invalid_patch_is_a_400_before_the_403() {
    let app = spawn_app().await;
    let team = team(&app).await;

    let reply = app
        .patch(
            &path(&team.customer.uuid()),
            &team.manager.token,
            json!({"email": "nope"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"email": ["Enter a valid email address."]})
    );
}

#[tokio::test]
async fn a_customer_the_caller_cannot_see_is_404_for_every_method() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let stranger = app.create_user("stranger").await;
    let expected = json!({"detail": "No Customer matches the given query."});

    let get = app.get(&path(&customer.uuid()), &stranger.token).await;
    let patch = app
        .patch(
            &path(&customer.uuid()),
            &stranger.token,
            json!({"name": "x"}),
        )
        .await;
    let delete = app.delete(&path(&customer.uuid()), &stranger.token).await;

    for reply in [&get, &patch, &delete] {
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
        assert_eq!(reply.body, expected);
    }
}

#[tokio::test]
async fn owners_and_project_members_see_their_customer_and_strangers_see_none() {
    let app = spawn_app().await;
    let team = team(&app).await;
    app.create_customer("Elsewhere").await;
    let stranger = app.create_user("stranger").await;

    let as_owner = app.get("/api/customers/", &team.owner.token).await;
    let as_manager = app.get("/api/customers/", &team.manager.token).await;
    let as_stranger = app.get("/api/customers/", &stranger.token).await;
    let as_staff = app.get("/api/customers/", &app.admin_token).await;
    let manager_retrieve = app
        .get(&path(&team.customer.uuid()), &team.manager.token)
        .await;

    assert_eq!(names(&as_owner), vec!["Acme"]);
    assert_eq!(as_owner.count(), 1);
    assert_eq!(names(&as_manager), vec!["Acme"]);
    assert_eq!(manager_retrieve.status, StatusCode::OK);
    assert_eq!(as_stranger.status, StatusCode::OK);
    assert_eq!(as_stranger.body, json!([]));
    assert_eq!(as_stranger.count(), 0);
    assert_eq!(names(&as_staff), vec!["Acme", "Elsewhere"]);
}

#[tokio::test]
async fn a_blocked_customer_refuses_changes_until_staff_unblocks_it() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let url = path(&team.customer.uuid());

    let block = app
        .patch(&url, &app.admin_token, json!({"blocked": true}))
        .await;
    let owner_rename = app
        .patch(&url, &team.owner.token, json!({"name": "Renamed"}))
        .await;
    let staff_rename = app
        .patch(&url, &app.admin_token, json!({"name": "Renamed"}))
        .await;
    let unblock = app
        .patch(&url, &app.admin_token, json!({"blocked": false}))
        .await;
    let rename_after = app
        .patch(&url, &team.owner.token, json!({"name": "Renamed"}))
        .await;

    assert_eq!(block.status, StatusCode::OK, "{}", block.text);
    assert_eq!(block.body["blocked"], true);
    let refused = json!(["Blocked organization is not available."]);
    assert_eq!(owner_rename.status, StatusCode::BAD_REQUEST);
    assert_eq!(owner_rename.body, refused);
    assert_eq!(staff_rename.status, StatusCode::BAD_REQUEST);
    assert_eq!(staff_rename.body, refused);
    assert_eq!(unblock.status, StatusCode::OK, "{}", unblock.text);
    assert_eq!(unblock.body["blocked"], false);
    assert_eq!(unblock.body["name"], "Acme");
    assert_eq!(rename_after.status, StatusCode::OK, "{}", rename_after.text);
    assert_eq!(rename_after.body["name"], "Renamed");
}

#[tokio::test]
async fn an_owner_cannot_unblock_or_touch_a_blocked_customer() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let url = path(&team.customer.uuid());
    let block = app
        .patch(&url, &app.admin_token, json!({"blocked": true}))
        .await;
    assert_eq!(block.status, StatusCode::OK);

    let unblock = app
        .patch(&url, &team.owner.token, json!({"blocked": false}))
        .await;
    let empty = app.patch(&url, &team.owner.token, json!({})).await;

    assert_eq!(unblock.status, StatusCode::BAD_REQUEST, "{}", unblock.text);
    assert_eq!(
        unblock.body,
        json!(["Blocked organization is not available."])
    );
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.text);
    let fetched = app.get(&url, &app.admin_token).await;
    assert_eq!(fetched.body["blocked"], true);
}

#[tokio::test]
async fn an_archived_customer_refuses_changes_until_staff_unarchives_it() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let url = path(&team.customer.uuid());

    let archive = app
        .patch(&url, &app.admin_token, json!({"archived": true}))
        .await;
    let owner_rename = app
        .patch(&url, &team.owner.token, json!({"name": "Renamed"}))
        .await;
    let staff_rename = app
        .patch(&url, &app.admin_token, json!({"name": "Renamed"}))
        .await;
    let delete = app.delete(&url, &app.admin_token).await;
    let unarchive = app
        .patch(&url, &app.admin_token, json!({"archived": false}))
        .await;
    let rename_after = app
        .patch(&url, &team.owner.token, json!({"name": "Renamed"}))
        .await;

    assert_eq!(archive.status, StatusCode::OK, "{}", archive.text);
    assert_eq!(archive.body["archived"], true);
    let refused = json!(["Archived organization is not available."]);
    assert_eq!(owner_rename.status, StatusCode::BAD_REQUEST);
    assert_eq!(owner_rename.body, refused);
    assert_eq!(staff_rename.status, StatusCode::BAD_REQUEST);
    assert_eq!(staff_rename.body, refused);
    assert_eq!(delete.status, StatusCode::BAD_REQUEST, "{}", delete.text);
    assert_eq!(delete.body, refused);
    assert_eq!(unarchive.status, StatusCode::OK, "{}", unarchive.text);
    assert_eq!(unarchive.body["archived"], false);
    assert_eq!(rename_after.status, StatusCode::OK, "{}", rename_after.text);
    assert_eq!(rename_after.body["name"], "Renamed");
}

#[tokio::test]
async fn blocked_and_archived_are_read_only_for_an_owner() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let url = path(&team.customer.uuid());

    let reply = app
        .patch(
            &url,
            &team.owner.token,
            json!({"blocked": true, "archived": true, "name": "Still Open"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["blocked"], false);
    assert_eq!(reply.body["archived"], false);
    assert_eq!(reply.body["name"], "Still Open");
}

#[tokio::test]
async fn staff_deletes_an_empty_customer_with_204_and_then_it_is_gone() {
    let app = spawn_app().await;
    let customer = app.create_customer("Short Lived").await;
    let url = path(&customer.uuid());

    let delete = app.delete(&url, &app.admin_token).await;
    let after = app.get(&url, &app.admin_token).await;
    let list = app.get("/api/customers/", &app.admin_token).await;

    assert_eq!(delete.status, StatusCode::NO_CONTENT, "{}", delete.text);
    assert_eq!(delete.text, "");
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(
        after.body,
        json!({"detail": "No Customer matches the given query."})
    );
    assert_eq!(list.count(), 0);
}

#[tokio::test]
async fn deleting_a_customer_with_a_project_is_a_conflict() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let url = path(&team.customer.uuid());

    let reply = app.delete(&url, &app.admin_token).await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"detail": "Cannot delete organization with existing projects"})
    );
    assert_eq!(app.get(&url, &app.admin_token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_project_manager_cannot_delete_the_customer() {
    let app = spawn_app().await;
    let team = team(&app).await;

    let reply = app
        .delete(&path(&team.customer.uuid()), &team.manager.token)
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
}

#[tokio::test]
async fn a_customer_is_found_by_its_dashed_or_hex_uuid() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let hex = customer.uuid();
    let dashed = uuid::Uuid::parse_str(&hex)
        .unwrap()
        .hyphenated()
        .to_string();

    let by_hex = app.get(&path(&hex), &app.admin_token).await;
    let by_dashed = app.get(&path(&dashed), &app.admin_token).await;
    let patched = app
        .patch(
            &path(&dashed),
            &app.admin_token,
            json!({"email": "d@example.com"}),
        )
        .await;

    assert_eq!(by_hex.status, StatusCode::OK);
    assert_eq!(by_dashed.status, StatusCode::OK);
    assert_eq!(by_dashed.body["uuid"], hex.as_str());
    assert_eq!(by_dashed.body, by_hex.body);
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["email"], "d@example.com");
}

#[tokio::test]
async fn projects_and_counts_reflect_the_customers_projects_and_team() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let second = app.create_project(&team.customer.url(), "Balloons").await;
    let member = app.create_user("member").await;
    app.grant("projects", &second.uuid(), &member, "PROJECT.MEMBER")
        .await;
    // The owner also holds a project role: users are counted once.
    app.grant("projects", &second.uuid(), &team.owner, "PROJECT.ADMIN")
        .await;
    let url = path(&team.customer.uuid());

    let as_staff = app.get(&url, &app.admin_token).await;
    let as_manager = app.get(&url, &team.manager.token).await;

    assert_eq!(as_staff.status, StatusCode::OK);
    assert_eq!(as_staff.body["projects_count"], 2);
    assert_eq!(as_staff.body["users_count"], 3);
    let projects = as_staff.body["projects"].as_array().unwrap();
    let project_names: Vec<&str> = projects
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(project_names, vec!["Balloons", "Rockets"]);
    assert_eq!(
        projects[1],
        json!({
            "url": team.project.url(),
            "uuid": team.project.uuid(),
            "name": "Rockets",
            "image": null,
            "resource_count": 0,
            "end_date": null,
        })
    );
    // A project manager sees only the projects they can see; the counts stay real.
    let visible: Vec<&str> = as_manager.body["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(visible, vec!["Rockets"]);
    assert_eq!(as_manager.body["projects_count"], 2);
}
