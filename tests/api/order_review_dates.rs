//! Consumer approval and start dates (Waldur's `test_order_review`): a project that starts
//! in the future holds approved orders in pending-project; a past start does not; an order's
//! own start date does not skip the provider's review of a `Marketplace.Basic` offering, and
//! a provider-approved order with a future start date waits for it, then the scheduler
//! starts (and, for Basic, completes) it.

use reqwest::StatusCode;
use serde_json::json;

use crate::order_fixture::{World, world};

impl World {
    async fn set_project_start(&self, date: &str) {
        let reply = self
            .app
            .patch(
                &format!("/api/projects/{}/", self.project.uuid()),
                &self.app.admin_token,
                json!({ "start_date": date }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }

    /// The consumer owner approves; returns the answer's detail and the order's new state.
    async fn approve_as_consumer(&self, order: &str) -> (String, String) {
        let reply = self
            .action(order, "approve_by_consumer", &self.consumer_owner.token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let state = self.order(order, &self.manager.token).await.body["state"]
            .as_str()
            .unwrap()
            .to_string();
        (reply.body["detail"].as_str().unwrap().to_string(), state)
    }
}

#[tokio::test]
async fn an_order_approved_in_a_project_that_starts_in_the_future_is_pending_project() {
    let w = world().await;
    let order = w.pending_consumer().await;
    w.set_project_start("2999-01-01").await;

    let (detail, state) = w.approve_as_consumer(&order).await;

    assert_eq!(detail, "Order is pending project activation.");
    assert_eq!(state, "pending-project");
}

#[tokio::test]
async fn an_order_approved_in_a_project_that_started_in_the_past_is_not_pending_project() {
    let w = world().await;
    let order = w.pending_consumer().await;
    w.set_project_start("2020-01-01").await;

    let (_, state) = w.approve_as_consumer(&order).await;

    assert_ne!(state, "pending-project");
    assert_eq!(state, "pending-provider");
}

#[tokio::test]
async fn an_order_with_a_future_start_date_in_a_future_project_is_pending_project() {
    let w = world().await;
    let placed = w
        .place(&w.manager, json!({"start_date": "2999-06-01"}))
        .await;
    assert_eq!(placed.body["state"], "pending-consumer", "{}", placed.text);
    w.set_project_start("2999-01-01").await;

    let (_, state) = w.approve_as_consumer(&placed.uuid()).await;

    assert_eq!(state, "pending-project");
}

#[tokio::test]
async fn a_basic_order_with_a_future_start_date_still_goes_to_the_provider() {
    let w = world().await;
    let placed = w
        .place(&w.manager, json!({"start_date": "2999-06-01"}))
        .await;

    let (detail, state) = w.approve_as_consumer(&placed.uuid()).await;

    assert_eq!(detail, "Order is pending provider approval.");
    assert_eq!(state, "pending-provider");
    let body = w.order(&placed.uuid(), &w.manager.token).await.body;
    assert_eq!(body["start_date"], "2999-06-01");
}

#[tokio::test]
async fn a_provider_approved_order_waits_for_its_start_date_and_the_scheduler_starts_it() {
    use chrono::NaiveDate;
    let w = world().await;
    let placed = w
        .place(&w.manager, json!({"start_date": "2999-06-01"}))
        .await;
    let order = placed.uuid();
    w.approve_as_consumer(&order).await;

    let approval = w
        .action(&order, "approve_by_provider", &w.provider_owner.token)
        .await;
    assert_eq!(approval.status, StatusCode::OK, "{}", approval.text);
    assert_eq!(approval.body["detail"], "Order is pending start date.");
    assert_eq!(
        w.order(&order, &w.manager.token).await.body["state"],
        "pending-start-date"
    );

    let the_day_before = NaiveDate::from_ymd_opt(2999, 5, 31).unwrap();
    let early = ledger::jobs::due_orders::start_due_orders(&w.app.ledger, the_day_before)
        .await
        .unwrap();
    let still = w.order(&order, &w.manager.token).await.body;
    let the_day = NaiveDate::from_ymd_opt(2999, 6, 1).unwrap();
    let started = ledger::jobs::due_orders::start_due_orders(&w.app.ledger, the_day)
        .await
        .unwrap();
    let again = ledger::jobs::due_orders::start_due_orders(&w.app.ledger, the_day)
        .await
        .unwrap();

    assert_eq!((early, started, again), (0, 1, 0));
    assert_eq!(still["state"], "pending-start-date");
    let done = w.order(&order, &w.manager.token).await.body;
    // A Basic order completes as soon as it executes, and its resource with it.
    assert_eq!(done["state"], "done", "{done}");
    let resource = w
        .app
        .get(
            &format!(
                "/api/marketplace-resources/{}/",
                done["marketplace_resource_uuid"].as_str().unwrap()
            ),
            &w.manager.token,
        )
        .await;
    assert_eq!(resource.body["state"], "OK", "{}", resource.text);
    let actor: String = sqlx::query_scalar(
        "SELECT metadata->>'actor' FROM events WHERE aggregate_type = 'order' \
         AND aggregate_id = $1 AND event_type = 'OrderExecutionStarted'",
    )
    .bind(&order)
    .fetch_one(&w.app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(actor, "scheduler");
}
