//! `Idempotency-Key` on POST: the first request with a key runs and its response is kept
//! for 24 hours (`store::idempotency`); a retry with the same key, path and body gets that
//! response again (same status and body, with `Idempotent-Replayed: true`) and runs
//! nothing, so no event is appended twice. The same key with another request is a 422; a
//! retry while the first one still runs waits for it a little, then gets a 409.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api::ApiState;
use crate::api::auth::presented_token;
use crate::api::body::MAX_BODY_BYTES;
use crate::api::error::ApiError;
use crate::store::idempotency::{self, Claim, Kept};
use crate::store::tokens::token_hash;

/// The request header that names a key.
pub const HEADER: &str = "idempotency-key";

/// The longest key accepted.
const MAX_KEY: usize = 255;

/// How long a retry waits for the first request with its key to finish.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);
const WAIT_STEP: Duration = Duration::from_millis(50);

fn detail(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "detail": text }))).into_response()
}

fn replay(kept: Kept) -> Response {
    let mut response = Response::new(Body::from(kept.body));
    *response.status_mut() = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, kept.content_type),
        (header::LOCATION, kept.location),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn request_hash(method: &Method, uri: &axum::http::Uri, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(
        uri.path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("")
            .as_bytes(),
    );
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// The middleware: passes every request without a key (or not a POST, or without
/// credentials) on untouched.
pub async fn idempotent(
    State(state): State<Arc<ApiState>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER).cloned() else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let key = match key.to_str() {
        Ok(key) if !key.trim().is_empty() && key.len() <= MAX_KEY => key.trim().to_string(),
        _ => {
            return ApiError::BadRequest(format!(
                "The Idempotency-Key header must be printable text of at most {MAX_KEY} characters."
            ))
            .into_response();
        }
    };
    let token = match presented_token(&parts) {
        Ok(Some(token)) => token,
        // No credentials: the handler answers 401 itself.
        _ => return next.run(Request::from_parts(parts, body)).await,
    };
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError::PayloadTooLarge.into_response(),
    };
    let owner = token_hash(&token);
    let hash = request_hash(&parts.method, &parts.uri, &bytes);
    let pool = &state.ledger.pool;
    let started = tokio::time::Instant::now();
    loop {
        match idempotency::claim(pool, &owner, &key, &hash).await {
            Err(err) => return ApiError::internal(err).into_response(),
            Ok(Claim::Mismatch) => {
                return detail(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "This Idempotency-Key was used with another request.",
                );
            }
            Ok(Claim::Answered(kept)) => return replay(kept),
            Ok(Claim::InProgress) if started.elapsed() < WAIT_FOR_FIRST => {
                tokio::time::sleep(WAIT_STEP).await;
            }
            Ok(Claim::InProgress) => {
                return detail(
                    StatusCode::CONFLICT,
                    "A request with this Idempotency-Key is still in progress.",
                );
            }
            Ok(Claim::Fresh) => break,
        }
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(err) => {
            let _ = idempotency::release(pool, &owner, &key).await;
            return ApiError::internal(anyhow::anyhow!("reading a response: {err}"))
                .into_response();
        }
    };
    // A failure of the ledger itself may pass on a retry: it keeps no answer.
    let kept = if parts.status.is_server_error() {
        idempotency::release(pool, &owner, &key).await
    } else {
        let text = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        idempotency::keep(
            pool,
            &owner,
            &key,
            &Kept {
                status: parts.status.as_u16(),
                content_type: text(header::CONTENT_TYPE),
                location: text(header::LOCATION),
                body: body.to_vec(),
            },
        )
        .await
    };
    if let Err(err) = kept {
        tracing::error!(error = ?err, "keeping the response of an idempotency key");
    }
    Response::from_parts(parts, Body::from(body))
}
