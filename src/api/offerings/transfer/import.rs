//! `import_offering`: an export document (JSON or YAML) imported for the customer named or
//! the caller's first owned one, through [`app::offerings::import`].
//!
//! [`app::offerings::import`]: crate::app::offerings::import

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::document::read_import_data;
use super::read_flags;
use crate::api::ApiState;
use crate::api::access::has_permission;
use crate::api::auth::Caller;
use crate::api::body::{Body, expected_dict};
use crate::api::error::ApiError;
use crate::api::form::{Form, NOT_NULL, REQUIRED};
use crate::api::links::{hex, timestamp};
use crate::app::offerings::import::{self, ImportRequest};
use crate::read;
use crate::read::visibility::Scope;

const IMPORT_FLAGS: &[(&str, bool)] = &[
    ("import_components", true),
    ("import_plans", true),
    ("import_screenshots", true),
    ("import_files", true),
    ("import_endpoints", true),
    ("import_organization_groups", false),
    ("import_terms_of_service", true),
    ("import_plugin_options", true),
    ("import_secret_options", false),
    ("overwrite_existing", false),
];

/// `offering_data` given as a YAML (or JSON) string.
fn parse_yaml(text: &str) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_norway::from_str(text)
        .map_err(|err| ApiError::invalid(format!("Invalid YAML data: {err}")))?;
    match value {
        Value::Object(map) => {
            crate::api::body::check_storable(&map)?;
            Ok(map)
        }
        other => Err(ApiError::field("offering_data", expected_dict(&other))),
    }
}

/// The customer to import into: the one named, else the first the caller owns.
async fn target_customer(
    state: &ApiState,
    caller: &Caller,
    given: Option<Uuid>,
) -> Result<Uuid, ApiError> {
    if let Some(uuid) = given {
        if read::customers::exists(&state.ledger.pool, uuid).await? {
            return Ok(uuid);
        }
        return Err(ApiError::field(
            "customer",
            format!("Invalid pk \"{uuid}\" - object does not exist."),
        ));
    }
    let owned = read::roles::first_owned_customer(&state.ledger.pool, caller.uuid).await?;
    owned.ok_or_else(|| ApiError::invalid("No target customer specified or found"))
}

pub(super) async fn import_offering(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let mut form = Form::new(body);
    let raw_data = form.raw("offering_data").cloned();
    match &raw_data {
        None => form.error("offering_data", REQUIRED),
        Some(Value::Null) => form.error("offering_data", NOT_NULL),
        Some(Value::Object(_) | Value::String(_)) => {}
        Some(other) => form.error("offering_data", expected_dict(other)),
    }
    let customer = match form.raw("customer") {
        Some(Value::Null) => None,
        _ => form.uuid("customer", false),
    };
    let project = match form.raw("project") {
        Some(Value::Null) => None,
        _ => form.uuid("project", false),
    };
    let category = form
        .nullable_str("category", 10_000)
        .flatten()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let flags = read_flags(&mut form, IMPORT_FLAGS);
    form.finish()?;
    let data = match raw_data {
        Some(Value::Object(map)) => map,
        Some(Value::String(text)) => parse_yaml(&text)?,
        _ => unreachable!("validated above"),
    };

    let customer = target_customer(&state, &caller, customer).await?;
    if !has_permission(
        &state,
        &caller,
        "OFFERING.CREATE",
        &[Scope::Customer(customer)],
    )
    .await?
    {
        return Err(ApiError::Forbidden(
            "You do not have permission to create offerings for this customer.".into(),
        ));
    }
    let document = read_import_data(&data, &flags)?;
    let name = document.name.clone();
    let request = ImportRequest {
        customer_uuid: customer,
        project_uuid: project,
        category,
        overwrite_existing: flags["overwrite_existing"],
        document,
    };
    let imported = import::import_offering(&state.ledger, request, &caller.ctx()).await?;
    let status = if imported.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = json!({
        "imported_offering_uuid": hex(imported.uuid),
        "imported_offering_name": name,
        "imported_components": imported.imported,
        "warnings": imported.warnings,
        "import_timestamp": timestamp(Utc::now()),
    });
    Ok((status, Json(body)).into_response())
}
