//! The customer mapping and settings actions that read Arrow: `discover_customers`,
//! `available_customers`, `sync_from_arrow`, `discover_licenses`, `fetch_arrow_data`, and
//! `billing_summary`, which reads the read models only.

use std::sync::Arc;

use axum::Router;

use crate::api::ApiState;

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
}
