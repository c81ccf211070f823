//! `/api/ledger/`: the ledger about itself. `digest/` answers the digest of the whole event
//! log up to a position (`?position=`, the newest when absent), which an auditor keeps and
//! later hands to `ledger audit verify --digest` (see [`crate::store::chain`]).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};

use crate::api::ApiState;
use crate::api::access::require_audit_access;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::list::QueryParams;
use crate::store::chain::{self, Digest, DigestError};

pub fn router() -> Router<Arc<ApiState>> {
    Router::new().route("/api/ledger/digest/", get(digest))
}

async fn digest(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Digest>, ApiError> {
    require_audit_access(&caller)?;
    let params = QueryParams::parse(query.as_deref());
    let position = params
        .get("position")
        .map(|text| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::field("position", "A valid integer is required."))
        })
        .transpose()?;
    match chain::digest(&state.ledger.pool, position).await {
        Ok(digest) => Ok(Json(digest)),
        Err(DigestError::Negative) => Err(ApiError::field(
            "position",
            "Ensure this value is greater than or equal to 0.",
        )),
        Err(DigestError::BeyondEnd { end, .. }) => Err(ApiError::field(
            "position",
            format!("Ensure this value is less than or equal to {end}."),
        )),
        Err(DigestError::Store(err)) => Err(ApiError::Internal(err)),
    }
}
