//! Absolute hyperlinks and the wire forms of ids and times.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::Arc;
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::error::ApiError;

/// Builds absolute URLs from the configured public URL or the request's host.
#[derive(Debug, Clone)]
pub struct Links {
    base: String,
}

impl Links {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// `base + path`, for a path starting with `/`.
    pub fn absolute(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `base/api/<collection>/<hex>/`.
    pub fn object(&self, collection: &str, uuid: Uuid) -> String {
        format!("{}/api/{}/{}/", self.base, collection, hex(uuid))
    }
}

impl FromRequestParts<Arc<ApiState>> for Links {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(public) = &state.public_url {
            return Ok(Links::new(public));
        }
        let host = parts
            .headers
            .get("x-forwarded-host")
            .or_else(|| parts.headers.get(header::HOST))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| state.listen.to_string());
        let scheme = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .filter(|s| *s == "https" || *s == "http")
            .unwrap_or("http");
        Ok(Links::new(&format!("{scheme}://{host}")))
    }
}

/// A uuid as Waldur renders it: 32 lowercase hex digits.
pub fn hex(uuid: Uuid) -> String {
    uuid.simple().to_string()
}

/// A timestamp as DRF renders it: `isoformat()` with `Z`, with microseconds only when they
/// are not zero.
pub fn timestamp(at: DateTime<Utc>) -> String {
    if at.timestamp_subsec_micros() == 0 {
        at.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

/// A uuid path segment, hex or dashed; anything else is a 404 for `model`.
pub fn parse_path_uuid(raw: &str, model: &'static str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound(model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_show_microseconds_only_when_there_are_some() {
        let whole: DateTime<Utc> = "2099-01-01T00:00:00Z".parse().unwrap();
        let fraction: DateTime<Utc> = "2026-11-22T04:56:24.410815Z".parse().unwrap();
        assert_eq!(timestamp(whole), "2099-01-01T00:00:00Z");
        assert_eq!(timestamp(fraction), "2026-11-22T04:56:24.410815Z");
    }
}
