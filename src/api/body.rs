//! Request bodies as DRF parses them: JSON or form-encoded objects, an empty body meaning
//! `{}` (action POSTs are sent without a body or Content-Type), and DRF's messages for
//! malformed input.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

use crate::api::error::ApiError;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

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
            Some("application/x-www-form-urlencoded") => Ok(parse_form(&bytes)),
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
        Value::Object(map) => Ok(Body(map)),
        other => Err(ApiError::field(
            "non_field_errors",
            format!(
                "Invalid data. Expected a dictionary, but got {}.",
                python_type_name(&other)
            ),
        )),
    }
}

fn parse_form(bytes: &[u8]) -> Body {
    let map = url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    Body(map)
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
