//! `switch_billing_mode`: puts the offering's built-in components in one billing mode.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::{Form, NOT_NULL, REQUIRED};
use crate::api::links::parse_path_uuid;
use crate::api::offerings::{execute, provider_record, require};
use crate::domain::offering::{BillingMode, OfferingCommand};

pub(super) async fn switch_billing_mode(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    require(&state, &caller, &record, "OFFERING.UPDATE_COMPONENTS").await?;
    let mut form = Form::new(body);
    let mode = match form.raw("billing_mode").cloned() {
        None => {
            form.error("billing_mode", REQUIRED);
            None
        }
        Some(Value::Null) => {
            form.error("billing_mode", NOT_NULL);
            None
        }
        Some(Value::String(text)) => match text.as_str() {
            "monthly" => Some(BillingMode::Monthly),
            "prepaid" => Some(BillingMode::Prepaid),
            "usage" => Some(BillingMode::Usage),
            _ => {
                form.error("billing_mode", format!("\"{text}\" is not a valid choice."));
                None
            }
        },
        Some(other) => {
            form.error(
                "billing_mode",
                format!("\"{other}\" is not a valid choice."),
            );
            None
        }
    };
    form.finish()?;
    let ctx = caller.ctx();
    let command = OfferingCommand::SwitchBillingMode {
        mode: mode.expect("validated"),
        at: ctx.now,
    };
    execute(&state, &caller, uuid, command).await?;
    Ok(StatusCode::OK.into_response())
}
