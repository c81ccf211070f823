//! placeholder
use crate::api::ApiState;
use axum::Router;
use std::sync::Arc;
pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
}
