//! Filled in below.

use std::sync::Arc;

use axum::Router;

use crate::api::ApiState;

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
}
