//! `/api/admin/arrow/…` (staff only), as the published client's `admin_arrow_*` functions
//! and models expect: settings, customer mappings with their actions, consumption records
//! and billing syncs. Every route answers a non-staff caller 403 before any lookup. Action
//! errors are `{"error": …}` (`available_customers`: `{"detail": …}`).

mod discovery;
mod mappings;
mod records;
mod settings;

use std::sync::Arc;

use axum::Router;
use axum::response::Response;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

use crate::api::ApiState;
use crate::api::error::ApiError;
use crate::api::links::Links;
use crate::api::list::{QueryParams, page_response};
use crate::app::arrow::ArrowAppError;

/// Where the Arrow API lives.
const BASE: &str = "/api/admin/arrow";

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .merge(settings::router())
        .merge(mappings::router())
        .merge(discovery::router())
        .merge(records::router())
}

/// An Arrow failure as an answer: action refusals carry `{"error": …}`.
fn answer(err: ArrowAppError) -> ApiError {
    match err {
        ArrowAppError::App(app) => app.into(),
        ArrowAppError::Refused(message) => ApiError::InvalidBody(json!({ "error": message })),
        ArrowAppError::Missing(message) => ApiError::NotFoundBody(json!({ "error": message })),
    }
}

impl From<ArrowAppError> for ApiError {
    fn from(err: ArrowAppError) -> Self {
        answer(err)
    }
}

/// A page of a list answered in Waldur's list format, each row rendered by `render`.
fn list_page<T>(
    links: &Links,
    collection: &str,
    params: &QueryParams,
    page: crate::read::list::Page<T>,
    render: impl Fn(&T, &Links) -> Value,
) -> Response {
    let items = page.rows.iter().map(|row| render(row, links)).collect();
    page_response(
        links,
        &format!("/api/{collection}/"),
        params,
        page.paging,
        page.total,
        items,
    )
}

/// An amount with `places` decimals, as Waldur's serializers show it.
fn amount(value: Decimal, places: u32) -> String {
    let mut rounded = value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(places);
    rounded.to_string()
}

/// An optional amount with `places` decimals (`null` when absent).
fn optional_amount(value: Option<Decimal>, places: u32) -> Value {
    value.map_or(Value::Null, |v| Value::String(amount(v, places)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_their_places() {
        assert_eq!(amount(Decimal::new(87125, 2), 10), "871.2500000000");
        assert_eq!(amount(Decimal::new(8712549, 4), 2), "871.25");
        assert_eq!(amount(Decimal::ZERO, 2), "0.00");
        assert_eq!(optional_amount(None, 2), Value::Null);
    }
}
