//! The component and partition actions of `/api/marketplace-provider-offerings/{uuid}/`:
//! `create_offering_component`, `update_offering_component`, `remove_offering_component`,
//! `add_partition`, `update_partition` and `remove_partition`.
//!
//! Every action checks, in Waldur's order: the offering is visible (404), the caller holds
//! the permission on its customer (403), the update validators (archived offering, blocked
//! or archived customer: 400), then the body.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::input::{nullable_int, read_component};
use super::{
    OfferingRecord, PARTITION_FIELDS, PartitionField, edit_context, execute, provider_record,
    render_partition_details,
};
use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, DomainError};
use crate::api::form::Form;
use crate::api::number;
use crate::app::offerings::{edit, new_component};
use crate::domain::offering::model::{Component, Partition};
use crate::domain::offering::{OfferingCommand, OfferingError};

const BASE: &str = "/api/marketplace-provider-offerings/{uuid}";

/// Components are managed with this permission, partitions with `OFFERING.UPDATE`.
const UPDATE_COMPONENTS: &str = "OFFERING.UPDATE_COMPONENTS";
const UPDATE_OFFERING: &str = "OFFERING.UPDATE";

/// Partition names and text settings: the lengths the ledger accepts.
const PARTITION_NAME_MAX: usize = 100;
const PARTITION_TEXT_MAX: usize = 255;

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route(
            &format!("{BASE}/create_offering_component/"),
            post(create_component),
        )
        .route(
            &format!("{BASE}/update_offering_component/"),
            post(update_component),
        )
        .route(
            &format!("{BASE}/remove_offering_component/"),
            post(remove_component),
        )
        .route(&format!("{BASE}/add_partition/"), post(add_partition))
        .route(
            &format!("{BASE}/update_partition/"),
            patch(update_partition).post(update_partition),
        )
        .route(&format!("{BASE}/remove_partition/"), post(remove_partition))
}

/// A body value as Waldur's `request.data.get(field)` sees it: falsy values (absent, null,
/// `""`, `0`, `false`, empty list or object) count as not given.
fn truthy<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    match body.get(field)? {
        Value::Null | Value::Bool(false) => None,
        Value::String(s) if s.is_empty() => None,
        Value::Number(n) if n.as_f64() == Some(0.0) => None,
        Value::Array(items) if items.is_empty() => None,
        Value::Object(map) if map.is_empty() => None,
        value => Some(value),
    }
}

/// A uuid given as hex or dashed text; anything else matches nothing.
fn as_uuid(value: &Value) -> Option<Uuid> {
    value.as_str().and_then(|s| Uuid::parse_str(s.trim()).ok())
}

/// The component a body's `uuid` names, or 404.
fn named_component<'a>(
    record: &'a OfferingRecord,
    value: &Value,
) -> Result<&'a Component, ApiError> {
    as_uuid(value)
        .and_then(|uuid| record.offering.component(uuid))
        .ok_or_else(|| OfferingError::ComponentNotFound.into_api())
}

fn details(message: &str) -> ApiError {
    ApiError::InvalidBody(json!({ "details": message }))
}

fn empty(status: StatusCode) -> Response {
    status.into_response()
}

async fn create_component(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, UPDATE_COMPONENTS).await?;
    let mut form = Form::new(body);
    let changes = read_component(&mut form, false);
    form.finish()?;
    let command = OfferingCommand::AddComponent {
        component: new_component(&changes, Uuid::new_v4()),
        at: caller.ctx().now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    Ok(empty(StatusCode::CREATED))
}

async fn update_component(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, UPDATE_COMPONENTS).await?;
    let Some(given) = truthy(&body, "uuid") else {
        return Err(details("UUID for offering component was not provided."));
    };
    let component = named_component(&record, given)?.uuid;
    // A partial update: only the fields given are validated and written.
    let mut form = Form::partial(body);
    let changes = read_component(&mut form, true);
    form.finish()?;
    edit::update_component(
        &state.ledger,
        record.uuid,
        &record.offering,
        component,
        changes,
        &caller.ctx(),
    )
    .await?;
    Ok(empty(StatusCode::OK))
}

async fn remove_component(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, UPDATE_COMPONENTS).await?;
    let Some(given) = truthy(&body, "uuid") else {
        return Err(details(
            "UUID for offering component to remove was not provided.",
        ));
    };
    let component = named_component(&record, given)?;
    edit::remove_component(&state.ledger, record.uuid, component, &caller.ctx()).await?;
    Ok(empty(StatusCode::OK))
}

/// Reads the partition settings present in a body, each as its kind requires.
fn read_partition_settings(form: &mut Form) -> Map<String, Value> {
    let mut settings = Map::new();
    for (field, kind) in PARTITION_FIELDS {
        let value = match kind {
            PartitionField::Text => form
                .optional_str(field, PARTITION_TEXT_MAX)
                .map(Value::from),
            PartitionField::Int => {
                nullable_int(form, field, number::POSITIVE_INTEGER).map(|n| json!(n))
            }
            PartitionField::Bool => form.bool(field).map(Value::from),
        };
        if let Some(value) = value {
            settings.insert((*field).to_string(), value);
        }
    }
    settings
}

/// The partition of this offering a body's `partition_uuid` names, or 404.
fn named_partition<'a>(
    record: &'a OfferingRecord,
    body: &Map<String, Value>,
) -> Result<&'a Partition, ApiError> {
    body.get("partition_uuid")
        .and_then(as_uuid)
        .and_then(|uuid| record.offering.partitions.iter().find(|p| p.uuid == uuid))
        .ok_or_else(|| OfferingError::PartitionNotFound.into_api())
}

/// The full partition body, read back after a change.
async fn partition_reply(
    state: &ApiState,
    caller: &Caller,
    offering: Uuid,
    partition: Uuid,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let record = provider_record(state, caller, offering).await?;
    let partition = record
        .offering
        .partitions
        .iter()
        .find(|p| p.uuid == partition)
        .ok_or_else(|| OfferingError::PartitionNotFound.into_api())?;
    let body = render_partition_details(&record.offering, partition);
    Ok((status, Json(body)).into_response())
}

async fn add_partition(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, UPDATE_OFFERING).await?;
    // `offering` in the body is ignored: the partition belongs to the offering in the path.
    let mut form = Form::new(body);
    let partition_name = form.required_str("partition_name", PARTITION_NAME_MAX);
    let settings = read_partition_settings(&mut form);
    form.finish()?;
    let partition = Partition {
        uuid: Uuid::new_v4(),
        partition_name: partition_name.expect("validated"),
        created: None,
        modified: None,
        settings,
    };
    let partition_uuid = partition.uuid;
    let command = OfferingCommand::AddPartition {
        partition,
        at: caller.ctx().now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    partition_reply(
        &state,
        &caller,
        record.uuid,
        partition_uuid,
        StatusCode::CREATED,
    )
    .await
}

async fn update_partition(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, UPDATE_OFFERING).await?;
    let partition = named_partition(&record, &body)?.uuid;
    let mut form = Form::partial(body);
    let partition_name = form.required_str("partition_name", PARTITION_NAME_MAX);
    let settings = read_partition_settings(&mut form);
    form.finish()?;
    let command = OfferingCommand::UpdatePartition {
        uuid: partition,
        partition_name,
        settings,
        at: caller.ctx().now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    partition_reply(&state, &caller, record.uuid, partition, StatusCode::OK).await
}

async fn remove_partition(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, UPDATE_OFFERING).await?;
    let partition = named_partition(&record, &body)?.uuid;
    let command = OfferingCommand::RemovePartition {
        uuid: partition,
        at: caller.ctx().now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
