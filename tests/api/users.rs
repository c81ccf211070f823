//! Authentication, `/api/users/` and `ledger token create`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Reply, TestApp, spawn_app};

/// GET with a raw `Authorization` header value (or none) and an optional query string.
async fn get_with_authorization(app: &TestApp, path: &str, authorization: Option<&str>) -> Reply {
    let mut request = app.client.get(format!("{}{}", app.address, path));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    TestApp::reply(request.send().await.expect("the request is answered")).await
}

/// Runs `ledger token create` against the app's database; returns the process's stdout.
async fn run_token_create(app: &TestApp, args: &[&str]) -> String {
    let url = app.db.url.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
            .args(["token", "create"])
            .args(&args)
            .env("DATABASE_URL", url)
            .env_remove("LEDGER_LISTEN")
            .output()
            .expect("the ledger binary runs")
    })
    .await
    .expect("the process finishes");
    assert!(
        output.status.success(),
        "ledger token create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[tokio::test]
async fn users_me_answers_with_the_admin_created_on_first_start() {
    let app = spawn_app().await;

    let reply = app.get("/api/users/me/", &app.admin_token).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["username"], "admin");
    assert_eq!(reply.body["is_staff"], true);
    assert_eq!(reply.body["token"], app.admin_token.as_str());
    let uuid = reply.uuid();
    assert_eq!(uuid.len(), 32);
    assert_eq!(
        reply.body["url"],
        format!("{}/api/users/{uuid}/", app.address)
    );
}

#[tokio::test]
async fn a_request_without_credentials_is_refused_with_401_and_www_authenticate() {
    let app = spawn_app().await;

    let reply = app.request(Method::GET, "/api/users/me/", None, None).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.body,
        json!({"detail": "Authentication credentials were not provided."})
    );
    assert_eq!(reply.header("www-authenticate"), Some("Token"));
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_invalid_token() {
    let app = spawn_app().await;

    let reply = app
        .get("/api/users/me/", "0000000000000000000000000000000000000000")
        .await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, json!({"detail": "Invalid token."}));
}

#[tokio::test]
async fn users_me_for_a_plain_user_hides_the_staff_only_keys_and_shows_the_token() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;

    let reply = app.get("/api/users/me/", &alice.token).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let object = reply.body.as_object().expect("an object");
    for hidden in ["is_staff", "is_active", "is_support", "description"] {
        assert!(
            !object.contains_key(hidden),
            "{hidden} is shown: {object:?}"
        );
    }
    assert_eq!(reply.body["token"], alice.token.as_str());
    assert_eq!(reply.body["username"], "alice");
    assert_eq!(reply.body["uuid"], alice.uuid.as_str());
    assert_eq!(reply.body["identity_provider_name"], "Local DB");
    assert_eq!(reply.body["registration_method"], "default");
}

#[tokio::test]
async fn the_token_keyword_is_accepted_in_lowercase() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;

    let reply = get_with_authorization(
        &app,
        "/api/users/me/",
        Some(&format!("token {}", alice.token)),
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["username"], "alice");
}

#[tokio::test]
async fn the_x_auth_token_query_parameter_authenticates() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;

    let reply = get_with_authorization(
        &app,
        &format!("/api/users/me/?x-auth-token={}", alice.token),
        None,
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["username"], "alice");
}

#[tokio::test]
async fn a_token_header_without_a_key_is_refused_with_no_credentials_provided() {
    let app = spawn_app().await;

    let reply = get_with_authorization(&app, "/api/users/me/", Some("Token")).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.body,
        json!({"detail": "Invalid token header. No credentials provided."})
    );
    assert_eq!(reply.header("www-authenticate"), Some("Token"));
}

#[tokio::test]
async fn a_token_containing_spaces_is_refused() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;

    let reply = get_with_authorization(
        &app,
        "/api/users/me/",
        Some(&format!("Token {} extra", alice.token)),
    )
    .await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.body,
        json!({"detail": "Invalid token header. Token string should not contain spaces."})
    );
}

#[tokio::test]
async fn a_user_deactivated_by_staff_is_refused_as_inactive() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let before = app.get("/api/users/me/", &alice.token).await;
    assert_eq!(before.status, StatusCode::OK);

    let patch = app
        .patch(
            &format!("/api/users/{}/", alice.uuid),
            &app.admin_token,
            json!({"is_active": false}),
        )
        .await;
    let reply = app.get("/api/users/me/", &alice.token).await;

    assert_eq!(patch.status, StatusCode::OK, "{}", patch.text);
    assert_eq!(patch.body["is_active"], false);
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, json!({"detail": "User inactive or deleted."}));
}

#[tokio::test]
async fn staff_creates_a_user_with_201_location_and_slug() {
    let app = spawn_app().await;

    let reply = app
        .post(
            "/api/users/",
            &app.admin_token,
            json!({"username": "new_user", "email": "new@example.com", "first_name": "New", "last_name": "User"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let uuid = reply.uuid();
    assert_eq!(uuid.len(), 32);
    assert!(
        uuid.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let location = format!("{}/api/users/{uuid}/", app.address);
    assert_eq!(reply.header("location"), Some(location.as_str()));
    assert_eq!(reply.body["url"], location.as_str());
    assert_eq!(reply.body["username"], "new_user");
    assert_eq!(reply.body["slug"], "new_user-1");
    assert_eq!(reply.body["email"], "new@example.com");
    assert_eq!(reply.body["full_name"], "New User");
    assert_eq!(reply.body["is_staff"], false);
    assert_eq!(reply.body["is_active"], true);
    assert!(reply.body.get("token").is_none(), "{}", reply.text);
    let fetched = app
        .get(&format!("/api/users/{uuid}/"), &app.admin_token)
        .await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body["username"], "new_user");
}

#[tokio::test]
async fn a_non_staff_user_cannot_create_users() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;

    let reply = app
        .post(
            "/api/users/",
            &alice.token,
            json!({"username": "mallory", "email": "m@example.com"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.body,
        json!({"detail": "You do not have permission to perform this action."})
    );
    let count = app
        .scalar_i64("SELECT count(*) FROM projection.users WHERE username = 'mallory'")
        .await;
    assert_eq!(count, 0);
}

#[tokio::test]
async fn creating_a_user_with_a_taken_username_is_refused() {
    let app = spawn_app().await;
    app.create_user("alice").await;

    let reply = app
        .post(
            "/api/users/",
            &app.admin_token,
            json!({"username": "alice", "email": "alice2@example.com"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"username": ["user with this username already exists."]})
    );
}

#[tokio::test]
async fn creating_a_user_without_username_and_email_reports_both_fields() {
    let app = spawn_app().await;

    let reply = app
        .post("/api/users/", &app.admin_token, json!({"first_name": "X"}))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({
            "email": ["This field is required."],
            "username": ["This field is required."]
        })
    );
}

#[tokio::test]
async fn creating_a_user_with_a_blank_or_malformed_email_is_refused() {
    let app = spawn_app().await;

    let blank = app
        .post(
            "/api/users/",
            &app.admin_token,
            json!({"username": "blank", "email": "  "}),
        )
        .await;
    let malformed = app
        .post(
            "/api/users/",
            &app.admin_token,
            json!({"username": "malformed", "email": "not-an-address"}),
        )
        .await;

    assert_eq!(blank.status, StatusCode::BAD_REQUEST, "{}", blank.text);
    assert_eq!(
        blank.body,
        json!({"email": ["This field may not be blank."]})
    );
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        malformed.body,
        json!({"email": ["Enter a valid email address."]})
    );
    let count = app
        .scalar_i64(
            "SELECT count(*) FROM projection.users WHERE username IN ('blank', 'malformed')",
        )
        .await;
    assert_eq!(count, 0);
}

#[tokio::test]
async fn creating_a_user_with_an_invalid_username_is_refused() {
    let app = spawn_app().await;

    let reply = app
        .post(
            "/api/users/",
            &app.admin_token,
            json!({"username": "Bad Name!", "email": "b@example.com"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body, json!({"username": ["Enter a valid username."]}));
}

#[tokio::test]
async fn a_plain_user_lists_only_themselves_and_non_staff_colleagues() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let carol = app.create_user("carol").await;
    let dave = app.create_user("dave").await;
    let staffer = app
        .post(
            "/api/users/",
            &app.admin_token,
            json!({"username": "staffer", "email": "s@example.com", "is_staff": true}),
        )
        .await;
    assert_eq!(staffer.status, StatusCode::CREATED, "{}", staffer.text);
    let staffer = crate::helpers::TestUser {
        uuid: staffer.uuid(),
        token: String::new(),
    };
    let acme = app.create_customer("Acme").await;
    let project = app.create_project(&acme.url(), "Rockets").await;
    let balloons = app.create_project(&acme.url(), "Balloons").await;
    let erin = app.create_user("erin").await;
    let other = app.create_customer("Other").await;
    app.grant("customers", &acme.uuid(), &alice, "CUSTOMER.OWNER")
        .await;
    app.grant("projects", &balloons.uuid(), &erin, "PROJECT.ADMIN")
        .await;
    app.grant("projects", &project.uuid(), &bob, "PROJECT.MEMBER")
        .await;
    app.grant("customers", &acme.uuid(), &staffer, "CUSTOMER.SUPPORT")
        .await;
    app.grant("customers", &other.uuid(), &dave, "CUSTOMER.OWNER")
        .await;

    let as_alice = app.get("/api/users/", &alice.token).await;
    let as_bob = app.get("/api/users/", &bob.token).await;
    let as_carol = app.get("/api/users/", &carol.token).await;

    let names = |reply: &Reply| -> Vec<String> {
        reply
            .items()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(as_alice.status, StatusCode::OK, "{}", as_alice.text);
    // The owner sees the teams of every project; a project member sees the customer's
    // team and their own project's, not the other projects'.
    assert_eq!(names(&as_alice), vec!["alice", "bob", "erin"]);
    assert_eq!(as_alice.count(), 3);
    assert_eq!(names(&as_bob), vec!["alice", "bob"]);
    assert_eq!(names(&as_carol), vec!["carol"]);
    assert_eq!(as_carol.count(), 1);
    let staff_view = app.get("/api/users/?page_size=50", &app.admin_token).await;
    assert_eq!(
        names(&staff_view),
        vec!["admin", "alice", "bob", "carol", "dave", "erin", "staffer"]
    );
}

#[tokio::test]
async fn retrieving_a_user_the_caller_cannot_see_is_404() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let dave = app.create_user("dave").await;

    let reply = app
        .get(&format!("/api/users/{}/", dave.uuid), &alice.token)
        .await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.body,
        json!({"detail": "No User matches the given query."})
    );
}

#[tokio::test]
async fn ledger_token_create_issues_a_token_the_running_app_accepts() {
    let app = spawn_app().await;

    let stdout = run_token_create(&app, &["--username", "carol"]).await;

    let token = stdout.lines().last().expect("a line of output").trim();
    assert_eq!(token.len(), 40, "{stdout}");
    let reply = app.get("/api/users/me/", token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["username"], "carol");
    assert_eq!(reply.body["token"], token);
    assert!(reply.body.get("is_staff").is_none(), "{}", reply.text);
}

#[tokio::test]
async fn ledger_token_create_with_staff_makes_a_staff_user() {
    let app = spawn_app().await;

    let stdout = run_token_create(&app, &["--username", "ops", "--staff"]).await;

    let token = stdout.lines().last().expect("a line of output").trim();
    let reply = app.get("/api/users/me/", token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["username"], "ops");
    assert_eq!(reply.body["is_staff"], true);
    let created = app
        .post("/api/customers/", token, json!({"name": "Ops Org"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
}
