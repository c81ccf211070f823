//! `GET /api/marketplace-orders/{uuid}/offering/`: the order's offering as the public
//! catalogue shows it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;
use uuid::Uuid;

use super::target::load;
use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::links::Links;
use crate::api::offerings::{OfferingView, find_record, plan_resource_counts, render_offering};

/// `GET /{uuid}/offering/`: the order's offering as the public catalogue shows it.
pub(super) async fn offering(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    let offering_uuid = target.spec.offering_uuid;
    let record = find_record(&state, offering_uuid)
        .await?
        .ok_or(ApiError::NotFound("Offering"))?;
    let counts: HashMap<Uuid, i64> = plan_resource_counts(&state, record.uuid).await?;
    let mut plans: Vec<_> = record.offering.plans.iter().collect();
    plans.sort_by(|a, b| a.name.cmp(&b.name).then(a.uuid.cmp(&b.uuid)));
    let mut item = render_offering(&record, &links, OfferingView::Public, &counts, &plans);
    if let Some(object) = item.as_object_mut() {
        object.insert("google_calendar_is_public".into(), Value::Null);
        object.insert("google_calendar_link".into(), Value::Null);
    }
    Ok(Json(item))
}
