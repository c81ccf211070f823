//! The order actions under `/api/marketplace-orders/{uuid}/`: consumer and provider reviews,
//! the site agent's state changes, cancel, retry, backend ids, delete and unlink.
//!
//! Every action checks, in this order: authentication (401), that the caller sees the order
//! (404), that the offering's type supports the action (405), the caller's permission
//! (403), the validators (blocked or archived customer, expired project: 400), the order's
//! state (409), then the body. The aggregate re-checks the state when the command runs, so
//! concurrent requests cannot both move the order.
//!
//! Side effects on the resource follow Waldur's callbacks: an order that ends settles its
//! resource (done → OK, rejected or canceled Create → Terminated…), and the synchronous
//! processors of `Marketplace.Basic` and `Support.OfferingTemplate` complete an order as
//! soon as it starts executing.
//!
//! - [`target`]: loading an order with its offering and consumer side, the checks every
//!   action shares, and running order commands (with the resource where it moves too).
//! - [`review`]: consumer and provider approvals and rejections.
//! - [`state`]: cancel and the site agent's state changes and retries.
//! - [`records`]: backend ids, deletion and unlinking.
//! - [`offering`]: the order's offering.

mod offering;
mod records;
mod review;
mod state;
mod target;

pub(super) use target::{Target, load, require, run, run_with_resource};

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::api::ApiState;
use crate::api::body::Body;
use crate::api::error::ApiError;

const ITEM: &str = "/api/marketplace-orders/{uuid}/";

pub fn router() -> Router<Arc<ApiState>> {
    let action = |name: &str| format!("/api/marketplace-orders/{{uuid}}/{name}/");
    Router::new()
        .route(ITEM, delete(records::destroy))
        .route(
            &action("approve_by_consumer"),
            post(review::approve_by_consumer),
        )
        .route(
            &action("approve_by_provider"),
            post(review::approve_by_provider),
        )
        .route(
            &action("reject_by_consumer"),
            post(review::reject_by_consumer),
        )
        .route(
            &action("reject_by_provider"),
            post(review::reject_by_provider),
        )
        .route(&action("cancel"), post(state::cancel))
        .route(
            &action("set_state_executing"),
            post(state::set_state_executing),
        )
        .route(&action("set_state_done"), post(state::set_state_done))
        .route(&action("set_state_erred"), post(state::set_state_erred))
        .route(&action("retry"), post(state::retry))
        .route(&action("set_backend_id"), post(records::set_backend_id))
        .route(&action("unlink"), post(records::unlink))
        .route(&action("offering"), get(offering::offering))
}

/// The request body, or its parse error (raised only when the action reads its body).
type MaybeBody = Result<Body, ApiError>;

/// An optional string field of a body.
fn string_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(if *b { "True" } else { "False" }.to_string())),
        Some(_) => Err(ApiError::field(name, "Not a valid string.")),
    }
}

fn detail(message: &str) -> Response {
    Json(json!({ "detail": message })).into_response()
}
