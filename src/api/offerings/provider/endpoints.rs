//! `add_endpoint` and `delete_endpoint`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::hex;
use crate::api::offerings::{edit_context, execute};
use crate::api::{ApiState, no_content};
use crate::app::offerings::{self, edit};
use crate::domain::offering::OfferingCommand;
use crate::domain::offering::model::Endpoint;

pub(super) async fn add_endpoint(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, "OFFERING.ADD_ENDPOINT").await?;
    let mut form = Form::new(body);
    let name = form.required_str("name", 255);
    let url = form.required_str("url", 255);
    if let Some(url) = &url
        && !Endpoint::is_valid_url(url)
    {
        form.error("url", offerings::INVALID_URL);
    }
    form.finish()?;
    let endpoint_uuid = edit::add_endpoint(
        &state.ledger,
        record.uuid,
        name.expect("validated"),
        url.expect("validated"),
        &caller.ctx(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"uuid": hex(endpoint_uuid)})),
    )
        .into_response())
}

pub(super) async fn delete_endpoint(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, "OFFERING.DELETE_ENDPOINT").await?;
    let mut form = Form::new(body);
    let endpoint = form.uuid("uuid", true);
    form.finish()?;
    let ctx = caller.ctx();
    let command = OfferingCommand::RemoveEndpoint {
        uuid: endpoint.expect("validated"),
        at: ctx.now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    Ok(no_content())
}
