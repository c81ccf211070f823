//! Authentication, `/api/users/` and `ledger token create`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

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
