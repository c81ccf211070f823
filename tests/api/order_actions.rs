//! Order actions: consumer and provider reviews, the agent's state changes, cancel, retry,
//! backend ids, delete, unlink and the order's offering.

use ledger::domain::order::{Order, OrderCommand, OrderSpec, OrderState, OrderType};
use ledger::domain::resource::{Resource, ResourceCommand, ResourceSpec};
use ledger::store::metadata::{CommandContext, Source};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Cast, Reply, TestUser};
use crate::world::{self, Names};

/// The shared world on plain names with its team, and draft Basic and SLURM offerings.
struct World {
    base: world::World,
    basic: Reply,
    slurm: Reply,
    consumer_owner: TestUser,
    provider_owner: TestUser,
    manager: TestUser,
    admin: TestUser,
    stranger: TestUser,
}

impl std::ops::Deref for World {
    type Target = world::World;

    fn deref(&self) -> &world::World {
        &self.base
    }
}

fn uuid(reply: &Reply) -> Uuid {
    Uuid::parse_str(&reply.uuid()).unwrap()
}

fn user_uuid(user: &TestUser) -> Uuid {
    Uuid::parse_str(&user.uuid).unwrap()
}

async fn world() -> World {
    let base = world::World::new(Names::PLAIN).await;
    let plans = json!({"plans": [{"name": "Default", "unit": "month"}]});
    let basic = base
        .draft_offering("Marketplace.Basic", plans.clone())
        .await;
    let slurm = base.draft_offering("Marketplace.Slurm", plans).await;
    let Cast {
        consumer_owner,
        provider_owner,
        manager,
        admin,
        stranger,
    } = base.cast().await;
    World {
        base,
        basic,
        slurm,
        consumer_owner,
        provider_owner,
        manager,
        admin,
        stranger,
    }
}

impl World {
    /// A Create order for `offering`, pending the provider, approved by `creator`.
    async fn pending_provider(&self, offering: &Reply, creator: &TestUser) -> (Uuid, Uuid) {
        self.app
            .place_order(
                uuid(offering),
                uuid(&self.project),
                uuid(&self.consumer),
                uuid(&self.provider),
                user_uuid(creator),
            )
            .await
    }

    /// A Create order for `offering` that waits for the consumer's review.
    async fn pending_consumer(&self, offering: &Reply, creator: &TestUser) -> (Uuid, Uuid) {
        let ctx = CommandContext::system(Source::Cli);
        let (order, resource) = (Uuid::new_v4(), Uuid::new_v4());
        let create = ResourceCommand::Create {
            spec: Box::new(ResourceSpec {
                uuid: resource,
                offering_uuid: uuid(offering),
                project_uuid: uuid(&self.project),
                customer_uuid: uuid(&self.consumer),
                plan_uuid: None,
                name: "vm-2".into(),
                limits: Default::default(),
                attributes: Default::default(),
                end_date: None,
                end_date_requested_by: None,
                slug: "vm-2".into(),
            }),
            backend_id: String::new(),
            running: false,
            at: ctx.now,
        };
        self.app
            .ledger
            .execute::<Resource>(&resource.simple().to_string(), create, &ctx)
            .await
            .unwrap();
        let spec = OrderSpec {
            uuid: order,
            order_type: OrderType::Create,
            resource_uuid: resource,
            offering_uuid: uuid(offering),
            project_uuid: uuid(&self.project),
            customer_uuid: uuid(&self.consumer),
            provider_customer_uuid: uuid(&self.provider),
            plan_uuid: None,
            old_plan_uuid: None,
            limits: Default::default(),
            old_limits: Default::default(),
            attributes: Default::default(),
            cost: None,
            fixed_price: Default::default(),
            activation_price: Default::default(),
            created_by: user_uuid(creator),
            callback_url: None,
            request_comment: String::new(),
            start_date: None,
            slug: "vm-2".into(),
        };
        let place = OrderCommand::Place {
            spec: Box::new(spec),
            consumer_reviewer: None,
            next: OrderState::PendingConsumer,
            at: ctx.now,
        };
        self.command(order, place).await;
        (order, resource)
    }

    /// Runs an order command through the library.
    async fn command(&self, order: Uuid, command: OrderCommand) {
        let ctx = CommandContext::system(Source::Cli);
        self.app
            .ledger
            .execute::<Order>(&order.simple().to_string(), command, &ctx)
            .await
            .unwrap();
    }

    async fn action(&self, order: Uuid, action: &str, token: &str) -> Reply {
        self.app
            .request(
                Method::POST,
                &format!("/api/marketplace-orders/{}/{action}/", order.simple()),
                Some(token),
                None,
            )
            .await
    }

    async fn action_with(&self, order: Uuid, action: &str, token: &str, body: Value) -> Reply {
        self.app
            .post(
                &format!("/api/marketplace-orders/{}/{action}/", order.simple()),
                token,
                body,
            )
            .await
    }

    async fn order(&self, order: Uuid) -> Value {
        let reply = self
            .app
            .get(
                &format!("/api/marketplace-orders/{}/", order.simple()),
                &self.app.admin_token,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    async fn resource_state(&self, resource: Uuid) -> String {
        sqlx::query_scalar("SELECT document->>'state' FROM projection.resources WHERE uuid = $1")
            .bind(resource)
            .fetch_one(&self.app.ledger.pool)
            .await
            .expect("the resource row")
    }

    async fn block_consumer(&self) {
        let reply = self
            .app
            .patch(
                &format!("/api/customers/{}/", self.consumer.uuid()),
                &self.app.admin_token,
                json!({"blocked": true}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
}

fn forbidden() -> Value {
    json!({"detail": "You do not have permission to perform this action."})
}

fn valid_states(states: &str) -> Value {
    json!({ "detail": format!("Valid states for operation: {states}.") })
}

#[tokio::test]
async fn a_consumer_owner_approves_a_pending_consumer_order_and_becomes_its_reviewer() {
    let w = world().await;
    let (order, _) = w.pending_consumer(&w.basic, &w.manager).await;

    let reply = w
        .action(order, "approve_by_consumer", &w.consumer_owner.token)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"detail": "Order is pending provider approval."})
    );
    let body = w.order(order).await;
    assert_eq!(body["state"], "pending-provider");
    assert_eq!(body["consumer_reviewed_by"], "consumer-owner");
}

#[tokio::test]
async fn project_managers_and_admins_without_approve_cannot_approve_as_consumer() {
    let w = world().await;
    let (order, _) = w.pending_consumer(&w.basic, &w.manager).await;

    for user in [&w.manager, &w.admin] {
        let reply = w.action(order, "approve_by_consumer", &user.token).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        assert_eq!(reply.body, forbidden());
    }
    let body = w.order(order).await;
    assert_eq!(body["state"], "pending-consumer");
    assert!(body.get("consumer_reviewed_by").is_none());
}

#[tokio::test]
async fn approving_an_executing_order_as_consumer_is_a_conflict_and_sets_no_reviewer() {
    let w = world().await;
    let (order, _) = w.pending_consumer(&w.slurm, &w.manager).await;
    let started = w
        .action(order, "set_state_executing", &w.app.admin_token)
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);

    let reply = w
        .action(order, "approve_by_consumer", &w.consumer_owner.token)
        .await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.body, valid_states("pending-consumer"));
    let body = w.order(order).await;
    assert_eq!(body["state"], "executing");
    assert!(body.get("consumer_reviewed_by").is_none());
}

#[tokio::test]
async fn a_blocked_customer_refuses_consumer_approval_and_rejection() {
    let w = world().await;
    let (order, _) = w.pending_consumer(&w.basic, &w.manager).await;
    w.block_consumer().await;

    let approve = w
        .action(order, "approve_by_consumer", &w.consumer_owner.token)
        .await;
    let reject = w
        .action(order, "reject_by_consumer", &w.manager.token)
        .await;

    for reply in [approve, reject] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(
            reply.body,
            json!(["Blocked organization is not available."])
        );
    }
    assert_eq!(w.order(order).await["state"], "pending-consumer");
}

#[tokio::test]
async fn staff_cannot_approve_an_order_of_a_project_whose_end_date_is_today() {
    let w = world().await;
    let (order, _) = w.pending_consumer(&w.basic, &w.manager).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let patched = w
        .app
        .patch(
            &format!("/api/projects/{}/", w.project.uuid()),
            &w.app.admin_token,
            json!({"end_date": today}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);

    let reply = w
        .action(order, "approve_by_consumer", &w.app.admin_token)
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body, json!(["Project 'Alpha' is expired."]));
}

#[tokio::test]
async fn a_basic_order_approved_by_the_provider_is_done_and_its_resource_ok() {
    let w = world().await;
    let (order, resource) = w.pending_provider(&w.basic, &w.consumer_owner).await;

    let reply = w
        .action_with(
            order,
            "approve_by_provider",
            &w.provider_owner.token,
            json!({"attributes": {"note": "ok"}}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"detail": "Order has been approved and is being processed."})
    );
    let body = w.order(order).await;
    assert_eq!(body["state"], "done");
    assert_eq!(body["provider_reviewed_by"], "provider-owner");
    assert_eq!(body["attributes"]["note"], "ok");
    assert_eq!(w.resource_state(resource).await, "Ok");

    let done = w
        .action(order, "set_state_done", &w.provider_owner.token)
        .await;
    assert_eq!(done.status, StatusCode::CONFLICT, "{}", done.text);
    assert_eq!(done.body, valid_states("executing"));
    let again = w
        .action(order, "approve_by_provider", &w.provider_owner.token)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.body, valid_states("pending-provider"));
}

#[tokio::test]
async fn set_state_executing_on_a_basic_order_is_not_allowed_for_its_type() {
    let w = world().await;
    let (order, _) = w.pending_provider(&w.basic, &w.consumer_owner).await;

    let reply = w
        .action(order, "set_state_executing", &w.app.admin_token)
        .await;

    assert_eq!(
        reply.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        reply.text
    );
    assert_eq!(
        reply.body,
        json!({"detail": "Method \"The order's offering with Marketplace.Basic type does not support this action\" not allowed."})
    );
}

#[tokio::test]
async fn the_consumer_owner_cannot_approve_as_provider() {
    let w = world().await;
    let (order, _) = w.pending_provider(&w.basic, &w.consumer_owner).await;

    let reply = w
        .action(order, "approve_by_provider", &w.consumer_owner.token)
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    assert_eq!(reply.body, forbidden());
    assert_eq!(w.order(order).await["state"], "pending-provider");
}

#[tokio::test]
async fn the_creator_and_owner_reject_as_consumer_but_support_cannot() {
    let w = world().await;
    let support = w.app.create_support_user("support").await;
    let (by_creator, resource) = w.pending_consumer(&w.basic, &w.manager).await;
    let (by_owner, _) = w.pending_consumer(&w.basic, &w.manager).await;

    let refused = w
        .action(by_creator, "reject_by_consumer", &support.token)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.body, forbidden());

    let reply = w
        .action(by_creator, "reject_by_consumer", &w.manager.token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.text, "");
    assert_eq!(w.order(by_creator).await["state"], "rejected");
    assert_eq!(w.resource_state(resource).await, "Terminated");

    let owner = w
        .action_with(
            by_owner,
            "reject_by_consumer",
            &w.consumer_owner.token,
            json!({"consumer_rejection_comment": "too expensive", "error_message": "no"}),
        )
        .await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.text);
    let body = w.order(by_owner).await;
    assert_eq!(body["state"], "rejected");
    assert_eq!(body["consumer_rejection_comment"], "too expensive");
    assert_eq!(body["error_message"], "no");

    let again = w
        .action(by_creator, "reject_by_consumer", &w.consumer_owner.token)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.body, valid_states("pending-consumer"));
}

#[tokio::test]
async fn the_provider_owner_rejects_a_pending_provider_order_and_its_resource_is_terminated() {
    let w = world().await;
    let (order, resource) = w.pending_provider(&w.basic, &w.consumer_owner).await;

    for user in [&w.admin, &w.manager] {
        let refused = w.action(order, "reject_by_provider", &user.token).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    }
    let reply = w
        .action_with(
            order,
            "reject_by_provider",
            &w.provider_owner.token,
            json!({"provider_rejection_comment": "no capacity"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.text, "");
    let body = w.order(order).await;
    assert_eq!(body["state"], "rejected");
    assert_eq!(body["provider_rejection_comment"], "no capacity");
    assert_eq!(w.resource_state(resource).await, "Terminated");
}

#[tokio::test]
async fn rejecting_an_executing_order_as_provider_is_a_conflict() {
    let w = world().await;
    let (order, _) = w.pending_provider(&w.slurm, &w.consumer_owner).await;
    let approved = w
        .action(order, "approve_by_provider", &w.provider_owner.token)
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);

    let reply = w
        .action(order, "reject_by_provider", &w.provider_owner.token)
        .await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.body, valid_states("pending-provider"));
}

#[tokio::test]
async fn the_provider_moves_a_slurm_order_through_executing_to_done() {
    let w = world().await;
    let (order, resource) = w.pending_consumer(&w.slurm, &w.manager).await;

    for user in [&w.admin, &w.manager, &w.consumer_owner] {
        let refused = w.action(order, "set_state_executing", &user.token).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    }
    let executing = w
        .action(order, "set_state_executing", &w.provider_owner.token)
        .await;
    assert_eq!(executing.status, StatusCode::OK, "{}", executing.text);
    assert_eq!(w.order(order).await["state"], "executing");

    let again = w
        .action(order, "set_state_executing", &w.provider_owner.token)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(
        again.body,
        valid_states("pending-consumer, pending-provider, erred")
    );

    let done = w
        .action(order, "set_state_done", &w.provider_owner.token)
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(w.order(order).await["state"], "done");
    assert_eq!(w.resource_state(resource).await, "Ok");
}

#[tokio::test]
async fn set_state_erred_fails_an_executing_order_and_only_records_errors_otherwise() {
    let w = world().await;
    let (order, resource) = w.pending_provider(&w.slurm, &w.consumer_owner).await;
    let approved = w
        .action(order, "approve_by_provider", &w.app.admin_token)
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);

    let reply = w
        .action_with(
            order,
            "set_state_erred",
            &w.provider_owner.token,
            json!({"error_message": "boom", "error_traceback": "  trace\n"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = w.order(order).await;
    assert_eq!(body["state"], "erred");
    assert_eq!(body["error_message"], "boom");
    assert_eq!(body["error_traceback"], "trace");
    assert_eq!(w.resource_state(resource).await, "Terminated");

    let (pending, pending_resource) = w.pending_provider(&w.slurm, &w.consumer_owner).await;
    let recorded = w
        .action_with(
            pending,
            "set_state_erred",
            &w.provider_owner.token,
            json!({"error_message": "late"}),
        )
        .await;
    assert_eq!(recorded.status, StatusCode::OK, "{}", recorded.text);
    let body = w.order(pending).await;
    assert_eq!(body["state"], "pending-provider");
    assert_eq!(body["error_message"], "late");
    assert_eq!(w.resource_state(pending_resource).await, "Creating");
}

#[tokio::test]
async fn an_erred_slurm_order_is_retried_into_executing() {
    let w = world().await;
    let (order, resource) = w.pending_provider(&w.slurm, &w.consumer_owner).await;
    let ctx = CommandContext::system(Source::Cli);
    w.app
        .ledger
        .execute::<Resource>(
            &resource.simple().to_string(),
            ResourceCommand::SetBackendId {
                backend_id: "job-1".into(),
                at: ctx.now,
            },
            &ctx,
        )
        .await
        .unwrap();
    let approved = w
        .action(order, "approve_by_provider", &w.provider_owner.token)
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);

    let early = w.action(order, "retry", &w.provider_owner.token).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text);
    assert_eq!(early.body, valid_states("erred"));

    let erred = w
        .action_with(
            order,
            "set_state_erred",
            &w.provider_owner.token,
            json!({"error_message": "boom"}),
        )
        .await;
    assert_eq!(erred.status, StatusCode::OK, "{}", erred.text);
    assert_eq!(w.resource_state(resource).await, "Erred");

    let refused = w.action(order, "retry", &w.consumer_owner.token).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);

    let reply = w.action(order, "retry", &w.provider_owner.token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body, json!({"detail": "Order has been retried."}));
    let body = w.order(order).await;
    assert_eq!(body["state"], "executing");
    assert_eq!(body["error_message"], "");
    assert_eq!(w.resource_state(resource).await, "Creating");
}

#[tokio::test]
async fn consumers_cancel_a_basic_order_with_202_and_its_resource_is_terminated() {
    let w = world().await;
    let (by_owner, resource) = w.pending_consumer(&w.basic, &w.manager).await;
    let (by_manager, _) = w.pending_provider(&w.basic, &w.consumer_owner).await;
    let (by_admin, _) = w.pending_consumer(&w.basic, &w.manager).await;

    for (order, user) in [
        (by_owner, &w.consumer_owner),
        (by_manager, &w.manager),
        (by_admin, &w.admin),
    ] {
        let reply = w.action(order, "cancel", &user.token).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
        assert_eq!(reply.text, "");
        assert_eq!(w.order(order).await["state"], "canceled");
    }
    assert_eq!(w.resource_state(resource).await, "Terminated");

    let stranger = w.action(by_owner, "cancel", &w.stranger.token).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "{}", stranger.text);
}

#[tokio::test]
async fn canceling_a_finished_order_is_a_conflict_and_a_slurm_order_cannot_be_canceled() {
    let w = world().await;
    let expected =
        valid_states("pending-consumer, pending-provider, pending-start-date, executing");
    let (canceled, _) = w.pending_consumer(&w.basic, &w.manager).await;
    let first = w.action(canceled, "cancel", &w.app.admin_token).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    let (done, _) = w.pending_provider(&w.basic, &w.consumer_owner).await;
    let approved = w
        .action(done, "approve_by_provider", &w.app.admin_token)
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    let (erred, _) = w.pending_consumer(&w.basic, &w.manager).await;
    let at = chrono::Utc::now();
    w.command(erred, OrderCommand::SetStateExecuting { at })
        .await;
    w.command(
        erred,
        OrderCommand::SetStateErred {
            error_message: "boom".into(),
            error_traceback: String::new(),
            at,
        },
    )
    .await;

    for order in [canceled, done, erred] {
        let reply = w.action(order, "cancel", &w.consumer_owner.token).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        assert_eq!(reply.body, expected);
    }

    let (slurm, _) = w.pending_consumer(&w.slurm, &w.manager).await;
    let reply = w.action(slurm, "cancel", &w.app.admin_token).await;
    assert_eq!(
        reply.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        reply.text
    );
    assert_eq!(
        reply.body,
        json!({"detail": "Method \"The order's offering with Marketplace.Slurm type does not support this action\" not allowed."})
    );
}

#[tokio::test]
async fn deleting_a_pending_order_removes_it_and_keeps_its_resource() {
    let w = world().await;
    let (order, resource) = w.pending_consumer(&w.basic, &w.manager).await;
    let path = format!("/api/marketplace-orders/{}/", order.simple());

    let anonymous = w.app.request(Method::DELETE, &path, None, None).await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.text
    );
    let stranger = w.app.delete(&path, &w.stranger.token).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "{}", stranger.text);

    let reply = w.app.delete(&path, &w.manager.token).await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let gone = w.app.get(&path, &w.app.admin_token).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
    assert_eq!(w.resource_state(resource).await, "Creating");
}

#[tokio::test]
async fn deleting_is_refused_for_a_blocked_customer_and_an_executing_order() {
    let w = world().await;
    let (executing, _) = w.pending_provider(&w.slurm, &w.consumer_owner).await;
    let approved = w
        .action(executing, "approve_by_provider", &w.app.admin_token)
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    let conflict = w
        .app
        .delete(
            &format!("/api/marketplace-orders/{}/", executing.simple()),
            &w.consumer_owner.token,
        )
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.text);
    assert_eq!(
        conflict.body,
        valid_states("pending-consumer, pending-provider")
    );

    let (pending, _) = w.pending_consumer(&w.basic, &w.manager).await;
    w.block_consumer().await;
    let blocked = w
        .app
        .delete(
            &format!("/api/marketplace-orders/{}/", pending.simple()),
            &w.consumer_owner.token,
        )
        .await;
    assert_eq!(blocked.status, StatusCode::BAD_REQUEST, "{}", blocked.text);
    assert_eq!(
        blocked.body,
        json!(["Blocked organization is not available."])
    );
}

#[tokio::test]
async fn the_provider_sets_an_order_backend_id_once() {
    let w = world().await;
    let (order, _) = w.pending_provider(&w.slurm, &w.consumer_owner).await;

    let refused = w
        .action_with(
            order,
            "set_backend_id",
            &w.consumer_owner.token,
            json!({"backend_id": "job-7"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);

    let changed = w
        .action_with(
            order,
            "set_backend_id",
            &w.provider_owner.token,
            json!({"backend_id": "job-7"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(
        changed.body,
        json!({"status": "Order backend_id has been changed."})
    );
    assert_eq!(w.order(order).await["backend_id"], "job-7");

    let same = w
        .action_with(
            order,
            "set_backend_id",
            &w.provider_owner.token,
            json!({"backend_id": "job-7"}),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.text);
    assert_eq!(
        same.body,
        json!({"status": "Order backend_id is not changed."})
    );
}

#[tokio::test]
async fn only_staff_unlink_an_order() {
    let w = world().await;
    let (order, resource) = w.pending_provider(&w.basic, &w.consumer_owner).await;

    let refused = w.action(order, "unlink", &w.consumer_owner.token).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.body, forbidden());

    let reply = w.action(order, "unlink", &w.app.admin_token).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let gone = w
        .app
        .get(
            &format!("/api/marketplace-orders/{}/", order.simple()),
            &w.app.admin_token,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
    assert_eq!(w.resource_state(resource).await, "Creating");
}

#[tokio::test]
async fn an_order_shows_its_public_offering_to_those_who_see_the_order() {
    let w = world().await;
    let (order, _) = w.pending_provider(&w.basic, &w.consumer_owner).await;
    let path = format!("/api/marketplace-orders/{}/offering/", order.simple());

    let reply = w.app.get(&path, &w.consumer_owner.token).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["uuid"], w.basic.uuid());
    assert_eq!(
        reply.body["url"],
        format!(
            "{}/api/marketplace-public-offerings/{}/",
            w.app.address,
            w.basic.uuid()
        )
    );
    assert_eq!(reply.body["type"], "Marketplace.Basic");
    let stranger = w.app.get(&path, &w.stranger.token).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "{}", stranger.text);
}

#[tokio::test]
async fn concurrent_provider_approvals_apply_exactly_once() {
    let w = world().await;
    let (order, resource) = w.pending_provider(&w.basic, &w.consumer_owner).await;

    let (a, b) = tokio::join!(
        w.action(order, "approve_by_provider", &w.provider_owner.token),
        w.action(order, "approve_by_provider", &w.app.admin_token),
    );

    let statuses = [a.status, b.status];
    assert!(
        statuses.contains(&StatusCode::OK),
        "{statuses:?}: {} / {}",
        a.text,
        b.text
    );
    for reply in [&a, &b] {
        assert!(
            reply.status == StatusCode::OK || reply.status == StatusCode::CONFLICT,
            "{}: {}",
            reply.status,
            reply.text
        );
    }
    let approvals = w
        .app
        .scalar_i64(&format!(
            "SELECT count(*) FROM events WHERE aggregate_type = 'order' \
             AND aggregate_id = '{}' AND event_type = 'OrderApprovedByProvider'",
            order.simple()
        ))
        .await;
    assert_eq!(approvals, 1);
    assert_eq!(w.order(order).await["state"], "done");
    assert_eq!(w.resource_state(resource).await, "Ok");
}

#[tokio::test]
async fn a_support_order_approved_by_the_consumer_skips_the_provider_and_completes() {
    let w = world().await;
    let category = w.app.create_category("Support").await;
    let support = w
        .app
        .create_offering(
            &w.provider.url(),
            &category.url(),
            "Support.OfferingTemplate",
            json!({"plans": [{"name": "Default", "unit": "month"}]}),
        )
        .await;
    let (order, resource) = w.pending_consumer(&support, &w.manager).await;

    let reply = w
        .action(order, "approve_by_consumer", &w.consumer_owner.token)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"detail": "Order has been approved and is being processed."})
    );
    assert_eq!(w.order(order).await["state"], "done");
    assert_eq!(w.resource_state(resource).await, "Ok");
}
