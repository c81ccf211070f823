//! Listing offerings on the provider side and reading one, with the filters the public
//! catalogue shares and the provider body of an offering.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::Value;
use uuid::Uuid;

use super::COLLECTION;
use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::form::parse_hyperlink;
use crate::api::links::{Links, parse_path_uuid};
use crate::api::list::{
    Paging, QueryParams, filter_uuid, page_response, parse_bool, select_fields, sorts, strings,
};
use crate::api::offerings::{
    OfferingRecord, OfferingView, plan_resource_counts, provider_record, render_offering,
    sees_secrets,
};
use crate::domain::offering::model::OfferingState;
use crate::read;
use crate::read::offerings::{Audience, OfferingFilter};

/// The filters of the provider and public offering lists, read from the query string;
/// an unknown `state` is a 400.
pub fn offering_filter(params: &QueryParams) -> Result<OfferingFilter, ApiError> {
    let text = |key: &str| params.get(key).map(str::to_string);
    let flag = |key: &str| params.get(key).and_then(parse_bool);
    let states = params
        .all("state")
        .into_iter()
        .map(|state| {
            OfferingState::parse(state).ok_or_else(|| {
                ApiError::field(
                    "state",
                    format!("Select a valid choice. {state} is not one of the available choices."),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut customers: Vec<Uuid> = params
        .get("customer_uuid")
        .map(filter_uuid)
        .into_iter()
        .collect();
    if let Some(url) = params.get("customer") {
        customers.push(parse_hyperlink(url, "customers").unwrap_or(Uuid::nil()));
    }
    Ok(OfferingFilter {
        name: text("name"),
        description: text("description"),
        name_exact: text("name_exact"),
        slug: text("slug"),
        backend_id: text("backend_id"),
        shared: flag("shared"),
        billable: flag("billable"),
        customers,
        category: params.get("category_uuid").map(filter_uuid),
        states,
        types: strings(params, "type"),
        keyword: text("keyword"),
        query: text("query"),
        allowed_customer: params.get("allowed_customer_uuid").map(filter_uuid),
        project: params.get("project_uuid").map(filter_uuid),
        uuids: params.get("uuid_list").map(|raw| {
            raw.split(',')
                .filter_map(|u| Uuid::parse_str(u.trim()).ok())
                .collect()
        }),
    })
}

pub(super) async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let viewer = caller.viewer();
    let audience = Audience::Provider(&viewer);
    let ordering = read::offerings::ordering(audience, &sorts(&params))?;
    let filter = offering_filter(&params)?;
    let page =
        read::offerings::list(&state.ledger.pool, audience, &filter, &ordering, paging).await?;
    let mut items = Vec::with_capacity(page.rows.len());
    for row in page.rows {
        let record = OfferingRecord::try_from(row)?;
        items.push(render_provider(&state, &caller, &links, &record, false).await?);
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

/// The provider body of an offering for this caller.
pub async fn render_provider(
    state: &ApiState,
    caller: &Caller,
    links: &Links,
    record: &OfferingRecord,
    detail: bool,
) -> Result<Value, ApiError> {
    let secrets = sees_secrets(state, caller, &record.offering).await?;
    let counts = plan_resource_counts(state, record.uuid).await?;
    let plans: Vec<_> = record.offering.plans.iter().collect();
    let mut item = render_offering(
        record,
        links,
        OfferingView::Provider { secrets },
        &counts,
        &plans,
    );
    if !detail {
        // Lists leave out the totals that only a single offering computes.
        let object = item.as_object_mut().expect("object");
        for key in ["total_customers", "total_cost", "total_cost_estimated"] {
            object.remove(key);
        }
    }
    Ok(item)
}

pub(super) async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let params = QueryParams::parse(raw.as_deref());
    let mut record = provider_record(&state, &caller, uuid).await?;
    if let Some(at) = crate::api::history::as_of(&params)? {
        // The offering as it was then, folded from the log.
        record.offering = crate::api::history::state_at(&state, uuid, at, "Offering").await?;
    }
    let item = render_provider(&state, &caller, &links, &record, true).await?;
    Ok(Json(select_fields(item, &params)))
}
