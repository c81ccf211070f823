//! `check_unique_backend_id`: whether no resource of the offering (or of its customer's
//! offerings) holds a backend id yet.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::parse_path_uuid;
use crate::api::offerings::{provider_record, require};
use crate::app::offerings::edit;

pub(super) async fn check_unique_backend_id(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    require(&state, &caller, &record, "OFFERING.UPDATE").await?;
    let mut form = Form::new(body);
    let backend_id = form.required_str("backend_id", 255);
    let check_all_offerings = form.bool("check_all_offerings").unwrap_or(false);
    let use_offering_rules = form.bool("use_offering_rules").unwrap_or(false);
    form.finish()?;
    let backend_id = backend_id.expect("validated");
    let customer_wide =
        edit::backend_id_customer_wide(&record.offering, check_all_offerings, use_offering_rules);
    let unique = edit::backend_id_is_unique(
        &state.ledger.pool,
        uuid,
        &record.offering,
        &backend_id,
        customer_wide,
    )
    .await?;
    let mut answer = json!({"is_unique": unique});
    if use_offering_rules {
        // Format rules are regular expressions, which the ledger does not evaluate: the
        // format is reported as unknown.
        answer["is_valid_format"] = Value::Null;
        answer["errors"] = json!([]);
    }
    Ok(Json(answer))
}
