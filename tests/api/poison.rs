//! Input that PostgreSQL would store but the ledger could not read back never enters the
//! log; events written before that rule still read back; after every such request the
//! object takes commands, the read models move, the server restarts and a rebuild
//! reproduces the same lists.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Reply, TestApp, spawn_app};
use crate::ledger::dump_read_models;
use crate::world::{self, Names};
use ledger::app::LedgerOptions;
use ledger::domain::customer::{Customer, CustomerCommand};
use ledger::store::metadata::{CommandContext, Source};

const PO: &str = "/api/marketplace-provider-offerings";
const HUGE: &str = "1.7976931348623157e308";

const NAMES: Names = Names {
    consumer: "Consumer",
    project: "Project",
    provider: "Provider",
    category: "Category",
};

/// The shared world with an active offering (a limit component priced 10).
struct World {
    base: world::World,
    offering: Reply,
}

impl std::ops::Deref for World {
    type Target = world::World;

    fn deref(&self) -> &world::World {
        &self.base
    }
}

async fn world() -> World {
    let base = world::World::new(NAMES).await;
    let offering = base
        .active_offering("Marketplace.Basic", world::cpu_priced_10())
        .await;
    World { base, offering }
}

impl World {
    /// Sends a raw JSON text (numbers exactly as written) as staff.
    async fn send(&self, method: Method, path: &str, json_text: &str) -> Reply {
        let response = self
            .app
            .client
            .request(method, format!("{}{}", self.app.address, path))
            .header("Authorization", format!("Token {}", self.app.admin_token))
            .header("Content-Type", "application/json")
            .body(json_text.to_string())
            .send()
            .await
            .expect("the request is answered");
        TestApp::reply(response).await
    }

    fn order_body(&self, attributes: &str) -> String {
        format!(
            r#"{{"project": "{}", "offering": "{}", "plan": "{}",
                "limits": {{"cpu": 2}}, "attributes": {attributes}}}"#,
            self.project.url(),
            self.public_url(&self.offering),
            self.first_plan_url(&self.offering)
        )
    }

    async fn events(&self) -> i64 {
        self.app.scalar_i64("SELECT count(*) FROM events").await
    }

    /// The object still takes commands and the read models still move.
    async fn still_works(&self) {
        let reply = self
            .app
            .post(
                &format!("{PO}/{}/update_attributes/", self.offering.uuid()),
                &self.app.admin_token,
                json!({"k": 1.5}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let placed = self
            .send(
                Method::POST,
                "/api/marketplace-orders/",
                &self.order_body("{}"),
            )
            .await;
        assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
        let listed = self
            .app
            .get(
                &format!("/api/marketplace-orders/?uuid={}", placed.uuid()),
                &self.app.admin_token,
            )
            .await;
        assert_eq!(listed.count(), 1, "{}", listed.text);
        let restarted = self.app.restart(LedgerOptions::default(), 100).await;
        let before = dump_read_models(&restarted).await;
        restarted.ledger.projector.rebuild().await.unwrap();
        assert_eq!(dump_read_models(&restarted).await, before);
    }
}

fn messages(reply: &Reply, field: &str) -> Vec<String> {
    serde_json::from_value(reply.body[field].clone()).unwrap_or_default()
}

#[tokio::test]
async fn a_huge_number_in_offering_attributes_is_refused_and_nothing_is_stored() {
    let w = world().await;
    let before = w.events().await;

    let reply = w
        .send(
            Method::POST,
            &format!("{PO}/{}/update_attributes/", w.offering.uuid()),
            &format!(r#"{{"k": {HUGE}}}"#),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        messages(&reply, "attributes"),
        vec!["Ensure every number is between -9007199254740991 and 9007199254740991."]
    );
    assert_eq!(w.events().await, before);
    w.still_works().await;
}

#[tokio::test]
async fn a_huge_number_in_order_attributes_is_refused() {
    let w = world().await;
    let before = w.events().await;

    let reply = w
        .send(
            Method::POST,
            "/api/marketplace-orders/",
            &w.order_body(&format!(r#"{{"k": {HUGE}}}"#)),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(messages(&reply, "attributes").len(), 1, "{}", reply.text);
    assert_eq!(w.events().await, before);
    w.still_works().await;
}

#[tokio::test]
async fn a_latitude_off_the_globe_is_refused_on_offerings_and_customers() {
    let w = world().await;
    let before = w.events().await;

    let offering = w
        .send(
            Method::POST,
            &format!("{PO}/{}/update_location/", w.offering.uuid()),
            &format!(r#"{{"latitude": {HUGE}, "longitude": 10}}"#),
        )
        .await;
    let customer = w
        .send(
            Method::PATCH,
            &format!("/api/customers/{}/", w.consumer.uuid()),
            &format!(r#"{{"latitude": {HUGE}}}"#),
        )
        .await;

    for reply in [&offering, &customer] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(
            messages(reply, "latitude"),
            vec!["Ensure this value is less than or equal to 90."]
        );
    }
    assert_eq!(w.events().await, before);
    let moved = w
        .send(
            Method::PATCH,
            &format!("/api/customers/{}/", w.consumer.uuid()),
            r#"{"latitude": 59.43, "longitude": -24.75}"#,
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.body["latitude"], json!(59.43));
}

#[tokio::test]
async fn a_null_character_in_a_filter_is_a_400_naming_the_filter() {
    let app = spawn_app().await;

    for path in [
        "/api/customers/?name=a%00",
        "/api/marketplace-orders/?query=%00",
        "/api/marketplace-public-offerings/?name=x%00y",
    ] {
        let reply = app.get(path, &app.admin_token).await;

        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.text
        );
        let field = reply
            .body
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        assert_eq!(
            messages(&reply, &field),
            vec!["Null characters are not allowed."],
            "{path}"
        );
    }
    let invalid = app.get("/api/customers/?name=%FF", &app.admin_token).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.text);
    let path = app.get("/api/customers/a%00/", &app.admin_token).await;
    assert_eq!(path.status, StatusCode::BAD_REQUEST, "{}", path.text);
    assert_eq!(
        path.body,
        json!({"detail": "Null characters are not allowed."})
    );
}

#[tokio::test]
async fn a_null_character_in_a_body_is_a_400_naming_the_field_and_nothing_is_stored() {
    let w = world().await;
    let before = w.events().await;

    let cases = [
        (
            Method::POST,
            "/api/customers/".to_string(),
            r#"{"name": "a\u0000b"}"#,
            "name",
        ),
        (
            Method::PATCH,
            format!("/api/customers/{}/", w.consumer.uuid()),
            r#"{"name": "a\u0000b"}"#,
            "name",
        ),
        (
            Method::POST,
            "/api/marketplace-categories/".to_string(),
            r#"{"title": "\u0000"}"#,
            "title",
        ),
        (
            Method::POST,
            format!("{PO}/{}/update_attributes/", w.offering.uuid()),
            r#"{"k": {"deep": ["x\u0000"]}}"#,
            "attributes",
        ),
    ];
    for (method, path, body, field) in cases {
        let reply = w.send(method, &path, body).await;

        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.text
        );
        assert_eq!(
            messages(&reply, field),
            vec!["Null characters are not allowed."],
            "{path}"
        );
    }
    let order = w
        .send(
            Method::POST,
            "/api/marketplace-orders/",
            &w.order_body(r#"{"name": "vm\u0000"}"#),
        )
        .await;
    assert_eq!(order.status, StatusCode::BAD_REQUEST, "{}", order.text);
    assert_eq!(w.events().await, before);
    w.still_works().await;
}

#[tokio::test]
async fn nesting_deeper_than_a_field_may_hold_is_refused() {
    let w = world().await;
    let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));

    let reply = w
        .send(
            Method::POST,
            &format!("{PO}/{}/update_attributes/", w.offering.uuid()),
            &format!(r#"{{"k": {deep}}}"#),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        messages(&reply, "attributes"),
        vec!["Ensure this value has no more than 32 levels of nesting."]
    );
}

#[tokio::test]
async fn an_event_that_would_not_read_back_is_never_appended_even_below_the_api() {
    let app = spawn_app().await;
    let customer = app.create_customer("Acme").await;
    let before = app.scalar_i64("SELECT count(*) FROM events").await;
    let mut changes = serde_json::Map::new();
    changes.insert("name".into(), json!("a\u{0}b"));
    let ctx = CommandContext::system(Source::Cli);

    let result = app
        .ledger
        .execute::<Customer>(
            &customer.uuid(),
            CustomerCommand::Update {
                changes,
                at: ctx.now,
            },
            &ctx,
        )
        .await;

    let err = result.expect_err("the codec refuses the event");
    assert!(err.to_string().contains("null character"), "{err}");
    assert_eq!(app.scalar_i64("SELECT count(*) FROM events").await, before);
}

#[tokio::test]
async fn a_request_without_credentials_is_a_401_before_any_405() {
    let app = spawn_app().await;

    let anonymous = app
        .request(
            Method::POST,
            "/api/marketplace-public-offerings/",
            None,
            Some(json!({})),
        )
        .await;
    let bad_token = app
        .request(Method::DELETE, "/api/users/me/", Some("nope"), None)
        .await;
    let staff = app
        .request(
            Method::POST,
            "/api/marketplace-public-offerings/",
            Some(&app.admin_token),
            Some(json!({})),
        )
        .await;

    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.text
    );
    assert_eq!(anonymous.header("www-authenticate"), Some("Token"));
    assert_eq!(
        bad_token.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        bad_token.text
    );
    assert_eq!(
        staff.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        staff.text
    );
}

/// An offering event as an older ledger wrote it: jsonb keeps 1.7976931348623157e308 as a
/// 309-digit integer.
async fn append_an_old_huge_number(app: &TestApp, offering: &str) {
    let written = sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
         event_version, payload, metadata) \
         SELECT aggregate_type, aggregate_id, sequence + 1, event_type, event_version, \
                replace(payload::text, '\"k\": 1.5', '\"k\": 1.7976931348623157e308')::jsonb, \
                metadata \
         FROM events WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(offering)
    .execute(&app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(written.rows_affected(), 1);
    let stored: String = sqlx::query_scalar(
        "SELECT payload::text FROM events WHERE aggregate_id = $1 \
         ORDER BY sequence DESC LIMIT 1",
    )
    .bind(offering)
    .fetch_one(&app.ledger.pool)
    .await
    .unwrap();
    assert!(stored.contains(&format!("17976931348623157{}", "0".repeat(292))));
}

#[tokio::test]
async fn an_old_event_with_a_huge_number_reads_back_and_the_ledger_restarts_and_rebuilds() {
    let w = world().await;
    let offering = w.offering.uuid();
    let set = w
        .app
        .post(
            &format!("{PO}/{offering}/update_attributes/"),
            &w.app.admin_token,
            json!({"k": 1.5}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    append_an_old_huge_number(&w.app, &offering).await;

    let restarted = w.app.restart(LedgerOptions::default(), 100).await;
    let read = restarted
        .get(&format!("{PO}/{offering}/"), &restarted.admin_token)
        .await;

    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["attributes"]["k"].as_f64(), Some(f64::MAX));
    let changed = restarted
        .post(
            &format!("{PO}/{offering}/update_attributes/"),
            &restarted.admin_token,
            json!({"k": 2}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let before = dump_read_models(&restarted).await;
    restarted.ledger.projector.rebuild().await.unwrap();
    assert_eq!(dump_read_models(&restarted).await, before);
    let listed = restarted
        .get(&format!("{PO}/"), &restarted.admin_token)
        .await;
    assert_eq!(listed.count(), 1);
}
