//! `/api/admin/arrow/consumption-records/` (read only), `/api/admin/arrow/billing-syncs/`
//! (list and retrieve) and `billing-syncs/sync_resource_historical_consumption/`, which
//! records a resource's monthly consumption from Arrow.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{BASE, amount, list_page, optional_amount};
use crate::api::ApiState;
use crate::api::access::require_staff;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::{Form, parse_hyperlink};
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{QueryParams, filter_uuid, parse_bool};
use crate::app::arrow::consumption::{self as app, SyncRequest, parse_period};
use crate::read::arrow::{
    self as read, BillingSyncFilter, BillingSyncRow, RecordFilter, RecordRow,
};
use crate::read::list::Paging;

const RECORDS: &str = "admin/arrow/consumption-records";
const RECORD_MODEL: &str = "ArrowConsumptionRecord";
const SYNCS: &str = "admin/arrow/billing-syncs";
const SYNC_MODEL: &str = "ArrowBillingSync";
const PERIOD_FORMAT: &str = "Invalid period format. Use YYYY-MM (e.g., 2024-01)";

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route(&format!("{BASE}/consumption-records/"), get(list_records))
        .route(
            &format!("{BASE}/consumption-records/{{uuid}}/"),
            get(retrieve_record),
        )
        .route(&format!("{BASE}/billing-syncs/"), get(list_syncs))
        .route(
            &format!("{BASE}/billing-syncs/{{uuid}}/"),
            get(retrieve_sync),
        )
        .route(
            &format!("{BASE}/billing-syncs/sync_resource_historical_consumption/"),
            post(sync_consumption),
        )
}

/// Scale 10, as the record's decimal fields.
const SCALE: u32 = 10;

pub fn render_record(row: &RecordRow, links: &Links) -> Value {
    let r = &row.record;
    let uuid = r.uuid.unwrap_or_default();
    let adjustment = r.final_sell.map(|f| f - r.consumed_sell);
    json!({
        "uuid": hex(uuid),
        "url": links.object(RECORDS, uuid),
        "resource": links.object("marketplace-resources", r.resource_uuid),
        "resource_uuid": hex(r.resource_uuid),
        "resource_name": row.resource_name,
        "project_uuid": row.project_uuid.map(hex),
        "project_name": row.project_name,
        "customer_uuid": row.customer_uuid.map(hex),
        "customer_name": row.customer_name,
        "license_reference": r.license_reference,
        "billing_period": r.billing_period.map(|d| d.to_string()),
        "consumed_sell": amount(r.consumed_sell, SCALE),
        "consumed_buy": amount(r.consumed_buy, SCALE),
        "final_sell": optional_amount(r.final_sell, SCALE),
        "final_buy": optional_amount(r.final_buy, SCALE),
        "last_sync_at": r.last_sync_at.map(timestamp),
        "finalized_at": r.finalized_at.map(timestamp),
        "reconciled_at": r.reconciled_at.map(timestamp),
        "is_finalized": r.finalized_at.is_some(),
        "is_reconciled": r.reconciled_at.is_some(),
        "adjustment_amount": optional_amount(adjustment, 2),
        "raw_data": r.raw_data,
        "created": r.created.map(timestamp),
        "modified": r.modified.map(timestamp),
    })
}

/// A date filter: `YYYY-MM-DD`, or `YYYY-MM` for the month's first day; anything else
/// is a 400 on the filter.
fn date_filter(params: &QueryParams, key: &str) -> Result<Option<NaiveDate>, ApiError> {
    match params.get(key) {
        None => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .ok()
            .or_else(|| parse_period(text))
            .map(Some)
            .ok_or_else(|| ApiError::field(key, "Enter a valid date.")),
    }
}

async fn list_records(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let params = QueryParams::parse(raw.as_deref());
    let resource = params.get("resource_uuid").map(filter_uuid).or_else(|| {
        params.get("resource").map(|v| {
            parse_hyperlink(v.trim(), "marketplace-resources").unwrap_or(uuid::Uuid::nil())
        })
    });
    let filter = RecordFilter {
        resource,
        project: params.get("project_uuid").map(filter_uuid),
        customer: params.get("customer_uuid").map(filter_uuid),
        license_reference: params.get("license_reference").map(str::to_string),
        billing_period: date_filter(&params, "billing_period")?,
        billing_period_from: date_filter(&params, "billing_period_from")?,
        billing_period_to: date_filter(&params, "billing_period_to")?,
        is_finalized: params.get("is_finalized").and_then(parse_bool),
        is_reconciled: params.get("is_reconciled").and_then(parse_bool),
    };
    let page =
        read::records_page(&state.ledger.pool, &filter, Paging::from_params(&params)?).await?;
    Ok(list_page(&links, RECORDS, &params, page, render_record))
}

async fn retrieve_record(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, RECORD_MODEL)?;
    let row = read::record(&state.ledger.pool, uuid)
        .await?
        .ok_or(ApiError::NotFound(RECORD_MODEL))?;
    Ok(Json(render_record(&row, &links)))
}

/// Waldur's billing sync states.
pub fn state_name(state: i16) -> &'static str {
    match state {
        1 => "Pending",
        2 => "Synced",
        3 => "Validated",
        4 => "Reconciled",
        _ => "Unknown",
    }
}

fn render_sync(row: &BillingSyncRow, links: &Links) -> Value {
    json!({
        "uuid": hex(row.uuid),
        "url": links.object(SYNCS, row.uuid),
        "customer_mapping": links.object(super::mappings::COLLECTION, row.customer_mapping_uuid),
        "customer_mapping_uuid": hex(row.customer_mapping_uuid),
        "statement_reference": row.statement_reference,
        "report_period": row.report_period,
        "state": row.state,
        "state_display": state_name(row.state),
        "buy_total": optional_amount(row.buy_total, 2),
        "sell_total": optional_amount(row.sell_total, 2),
        "items_count": row.items_count,
        "items": [],
        "created": timestamp(row.created),
        "modified": timestamp(row.modified),
    })
}

async fn list_syncs(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let params = QueryParams::parse(raw.as_deref());
    let filter = BillingSyncFilter {
        customer_mapping: params.get("customer_mapping_uuid").map(filter_uuid),
        settings: params.get("settings_uuid").map(filter_uuid),
        report_period: params.get("report_period").map(str::to_string),
        state: params
            .get("state")
            .map(|s| s.trim().parse::<i16>().unwrap_or(-1)),
    };
    let page = read::billing_syncs_page(&state.ledger.pool, &filter, Paging::from_params(&params)?)
        .await?;
    Ok(list_page(&links, SYNCS, &params, page, render_sync))
}

async fn retrieve_sync(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, SYNC_MODEL)?;
    let row = read::billing_sync(&state.ledger.pool, uuid)
        .await?
        .ok_or(ApiError::NotFound(SYNC_MODEL))?;
    Ok(Json(render_sync(&row, &links)))
}

/// A `YYYY-MM` field, or a 400 on it.
fn period_field(form: &mut Form, field: &str) -> Option<NaiveDate> {
    let text = form.optional_str(field, 7 + 10)?;
    let parsed = parse_period(&text);
    if parsed.is_none() {
        form.error(field, PERIOD_FORMAT);
    }
    parsed
}

async fn sync_consumption(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let resource = form.uuid("resource_uuid", true);
    let period_from = period_field(&mut form, "period_from");
    let period_to = period_field(&mut form, "period_to");
    let force = form.bool("force").unwrap_or(false);
    let dry_run = form.bool("dry_run").unwrap_or(false);
    form.finish()?;
    let outcome = app::sync_resource(
        &state.ledger,
        SyncRequest {
            resource_uuid: resource.expect("validated"),
            period_from,
            period_to,
            force,
            dry_run,
        },
        &caller.ctx(),
    )
    .await?;
    let errors: Vec<Value> = outcome
        .errors
        .iter()
        .map(|(period, error)| json!({"period": period, "error": error}))
        .collect();
    let previews: Vec<Value> = outcome
        .preview_periods
        .iter()
        .map(|p| {
            json!({
                "period": p.period,
                "status": p.status,
                "row_count": p.row_count,
                "consumed_sell": amount(p.consumed_sell, 2),
                "consumed_buy": amount(p.consumed_buy, 2),
                "has_existing": p.has_existing,
            })
        })
        .collect();
    Ok(Json(json!({
        "resource_uuid": hex(outcome.resource_uuid),
        "resource_name": outcome.resource_name,
        "periods_synced": outcome.periods_synced,
        "periods_skipped": outcome.periods_skipped,
        "periods_no_data": outcome.periods_no_data,
        "errors": errors,
        "dry_run": outcome.dry_run,
        "preview_periods": previews,
    })))
}
