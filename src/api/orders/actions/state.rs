//! `cancel` and the site agent's state changes: `set_state_executing`, `set_state_done`,
//! `set_state_erred` and `retry`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::target::{load, process, require, run, run_and_settle, run_with_resource};
use super::{MaybeBody, detail, string_field};
use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::domain::order::{OrderCommand, OrderEvent, OrderState};
use crate::domain::resource::{OrderOutcome, ResourceCommand};

pub(super) async fn cancel(
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

pub(super) async fn set_state_executing(
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

pub(super) async fn set_state_done(
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

pub(super) async fn set_state_erred(
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

pub(super) async fn retry(
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
