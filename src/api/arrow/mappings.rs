//! `/api/admin/arrow/customer-mappings/`: CRUD with its filters, and the two actions that
//! change local resources, `import_license` and `link_resource`. The actions that read
//! Arrow are in [`super::discovery`].

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{BASE, list_page};
use crate::api::access::require_staff;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::{Form, parse_hyperlink};
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{QueryParams, filter_uuid, parse_bool};
use crate::api::{ApiState, created, no_content};
use crate::app::arrow::licenses::{self, Import};
use crate::app::arrow::mappings as app;
use crate::domain::arrow::mapping::{MappingChanges, MappingFields};
use crate::read::arrow::{self as read, MappingFilter, MappingRow};
use crate::read::list::Paging;

pub const COLLECTION: &str = "admin/arrow/customer-mappings";
pub const MODEL: &str = "ArrowCustomerMapping";
const SETTINGS: &str = "admin/arrow/settings";

pub fn router() -> Router<Arc<ApiState>> {
    let base = format!("{BASE}/customer-mappings");
    Router::new()
        .route(&format!("{base}/"), get(list).post(create))
        .route(
            &format!("{base}/{{uuid}}/"),
            get(retrieve).put(update).patch(update).delete(destroy),
        )
        .route(
            &format!("{base}/{{uuid}}/import_license/"),
            post(import_license),
        )
        .route(
            &format!("{base}/{{uuid}}/link_resource/"),
            post(link_resource),
        )
}

pub fn render(row: &MappingRow, links: &Links) -> Value {
    let m = &row.mapping;
    let uuid = m.uuid.unwrap_or_default();
    let f = &m.fields;
    json!({
        "uuid": hex(uuid),
        "url": links.object(COLLECTION, uuid),
        "settings": links.object(SETTINGS, f.settings_uuid),
        "settings_uuid": hex(f.settings_uuid),
        "arrow_reference": f.arrow_reference,
        "arrow_company_name": f.arrow_company_name,
        "waldur_customer": links.object("customers", f.waldur_customer_uuid),
        "waldur_customer_uuid": hex(f.waldur_customer_uuid),
        "waldur_customer_name": row.customer_name,
        "is_active": f.is_active,
        "created": m.created.map(timestamp),
        "modified": m.modified.map(timestamp),
    })
}

/// The mapping named in the path, or 404.
pub async fn fetch(state: &ApiState, raw_uuid: &str) -> Result<MappingRow, ApiError> {
    let uuid = parse_path_uuid(raw_uuid, MODEL)?;
    read::mapping(&state.ledger.pool, uuid)
        .await?
        .ok_or(ApiError::NotFound(MODEL))
}

/// A hyperlink filter: the uuid in the URL (or a bare uuid); anything else matches
/// nothing.
fn link_filter(value: &str, collection: &str) -> Uuid {
    parse_hyperlink(value.trim(), collection).unwrap_or(Uuid::nil())
}

async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let params = QueryParams::parse(raw.as_deref());
    let settings = params
        .get("settings_uuid")
        .map(filter_uuid)
        .or_else(|| params.get("settings").map(|v| link_filter(v, SETTINGS)));
    let customer = params
        .get("waldur_customer_uuid")
        .map(filter_uuid)
        .or_else(|| {
            params
                .get("waldur_customer")
                .map(|v| link_filter(v, "customers"))
        });
    let filter = MappingFilter {
        settings,
        arrow_reference: params.get("arrow_reference").map(str::to_string),
        arrow_company_name: params.get("arrow_company_name").map(str::to_string),
        waldur_customer: customer,
        is_active: params.get("is_active").and_then(parse_bool),
    };
    let page =
        read::mappings_page(&state.ledger.pool, &filter, Paging::from_params(&params)?).await?;
    Ok(list_page(&links, COLLECTION, &params, page, render))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    Ok(Json(render(&fetch(&state, &raw_uuid).await?, &links)))
}

/// Creates a mapping; the answer names the settings and the customer by uuid, as the
/// published client's `ArrowCustomerMappingCreate` reads them.
async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let settings = form.uuid("settings", true);
    let reference = form.required_str("arrow_reference", 255);
    let customer = form.uuid("waldur_customer", true);
    let company = form.optional_str("arrow_company_name", 500);
    let is_active = form.bool("is_active");
    form.finish()?;
    let fields = MappingFields {
        settings_uuid: settings.expect("validated"),
        arrow_reference: reference.expect("validated"),
        arrow_company_name: company.unwrap_or_default(),
        waldur_customer_uuid: customer.expect("validated"),
        is_active: is_active.unwrap_or(true),
    };
    let uuid = app::create(&state.ledger, fields, &caller.ctx()).await?;
    let row = read::mapping(&state.ledger.pool, uuid)
        .await?
        .ok_or(ApiError::NotFound(MODEL))?;
    let mut body = render(&row, &links);
    body["settings"] = json!(hex(row.mapping.fields.settings_uuid));
    body["waldur_customer"] = json!(hex(row.mapping.fields.waldur_customer_uuid));
    Ok(created(links.object(COLLECTION, uuid), body))
}

/// PUT and PATCH: `settings` and `waldur_customer` as hyperlinks.
async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    mut form: Form,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let current = fetch(&state, &raw_uuid).await?;
    let uuid = current.mapping.uuid.unwrap_or_default();
    let changes = MappingChanges {
        settings_uuid: form.hyperlink("settings", SETTINGS, true),
        arrow_reference: form.required_str("arrow_reference", 255),
        arrow_company_name: form.optional_str("arrow_company_name", 500),
        waldur_customer_uuid: form.hyperlink("waldur_customer", "customers", true),
        is_active: form.bool("is_active"),
    };
    form.finish()?;
    app::update(&state.ledger, uuid, changes, &caller.ctx()).await?;
    Ok(Json(render(&fetch(&state, &raw_uuid).await?, &links)))
}

async fn destroy(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let row = fetch(&state, &raw_uuid).await?;
    app::delete(
        &state.ledger,
        row.mapping.uuid.unwrap_or_default(),
        &caller.ctx(),
    )
    .await?;
    Ok(no_content())
}

/// Imports a license as a running resource with its done audit order. Answers 200, as the
/// published client expects.
async fn import_license(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let mapping = fetch(&state, &raw_uuid).await?;
    let mut form = Form::new(body);
    let reference = form.required_str("license_reference", 255);
    let offering = form.uuid("offering_uuid", true);
    let project = form.uuid("project_uuid", true);
    let name = form.optional_str("license_name", 150);
    form.finish()?;
    let reference = reference.expect("validated");
    let imported = licenses::import(
        &state.ledger,
        mapping.mapping.uuid.unwrap_or_default(),
        Import {
            license_reference: reference.clone(),
            offering_uuid: offering.expect("validated"),
            project_uuid: project.expect("validated"),
            license_name: name,
        },
        caller.uuid,
        &caller.ctx(),
    )
    .await?;
    Ok(Json(json!({
        "resource_uuid": hex(imported.resource_uuid),
        "resource_name": imported.resource_name,
        "license_reference": reference,
        "offering_name": imported.offering_name,
        "project_name": imported.project_name,
        "success": true,
    })))
}

async fn link_resource(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let mapping = fetch(&state, &raw_uuid).await?;
    let mut form = Form::new(body);
    let resource = form.uuid("resource_uuid", true);
    let reference = form.required_str("license_reference", 255);
    form.finish()?;
    let (resource, reference) = (resource.expect("validated"), reference.expect("validated"));
    let linked = licenses::link(
        &state.ledger,
        mapping.mapping.uuid.unwrap_or_default(),
        resource,
        reference.clone(),
        &caller.ctx(),
    )
    .await?;
    Ok(Json(json!({
        "resource_uuid": hex(resource),
        "resource_name": linked.resource_name,
        "license_reference": reference,
        "previous_backend_id": linked.previous_backend_id,
        "success": true,
    })))
}
