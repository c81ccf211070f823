//! The HTTP API in Waldur's wire format. Each module owns its routes and its request and
//! response shapes; this module only merges and layers them.
//!
//! - [`error`]: the only place failures become status codes and DRF bodies.
//! - [`auth`]: token authentication; [`access`]: visibility and permission checks.
//! - [`idempotency`]: `Idempotency-Key` on POST, answered once per key and body.
//! - [`guard`]: NUL and invalid text in paths and queries, refused before any handler.
//! - [`body`], [`form`]: request bodies and field validation with DRF's messages.
//! - [`list`], [`links`]: pagination, ordering, field selection, hyperlinks.

pub mod access;
pub mod auth;
pub mod body;
pub mod error;
pub mod form;
pub mod guard;
pub mod idempotency;
pub mod links;
pub mod list;
pub mod number;

mod arrow;
mod categories;
mod customers;
pub mod history;
mod ledger;
mod offerings;
mod orders;
mod projects;
mod remote_sync;
mod resources;
mod roles;
mod service_providers;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::app::Ledger;
use error::ApiError;

/// What every handler can reach.
pub struct ApiState {
    pub ledger: Arc<Ledger>,
    /// Base for hyperlinks; the request's Host header is used when unset.
    pub public_url: Option<String>,
    /// The address the server listens on (last resort for hyperlinks).
    pub listen: SocketAddr,
    /// Whether providers (not only staff) may activate, pause, archive and delete their
    /// offerings (Waldur's `ALLOW_SERVICE_PROVIDER_OFFERING_MANAGEMENT`).
    pub allow_provider_offering_management: bool,
}

/// The whole API.
pub fn router(state: Arc<ApiState>) -> Router {
    let x_request_id = header::HeaderName::from_static("x-request-id");
    Router::new()
        .merge(users::router())
        .merge(customers::router())
        .merge(projects::router())
        .merge(categories::router())
        .merge(service_providers::router())
        .merge(offerings::router())
        .merge(orders::router())
        .merge(resources::router())
        .merge(remote_sync::router())
        .merge(arrow::router())
        .merge(history::router())
        .merge(ledger::router())
        .merge(crate::web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotent,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn(guard::refuse_unstorable_text))
        .layer(DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

async fn not_found() -> ApiError {
    ApiError::NotFoundDetail("Not found.".to_string())
}

/// A method the route does not serve. As in DRF, authentication comes first: a request
/// without valid credentials is answered 401 (by the extractor) whatever its method.
async fn method_not_allowed(_caller: auth::Caller, method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// 201 with the new object's body and its `Location`.
pub fn created(location: String, body: Value) -> Response {
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// 204 with no body.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
