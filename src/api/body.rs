//! Request bodies as DRF parses them: JSON or form-encoded objects, an empty body meaning
//! `{}` (action POSTs are sent without a body or Content-Type), and DRF's messages for
//! malformed input.
//!
//! Every body is also held to what the ledger can store and give back: no U+0000 in any
//! string or key, no nesting deeper than [`MAX_NESTING`] below a field, and numbers in
//! free-form JSON ([`FREE_FORM_FIELDS`]) within the range every client reads exactly.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

use crate::api::error::{ApiError, FieldErrors, NUL_CHARACTERS};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// How deeply a field's value may nest (objects and arrays).
pub const MAX_NESTING: usize = 32;
/// The largest magnitude of a number in free-form JSON: every integer up to it is exact in
/// a double, so Python, JavaScript and the ledger all read back what was sent.
pub const MAX_FREE_FORM_NUMBER: f64 = 9_007_199_254_740_991.0;
/// Fields holding free-form JSON that the ledger stores as given.
pub const FREE_FORM_FIELDS: &[&str] = &[
    "attributes",
    "options",
    "secret_options",
    "plugin_options",
    "resource_options",
    "service_attributes",
    "backend_id_rules",
    "backend_metadata",
];

/// A request body parsed into a JSON object.
#[derive(Debug, Default)]
pub struct Body(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The whole header is kept for the 415 message: DRF quotes it with its parameters.
        let header_value = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let content_type = header_value.as_deref().map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::default());
        }
        match content_type.as_deref() {
            Some(t) if t == "application/json" || t.ends_with("+json") => parse_json(&bytes),
            Some("application/x-www-form-urlencoded") => parse_form(&bytes),
            None => parse_json(&bytes),
            Some(_) => Err(ApiError::UnsupportedMediaType(
                header_value.unwrap_or_default(),
            )),
        }
    }
}

fn parse_json(bytes: &[u8]) -> Result<Body, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|err| ApiError::BadRequest(format!("JSON parse error - {err}")))?;
    match value {
        Value::Object(map) => {
            check_storable(&map)?;
            Ok(Body(map))
        }
        other => Err(ApiError::field(
            "non_field_errors",
            format!(
                "Invalid data. Expected a dictionary, but got {}.",
                python_type_name(&other)
            ),
        )),
    }
}

fn parse_form(bytes: &[u8]) -> Result<Body, ApiError> {
    let map = url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    check_storable(&map)?;
    Ok(Body(map))
}

/// Refuses, field by field, what the ledger could not store and give back.
pub fn check_storable(body: &Map<String, Value>) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    for (key, value) in body {
        let free_form = FREE_FORM_FIELDS.contains(&key.as_str());
        let problem = if key.contains('\0') {
            Some(NUL_CHARACTERS.to_string())
        } else {
            unstorable(value, free_form, 0)
        };
        if let Some(message) = problem {
            errors.insert(key.replace('\0', ""), vec![message]);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Fields(errors))
    }
}

/// Checks a free-form JSON value given as a whole body (e.g. an offering's attributes).
pub fn check_free_form(field: &str, body: &Map<String, Value>) -> Result<(), ApiError> {
    match unstorable(&Value::Object(body.clone()), true, 0) {
        Some(message) => Err(ApiError::field(field, message)),
        None => Ok(()),
    }
}

/// Why a field's value cannot be stored, if it cannot.
fn unstorable(value: &Value, free_form: bool, depth: usize) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(NUL_CHARACTERS.to_string()),
        Value::Number(n) if free_form && n.as_f64().unwrap_or(0.0).abs() > MAX_FREE_FORM_NUMBER => {
            Some(format!(
                "Ensure every number is between -{max} and {max}.",
                max = MAX_FREE_FORM_NUMBER as u64
            ))
        }
        Value::Array(_) | Value::Object(_) if depth >= MAX_NESTING => Some(format!(
            "Ensure this value has no more than {MAX_NESTING} levels of nesting."
        )),
        Value::Array(items) => items
            .iter()
            .find_map(|item| unstorable(item, free_form, depth + 1)),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                Some(NUL_CHARACTERS.to_string())
            } else {
                unstorable(item, free_form, depth + 1)
            }
        }),
        _ => None,
    }
}

/// DRF's message for a value that should have been a dictionary.
pub fn expected_dict(value: &Value) -> String {
    format!(
        "Expected a dictionary of items but got type \"{}\".",
        python_type_name(value)
    )
}

/// An optional dictionary field of a JSON body: absent or null reads as empty.
pub fn dict_field(
    body: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => Err(ApiError::field(name, expected_dict(other))),
    }
}

/// The name DRF uses for a JSON value's type in its messages.
pub fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
