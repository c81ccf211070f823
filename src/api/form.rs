//! Field-by-field validation of request bodies with DRF's messages. A handler reads every
//! field it needs, then calls [`Form::finish`], which reports all field errors at once.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::api::body::python_type_name;
use crate::api::error::{ApiError, FieldErrors};

pub const REQUIRED: &str = "This field is required.";
pub const NOT_NULL: &str = "This field may not be null.";
pub const NOT_BLANK: &str = "This field may not be blank.";

/// A request body being validated. As an extractor it reads the body and is partial for
/// PATCH (absent fields are left alone) and complete for every other method.
pub struct Form {
    data: Map<String, Value>,
    errors: FieldErrors,
    /// Errors that are not a list of messages (nested bodies, per-item lists).
    nested: Map<String, Value>,
    /// PATCH: absent fields are left alone, so nothing is required.
    partial: bool,
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for Form {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let partial = req.method() == axum::http::Method::PATCH;
        let crate::api::body::Body(data) = crate::api::body::Body::from_request(req, state).await?;
        Ok(if partial {
            Form::partial(data)
        } else {
            Form::new(data)
        })
    }
}

impl Form {
    pub fn new(data: Map<String, Value>) -> Self {
        Self {
            data,
            errors: FieldErrors::new(),
            nested: Map::new(),
            partial: false,
        }
    }

    pub fn partial(data: Map<String, Value>) -> Self {
        Self {
            partial: true,
            ..Self::new(data)
        }
    }

    /// Records an error against a field.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_string())
            .or_default()
            .push(message.into());
    }

    /// Records a structured error (a nested body's errors) against a field.
    pub fn error_value(&mut self, field: &str, value: Value) {
        self.nested.insert(field.to_string(), value);
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.errors.contains_key(field) || self.nested.contains_key(field)
    }

    pub fn is_present(&self, field: &str) -> bool {
        self.data.contains_key(field)
    }

    /// The raw value of a field, if given.
    pub fn raw(&self, field: &str) -> Option<&Value> {
        self.data.get(field)
    }

    /// A required, non-blank string (absent is allowed only in partial mode).
    pub fn required_str(&mut self, field: &str, max_len: usize) -> Option<String> {
        if !self.is_present(field) {
            if !self.partial {
                self.error(field, REQUIRED);
            }
            return None;
        }
        let value = self.string(field, max_len, false)?;
        if value.trim().is_empty() {
            self.error(field, NOT_BLANK);
            return None;
        }
        Some(value)
    }

    /// An optional string that may be blank; `null` is refused unless `nullable`.
    pub fn optional_str(&mut self, field: &str, max_len: usize) -> Option<String> {
        if !self.is_present(field) {
            return None;
        }
        self.string(field, max_len, false)
    }

    /// An optional string that may be `null` (`Some(None)`).
    pub fn nullable_str(&mut self, field: &str, max_len: usize) -> Option<Option<String>> {
        match self.data.get(field) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(_) => self.string(field, max_len, true).map(Some),
        }
    }

    fn string(&mut self, field: &str, max_len: usize, nullable: bool) -> Option<String> {
        let value = match self.data.get(field)? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Value::Null if nullable => return None,
            Value::Null => {
                self.error(field, NOT_NULL);
                return None;
            }
            _ => {
                self.error(field, "Not a valid string.");
                return None;
            }
        };
        if value.chars().count() > max_len {
            self.error(
                field,
                format!("Ensure this field has no more than {max_len} characters."),
            );
            return None;
        }
        Some(value)
    }

    /// An optional boolean, accepting DRF's textual spellings.
    pub fn bool(&mut self, field: &str) -> Option<bool> {
        let parsed = match self.data.get(field)? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) if n.as_i64() == Some(1) => Some(true),
            Value::Number(n) if n.as_i64() == Some(0) => Some(false),
            Value::String(s) => match s.as_str() {
                "true" | "True" | "TRUE" | "on" | "On" | "ON" | "1" | "yes" | "Yes" | "y" | "Y" => {
                    Some(true)
                }
                "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | "0" | "no" | "No" | "n"
                | "N" => Some(false),
                _ => None,
            },
            Value::Null => {
                self.error(field, NOT_NULL);
                return None;
            }
            _ => None,
        };
        if parsed.is_none() {
            self.error(field, "Must be a valid boolean.");
        }
        parsed
    }

    /// An optional number (`Some(None)` for null).
    pub fn nullable_f64(&mut self, field: &str) -> Option<Option<f64>> {
        let parsed = match self.data.get(field)? {
            Value::Null => return Some(None),
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        };
        if parsed.is_none() {
            self.error(field, "A valid number is required.");
            return None;
        }
        Some(parsed)
    }

    /// An optional `latitude` (within ±90) or `longitude` (within ±180), `Some(None)` for
    /// null, refused with DRF's range messages outside the globe.
    pub fn coordinate(&mut self, field: &str) -> Option<Option<f64>> {
        let limit = if field == "latitude" { 90.0 } else { 180.0 };
        match self.nullable_f64(field)? {
            Some(value) if value > limit => {
                self.error(
                    field,
                    format!("Ensure this value is less than or equal to {limit}."),
                );
                None
            }
            Some(value) if value < -limit => {
                let message = format!("Ensure this value is greater than or equal to -{limit}.");
                self.error(field, message);
                None
            }
            parsed => Some(parsed),
        }
    }

    /// An optional date `YYYY-MM-DD` (`Some(None)` for null).
    pub fn nullable_date(&mut self, field: &str) -> Option<Option<NaiveDate>> {
        let parsed = match self.data.get(field)? {
            Value::Null => return Some(None),
            Value::String(s) if s.is_empty() => return Some(None),
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.error(
                field,
                "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
            );
            return None;
        }
        Some(parsed)
    }

    /// An optional ISO-8601 datetime (`Some(None)` for null).
    pub fn nullable_datetime(&mut self, field: &str) -> Option<Option<DateTime<Utc>>> {
        let parsed = match self.data.get(field)? {
            Value::Null => return Some(None),
            Value::String(s) => parse_datetime(s),
            _ => None,
        };
        if parsed.is_none() {
            self.error(
                field,
                "Datetime has wrong format. Use one of these formats instead: \
                 YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
            );
            return None;
        }
        Some(parsed)
    }

    /// A uuid, given as hex or dashed text.
    pub fn uuid(&mut self, field: &str, required: bool) -> Option<Uuid> {
        let Some(value) = self.data.get(field) else {
            if required && !self.partial {
                self.error(field, REQUIRED);
            }
            return None;
        };
        match value {
            Value::String(s) => match Uuid::parse_str(s.trim()) {
                Ok(uuid) => Some(uuid),
                Err(_) => {
                    self.error(field, "Must be a valid UUID.");
                    None
                }
            },
            Value::Null => {
                self.error(field, NOT_NULL);
                None
            }
            _ => {
                self.error(field, "Must be a valid UUID.");
                None
            }
        }
    }

    /// A hyperlinked relation (`…/api/<collection>/<uuid>/`); a bare uuid is accepted too.
    /// Whether the object exists is for the caller to check.
    pub fn hyperlink(&mut self, field: &str, collection: &str, required: bool) -> Option<Uuid> {
        let Some(value) = self.data.get(field) else {
            if required && !self.partial {
                self.error(field, REQUIRED);
            }
            return None;
        };
        let text = match value {
            Value::String(s) => s.trim().to_string(),
            Value::Null => {
                self.error(field, NOT_NULL);
                return None;
            }
            other => {
                let message = format!(
                    "Incorrect type. Expected URL string, received {}.",
                    python_type_name(other)
                );
                self.error(field, message);
                return None;
            }
        };
        match parse_hyperlink(&text, collection) {
            Ok(uuid) => Some(uuid),
            Err(message) => {
                self.error(field, message);
                None
            }
        }
    }

    /// The errors found so far as one JSON object, if any (for nested bodies).
    pub fn into_error_value(self) -> Option<Value> {
        if self.errors.is_empty() && self.nested.is_empty() {
            return None;
        }
        let mut all: Map<String, Value> = self
            .errors
            .into_iter()
            .map(|(field, messages)| (field, Value::from(messages)))
            .collect();
        all.extend(self.nested);
        Some(Value::Object(all))
    }

    /// Ends validation: `Err` with every field error found, if any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.nested.is_empty() {
            if self.errors.is_empty() {
                Ok(())
            } else {
                Err(ApiError::Fields(self.errors))
            }
        } else {
            Err(ApiError::InvalidBody(
                self.into_error_value().expect("errors were recorded"),
            ))
        }
    }
}

/// Parses `http://host/api/<collection>/<uuid>/` (or a bare uuid) into the uuid.
pub fn parse_hyperlink(text: &str, collection: &str) -> Result<Uuid, &'static str> {
    if let Ok(uuid) = Uuid::parse_str(text) {
        return Ok(uuid);
    }
    let path = match url::Url::parse(text) {
        Ok(url) => url.path().to_string(),
        Err(_) if text.starts_with('/') => text.split('?').next().unwrap_or("").to_string(),
        Err(_) => return Err("Invalid hyperlink - No URL match."),
    };
    let prefix = format!("/api/{collection}/");
    let Some(rest) = path.strip_prefix(&prefix) else {
        return if path.starts_with("/api/") {
            Err("Invalid hyperlink - Incorrect URL match.")
        } else {
            Err("Invalid hyperlink - No URL match.")
        };
    };
    let id = rest.strip_suffix('/').unwrap_or(rest);
    if id.contains('/') {
        return Err("Invalid hyperlink - Incorrect URL match.");
    }
    Uuid::parse_str(id).map_err(|_| "Invalid hyperlink - Object does not exist.")
}

/// Parses the ISO-8601 forms DRF accepts.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(value: Value) -> Form {
        Form::new(value.as_object().unwrap().clone())
    }

    #[test]
    fn missing_and_blank_required_fields_are_reported_together() {
        let mut f = form(json!({"title": "  "}));
        assert_eq!(f.required_str("name", 150), None);
        assert_eq!(f.required_str("title", 150), None);
        let Err(ApiError::Fields(errors)) = f.finish() else {
            panic!("expected field errors")
        };
        assert_eq!(errors["name"], vec![REQUIRED]);
        assert_eq!(errors["title"], vec![NOT_BLANK]);
    }

    #[test]
    fn wrong_types_get_drf_messages() {
        let mut f = form(json!({"name": ["x"], "blocked": "maybe", "latitude": "north"}));
        f.required_str("name", 150);
        f.bool("blocked");
        f.nullable_f64("latitude");
        let Err(ApiError::Fields(errors)) = f.finish() else {
            panic!("expected field errors")
        };
        assert_eq!(errors["name"], vec!["Not a valid string."]);
        assert_eq!(errors["blocked"], vec!["Must be a valid boolean."]);
        assert_eq!(errors["latitude"], vec!["A valid number is required."]);
    }

    #[test]
    fn coordinates_off_the_globe_are_refused() {
        let mut f = form(json!({"latitude": 1.7976931348623157e308, "longitude": -180.5}));
        assert_eq!(f.coordinate("latitude"), None);
        assert_eq!(f.coordinate("longitude"), None);
        let Err(ApiError::Fields(errors)) = f.finish() else {
            panic!("expected field errors");
        };
        assert_eq!(
            errors["latitude"],
            vec!["Ensure this value is less than or equal to 90."]
        );
        assert_eq!(
            errors["longitude"],
            vec!["Ensure this value is greater than or equal to -180."]
        );
        let mut f = form(json!({"latitude": -90, "longitude": 180.0}));
        assert_eq!(f.coordinate("latitude"), Some(Some(-90.0)));
        assert_eq!(f.coordinate("longitude"), Some(Some(180.0)));
    }

    #[test]
    fn partial_forms_require_nothing() {
        let mut f = Form::partial(Map::new());
        assert_eq!(f.required_str("name", 150), None);
        assert!(f.finish().is_ok());
    }

    #[test]
    fn hyperlinks_accept_urls_paths_and_bare_uuids() {
        let id = Uuid::new_v4();
        let url = format!("http://h/api/customers/{}/", id.simple());
        assert_eq!(parse_hyperlink(&url, "customers"), Ok(id));
        assert_eq!(
            parse_hyperlink(&format!("/api/customers/{id}/"), "customers"),
            Ok(id)
        );
        assert_eq!(parse_hyperlink(&id.to_string(), "customers"), Ok(id));
        assert_eq!(
            parse_hyperlink(&format!("http://h/api/projects/{id}/"), "customers"),
            Err("Invalid hyperlink - Incorrect URL match.")
        );
        assert_eq!(
            parse_hyperlink("nonsense", "customers"),
            Err("Invalid hyperlink - No URL match.")
        );
    }

    #[test]
    fn dates_and_datetimes_parse_like_drf() {
        let mut f =
            form(json!({"d": "2030-01-01", "bad": "01/01/2030", "t": "2030-01-01T10:00:00Z"}));
        assert_eq!(
            f.nullable_date("d"),
            Some(NaiveDate::from_ymd_opt(2030, 1, 1))
        );
        assert_eq!(f.nullable_date("bad"), None);
        assert!(f.nullable_datetime("t").unwrap().is_some());
        assert!(f.has_error("bad"));
    }
}
