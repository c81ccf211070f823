//! `/api/marketplace-public-offerings/`: what consumers can order. Only Active and Paused
//! offerings appear, never Draft, Archived or Unavailable (not even for staff):
//! - anonymous callers see shared offerings;
//! - staff and support see shared offerings and those with a plan that is not archived;
//! - everyone else sees shared offerings and those of customers or projects they are
//!   connected to that have a plan that is not archived.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use super::provider::offering_filter;
use super::{
    OfferingRecord, OfferingView, PlanSide, plan_resource_counts, render_offering, render_plan,
};
use crate::api::ApiState;
use crate::api::auth::{Caller, MaybeCaller};
use crate::api::error::ApiError;
use crate::api::links::{Links, parse_path_uuid};
use crate::api::list::{Paging, QueryParams, page_response, select_fields, sorts};
use crate::domain::offering::model::Plan;
use crate::read;
use crate::read::offerings::Audience;

const COLLECTION: &str = "/api/marketplace-public-offerings/";

pub fn router() -> Router<Arc<ApiState>> {
    let base = "/api/marketplace-public-offerings/{uuid}";
    Router::new()
        .route(COLLECTION, get(list))
        .route(&format!("{base}/"), get(retrieve))
        .route(&format!("{base}/plans/"), get(plans))
        .route(&format!("{base}/plans/{{plan_uuid}}/"), get(plan_detail))
}

/// The offering if the caller may see it on the public side, or 404.
async fn public_record(
    state: &ApiState,
    caller: Option<&Caller>,
    raw_uuid: &str,
) -> Result<OfferingRecord, ApiError> {
    let uuid = parse_path_uuid(raw_uuid, "Offering")?;
    let viewer = caller.map(Caller::viewer);
    read::offerings::find_visible(&state.ledger.pool, Audience::Public(viewer.as_ref()), uuid)
        .await?
        .ok_or(ApiError::NotFound("Offering"))?
        .try_into()
}

/// The offering's plans, archived ones included, by name.
fn sorted_plans(record: &OfferingRecord) -> Vec<&Plan> {
    let mut plans: Vec<&Plan> = record.offering.plans.iter().collect();
    plans.sort_by(|a, b| a.name.cmp(&b.name).then(a.uuid.cmp(&b.uuid)));
    plans
}

/// The public body of an offering (`PublicOfferingDetails`).
async fn render_public(
    state: &ApiState,
    links: &Links,
    record: &OfferingRecord,
    detail: bool,
) -> Result<Value, ApiError> {
    let counts = plan_resource_counts(state, record.uuid).await?;
    let plans = sorted_plans(record);
    let mut item = render_offering(record, links, OfferingView::Public, &counts, &plans);
    let object = item
        .as_object_mut()
        .expect("an offering renders as an object");
    if !detail {
        // Lists leave out the totals that only a single offering computes.
        for key in ["total_customers", "total_cost", "total_cost_estimated"] {
            object.remove(key);
        }
    }
    object.insert("google_calendar_is_public".into(), Value::Null);
    object.insert("google_calendar_link".into(), Value::Null);
    Ok(item)
}

async fn list(
    State(state): State<Arc<ApiState>>,
    MaybeCaller(caller): MaybeCaller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let viewer = caller.as_ref().map(Caller::viewer);
    let audience = Audience::Public(viewer.as_ref());
    let ordering = read::offerings::ordering(audience, &sorts(&params))?;
    let filter = offering_filter(&params)?;
    let page =
        read::offerings::list(&state.ledger.pool, audience, &filter, &ordering, paging).await?;
    let mut items = Vec::with_capacity(page.rows.len());
    for row in page.rows {
        let record = OfferingRecord::try_from(row)?;
        items.push(render_public(&state, &links, &record, false).await?);
    }
    Ok(page_response(
        &links,
        COLLECTION,
        &params,
        page.paging,
        page.total,
        items,
    ))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    MaybeCaller(caller): MaybeCaller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let record = public_record(&state, caller.as_ref(), &raw_uuid).await?;
    let item = render_public(&state, &links, &record, true).await?;
    Ok(Json(select_fields(item, &params)))
}

fn public_plan(
    record: &OfferingRecord,
    links: &Links,
    counts: &HashMap<Uuid, i64>,
    plan: &Plan,
) -> Value {
    let count = counts.get(&plan.uuid).copied().unwrap_or(0);
    render_plan(&record.offering, plan, links, PlanSide::Public, count)
}

/// A plain array (no paging) of the offering's plans, archived ones included.
async fn plans(
    State(state): State<Arc<ApiState>>,
    MaybeCaller(caller): MaybeCaller,
    links: Links,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = public_record(&state, caller.as_ref(), &raw_uuid).await?;
    let counts = plan_resource_counts(&state, record.uuid).await?;
    let items: Vec<Value> = sorted_plans(&record)
        .into_iter()
        .map(|plan| public_plan(&record, &links, &counts, plan))
        .collect();
    Ok(Json(json!(items)))
}

/// One plan of the offering; an unknown plan is a 404 with no body, as in Waldur.
async fn plan_detail(
    State(state): State<Arc<ApiState>>,
    MaybeCaller(caller): MaybeCaller,
    links: Links,
    Path((raw_uuid, raw_plan)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let record = public_record(&state, caller.as_ref(), &raw_uuid).await?;
    let plan = Uuid::parse_str(raw_plan.trim())
        .ok()
        .and_then(|uuid| record.offering.plan(uuid));
    let Some(plan) = plan else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let counts = plan_resource_counts(&state, record.uuid).await?;
    Ok(Json(public_plan(&record, &links, &counts, plan)).into_response())
}
