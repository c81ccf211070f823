//! Offering components and SLURM partitions: the `create_offering_component`,
//! `update_offering_component`, `remove_offering_component`, `add_partition`,
//! `update_partition` and `remove_partition` actions of provider offerings.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, TestUser, spawn_app};

const FORBIDDEN: &str = "You do not have permission to perform this action.";
const NO_OFFERING: &str = "No Offering matches the given query.";
const ARCHIVED: &str = "It is not possible to update archived offering.";

/// A provider customer with a Slurm offering (one `cpu` component) and the provider's owner.
struct Provider {
    customer: Reply,
    category: Reply,
    offering: String,
    owner: TestUser,
}

async fn provider(app: &TestApp) -> Provider {
    let customer = app.create_provider("Compute Provider").await;
    let category = app.create_category("HPC").await;
    let offering = app
        .create_offering(
            &customer.url(),
            &category.url(),
            "Marketplace.Slurm",
            json!({
                "name": "Cluster",
                "components": [
                    {"type": "cpu", "name": "CPU", "measured_unit": "hours", "billing_type": "usage"}
                ],
            }),
        )
        .await
        .uuid();
    let owner = app.create_user("owner").await;
    app.grant("customers", &customer.uuid(), &owner, "CUSTOMER.OWNER")
        .await;
    Provider {
        customer,
        category,
        offering,
        owner,
    }
}

fn action(offering: &str, name: &str) -> String {
    format!("/api/marketplace-provider-offerings/{offering}/{name}/")
}

/// The offering as its provider sees it.
async fn offering(app: &TestApp, uuid: &str) -> Value {
    let reply = app
        .get(
            &format!("/api/marketplace-provider-offerings/{uuid}/"),
            &app.admin_token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

/// The offering's component of `component_type`.
async fn component(app: &TestApp, offering_uuid: &str, component_type: &str) -> Option<Value> {
    offering(app, offering_uuid).await["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["type"] == component_type)
        .cloned()
}

async fn component_types(app: &TestApp, offering_uuid: &str) -> Vec<String> {
    offering(app, offering_uuid).await["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| c["type"].as_str().expect("type").to_string())
        .collect()
}

async fn partition_names(app: &TestApp, offering_uuid: &str) -> Vec<String> {
    offering(app, offering_uuid).await["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| p["partition_name"].as_str().expect("name").to_string())
        .collect()
}

async fn archive(app: &TestApp, offering_uuid: &str) {
    let reply = app
        .post(
            &action(offering_uuid, "archive"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

async fn block_customer(app: &TestApp, customer_uuid: &str) {
    let reply = app
        .patch(
            &format!("/api/customers/{customer_uuid}/"),
            &app.admin_token,
            json!({"blocked": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// Records a resource of the offering directly in the read model, as an order would.
async fn insert_resource(app: &TestApp, offering_uuid: &str) {
    sqlx::query(
        "INSERT INTO projection.resources (uuid, offering_uuid, plan_uuid, project_uuid, \
         customer_uuid, name, backend_id, state, created, modified, last_seq) \
         VALUES ($1, $2, NULL, $3, $4, 'vm', '', 'OK', now(), now(), 0)",
    )
    .bind(Uuid::new_v4())
    .bind(Uuid::parse_str(offering_uuid).unwrap())
    .bind(Uuid::new_v4())
    .bind(Uuid::new_v4())
    .execute(&app.ledger.pool)
    .await
    .expect("resource inserted");
}

/// An OpenStack tenant offering (builtin cores, ram, storage) of the provider.
async fn tenant_offering(app: &TestApp, p: &Provider) -> String {
    app.create_offering(
        &p.customer.url(),
        &p.category.url(),
        "OpenStack.Tenant",
        json!({"name": "Tenant"}),
    )
    .await
    .uuid()
}

fn storage_component() -> Value {
    json!({
        "type": "storage",
        "name": "Storage",
        "billing_type": "limit",
        "measured_unit": "GB",
        "limit_period": "month",
        "limit_amount": 100,
        "description": "Scratch space",
        "article_code": "ST-1",
        "min_value": 1,
        "max_value": 500,
        "max_available_limit": 1000,
        "default_limit": 10,
    })
}

// ---------------------------------------------------------------- create_offering_component

#[tokio::test]
async fn a_customer_owner_creates_a_component_and_the_offering_lists_it() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    let reply = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &p.owner.token,
            storage_component(),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.text, "");
    let mut created = component(&app, &p.offering, "storage")
        .await
        .expect("storage is listed");
    let uuid = created
        .as_object_mut()
        .unwrap()
        .remove("uuid")
        .expect("a uuid");
    assert!(Uuid::parse_str(uuid.as_str().unwrap()).is_ok());
    assert_eq!(
        created,
        json!({
            "billing_type": "limit",
            "type": "storage",
            "name": "Storage",
            "description": "Scratch space",
            "measured_unit": "GB",
            "limit_period": "month",
            "limit_amount": 100,
            "article_code": "ST-1",
            "max_value": 500,
            "min_value": 1,
            "max_available_limit": 1000,
            "is_boolean": false,
            "default_limit": 10,
            "factor": null,
            "is_builtin": false,
        })
    );
    assert_eq!(
        component_types(&app, &p.offering).await,
        vec!["cpu", "storage"]
    );
}

#[tokio::test]
async fn components_are_created_through_a_dashed_offering_uuid_too() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let dashed = Uuid::parse_str(&p.offering)
        .unwrap()
        .hyphenated()
        .to_string();

    let reply = app
        .post(
            &action(&dashed, "create_offering_component"),
            &app.admin_token,
            json!({"type": "gpu", "name": "GPU", "billing_type": "usage"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let gpu = component(&app, &p.offering, "gpu").await.expect("gpu");
    assert_eq!(gpu["limit_period"], Value::Null);
    assert_eq!(gpu["measured_unit"], "");
    assert_eq!(gpu["limit_amount"], Value::Null);
}

#[tokio::test]
async fn an_anonymous_caller_cannot_create_a_component() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    let reply = app
        .request(
            Method::POST,
            &action(&p.offering, "create_offering_component"),
            None,
            Some(storage_component()),
        )
        .await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
}

#[tokio::test]
async fn a_user_without_any_role_does_not_see_the_offering_to_add_a_component() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let stranger = app.create_user("stranger").await;

    let reply = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &stranger.token,
            storage_component(),
        )
        .await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    assert_eq!(reply.body, json!({"detail": NO_OFFERING}));
    assert_eq!(component_types(&app, &p.offering).await, vec!["cpu"]);
}

#[tokio::test]
async fn a_project_admin_of_another_customer_does_not_see_the_offering() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let other = app.create_customer("Consumer").await;
    let project = app.create_project(&other.url(), "Research").await;
    let admin = app.create_user("project-admin").await;
    app.grant("projects", &project.uuid(), &admin, "PROJECT.ADMIN")
        .await;

    let reply = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &admin.token,
            storage_component(),
        )
        .await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    assert_eq!(reply.body, json!({"detail": NO_OFFERING}));
}

#[tokio::test]
async fn a_customer_support_member_sees_the_offering_but_may_not_change_components() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let support = app.create_user("support").await;
    app.grant(
        "customers",
        &p.customer.uuid(),
        &support,
        "CUSTOMER.SUPPORT",
    )
    .await;
    let cpu = component(&app, &p.offering, "cpu").await.unwrap()["uuid"].clone();

    let create = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &support.token,
            storage_component(),
        )
        .await;
    let update = app
        .post(
            &action(&p.offering, "update_offering_component"),
            &support.token,
            json!({"uuid": cpu, "name": "Cores"}),
        )
        .await;
    let remove = app
        .post(
            &action(&p.offering, "remove_offering_component"),
            &support.token,
            json!({"uuid": cpu}),
        )
        .await;

    for reply in [&create, &update, &remove] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        assert_eq!(reply.body, json!({"detail": FORBIDDEN}));
    }
    assert_eq!(component_types(&app, &p.offering).await, vec!["cpu"]);
    assert_eq!(
        component(&app, &p.offering, "cpu").await.unwrap()["name"],
        "CPU"
    );
}

#[tokio::test]
async fn the_permission_is_checked_before_the_body() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let support = app.create_user("support").await;
    app.grant(
        "customers",
        &p.customer.uuid(),
        &support,
        "CUSTOMER.SUPPORT",
    )
    .await;

    let reply = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &support.token,
            json!({}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
}

#[tokio::test]
async fn components_of_an_archived_offering_cannot_be_created() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    archive(&app, &p.offering).await;

    let reply = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &p.owner.token,
            storage_component(),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, json!([ARCHIVED]));
    assert_eq!(component_types(&app, &p.offering).await, vec!["cpu"]);
}

#[tokio::test]
async fn components_of_a_blocked_customer_cannot_be_created_even_by_staff() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    block_customer(&app, &p.customer.uuid()).await;

    let reply = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &app.admin_token,
            storage_component(),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!(["Blocked organization is not available."])
    );
}

#[tokio::test]
async fn a_component_type_cannot_be_created_twice() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    let reply = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &p.owner.token,
            json!({"type": "cpu", "name": "Another CPU", "billing_type": "fixed"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, json!(["Component cpu already exists."]));
    assert_eq!(component_types(&app, &p.offering).await, vec!["cpu"]);
}

#[tokio::test]
async fn a_component_needs_a_type_a_name_and_a_billing_type() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    let missing = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &p.owner.token,
            json!({"description": "nothing else"}),
        )
        .await;
    let invalid = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &p.owner.token,
            json!({"type": "no spaces", "name": "X", "billing_type": "monthly",
                   "limit_period": "weekly", "max_value": "many"}),
        )
        .await;

    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);
    assert_eq!(
        missing.body,
        json!({
            "billing_type": ["This field is required."],
            "name": ["This field is required."],
            "type": ["This field is required."],
        })
    );
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.text);
    assert_eq!(
        invalid.body,
        json!({
            "billing_type": ["\"monthly\" is not a valid choice."],
            "limit_period": ["\"weekly\" is not a valid choice."],
            "max_value": ["A valid integer is required."],
            "type": ["Enter a valid value."],
        })
    );
    assert_eq!(component_types(&app, &p.offering).await, vec!["cpu"]);
}

#[tokio::test]
async fn a_boolean_component_is_an_on_off_monthly_limit() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    let reply = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &p.owner.token,
            json!({"type": "backup", "name": "Backup", "billing_type": "limit",
                   "is_boolean": true, "min_value": 5, "max_value": 9, "limit_amount": 3}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let backup = component(&app, &p.offering, "backup").await.unwrap();
    assert_eq!(backup["is_boolean"], true);
    assert_eq!(backup["min_value"], 0);
    assert_eq!(backup["max_value"], 1);
    assert_eq!(backup["limit_period"], "month");
    assert_eq!(backup["limit_amount"], Value::Null);
}

#[tokio::test]
async fn a_tenant_offering_has_builtin_components_and_refuses_another_of_their_type() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let tenant = tenant_offering(&app, &p).await;

    let body = offering(&app, &tenant).await;
    let components = body["components"].as_array().unwrap();
    let types: Vec<&str> = components
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["cores", "ram", "storage"]);
    assert!(components.iter().all(|c| c["is_builtin"] == true));
    assert!(components.iter().all(|c| c["billing_type"] == "limit"));
    let factors: Vec<&Value> = components.iter().map(|c| &c["factor"]).collect();
    assert_eq!(factors, vec![&json!(1), &json!(1024), &json!(1024)]);

    let reply = app
        .post(
            &action(&tenant, "create_offering_component"),
            &p.owner.token,
            json!({"type": "ram", "name": "More RAM", "billing_type": "limit"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!(["Cannot create a component of built-in type: ram"])
    );
    assert_eq!(
        component_types(&app, &tenant).await,
        vec!["cores", "ram", "storage"]
    );
}

// ---------------------------------------------------------------- update_offering_component

#[tokio::test]
async fn an_update_changes_only_the_fields_given() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let create = app
        .post(
            &action(&p.offering, "create_offering_component"),
            &p.owner.token,
            storage_component(),
        )
        .await;
    assert_eq!(create.status, StatusCode::CREATED, "{}", create.text);
    let before = component(&app, &p.offering, "storage").await.unwrap();

    let reply = app
        .post(
            &action(&p.offering, "update_offering_component"),
            &p.owner.token,
            json!({"uuid": before["uuid"], "name": "Fast storage", "limit_amount": 200,
                   "article_code": ""}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.text, "");
    let after = component(&app, &p.offering, "storage").await.unwrap();
    let mut expected = before.clone();
    expected["name"] = json!("Fast storage");
    expected["limit_amount"] = json!(200);
    expected["article_code"] = json!("");
    assert_eq!(after, expected);
}

#[tokio::test]
async fn an_update_accepts_the_full_body_the_client_sends_with_a_dashed_uuid() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let cpu = component(&app, &p.offering, "cpu").await.unwrap();
    let dashed = Uuid::parse_str(cpu["uuid"].as_str().unwrap())
        .unwrap()
        .hyphenated()
        .to_string();

    let reply = app
        .post(
            &action(&p.offering, "update_offering_component"),
            &p.owner.token,
            json!({"uuid": dashed, "type": "cpu_hours", "name": "CPU hours",
                   "billing_type": "limit", "limit_period": "total"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let updated = component(&app, &p.offering, "cpu_hours").await.unwrap();
    assert_eq!(updated["uuid"], cpu["uuid"]);
    assert_eq!(updated["billing_type"], "limit");
    assert_eq!(updated["limit_period"], "total");
    assert_eq!(updated["measured_unit"], "hours");
    assert_eq!(component_types(&app, &p.offering).await, vec!["cpu_hours"]);
}

#[tokio::test]
async fn an_update_without_a_component_uuid_is_refused() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    for body in [json!({"name": "CPU"}), json!({"uuid": "", "name": "CPU"})] {
        let reply = app
            .post(
                &action(&p.offering, "update_offering_component"),
                &p.owner.token,
                body,
            )
            .await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(
            reply.body,
            json!({"details": "UUID for offering component was not provided."})
        );
    }
}

#[tokio::test]
async fn an_update_of_an_unknown_component_is_not_found() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let other = app
        .create_offering(
            &p.customer.url(),
            &p.category.url(),
            "Marketplace.Basic",
            json!({"components": [{"type": "seat", "name": "Seat", "billing_type": "fixed"}]}),
        )
        .await;
    let foreign = other.body["components"][0]["uuid"].clone();

    for uuid in [
        json!(Uuid::new_v4().simple().to_string()),
        json!("zz"),
        foreign,
    ] {
        let reply = app
            .post(
                &action(&p.offering, "update_offering_component"),
                &p.owner.token,
                json!({"uuid": uuid, "name": "Renamed"}),
            )
            .await;

        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
        assert_eq!(reply.body, json!({"detail": "Not found."}));
    }
}

#[tokio::test]
async fn an_update_with_invalid_fields_changes_nothing() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let cpu = component(&app, &p.offering, "cpu").await.unwrap();

    let reply = app
        .post(
            &action(&p.offering, "update_offering_component"),
            &p.owner.token,
            json!({"uuid": cpu["uuid"], "name": "", "min_value": "x"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({
            "min_value": ["A valid integer is required."],
            "name": ["This field may not be blank."],
        })
    );
    assert_eq!(component(&app, &p.offering, "cpu").await.unwrap(), cpu);
}

#[tokio::test]
async fn an_update_cannot_take_the_type_of_another_component() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    app.post(
        &action(&p.offering, "create_offering_component"),
        &p.owner.token,
        storage_component(),
    )
    .await;
    let cpu = component(&app, &p.offering, "cpu").await.unwrap();

    let reply = app
        .post(
            &action(&p.offering, "update_offering_component"),
            &p.owner.token,
            json!({"uuid": cpu["uuid"], "type": "storage"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, json!(["Component storage already exists."]));
}

#[tokio::test]
async fn tenant_components_keep_their_identity_but_take_new_limits() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let tenant = tenant_offering(&app, &p).await;
    let ram = component(&app, &tenant, "ram").await.unwrap();

    let renamed = app
        .post(
            &action(&tenant, "update_offering_component"),
            &p.owner.token,
            json!({"uuid": ram["uuid"], "name": "Memory"}),
        )
        .await;
    let limited = app
        .post(
            &action(&tenant, "update_offering_component"),
            &p.owner.token,
            json!({"uuid": ram["uuid"], "max_value": 512}),
        )
        .await;

    assert_eq!(renamed.status, StatusCode::BAD_REQUEST, "{}", renamed.text);
    assert_eq!(
        renamed.body,
        json!(["OpenStack offering components are not editable."])
    );
    assert_eq!(limited.status, StatusCode::OK, "{}", limited.text);
    let after = component(&app, &tenant, "ram").await.unwrap();
    assert_eq!(after["name"], "RAM");
    assert_eq!(after["max_value"], 512);
    assert_eq!(after["is_builtin"], true);
    assert_eq!(after["factor"], 1024);
}

#[tokio::test]
async fn components_of_an_archived_offering_cannot_be_updated_or_removed() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let cpu = component(&app, &p.offering, "cpu").await.unwrap();
    archive(&app, &p.offering).await;

    let update = app
        .post(
            &action(&p.offering, "update_offering_component"),
            &p.owner.token,
            json!({"uuid": cpu["uuid"], "name": "Cores"}),
        )
        .await;
    let remove = app
        .post(
            &action(&p.offering, "remove_offering_component"),
            &p.owner.token,
            json!({"uuid": cpu["uuid"]}),
        )
        .await;

    for reply in [&update, &remove] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.body, json!([ARCHIVED]));
    }
    assert_eq!(component(&app, &p.offering, "cpu").await.unwrap(), cpu);
}

#[tokio::test]
async fn strangers_do_not_see_the_offering_to_update_or_remove_components() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let stranger = app.create_user("stranger").await;
    let cpu = component(&app, &p.offering, "cpu").await.unwrap();

    for name in ["update_offering_component", "remove_offering_component"] {
        let reply = app
            .post(
                &action(&p.offering, name),
                &stranger.token,
                json!({"uuid": cpu["uuid"], "name": "Cores"}),
            )
            .await;

        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
        assert_eq!(reply.body, json!({"detail": NO_OFFERING}));
    }
    assert_eq!(component(&app, &p.offering, "cpu").await.unwrap(), cpu);
}

// ---------------------------------------------------------------- remove_offering_component

#[tokio::test]
async fn an_owner_removes_an_unused_component() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let cpu = component(&app, &p.offering, "cpu").await.unwrap();

    let reply = app
        .post(
            &action(&p.offering, "remove_offering_component"),
            &p.owner.token,
            json!({"uuid": cpu["uuid"]}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.text, "");
    assert!(component_types(&app, &p.offering).await.is_empty());
}

#[tokio::test]
async fn a_removal_without_a_component_uuid_is_refused() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    for body in [json!({}), json!({"uuid": null})] {
        let reply = app
            .post(
                &action(&p.offering, "remove_offering_component"),
                &p.owner.token,
                body,
            )
            .await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(
            reply.body,
            json!({"details": "UUID for offering component to remove was not provided."})
        );
    }
}

#[tokio::test]
async fn removing_an_unknown_component_is_not_found() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    let reply = app
        .post(
            &action(&p.offering, "remove_offering_component"),
            &p.owner.token,
            json!({"uuid": Uuid::new_v4().to_string()}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    assert_eq!(reply.body, json!({"detail": "Not found."}));
    assert_eq!(component_types(&app, &p.offering).await, vec!["cpu"]);
}

#[tokio::test]
async fn a_builtin_component_cannot_be_removed() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let tenant = tenant_offering(&app, &p).await;
    let cores = component(&app, &tenant, "cores").await.unwrap();

    let reply = app
        .post(
            &action(&tenant, "remove_offering_component"),
            &p.owner.token,
            json!({"uuid": cores["uuid"]}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"details": "The component cores cannot be removed because it is builtin"})
    );
    assert_eq!(
        component_types(&app, &tenant).await,
        vec!["cores", "ram", "storage"]
    );
}

#[tokio::test]
async fn a_component_of_an_offering_with_resources_cannot_be_removed() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let cpu = component(&app, &p.offering, "cpu").await.unwrap();
    insert_resource(&app, &p.offering).await;

    let reply = app
        .post(
            &action(&p.offering, "remove_offering_component"),
            &p.owner.token,
            json!({"uuid": cpu["uuid"]}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"details": "The component CPU cannot be removed because it is already used"})
    );
    assert_eq!(component_types(&app, &p.offering).await, vec!["cpu"]);
}

#[tokio::test]
async fn use_by_resources_is_reported_before_a_builtin_component() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let tenant = tenant_offering(&app, &p).await;
    let ram = component(&app, &tenant, "ram").await.unwrap();
    insert_resource(&app, &tenant).await;

    let reply = app
        .post(
            &action(&tenant, "remove_offering_component"),
            &p.owner.token,
            json!({"uuid": ram["uuid"]}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"details": "The component RAM cannot be removed because it is already used"})
    );
}

#[tokio::test]
async fn resources_of_another_offering_do_not_block_a_removal() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let cpu = component(&app, &p.offering, "cpu").await.unwrap();
    let other = tenant_offering(&app, &p).await;
    insert_resource(&app, &other).await;

    let reply = app
        .post(
            &action(&p.offering, "remove_offering_component"),
            &p.owner.token,
            json!({"uuid": cpu["uuid"]}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

// ---------------------------------------------------------------- partitions

fn full_partition() -> Value {
    json!({
        "partition_name": "gpu",
        "cpu_arch": "x86_64/amd/zen3",
        "gpu_arch": "nvidia/cc90",
        "qos": "normal",
        "cpu_bind": 4,
        "def_cpu_per_gpu": 8,
        "max_cpus_per_node": 128,
        "max_cpus_per_socket": 64,
        "def_mem_per_cpu": 2048,
        "def_mem_per_gpu": 65536,
        "def_mem_per_node": 262144,
        "max_mem_per_cpu": 4096,
        "max_mem_per_node": 524288,
        "default_time": 60,
        "max_time": 2880,
        "grace_time": 300,
        "max_nodes": 16,
        "min_nodes": 1,
        "priority_tier": 2,
        "exclusive_topo": true,
        "exclusive_user": false,
        "req_resv": true,
    })
}

fn is_timestamp(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

#[tokio::test]
async fn an_owner_adds_a_partition_and_gets_it_back_in_full() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let mut body = full_partition();
    // The client always sends the offering; the path decides.
    body["offering"] = json!(Uuid::new_v4().to_string());

    let reply = app
        .post(&action(&p.offering, "add_partition"), &p.owner.token, body)
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let mut partition = reply.body.clone();
    let object = partition.as_object_mut().unwrap();
    let uuid = object.remove("uuid").unwrap();
    assert!(Uuid::parse_str(uuid.as_str().unwrap()).is_ok());
    let created = object.remove("created").unwrap();
    let modified = object.remove("modified").unwrap();
    assert!(is_timestamp(&created), "{created}");
    assert_eq!(created, modified);
    let mut expected = full_partition();
    expected["offering"] = json!(p.offering);
    expected["offering_name"] = json!("Cluster");
    expected["qos_options"] = json!([]);
    assert_eq!(partition, expected);

    let listed = offering(&app, &p.offering).await["partitions"].clone();
    let mut item = full_partition();
    item["uuid"] = uuid;
    item["qos_options"] = json!([]);
    assert_eq!(listed, json!([item]));
}

#[tokio::test]
async fn a_partition_with_only_a_name_gets_the_defaults() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    let reply = app
        .post(
            &action(&p.offering, "add_partition"),
            &app.admin_token,
            json!({"partition_name": "batch"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let body = &reply.body;
    for field in ["cpu_arch", "gpu_arch", "qos"] {
        assert_eq!(body[field], "", "{field}");
    }
    for field in ["cpu_bind", "max_time", "priority_tier", "min_nodes"] {
        assert_eq!(body[field], Value::Null, "{field}");
    }
    for field in ["exclusive_topo", "exclusive_user", "req_resv"] {
        assert_eq!(body[field], false, "{field}");
    }
    assert_eq!(body.as_object().unwrap().len(), 28);
}

#[tokio::test]
async fn partition_fields_are_parsed_as_integers_booleans_and_text() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    let parsed = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "long", "max_nodes": "32", "default_time": 30.0,
                   "grace_time": null, "exclusive_user": "true", "req_resv": 0,
                   "qos": "", "cpu_arch": 64}),
        )
        .await;
    let refused = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "bad", "max_nodes": "many", "min_nodes": 1.5,
                   "max_time": -1, "exclusive_user": "maybe", "req_resv": null,
                   "cpu_arch": null, "gpu_arch": ["a"]}),
        )
        .await;

    assert_eq!(parsed.status, StatusCode::CREATED, "{}", parsed.text);
    assert_eq!(parsed.body["max_nodes"], 32);
    assert_eq!(parsed.body["default_time"], 30);
    assert_eq!(parsed.body["grace_time"], Value::Null);
    assert_eq!(parsed.body["exclusive_user"], true);
    assert_eq!(parsed.body["req_resv"], false);
    assert_eq!(parsed.body["qos"], "");
    assert_eq!(parsed.body["cpu_arch"], "64");
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(
        refused.body,
        json!({
            "cpu_arch": ["This field may not be null."],
            "exclusive_user": ["Must be a valid boolean."],
            "gpu_arch": ["Not a valid string."],
            "max_nodes": ["A valid integer is required."],
            "max_time": ["Ensure this value is greater than or equal to 0."],
            "min_nodes": ["A valid integer is required."],
            "req_resv": ["This field may not be null."],
        })
    );
    assert_eq!(partition_names(&app, &p.offering).await, vec!["long"]);
}

#[tokio::test]
async fn a_partition_needs_a_name() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    let missing = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"qos": "normal"}),
        )
        .await;
    let blank = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "  "}),
        )
        .await;

    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);
    assert_eq!(
        missing.body,
        json!({"partition_name": ["This field is required."]})
    );
    assert_eq!(blank.status, StatusCode::BAD_REQUEST, "{}", blank.text);
    assert_eq!(
        blank.body,
        json!({"partition_name": ["This field may not be blank."]})
    );
    assert!(partition_names(&app, &p.offering).await.is_empty());
}

#[tokio::test]
async fn partition_names_are_unique_within_an_offering() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let other = tenant_offering(&app, &p).await;
    let first = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "batch"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);

    let again = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "batch", "qos": "high"}),
        )
        .await;
    let elsewhere = app
        .post(
            &action(&other, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "batch"}),
        )
        .await;

    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text);
    assert_eq!(
        again.body,
        json!({"non_field_errors": ["The fields offering, partition_name must make a unique set."]})
    );
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.text);
    assert_eq!(partition_names(&app, &p.offering).await, vec!["batch"]);
}

#[tokio::test]
async fn partition_actions_follow_the_offering_update_permission() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let stranger = app.create_user("stranger").await;
    let support = app.create_user("support").await;
    app.grant(
        "customers",
        &p.customer.uuid(),
        &support,
        "CUSTOMER.SUPPORT",
    )
    .await;
    let manager = app.create_user("manager").await;
    app.grant(
        "customers",
        &p.customer.uuid(),
        &manager,
        "CUSTOMER.MANAGER",
    )
    .await;
    let added = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "batch"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let partition = added.uuid();

    for (name, body) in [
        ("add_partition", json!({"partition_name": "other"})),
        (
            "update_partition",
            json!({"partition_uuid": partition, "qos": "x"}),
        ),
        ("remove_partition", json!({"partition_uuid": partition})),
    ] {
        let hidden = app
            .post(&action(&p.offering, name), &stranger.token, body.clone())
            .await;
        assert_eq!(
            hidden.status,
            StatusCode::NOT_FOUND,
            "{name}: {}",
            hidden.text
        );
        assert_eq!(hidden.body, json!({"detail": NO_OFFERING}));
        let denied = app
            .post(&action(&p.offering, name), &support.token, body)
            .await;
        assert_eq!(
            denied.status,
            StatusCode::FORBIDDEN,
            "{name}: {}",
            denied.text
        );
        assert_eq!(denied.body, json!({"detail": FORBIDDEN}));
    }
    assert_eq!(partition_names(&app, &p.offering).await, vec!["batch"]);

    let managed = app
        .post(
            &action(&p.offering, "add_partition"),
            &manager.token,
            json!({"partition_name": "debug"}),
        )
        .await;
    assert_eq!(managed.status, StatusCode::CREATED, "{}", managed.text);
    assert_eq!(
        partition_names(&app, &p.offering).await,
        vec!["batch", "debug"]
    );
}

#[tokio::test]
async fn partitions_of_an_archived_offering_cannot_change() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let added = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "batch"}),
        )
        .await;
    archive(&app, &p.offering).await;

    let add = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "debug"}),
        )
        .await;
    let update = app
        .patch(
            &action(&p.offering, "update_partition"),
            &p.owner.token,
            json!({"partition_uuid": added.uuid(), "qos": "high"}),
        )
        .await;
    let remove = app
        .post(
            &action(&p.offering, "remove_partition"),
            &p.owner.token,
            json!({"partition_uuid": added.uuid()}),
        )
        .await;

    for reply in [&add, &update, &remove] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.body, json!([ARCHIVED]));
    }
    let listed = offering(&app, &p.offering).await["partitions"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["qos"], "");
}

#[tokio::test]
async fn a_partition_update_merges_the_fields_given() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let added = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            full_partition(),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);

    let reply = app
        .patch(
            &action(&p.offering, "update_partition"),
            &p.owner.token,
            json!({"partition_uuid": added.uuid(), "partition_name": "gpu-large",
                   "max_nodes": 64, "exclusive_topo": false, "qos": "long"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let mut expected = added.body.clone();
    expected["partition_name"] = json!("gpu-large");
    expected["max_nodes"] = json!(64);
    expected["exclusive_topo"] = json!(false);
    expected["qos"] = json!("long");
    expected["modified"] = reply.body["modified"].clone();
    assert_eq!(reply.body, expected);
    assert!(is_timestamp(&reply.body["modified"]));
    assert_ne!(reply.body["modified"], added.body["modified"]);
    let listed = offering(&app, &p.offering).await["partitions"][0].clone();
    assert_eq!(listed["partition_name"], "gpu-large");
    assert_eq!(listed["max_nodes"], 64);
    assert_eq!(listed["max_time"], 2880);
}

#[tokio::test]
async fn a_partition_update_is_accepted_by_post_and_with_a_dashed_uuid() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let added = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "batch"}),
        )
        .await;
    let dashed = Uuid::parse_str(&added.uuid())
        .unwrap()
        .hyphenated()
        .to_string();

    let reply = app
        .post(
            &action(&p.offering, "update_partition"),
            &p.owner.token,
            json!({"partition_uuid": dashed, "max_time": "120"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["uuid"], json!(added.uuid()));
    assert_eq!(reply.body["max_time"], 120);
    assert_eq!(reply.body["partition_name"], "batch");
}

#[tokio::test]
async fn updating_an_unknown_or_foreign_partition_is_not_found() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let other = tenant_offering(&app, &p).await;
    let foreign = app
        .post(
            &action(&other, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "batch"}),
        )
        .await
        .uuid();

    for body in [
        json!({"partition_uuid": foreign, "qos": "x"}),
        json!({"partition_uuid": Uuid::new_v4().to_string()}),
        json!({"partition_uuid": "zz"}),
        json!({"qos": "x"}),
    ] {
        let reply = app
            .patch(
                &action(&p.offering, "update_partition"),
                &p.owner.token,
                body,
            )
            .await;

        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
        assert_eq!(reply.body, json!({"error": "Partition not found"}));
    }
    assert_eq!(offering(&app, &other).await["partitions"][0]["qos"], "");
}

#[tokio::test]
async fn a_partition_cannot_be_renamed_to_a_taken_name_or_given_bad_values() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    for name in ["batch", "debug"] {
        app.post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": name}),
        )
        .await;
    }
    let debug = offering(&app, &p.offering).await["partitions"][1]["uuid"]
        .as_str()
        .unwrap()
        .to_string();

    let taken = app
        .patch(
            &action(&p.offering, "update_partition"),
            &p.owner.token,
            json!({"partition_uuid": debug, "partition_name": "batch"}),
        )
        .await;
    let invalid = app
        .patch(
            &action(&p.offering, "update_partition"),
            &p.owner.token,
            json!({"partition_uuid": debug, "partition_name": "", "min_nodes": "one"}),
        )
        .await;

    assert_eq!(taken.status, StatusCode::BAD_REQUEST, "{}", taken.text);
    assert_eq!(
        taken.body,
        json!({"non_field_errors": ["The fields offering, partition_name must make a unique set."]})
    );
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.text);
    assert_eq!(
        invalid.body,
        json!({
            "min_nodes": ["A valid integer is required."],
            "partition_name": ["This field may not be blank."],
        })
    );
    assert_eq!(
        partition_names(&app, &p.offering).await,
        vec!["batch", "debug"]
    );
}

#[tokio::test]
async fn an_owner_removes_a_partition() {
    let app = spawn_app().await;
    let p = provider(&app).await;
    let added = app
        .post(
            &action(&p.offering, "add_partition"),
            &p.owner.token,
            json!({"partition_name": "batch"}),
        )
        .await;

    let reply = app
        .post(
            &action(&p.offering, "remove_partition"),
            &p.owner.token,
            json!({"partition_uuid": added.uuid()}),
        )
        .await;
    let again = app
        .post(
            &action(&p.offering, "remove_partition"),
            &p.owner.token,
            json!({"partition_uuid": added.uuid()}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert_eq!(reply.text, "");
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
    assert_eq!(again.body, json!({"error": "Partition not found"}));
    assert!(partition_names(&app, &p.offering).await.is_empty());
}

#[tokio::test]
async fn removing_a_partition_without_a_known_uuid_is_not_found() {
    let app = spawn_app().await;
    let p = provider(&app).await;

    for body in [
        json!({}),
        json!({"partition_uuid": Uuid::new_v4().to_string()}),
    ] {
        let reply = app
            .post(
                &action(&p.offering, "remove_partition"),
                &p.owner.token,
                body,
            )
            .await;

        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
        assert_eq!(reply.body, json!({"error": "Partition not found"}));
    }
}
