//! The edit actions: `update_overview`, `update_description`, `update_options`,
//! `update_resource_options`, `update_integration`, `update_attributes` and
//! `update_location`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::fields::{read_category, read_details};
use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::parse_path_uuid;
use crate::api::offerings::input;
use crate::api::offerings::{edit_context, execute, provider_record, require};
use crate::app::offerings::edit;
use crate::domain::offering::OfferingCommand;
use crate::domain::offering::model::OfferingState;

fn ok_empty() -> Response {
    StatusCode::OK.into_response()
}

/// The fields `update_overview` writes (Waldur's `OfferingOverviewUpdateSerializer` plus the
/// client's `backend_id`).
const OVERVIEW_FIELDS: &[&str] = &[
    "name",
    "description",
    "full_description",
    "terms_of_service",
    "terms_of_service_link",
    "privacy_policy_link",
    "access_url",
    "getting_started",
    "integration_guide",
    "backend_id",
];

pub(super) async fn update_overview(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    // Outside Draft only staff may change what consumers already see.
    if record.offering.state == OfferingState::Draft {
        require(&state, &caller, &record, "OFFERING.UPDATE").await?;
    } else if !caller.is_staff {
        return Err(ApiError::PermissionDenied);
    }
    edit::check_editable(&record.offering, record.standing())?;
    // DRF ignores what the overview serializer does not declare (shared, country…), and on
    // an imported offering the fields its sync keeps equal to the remote.
    let mut body = body;
    body.retain(|key, _| {
        OVERVIEW_FIELDS.contains(&key.as_str()) && !record.offering.is_synced_field(key)
    });
    let mut form = Form::new(body);
    let changes = read_details(&mut form, !record.offering.is_synced_field("name"));
    form.finish()?;
    let ctx = caller.ctx();
    let command = OfferingCommand::UpdateDetails {
        changes,
        at: ctx.now,
    };
    execute(&state, &caller, uuid, command).await?;
    Ok(ok_empty())
}

pub(super) async fn update_description(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, "OFFERING.UPDATE_DESCRIPTION").await?;
    let mut form = Form::new(body);
    let category = read_category(&state, &mut form, true).await?;
    form.finish()?;
    let ctx = caller.ctx();
    let command = OfferingCommand::ChangeCategory {
        category_uuid: category.expect("validated"),
        at: ctx.now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    Ok(ok_empty())
}

/// Writes the settings fields listed in `fields` that the body carries.
async fn update_settings(
    state: Arc<ApiState>,
    caller: Caller,
    raw_uuid: String,
    permission: &str,
    body: Map<String, Value>,
    fields: &[&str],
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, permission).await?;
    // Only the action's own fields are read; DRF ignores the rest of the body.
    let mut body = body;
    body.retain(|key, _| fields.contains(&key.as_str()));
    let mut form = Form::new(body);
    for field in fields {
        if !form.is_present(field) && matches!(*field, "options" | "resource_options") {
            form.error(field, crate::api::form::REQUIRED);
        }
    }
    let mut changes = input::read_settings(&mut form);
    changes.retain(|key, _| fields.contains(&key.as_str()));
    let backend_id = if fields.contains(&"backend_id") {
        form.optional_str("backend_id", 255)
    } else {
        None
    };
    form.finish()?;
    let ctx = caller.ctx();
    if !changes.is_empty() {
        let command = OfferingCommand::UpdateSettings {
            changes,
            at: ctx.now,
        };
        execute(&state, &caller, record.uuid, command).await?;
    }
    if let Some(backend_id) = backend_id {
        let mut changes = Map::new();
        changes.insert("backend_id".into(), json!(backend_id));
        let command = OfferingCommand::UpdateDetails {
            changes,
            at: ctx.now,
        };
        execute(&state, &caller, record.uuid, command).await?;
    }
    Ok(ok_empty())
}

pub(super) async fn update_options(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    update_settings(
        state,
        caller,
        raw_uuid,
        "OFFERING.UPDATE_OPTIONS",
        body,
        &["options"],
    )
    .await
}

pub(super) async fn update_resource_options(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let fields = ["resource_options"];
    update_settings(
        state,
        caller,
        raw_uuid,
        "OFFERING.UPDATE_OPTIONS",
        body,
        &fields,
    )
    .await
}

pub(super) async fn update_integration(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let fields = [
        "secret_options",
        "plugin_options",
        "service_attributes",
        "backend_id",
    ];
    update_settings(
        state,
        caller,
        raw_uuid,
        "OFFERING.UPDATE_INTEGRATION",
        body,
        &fields,
    )
    .await
}

pub(super) async fn update_attributes(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, "OFFERING.UPDATE_ATTRIBUTES").await?;
    let attributes = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(ApiError::invalid("Dictionary is expected.")),
        Err(_) if body.iter().all(u8::is_ascii_whitespace) => Map::new(),
        Err(err) => return Err(ApiError::BadRequest(format!("JSON parse error - {err}"))),
    };
    crate::api::body::check_free_form("attributes", &attributes)?;
    let mut changes = Map::new();
    changes.insert("attributes".into(), Value::Object(attributes));
    let ctx = caller.ctx();
    let command = OfferingCommand::UpdateSettings {
        changes,
        at: ctx.now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    Ok(ok_empty())
}

pub(super) async fn update_location(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, "OFFERING.UPDATE_LOCATION").await?;
    let mut form = Form::new(body);
    let mut changes = Map::new();
    for field in ["latitude", "longitude"] {
        match form.coordinate(field) {
            Some(Some(value)) => {
                changes.insert(field.into(), json!(value));
            }
            Some(None) => form.error(field, crate::api::form::NOT_NULL),
            None if !form.has_error(field) => form.error(field, crate::api::form::REQUIRED),
            None => {}
        }
    }
    form.finish()?;
    let ctx = caller.ctx();
    let command = OfferingCommand::UpdateDetails {
        changes,
        at: ctx.now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    Ok(ok_empty())
}
