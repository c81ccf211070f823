//! The order actions under `/api/marketplace-orders/{uuid}/`: consumer and provider reviews,
//! the site agent's state changes, cancel, retry, backend ids, delete and unlink.
//!
//! Every action checks, in this order: authentication (401), that the caller sees the order
//! (404), that the offering's type supports the action (405), the caller's permission
//! (403), the validators (blocked or archived customer, expired project: 400), the order's
//! state (409), then the body. The aggregate re-checks the state when the command runs, so
//! concurrent requests cannot both move the order.
//!
//! Side effects on the resource follow Waldur's callbacks: an order that ends settles its
//! resource (done → OK, rejected or canceled Create → Terminated…), and the synchronous
//! processors of `Marketplace.Basic` and `Support.OfferingTemplate` complete an order as
//! soon as it starts executing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use sqlx::{FromRow, QueryBuilder};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::access::{has_permission, roles_in};
use crate::api::auth::Caller;
use crate::api::body::{Body, dict_field};
use crate::api::error::{ApiError, DomainError};
use crate::api::links::{Links, parse_path_uuid};
use crate::api::offerings::{OfferingView, fetch_records, plan_resource_counts, render_offering};
use crate::domain::offering::Offering;
use crate::domain::offering::types::OfferingType;
use crate::domain::order::{Order, OrderCommand, OrderError, OrderEvent, OrderSpec, OrderState};
use crate::domain::resource::{OrderOutcome, Resource, ResourceCommand};
use crate::read::visibility::Scope;
use crate::store::metadata::CommandContext;

const ITEM: &str = "/api/marketplace-orders/{uuid}/";

pub fn router() -> Router<Arc<ApiState>> {
    let action = |name: &str| format!("/api/marketplace-orders/{{uuid}}/{name}/");
    Router::new()
        .route(ITEM, delete(destroy))
        .route(&action("approve_by_consumer"), post(approve_by_consumer))
        .route(&action("approve_by_provider"), post(approve_by_provider))
        .route(&action("reject_by_consumer"), post(reject_by_consumer))
        .route(&action("reject_by_provider"), post(reject_by_provider))
        .route(&action("cancel"), post(cancel))
        .route(&action("set_state_executing"), post(set_state_executing))
        .route(&action("set_state_done"), post(set_state_done))
        .route(&action("set_state_erred"), post(set_state_erred))
        .route(&action("retry"), post(retry))
        .route(&action("set_backend_id"), post(set_backend_id))
        .route(&action("unlink"), post(unlink))
        .route(&action("offering"), get(offering))
}

impl DomainError for OrderError {
    fn into_api(self) -> ApiError {
        match self {
            OrderError::NotFound => ApiError::NotFound("Order"),
            OrderError::InvalidState { valid } => {
                let names: Vec<&str> = valid.iter().map(|s| s.as_str()).collect();
                ApiError::invalid_state(&names)
            }
            OrderError::AlreadyReviewedByConsumer => {
                ApiError::invalid("Order is already reviewed by consumer.")
            }
            OrderError::NoAttachment => ApiError::NotFoundDetail("Not found.".to_string()),
            OrderError::AlreadyExists => ApiError::Conflict(self.to_string()),
            OrderError::InvalidNextState(_) => ApiError::internal(anyhow::anyhow!(self)),
        }
    }
}

/// An order as its actions need it: the order, its offering and its consumer side.
pub(super) struct Target {
    pub(super) uuid: Uuid,
    pub(super) order: Order,
    pub(super) spec: OrderSpec,
    pub(super) offering: Offering,
    customer_blocked: bool,
    customer_archived: bool,
    project_name: String,
    project_start_date: Option<NaiveDate>,
    project_end_date: Option<NaiveDate>,
}

#[derive(FromRow)]
struct TargetRow {
    order_doc: Value,
    offering_doc: Option<Value>,
    customer_blocked: Option<bool>,
    customer_archived: Option<bool>,
    project_name: Option<String>,
    project_start_date: Option<NaiveDate>,
    project_end_date: Option<NaiveDate>,
}

/// The order if the caller sees it, else 404.
pub(super) async fn load(
    state: &ApiState,
    caller: &Caller,
    raw_uuid: &str,
) -> Result<Target, ApiError> {
    let uuid = parse_path_uuid(raw_uuid, "Order")?;
    let mut qb = QueryBuilder::new(
        "SELECT o.document AS order_doc, f.document AS offering_doc, \
         c.blocked AS customer_blocked, c.archived AS customer_archived, \
         p.name AS project_name, p.start_date AS project_start_date, \
         p.end_date AS project_end_date \
         FROM projection.orders o \
         LEFT JOIN projection.offerings f ON f.uuid = o.offering_uuid \
         LEFT JOIN projection.customers c ON c.uuid = o.customer_uuid \
         LEFT JOIN projection.projects p ON p.uuid = o.project_uuid \
         WHERE o.uuid = ",
    );
    qb.push_bind(uuid);
    super::push_visibility(&mut qb, caller);
    let row: TargetRow = qb
        .build_query_as()
        .fetch_optional(&state.ledger.pool)
        .await?
        .ok_or(ApiError::NotFound("Order"))?;
    let order: Order = super::decode(&row.order_doc, "an order")?;
    let spec = order
        .spec
        .clone()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an order without its placement")))?;
    let offering: Offering = match &row.offering_doc {
        Some(doc) => super::decode(doc, "an offering")?,
        None => Offering::default(),
    };
    Ok(Target {
        uuid,
        order,
        spec,
        offering,
        customer_blocked: row.customer_blocked.unwrap_or(false),
        customer_archived: row.customer_archived.unwrap_or(false),
        project_name: row.project_name.unwrap_or_default(),
        project_start_date: row.project_start_date,
        project_end_date: row.project_end_date,
    })
}

impl Target {
    fn id(&self) -> String {
        self.uuid.simple().to_string()
    }

    pub(super) fn consumer_scopes(&self) -> [Scope; 2] {
        [
            Scope::Project(self.spec.project_uuid),
            Scope::Customer(self.spec.customer_uuid),
        ]
    }

    fn provider_scopes(&self) -> [Scope; 1] {
        [Scope::Customer(self.spec.provider_customer_uuid)]
    }

    /// 405 unless the offering's type supports the action.
    fn require_type(&self, supports: impl Fn(&OfferingType) -> bool) -> Result<(), ApiError> {
        if self.offering.kind().is_some_and(supports) {
            Ok(())
        } else {
            Err(ApiError::MethodNotAllowed(format!(
                "The order's offering with {} type does not support this action",
                self.offering.offering_type
            )))
        }
    }

    /// 400 when the consumer's customer is blocked or archived.
    pub(super) fn require_customer_ok(&self) -> Result<(), ApiError> {
        if self.customer_blocked {
            Err(ApiError::invalid("Blocked organization is not available."))
        } else if self.customer_archived {
            Err(ApiError::invalid("Archived organization is not available."))
        } else {
            Ok(())
        }
    }

    /// 400 when the project's end date has been reached.
    pub(super) fn require_project_not_expired(&self, today: NaiveDate) -> Result<(), ApiError> {
        match self.project_end_date {
            Some(end) if end <= today => Err(ApiError::invalid(format!(
                "Project '{}' is expired.",
                self.project_name
            ))),
            _ => Ok(()),
        }
    }

    /// 409 unless the order is in one of `valid`.
    pub(super) fn require_state(&self, valid: &[OrderState]) -> Result<(), ApiError> {
        if valid.contains(&self.order.state) {
            Ok(())
        } else {
            let names: Vec<&str> = valid.iter().map(|s| s.as_str()).collect();
            Err(ApiError::invalid_state(&names))
        }
    }
}

pub(super) async fn require(
    state: &ApiState,
    caller: &Caller,
    permission: &str,
    scopes: &[Scope],
) -> Result<(), ApiError> {
    if has_permission(state, caller, permission, scopes).await? {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

pub(super) async fn run(
    state: &ApiState,
    target: &Target,
    command: OrderCommand,
    ctx: &CommandContext,
) -> Result<(), ApiError> {
    state
        .ledger
        .execute::<Order>(&target.id(), command, ctx)
        .await?;
    Ok(())
}

/// Runs `command` on the order and, in the same transaction, the resource command `then`
/// derives from the events it produced (none: the resource stays as it is).
pub(super) async fn run_with_resource(
    state: &ApiState,
    target: &Target,
    command: OrderCommand,
    then: impl Fn(&[OrderEvent]) -> Option<ResourceCommand>,
    ctx: &CommandContext,
) -> Result<(), ApiError> {
    state
        .ledger
        .execute_pair::<Order, Resource>(
            (&target.id(), command),
            &target.spec.resource_uuid.simple().to_string(),
            |_, events| then(events),
            ctx,
        )
        .await?;
    Ok(())
}

/// Runs `command` on the order and settles its resource with `outcome`, together.
async fn run_and_settle(
    state: &ApiState,
    target: &Target,
    command: OrderCommand,
    outcome: OrderOutcome,
    ctx: &CommandContext,
) -> Result<(), ApiError> {
    let settle = target.spec.settlement(outcome, ctx.now);
    run_with_resource(state, target, command, |_| Some(settle.clone()), ctx).await
}

/// What happens once an order executes: the synchronous processors (Basic, Support)
/// complete it at once; other types wait for their agent.
async fn process(state: &ApiState, target: &Target, ctx: &CommandContext) -> Result<(), ApiError> {
    crate::app::orders::complete_if_synchronous(&state.ledger, &target.offering, &target.spec, ctx)
        .await?;
    Ok(())
}

/// The request body, or its parse error (raised only when the action reads its body).
type MaybeBody = Result<Body, ApiError>;

/// An optional string field of a body.
fn string_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(if *b { "True" } else { "False" }.to_string())),
        Some(_) => Err(ApiError::field(name, "Not a valid string.")),
    }
}

fn detail(message: &str) -> Response {
    Json(json!({ "detail": message })).into_response()
}

/// Whether the provider reviews the order: the offering decides, given whether one of
/// `approvers` (the consumer reviewer and the creator) owns the provider's organization.
async fn provider_review_needed(
    state: &ApiState,
    target: &Target,
    approvers: &[Uuid],
) -> Result<bool, ApiError> {
    let mut owner = false;
    if target.offering.provider_review_depends_on_approver() {
        for user in approvers {
            if roles_in(state, *user, &target.provider_scopes())
                .await?
                .contains("CUSTOMER.OWNER")
            {
                owner = true;
                break;
            }
        }
    }
    Ok(target.offering.provider_reviews(owner))
}

async fn approve_by_consumer(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    require(&state, &caller, "ORDER.APPROVE", &target.consumer_scopes()).await?;
    let ctx = caller.ctx();
    target.require_customer_ok()?;
    target.require_project_not_expired(ctx.now.date_naive())?;
    target.require_state(&[OrderState::PendingConsumer])?;
    // Offerings that ask for a purchase order are approved only with one attached
    // (termination orders excepted, as in newest Waldur's tests).
    let purchase_order_required = target
        .offering
        .settings
        .plugin_options
        .get("require_purchase_order_upload")
        .and_then(Value::as_bool)
        == Some(true);
    if purchase_order_required
        && target.order.attachment.is_none()
        && target.spec.order_type != crate::domain::order::OrderType::Terminate
    {
        return Err(ApiError::invalid(
            "Purchase order is required for approval.",
        ));
    }
    let today = ctx.now.date_naive();
    let (next, message) = if target.project_start_date.is_some_and(|d| d > today) {
        (
            OrderState::PendingProject,
            "Order is pending project activation.",
        )
    } else if provider_review_needed(&state, &target, &[caller.uuid, target.spec.created_by])
        .await?
    {
        (
            OrderState::PendingProvider,
            "Order is pending provider approval.",
        )
    } else {
        (
            OrderState::Executing,
            "Order has been approved and is being processed.",
        )
    };
    let command = OrderCommand::ApproveByConsumer {
        reviewer: caller.uuid,
        next,
        at: ctx.now,
    };
    run(&state, &target, command, &ctx).await?;
    if next == OrderState::Executing {
        process(&state, &target, &ctx).await?;
    }
    Ok(detail(message))
}

async fn approve_by_provider(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: MaybeBody,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    require(&state, &caller, "ORDER.APPROVE", &target.provider_scopes()).await?;
    target.require_customer_ok()?;
    target.require_state(&[OrderState::PendingProvider])?;
    let Body(body) = body?;
    let attributes = dict_field(&body, "attributes")?;
    let ctx = caller.ctx();
    // An order that is to start later waits for its date; the scheduler starts it then.
    let waits = target
        .spec
        .start_date
        .is_some_and(|start| start > ctx.now.date_naive());
    let next = if waits {
        OrderState::PendingStartDate
    } else {
        OrderState::Executing
    };
    let command = OrderCommand::ApproveByProvider {
        reviewer: caller.uuid,
        attributes,
        next,
        at: ctx.now,
    };
    run(&state, &target, command, &ctx).await?;
    if waits {
        return Ok(detail("Order is pending start date."));
    }
    process(&state, &target, &ctx).await?;
    Ok(detail("Order has been approved and is being processed."))
}

async fn reject_by_consumer(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: MaybeBody,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    if caller.uuid != target.spec.created_by {
        require(&state, &caller, "ORDER.REJECT", &target.consumer_scopes()).await?;
    }
    target.require_customer_ok()?;
    target.require_state(&[OrderState::PendingConsumer])?;
    let Body(body) = body?;
    let error_message = string_field(&body, "error_message")?.unwrap_or_default();
    let error_traceback = string_field(&body, "error_traceback")?.unwrap_or_default();
    let comment = string_field(&body, "consumer_rejection_comment")?.unwrap_or_default();
    let ctx = caller.ctx();
    let command = OrderCommand::RejectByConsumer {
        reviewer: caller.uuid,
        error_message,
        error_traceback,
        comment,
        at: ctx.now,
    };
    run_and_settle(&state, &target, command, OrderOutcome::Rejected, &ctx).await?;
    Ok(StatusCode::OK.into_response())
}

async fn reject_by_provider(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: MaybeBody,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    require(&state, &caller, "ORDER.REJECT", &target.provider_scopes()).await?;
    target.require_customer_ok()?;
    target.require_state(&[OrderState::PendingProvider])?;
    let Body(body) = body?;
    let comment = string_field(&body, "provider_rejection_comment")?.unwrap_or_default();
    let ctx = caller.ctx();
    let command = OrderCommand::RejectByProvider {
        reviewer: caller.uuid,
        comment,
        at: ctx.now,
    };
    run_and_settle(&state, &target, command, OrderOutcome::Rejected, &ctx).await?;
    Ok(StatusCode::OK.into_response())
}

async fn cancel(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: MaybeBody,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    target.require_type(|k| k.order_actions.cancel)?;
    require(&state, &caller, "ORDER.CANCEL", &target.consumer_scopes()).await?;
    target.require_state(&[
        OrderState::PendingConsumer,
        OrderState::PendingProvider,
        OrderState::PendingStartDate,
        OrderState::Executing,
    ])?;
    let Body(body) = body?;
    let termination_comment = string_field(&body, "termination_comment")?;
    let ctx = caller.ctx();
    let command = OrderCommand::Cancel {
        termination_comment,
        at: ctx.now,
    };
    run_and_settle(&state, &target, command, OrderOutcome::Canceled, &ctx).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn set_state_executing(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    target.require_type(|k| k.order_actions.set_state_executing)?;
    require(&state, &caller, "ORDER.APPROVE", &target.provider_scopes()).await?;
    target.require_state(&[
        OrderState::PendingConsumer,
        OrderState::PendingProvider,
        OrderState::Erred,
    ])?;
    let ctx = caller.ctx();
    run(
        &state,
        &target,
        OrderCommand::SetStateExecuting { at: ctx.now },
        &ctx,
    )
    .await?;
    Ok(StatusCode::OK.into_response())
}

async fn set_state_done(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    target.require_type(|k| k.order_actions.set_state_done)?;
    require(&state, &caller, "ORDER.APPROVE", &target.provider_scopes()).await?;
    target.require_state(&[OrderState::Executing])?;
    let ctx = caller.ctx();
    run_and_settle(
        &state,
        &target,
        OrderCommand::SetStateDone { at: ctx.now },
        OrderOutcome::Done,
        &ctx,
    )
    .await?;
    Ok(StatusCode::OK.into_response())
}

async fn set_state_erred(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: MaybeBody,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    target.require_type(|k| k.order_actions.set_state_erred)?;
    require(&state, &caller, "ORDER.APPROVE", &target.provider_scopes()).await?;
    let Body(body) = body?;
    let error_message = string_field(&body, "error_message")?.unwrap_or_default();
    let error_traceback = string_field(&body, "error_traceback")?.unwrap_or_default();
    let ctx = caller.ctx();
    let command = OrderCommand::SetStateErred {
        error_message,
        error_traceback,
        at: ctx.now,
    };
    // Only an executing order fails (the others only record the error), and only a failure
    // settles the resource: the events the command produced tell which it was.
    let settle = target.spec.settlement(OrderOutcome::Erred, ctx.now);
    run_with_resource(
        &state,
        &target,
        command,
        |events| {
            events
                .iter()
                .any(|e| matches!(e, OrderEvent::OrderFailed { .. }))
                .then(|| settle.clone())
        },
        &ctx,
    )
    .await?;
    Ok(StatusCode::OK.into_response())
}

async fn retry(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    target.require_type(|k| k.order_actions.retry)?;
    require(&state, &caller, "ORDER.APPROVE", &target.provider_scopes()).await?;
    target.require_state(&[OrderState::Erred])?;
    let ctx = caller.ctx();
    let command = ResourceCommand::RetryOrder {
        order_type: target.spec.order_type,
        at: ctx.now,
    };
    run_with_resource(
        &state,
        &target,
        OrderCommand::Retry { at: ctx.now },
        |_| Some(command.clone()),
        &ctx,
    )
    .await?;
    process(&state, &target, &ctx).await?;
    Ok(detail("Order has been retried."))
}

async fn set_backend_id(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: MaybeBody,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    require(
        &state,
        &caller,
        "RESOURCE.SET_BACKEND_ID",
        &target.provider_scopes(),
    )
    .await?;
    target.require_customer_ok()?;
    let Body(body) = body?;
    let backend_id = match string_field(&body, "backend_id")? {
        Some(id) if id.chars().count() > 255 => {
            return Err(ApiError::field(
                "backend_id",
                "Ensure this field has no more than 255 characters.",
            ));
        }
        Some(id) => id.trim().to_string(),
        None => target.order.backend_id.clone(),
    };
    if backend_id == target.order.backend_id {
        return Ok(Json(json!({"status": "Order backend_id is not changed."})).into_response());
    }
    let ctx = caller.ctx();
    let command = OrderCommand::SetBackendId {
        backend_id,
        at: ctx.now,
    };
    run(&state, &target, command, &ctx).await?;
    Ok(Json(json!({"status": "Order backend_id has been changed."})).into_response())
}

async fn destroy(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    require(&state, &caller, "ORDER.DESTROY", &target.consumer_scopes()).await?;
    target.require_customer_ok()?;
    target.require_state(&[OrderState::PendingConsumer, OrderState::PendingProvider])?;
    let ctx = caller.ctx();
    run(&state, &target, OrderCommand::Delete { at: ctx.now }, &ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn unlink(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    crate::api::access::require_staff(&caller)?;
    let ctx = caller.ctx();
    run(&state, &target, OrderCommand::Unlink { at: ctx.now }, &ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /{uuid}/offering/`: the order's offering as the public catalogue shows it.
async fn offering(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    let offering_uuid = target.spec.offering_uuid;
    let record = fetch_records(&state, |qb| {
        qb.push("o.uuid = ");
        qb.push_bind(offering_uuid);
    })
    .await?
    .into_iter()
    .next()
    .ok_or(ApiError::NotFound("Offering"))?;
    let counts: HashMap<Uuid, i64> = plan_resource_counts(&state, record.uuid).await?;
    let mut plans: Vec<_> = record.offering.plans.iter().collect();
    plans.sort_by(|a, b| a.name.cmp(&b.name).then(a.uuid.cmp(&b.uuid)));
    let mut item = render_offering(&record, &links, OfferingView::Public, &counts, &plans);
    if let Some(object) = item.as_object_mut() {
        object.insert("google_calendar_is_public".into(), Value::Null);
        object.insert("google_calendar_link".into(), Value::Null);
    }
    Ok(Json(item))
}
