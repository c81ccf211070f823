//! `export_offering`: an offering as a portable document, in Waldur's export format, with
//! the sections the request's `include_*` flags ask for.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::{Flags, read_flags};
use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::{hex, parse_path_uuid, timestamp};
use crate::api::offerings::{OfferingRecord, number, provider_record, require, sees_secrets};
use crate::domain::offering::model::{Component, Plan};

const EXPORT_FLAGS: &[(&str, bool)] = &[
    ("include_components", true),
    ("include_plans", true),
    ("include_screenshots", true),
    ("include_files", true),
    ("include_endpoints", true),
    ("include_organization_groups", true),
    ("include_terms_of_service", true),
    ("include_plugin_options", true),
    ("include_attributes", true),
    ("include_options", true),
    ("include_resource_options", true),
    ("include_secret_options", false),
];

pub(super) async fn export_offering(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    require(&state, &caller, &record, "OFFERING.UPDATE").await?;
    let mut form = Form::new(body);
    let flags = read_flags(&mut form, EXPORT_FLAGS);
    form.finish()?;
    // Secrets leave only for those who may read them anyway.
    let secrets =
        flags["include_secret_options"] && sees_secrets(&state, &caller, &record.offering).await?;
    let (export_data, exported_components) = export_document(&record, &flags, secrets);
    Ok(Json(json!({
        "offering_uuid": hex(record.uuid),
        "offering_name": record.offering.details.name,
        "export_data": export_data,
        "exported_components": exported_components,
        "export_timestamp": timestamp(Utc::now()),
    })))
}

/// A price as Waldur's export writes it: `float(x) if x else 0`.
fn export_price(value: Decimal) -> Value {
    if value.is_zero() {
        json!(0)
    } else {
        number(value)
    }
}

/// Waldur writes `float(x) if x else None` for coordinates, so 0 becomes null.
fn export_coordinate(value: Option<f64>) -> Value {
    value
        .filter(|v| *v != 0.0)
        .map(|v| json!(v))
        .unwrap_or(Value::Null)
}

/// The export document and the names of what it carries.
fn export_document(record: &OfferingRecord, flags: &Flags, secrets: bool) -> (Value, Vec<String>) {
    let o = &record.offering;
    let d = &o.details;
    let mut offering = json!({
        "name": d.name,
        "description": d.description,
        "full_description": d.full_description,
        "vendor_details": d.vendor_details,
        "getting_started": d.getting_started,
        "integration_guide": d.integration_guide,
        "type": o.offering_type,
        "shared": d.shared,
        "billable": d.billable,
        "state": o.state.as_str(),
        "category_name": record.category_title,
        "country": d.country,
        "latitude": export_coordinate(d.latitude),
        "longitude": export_coordinate(d.longitude),
        "access_url": d.access_url,
        "paused_reason": o.paused_reason,
    });
    if flags["include_attributes"] {
        offering["attributes"] = json!(o.settings.attributes);
    }
    if flags["include_options"] {
        offering["options"] = object_or_empty(&o.settings.options);
    }
    let mut data = Map::new();
    let mut exported = Vec::new();
    data.insert("offering".into(), offering);
    if flags["include_resource_options"] {
        data.insert(
            "resource_options".into(),
            object_or_empty(&o.settings.resource_options),
        );
    }
    if flags["include_plugin_options"] {
        data.insert("plugin_options".into(), json!(o.settings.plugin_options));
    }
    if secrets {
        data.insert("secret_options".into(), json!(o.settings.secret_options));
    }
    if flags["include_components"] {
        let components: Vec<Value> = o
            .components
            .iter()
            .map(|c| {
                json!({
                    "type": c.component_type,
                    "name": c.name,
                    "description": c.description,
                    "billing_type": c.billing_type.as_str(),
                    "measured_unit": c.measured_unit,
                    // The ledger keeps no unit factor; Waldur's default is 1.
                    "unit_factor": 1.0,
                    "limit_period": c.limit_period.map(|p| p.as_str()),
                    "limit_amount": c.limit_amount,
                    "article_code": c.article_code,
                    "backend_id": c.backend_id,
                })
            })
            .collect();
        exported.extend(o.components.iter().map(|c| c.component_type.clone()));
        data.insert("components".into(), Value::Array(components));
    }
    if flags["include_plans"] {
        let plans: Vec<Value> = o
            .plans
            .iter()
            .map(|plan| export_plan(&o.components, plan))
            .collect();
        data.insert("plans".into(), Value::Array(plans));
        exported.push("plans".into());
    }
    for (flag, section) in [
        ("include_screenshots", "screenshots"),
        ("include_files", "files"),
    ] {
        if flags[flag] {
            data.insert(section.into(), json!([]));
            exported.push(section.into());
        }
    }
    if flags["include_endpoints"] {
        let endpoints: Vec<Value> = o
            .endpoints
            .iter()
            .map(|e| json!({"name": e.name, "url": e.url}))
            .collect();
        data.insert("endpoints".into(), Value::Array(endpoints));
        exported.push("endpoints".into());
    }
    if flags["include_organization_groups"] {
        data.insert("organization_groups".into(), json!([]));
        exported.push("organization_groups".into());
    }
    if flags["include_terms_of_service"] {
        let terms = if d.terms_of_service.trim().is_empty() {
            json!([])
        } else {
            json!([{
                "terms_of_service": d.terms_of_service,
                "terms_of_service_link": d.terms_of_service_link,
                "version": "1",
                "is_active": true,
                "requires_reconsent": false,
                "grace_period_days": 60,
            }])
        };
        data.insert("terms_of_service".into(), terms);
        exported.push("terms_of_service".into());
    }
    (Value::Object(data), exported)
}

/// Options documents are objects; anything else (never stored by the API) exports as `{}`.
fn object_or_empty(value: &Value) -> Value {
    if value.is_object() {
        value.clone()
    } else {
        json!({})
    }
}

fn export_plan(components: &[Component], plan: &Plan) -> Value {
    let plan_components: Vec<Value> = components
        .iter()
        .map(|c| {
            let price = plan.price_of(&c.component_type);
            json!({
                "component_type": c.component_type,
                "amount": plan.quotas.get(&c.component_type).copied().unwrap_or(0),
                "price": export_price(price),
                "future_price": plan.future_prices.get(&c.component_type).copied().map(number),
            })
        })
        .collect();
    json!({
        "name": plan.name,
        "description": plan.description,
        "unit_price": export_price(plan.unit_price),
        "unit": plan.unit.as_str(),
        "archived": plan.archived,
        "max_amount": plan.max_amount,
        "article_code": plan.article_code,
        "backend_id": plan.backend_id,
        "components": plan_components,
    })
}
