//! `POST /api/marketplace-provider-offerings/`: a new offering from a provider's body,
//! created through [`app::offerings::create_offering`].
//!
//! [`app::offerings::create_offering`]: crate::app::offerings::create_offering

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::fields::{read_category, read_details};
use super::list::render_provider;
use crate::api::access::require_permission;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::Links;
use crate::api::offerings::input::{self, read_list};
use crate::api::offerings::provider_record;
use crate::api::{ApiState, created};
use crate::app::offerings::{self, NewOffering};
use crate::domain::offering::types;
use crate::read;
use crate::read::visibility::Scope;

/// A plan from an offering-create `plans[]` item: its fields plus prices and quotas.
type PlanInput = (
    Map<String, Value>,
    Option<std::collections::BTreeMap<String, rust_decimal::Decimal>>,
    Option<std::collections::BTreeMap<String, i64>>,
);

fn read_plan_input(form: &mut Form) -> PlanInput {
    let changes = input::read_plan(form);
    let prices = if form.is_present("prices") {
        input::read_prices(form, "prices")
    } else {
        None
    };
    let quotas = if form.is_present("quotas") {
        input::read_quotas(form, "quotas")
    } else {
        None
    };
    (changes, prices, quotas)
}

pub(super) async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let ctx = caller.ctx();
    let mut form = Form::new(body);
    let details = read_details(&mut form, true);
    let category = read_category(&state, &mut form, true).await?;
    let offering_type = form.required_str("type", 100);
    let kind = offering_type.as_deref().and_then(|t| {
        let kind = types::lookup(t);
        if kind.is_none() {
            form.error("type", "Invalid value.");
        }
        kind
    });
    let customer = form.hyperlink("customer", "customers", true);
    let project = form.hyperlink("project", "projects", false);
    if let Some(uuid) = project
        && !read::projects::exists(&state.ledger.pool, uuid).await?
    {
        form.error("project", "Invalid hyperlink - Object does not exist.");
    }
    let settings = input::read_settings(&mut form);
    let components = read_list(&mut form, "components", |f| input::read_component(f, false));
    let plans = read_list(&mut form, "plans", read_plan_input);
    if plans.as_ref().is_some_and(Vec::is_empty) && form.is_present("plans") {
        form.error_value(
            "plans",
            json!({"plans": ["At least one plan should be specified."]}),
        );
    }
    let limits = input::read_component_limits(&mut form);
    let customer_exists = match customer {
        Some(uuid) => read::customers::exists(&state.ledger.pool, uuid).await?,
        None => false,
    };
    if customer.is_some() && !customer_exists {
        form.error("customer", "Invalid hyperlink - Object does not exist.");
    }
    form.finish()?;
    let (kind, customer) = (kind.expect("validated"), customer.expect("validated"));
    require_permission(
        &state,
        &caller,
        "OFFERING.CREATE",
        &[Scope::Customer(customer)],
    )
    .await?;
    let plans = plans
        .unwrap_or_default()
        .into_iter()
        .map(|(changes, prices, quotas)| {
            let mut plan = offerings::new_plan(&changes, Uuid::new_v4());
            plan.prices = prices.unwrap_or_default();
            plan.quotas = quotas.unwrap_or_default();
            plan
        })
        .collect();
    let new = NewOffering {
        customer_uuid: customer,
        category_uuid: category.expect("validated"),
        project_uuid: project,
        offering_type: kind.name.to_string(),
        details: offerings::new_offering_details(&details)?,
        settings: offerings::new_offering_settings(&settings),
        components: components
            .unwrap_or_default()
            .iter()
            .map(|changes| offerings::new_component(changes, Uuid::new_v4()))
            .collect(),
        builtins: Vec::new(),
        limits,
        plans,
        endpoints: Vec::new(),
    };
    let uuid = offerings::create_offering(&state.ledger, new, &ctx).await?;
    let record = provider_record(&state, &caller, uuid).await?;
    let item = render_provider(&state, &caller, &links, &record, false).await?;
    Ok(created(
        links.object("marketplace-provider-offerings", uuid),
        item,
    ))
}
