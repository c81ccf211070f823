//! The lifecycle actions (`activate`, `pause`, `unpause`, `archive`, `draft`,
//! `make_unavailable`, `make_available`) and deletion.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::parse_path_uuid;
use crate::api::offerings::{OfferingRecord, provider_record, require};
use crate::api::{ApiState, no_content};
use crate::app::offerings::lifecycle::{self, Deleter};
use crate::domain::offering::Lifecycle;

/// The lifecycle actions and their paths.
pub(super) const LIFECYCLE: &[(&str, Lifecycle)] = &[
    ("activate", Lifecycle::Activate),
    ("pause", Lifecycle::Pause),
    ("unpause", Lifecycle::Unpause),
    ("archive", Lifecycle::Archive),
    ("draft", Lifecycle::Draft),
    ("make_unavailable", Lifecycle::MakeUnavailable),
    ("make_available", Lifecycle::MakeAvailable),
];

/// Staff always may run lifecycle actions; providers only when the operator allows it.
async fn require_lifecycle(
    state: &ApiState,
    caller: &Caller,
    record: &OfferingRecord,
    permission: &str,
) -> Result<(), ApiError> {
    if caller.is_staff {
        return Ok(());
    }
    if !state.allow_provider_offering_management {
        return Err(ApiError::PermissionDenied);
    }
    require(state, caller, record, permission).await
}

pub(super) async fn transition(
    state: Arc<ApiState>,
    caller: Caller,
    raw_uuid: String,
    action: Lifecycle,
    body: Map<String, Value>,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    let permission = match action {
        Lifecycle::Activate | Lifecycle::Draft => "OFFERING.CREATE",
        Lifecycle::Pause | Lifecycle::MakeUnavailable | Lifecycle::MakeAvailable => {
            "OFFERING.PAUSE"
        }
        Lifecycle::Unpause => "OFFERING.UNPAUSE",
        Lifecycle::Archive => "OFFERING.ARCHIVE",
    };
    require_lifecycle(&state, &caller, &record, permission).await?;
    lifecycle::check_transition(action, record.standing())?;
    let mut form = Form::new(body);
    let paused_reason = form.optional_str("paused_reason", 2000);
    form.finish()?;
    lifecycle::transition(&state.ledger, uuid, action, paused_reason, &caller.ctx()).await?;
    let record = provider_record(&state, &caller, uuid).await?;
    Ok(Json(json!({
        "detail": "Offering state updated.",
        "state": record.offering.state.as_str(),
    }))
    .into_response())
}

pub(super) async fn destroy(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    let by = if caller.is_staff {
        Deleter::Staff
    } else {
        require_lifecycle(&state, &caller, &record, "OFFERING.DELETE").await?;
        Deleter::Provider
    };
    lifecycle::delete_offering(
        &state.ledger,
        uuid,
        &record.offering,
        record.standing(),
        by,
        &caller.ctx(),
    )
    .await?;
    Ok(no_content())
}
