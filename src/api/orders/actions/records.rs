//! What an order records beside its state: `set_backend_id`, and removing it with DELETE
//! (pending orders) or `unlink` (staff).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::target::{load, require, run};
use super::{MaybeBody, string_field};
use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::domain::order::{OrderCommand, OrderState};

pub(super) async fn set_backend_id(
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

pub(super) async fn destroy(
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

pub(super) async fn unlink(
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
