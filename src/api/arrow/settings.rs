//! `/api/admin/arrow/settings/`: CRUD (the API key is taken, never shown), and the
//! `validate_credentials`, `preview_settings` and `save_settings` actions.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::{BASE, list_page};
use crate::api::access::require_staff;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{QueryParams, parse_bool};
use crate::api::{ApiState, created, no_content};
use crate::app::arrow::settings::{self as app, Setup, Validation};
use crate::domain::arrow::settings::{ArrowSettings, PriceSource, SettingsChanges, SettingsFields};
use crate::read::arrow::{self as read, SettingsFilter};
use crate::read::list::Paging;

const COLLECTION: &str = "admin/arrow/settings";
const MODEL: &str = "ArrowSettings";

pub fn router() -> Router<Arc<ApiState>> {
    let base = format!("{BASE}/settings");
    Router::new()
        .route(&format!("{base}/"), get(list).post(create))
        .route(
            &format!("{base}/{{uuid}}/"),
            get(retrieve).put(update).patch(update).delete(destroy),
        )
        .route(
            &format!("{base}/validate_credentials/"),
            post(validate_credentials),
        )
        .route(&format!("{base}/preview_settings/"), post(preview_settings))
        .route(&format!("{base}/save_settings/"), post(save_settings))
}

pub fn render(settings: &ArrowSettings, links: &Links) -> Value {
    let uuid = settings.uuid.unwrap_or_default();
    let f = &settings.fields;
    json!({
        "uuid": hex(uuid),
        "url": links.object(COLLECTION, uuid),
        "api_url": f.api_url,
        "export_type_reference": f.export_type_reference,
        "classification_filter": f.classification_filter,
        "is_active": f.is_active,
        "sync_enabled": f.sync_enabled,
        "partner_reference": settings.partner_reference,
        "partner_name": settings.partner_name,
        "invoice_price_source": f.invoice_price_source.as_str(),
        "invoice_item_prefix": f.invoice_item_prefix,
        "created": settings.created.map(timestamp),
        "modified": settings.modified.map(timestamp),
    })
}

async fn fetch(state: &ApiState, uuid: uuid::Uuid) -> Result<ArrowSettings, ApiError> {
    read::settings(&state.ledger.pool, uuid)
        .await?
        .ok_or(ApiError::NotFound(MODEL))
}

async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let params = QueryParams::parse(raw.as_deref());
    let filter = SettingsFilter {
        is_active: params.get("is_active").and_then(parse_bool),
        sync_enabled: params.get("sync_enabled").and_then(parse_bool),
    };
    let page =
        read::settings_page(&state.ledger.pool, &filter, Paging::from_params(&params)?).await?;
    Ok(list_page(&links, COLLECTION, &params, page, render))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, MODEL)?;
    Ok(Json(render(&fetch(&state, uuid).await?, &links)))
}

/// The editable fields besides `api_url` and `api_key`; absent ones stay as they are.
fn read_changes(form: &mut Form) -> SettingsChanges {
    let invoice_price_source = form
        .optional_str("invoice_price_source", 10)
        .and_then(|text| {
            let parsed = PriceSource::parse(&text);
            if parsed.is_none() {
                form.error(
                    "invoice_price_source",
                    format!("\"{text}\" is not a valid choice."),
                );
            }
            parsed
        });
    SettingsChanges {
        api_url: None,
        api_key: None,
        export_type_reference: form.optional_str("export_type_reference", 255),
        classification_filter: form.optional_str("classification_filter", 50),
        is_active: form.bool("is_active"),
        sync_enabled: form.bool("sync_enabled"),
        invoice_price_source,
        invoice_item_prefix: form.optional_str("invoice_item_prefix", 100),
        partner_reference: None,
        partner_name: None,
    }
}

async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let api_url = form.required_str("api_url", 255);
    let api_key = form.required_str("api_key", 500);
    let changes = read_changes(&mut form);
    form.finish()?;
    let defaults = SettingsFields::default();
    let fields = SettingsFields {
        api_url: api_url.expect("validated"),
        export_type_reference: changes
            .export_type_reference
            .unwrap_or(defaults.export_type_reference),
        classification_filter: changes
            .classification_filter
            .unwrap_or(defaults.classification_filter),
        is_active: changes.is_active.unwrap_or(defaults.is_active),
        sync_enabled: changes.sync_enabled.unwrap_or(defaults.sync_enabled),
        invoice_price_source: changes
            .invoice_price_source
            .unwrap_or(defaults.invoice_price_source),
        invoice_item_prefix: changes
            .invoice_item_prefix
            .unwrap_or(defaults.invoice_item_prefix),
    };
    let key = api_key.expect("validated");
    let uuid = app::create(&state.ledger, fields, &key, &caller.ctx()).await?;
    let settings = fetch(&state, uuid).await?;
    Ok(created(
        links.object(COLLECTION, uuid),
        render(&settings, &links),
    ))
}

/// PUT and PATCH: the fields given change; no `api_key` keeps the stored one, and no
/// `is_active` keeps the current value.
async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    mut form: Form,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, MODEL)?;
    fetch(&state, uuid).await?;
    let api_url = form.optional_str("api_url", 255);
    if api_url.as_deref().is_some_and(|u| u.trim().is_empty()) {
        form.error("api_url", "This field may not be blank.");
    }
    let api_key = form
        .optional_str("api_key", 500)
        .filter(|k| !k.trim().is_empty());
    let mut changes = read_changes(&mut form);
    form.finish()?;
    changes.api_url = api_url;
    app::update(
        &state.ledger,
        uuid,
        changes,
        api_key.as_deref(),
        &caller.ctx(),
    )
    .await?;
    Ok(Json(render(&fetch(&state, uuid).await?, &links)))
}

async fn destroy(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, MODEL)?;
    app::delete(&state.ledger, uuid, &caller.ctx()).await?;
    Ok(no_content())
}

/// `{api_url, api_key}` of the credential actions.
pub fn credentials(form: &mut Form) -> Option<(String, String)> {
    let api_url = form.required_str("api_url", 255);
    let api_key = form.required_str("api_key", 500);
    Some((api_url?, api_key?))
}

async fn validate_credentials(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let given = credentials(&mut form);
    form.finish()?;
    let (api_url, api_key) = given.expect("validated");
    Ok(Json(
        match app::validate_credentials(&state.ledger, &api_url, &api_key).await {
            Validation::Valid {
                partner,
                export_types,
            } => json!({
                "valid": true,
                "message": "Credentials validated successfully",
                "partner_info": {
                    "reference": partner.reference,
                    "company_name": partner.company_name,
                    "email": partner.email,
                    "city": partner.city,
                    "country_code": partner.country_code,
                },
                "export_types": export_types,
            }),
            Validation::Invalid(error) => json!({"valid": false, "error": error}),
        },
    ))
}

fn read_setup(form: &mut Form) -> Option<Setup> {
    let credentials = credentials(form);
    let export_type_reference = form
        .optional_str("export_type_reference", 255)
        .unwrap_or_default();
    let classification_filter = form
        .optional_str("classification_filter", 50)
        .unwrap_or_else(|| "IAAS".to_string());
    let sync_enabled = form.bool("sync_enabled").unwrap_or(false);
    let (api_url, api_key) = credentials?;
    Some(Setup {
        api_url,
        api_key,
        export_type_reference,
        classification_filter,
        sync_enabled,
    })
}

async fn preview_settings(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let setup = read_setup(&mut form);
    form.finish()?;
    let setup = setup.expect("validated");
    let (partner, _) = app::preview(&state.ledger, &setup).await?;
    Ok(Json(json!({
        "api_url": setup.api_url,
        "partner_name": partner.company_name,
        "partner_reference": partner.reference,
        "export_type_reference": setup.export_type_reference,
        "classification_filter": setup.classification_filter,
        "sync_enabled": setup.sync_enabled,
    })))
}

/// `customer_mappings`: a list of `{arrow_reference, waldur_customer_uuid}`.
fn read_mappings(form: &mut Form) -> Vec<(String, uuid::Uuid)> {
    const FIELD: &str = "customer_mappings";
    let items = match form.raw(FIELD) {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => {
            let message = format!(
                "Expected a list of items but got type \"{}\".",
                crate::api::body::python_type_name(other)
            );
            form.error(FIELD, message);
            return Vec::new();
        }
    };
    let mut mappings = Vec::with_capacity(items.len());
    let mut errors = Vec::with_capacity(items.len());
    let mut failed = false;
    for item in items {
        let Value::Object(map) = item else {
            failed = true;
            errors.push(json!({"non_field_errors": ["Invalid data. Expected a dictionary."]}));
            continue;
        };
        let mut inner = Form::new(map);
        let reference = inner.required_str("arrow_reference", 255);
        let customer = inner.uuid("waldur_customer_uuid", true);
        match (inner.into_error_value(), reference, customer) {
            (None, Some(reference), Some(customer)) => {
                mappings.push((reference, customer));
                errors.push(json!({}));
            }
            (error, _, _) => {
                failed = true;
                errors.push(error.unwrap_or_else(|| json!({})));
            }
        }
    }
    if failed {
        form.error_value(FIELD, Value::Array(errors));
    }
    mappings
}

async fn save_settings(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let setup = read_setup(&mut form);
    let mappings = read_mappings(&mut form);
    form.finish()?;
    let (uuid, count) = app::save(
        &state.ledger,
        setup.expect("validated"),
        mappings,
        &caller.ctx(),
    )
    .await?;
    let body: Map<String, Value> = [
        ("settings_uuid".to_string(), json!(hex(uuid))),
        ("mappings_created".to_string(), json!(count)),
        (
            "message".to_string(),
            json!(format!("Settings saved with {count} customer mappings")),
        ),
    ]
    .into_iter()
    .collect();
    Ok((axum::http::StatusCode::CREATED, Json(Value::Object(body))).into_response())
}
