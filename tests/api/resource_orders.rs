//! Update and Terminate orders placed from a resource (`update_limits`, `switch_plan`,
//! `terminate`), their checks, approval and cost, and what their outcome does to the
//! resource.

use reqwest::StatusCode;
use serde_json::json;

use crate::resource_world::{World, world};
use crate::world::plan_uuid;

/// The order a resource action placed, checked for the answer Waldur gives.
pub(crate) fn placed(reply: &crate::helpers::Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let order = reply.body["order_uuid"].as_str().expect("order_uuid");
    assert_eq!(reply.body.as_object().unwrap().len(), 1, "{}", reply.text);
    assert_eq!(order.len(), 32);
    order.to_string()
}

impl World {
    pub(crate) async fn state_of(&self, resource: &str) -> String {
        let reply = self.app.resource(resource, &self.app.admin_token).await;
        reply.body["state"].as_str().unwrap().to_string()
    }

    pub(crate) async fn update_limits(
        &self,
        resource: &str,
        token: &str,
        limits: serde_json::Value,
    ) -> crate::helpers::Reply {
        self.app
            .resource_action(
                resource,
                "update_limits",
                token,
                json!({ "limits": limits }),
            )
            .await
    }
}

#[tokio::test]
async fn an_update_order_done_gives_the_resource_its_new_limits_and_plan() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    assert_eq!(w.state_of(&resource).await, "OK");

    let reply = w
        .update_limits(&resource, &w.consumer_owner.token, json!({"storage": 100}))
        .await;

    let order_uuid = placed(&reply);
    let order = w.app.order(&order_uuid).await;
    assert_eq!(order.body["type"], "Update");
    assert_eq!(order.body["state"], "pending-provider");
    assert_eq!(order.body["marketplace_resource_uuid"], resource.as_str());
    assert_eq!(order.body["limits"], json!({"storage": 100}));
    assert_eq!(
        order.body["attributes"],
        json!({"old_limits": {"storage": 50}})
    );
    assert_eq!(
        order.body["plan_uuid"],
        plan_uuid(&w.offering, "Default").as_str()
    );
    assert_eq!(
        order.body["old_plan_uuid"],
        plan_uuid(&w.offering, "Default").as_str()
    );
    assert_eq!(w.state_of(&resource).await, "Updating");
    let still_old = w.app.resource(&resource, &w.app.admin_token).await;
    assert_eq!(still_old.body["limits"], json!({"storage": 50}));

    let approve = w
        .app
        .order_action(&order_uuid, "approve_by_provider", &w.provider_owner.token)
        .await;
    assert_eq!(approve.status, StatusCode::OK, "{}", approve.text);

    assert_eq!(w.app.order(&order_uuid).await.body["state"], "done");
    let after = w.app.resource(&resource, &w.app.admin_token).await;
    assert_eq!(after.body["state"], "OK");
    assert_eq!(after.body["limits"], json!({"storage": 100}));
    assert_eq!(after.body["plan_uuid"], order.body["plan_uuid"]);
}

#[tokio::test]
async fn switching_plan_places_an_update_order_that_moves_the_resource_to_the_new_plan() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    let large = w.plan_url(&w.offering, "Large");

    let reply = w
        .app
        .resource_action(
            &resource,
            "switch_plan",
            &w.manager.token,
            json!({ "plan": large }),
        )
        .await;

    let order_uuid = placed(&reply);
    let order = w.app.order(&order_uuid).await;
    assert_eq!(order.body["type"], "Update");
    assert_eq!(order.body["old_plan_name"], "Default");
    assert_eq!(order.body["new_plan_name"], "Large");
    assert_eq!(order.body["limits"], json!({"storage": 50}));
    // Large: unit price 20 plus 50 storage at 1.
    assert_eq!(order.body["cost"], "70.0000000000");
    assert_eq!(w.state_of(&resource).await, "Updating");
    // A project manager's order waits for the consumer's review first.
    assert_eq!(order.body["state"], "pending-consumer");
    let approve = w
        .app
        .order_action(&order_uuid, "approve_by_consumer", &w.consumer_owner.token)
        .await;
    assert_eq!(approve.status, StatusCode::OK, "{}", approve.text);
    let approve = w
        .app
        .order_action(&order_uuid, "approve_by_provider", &w.provider_owner.token)
        .await;
    assert_eq!(approve.status, StatusCode::OK, "{}", approve.text);

    let after = w.app.resource(&resource, &w.app.admin_token).await;
    assert_eq!(after.body["state"], "OK");
    assert_eq!(after.body["plan_name"], "Large");
    assert_eq!(
        after.body["plan_uuid"],
        plan_uuid(&w.offering, "Large").as_str()
    );
    assert_eq!(after.body["cost"], "70.0000000000");
}

#[tokio::test]
async fn a_terminate_order_done_terminates_the_resource() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;

    let reply = w
        .app
        .resource_action(
            &resource,
            "terminate",
            &w.consumer_owner.token,
            json!({"attributes": {"reason": "done with it"}}),
        )
        .await;

    let order_uuid = placed(&reply);
    let order = w.app.order(&order_uuid).await;
    assert_eq!(order.body["type"], "Terminate");
    assert_eq!(order.body["state"], "pending-provider");
    assert_eq!(order.body["attributes"], json!({"reason": "done with it"}));
    assert_eq!(w.state_of(&resource).await, "Terminating");
    let approve = w
        .app
        .order_action(&order_uuid, "approve_by_provider", &w.provider_owner.token)
        .await;
    assert_eq!(approve.status, StatusCode::OK, "{}", approve.text);
    assert_eq!(w.app.order(&order_uuid).await.body["state"], "done");
    assert_eq!(w.state_of(&resource).await, "Terminated");

    // A terminated resource is not terminated again.
    let again = w
        .app
        .resource_action(&resource, "terminate", &w.consumer_owner.token, json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(
        again.body,
        json!({"detail": "Valid states for operation: OK, Erred."})
    );
}

#[tokio::test]
async fn a_terminate_action_takes_an_empty_body() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;

    let response = w
        .app
        .client
        .post(format!(
            "{}/api/marketplace-resources/{resource}/terminate/",
            w.app.address
        ))
        .header("Authorization", format!("Token {}", w.consumer_owner.token))
        .send()
        .await
        .unwrap();
    let reply = crate::helpers::TestApp::reply(response).await;

    placed(&reply);
    assert_eq!(w.state_of(&resource).await, "Terminating");
}

#[tokio::test]
async fn a_rejected_update_order_leaves_the_resource_ok_with_its_old_plan_and_limits() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    let order_uuid = placed(
        &w.update_limits(&resource, &w.consumer_owner.token, json!({"storage": 100}))
            .await,
    );

    let reject = w
        .app
        .order_action(&order_uuid, "reject_by_provider", &w.provider_owner.token)
        .await;

    assert_eq!(reject.status, StatusCode::OK, "{}", reject.text);
    assert_eq!(w.app.order(&order_uuid).await.body["state"], "rejected");
    let after = w.app.resource(&resource, &w.app.admin_token).await;
    assert_eq!(after.body["state"], "OK");
    assert_eq!(after.body["limits"], json!({"storage": 50}));
    assert_eq!(after.body["plan_name"], "Default");
}

#[tokio::test]
async fn a_rejected_plan_switch_leaves_the_resource_ok_on_its_old_plan() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    let order_uuid = placed(
        &w.app
            .resource_action(
                &resource,
                "switch_plan",
                &w.consumer_owner.token,
                json!({"plan": w.plan_url(&w.offering, "Large")}),
            )
            .await,
    );
    assert_eq!(w.state_of(&resource).await, "Updating");

    let reject = w
        .app
        .order_action(&order_uuid, "reject_by_provider", &w.provider_owner.token)
        .await;

    assert_eq!(reject.status, StatusCode::OK, "{}", reject.text);
    let after = w.app.resource(&resource, &w.app.admin_token).await;
    assert_eq!(after.body["state"], "OK");
    assert_eq!(after.body["plan_name"], "Default");
    assert_eq!(after.body["limits"], json!({"storage": 50}));
}

#[tokio::test]
async fn a_rejected_terminate_order_leaves_the_resource_ok() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    let order_uuid = placed(
        &w.app
            .resource_action(&resource, "terminate", &w.consumer_owner.token, json!({}))
            .await,
    );
    assert_eq!(w.state_of(&resource).await, "Terminating");

    let reject = w
        .app
        .order_action(&order_uuid, "reject_by_provider", &w.provider_owner.token)
        .await;

    assert_eq!(reject.status, StatusCode::OK, "{}", reject.text);
    assert_eq!(w.state_of(&resource).await, "OK");
}

#[tokio::test]
async fn the_providers_owner_terminates_without_the_consumers_review() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;

    let reply = w
        .app
        .resource_action(&resource, "terminate", &w.provider_owner.token, json!({}))
        .await;

    let order = w.app.order(&placed(&reply)).await;
    assert_eq!(order.body["state"], "pending-provider");
    assert_eq!(order.body["consumer_reviewed_by"], "provider-owner");
}

#[tokio::test]
async fn the_provider_terminates_from_its_own_side_too() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;

    let reply = w
        .app
        .post(
            &format!("/api/marketplace-provider-resources/{resource}/terminate/"),
            &w.provider_owner.token,
            json!({}),
        )
        .await;

    let order = w.app.order(&placed(&reply)).await;
    assert_eq!(order.body["type"], "Terminate");
    assert_eq!(w.state_of(&resource).await, "Terminating");
    // Consumers do not see the provider's side.
    let reply = w
        .app
        .post(
            &format!("/api/marketplace-provider-resources/{resource}/terminate/"),
            &w.consumer_owner.token,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
}

#[tokio::test]
async fn only_users_with_the_permission_change_a_resource() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    let member = w.app.create_user("member").await;
    w.app
        .grant("projects", &w.project.uuid(), &member, "PROJECT.MEMBER")
        .await;

    for (action, body) in [
        ("terminate", json!({})),
        ("update_limits", json!({"limits": {"storage": 60}})),
        (
            "switch_plan",
            json!({"plan": w.plan_url(&w.offering, "Large")}),
        ),
    ] {
        let reply = w
            .app
            .resource_action(&resource, action, &w.stranger.token, body.clone())
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{action}: {}",
            reply.text
        );
        let reply = w
            .app
            .resource_action(&resource, action, &member.token, body.clone())
            .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{action}: {}",
            reply.text
        );
    }
    // The provider's owner may terminate, not change limits.
    let reply = w
        .update_limits(&resource, &w.provider_owner.token, json!({"storage": 60}))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    assert_eq!(w.state_of(&resource).await, "OK");
}

#[tokio::test]
async fn a_resource_with_a_pending_order_takes_no_other_order() {
    let w = world().await;
    let (_, creating) = w.pending_resource(json!({"storage": 50})).await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    placed(
        &w.update_limits(&resource, &w.consumer_owner.token, json!({"storage": 60}))
            .await,
    );

    // Updating now: the state check comes first.
    let reply = w
        .update_limits(&resource, &w.consumer_owner.token, json!({"storage": 70}))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"detail": "Valid states for operation: OK."})
    );
    // A creating resource cannot be terminated either.
    let reply = w
        .app
        .resource_action(&creating, "terminate", &w.consumer_owner.token, json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
}

#[tokio::test]
async fn concurrent_changes_of_one_resource_place_a_single_order() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;

    let replies = futures::future::join_all((0..6).map(|i| {
        w.update_limits(
            &resource,
            &w.consumer_owner.token,
            json!({"storage": 60 + i}),
        )
    }))
    .await;

    let placed_count = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        placed_count,
        1,
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        // Refused by the state check when the first one is already visible, else by the
        // resource itself when both raced past it.
        assert!(
            reply.status == StatusCode::CONFLICT || reply.status == StatusCode::BAD_REQUEST,
            "{}",
            reply.text
        );
    }
    let updates = w
        .app
        .scalar_i64(&format!(
            "SELECT count(*) FROM projection.orders WHERE resource_uuid = '{resource}' \
             AND type = 'Update'"
        ))
        .await;
    assert_eq!(updates, 1);
}

#[tokio::test]
async fn a_pending_order_for_the_resource_is_refused_with_waldurs_message() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    // An erred resource may be terminated, but not while an order for it is executing.
    use ledger::domain::resource::{OrderOutcome, Resource, ResourceCommand};
    use ledger::store::metadata::{CommandContext, Source};
    let ctx = CommandContext::system(Source::Cli);
    let erred_update = ResourceCommand::SettleOrder {
        order_type: ledger::domain::order::OrderType::Update,
        outcome: OrderOutcome::Erred,
        plan_uuid: None,
        limits: Default::default(),
        at: ctx.now,
    };
    let run = |command: ResourceCommand| {
        let (ledger, resource, ctx) = (&w.app.ledger, &resource, &ctx);
        async move {
            ledger
                .execute::<Resource>(resource, command, ctx)
                .await
                .unwrap()
        }
    };
    run(ResourceCommand::BeginChange {
        order_type: ledger::domain::order::OrderType::Update,
        at: ctx.now,
    })
    .await;
    run(erred_update.clone()).await;
    assert_eq!(w.state_of(&resource).await, "Erred");
    let order_uuid = placed(
        &w.app
            .resource_action(&resource, "terminate", &w.consumer_owner.token, json!({}))
            .await,
    );
    // Put the resource back to Erred with the Terminate order still pending.
    run(erred_update).await;
    assert_eq!(w.state_of(&resource).await, "Erred");

    let reply = w
        .app
        .resource_action(&resource, "terminate", &w.consumer_owner.token, json!({}))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!(["Pending order for resource already exists."])
    );
    assert_eq!(
        w.app.order(&order_uuid).await.body["state"],
        "pending-provider"
    );
}

#[tokio::test]
async fn update_limits_takes_only_limit_components_within_their_bounds() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    let token = &w.consumer_owner.token;

    let reply = w.update_limits(&resource, token, json!({"seat": 2})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, json!({"limits": ["Invalid types: seat"]}));
    let reply = w
        .update_limits(&resource, token, json!({"storage": 5000}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"limits": ["The limit 5000 value cannot be more than 1000."]})
    );
    let reply = w
        .update_limits(&resource, token, json!({"storage": "many"}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let reply = w
        .update_limits(&resource, token, json!({"storage": 50}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let reply = w
        .app
        .resource_action(&resource, "update_limits", token, json!({}))
        .await;
    assert_eq!(reply.body, json!({"limits": ["This field is required."]}));
    assert_eq!(w.state_of(&resource).await, "OK");
}

#[tokio::test]
async fn switch_plan_takes_an_active_plan_of_the_same_offering() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    let other = w
        .basic_offering(json!({"plans": [{"name": "Elsewhere", "unit": "month"}]}))
        .await;
    let token = &w.consumer_owner.token;

    let reply = w
        .app
        .resource_action(
            &resource,
            "switch_plan",
            token,
            json!({"plan": w.plan_url(&other, "Elsewhere")}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"plan": ["This plan is not available for selected offering."]})
    );
    let archive = w
        .app
        .post(
            &format!(
                "/api/marketplace-plans/{}/archive/",
                plan_uuid(&w.offering, "Large")
            ),
            &w.app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(archive.status, StatusCode::OK, "{}", archive.text);
    let reply = w
        .app
        .resource_action(
            &resource,
            "switch_plan",
            token,
            json!({"plan": w.plan_url(&w.offering, "Large")}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let reply = w
        .app
        .resource_action(&resource, "switch_plan", token, json!({}))
        .await;
    assert_eq!(reply.body, json!({"plan": ["This field is required."]}));
    assert_eq!(w.state_of(&resource).await, "OK");
}

#[tokio::test]
async fn a_blocked_organization_changes_nothing_and_an_expired_project_only_terminates() {
    let w = world().await;
    let resource = w.ok_resource(json!({"storage": 50})).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let reply = w
        .app
        .patch(
            &format!("/api/projects/{}/", w.project.uuid()),
            &w.app.admin_token,
            json!({ "end_date": today }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let reply = w
        .update_limits(&resource, &w.consumer_owner.token, json!({"storage": 60}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, json!(["Project 'Alpha' is expired."]));

    let customer = format!("/api/customers/{}/", w.consumer.uuid());
    let reply = w
        .app
        .patch(&customer, &w.app.admin_token, json!({"blocked": true}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = w
        .app
        .resource_action(&resource, "terminate", &w.consumer_owner.token, json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!(["Blocked organization is not available."])
    );
    let reply = w
        .app
        .patch(&customer, &w.app.admin_token, json!({"blocked": false}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let reply = w
        .app
        .resource_action(&resource, "terminate", &w.consumer_owner.token, json!({}))
        .await;
    placed(&reply);
}
