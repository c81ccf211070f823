//! Marketplace resources as Waldur shows them from both sides:
//! `/api/marketplace-resources/` for consumers (and the providers of their offerings) and
//! `/api/marketplace-provider-resources/` for providers and the site agent. Both read the
//! resource read model joined with its offering, project and customers; the actions that
//! change a resource live in [`actions`].

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::{ApiError, DomainError};
use crate::api::form::parse_hyperlink;
use crate::api::links::{Links, parse_path_uuid};
use crate::api::list::{
    Paging, QueryParams, filter_uuid, page_response, parse_bool, select_fields, sorts, strings,
};
use crate::domain::resource::{ResourceError, ResourceState};
use crate::read;
use crate::read::resources::{ResourceFilter, ResourceRow, Side};

mod actions;
mod render;

/// Where each side's resources are listed.
fn collection(side: Side) -> &'static str {
    match side {
        Side::Consumer => "/api/marketplace-resources/",
        Side::Provider => "/api/marketplace-provider-resources/",
    }
}

impl DomainError for ResourceError {
    fn into_api(self) -> ApiError {
        match self {
            ResourceError::NotFound => ApiError::NotFound("Resource"),
            ResourceError::ChangeInProgress => {
                ApiError::invalid("Pending order for resource already exists.")
            }
            ResourceError::Terminated => ApiError::invalid_state(&[
                ResourceState::Ok.as_str(),
                ResourceState::Erred.as_str(),
            ]),
            ResourceError::AlreadyExists => ApiError::Conflict(self.to_string()),
        }
    }
}

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route(
            collection(Side::Consumer),
            get(|s, c, l, q| list(s, c, l, q, Side::Consumer)),
        )
        .route(
            "/api/marketplace-resources/{uuid}/",
            get(|s, c, l, p, q| retrieve(s, c, l, p, q, Side::Consumer)),
        )
        .route(
            collection(Side::Provider),
            get(|s, c, l, q| list(s, c, l, q, Side::Provider)),
        )
        .route(
            "/api/marketplace-provider-resources/{uuid}/",
            get(|s, c, l, p, q| retrieve(s, c, l, p, q, Side::Provider)),
        )
        .merge(actions::router())
}

/// A date or datetime bound of the list; one the filter cannot read matches nothing.
fn time_bound(params: &QueryParams, key: &str) -> Option<Option<DateTime<Utc>>> {
    params.get(key).map(|raw| {
        let raw = raw.trim();
        crate::api::form::parse_datetime(raw).or_else(|| {
            raw.parse::<NaiveDate>()
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        })
    })
}

/// Waldur's `ResourceFilter`, the parts clients use, read from the query string.
fn parse_filter(params: &QueryParams, states: Vec<ResourceState>) -> ResourceFilter {
    let link = |param: &str, collection: &str| {
        params
            .get(param)
            .map(|url| parse_hyperlink(url, collection).unwrap_or(Uuid::nil()))
    };
    let flag = |param: &str| params.get(param).and_then(parse_bool);
    ResourceFilter {
        states,
        offering_uuids: params
            .all("offering_uuid")
            .into_iter()
            .map(filter_uuid)
            .collect(),
        offering: link("offering", "marketplace-public-offerings"),
        projects: [
            params.get("project_uuid").map(filter_uuid),
            link("project", "projects"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        customers: [
            params.get("customer_uuid").map(filter_uuid),
            link("customer", "customers"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        provider: params.get("provider_uuid").map(filter_uuid),
        plan: params.get("plan_uuid").map(filter_uuid),
        category: params.get("category_uuid").map(filter_uuid),
        offering_slugs: strings(params, "offering_slug"),
        offering_types: strings(params, "offering_type"),
        offering_shared: flag("offering_shared"),
        offering_billable: flag("offering_billable"),
        has_terminate_date: flag("has_terminate_date"),
        paused: flag("paused"),
        downscaled: flag("downscaled"),
        restrict_member_access: flag("restrict_member_access"),
        usage_based: flag("usage_based"),
        limit_based: flag("limit_based"),
        only_usage_based: flag("only_usage_based"),
        only_limit_based: flag("only_limit_based"),
        child_offerings_only: params.get("parent_offering_uuid").is_some(),
        project_name: params.get("project_name").map(str::to_string),
        backend_id: params.get("backend_id").map(str::to_string),
        name_exact: params.get("name_exact").map(str::to_string),
        name: params.get("name").map(str::to_string),
        query: params.get("query").map(|q| q.trim().to_string()),
        created_from: time_bound(params, "created"),
        created_before: time_bound(params, "created_before"),
        modified_from: time_bound(params, "modified"),
        modified_before: time_bound(params, "modified_before"),
    }
}

/// `state=` values: repeatable, Waldur's names; an unknown name is refused.
fn parse_states(params: &QueryParams) -> Result<Vec<ResourceState>, ApiError> {
    params
        .all("state")
        .into_iter()
        .map(|value| {
            ResourceState::parse(value).ok_or_else(|| {
                ApiError::field(
                    "state",
                    format!("Select a valid choice. {value} is not one of the available choices."),
                )
            })
        })
        .collect()
}

async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
    side: Side,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let ordering = read::resources::ordering(&sorts(&params))?;
    let filter = parse_filter(&params, parse_states(&params)?);
    let page = read::resources::list(
        &state.ledger.pool,
        &caller.viewer(),
        side,
        &filter,
        &ordering,
        paging,
    )
    .await?;
    let items = page
        .rows
        .iter()
        .map(|row| render::render(row, &links, side))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_response(
        &links,
        collection(side),
        &params,
        page.paging,
        page.total,
        items,
    ))
}

/// The resource's row if the caller sees it from `side`, else 404.
pub(crate) async fn fetch(
    state: &ApiState,
    caller: &Caller,
    raw_uuid: &str,
    side: Side,
) -> Result<ResourceRow, ApiError> {
    let uuid = parse_path_uuid(raw_uuid, "Resource")?;
    read::resources::find_visible(&state.ledger.pool, &caller.viewer(), side, uuid)
        .await?
        .ok_or(ApiError::NotFound("Resource"))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
    side: Side,
) -> Result<Json<Value>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let mut row = fetch(&state, &caller, &raw_uuid, side).await?;
    if let Some(at) = crate::api::history::as_of(&params)? {
        // The resource as it was then, folded from the log.
        let uuid = parse_path_uuid(&raw_uuid, "Resource")?;
        let resource: crate::domain::resource::Resource =
            crate::api::history::state_at(&state, uuid, at, "Resource").await?;
        row.resource_doc = serde_json::to_value(&resource).map_err(ApiError::internal)?;
    }
    Ok(Json(select_fields(
        render::render(&row, &links, side)?,
        &params,
    )))
}
