//! Malformed and hostile input is answered with 4xx in Waldur's format, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Reply, TestApp, spawn_app};

/// Any request with a raw body and optional Content-Type, as staff.
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut request = app
        .client
        .request(method, format!("{}{}", app.address, path))
        .header("Authorization", format!("Token {}", app.admin_token));
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    let response = request
        .body(body)
        .send()
        .await
        .expect("the request is answered");
    TestApp::reply(response).await
}

#[tokio::test]
async fn malformed_json_is_a_400_json_parse_error() {
    let app = spawn_app().await;

    let reply = app
        .post_raw(
            "/api/customers/",
            &app.admin_token,
            "application/json",
            "{name: 'x'",
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let detail = reply.body["detail"].as_str().expect("a detail message");
    assert!(detail.starts_with("JSON parse error - "), "{detail}");
    assert_eq!(reply.body.as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn deeply_nested_json_is_a_400_not_a_crash() {
    let app = spawn_app().await;
    let body = format!(
        "{{\"name\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );

    let reply = app
        .post_raw(
            "/api/customers/",
            &app.admin_token,
            "application/json",
            &body,
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let detail = reply.body["detail"].as_str().expect("a detail message");
    assert!(detail.starts_with("JSON parse error - "), "{detail}");
}

#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_refused_with_its_python_type() {
    let app = spawn_app().await;

    let cases = [
        ("[1, 2]", "list"),
        ("\"text\"", "str"),
        ("42", "int"),
        ("null", "NoneType"),
    ];
    for (body, type_name) in cases {
        let reply = app
            .post_raw(
                "/api/customers/",
                &app.admin_token,
                "application/json",
                body,
            )
            .await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            reply.body,
            json!({"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {type_name}.")]}),
            "{body}"
        );
    }
}

#[tokio::test]
async fn values_of_the_wrong_type_get_drfs_field_messages() {
    let app = spawn_app().await;

    let reply = app
        .post(
            "/api/customers/",
            &app.admin_token,
            json!({"name": ["x"], "blocked": "maybe", "latitude": "north"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({
            "name": ["Not a valid string."],
            "blocked": ["Must be a valid boolean."],
            "latitude": ["A valid number is required."]
        })
    );
}

#[tokio::test]
async fn null_blank_and_too_long_values_are_refused_per_field() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;

    let reply = app
        .patch(
            &format!("/api/customers/{}/", customer.uuid()),
            &app.admin_token,
            json!({"name": "   ", "email": null, "abbreviation": "ABCDEFGHIJKLM"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({
            "name": ["This field may not be blank."],
            "email": ["This field may not be null."],
            "abbreviation": ["Ensure this field has no more than 12 characters."]
        })
    );
}

#[tokio::test]
async fn an_unsupported_content_type_is_415() {
    let app = spawn_app().await;

    let reply = app
        .post_raw(
            "/api/customers/",
            &app.admin_token,
            "text/plain",
            "name=Acme",
        )
        .await;

    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        reply.body,
        json!({"detail": "Unsupported media type \"text/plain\" in request."})
    );
}

#[tokio::test]
async fn the_415_message_quotes_the_whole_content_type_header() {
    let app = spawn_app().await;

    let reply = app
        .post_raw(
            "/api/customers/",
            &app.admin_token,
            "text/plain; charset=utf-8",
            "name=Acme",
        )
        .await;

    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        reply.body,
        json!({"detail": "Unsupported media type \"text/plain; charset=utf-8\" in request."})
    );
}

#[tokio::test]
async fn json_with_a_charset_parameter_is_accepted() {
    let app = spawn_app().await;

    let reply = app
        .post_raw(
            "/api/customers/",
            &app.admin_token,
            "application/json; charset=utf-8",
            r#"{"name": "Acme"}"#,
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["name"], "Acme");
}

#[tokio::test]
async fn a_body_over_two_mebibytes_is_413() {
    let app = spawn_app().await;
    let body = format!(
        "{{\"name\": \"Acme\", \"contact_details\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024 + 1)
    );

    let reply = app
        .post_raw(
            "/api/customers/",
            &app.admin_token,
            "application/json",
            &body,
        )
        .await;

    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
    assert_eq!(reply.body, json!({"detail": "Request body is too large."}));
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM projection.customers")
            .await,
        0
    );
}

#[tokio::test]
async fn a_chunked_body_over_two_mebibytes_is_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let host = app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/customers/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n",
        app.admin_token
    );
    stream.write_all(head.as_bytes()).await.expect("headers");

    // The server may answer and stop reading before the whole body is sent.
    let chunk = vec![b' '; 1024 * 1024];
    for _ in 0..3 {
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk.clone(),
            b"\r\n".to_vec(),
        ]
        .concat();
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);

    assert!(
        response.starts_with("HTTP/1.1 413"),
        "{}",
        response.lines().next().unwrap_or("")
    );
    assert!(
        response.ends_with(r#"{"detail":"Request body is too large."}"#),
        "{response}"
    );
}

#[tokio::test]
async fn unknown_and_malformed_uuids_in_paths_are_404() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4().simple().to_string();
    let cases = [
        ("customers", "Customer"),
        ("users", "User"),
        ("projects", "Project"),
    ];

    for (collection, model) in cases {
        let expected = json!({"detail": format!("No {model} matches the given query.")});
        for id in [unknown.as_str(), "not-a-uuid", "1", "%20", "..%2F"] {
            let path = format!("/api/{collection}/{id}/");

            let get = app.get(&path, &app.admin_token).await;
            let patch = app
                .patch(&path, &app.admin_token, json!({"name": "x"}))
                .await;

            assert_eq!(
                get.status,
                StatusCode::NOT_FOUND,
                "GET {path}: {}",
                get.text
            );
            assert_eq!(get.body, expected, "GET {path}");
            assert_eq!(patch.status, StatusCode::NOT_FOUND, "PATCH {path}");
            assert_eq!(patch.body, expected, "PATCH {path}");
        }
    }
    let action = app
        .post(
            "/api/customers/not-a-uuid/add_user/",
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(action.status, StatusCode::NOT_FOUND);
    assert_eq!(
        action.body,
        json!({"detail": "No Customer matches the given query."})
    );
    let delete = app
        .delete(&format!("/api/customers/{unknown}/"), &app.admin_token)
        .await;
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let app = spawn_app().await;

    let unknown = app.get("/api/no-such-thing/", &app.admin_token).await;
    let no_slash = app.get("/api/customers", &app.admin_token).await;

    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body, json!({"detail": "Not found."}));
    assert_eq!(unknown.header("content-type"), Some("application/json"));
    assert_eq!(no_slash.status, StatusCode::NOT_FOUND);
    assert_eq!(no_slash.body, json!({"detail": "Not found."}));
}

#[tokio::test]
async fn a_wrong_method_is_405_naming_the_method() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;

    let put = app
        .request(
            Method::PUT,
            "/api/customers/",
            Some(&app.admin_token),
            Some(json!({"name": "x"})),
        )
        .await;
    let delete = app.delete("/api/users/me/", &app.admin_token).await;
    let get_action = app
        .get(
            &format!("/api/customers/{}/add_user/", customer.uuid()),
            &app.admin_token,
        )
        .await;

    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(put.body, json!({"detail": "Method \"PUT\" not allowed."}));
    assert_eq!(delete.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        delete.body,
        json!({"detail": "Method \"DELETE\" not allowed."})
    );
    assert_eq!(get_action.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        get_action.body,
        json!({"detail": "Method \"GET\" not allowed."})
    );
}

#[tokio::test]
async fn an_action_post_without_body_or_content_type_reports_missing_fields() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;

    let reply = send_raw(
        &app,
        Method::POST,
        &format!("/api/customers/{}/add_user/", customer.uuid()),
        None,
        "",
    )
    .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"role": ["This field is required."], "user": ["This field is required."]})
    );
}

#[tokio::test]
async fn an_empty_json_body_is_an_empty_object() {
    let app = spawn_app().await;

    let reply = app
        .post_raw("/api/customers/", &app.admin_token, "application/json", "")
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body, json!({"name": ["This field is required."]}));
}

#[tokio::test]
async fn a_form_encoded_body_creates_a_customer() {
    let app = spawn_app().await;

    let reply = app
        .post_raw(
            "/api/customers/",
            &app.admin_token,
            "application/x-www-form-urlencoded",
            "name=Form+Made+Org&abbreviation=FMO&email=form%40example.com&latitude=59.4",
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["name"], "Form Made Org");
    assert_eq!(reply.body["abbreviation"], "FMO");
    assert_eq!(reply.body["email"], "form@example.com");
    assert_eq!(reply.body["latitude"], 59.4);
    assert_eq!(reply.body["slug"], "form-mad-1");
}

#[tokio::test]
async fn a_form_encoded_action_grants_a_role() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let alice = app.create_user("alice").await;

    let reply = app
        .post_raw(
            &format!("/api/customers/{}/add_user/", customer.uuid()),
            &app.admin_token,
            "application/x-www-form-urlencoded",
            &format!("user={}&role=CUSTOMER.OWNER", alice.uuid),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body, json!({"expiration_time": null}));
    let visible = app.get("/api/customers/", &alice.token).await;
    assert_eq!(visible.count(), 1);
}
