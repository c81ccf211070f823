//! Reading the descriptive fields of an offering body and its category hyperlink, shared by
//! create and the edit actions.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::offerings::input::read_country;
use crate::read;

/// Reads the descriptive fields present in a body.
pub(super) fn read_details(form: &mut Form, name_required: bool) -> Map<String, Value> {
    let mut changes = Map::new();
    let name = if name_required {
        form.required_str("name", 150)
    } else {
        form.optional_str("name", 150)
    };
    if let Some(name) = name {
        changes.insert("name".into(), json!(name.trim()));
    }
    for (field, max_len) in [
        ("description", 100_000),
        ("full_description", 100_000),
        ("terms_of_service", 100_000),
        ("terms_of_service_link", 200),
        ("privacy_policy_link", 200),
        ("vendor_details", 100_000),
        ("getting_started", 100_000),
        ("integration_guide", 100_000),
        ("access_url", 200),
        ("native_name", 160),
        ("native_description", 100_000),
        ("backend_id", 255),
        ("datacite_doi", 255),
    ] {
        if let Some(value) = form.optional_str(field, max_len) {
            changes.insert(field.into(), json!(value.trim()));
        }
    }
    if let Some(country) = read_country(form) {
        changes.insert("country".into(), json!(country));
    }
    for field in ["latitude", "longitude"] {
        if let Some(value) = form.coordinate(field) {
            changes.insert(field.into(), json!(value));
        }
    }
    for field in ["shared", "billable"] {
        if let Some(value) = form.bool(field) {
            changes.insert(field.into(), json!(value));
        }
    }
    changes
}

/// A category that exists, or the hyperlink error.
pub(super) async fn read_category(
    state: &ApiState,
    form: &mut Form,
    required: bool,
) -> Result<Option<Uuid>, ApiError> {
    let Some(uuid) = form.hyperlink("category", "marketplace-categories", required) else {
        return Ok(None);
    };
    if !read::categories::exists(&state.ledger.pool, uuid).await? {
        form.error("category", "Invalid hyperlink - Object does not exist.");
        return Ok(None);
    }
    Ok(Some(uuid))
}
