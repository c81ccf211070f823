//! The order list: visibility by role, the filters of Waldur's `OrderFilter`, and the
//! approvability filters (`can_approve_as_consumer` / `can_approve_as_provider`).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestUser, spawn_app_with_config};
use crate::order_fixture::{ORDERS, World, world, world_on};

fn uuids(reply: &crate::helpers::Reply) -> Vec<String> {
    reply
        .items()
        .iter()
        .map(|o| o["uuid"].as_str().unwrap().to_string())
        .collect()
}

impl World {
    /// Approves `order` as consumer owner, leaving it pending-provider.
    async fn to_provider(&self, order: &str) {
        let reply = self
            .action(order, "approve_by_consumer", &self.consumer_owner.token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }

    async fn count(&self, query: &str, user: &TestUser) -> i64 {
        let reply = self.list(query, &user.token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.count()
    }
}

#[tokio::test]
async fn staff_and_the_consumer_team_see_the_order_strangers_do_not_and_anonymous_is_401() {
    let w = world().await;
    let order = w.pending_consumer().await;

    let staff = w.app.get(ORDERS, &w.app.admin_token).await;
    for user in [&w.consumer_owner, &w.admin, &w.manager, &w.provider_owner] {
        let reply = w.list("", &user.token).await;
        assert_eq!(reply.count(), 1, "{}", reply.text);
        assert_eq!(reply.body[0]["uuid"], order);
    }
    let stranger = w.list("", &w.stranger.token).await;
    let anonymous = w.app.request(Method::GET, ORDERS, None, None).await;

    assert_eq!(staff.count(), 1);
    assert_eq!(staff.body[0]["uuid"], order);
    assert_eq!(order.len(), 32, "uuids are 32 hex digits");
    assert_eq!(stranger.count(), 0);
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.body,
        json!({"detail": "Authentication credentials were not provided."})
    );
}

#[tokio::test]
async fn service_manager_uuid_lists_orders_of_offerings_the_user_manages_services_for() {
    let w = world().await;
    let order = w.pending_consumer().await;
    let service_manager = w.app.create_user("service-manager").await;
    w.app
        .grant(
            "customers",
            &w.provider.uuid(),
            &service_manager,
            "CUSTOMER.MANAGER",
        )
        .await;

    let managed = w
        .list(
            &format!("service_manager_uuid={}", service_manager.uuid),
            &w.app.admin_token,
        )
        .await;
    let unmanaged = w
        .list(
            &format!("service_manager_uuid={}", w.stranger.uuid),
            &w.app.admin_token,
        )
        .await;
    let invalid = w
        .list("service_manager_uuid=nope", &w.app.admin_token)
        .await;

    assert_eq!(uuids(&managed), vec![order]);
    assert_eq!(unmanaged.count(), 0);
    assert_eq!(invalid.count(), 0);
}

#[tokio::test]
async fn can_approve_as_provider_counts_only_pending_provider_orders_of_the_providers_owner() {
    let w = world().await;
    let order = w.pending_consumer().await;
    w.to_provider(&order).await;
    let query = "can_approve_as_provider=true";

    assert_eq!(w.count(query, &w.provider_owner).await, 1);
    assert_eq!(w.count(query, &w.consumer_owner).await, 0);
    assert_eq!(
        w.app
            .get(&format!("{ORDERS}?{query}"), &w.app.admin_token)
            .await
            .count(),
        1
    );
    let reply = w
        .action(&order, "approve_by_provider", &w.provider_owner.token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(w.count(query, &w.provider_owner).await, 0);
}

#[tokio::test]
async fn can_approve_as_consumer_counts_orders_for_holders_of_order_approve_only() {
    let w = world().await;
    let pending = w.pending_consumer().await;
    let other = w.pending_consumer().await;
    w.to_provider(&other).await;

    for query in [
        "can_approve_as_consumer=true",
        "can_approve_as_consumer=True",
        "can_approve_as_consumer=1",
    ] {
        assert_eq!(w.count(query, &w.consumer_owner).await, 1, "{query}");
        assert_eq!(w.count(query, &w.provider_owner).await, 0, "{query}");
        assert_eq!(w.count(query, &w.manager).await, 0, "{query}");
        assert_eq!(w.count(query, &w.admin).await, 0, "{query}");
    }
    let listed = w
        .list("can_approve_as_consumer=true", &w.consumer_owner.token)
        .await;
    assert_eq!(uuids(&listed), vec![pending]);
    // false still limits the list to orders waiting for the consumer.
    assert_eq!(
        w.count("can_approve_as_consumer=false", &w.manager).await,
        1
    );
    assert_eq!(
        w.count("can_approve_as_consumer=maybe", &w.manager).await,
        2
    );
}

#[tokio::test]
async fn project_managers_and_admins_holding_order_approve_can_approve_as_consumer() {
    let table = std::env::temp_dir().join(format!("permissions-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(
        &table,
        r#"{"CUSTOMER.OWNER": ["ORDER.APPROVE"], "CUSTOMER.MANAGER": [],
            "PROJECT.ADMIN": ["ORDER.APPROVE"], "PROJECT.MANAGER": ["ORDER.APPROVE"],
            "PROJECT.MEMBER": []}"#,
    )
    .unwrap();
    let path = table.clone();
    let app = spawn_app_with_config(move |server| server.permissions_file = Some(path)).await;
    let w = world_on(app).await;
    std::fs::remove_file(&table).ok();
    let member = w.app.create_user("member").await;
    w.app
        .grant("projects", &w.project.uuid(), &member, "PROJECT.MEMBER")
        .await;
    let placed = w.place(&member, json!({})).await;
    assert_eq!(placed.body["state"], "pending-consumer", "{}", placed.text);
    let query = "can_approve_as_consumer=true";

    assert_eq!(w.count(query, &w.manager).await, 1);
    assert_eq!(w.count(query, &w.admin).await, 1);
    assert_eq!(w.count(query, &w.provider_owner).await, 0);
}

#[tokio::test]
async fn orders_filter_by_offering_slug_resource_resource_name_slug_and_auto_approval() {
    let w = world().await;
    let first = w
        .place(&w.manager, json!({"attributes": {"name": "alpha-db"}}))
        .await;
    let second = w
        .place(&w.manager, json!({"attributes": {"name": "beta-web"}}))
        .await;
    let slug = w.offering.body["slug"].as_str().unwrap();
    let resource = w.order(&first.uuid(), &w.manager.token).await.body["marketplace_resource_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let order_slug = w.order(&second.uuid(), &w.manager.token).await.body["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let token = &w.app.admin_token;

    let by_offering_slug = w.list(&format!("offering_slug={slug}"), token).await;
    let by_unknown_slug = w.list("offering_slug=nothing-here", token).await;
    let resource_url = format!("{}/api/marketplace-resources/{resource}/", w.app.address);
    let by_resource = w.list(&format!("resource={resource_url}"), token).await;
    let by_resource_name = w.list("resource_name=alpha-db", token).await;
    let by_partial_name = w.list("resource_name=alpha", token).await;
    let by_slugs = w
        .list(&format!("offering_slug=nothing,{slug}"), token)
        .await;
    let provider_url = format!(
        "{}/api/marketplace-provider-offerings/{}/",
        w.app.address,
        w.offering.uuid()
    );
    let by_provider_url = w.list(&format!("offering={provider_url}"), token).await;
    let by_offering_uuids = w
        .list(
            &format!("offering_uuid={},{}", uuid::Uuid::nil(), w.offering.uuid()),
            token,
        )
        .await;
    let by_slug = w.list(&format!("slug={order_slug}"), token).await;
    let by_parent = w
        .list(
            &format!("parent_offering_uuid={}", w.offering.uuid()),
            token,
        )
        .await;

    assert_eq!(by_offering_slug.count(), 2);
    assert_eq!(by_unknown_slug.count(), 0);
    assert_eq!(uuids(&by_resource), vec![first.uuid()]);
    assert_eq!(uuids(&by_resource_name), vec![first.uuid()]);
    assert_eq!(
        by_partial_name.count(),
        0,
        "resource_name is an exact match"
    );
    assert_eq!(by_slugs.count(), 2);
    assert_eq!(by_provider_url.count(), 2);
    assert_eq!(by_offering_uuids.count(), 2);
    assert_eq!(uuids(&by_slug), vec![second.uuid()]);
    assert_eq!(
        by_parent.count(),
        0,
        "offerings here have no parent offering"
    );
}

#[tokio::test]
async fn orders_filter_by_created_and_modified_ranges_in_django_date_forms() {
    let w = world().await;
    let first = w.pending_consumer().await;
    let second = w.pending_consumer().await;
    let first_created = w.order(&first, &w.manager.token).await.body["created"]
        .as_str()
        .unwrap()
        .to_string();
    let second_created = w.order(&second, &w.manager.token).await.body["created"]
        .as_str()
        .unwrap()
        .to_string();
    w.to_provider(&first).await;
    let modified = w.order(&first, &w.manager.token).await.body["modified"]
        .as_str()
        .unwrap()
        .to_string();
    let token = &w.app.admin_token;
    let enc = |t: &str| t.replace('+', "%2B");

    let after = w
        .list(&format!("created={}", enc(&second_created)), token)
        .await;
    let before = w
        .list(&format!("created_before={}", enc(&first_created)), token)
        .await;
    let modified_after = w.list(&format!("modified={}", enc(&modified)), token).await;
    let modified_before = w
        .list(&format!("modified_before={}", enc(&second_created)), token)
        .await;
    let by_date = w.list("created=2000-01-01", token).await;
    let by_space = w.list("created_before=2000-01-01%2010:00", token).await;
    let bad = w.list("created=yesterday", token).await;
    let bad_modified = w.list("modified_before=2024-02-30", token).await;

    assert_eq!(uuids(&after), vec![second.clone()]);
    assert_eq!(uuids(&before), vec![first.clone()]);
    assert_eq!(uuids(&modified_after), vec![first]);
    assert_eq!(uuids(&modified_before), vec![second]);
    assert_eq!(by_date.count(), 2);
    assert_eq!(by_space.count(), 0);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body, json!({"created": ["Enter a valid date/time."]}));
    assert_eq!(
        bad_modified.body,
        json!({"modified_before": ["Enter a valid date/time."]})
    );
}

#[tokio::test]
async fn query_matches_an_order_uuid_or_the_project_name_resource_name_or_slug() {
    let w = world().await;
    let first = w
        .place(&w.manager, json!({"attributes": {"name": "Gamma-Store"}}))
        .await;
    let second = w
        .place(&w.manager, json!({"attributes": {"name": "delta"}}))
        .await;
    let token = &w.app.admin_token;

    let by_uuid = w.list(&format!("query={}", second.uuid()), token).await;
    let dashed = uuid::Uuid::parse_str(&first.uuid()).unwrap().to_string();
    let by_dashed = w.list(&format!("query={dashed}"), token).await;
    let by_name = w.list("query=gamma", token).await;
    let by_project = w.list("query=alph", token).await;
    let by_nothing = w.list("query=zeta", token).await;
    let order_slug = w.order(&second.uuid(), token).await.body["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let by_slug = w.list(&format!("query={order_slug}"), token).await;

    assert_eq!(uuids(&by_uuid), vec![second.uuid()]);
    assert_eq!(uuids(&by_dashed), vec![first.uuid()]);
    assert_eq!(uuids(&by_name), vec![first.uuid()]);
    assert_eq!(by_project.count(), 2);
    assert_eq!(by_nothing.count(), 0);
    assert!(uuids(&by_slug).contains(&second.uuid()), "{}", by_slug.text);
}

#[tokio::test]
async fn an_executing_order_is_not_one_the_provider_can_approve() {
    let w = world().await;
    let category = w.app.create_category("HPC").await;
    let slurm = w
        .app
        .create_offering(
            &w.provider.url(),
            &category.url(),
            "Marketplace.Slurm",
            json!({"name": "Cluster", "plans": [{"name": "Default", "unit": "month"}]}),
        )
        .await;
    let activated = w
        .app
        .post(
            &format!(
                "/api/marketplace-provider-offerings/{}/activate/",
                slurm.uuid()
            ),
            &w.app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.text);
    let public = format!(
        "{}/api/marketplace-public-offerings/{}/",
        w.app.address,
        slurm.uuid()
    );
    let plan = slurm.body["plans"][0]["uuid"].as_str().unwrap();
    let placed = w
        .place(
            &w.manager,
            json!({"offering": public, "plan": format!("{public}plans/{plan}/"), "limits": {}}),
        )
        .await;
    let order = placed.uuid();
    w.to_provider(&order).await;
    let query = "can_approve_as_provider=true";
    assert_eq!(w.count(query, &w.provider_owner).await, 1);

    let reply = w
        .action(&order, "approve_by_provider", &w.provider_owner.token)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        w.order(&order, &w.manager.token).await.body["state"],
        "executing"
    );
    assert_eq!(w.count(query, &w.provider_owner).await, 0);
}
