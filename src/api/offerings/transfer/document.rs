//! Reading an import document (the `offering_data` of `import_offering`) into an
//! [`OfferingImport`], with DRF's error shapes: every error comes back under
//! `{"offering_data": {…}}`, list items nested per item.

use serde_json::{Map, Value, json};

use super::{Flags, require_present};
use crate::api::body::{expected_dict, python_type_name};
use crate::api::error::ApiError;
use crate::api::form::{Form, REQUIRED};
use crate::api::number;
use crate::api::offerings::input::{self, nullable_int};
use crate::app::offerings;
use crate::app::offerings::import::{OfferingImport, PlanComponentImport, PlanImport};
use crate::domain::offering::model::Endpoint;

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
pub(super) fn read_import_data(
    data: &Map<String, Value>,
    flags: &Flags,
) -> Result<OfferingImport, ApiError> {
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
