//! The customer mapping and settings actions that read Arrow: `discover_customers`,
//! `available_customers`, `sync_from_arrow`, `discover_licenses`, `fetch_arrow_data`, and
//! `billing_summary`, which reads the read models only.
//!
//! An Arrow customer is shown with both `companyName` (Waldur's spelling) and
//! `company_name` (the published client's `ArrowCustomerDiscovery`), and a suggestion
//! without a local customer has no `suggested_waldur_customer` key, which the published
//! client could not read as `null`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::mappings::fetch;
use super::settings::credentials;
use super::{BASE, amount, optional_amount};
use crate::api::ApiState;
use crate::api::access::require_staff;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::{hex, timestamp};
use crate::app::arrow::ArrowAppError;
use crate::app::arrow::discovery::customers::{self, Suggestion};
use crate::app::arrow::discovery::export_types::{
    ExportTypeCheck, IMPORTANT_FIELDS, REQUIRED_FIELDS,
};
use crate::app::arrow::discovery::figures::{self, ArrowFigures, BillingSummary};
use crate::app::arrow::discovery::{licenses, state_code};
use crate::clients::arrow::ArrowCustomer;
use crate::read::arrow::{CustomerBrief, MappingRow};

/// Places of the amounts these actions show.
const MONEY: u32 = 2;
/// Places of a billing line's quantity.
const QUANTITY: u32 = 4;

pub fn router() -> Router<Arc<ApiState>> {
    let mappings = format!("{BASE}/customer-mappings");
    Router::new()
        .route(
            &format!("{BASE}/settings/discover_customers/"),
            post(discover_customers),
        )
        .route(
            &format!("{mappings}/available_customers/"),
            get(available_customers),
        )
        .route(
            &format!("{mappings}/sync_from_arrow/"),
            post(sync_from_arrow),
        )
        .route(
            &format!("{mappings}/{{uuid}}/discover_licenses/"),
            get(discover_licenses),
        )
        .route(
            &format!("{mappings}/{{uuid}}/fetch_arrow_data/"),
            get(fetch_arrow_data),
        )
        .route(
            &format!("{mappings}/{{uuid}}/billing_summary/"),
            get(billing_summary),
        )
}

fn render_arrow_customer(customer: &ArrowCustomer) -> Value {
    let mut value = customer.to_json();
    value["company_name"] = json!(customer.company_name);
    value
}

fn render_customer(customer: &CustomerBrief) -> Value {
    json!({
        "uuid": hex(customer.uuid),
        "name": customer.name,
        "abbreviation": customer.abbreviation,
    })
}

fn render_suggestion(suggestion: &Suggestion) -> Value {
    let mut body = Map::new();
    body.insert(
        "arrow_customer".into(),
        render_arrow_customer(&suggestion.arrow_customer),
    );
    if let Some(customer) = &suggestion.suggested {
        body.insert(
            "suggested_waldur_customer".into(),
            render_customer(customer),
        );
    }
    body.insert("confidence".into(), json!(suggestion.confidence));
    body.insert(
        "existing_mapping".into(),
        json!(suggestion.existing_mapping),
    );
    Value::Object(body)
}

fn render_export_type(check: &ExportTypeCheck) -> Value {
    json!({
        "reference": check.reference,
        "name": check.name,
        "required_fields_total": REQUIRED_FIELDS.len(),
        "required_fields_found": check.required_found(),
        "important_fields_total": IMPORTANT_FIELDS.len(),
        "important_fields_found": check.important_found(),
        "missing_required_fields": check.missing_required,
        "missing_important_fields": check.missing_important,
        "compatible": check.compatible(),
        "recommended": check.recommended(),
    })
}

fn all<T>(items: &[T], render: impl Fn(&T) -> Value) -> Value {
    Value::Array(items.iter().map(render).collect())
}

async fn discover_customers(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let given = credentials(&mut form);
    form.finish()?;
    let (api_url, api_key) = given.expect("validated");
    let found = customers::discover(&state.ledger, &api_url, &api_key).await?;
    Ok(Json(json!({
        "arrow_customers": all(&found.arrow_customers, render_arrow_customer),
        "waldur_customers": all(&found.waldur_customers, render_customer),
        "suggestions": all(&found.suggestions, render_suggestion),
        "export_types": all(&found.export_types, render_export_type),
    })))
}

/// Refusals here are `{"detail": …}`, as Waldur answers them.
async fn available_customers(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let found = customers::available(&state.ledger)
        .await
        .map_err(|err| match err {
            ArrowAppError::Refused(message) => ApiError::BadRequest(message),
            other => other.into(),
        })?;
    Ok(Json(json!({
        "settings_uuid": hex(found.settings_uuid),
        "arrow_customers": all(&found.arrow_customers, render_arrow_customer),
        "waldur_customers": all(&found.waldur_customers, render_customer),
        "suggestions": all(&found.suggestions, render_suggestion),
    })))
}

async fn sync_from_arrow(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let settings = form.uuid("settings_uuid", false);
    form.finish()?;
    let updated = customers::sync_from_arrow(&state.ledger, settings, &caller.ctx()).await?;
    Ok(Json(json!({ "updated": updated })))
}

fn mapping_uuid(row: &MappingRow) -> String {
    hex(row.mapping.uuid.unwrap_or_default())
}

async fn discover_licenses(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let row = fetch(&state, &raw_uuid).await?;
    let found = licenses::discover(&state.ledger, &row).await?;
    let arrow_licenses = all(&found.arrow_licenses, |l| {
        json!({
            "license_reference": l.license_id,
            "vendor_name": l.service_ref,
            "offer_name": l.name,
            "offer_sku": l.sku,
            "friendly_name": l.friendly_name,
        })
    });
    let waldur_resources = all(&found.waldur_resources, |r| {
        json!({
            "uuid": hex(r.uuid),
            "name": r.name,
            "backend_id": r.backend_id,
            "project_name": r.project_name,
            "offering_name": r.offering_name,
            "state": state_code(&r.state),
        })
    });
    let suggestions = all(&found.suggestions, |s| {
        json!({
            "resource_uuid": hex(s.resource_uuid),
            "resource_name": s.resource_name,
            "license_reference": s.license_reference,
            "license_name": s.license_name,
            "confidence": s.confidence,
        })
    });
    Ok(Json(json!({
        "customer_mapping_uuid": mapping_uuid(&row),
        "arrow_reference": found.arrow_reference,
        "waldur_customer_name": row.customer_name,
        "arrow_licenses": arrow_licenses,
        "waldur_resources": waldur_resources,
        "suggestions": suggestions,
        "error": found.error,
    })))
}

fn render_figures(row: &MappingRow, figures: &ArrowFigures) -> Value {
    let billing_lines = all(&figures.billing_lines, |l| {
        json!({
            "vendor_name": l.vendor_name,
            "subscription_reference": l.subscription_reference,
            "license_reference": l.license_reference,
            "offer_sku": l.offer_sku,
            "classification": l.classification,
            "quantity": optional_amount(l.quantity, QUANTITY),
            "sell_price": amount(l.sell, MONEY),
            "buy_price": amount(l.buy, MONEY),
        })
    });
    let consumption_lines = all(&figures.consumption_lines, |l| {
        let mut line = json!({
            "license_reference": l.license_reference,
            "resource_name": l.resource_name,
            "resource_uuid": hex(l.resource_uuid),
            "period": figures.period,
        });
        match &l.amounts {
            Ok((sell, buy)) => {
                line["sell_price"] = json!(amount(*sell, MONEY));
                line["buy_price"] = json!(amount(*buy, MONEY));
            }
            Err(error) => {
                line["sell_price"] = Value::Null;
                line["buy_price"] = Value::Null;
                line["error"] = json!(error);
            }
        }
        line
    });
    let billing = figures.billing_totals();
    let consumption = figures.consumption_totals();
    let fields = &row.mapping.fields;
    json!({
        "customer_mapping_uuid": mapping_uuid(row),
        "arrow_reference": fields.arrow_reference,
        "arrow_company_name": fields.arrow_company_name,
        "waldur_customer_name": row.customer_name,
        "period": figures.period,
        "billing_available": figures.billing_available,
        "billing_lines": billing_lines,
        "billing_total_sell": optional_amount(billing.map(|t| t.0), MONEY),
        "billing_total_buy": optional_amount(billing.map(|t| t.1), MONEY),
        "consumption_lines": consumption_lines,
        "consumption_total_sell": optional_amount(consumption.map(|t| t.0), MONEY),
        "consumption_total_buy": optional_amount(consumption.map(|t| t.1), MONEY),
        "total_customer_resources": figures.total_customer_resources,
        "resources_with_backend_id": figures.resources_with_backend_id,
        "matched_resources": figures.matched_resources(),
        "error": figures.error,
    })
}

async fn fetch_arrow_data(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let row = fetch(&state, &raw_uuid).await?;
    let figures = figures::fetch(&state.ledger, &row, Utc::now()).await?;
    Ok(Json(render_figures(&row, &figures)))
}

fn render_summary(row: &MappingRow, summary: &BillingSummary) -> Value {
    let records = all(&summary.recent_records, |r| {
        let record = &r.record;
        json!({
            "uuid": hex(record.uuid.unwrap_or_default()),
            "license_reference": record.license_reference,
            "resource_name": r.resource_name,
            "billing_period": record.billing_period.map(|d| d.to_string()),
            "consumed_sell": amount(record.consumed_sell, MONEY),
            "final_sell": optional_amount(record.final_sell, MONEY),
            "is_finalized": record.finalized_at.is_some(),
            "is_reconciled": record.reconciled_at.is_some(),
        })
    });
    let syncs = all(&summary.recent_syncs, |s| {
        json!({
            "uuid": hex(s.uuid),
            "report_period": s.report_period,
            "state": s.state.to_string(),
            "sell_total": optional_amount(s.sell_total, MONEY),
            "items_count": s.items_count,
            "created": timestamp(s.created),
        })
    });
    let fields = &row.mapping.fields;
    let totals = &summary.totals;
    json!({
        "customer_mapping_uuid": mapping_uuid(row),
        "arrow_reference": fields.arrow_reference,
        "arrow_company_name": fields.arrow_company_name,
        "waldur_customer_uuid": hex(fields.waldur_customer_uuid),
        "waldur_customer_name": row.customer_name,
        "total_consumption_records": totals.records,
        "total_consumed_sell": amount(totals.consumed_sell, MONEY),
        "total_final_sell": optional_amount(totals.final_sell, MONEY),
        "pending_records": summary.pending_records(),
        "finalized_records": totals.finalized,
        "reconciled_records": totals.reconciled,
        "total_billing_syncs": summary.billing_syncs,
        "total_billing_sell": optional_amount(summary.billing_sell, MONEY),
        "recent_consumption_records": records,
        "recent_billing_syncs": syncs,
    })
}

async fn billing_summary(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let row = fetch(&state, &raw_uuid).await?;
    let summary = figures::billing_summary(&state.ledger, &row).await?;
    Ok(Json(render_summary(&row, &summary)))
}
