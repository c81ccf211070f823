//! Carrying offerings elsewhere and across owners, under `/api/marketplace-provider-offerings/`:
//! `export_offering` (a portable document), `import_offering` (create or overwrite from such a
//! document, given as JSON or YAML), `move_offering` (to another customer),
//! `check_unique_backend_id` and `switch_billing_mode`.
//!
//! Screenshots, files and organization groups are not stored by the ledger: export shows them
//! as empty lists and import reports what it could not take as warnings.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::input::{self, nullable_int};
use super::{
    OfferingRecord, OfferingView, execute, number, plan_resource_counts, provider_record,
    render_offering, require, sees_secrets,
};
use crate::api::ApiState;
use crate::api::access::{has_permission, require_staff};
use crate::api::auth::Caller;
use crate::api::body::expected_dict;
use crate::api::body::{Body, python_type_name};
use crate::api::error::ApiError;
use crate::api::form::{Form, NOT_NULL, REQUIRED};
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::number;
use crate::app::offerings::import::{
    self, ImportRequest, OfferingImport, PlanComponentImport, PlanImport,
};
use crate::app::offerings::lifecycle;
use crate::app::offerings::{self, edit};
use crate::domain::offering::model::{Component, Endpoint, Plan};
use crate::domain::offering::{BillingMode, OfferingCommand};
use crate::read::visibility::{ACTIVE_GRANT, Scope};

const BASE: &str = "/api/marketplace-provider-offerings";

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route(&format!("{BASE}/import_offering/"), post(import_offering))
        .route(
            &format!("{BASE}/{{uuid}}/export_offering/"),
            post(export_offering),
        )
        .route(
            &format!("{BASE}/{{uuid}}/move_offering/"),
            post(move_offering),
        )
        .route(
            &format!("{BASE}/{{uuid}}/check_unique_backend_id/"),
            post(check_unique_backend_id),
        )
        .route(
            &format!("{BASE}/{{uuid}}/switch_billing_mode/"),
            post(switch_billing_mode),
        )
}

/// Boolean flags of a request with their defaults.
type Flags = BTreeMap<&'static str, bool>;

fn read_flags(form: &mut Form, defaults: &[(&'static str, bool)]) -> Flags {
    defaults
        .iter()
        .map(|(name, default)| (*name, form.bool(name).unwrap_or(*default)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Export

const EXPORT_FLAGS: &[(&str, bool)] = &[
    ("include_components", true),
    ("include_plans", true),
    ("include_screenshots", true),
    ("include_files", true),
    ("include_endpoints", true),
    ("include_organization_groups", true),
    ("include_terms_of_service", true),
    ("include_plugin_options", true),
    ("include_attributes", true),
    ("include_options", true),
    ("include_resource_options", true),
    ("include_secret_options", false),
];

async fn export_offering(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    require(&state, &caller, &record, "OFFERING.UPDATE").await?;
    let mut form = Form::new(body);
    let flags = read_flags(&mut form, EXPORT_FLAGS);
    form.finish()?;
    // Secrets leave only for those who may read them anyway.
    let secrets =
        flags["include_secret_options"] && sees_secrets(&state, &caller, &record.offering).await?;
    let (export_data, exported_components) = export_document(&record, &flags, secrets);
    Ok(Json(json!({
        "offering_uuid": hex(record.uuid),
        "offering_name": record.offering.details.name,
        "export_data": export_data,
        "exported_components": exported_components,
        "export_timestamp": timestamp(Utc::now()),
    })))
}

/// A price as Waldur's export writes it: `float(x) if x else 0`.
fn export_price(value: Decimal) -> Value {
    if value.is_zero() {
        json!(0)
    } else {
        number(value)
    }
}

/// Waldur writes `float(x) if x else None` for coordinates, so 0 becomes null.
fn export_coordinate(value: Option<f64>) -> Value {
    value
        .filter(|v| *v != 0.0)
        .map(|v| json!(v))
        .unwrap_or(Value::Null)
}

/// The export document and the names of what it carries.
fn export_document(record: &OfferingRecord, flags: &Flags, secrets: bool) -> (Value, Vec<String>) {
    let o = &record.offering;
    let d = &o.details;
    let mut offering = json!({
        "name": d.name,
        "description": d.description,
        "full_description": d.full_description,
        "vendor_details": d.vendor_details,
        "getting_started": d.getting_started,
        "integration_guide": d.integration_guide,
        "type": o.offering_type,
        "shared": d.shared,
        "billable": d.billable,
        "state": o.state.as_str(),
        "category_name": record.category_title,
        "country": d.country,
        "latitude": export_coordinate(d.latitude),
        "longitude": export_coordinate(d.longitude),
        "access_url": d.access_url,
        "paused_reason": o.paused_reason,
    });
    if flags["include_attributes"] {
        offering["attributes"] = json!(o.settings.attributes);
    }
    if flags["include_options"] {
        offering["options"] = object_or_empty(&o.settings.options);
    }
    let mut data = Map::new();
    let mut exported = Vec::new();
    data.insert("offering".into(), offering);
    if flags["include_resource_options"] {
        data.insert(
            "resource_options".into(),
            object_or_empty(&o.settings.resource_options),
        );
    }
    if flags["include_plugin_options"] {
        data.insert("plugin_options".into(), json!(o.settings.plugin_options));
    }
    if secrets {
        data.insert("secret_options".into(), json!(o.settings.secret_options));
    }
    if flags["include_components"] {
        let components: Vec<Value> = o
            .components
            .iter()
            .map(|c| {
                json!({
                    "type": c.component_type,
                    "name": c.name,
                    "description": c.description,
                    "billing_type": c.billing_type.as_str(),
                    "measured_unit": c.measured_unit,
                    // The ledger keeps no unit factor; Waldur's default is 1.
                    "unit_factor": 1.0,
                    "limit_period": c.limit_period.map(|p| p.as_str()),
                    "limit_amount": c.limit_amount,
                    "article_code": c.article_code,
                    "backend_id": c.backend_id,
                })
            })
            .collect();
        exported.extend(o.components.iter().map(|c| c.component_type.clone()));
        data.insert("components".into(), Value::Array(components));
    }
    if flags["include_plans"] {
        let plans: Vec<Value> = o
            .plans
            .iter()
            .map(|plan| export_plan(&o.components, plan))
            .collect();
        data.insert("plans".into(), Value::Array(plans));
        exported.push("plans".into());
    }
    for (flag, section) in [
        ("include_screenshots", "screenshots"),
        ("include_files", "files"),
    ] {
        if flags[flag] {
            data.insert(section.into(), json!([]));
            exported.push(section.into());
        }
    }
    if flags["include_endpoints"] {
        let endpoints: Vec<Value> = o
            .endpoints
            .iter()
            .map(|e| json!({"name": e.name, "url": e.url}))
            .collect();
        data.insert("endpoints".into(), Value::Array(endpoints));
        exported.push("endpoints".into());
    }
    if flags["include_organization_groups"] {
        data.insert("organization_groups".into(), json!([]));
        exported.push("organization_groups".into());
    }
    if flags["include_terms_of_service"] {
        let terms = if d.terms_of_service.trim().is_empty() {
            json!([])
        } else {
            json!([{
                "terms_of_service": d.terms_of_service,
                "terms_of_service_link": d.terms_of_service_link,
                "version": "1",
                "is_active": true,
                "requires_reconsent": false,
                "grace_period_days": 60,
            }])
        };
        data.insert("terms_of_service".into(), terms);
        exported.push("terms_of_service".into());
    }
    (Value::Object(data), exported)
}

/// Options documents are objects; anything else (never stored by the API) exports as `{}`.
fn object_or_empty(value: &Value) -> Value {
    if value.is_object() {
        value.clone()
    } else {
        json!({})
    }
}

fn export_plan(components: &[Component], plan: &Plan) -> Value {
    let plan_components: Vec<Value> = components
        .iter()
        .map(|c| {
            let price = plan.price_of(&c.component_type);
            json!({
                "component_type": c.component_type,
                "amount": plan.quotas.get(&c.component_type).copied().unwrap_or(0),
                "price": export_price(price),
                "future_price": plan.future_prices.get(&c.component_type).copied().map(number),
            })
        })
        .collect();
    json!({
        "name": plan.name,
        "description": plan.description,
        "unit_price": export_price(plan.unit_price),
        "unit": plan.unit.as_str(),
        "archived": plan.archived,
        "max_amount": plan.max_amount,
        "article_code": plan.article_code,
        "backend_id": plan.backend_id,
        "components": plan_components,
    })
}

// ---------------------------------------------------------------------------------------
// Import

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

/// Drops keys whose value is null (absent and null mean "not given" in an import), except
/// `keep`.
fn strip_nulls(map: &Map<String, Value>, keep: &[&str]) -> Map<String, Value> {
    map.iter()
        .filter(|(key, value)| !value.is_null() || keep.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Reads a list of objects with per-item forms (absent fields are not required unless the
/// reader says so); per-item errors go to `errors[field]` as DRF nests them.
fn read_items<T>(
    data: &Map<String, Value>,
    field: &str,
    errors: &mut Map<String, Value>,
    mut read: impl FnMut(&mut Form) -> T,
) -> Option<Vec<T>> {
    let items = match data.get(field) {
        None | Some(Value::Null) => return None,
        Some(Value::Array(items)) => items,
        Some(other) => {
            errors.insert(
                field.into(),
                json!([format!(
                    "Expected a list of items but got type \"{}\".",
                    python_type_name(other)
                )]),
            );
            return None;
        }
    };
    let mut results = Vec::with_capacity(items.len());
    let mut item_errors = Vec::with_capacity(items.len());
    let mut failed = false;
    for item in items {
        let Value::Object(map) = item else {
            failed = true;
            item_errors.push(json!({"non_field_errors": [format!(
                "Invalid data. Expected a dictionary, but got {}.",
                python_type_name(item)
            )]}));
            continue;
        };
        let mut form = Form::partial(strip_nulls(map, &[]));
        let result = read(&mut form);
        match form.into_error_value() {
            None => item_errors.push(json!({})),
            Some(errors) => {
                failed = true;
                item_errors.push(errors);
            }
        }
        results.push(result);
    }
    if failed {
        errors.insert(field.into(), Value::Array(item_errors));
        None
    } else {
        Some(results)
    }
}

fn require_present(form: &mut Form, field: &str) {
    if !form.is_present(field) {
        form.error(field, REQUIRED);
    }
}

fn read_import_component(form: &mut Form) -> Map<String, Value> {
    require_present(form, "type");
    let mut changes = input::read_component(form, true);
    if let Some(backend_id) = form.optional_str("backend_id", 255) {
        changes.insert("backend_id".into(), json!(backend_id));
    }
    changes
}

fn read_import_plan(form: &mut Form) -> PlanImport {
    require_present(form, "name");
    let changes = input::read_plan(form);
    let name = changes
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut data = Map::new();
    if let Some(components) = form.raw("components") {
        data.insert("components".into(), components.clone());
    }
    let mut errors = Map::new();
    let components = read_items(&data, "components", &mut errors, read_plan_component);
    if let Some(error) = errors.remove("components") {
        form.error_value("components", error);
    }
    PlanImport {
        name,
        changes,
        components: components
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect(),
    }
}

fn read_plan_component(form: &mut Form) -> Option<PlanComponentImport> {
    require_present(form, "component_type");
    let component_type = form.optional_str("component_type", 50);
    let amount = nullable_int(form, "amount", number::POSITIVE_INTEGER)
        .flatten()
        .unwrap_or(0);
    let price = input::decimal(form, "price", number::PRICE).unwrap_or_default();
    let future_price = input::decimal(form, "future_price", number::PRICE);
    Some(PlanComponentImport {
        component_type: component_type?,
        amount,
        price,
        future_price,
    })
}

fn read_import_endpoint(form: &mut Form) -> Option<(String, String)> {
    require_present(form, "name");
    require_present(form, "url");
    let name = form.optional_str("name", 255);
    let url = form.optional_str("url", 255);
    if let Some(url) = &url
        && !Endpoint::is_valid_url(url)
    {
        form.error("url", offerings::INVALID_URL);
    }
    Some((name?, url?))
}

/// The names of the items of a list section (for warnings about what is not imported).
fn item_names(data: &Map<String, Value>, field: &str) -> Vec<String> {
    data.get(field)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    item.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The terms of service to take: the active entry, else the last one.
fn read_terms(data: &Map<String, Value>) -> Option<(String, String)> {
    let items = data.get("terms_of_service")?.as_array()?;
    let chosen = items
        .iter()
        .find(|t| t.get("is_active").and_then(Value::as_bool) == Some(true))
        .or_else(|| items.last())?;
    let text = chosen.get("terms_of_service")?.as_str()?.to_string();
    let link = chosen
        .get("terms_of_service_link")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Some((text, link))
}

/// Validates an import document. Errors come back as `{"offering_data": {…}}`.
fn read_import_data(data: &Map<String, Value>, flags: &Flags) -> Result<OfferingImport, ApiError> {
    let mut errors = Map::new();
    let mut warnings = Vec::new();
    let mut details = Map::new();
    let mut settings = Map::new();
    let mut name = None;
    let mut offering_type = None;
    let mut category_name = None;
    let mut offering_form = None;

    match data.get("offering") {
        Some(Value::Object(map)) => {
            let mut form = Form::new(strip_nulls(map, &["latitude", "longitude"]));
            name = form.required_str("name", 150).map(|n| n.trim().to_string());
            if let Some(name) = &name {
                details.insert("name".into(), json!(name));
            }
            for (field, max_len) in [
                ("description", 100_000),
                ("full_description", 100_000),
                ("vendor_details", 100_000),
                ("getting_started", 100_000),
                ("integration_guide", 100_000),
                ("access_url", 200),
            ] {
                if let Some(value) = form.optional_str(field, max_len) {
                    details.insert(field.into(), json!(value.trim()));
                }
            }
            if let Some(country) = input::read_country(&mut form) {
                details.insert("country".into(), json!(country));
            }
            for field in ["latitude", "longitude"] {
                if let Some(value) = form.coordinate(field) {
                    details.insert(field.into(), json!(value));
                }
            }
            for field in ["shared", "billable"] {
                if let Some(value) = form.bool(field) {
                    details.insert(field.into(), json!(value));
                }
            }
            offering_type = form
                .optional_str("type", 100)
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            category_name = form
                .optional_str("category_name", 10_000)
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            if let Some(attributes) = input::read_object(&mut form, "attributes") {
                settings.insert("attributes".into(), Value::Object(attributes));
            }
            if let Some(options) = input::read_options(&mut form, "options") {
                settings.insert("options".into(), options);
            }
            offering_form = Some(form);
        }
        None | Some(Value::Null) => {
            errors.insert("offering".into(), json!([REQUIRED]));
        }
        Some(other) => {
            errors.insert("offering".into(), json!([expected_dict(other)]));
        }
    }

    // Option documents are siblings of `offering`; older documents kept them inside it.
    let mut top = Form::partial(strip_nulls(data, &[]));
    let mut sibling = |field: &str, read: &dyn Fn(&mut Form) -> Option<Value>| {
        if top.is_present(field) {
            read(&mut top)
        } else {
            offering_form
                .as_mut()
                .filter(|form| form.is_present(field))
                .and_then(read)
        }
    };
    if let Some(value) = sibling("resource_options", &|f: &mut Form| {
        input::read_options(f, "resource_options")
    }) {
        settings.insert("resource_options".into(), value);
    }
    if flags["import_plugin_options"]
        && let Some(value) = sibling("plugin_options", &|f: &mut Form| {
            input::read_plugin_options(f).map(Value::Object)
        })
    {
        settings.insert("plugin_options".into(), value);
    }
    if flags["import_secret_options"]
        && let Some(value) = sibling("secret_options", &|f: &mut Form| {
            input::read_object(f, "secret_options").map(Value::Object)
        })
    {
        settings.insert("secret_options".into(), value);
    }
    if let Some(form) = offering_form
        && let Some(offering_errors) = form.into_error_value()
    {
        errors.insert("offering".into(), offering_errors);
    }
    if let Some(Value::Object(top_errors)) = top.into_error_value() {
        errors.extend(top_errors);
    }

    let components = if flags["import_components"] {
        read_items(data, "components", &mut errors, read_import_component)
    } else {
        None
    };
    let plans = if flags["import_plans"] {
        read_items(data, "plans", &mut errors, read_import_plan)
    } else {
        None
    };
    let endpoints = if flags["import_endpoints"] {
        read_items(data, "endpoints", &mut errors, read_import_endpoint)
            .map(|items| items.into_iter().flatten().collect())
    } else {
        None
    };
    let terms = if flags["import_terms_of_service"] {
        read_terms(data)
    } else {
        None
    };
    if flags["import_screenshots"] {
        for name in item_names(data, "screenshots") {
            warnings.push(format!(
                "Screenshot '{name}' was not imported: screenshots are not stored"
            ));
        }
    }
    if flags["import_files"] {
        for name in item_names(data, "files") {
            warnings.push(format!(
                "File '{name}' was not imported: files are not stored"
            ));
        }
    }
    if flags["import_organization_groups"] {
        for name in item_names(data, "organization_groups") {
            warnings.push(format!("Organization group with name '{name}' not found"));
        }
    }

    if !errors.is_empty() {
        return Err(ApiError::InvalidBody(json!({ "offering_data": errors })));
    }
    Ok(OfferingImport {
        name: name.expect("validated"),
        offering_type,
        category_name,
        details,
        settings,
        components,
        plans,
        endpoints,
        terms,
        warnings,
    })
}

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
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM projection.customers WHERE uuid = $1")
                .bind(uuid)
                .fetch_optional(&state.ledger.pool)
                .await?;
        return match exists {
            Some(_) => Ok(uuid),
            None => Err(ApiError::field(
                "customer",
                format!("Invalid pk \"{uuid}\" - object does not exist."),
            )),
        };
    }
    let owned: Option<Uuid> = sqlx::query_scalar(&format!(
        "SELECT r.scope_uuid FROM projection.user_roles r \
         JOIN projection.customers c ON c.uuid = r.scope_uuid \
         WHERE r.user_uuid = $1 AND r.scope_type = 'customer' AND r.role = 'CUSTOMER.OWNER' \
           AND {ACTIVE_GRANT} \
         ORDER BY r.created, r.scope_uuid LIMIT 1"
    ))
    .bind(caller.uuid)
    .fetch_optional(&state.ledger.pool)
    .await?;
    owned.ok_or_else(|| ApiError::invalid("No target customer specified or found"))
}

async fn import_offering(
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

// ---------------------------------------------------------------------------------------
// Move, backend ids, billing modes

async fn move_offering(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let customer = form.hyperlink("customer", "customers", true);
    require_present(&mut form, "preserve_permissions");
    // The ledger keeps no offering-level roles, so there is nothing to keep or revoke.
    let _preserve_permissions = form.bool("preserve_permissions");
    let exists: Option<i32> = match customer {
        Some(uuid) => {
            sqlx::query_scalar("SELECT 1 FROM projection.customers WHERE uuid = $1")
                .bind(uuid)
                .fetch_optional(&state.ledger.pool)
                .await?
        }
        None => None,
    };
    if customer.is_some() && exists.is_none() {
        form.error("customer", "Invalid hyperlink - Object does not exist.");
    }
    form.finish()?;
    lifecycle::move_offering(
        &state.ledger,
        uuid,
        &record.offering,
        customer.expect("validated"),
        &caller.ctx(),
    )
    .await?;
    let record = provider_record(&state, &caller, uuid).await?;
    let counts = plan_resource_counts(&state, uuid).await?;
    let plans: Vec<&Plan> = record.offering.plans.iter().collect();
    Ok(Json(render_offering(
        &record,
        &links,
        OfferingView::Public,
        &counts,
        &plans,
    )))
}

async fn check_unique_backend_id(
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

async fn switch_billing_mode(
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
