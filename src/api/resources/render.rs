//! A resource as Waldur's `ResourceSerializer` renders it, with every key the published
//! client's `Resource` model reads. Keys the client parses as plain strings are never null;
//! those it takes as nullable (`plan_uuid`, `resource_uuid`) are null when there is nothing
//! to name, and the parent keys, which it cannot take as null, are left out as Waldur does
//! for a resource without a parent (the ledger has no parent offerings).

use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::error::ApiError;
use crate::api::links::{Links, hex, timestamp};
use crate::api::offerings::{PlanSide, decimal_string, plan_url};
use crate::domain::offering::Offering;
use crate::domain::offering::model::BillingType;
use crate::domain::offering::pricing::plan_estimate;
use crate::domain::resource::{Resource, ResourceState};

use super::Side;
use crate::read::resources::ResourceRow;

fn decode<T: serde::de::DeserializeOwned>(value: &Value, what: &str) -> Result<T, ApiError> {
    serde_json::from_value(value.clone())
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e).context(format!("decoding {what}"))))
}

pub(crate) fn render(row: &ResourceRow, links: &Links, side: Side) -> Result<Value, ApiError> {
    let resource: Resource = decode(&row.resource_doc, "a resource")?;
    let spec = resource
        .spec
        .as_ref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a resource without its creation")))?;
    let offering: Offering = match &row.offering_doc {
        Some(doc) => decode(doc, "an offering")?,
        None => Offering::default(),
    };
    let plan = resource.plan_uuid.and_then(|uuid| offering.plan(uuid));
    let has_billing = |billing: BillingType| {
        offering
            .components
            .iter()
            .any(|c| c.billing_type == billing)
    };
    let created = resource.created.map(timestamp);
    let modified = resource.modified.map(timestamp).or(created.clone());
    let can_terminate =
        matches!(resource.state, ResourceState::Ok | ResourceState::Erred) && !row.pending_order;
    let limit_usage: serde_json::Map<String, Value> = resource
        .limits
        .keys()
        .map(|k| (k.clone(), Value::Null))
        .collect();
    let collection = match side {
        Side::Consumer => "marketplace-resources",
        Side::Provider => "marketplace-provider-resources",
    };
    let user_url = |uuid: Option<Uuid>| uuid.map(|u| links.object("users", u));
    Ok(json!({
        "offering": links.object("marketplace-public-offerings", spec.offering_uuid),
        "offering_name": offering.details.name,
        "offering_uuid": hex(spec.offering_uuid),
        "offering_description": offering.details.description,
        "offering_image": "",
        "offering_thumbnail": "",
        "offering_type": offering.offering_type,
        "offering_terms_of_service": offering.details.terms_of_service,
        "offering_shared": offering.details.shared,
        "offering_billable": offering.details.billable,
        "offering_plugin_options": offering.settings.plugin_options,
        "offering_slug": offering.slug,
        "provider_name": row.provider_name.clone().unwrap_or_default(),
        "provider_uuid": hex(row.provider_uuid.unwrap_or(offering.customer_uuid)),
        "provider_slug": row.provider_slug.clone().unwrap_or_default(),
        "category_title": row.category_title.clone().unwrap_or_default(),
        "category_uuid": hex(offering.category_uuid),
        "category_icon": "",
        "plan": plan.map(|p| plan_url(links, spec.offering_uuid, p.uuid, PlanSide::Public)),
        "plan_unit": plan.map(|p| p.unit.as_str()),
        "plan_name": plan.map(|p| p.name.clone()).unwrap_or_default(),
        "plan_uuid": plan.map(|p| hex(p.uuid)),
        "plan_description": plan.map(|p| p.description.clone()).unwrap_or_default(),
        "attributes": spec.attributes,
        "limits": resource.limits,
        "uuid": hex(spec.uuid),
        "created": created,
        "modified": modified,
        "url": links.object(collection, spec.uuid),
        "scope": "",
        "description": "",
        "state": resource.state.as_str(),
        "resource_uuid": null,
        "backend_id": resource.backend_id,
        "effective_id": "",
        "resource_type": null,
        "project": links.object("projects", spec.project_uuid),
        "project_uuid": hex(spec.project_uuid),
        "project_name": row.project_name.clone().unwrap_or_default(),
        "project_slug": row.project_slug.clone().unwrap_or_default(),
        "project_description": row.project_description.clone().unwrap_or_default(),
        "project_end_date": row.project_end_date,
        "project_end_date_requested_by":
            user_url(row.project_end_date_requested_by).unwrap_or_default(),
        "customer_uuid": hex(spec.customer_uuid),
        "customer_name": row.customer_name.clone().unwrap_or_default(),
        "customer_slug": row.customer_slug.clone().unwrap_or_default(),
        "backend_metadata": {},
        "is_usage_based": has_billing(BillingType::Usage),
        "is_limit_based": has_billing(BillingType::Limit),
        "name": spec.name,
        "slug": spec.slug,
        "current_usages": {},
        "can_terminate": can_terminate,
        "report": [],
        "end_date": resource.end_date,
        "end_date_requested_by": user_url(spec.end_date_requested_by),
        "username": null,
        "limit_usage": limit_usage,
        "downscaled": false,
        "restrict_member_access": false,
        "paused": false,
        "endpoints": [],
        "error_message": "",
        "error_traceback": "",
        "offering_customer_uuid": hex(offering.customer_uuid),
        "options": {},
        "available_actions": [],
        "last_sync": modified,
        "order_in_progress": null,
        "creation_order": null,
        // A price raised after the resource was ordered may put its estimate out of range.
        "cost": plan
            .and_then(|p| plan_estimate(&offering, p, &resource.limits).ok())
            .map(|cost| decimal_string(cost, 10)),
    }))
}
