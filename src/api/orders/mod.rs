//! `/api/marketplace-orders/`: orders as consumers, providers and the site agent read them.
//! Each answer joins the order's read model with its offering, plan, resource, project,
//! customers and the users who created and reviewed it.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{Paging, QueryParams, page_response, select_fields, sorts};
use crate::api::offerings::{PlanSide, decimal_string, number, plan_url};
use crate::domain::offering::Offering;
use crate::domain::order::{Order, OrderState};
use crate::domain::resource::Resource;
use crate::read;
use crate::read::orders::OrderRow;

mod actions;
mod attachment;
mod create;
mod filters;
pub(crate) mod placement;
mod update;

const COLLECTION: &str = "/api/marketplace-orders/";

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route(COLLECTION, get(list))
        .route("/api/marketplace-orders/{uuid}/", get(retrieve))
        .merge(create::router())
        .merge(actions::router())
        .merge(attachment::router())
        .merge(update::router())
}

async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let ordering = read::orders::ordering(&sorts(&params))?;
    let filter = filters::parse(&params, &caller, &state)?;
    if let Some(at) = crate::api::history::as_of(&params)? {
        return list_as_of(&state, &caller, &links, &params, &filter, paging, at).await;
    }
    let page = read::orders::list(
        &state.ledger.pool,
        &caller.viewer(),
        &filter,
        &ordering,
        paging,
    )
    .await?;
    let items = page
        .rows
        .iter()
        .map(|row| render(row, &links, &caller))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_response(
        &links,
        COLLECTION,
        &params,
        page.paging,
        page.total,
        items,
    ))
}

/// The orders list as it was at `at`: every order folded from the log up to then. The
/// filters on what an order itself says (state, type, offering, project, customer,
/// provider, resource, creation time) apply to it as it was; the list is ordered by
/// creation (`o=-created` for newest first). It reads every order event recorded up to
/// `at`, so its cost grows with the log, not with the page.
async fn list_as_of(
    state: &ApiState,
    caller: &Caller,
    links: &Links,
    params: &QueryParams,
    filter: &read::orders::OrderFilter,
    paging: Paging,
    at: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let pool = &state.ledger.pool;
    let all = crate::app::history::all_at::<Order>(pool, at)
        .await
        .map_err(ApiError::Internal)?;
    let mut kept: Vec<(DateTime<Utc>, Order)> = all
        .into_iter()
        .filter(|(_, _, order)| !order.deleted)
        .filter(|(_, _, order)| {
            order.spec.as_ref().is_some_and(|spec| {
                let any =
                    |wanted: &[Uuid], value: Uuid| wanted.is_empty() || wanted.contains(&value);
                (filter.states.is_empty() || filter.states.contains(&order.state))
                    && (filter.types.is_empty() || filter.types.contains(&spec.order_type))
                    && any(&filter.offering_uuids, spec.offering_uuid)
                    && filter.offering.is_none_or(|o| o == spec.offering_uuid)
                    && filter.project.is_none_or(|p| p == spec.project_uuid)
                    && filter.customer.is_none_or(|c| c == spec.customer_uuid)
                    && filter
                        .provider
                        .is_none_or(|p| p == spec.provider_customer_uuid)
                    && filter.resources.iter().all(|r| *r == spec.resource_uuid)
                    && filter
                        .created_from
                        .is_none_or(|f| order.created.is_some_and(|c| c >= f))
                    && filter
                        .created_before
                        .is_none_or(|b| order.created.is_some_and(|c| c < b))
            })
        })
        .map(|(_, first, order)| (order.created.unwrap_or(first), order))
        .collect();
    if !caller.sees_all() {
        let uuids: Vec<Uuid> = kept
            .iter()
            .filter_map(|(_, o)| o.spec.as_ref().map(|s| s.uuid))
            .collect();
        let visible = read::orders::visible_among(pool, &caller.viewer(), &uuids).await?;
        kept.retain(|(_, o)| o.spec.as_ref().is_some_and(|s| visible.contains(&s.uuid)));
    }
    let newest_first = sorts(params).first().is_some_and(|s| s.descending);
    kept.sort_by_key(|(created, o)| (*created, o.spec.as_ref().map(|s| s.uuid)));
    if newest_first {
        kept.reverse();
    }
    let total = kept.len() as i64;
    let paging = paging.resolve(total)?;
    let mut items = Vec::new();
    for (_, order) in kept
        .into_iter()
        .skip(paging.offset() as usize)
        .take(paging.limit() as usize)
    {
        let spec = order.spec.as_ref().expect("kept orders have a spec");
        let mut row = read::orders::find(pool, spec.uuid)
            .await?
            .unwrap_or_else(read::orders::OrderRow::detached);
        row.order_doc = serde_json::to_value(&order).map_err(ApiError::internal)?;
        items.push(render(&row, links, caller)?);
    }
    Ok(page_response(
        links, COLLECTION, params, paging, total, items,
    ))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Order")?;
    let params = QueryParams::parse(raw.as_deref());
    let mut row = read::orders::find_visible(&state.ledger.pool, &caller.viewer(), uuid)
        .await?
        .ok_or(ApiError::NotFound("Order"))?;
    if let Some(at) = crate::api::history::as_of(&params)? {
        // The order (and its resource) as they were then, folded from the log.
        let order: Order = crate::api::history::state_at(&state, uuid, at, "Order").await?;
        let resource_uuid = order.spec.as_ref().map(|s| s.resource_uuid);
        row.order_doc = serde_json::to_value(&order).map_err(ApiError::internal)?;
        if let Some(resource_uuid) = resource_uuid {
            let resource = crate::app::history::state_at::<crate::domain::resource::Resource>(
                &state.ledger.pool,
                &resource_uuid.simple().to_string(),
                at,
            )
            .await
            .map_err(ApiError::Internal)?;
            row.resource_doc = resource
                .map(|r| serde_json::to_value(&r))
                .transpose()
                .map_err(ApiError::internal)?;
        }
    }
    Ok(Json(select_fields(render(&row, &links, &caller)?, &params)))
}

fn decode<T: serde::de::DeserializeOwned>(value: &Value, what: &str) -> Result<T, ApiError> {
    serde_json::from_value(value.clone())
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e).context(format!("decoding {what}"))))
}

fn time(at: Option<DateTime<Utc>>) -> Value {
    at.map(timestamp).map(Value::String).unwrap_or(Value::Null)
}

/// An order as Waldur's `OrderDetailsSerializer` renders it.
fn render(row: &OrderRow, links: &Links, caller: &Caller) -> Result<Value, ApiError> {
    let order: Order = decode(&row.order_doc, "an order")?;
    let spec = order
        .spec
        .as_ref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an order without its placement")))?;
    let offering: Offering = match &row.offering_doc {
        Some(doc) => decode(doc, "an offering")?,
        None => Offering::default(),
    };
    let resource: Option<Resource> = row
        .resource_doc
        .as_ref()
        .map(|doc| decode(doc, "a resource"))
        .transpose()?;
    let plan = spec.plan_uuid.and_then(|uuid| offering.plan(uuid));
    let old_plan = spec.old_plan_uuid.and_then(|uuid| offering.plan(uuid));
    let kind = offering.kind();
    let can_terminate = kind.is_some_and(|k| k.order_actions.cancel)
        && matches!(
            order.state,
            OrderState::PendingConsumer | OrderState::PendingProvider | OrderState::Executing
        );
    let resource_name = resource
        .as_ref()
        .and_then(|r| r.spec.as_ref())
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let cost_estimate = |p: Option<&crate::domain::offering::model::Plan>| {
        p.map(|p| number(p.unit_price)).unwrap_or(Value::Null)
    };
    let mut item = json!({
        "offering": links.object("marketplace-public-offerings", spec.offering_uuid),
        "offering_name": offering.details.name,
        "offering_uuid": hex(spec.offering_uuid),
        "offering_description": offering.details.description,
        "offering_image": null,
        "offering_thumbnail": null,
        "offering_type": offering.offering_type,
        "offering_terms_of_service": offering.details.terms_of_service,
        "offering_shared": offering.details.shared,
        "offering_billable": offering.details.billable,
        "offering_plugin_options": offering.settings.plugin_options,
        "provider_name": row.provider_name.clone().unwrap_or_default(),
        "provider_uuid": hex(spec.provider_customer_uuid),
        "category_title": row.category_title.clone().unwrap_or_default(),
        "category_uuid": hex(offering.category_uuid),
        "category_icon": null,
        "plan": plan.map(|p| plan_url(links, spec.offering_uuid, p.uuid, PlanSide::Public)),
        "plan_unit": plan.map(|p| p.unit.as_str()),
        "plan_name": plan.map(|p| p.name.clone()),
        "plan_uuid": plan.map(|p| hex(p.uuid)),
        "plan_description": plan.map(|p| p.description.clone()),
        "attributes": spec.attributes,
        "limits": spec.limits,
        "uuid": hex(spec.uuid),
        "created": time(order.created),
        "modified": time(order.modified),
        "type": spec.order_type.as_str(),
        "resource_uuid": null,
        "resource_type": null,
        "resource_name": resource_name,
        "cost": spec.cost.map(|c| decimal_string(c, 10)),
        "state": order.state.as_str(),
        "output": order.output,
        "marketplace_resource_uuid": hex(spec.resource_uuid),
        "error_message": order.error_message,
        "error_traceback": order.error_traceback,
        "callback_url": spec.callback_url,
        "completed_at": time(order.completed_at),
        "request_comment": spec.request_comment,
        "attachment": order
            .attachment
            .as_ref()
            .map(|_| attachment::attachment_url(links, spec.uuid)),
        "start_date": spec.start_date,
        "created_by_username": row.created_by_username.clone().unwrap_or_default(),
        "created_by_full_name": row.created_by_full_name.clone().unwrap_or_default(),
        "created_by_civil_number": null,
        "customer_name": row.customer_name.clone().unwrap_or_default(),
        "customer_uuid": hex(spec.customer_uuid),
        "customer_slug": row.customer_slug.clone().unwrap_or_default(),
        "project_name": row.project_name.clone().unwrap_or_default(),
        "project_uuid": hex(spec.project_uuid),
        "project_description": row.project_description.clone().unwrap_or_default(),
        "project_slug": row.project_slug.clone().unwrap_or_default(),
        "old_plan_name": old_plan.map(|p| p.name.clone()),
        "old_plan_uuid": old_plan.map(|p| hex(p.uuid)),
        "new_plan_name": plan.map(|p| p.name.clone()),
        "new_plan_uuid": plan.map(|p| hex(p.uuid)),
        "old_cost_estimate": cost_estimate(old_plan.or(plan)),
        "new_cost_estimate": cost_estimate(plan),
        "can_terminate": can_terminate,
        "fixed_price": number(spec.fixed_price),
        "activation_price": number(spec.activation_price),
        "termination_comment": order.termination_comment,
        "backend_id": order.backend_id,
        "consumer_rejection_comment": order.consumer_rejection_comment,
        "provider_rejection_comment": order.provider_rejection_comment,
        "error_updated_at": time(order.error_updated_at),
        "slug": spec.slug,
        "issue": null,
    });
    let object = item.as_object_mut().expect("an order renders as an object");
    // Reviewer keys are omitted, not null, until someone reviewed the order.
    if order.consumer_reviewed_by.is_some() {
        object.insert(
            "consumer_reviewed_by".into(),
            json!(row.consumer_reviewer_username.clone().unwrap_or_default()),
        );
        object.insert(
            "consumer_reviewed_by_full_name".into(),
            json!(row.consumer_reviewer_full_name.clone().unwrap_or_default()),
        );
    }
    object.insert(
        "consumer_reviewed_at".into(),
        time(order.consumer_reviewed_at),
    );
    if order.provider_reviewed_by.is_some() {
        object.insert(
            "provider_reviewed_by".into(),
            json!(row.provider_reviewer_username.clone().unwrap_or_default()),
        );
        object.insert(
            "provider_reviewed_by_full_name".into(),
            json!(row.provider_reviewer_full_name.clone().unwrap_or_default()),
        );
    }
    object.insert(
        "provider_reviewed_at".into(),
        time(order.provider_reviewed_at),
    );
    if !caller.sees_all() {
        object.remove("error_traceback");
    }
    Ok(item)
}
