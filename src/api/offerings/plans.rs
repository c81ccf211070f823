//! `/api/marketplace-plans/`: the plans of every offering, created, edited, archived and
//! priced by the offering's provider. A plan lives inside its offering's aggregate; the
//! plans read model only tells which offering holds a plan.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use super::input;
use super::{
    OfferingRecord, PlanSide, execute, find_record, plan_resource_counts, provider_record,
    render_plan, require,
};
use crate::api::access::require_staff;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::{Form, NOT_NULL, REQUIRED, parse_hyperlink};
use crate::api::links::{Links, parse_path_uuid};
use crate::api::list::{Paging, QueryParams, filter_uuid, page_response, select_fields, strings};
use crate::api::{ApiState, created, no_content};
use crate::app::offerings::{edit, new_plan};
use crate::domain::offering::model::Plan;
use crate::domain::offering::{Offering, OfferingCommand};
use crate::read;
use crate::read::offerings::PlanFilter;

const COLLECTION: &str = "/api/marketplace-plans/";

/// The plan fields an update writes; the others in the body are validated and ignored.
const UPDATABLE: &[&str] = &["name", "description", "unit", "max_amount", "article_code"];

/// The plan billing modes clients send (always, as `inherit` by default); not stored.
const BILLING_MODES: &[&str] = &["inherit", "limit", "usage"];

pub fn router() -> Router<Arc<ApiState>> {
    let base = "/api/marketplace-plans/{uuid}";
    Router::new()
        .route(COLLECTION, get(list).post(create))
        .route(
            &format!("{base}/"),
            get(retrieve).put(update).patch(update).delete(destroy),
        )
        .route(&format!("{base}/archive/"), post(archive))
        .route(&format!("{base}/update_prices/"), post(update_prices))
        .route(&format!("{base}/update_quotas/"), post(update_quotas))
}

/// A plan and the offering holding it.
struct PlanContext {
    record: OfferingRecord,
    plan: Plan,
}

/// The plan with this uuid and its offering, or 404.
async fn find_plan(state: &ApiState, uuid: Uuid) -> Result<PlanContext, ApiError> {
    let offering = read::offerings::plan_offering(&state.ledger.pool, uuid)
        .await?
        .ok_or(ApiError::NotFound("Plan"))?;
    let record = find_record(state, offering)
        .await?
        .ok_or(ApiError::NotFound("Plan"))?;
    let plan = record
        .offering
        .plan(uuid)
        .cloned()
        .ok_or(ApiError::NotFound("Plan"))?;
    Ok(PlanContext { record, plan })
}

async fn plan_from_path(state: &ApiState, raw_uuid: &str) -> Result<PlanContext, ApiError> {
    let uuid = parse_path_uuid(raw_uuid, "Plan")?;
    find_plan(state, uuid).await
}

/// The provider body of a plan (`ProviderPlanDetails`, all 15 required keys).
async fn render(state: &ApiState, links: &Links, context: &PlanContext) -> Result<Value, ApiError> {
    let counts = plan_resource_counts(state, context.record.uuid).await?;
    let count = counts.get(&context.plan.uuid).copied().unwrap_or(0);
    Ok(render_plan(
        &context.record.offering,
        &context.plan,
        links,
        PlanSide::Provider,
        count,
    ))
}

/// `offering` (a provider offering URL), `offering_uuid`, `parent_offering_uuid` (offerings
/// have no parents here, so the plans of that offering) and repeated `offering_slug`.
fn plan_filter(params: &QueryParams) -> PlanFilter {
    let mut offerings = Vec::new();
    if let Some(url) = params.get("offering") {
        offerings
            .push(parse_hyperlink(url, "marketplace-provider-offerings").unwrap_or(Uuid::nil()));
    }
    for param in ["offering_uuid", "parent_offering_uuid"] {
        offerings.extend(params.get(param).map(filter_uuid));
    }
    PlanFilter {
        offerings,
        offering_slugs: strings(params, "offering_slug"),
    }
}

/// Every authenticated user sees every plan (there are no organization-group restrictions).
async fn list(
    State(state): State<Arc<ApiState>>,
    _caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let filter = plan_filter(&params);
    let page = read::offerings::list_plans(&state.ledger.pool, &filter, paging).await?;
    let mut items = Vec::with_capacity(page.rows.len());
    for row in page.rows {
        let offering: Offering = serde_json::from_value(row.document)
            .map_err(|e| ApiError::internal(anyhow::anyhow!(e).context("offering document")))?;
        let Some(plan) = offering.plan(row.plan_uuid) else {
            continue;
        };
        items.push(render_plan(
            &offering,
            plan,
            &links,
            PlanSide::Provider,
            row.resources_count,
        ));
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
    _caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let context = plan_from_path(&state, &raw_uuid).await?;
    let item = render(&state, &links, &context).await?;
    Ok(Json(select_fields(item, &params)))
}

/// `billing_mode`: clients always send it; a known mode is accepted and not stored.
fn read_billing_mode(form: &mut Form) {
    match form.raw("billing_mode") {
        None => {}
        Some(Value::Null) => form.error("billing_mode", NOT_NULL),
        Some(Value::String(mode)) if BILLING_MODES.contains(&mode.as_str()) => {}
        Some(Value::String(mode)) => {
            let message = format!("\"{mode}\" is not a valid choice.");
            form.error("billing_mode", message);
        }
        Some(other) => {
            let message = format!("\"{other}\" is not a valid choice.");
            form.error("billing_mode", message);
        }
    }
}

async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let mut form = Form::new(body);
    let changes = input::read_plan(&mut form);
    read_billing_mode(&mut form);
    let mut record = None;
    if let Some(uuid) = form.hyperlink("offering", "marketplace-provider-offerings", true) {
        match provider_record(&state, &caller, uuid).await {
            Ok(found) => record = Some(found),
            Err(ApiError::NotFound(_)) => {
                form.error("offering", "Invalid hyperlink - Object does not exist.")
            }
            Err(other) => return Err(other),
        }
    }
    form.finish()?;
    let record = record.expect("validated");
    require(&state, &caller, &record, "OFFERING.CREATE_PLAN").await?;
    let plan = new_plan(&changes, Uuid::new_v4());
    let plan_uuid = plan.uuid;
    let ctx = caller.ctx();
    let command = OfferingCommand::AddPlan { plan, at: ctx.now };
    execute(&state, &caller, record.uuid, command).await?;
    let context = find_plan(&state, plan_uuid).await?;
    let item = render(&state, &links, &context).await?;
    Ok(created(links.object("marketplace-plans", plan_uuid), item))
}

async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    form: Form,
) -> Result<Json<Value>, ApiError> {
    write_plan(&state, &caller, &links, &raw_uuid, form).await
}

/// PUT and PATCH: 404, then the permission (403), then "used by resources" (400), then the
/// body. Only name, description, unit, max_amount and article_code are written; `offering`
/// is protected and ignored.
async fn write_plan(
    state: &ApiState,
    caller: &Caller,
    links: &Links,
    raw_uuid: &str,
    mut form: Form,
) -> Result<Json<Value>, ApiError> {
    let context = plan_from_path(state, raw_uuid).await?;
    require(state, caller, &context.record, "OFFERING.UPDATE_PLAN").await?;
    let plan_uuid = context.plan.uuid;
    let offering_uuid = context.record.uuid;
    edit::check_plan_unused(&state.ledger.pool, offering_uuid, plan_uuid).await?;
    let mut changes = input::read_plan(&mut form);
    read_billing_mode(&mut form);
    form.finish()?;
    changes.retain(|key, _| UPDATABLE.contains(&key.as_str()));
    if !changes.is_empty() {
        edit::update_plan(
            &state.ledger,
            offering_uuid,
            plan_uuid,
            changes,
            &caller.ctx(),
        )
        .await?;
    }
    let context = find_plan(state, plan_uuid).await?;
    Ok(Json(render(state, links, &context).await?))
}

/// Staff only; a plan that resources use is kept (they refer to it).
async fn destroy(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let context = plan_from_path(&state, &raw_uuid).await?;
    require_staff(&caller)?;
    edit::delete_plan(
        &state.ledger,
        context.record.uuid,
        context.plan.uuid,
        &caller.ctx(),
    )
    .await?;
    Ok(no_content())
}

async fn archive(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let context = plan_from_path(&state, &raw_uuid).await?;
    require(&state, &caller, &context.record, "OFFERING.ARCHIVE_PLAN").await?;
    edit::archive_plan(
        &state.ledger,
        context.record.uuid,
        &context.plan,
        &caller.ctx(),
    )
    .await?;
    Ok(Json(json!({"detail": "Plan has been archived."})).into_response())
}

/// The start of `update_prices`/`update_quotas`: 404, the permission (403), then whether
/// the offering's type lets providers manage plans (400).
async fn pricing_context(
    state: &ApiState,
    caller: &Caller,
    raw_uuid: &str,
) -> Result<PlanContext, ApiError> {
    let context = plan_from_path(state, raw_uuid).await?;
    require(state, caller, &context.record, "OFFERING.UPDATE_PLAN").await?;
    edit::check_plans_manageable(&context.record.offering)?;
    Ok(context)
}

/// A required dictionary field: absent → required, null → not null.
fn require_dict(form: &mut Form, field: &str) -> bool {
    match form.raw(field) {
        None => {
            form.error(field, REQUIRED);
            false
        }
        Some(Value::Null) => {
            form.error(field, NOT_NULL);
            false
        }
        Some(_) => true,
    }
}

async fn update_prices(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let context = pricing_context(&state, &caller, &raw_uuid).await?;
    let mut form = Form::new(body);
    let prices = if require_dict(&mut form, "prices") {
        input::read_prices(&mut form, "prices")
    } else {
        None
    };
    form.finish()?;
    edit::set_plan_prices(
        &state.ledger,
        context.record.uuid,
        context.plan.uuid,
        prices.expect("validated"),
        &caller.ctx(),
    )
    .await?;
    Ok(StatusCode::OK.into_response())
}

async fn update_quotas(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let context = pricing_context(&state, &caller, &raw_uuid).await?;
    let mut form = Form::new(body);
    let quotas = if require_dict(&mut form, "quotas") {
        input::read_quotas(&mut form, "quotas")
    } else {
        None
    };
    form.finish()?;
    let ctx = caller.ctx();
    let command = OfferingCommand::SetPlanQuotas {
        uuid: context.plan.uuid,
        quotas: quotas.expect("validated"),
        at: ctx.now,
    };
    execute(&state, &caller, context.record.uuid, command).await?;
    Ok(StatusCode::OK.into_response())
}
