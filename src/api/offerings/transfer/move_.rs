//! `move_offering`: staff move an offering to another customer, answered with the offering
//! as the public catalogue shows it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use super::require_present;
use crate::api::ApiState;
use crate::api::access::require_staff;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::{Links, parse_path_uuid};
use crate::api::offerings::{OfferingView, plan_resource_counts, provider_record, render_offering};
use crate::app::offerings::lifecycle;
use crate::domain::offering::model::Plan;
use crate::read;

pub(super) async fn move_offering(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let customer = form.hyperlink("customer", "customers", true);
    require_present(&mut form, "preserve_permissions");
    // The ledger keeps no offering-level roles, so there is nothing to keep or revoke.
    let _preserve_permissions = form.bool("preserve_permissions");
    let exists = match customer {
        Some(uuid) => read::customers::exists(&state.ledger.pool, uuid).await?,
        None => false,
    };
    if customer.is_some() && !exists {
        form.error("customer", "Invalid hyperlink - Object does not exist.");
    }
    form.finish()?;
    lifecycle::move_offering(
        &state.ledger,
        uuid,
        &record.offering,
        customer.expect("validated"),
        &caller.ctx(),
    )
    .await?;
    let record = provider_record(&state, &caller, uuid).await?;
    let counts = plan_resource_counts(&state, uuid).await?;
    let plans: Vec<&Plan> = record.offering.plans.iter().collect();
    Ok(Json(render_offering(
        &record,
        &links,
        OfferingView::Public,
        &counts,
        &plans,
    )))
}
