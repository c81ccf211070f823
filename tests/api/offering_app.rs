//! Offerings created through `app::offerings` with no HTTP request, as a sync from another
//! Waldur creates them, then read back over HTTP like any other offering.

use std::collections::BTreeMap;

use ledger::app::error::AppError;
use ledger::app::offerings::{
    self, ComponentLimits, NewOffering, new_offering_details, new_offering_settings,
};
use ledger::domain::offering::model::Endpoint;
use ledger::store::metadata::{Actor, CommandContext, Source};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::world::{Names, PROVIDER_OFFERINGS, World};

fn sync_ctx() -> CommandContext {
    CommandContext::new(Actor::Sync, Source::Scheduler, "sync-run-1")
}

fn uuid_of(reply: &crate::helpers::Reply) -> Uuid {
    Uuid::parse_str(&reply.uuid()).unwrap()
}

fn changes(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().expect("an object").clone()
}

/// A remote tenant offering: one built-in component as its source describes it, a limit on
/// another, a plan and an endpoint.
fn remote_tenant(world: &World) -> NewOffering {
    let mut ram = offerings::builtin_components(
        ledger::domain::offering::types::lookup("OpenStack.Tenant").unwrap(),
    )
    .into_iter()
    .find(|c| c.component_type == "ram")
    .unwrap();
    ram.name = "Memory".into();
    ram.article_code = "MEM-1".into();
    let mut plan = offerings::new_plan(
        &changes(json!({"name": "Small", "unit": "month"})),
        Uuid::new_v4(),
    );
    plan.prices.insert("cores".into(), Decimal::new(5, 1));
    NewOffering {
        customer_uuid: uuid_of(&world.provider),
        category_uuid: uuid_of(&world.category),
        project_uuid: None,
        offering_type: "OpenStack.Tenant".into(),
        details: new_offering_details(&changes(json!({
            "name": "Remote Cloud",
            "description": "Synced from afar",
        })))
        .unwrap(),
        settings: new_offering_settings(&changes(json!({"attributes": {"site": "north"}}))),
        components: Vec::new(),
        builtins: vec![ram],
        limits: BTreeMap::from([(
            "cores".to_string(),
            ComponentLimits {
                max: Some(64),
                ..ComponentLimits::default()
            },
        )]),
        plans: vec![plan],
        endpoints: vec![Endpoint {
            uuid: Uuid::new_v4(),
            name: "Dashboard".into(),
            url: "https://cloud.example.org".into(),
        }],
    }
}

#[tokio::test]
async fn an_offering_created_through_the_app_reads_back_over_http() {
    let world = World::new(Names::PLAIN).await;
    let app = &world.app;

    let uuid = offerings::create_offering(&app.ledger, remote_tenant(&world), &sync_ctx())
        .await
        .expect("the offering is created");

    let reply = app
        .get(
            &format!("{PROVIDER_OFFERINGS}/{}/", uuid.simple()),
            &app.admin_token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = &reply.body;
    assert_eq!(body["name"], "Remote Cloud");
    assert_eq!(body["description"], "Synced from afar");
    assert_eq!(body["type"], "OpenStack.Tenant");
    assert_eq!(body["state"], "Draft");
    assert_eq!(body["slug"], "remote-c-1");
    assert_eq!(body["shared"], true);
    assert_eq!(body["billable"], true);
    assert_eq!(body["customer_uuid"], world.provider.uuid());
    assert_eq!(body["category_uuid"], world.category.uuid());
    assert_eq!(body["attributes"], json!({"site": "north"}));
    assert_eq!(
        body["endpoints"][0]["url"],
        json!("https://cloud.example.org")
    );
    let components = body["components"].as_array().unwrap();
    let by_type = |t: &str| components.iter().find(|c| c["type"] == t).unwrap();
    assert_eq!(components.len(), 3);
    assert!(components.iter().all(|c| c["is_builtin"] == true));
    assert_eq!(by_type("ram")["name"], "Memory");
    assert_eq!(by_type("ram")["article_code"], "MEM-1");
    assert_eq!(by_type("ram")["factor"], 1024);
    assert_eq!(by_type("cores")["name"], "Cores");
    assert_eq!(by_type("cores")["max_value"], 64);
    assert_eq!(body["plans"][0]["name"], "Small");
    assert_eq!(body["plans"][0]["prices"]["cores"], json!(0.5));
}

#[tokio::test]
async fn an_offering_created_through_the_app_records_who_created_it() {
    let world = World::new(Names::PLAIN).await;
    let app = &world.app;

    let uuid = offerings::create_offering(&app.ledger, remote_tenant(&world), &sync_ctx())
        .await
        .unwrap();

    let (event_type, metadata): (String, Value) = sqlx::query_as(
        "SELECT event_type, metadata FROM events \
         WHERE aggregate_type = 'offering' AND aggregate_id = $1 ORDER BY sequence LIMIT 1",
    )
    .bind(uuid.simple().to_string())
    .fetch_one(&app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(event_type, "OfferingCreated");
    assert_eq!(metadata["actor"], "sync");
    assert_eq!(metadata["source"], "scheduler");
    assert_eq!(metadata["request_id"], "sync-run-1");
}

#[tokio::test]
async fn the_app_refuses_an_offering_for_a_customer_that_is_not_a_provider() {
    let world = World::new(Names::PLAIN).await;
    let app = &world.app;
    let mut new = remote_tenant(&world);
    new.customer_uuid = uuid_of(&world.consumer);

    let err = offerings::create_offering(&app.ledger, new, &sync_ctx())
        .await
        .expect_err("refused");

    let AppError::Fields(errors) = err else {
        panic!("a field error, got {err:?}");
    };
    assert_eq!(
        errors["customer"],
        ["Customer should be a service provider."]
    );
    let list = app
        .get(&format!("{PROVIDER_OFFERINGS}/"), &app.admin_token)
        .await;
    assert_eq!(list.count(), 0);
}

#[tokio::test]
async fn the_app_refuses_an_unknown_type_and_an_endpoint_url_it_cannot_use() {
    let world = World::new(Names::PLAIN).await;
    let app = &world.app;
    let mut unknown = remote_tenant(&world);
    unknown.offering_type = "Nope.Nothing".into();
    let mut bad_url = remote_tenant(&world);
    bad_url.endpoints[0].url = "ftp://files.example.org".into();

    let unknown = offerings::create_offering(&app.ledger, unknown, &sync_ctx()).await;
    let bad_url = offerings::create_offering(&app.ledger, bad_url, &sync_ctx()).await;

    assert!(matches!(unknown, Err(AppError::Fields(ref e)) if e.contains_key("type")));
    assert!(matches!(bad_url, Err(AppError::Fields(ref e)) if e.contains_key("endpoints")));
}
