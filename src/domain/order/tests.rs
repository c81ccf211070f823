//! Given/when/then tests of the order aggregate: placing with and without auto-approval,
//! consumer and provider review, cancellation, the executing → done / erred path, retries,
//! backend ids, attachments, deletion and unlinking, and the bookkeeping fields
//! (`modified`, `completed_at`, `error_updated_at`).

use super::*;
use cqrs_es::test::TestFramework;
use serde_json::json;

// ---------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------

const ORDER: Uuid = Uuid::from_u128(1);
const RESOURCE: Uuid = Uuid::from_u128(2);
const OFFERING: Uuid = Uuid::from_u128(3);
const PROJECT: Uuid = Uuid::from_u128(4);
const CUSTOMER: Uuid = Uuid::from_u128(5);
const PROVIDER: Uuid = Uuid::from_u128(6);
const PLAN: Uuid = Uuid::from_u128(7);
const OLD_PLAN: Uuid = Uuid::from_u128(8);

const CREATOR: Uuid = Uuid::from_u128(101);
const CONSUMER_OWNER: Uuid = Uuid::from_u128(102);
const PROVIDER_OWNER: Uuid = Uuid::from_u128(103);

/// When the order is placed.
fn placed_at() -> DateTime<Utc> {
    "2026-03-01T09:00:00Z".parse().unwrap()
}

/// When the consumer reviews it (in the histories below).
fn consumer_at() -> DateTime<Utc> {
    "2026-03-01T10:00:00Z".parse().unwrap()
}

/// When the provider reviews it.
fn provider_at() -> DateTime<Utc> {
    "2026-03-02T10:00:00Z".parse().unwrap()
}

/// When execution ends.
fn finished_at() -> DateTime<Utc> {
    "2026-03-03T10:00:00Z".parse().unwrap()
}

/// When the command under test is issued.
fn now() -> DateTime<Utc> {
    "2026-03-10T12:00:00Z".parse().unwrap()
}

fn attributes(value: Value) -> Map<String, Value> {
    value.as_object().expect("attributes are an object").clone()
}

fn spec() -> OrderSpec {
    OrderSpec {
        uuid: ORDER,
        order_type: OrderType::Create,
        resource_uuid: RESOURCE,
        offering_uuid: OFFERING,
        project_uuid: PROJECT,
        customer_uuid: CUSTOMER,
        provider_customer_uuid: PROVIDER,
        plan_uuid: Some(PLAN),
        old_plan_uuid: Some(OLD_PLAN),
        limits: BTreeMap::from([("cpu".to_string(), 4)]),
        old_limits: BTreeMap::from([("cpu".to_string(), 2)]),
        attributes: attributes(json!({"name": "vm-1", "flavor": "small"})),
        cost: Some(Decimal::new(1200, 2)),
        fixed_price: Decimal::ZERO,
        activation_price: Decimal::new(100, 0),
        created_by: CREATOR,
        callback_url: Some("https://consumer.example.com/callback".into()),
        request_comment: "please".into(),
        start_date: None,
        slug: "vm-1-order".into(),
    }
}

fn place(consumer_reviewer: Option<Uuid>, next: OrderState) -> OrderCommand {
    OrderCommand::Place {
        spec: Box::new(spec()),
        consumer_reviewer,
        next,
        at: placed_at(),
    }
}

fn placed() -> OrderEvent {
    OrderEvent::OrderPlaced {
        spec: spec(),
        at: placed_at(),
    }
}

fn approved_by_consumer(reviewer: Uuid, at: DateTime<Utc>) -> OrderEvent {
    OrderEvent::OrderApprovedByConsumer { reviewer, at }
}

fn approved_by_provider(attributes: Map<String, Value>, at: DateTime<Utc>) -> OrderEvent {
    OrderEvent::OrderApprovedByProvider {
        reviewer: PROVIDER_OWNER,
        attributes,
        at,
    }
}

/// The event that brings an approved order into `state`.
fn arrival(state: OrderState, at: DateTime<Utc>) -> OrderEvent {
    match state {
        OrderState::PendingProvider => OrderEvent::OrderAwaitingProvider { at },
        OrderState::PendingProject => OrderEvent::OrderAwaitingProject { at },
        OrderState::PendingStartDate => OrderEvent::OrderAwaitingStartDate { at },
        OrderState::Executing => OrderEvent::OrderExecutionStarted { at },
        other => panic!("no arrival event for {other:?}"),
    }
}

fn failed(message: &str, traceback: &str, at: DateTime<Utc>) -> OrderEvent {
    OrderEvent::OrderFailed {
        error_message: message.into(),
        error_traceback: traceback.into(),
        at,
    }
}

fn error_recorded(message: &str, traceback: &str, at: DateTime<Utc>) -> OrderEvent {
    OrderEvent::OrderErrorRecorded {
        error_message: message.into(),
        error_traceback: traceback.into(),
        at,
    }
}

fn pdf(name: &str) -> Attachment {
    Attachment {
        sha256: format!("{:0>64}", name.len()),
        filename: name.into(),
        size: 1024,
    }
}

/// The events that bring a freshly placed order into each state.
fn history(state: OrderState) -> Vec<OrderEvent> {
    use OrderState::*;
    let consumer_approved = || {
        vec![
            placed(),
            approved_by_consumer(CONSUMER_OWNER, consumer_at()),
            arrival(PendingProvider, consumer_at()),
        ]
    };
    let provider_approved = |next: OrderState| {
        let mut events = consumer_approved();
        events.push(approved_by_provider(Map::new(), provider_at()));
        events.push(arrival(next, provider_at()));
        events
    };
    match state {
        PendingConsumer => vec![placed()],
        PendingProvider => consumer_approved(),
        PendingProject => vec![
            placed(),
            approved_by_consumer(CONSUMER_OWNER, consumer_at()),
            arrival(PendingProject, consumer_at()),
        ],
        PendingStartDate => provider_approved(PendingStartDate),
        Executing => provider_approved(Executing),
        Done => {
            let mut events = provider_approved(Executing);
            events.push(OrderEvent::OrderCompleted { at: finished_at() });
            events
        }
        Erred => {
            let mut events = provider_approved(Executing);
            events.push(failed("boom", "Traceback: boom", finished_at()));
            events
        }
        Canceled => vec![
            placed(),
            OrderEvent::OrderCanceled {
                termination_comment: None,
                at: consumer_at(),
            },
        ],
        Rejected => vec![
            placed(),
            OrderEvent::OrderRejectedByConsumer {
                reviewer: CONSUMER_OWNER,
                error_message: String::new(),
                error_traceback: String::new(),
                comment: String::new(),
                at: consumer_at(),
            },
        ],
    }
}

fn with(
    mut events: Vec<OrderEvent>,
    more: impl IntoIterator<Item = OrderEvent>,
) -> Vec<OrderEvent> {
    events.extend(more);
    events
}

/// Every state not in `states`.
fn states_except(states: &[OrderState]) -> Vec<OrderState> {
    OrderState::ALL
        .into_iter()
        .filter(|state| !states.contains(state))
        .collect()
}

/// An order built by applying events one after another.
fn replay(events: Vec<OrderEvent>) -> Order {
    let mut order = Order::default();
    for event in events {
        order.apply(event);
    }
    order
}

/// The outcome of one command on an order with this history.
async fn outcome(
    given: Vec<OrderEvent>,
    command: OrderCommand,
) -> Result<Vec<OrderEvent>, OrderError> {
    TestFramework::<Order>::with(())
        .given(given)
        .when_async(command)
        .await
        .inspect_result()
}

/// The order after a command succeeds on this history.
async fn after(given: Vec<OrderEvent>, command: OrderCommand) -> Order {
    let events = outcome(given.clone(), command)
        .await
        .expect("the command succeeds");
    replay(with(given, events))
}

fn approve_by_consumer(next: OrderState) -> OrderCommand {
    OrderCommand::ApproveByConsumer {
        reviewer: CONSUMER_OWNER,
        next,
        at: now(),
    }
}

fn approve_by_provider(attributes: Map<String, Value>, next: OrderState) -> OrderCommand {
    OrderCommand::ApproveByProvider {
        reviewer: PROVIDER_OWNER,
        attributes,
        next,
        at: now(),
    }
}

fn reject_by_consumer() -> OrderCommand {
    OrderCommand::RejectByConsumer {
        reviewer: CONSUMER_OWNER,
        error_message: "Not needed".into(),
        error_traceback: "\n  details  \n".into(),
        comment: "wrong project".into(),
        at: now(),
    }
}

fn reject_by_provider() -> OrderCommand {
    OrderCommand::RejectByProvider {
        reviewer: PROVIDER_OWNER,
        comment: "out of capacity".into(),
        at: now(),
    }
}

fn cancel(comment: Option<&str>) -> OrderCommand {
    OrderCommand::Cancel {
        termination_comment: comment.map(str::to_string),
        at: now(),
    }
}

fn set_state_erred(message: &str, traceback: &str) -> OrderCommand {
    OrderCommand::SetStateErred {
        error_message: message.into(),
        error_traceback: traceback.into(),
        at: now(),
    }
}

/// One command of every kind other than Place.
fn every_command_but_place() -> Vec<OrderCommand> {
    use OrderCommand as C;
    vec![
        approve_by_consumer(OrderState::Executing),
        approve_by_provider(Map::new(), OrderState::Executing),
        reject_by_consumer(),
        reject_by_provider(),
        cancel(None),
        C::SetStateExecuting { at: now() },
        C::SetStateDone { at: now() },
        set_state_erred("boom", ""),
        C::Retry { at: now() },
        C::SetBackendId {
            backend_id: "job-1".into(),
            at: now(),
        },
        C::AttachFile {
            attachment: pdf("po.pdf"),
            at: now(),
        },
        C::RemoveAttachment { at: now() },
        C::Delete { at: now() },
        C::Unlink { at: now() },
    ]
}

// ---------------------------------------------------------------------------------------
// The histories themselves
// ---------------------------------------------------------------------------------------

#[test]
fn it_should_reach_every_state_through_its_history() {
    for state in OrderState::ALL {
        assert_eq!(replay(history(state)).state, state, "history of {state:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Place
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_place_an_order_that_waits_for_the_consumer() {
    TestFramework::<Order>::with(())
        .given_no_previous_events()
        .when_async(place(None, OrderState::PendingConsumer))
        .await
        .then_expect_events(vec![placed()]);
}

#[tokio::test]
async fn it_should_start_a_placed_order_pending_consumer_with_nothing_reviewed() {
    let order = after(vec![], place(None, OrderState::PendingConsumer)).await;
    assert_eq!(order.spec(), Some(&spec()));
    assert_eq!(order.state, OrderState::PendingConsumer);
    assert_eq!(order.created, Some(placed_at()));
    assert_eq!(order.modified, Some(placed_at()));
    assert_eq!(order.consumer_reviewed_by, None);
    assert_eq!(order.consumer_reviewed_at, None);
    assert_eq!(order.provider_reviewed_by, None);
    assert_eq!(order.completed_at, None);
    assert_eq!(order.error_updated_at, None);
    assert_eq!(order.backend_id, "");
    assert_eq!(order.attachment, None);
    assert!(!order.deleted);
}

#[tokio::test]
async fn it_should_record_an_import_as_a_done_order_reviewed_by_the_importer() {
    let import = || OrderCommand::RecordImport {
        spec: Box::new(spec()),
        reviewer: CREATOR,
        at: placed_at(),
    };
    let order = after(vec![], import()).await;
    assert_eq!(order.state, OrderState::Done);
    assert_eq!(order.consumer_reviewed_by, Some(CREATOR));
    assert_eq!(order.provider_reviewed_by, Some(CREATOR));
    assert_eq!(order.consumer_reviewed_at, Some(placed_at()));
    assert_eq!(order.provider_reviewed_at, Some(placed_at()));
    assert_eq!(order.completed_at, Some(placed_at()));
    assert_eq!(order.created, Some(placed_at()));
    TestFramework::<Order>::with(())
        .given(vec![placed()])
        .when_async(import())
        .await
        .then_expect_error(OrderError::AlreadyExists);
}

#[tokio::test]
async fn it_should_place_an_order_whose_consumer_review_is_skipped_pending_provider() {
    TestFramework::<Order>::with(())
        .given_no_previous_events()
        .when_async(place(Some(CREATOR), OrderState::PendingProvider))
        .await
        .then_expect_events(vec![
            placed(),
            approved_by_consumer(CREATOR, placed_at()),
            OrderEvent::OrderAwaitingProvider { at: placed_at() },
        ]);
}

#[tokio::test]
async fn it_should_place_an_order_whose_reviews_are_both_skipped_executing() {
    TestFramework::<Order>::with(())
        .given_no_previous_events()
        .when_async(place(Some(CREATOR), OrderState::Executing))
        .await
        .then_expect_events(vec![
            placed(),
            approved_by_consumer(CREATOR, placed_at()),
            OrderEvent::OrderExecutionStarted { at: placed_at() },
        ]);
}

#[tokio::test]
async fn it_should_place_an_order_whose_project_has_not_started_pending_project() {
    TestFramework::<Order>::with(())
        .given_no_previous_events()
        .when_async(place(Some(CREATOR), OrderState::PendingProject))
        .await
        .then_expect_events(vec![
            placed(),
            approved_by_consumer(CREATOR, placed_at()),
            OrderEvent::OrderAwaitingProject { at: placed_at() },
        ]);
}

#[tokio::test]
async fn it_should_place_an_auto_approved_order_with_a_future_start_date_pending_start_date() {
    TestFramework::<Order>::with(())
        .given_no_previous_events()
        .when_async(place(Some(CREATOR), OrderState::PendingStartDate))
        .await
        .then_expect_events(vec![
            placed(),
            approved_by_consumer(CREATOR, placed_at()),
            OrderEvent::OrderAwaitingStartDate { at: placed_at() },
        ]);
}

#[tokio::test]
async fn it_should_record_the_creator_as_consumer_reviewer_of_an_auto_approved_order() {
    for next in [
        OrderState::PendingProvider,
        OrderState::PendingProject,
        OrderState::PendingStartDate,
        OrderState::Executing,
    ] {
        let order = after(vec![], place(Some(CREATOR), next)).await;
        assert_eq!(order.state, next);
        assert_eq!(order.consumer_reviewed_by, Some(CREATOR), "next {next:?}");
        assert_eq!(order.consumer_reviewed_at, Some(placed_at()));
        assert_eq!(order.provider_reviewed_by, None);
        assert_eq!(order.created, Some(placed_at()));
        assert_eq!(order.modified, Some(placed_at()));
        assert_eq!(order.completed_at, None);
    }
}

#[tokio::test]
async fn it_should_not_place_an_order_twice() {
    TestFramework::<Order>::with(())
        .given(vec![placed()])
        .when_async(place(None, OrderState::PendingConsumer))
        .await
        .then_expect_error(OrderError::AlreadyExists);
    TestFramework::<Order>::with(())
        .given(history(OrderState::Done))
        .when_async(place(Some(CREATOR), OrderState::Executing))
        .await
        .then_expect_error(OrderError::AlreadyExists);
}

#[tokio::test]
async fn it_should_not_place_again_an_order_that_was_deleted() {
    TestFramework::<Order>::with(())
        .given(vec![placed(), OrderEvent::OrderDeleted { at: now() }])
        .when_async(place(None, OrderState::PendingConsumer))
        .await
        .then_expect_error(OrderError::AlreadyExists);
}

#[tokio::test]
async fn it_should_not_place_an_order_straight_into_a_finished_state() {
    for next in [
        OrderState::Done,
        OrderState::Erred,
        OrderState::Canceled,
        OrderState::Rejected,
    ] {
        TestFramework::<Order>::with(())
            .given_no_previous_events()
            .when_async(place(Some(CREATOR), next))
            .await
            .then_expect_error(OrderError::InvalidNextState(next.as_str()));
    }
}

#[tokio::test]
async fn it_should_name_done_as_the_invalid_next_state_of_a_placement() {
    TestFramework::<Order>::with(())
        .given_no_previous_events()
        .when_async(place(None, OrderState::Done))
        .await
        .then_expect_error(OrderError::InvalidNextState("done"));
}

#[tokio::test]
async fn it_should_not_accept_any_other_command_before_the_order_is_placed() {
    for command in every_command_but_place() {
        let result = outcome(vec![], command.clone()).await;
        assert_eq!(result, Err(OrderError::NotFound), "{command:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Consumer approval
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_approve_by_consumer_and_move_on_to_the_next_state() {
    for next in [
        OrderState::PendingProvider,
        OrderState::PendingProject,
        OrderState::PendingStartDate,
        OrderState::Executing,
    ] {
        TestFramework::<Order>::with(())
            .given(history(OrderState::PendingConsumer))
            .when_async(approve_by_consumer(next))
            .await
            .then_expect_events(vec![
                approved_by_consumer(CONSUMER_OWNER, now()),
                arrival(next, now()),
            ]);
    }
}

#[tokio::test]
async fn it_should_record_the_consumer_reviewer_on_approval() {
    let order = after(
        history(OrderState::PendingConsumer),
        approve_by_consumer(OrderState::PendingProvider),
    )
    .await;
    assert_eq!(order.state, OrderState::PendingProvider);
    assert_eq!(order.consumer_reviewed_by, Some(CONSUMER_OWNER));
    assert_eq!(order.consumer_reviewed_at, Some(now()));
    assert_eq!(order.provider_reviewed_by, None);
    assert_eq!(order.modified, Some(now()));
    assert_eq!(order.created, Some(placed_at()));
    assert_eq!(order.completed_at, None);
}

#[tokio::test]
async fn it_should_approve_by_consumer_only_a_pending_consumer_order() {
    for state in states_except(&[OrderState::PendingConsumer]) {
        let result = outcome(history(state), approve_by_consumer(OrderState::Executing)).await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: vec![OrderState::PendingConsumer]
            }),
            "from {state:?}"
        );
    }
}

#[tokio::test]
async fn it_should_not_let_consumer_approval_stay_pending_consumer_or_finish_the_order() {
    for next in [
        OrderState::PendingConsumer,
        OrderState::Done,
        OrderState::Erred,
        OrderState::Canceled,
        OrderState::Rejected,
    ] {
        TestFramework::<Order>::with(())
            .given(history(OrderState::PendingConsumer))
            .when_async(approve_by_consumer(next))
            .await
            .then_expect_error(OrderError::InvalidNextState(next.as_str()));
    }
}

#[tokio::test]
async fn it_should_check_the_state_before_the_next_state_on_consumer_approval() {
    TestFramework::<Order>::with(())
        .given(history(OrderState::Executing))
        .when_async(approve_by_consumer(OrderState::Done))
        .await
        .then_expect_error(OrderError::InvalidState {
            valid: vec![OrderState::PendingConsumer],
        });
}

// ---------------------------------------------------------------------------------------
// Provider approval
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_approve_by_provider_into_execution() {
    let extra = attributes(json!({"flavor": "large"}));
    TestFramework::<Order>::with(())
        .given(history(OrderState::PendingProvider))
        .when_async(approve_by_provider(extra.clone(), OrderState::Executing))
        .await
        .then_expect_events(vec![
            approved_by_provider(extra, now()),
            OrderEvent::OrderExecutionStarted { at: now() },
        ]);
}

#[tokio::test]
async fn it_should_approve_by_provider_an_order_with_a_future_start_date_pending_start_date() {
    TestFramework::<Order>::with(())
        .given(history(OrderState::PendingProvider))
        .when_async(approve_by_provider(
            Map::new(),
            OrderState::PendingStartDate,
        ))
        .await
        .then_expect_events(vec![
            approved_by_provider(Map::new(), now()),
            OrderEvent::OrderAwaitingStartDate { at: now() },
        ]);
}

#[tokio::test]
async fn it_should_let_provider_approval_lead_only_to_execution_or_the_start_date() {
    for next in states_except(&[OrderState::Executing, OrderState::PendingStartDate]) {
        let result = outcome(
            history(OrderState::PendingProvider),
            approve_by_provider(Map::new(), next),
        )
        .await;
        assert_eq!(
            result,
            Err(OrderError::InvalidNextState(next.as_str())),
            "next {next:?}"
        );
    }
}

#[tokio::test]
async fn it_should_approve_by_provider_only_a_pending_provider_order() {
    for state in states_except(&[OrderState::PendingProvider]) {
        let result = outcome(
            history(state),
            approve_by_provider(Map::new(), OrderState::Executing),
        )
        .await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: vec![OrderState::PendingProvider]
            }),
            "from {state:?}"
        );
    }
}

#[tokio::test]
async fn it_should_merge_the_provider_attributes_into_the_spec() {
    let order = after(
        history(OrderState::PendingProvider),
        approve_by_provider(
            attributes(json!({"flavor": "large", "ssh_key": "ssh-ed25519 AAAA"})),
            OrderState::Executing,
        ),
    )
    .await;
    let merged = order.spec().expect("placed").clone();
    assert_eq!(
        Value::Object(merged.attributes.clone()),
        json!({"name": "vm-1", "flavor": "large", "ssh_key": "ssh-ed25519 AAAA"})
    );
    // Nothing else in the spec changes.
    assert_eq!(
        OrderSpec {
            attributes: spec().attributes,
            ..merged
        },
        spec()
    );
}

#[tokio::test]
async fn it_should_keep_the_attributes_when_the_provider_adds_none() {
    let order = after(
        history(OrderState::PendingProvider),
        approve_by_provider(Map::new(), OrderState::Executing),
    )
    .await;
    assert_eq!(order.spec(), Some(&spec()));
}

#[tokio::test]
async fn it_should_record_the_provider_reviewer_and_keep_the_consumer_review() {
    let order = after(
        history(OrderState::PendingProvider),
        approve_by_provider(Map::new(), OrderState::Executing),
    )
    .await;
    assert_eq!(order.state, OrderState::Executing);
    assert_eq!(order.provider_reviewed_by, Some(PROVIDER_OWNER));
    assert_eq!(order.provider_reviewed_at, Some(now()));
    assert_eq!(order.consumer_reviewed_by, Some(CONSUMER_OWNER));
    assert_eq!(order.consumer_reviewed_at, Some(consumer_at()));
    assert_eq!(order.modified, Some(now()));
    assert_eq!(order.completed_at, None);
}

// ---------------------------------------------------------------------------------------
// Rejection
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_reject_by_consumer_a_pending_consumer_order() {
    TestFramework::<Order>::with(())
        .given(history(OrderState::PendingConsumer))
        .when_async(reject_by_consumer())
        .await
        .then_expect_events(vec![OrderEvent::OrderRejectedByConsumer {
            reviewer: CONSUMER_OWNER,
            error_message: "Not needed".into(),
            error_traceback: "\n  details  \n".into(),
            comment: "wrong project".into(),
            at: now(),
        }]);
}

#[tokio::test]
async fn it_should_finish_a_consumer_rejected_order_with_its_reviewer_comment_and_error() {
    let order = after(history(OrderState::PendingConsumer), reject_by_consumer()).await;
    assert_eq!(order.state, OrderState::Rejected);
    assert_eq!(order.completed_at, Some(now()));
    assert_eq!(order.modified, Some(now()));
    assert_eq!(order.consumer_reviewed_by, Some(CONSUMER_OWNER));
    assert_eq!(order.consumer_reviewed_at, Some(now()));
    assert_eq!(order.consumer_rejection_comment, "wrong project");
    assert_eq!(order.error_message, "Not needed");
    assert_eq!(order.error_traceback, "details");
    assert_eq!(order.error_updated_at, Some(now()));
}

#[tokio::test]
async fn it_should_store_empty_error_fields_of_a_rejection_without_touching_error_updated_at() {
    let order = after(
        history(OrderState::PendingConsumer),
        OrderCommand::RejectByConsumer {
            reviewer: CREATOR,
            error_message: String::new(),
            error_traceback: String::new(),
            comment: String::new(),
            at: now(),
        },
    )
    .await;
    assert_eq!(order.state, OrderState::Rejected);
    assert_eq!(order.error_message, "");
    assert_eq!(order.error_traceback, "");
    assert_eq!(order.consumer_rejection_comment, "");
    assert_eq!(order.error_updated_at, None);
}

#[tokio::test]
async fn it_should_reject_by_consumer_only_a_pending_consumer_order() {
    for state in states_except(&[OrderState::PendingConsumer]) {
        let result = outcome(history(state), reject_by_consumer()).await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: vec![OrderState::PendingConsumer]
            }),
            "from {state:?}"
        );
    }
}

/// An order the consumer side has reviewed that is still pending consumer: the events
/// are applied by hand, as no command sequence in normal use leaves an order here.
fn reviewed_but_pending_consumer() -> Vec<OrderEvent> {
    vec![placed(), approved_by_consumer(CREATOR, placed_at())]
}

#[tokio::test]
async fn it_should_not_reject_by_consumer_an_order_the_consumer_already_reviewed() {
    let order = replay(reviewed_but_pending_consumer());
    assert_eq!(order.state, OrderState::PendingConsumer);
    assert_eq!(order.consumer_reviewed_by, Some(CREATOR));
    TestFramework::<Order>::with(())
        .given(reviewed_but_pending_consumer())
        .when_async(reject_by_consumer())
        .await
        .then_expect_error(OrderError::AlreadyReviewedByConsumer);
}

#[tokio::test]
async fn it_should_reject_by_provider_a_pending_provider_order() {
    TestFramework::<Order>::with(())
        .given(history(OrderState::PendingProvider))
        .when_async(reject_by_provider())
        .await
        .then_expect_events(vec![OrderEvent::OrderRejectedByProvider {
            reviewer: PROVIDER_OWNER,
            comment: "out of capacity".into(),
            at: now(),
        }]);
}

#[tokio::test]
async fn it_should_finish_a_provider_rejected_order_and_keep_the_consumer_review() {
    let order = after(history(OrderState::PendingProvider), reject_by_provider()).await;
    assert_eq!(order.state, OrderState::Rejected);
    assert_eq!(order.completed_at, Some(now()));
    assert_eq!(order.modified, Some(now()));
    assert_eq!(order.provider_reviewed_by, Some(PROVIDER_OWNER));
    assert_eq!(order.provider_reviewed_at, Some(now()));
    assert_eq!(order.provider_rejection_comment, "out of capacity");
    assert_eq!(order.consumer_reviewed_by, Some(CONSUMER_OWNER));
    assert_eq!(order.consumer_reviewed_at, Some(consumer_at()));
    assert_eq!(order.consumer_rejection_comment, "");
}

#[tokio::test]
async fn it_should_reject_by_provider_only_a_pending_provider_order() {
    for state in states_except(&[OrderState::PendingProvider]) {
        let result = outcome(history(state), reject_by_provider()).await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: vec![OrderState::PendingProvider]
            }),
            "from {state:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Cancel
// ---------------------------------------------------------------------------------------

const CANCELABLE: [OrderState; 4] = [
    OrderState::PendingConsumer,
    OrderState::PendingProvider,
    OrderState::PendingStartDate,
    OrderState::Executing,
];

#[tokio::test]
async fn it_should_cancel_a_pending_or_executing_order() {
    for state in CANCELABLE {
        TestFramework::<Order>::with(())
            .given(history(state))
            .when_async(cancel(Some("no longer needed")))
            .await
            .then_expect_events(vec![OrderEvent::OrderCanceled {
                termination_comment: Some("no longer needed".into()),
                at: now(),
            }]);
    }
}

#[tokio::test]
async fn it_should_finish_a_canceled_order_with_its_termination_comment() {
    let order = after(
        history(OrderState::Executing),
        cancel(Some("no longer needed")),
    )
    .await;
    assert_eq!(order.state, OrderState::Canceled);
    assert_eq!(order.completed_at, Some(now()));
    assert_eq!(order.modified, Some(now()));
    assert_eq!(
        order.termination_comment.as_deref(),
        Some("no longer needed")
    );

    let order = after(history(OrderState::PendingConsumer), cancel(None)).await;
    assert_eq!(order.state, OrderState::Canceled);
    assert_eq!(order.termination_comment, None);
}

#[tokio::test]
async fn it_should_not_cancel_in_other_states_and_name_exactly_the_cancelable_ones() {
    for state in states_except(&CANCELABLE) {
        let result = outcome(history(state), cancel(None)).await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: vec![
                    OrderState::PendingConsumer,
                    OrderState::PendingProvider,
                    OrderState::PendingStartDate,
                    OrderState::Executing,
                ]
            }),
            "from {state:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// set_state_executing / set_state_done
// ---------------------------------------------------------------------------------------

const EXECUTABLE: [OrderState; 5] = [
    OrderState::PendingConsumer,
    OrderState::PendingProvider,
    OrderState::PendingProject,
    OrderState::PendingStartDate,
    OrderState::Erred,
];

#[tokio::test]
async fn it_should_set_state_executing_from_a_pending_or_erred_order() {
    for state in EXECUTABLE {
        TestFramework::<Order>::with(())
            .given(history(state))
            .when_async(OrderCommand::SetStateExecuting { at: now() })
            .await
            .then_expect_events(vec![OrderEvent::OrderExecutionStarted { at: now() }]);
    }
}

#[tokio::test]
async fn it_should_leave_an_order_executing_after_set_state_executing() {
    for state in EXECUTABLE {
        let order = after(
            history(state),
            OrderCommand::SetStateExecuting { at: now() },
        )
        .await;
        assert_eq!(order.state, OrderState::Executing, "from {state:?}");
        assert_eq!(order.modified, Some(now()));
    }
}

#[tokio::test]
async fn it_should_not_set_state_executing_from_executing_or_a_finished_order() {
    for state in states_except(&EXECUTABLE) {
        let result = outcome(
            history(state),
            OrderCommand::SetStateExecuting { at: now() },
        )
        .await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: EXECUTABLE.to_vec()
            }),
            "from {state:?}"
        );
    }
}

#[tokio::test]
async fn it_should_set_state_done_on_an_executing_order() {
    TestFramework::<Order>::with(())
        .given(history(OrderState::Executing))
        .when_async(OrderCommand::SetStateDone { at: now() })
        .await
        .then_expect_events(vec![OrderEvent::OrderCompleted { at: now() }]);
    let order = after(
        history(OrderState::Executing),
        OrderCommand::SetStateDone { at: now() },
    )
    .await;
    assert_eq!(order.state, OrderState::Done);
    assert_eq!(order.completed_at, Some(now()));
    assert_eq!(order.modified, Some(now()));
}

#[tokio::test]
async fn it_should_set_state_done_only_on_an_executing_order() {
    for state in states_except(&[OrderState::Executing]) {
        let result = outcome(history(state), OrderCommand::SetStateDone { at: now() }).await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: vec![OrderState::Executing]
            }),
            "from {state:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// set_state_erred
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_fail_an_executing_order_on_set_state_erred() {
    TestFramework::<Order>::with(())
        .given(history(OrderState::Executing))
        .when_async(set_state_erred(
            "Quota exceeded",
            "  Traceback (most recent call last)\n",
        ))
        .await
        .then_expect_events(vec![failed(
            "Quota exceeded",
            "  Traceback (most recent call last)\n",
            now(),
        )]);
}

#[tokio::test]
async fn it_should_store_the_error_of_a_failed_order_with_the_traceback_trimmed() {
    let order = after(
        history(OrderState::Executing),
        set_state_erred("Quota exceeded", "  Traceback (most recent call last)\n"),
    )
    .await;
    assert_eq!(order.state, OrderState::Erred);
    assert_eq!(order.completed_at, Some(now()));
    assert_eq!(order.modified, Some(now()));
    assert_eq!(order.error_message, "Quota exceeded");
    assert_eq!(order.error_traceback, "Traceback (most recent call last)");
    assert_eq!(order.error_updated_at, Some(now()));
}

#[tokio::test]
async fn it_should_only_record_the_error_of_an_order_that_is_not_executing() {
    for state in states_except(&[OrderState::Executing]) {
        let result = outcome(history(state), set_state_erred("Late error", " tb ")).await;
        assert_eq!(
            result,
            Ok(vec![error_recorded("Late error", " tb ", now())]),
            "from {state:?}"
        );
    }
}

#[tokio::test]
async fn it_should_keep_the_state_and_completion_of_an_order_whose_error_is_recorded() {
    for state in states_except(&[OrderState::Executing]) {
        let before = replay(history(state));
        let order = after(history(state), set_state_erred("Late error", " tb ")).await;
        assert_eq!(order.state, state);
        assert_eq!(order.completed_at, before.completed_at, "from {state:?}");
        assert_eq!(order.error_message, "Late error");
        assert_eq!(order.error_traceback, "tb");
        assert_eq!(order.error_updated_at, Some(now()));
        assert_eq!(order.modified, Some(now()));
    }
}

#[tokio::test]
async fn it_should_not_move_error_updated_at_when_the_same_error_is_recorded_again() {
    // The erred history failed with ("boom", "Traceback: boom") at finished_at().
    let order = after(
        history(OrderState::Erred),
        set_state_erred("boom", "Traceback: boom"),
    )
    .await;
    assert_eq!(order.error_updated_at, Some(finished_at()));
    assert_eq!(order.modified, Some(now()));
    assert_eq!(order.state, OrderState::Erred);
}

#[tokio::test]
async fn it_should_move_error_updated_at_when_the_message_or_the_traceback_changes() {
    let order = after(
        history(OrderState::Erred),
        set_state_erred("boom again", "Traceback: boom"),
    )
    .await;
    assert_eq!(order.error_updated_at, Some(now()));
    assert_eq!(order.error_message, "boom again");

    let order = after(
        history(OrderState::Erred),
        set_state_erred("boom", "Traceback: elsewhere"),
    )
    .await;
    assert_eq!(order.error_updated_at, Some(now()));
    assert_eq!(order.error_traceback, "Traceback: elsewhere");
}

#[tokio::test]
async fn it_should_not_set_error_updated_at_when_an_empty_error_is_recorded_on_a_clean_order() {
    let order = after(
        history(OrderState::PendingConsumer),
        set_state_erred("", ""),
    )
    .await;
    assert_eq!(order.error_updated_at, None);
    assert_eq!(order.modified, Some(now()));
}

// ---------------------------------------------------------------------------------------
// Retry
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_retry_an_erred_order() {
    TestFramework::<Order>::with(())
        .given(history(OrderState::Erred))
        .when_async(OrderCommand::Retry { at: now() })
        .await
        .then_expect_events(vec![OrderEvent::OrderRetried { at: now() }]);
}

#[tokio::test]
async fn it_should_clear_the_error_and_completion_of_a_retried_order() {
    let before = replay(history(OrderState::Erred));
    assert_eq!(before.error_message, "boom");
    assert_eq!(before.completed_at, Some(finished_at()));

    let order = after(
        history(OrderState::Erred),
        OrderCommand::Retry { at: now() },
    )
    .await;
    assert_eq!(order.state, OrderState::Executing);
    assert_eq!(order.error_message, "");
    assert_eq!(order.error_traceback, "");
    assert_eq!(order.completed_at, None);
    assert_eq!(order.modified, Some(now()));
}

#[tokio::test]
async fn it_should_retry_only_an_erred_order() {
    for state in states_except(&[OrderState::Erred]) {
        let result = outcome(history(state), OrderCommand::Retry { at: now() }).await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: vec![OrderState::Erred]
            }),
            "from {state:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Backend id
// ---------------------------------------------------------------------------------------

fn set_backend_id(backend_id: &str) -> OrderCommand {
    OrderCommand::SetBackendId {
        backend_id: backend_id.into(),
        at: now(),
    }
}

#[tokio::test]
async fn it_should_set_the_backend_id_in_any_state() {
    for state in OrderState::ALL {
        TestFramework::<Order>::with(())
            .given(history(state))
            .when_async(set_backend_id("job-42"))
            .await
            .then_expect_events(vec![OrderEvent::OrderBackendIdSet {
                backend_id: "job-42".into(),
                at: now(),
            }]);
    }
    let order = after(history(OrderState::Executing), set_backend_id("job-42")).await;
    assert_eq!(order.backend_id, "job-42");
    assert_eq!(order.modified, Some(now()));
}

#[tokio::test]
async fn it_should_emit_nothing_when_the_backend_id_is_unchanged() {
    TestFramework::<Order>::with(())
        .given(with(
            history(OrderState::Executing),
            [OrderEvent::OrderBackendIdSet {
                backend_id: "job-42".into(),
                at: finished_at(),
            }],
        ))
        .when_async(set_backend_id("job-42"))
        .await
        .then_expect_events(vec![]);
    TestFramework::<Order>::with(())
        .given(history(OrderState::PendingConsumer))
        .when_async(set_backend_id(""))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn it_should_clear_a_backend_id() {
    let order = after(
        with(
            history(OrderState::Executing),
            [OrderEvent::OrderBackendIdSet {
                backend_id: "job-42".into(),
                at: finished_at(),
            }],
        ),
        set_backend_id(""),
    )
    .await;
    assert_eq!(order.backend_id, "");
}

// ---------------------------------------------------------------------------------------
// Attachments
// ---------------------------------------------------------------------------------------

const ATTACHABLE: [OrderState; 3] = [
    OrderState::PendingProject,
    OrderState::PendingConsumer,
    OrderState::PendingProvider,
];

fn attach(name: &str) -> OrderCommand {
    OrderCommand::AttachFile {
        attachment: pdf(name),
        at: now(),
    }
}

fn attached(name: &str, at: DateTime<Utc>) -> OrderEvent {
    OrderEvent::OrderAttachmentAdded {
        attachment: pdf(name),
        at,
    }
}

#[tokio::test]
async fn it_should_attach_a_file_to_a_pending_order() {
    for state in ATTACHABLE {
        TestFramework::<Order>::with(())
            .given(history(state))
            .when_async(attach("po.pdf"))
            .await
            .then_expect_events(vec![attached("po.pdf", now())]);
        let order = after(history(state), attach("po.pdf")).await;
        assert_eq!(order.attachment, Some(pdf("po.pdf")));
        assert_eq!(order.modified, Some(now()));
    }
}

#[tokio::test]
async fn it_should_replace_an_earlier_attachment() {
    let order = after(
        with(
            history(OrderState::PendingConsumer),
            [attached("old.pdf", consumer_at())],
        ),
        attach("new-purchase-order.pdf"),
    )
    .await;
    assert_eq!(order.attachment, Some(pdf("new-purchase-order.pdf")));
}

#[tokio::test]
async fn it_should_not_attach_a_file_in_other_states() {
    for state in states_except(&ATTACHABLE) {
        let result = outcome(history(state), attach("po.pdf")).await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: ATTACHABLE.to_vec()
            }),
            "from {state:?}"
        );
    }
}

#[tokio::test]
async fn it_should_remove_the_attachment_of_a_pending_order() {
    for state in ATTACHABLE {
        let given = with(history(state), [attached("po.pdf", finished_at())]);
        TestFramework::<Order>::with(())
            .given(given.clone())
            .when_async(OrderCommand::RemoveAttachment { at: now() })
            .await
            .then_expect_events(vec![OrderEvent::OrderAttachmentRemoved { at: now() }]);
        let order = after(given, OrderCommand::RemoveAttachment { at: now() }).await;
        assert_eq!(order.attachment, None);
        assert_eq!(order.modified, Some(now()));
    }
}

#[tokio::test]
async fn it_should_not_remove_an_attachment_that_does_not_exist() {
    for state in ATTACHABLE {
        let result = outcome(history(state), OrderCommand::RemoveAttachment { at: now() }).await;
        assert_eq!(result, Err(OrderError::NoAttachment), "from {state:?}");
    }
    TestFramework::<Order>::with(())
        .given(with(
            history(OrderState::PendingConsumer),
            [
                attached("po.pdf", consumer_at()),
                OrderEvent::OrderAttachmentRemoved { at: consumer_at() },
            ],
        ))
        .when_async(OrderCommand::RemoveAttachment { at: now() })
        .await
        .then_expect_error(OrderError::NoAttachment);
}

#[tokio::test]
async fn it_should_not_remove_an_attachment_once_the_order_moved_on() {
    // Attached while pending consumer, then approved into execution.
    let given = vec![
        placed(),
        attached("po.pdf", placed_at()),
        approved_by_consumer(CONSUMER_OWNER, consumer_at()),
        arrival(OrderState::Executing, consumer_at()),
    ];
    assert_eq!(replay(given.clone()).attachment, Some(pdf("po.pdf")));
    TestFramework::<Order>::with(())
        .given(given)
        .when_async(OrderCommand::RemoveAttachment { at: now() })
        .await
        .then_expect_error(OrderError::InvalidState {
            valid: ATTACHABLE.to_vec(),
        });
}

// ---------------------------------------------------------------------------------------
// Delete and unlink
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_delete_an_order_pending_review() {
    for state in [OrderState::PendingConsumer, OrderState::PendingProvider] {
        TestFramework::<Order>::with(())
            .given(history(state))
            .when_async(OrderCommand::Delete { at: now() })
            .await
            .then_expect_events(vec![OrderEvent::OrderDeleted { at: now() }]);
        let order = after(history(state), OrderCommand::Delete { at: now() }).await;
        assert!(order.deleted);
        assert_eq!(order.state, state);
        assert_eq!(order.modified, Some(now()));
    }
}

#[tokio::test]
async fn it_should_delete_only_an_order_pending_review() {
    for state in states_except(&[OrderState::PendingConsumer, OrderState::PendingProvider]) {
        let result = outcome(history(state), OrderCommand::Delete { at: now() }).await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: vec![OrderState::PendingConsumer, OrderState::PendingProvider]
            }),
            "from {state:?}"
        );
    }
}

#[tokio::test]
async fn it_should_unlink_an_order_in_any_state() {
    for state in OrderState::ALL {
        TestFramework::<Order>::with(())
            .given(history(state))
            .when_async(OrderCommand::Unlink { at: now() })
            .await
            .then_expect_events(vec![OrderEvent::OrderUnlinked { at: now() }]);
        let order = after(history(state), OrderCommand::Unlink { at: now() }).await;
        assert!(order.deleted);
        assert_eq!(order.state, state);
    }
}

#[tokio::test]
async fn it_should_treat_a_deleted_order_as_gone() {
    let given = vec![placed(), OrderEvent::OrderDeleted { at: consumer_at() }];
    for command in every_command_but_place() {
        let result = outcome(given.clone(), command.clone()).await;
        assert_eq!(result, Err(OrderError::NotFound), "{command:?}");
    }
}

#[tokio::test]
async fn it_should_treat_an_unlinked_order_as_gone() {
    for state in [OrderState::Executing, OrderState::Done, OrderState::Erred] {
        let given = with(history(state), [OrderEvent::OrderUnlinked { at: now() }]);
        for command in every_command_but_place() {
            let result = outcome(given.clone(), command.clone()).await;
            assert_eq!(
                result,
                Err(OrderError::NotFound),
                "{command:?} after unlinking a {state:?} order"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bookkeeping: modified, completed_at
// ---------------------------------------------------------------------------------------

#[test]
fn it_should_follow_the_event_times_in_modified_and_keep_created() {
    let events = with(
        history(OrderState::Erred),
        [
            OrderEvent::OrderBackendIdSet {
                backend_id: "job-1".into(),
                at: "2026-03-04T00:00:00Z".parse().unwrap(),
            },
            OrderEvent::OrderRetried {
                at: "2026-03-05T00:00:00Z".parse().unwrap(),
            },
            OrderEvent::OrderCompleted {
                at: "2026-03-06T00:00:00Z".parse().unwrap(),
            },
        ],
    );
    let mut order = Order::default();
    for event in events {
        let at = event.at();
        order.apply(event);
        assert_eq!(order.modified, Some(at));
        assert_eq!(order.created, Some(placed_at()));
    }
}

#[test]
fn it_should_set_completed_at_exactly_when_the_order_is_finished() {
    for state in OrderState::ALL {
        let order = replay(history(state));
        assert_eq!(
            order.completed_at.is_some(),
            state.is_terminal(),
            "{state:?}"
        );
    }
    assert_eq!(
        replay(history(OrderState::Done)).completed_at,
        Some(finished_at())
    );
    assert_eq!(
        replay(history(OrderState::Erred)).completed_at,
        Some(finished_at())
    );
    assert_eq!(
        replay(history(OrderState::Canceled)).completed_at,
        Some(consumer_at())
    );
    assert_eq!(
        replay(history(OrderState::Rejected)).completed_at,
        Some(consumer_at())
    );
}

// ---------------------------------------------------------------------------------------
// States, types and event names
// ---------------------------------------------------------------------------------------

#[test]
fn it_should_round_trip_every_state_through_its_api_name() {
    for state in OrderState::ALL {
        assert_eq!(OrderState::parse(state.as_str()), Some(state));
    }
    let names: Vec<&str> = OrderState::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "pending-consumer",
            "pending-provider",
            "pending-project",
            "pending-start-date",
            "executing",
            "done",
            "erred",
            "canceled",
            "rejected",
        ]
    );
}

#[test]
fn it_should_not_parse_an_unknown_or_differently_spelled_state() {
    for text in [
        "",
        "Done",
        "pending_consumer",
        "cancelled",
        "PENDING-PROVIDER",
    ] {
        assert_eq!(OrderState::parse(text), None, "{text:?}");
    }
}

#[test]
fn it_should_count_done_erred_canceled_and_rejected_as_terminal() {
    let terminal: Vec<OrderState> = OrderState::ALL
        .into_iter()
        .filter(|s| s.is_terminal())
        .collect();
    assert_eq!(
        terminal,
        [
            OrderState::Done,
            OrderState::Erred,
            OrderState::Canceled,
            OrderState::Rejected,
        ]
    );
}

#[test]
fn it_should_default_to_pending_consumer_and_create() {
    assert_eq!(OrderState::default(), OrderState::PendingConsumer);
    assert_eq!(OrderType::default(), OrderType::Create);
}

#[test]
fn it_should_round_trip_every_order_type_through_its_api_name() {
    for order_type in OrderType::ALL {
        assert_eq!(OrderType::parse(order_type.as_str()), Some(order_type));
    }
    assert_eq!(OrderType::parse("create"), None);
    assert_eq!(OrderType::parse("Terminate"), Some(OrderType::Terminate));
}

#[test]
fn it_should_name_events_after_their_variant_at_version_1() {
    use cqrs_es::DomainEvent;
    let cases = [
        (placed(), "OrderPlaced"),
        (
            approved_by_consumer(CREATOR, now()),
            "OrderApprovedByConsumer",
        ),
        (failed("", "", now()), "OrderFailed"),
        (error_recorded("", "", now()), "OrderErrorRecorded"),
        (OrderEvent::OrderUnlinked { at: now() }, "OrderUnlinked"),
    ];
    for (event, name) in cases {
        assert_eq!(event.event_type(), name);
        assert_eq!(event.event_version(), "1");
    }
}

#[tokio::test]
async fn it_should_not_place_an_order_whose_reviewer_and_next_state_disagree() {
    TestFramework::<Order>::with(())
        .given_no_previous_events()
        .when_async(place(None, OrderState::Executing))
        .await
        .then_expect_error(OrderError::InvalidNextState("executing"));
    TestFramework::<Order>::with(())
        .given_no_previous_events()
        .when_async(place(Some(CREATOR), OrderState::PendingConsumer))
        .await
        .then_expect_error(OrderError::InvalidNextState("pending-consumer"));
}

#[test]
fn recording_the_same_error_with_surrounding_whitespace_does_not_move_its_time() {
    let mut order = Order::default();
    order.apply(placed());
    order.apply(OrderEvent::OrderErrorRecorded {
        error_message: "boom".into(),
        error_traceback: "tb".into(),
        at: consumer_at(),
    });
    order.apply(OrderEvent::OrderErrorRecorded {
        error_message: "boom".into(),
        error_traceback: "  tb\n".into(),
        at: finished_at(),
    });
    assert_eq!(order.error_updated_at, Some(consumer_at()));
    assert_eq!(order.error_traceback, "tb");
}

// ---------------------------------------------------------------------------------------
// Updating a pending-consumer order
// ---------------------------------------------------------------------------------------

fn new_terms() -> OrderTerms {
    OrderTerms {
        limits: BTreeMap::from([("cpu".to_string(), 8)]),
        attributes: attributes(json!({"name": "vm-1", "flavor": "large"})),
        start_date: NaiveDate::from_ymd_opt(2026, 4, 1),
        cost: Some(Decimal::new(2400, 2)),
        fixed_price: Decimal::ZERO,
        activation_price: Decimal::new(100, 0),
    }
}

fn update() -> OrderCommand {
    OrderCommand::Update {
        terms: new_terms(),
        at: now(),
    }
}

#[tokio::test]
async fn it_should_update_the_terms_of_an_order_waiting_for_the_consumer() {
    TestFramework::<Order>::with(())
        .given(history(OrderState::PendingConsumer))
        .when_async(update())
        .await
        .then_expect_events(vec![OrderEvent::OrderUpdated {
            terms: new_terms(),
            at: now(),
        }]);
    let order = after(history(OrderState::PendingConsumer), update()).await;
    let spec = order.spec.expect("placed");
    assert_eq!(spec.limits, new_terms().limits);
    assert_eq!(spec.attributes["flavor"], "large");
    assert_eq!(spec.start_date, NaiveDate::from_ymd_opt(2026, 4, 1));
    assert_eq!(spec.cost, Some(Decimal::new(2400, 2)));
    assert_eq!(order.state, OrderState::PendingConsumer);
    assert_eq!(order.modified, Some(now()));
}

#[tokio::test]
async fn it_should_not_update_an_order_once_the_consumer_has_approved_it() {
    for state in states_except(&[OrderState::PendingConsumer]) {
        let result = outcome(history(state), update()).await;
        assert_eq!(
            result,
            Err(OrderError::InvalidState {
                valid: vec![OrderState::PendingConsumer]
            }),
            "from {state:?}"
        );
    }
}

#[tokio::test]
async fn it_should_not_update_a_deleted_order() {
    let given = with(
        history(OrderState::PendingConsumer),
        [OrderEvent::OrderDeleted { at: finished_at() }],
    );
    assert_eq!(outcome(given, update()).await, Err(OrderError::NotFound));
}

#[tokio::test]
async fn it_should_record_nothing_when_an_update_changes_nothing() {
    let spec = spec();
    let same = OrderCommand::Update {
        terms: OrderTerms {
            limits: spec.limits,
            attributes: spec.attributes,
            start_date: spec.start_date,
            cost: spec.cost,
            fixed_price: spec.fixed_price,
            activation_price: spec.activation_price,
        },
        at: now(),
    };
    TestFramework::<Order>::with(())
        .given(history(OrderState::PendingConsumer))
        .when_async(same)
        .await
        .then_expect_events(vec![]);
}
