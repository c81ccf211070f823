//! The reviews: `approve_by_consumer`, `approve_by_provider`, `reject_by_consumer` and
//! `reject_by_provider`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use uuid::Uuid;

use super::target::{Target, load, process, require, run, run_and_settle};
use super::{MaybeBody, detail, string_field};
use crate::api::ApiState;
use crate::api::access::roles_in;
use crate::api::auth::Caller;
use crate::api::body::{Body, dict_field};
use crate::api::error::ApiError;
use crate::domain::order::{OrderCommand, OrderState};
use crate::domain::resource::OrderOutcome;

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

pub(super) async fn approve_by_consumer(
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

pub(super) async fn approve_by_provider(
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

pub(super) async fn reject_by_consumer(
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

pub(super) async fn reject_by_provider(
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
