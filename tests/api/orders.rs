//! Reading orders: the order object, visibility and list filters.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, TestUser};
use crate::world::{self, Names};

struct World {
    app: TestApp,
    consumer_owner: TestUser,
    provider_owner: TestUser,
    stranger: TestUser,
    offering: Reply,
    project: Reply,
    order: Uuid,
    resource: Uuid,
}

fn uuid(reply: &Reply) -> Uuid {
    Uuid::parse_str(&reply.uuid()).unwrap()
}

async fn world() -> World {
    let base = world::World::new(Names::REF).await;
    let offering = base
        .draft_offering(
            "Marketplace.Basic",
            json!({"name": "Ref Basic Offering", "plans": [{"name": "Default", "unit": "month"}]}),
        )
        .await;
    let world::World {
        app,
        consumer,
        project,
        provider,
        ..
    } = base;
    let consumer_owner = app.create_user("consumer-owner").await;
    app.grant(
        "customers",
        &consumer.uuid(),
        &consumer_owner,
        "CUSTOMER.OWNER",
    )
    .await;
    let provider_owner = app.create_user("provider-owner").await;
    app.grant(
        "customers",
        &provider.uuid(),
        &provider_owner,
        "CUSTOMER.OWNER",
    )
    .await;
    let stranger = app.create_user("stranger").await;
    let (order, resource) = app
        .place_order(
            uuid(&offering),
            uuid(&project),
            uuid(&consumer),
            uuid(&provider),
            Uuid::parse_str(&consumer_owner.uuid).unwrap(),
        )
        .await;
    World {
        app,
        consumer_owner,
        provider_owner,
        stranger,
        offering,
        project,
        order,
        resource,
    }
}

#[tokio::test]
async fn an_order_renders_every_field_with_hex_uuids_and_public_links() {
    let w = world().await;

    let reply = w
        .app
        .get(
            &format!("/api/marketplace-orders/{}/", w.order),
            &w.consumer_owner.token,
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = &reply.body;
    assert_eq!(body["uuid"], w.order.simple().to_string());
    assert_eq!(body["state"], "pending-provider");
    assert_eq!(body["type"], "Create");
    assert_eq!(body["cost"], "12.5000000000");
    assert_eq!(body["offering_type"], "Marketplace.Basic");
    assert_eq!(body["offering_name"], "Ref Basic Offering");
    assert_eq!(body["provider_name"], "Ref Provider Org");
    assert_eq!(body["category_title"], "Ref Category");
    assert_eq!(body["project_name"], "Ref Project");
    assert_eq!(body["project_slug"], "ref-proj-1");
    assert_eq!(body["customer_name"], "Ref Consumer Org");
    assert_eq!(
        body["marketplace_resource_uuid"],
        w.resource.simple().to_string()
    );
    assert_eq!(body["resource_name"], "vm-1");
    assert_eq!(body["consumer_reviewed_by"], "consumer-owner");
    assert!(body.get("provider_reviewed_by").is_none());
    assert_eq!(body["provider_reviewed_at"], json!(null));
    assert_eq!(body["can_terminate"], true);
    assert_eq!(
        body["offering"],
        format!(
            "{}/api/marketplace-public-offerings/{}/",
            w.app.address,
            w.offering.uuid()
        )
    );
    assert!(
        body.get("error_traceback").is_none(),
        "only staff see tracebacks"
    );
    let staff = w
        .app
        .get(
            &format!("/api/marketplace-orders/{}/", w.order),
            &w.app.admin_token,
        )
        .await;
    assert_eq!(staff.body["error_traceback"], "");
}

#[tokio::test]
async fn consumers_and_providers_see_the_order_and_strangers_do_not() {
    let w = world().await;
    let path = format!("/api/marketplace-orders/{}/", w.order.simple());

    for user in [&w.consumer_owner, &w.provider_owner] {
        let listed = w.app.get("/api/marketplace-orders/", &user.token).await;
        assert_eq!(listed.count(), 1);
        assert_eq!(w.app.get(&path, &user.token).await.status, StatusCode::OK);
    }
    let listed = w
        .app
        .get("/api/marketplace-orders/", &w.stranger.token)
        .await;
    assert_eq!(listed.count(), 0);
    let hidden = w.app.get(&path, &w.stranger.token).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(
        hidden.body,
        json!({"detail": "No Order matches the given query."})
    );
}

#[tokio::test]
async fn order_lists_filter_by_state_type_offering_and_project() {
    let w = world().await;
    let token = &w.app.admin_token;
    let count = |query: String| {
        let app = &w.app;
        async move {
            app.get(&format!("/api/marketplace-orders/?{query}"), token)
                .await
        }
    };

    assert_eq!(count("state=pending-provider".into()).await.count(), 1);
    assert_eq!(
        count("state=done&state=pending-provider".into())
            .await
            .count(),
        1
    );
    assert_eq!(count("state=done".into()).await.count(), 0);
    assert_eq!(count("type=Create".into()).await.count(), 1);
    assert_eq!(count("type=Terminate".into()).await.count(), 0);
    assert_eq!(
        count(format!("offering_uuid={}", w.offering.uuid()))
            .await
            .count(),
        1
    );
    assert_eq!(
        count(format!("project_uuid={}", w.project.uuid()))
            .await
            .count(),
        1
    );
    assert_eq!(
        count("offering_type=Marketplace.Basic".into())
            .await
            .count(),
        1
    );
    assert_eq!(
        count("offering_type=Marketplace.Slurm".into())
            .await
            .count(),
        0
    );
    let bad = count("state=bogus".into()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.body,
        json!({"state": ["Select a valid choice. bogus is not one of the available choices."]})
    );
    let fields = count("field=uuid&field=state".into()).await;
    assert_eq!(
        fields.items()[0],
        json!({"uuid": w.order.simple().to_string(), "state": "pending-provider"})
    );
}
