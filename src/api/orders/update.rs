//! `PUT`/`PATCH /api/marketplace-orders/{uuid}/`: the consumer changes what an order waiting
//! for its review asks for — `limits`, `attributes`, `start_date` (newest Waldur's
//! `OrderUpdateSerializer`).
//!
//! Checks, in Waldur's order: the caller sees the order (404), holds `ORDER.APPROVE` on
//! the project or its customer (403), the customer is usable and the project not expired
//! (400), the order is pending-consumer (409), then the body. Limits are validated as at
//! creation and the order is priced again; a resource still being created follows the
//! new limits and attributes of its Create order.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::put;
use axum::{Json, Router};
use serde_json::{Map, Value};

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::body::{Body, expected_dict};
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::Links;
use crate::api::offerings::find_record;
use crate::domain::order::{OrderCommand, OrderState, OrderTerms, OrderType};
use crate::domain::resource::ResourceCommand;

use super::actions::{Target, load, require, run_with_resource};
use super::placement::{check_limits, parse_limits, prices};
use super::render;

pub fn router() -> Router<Arc<ApiState>> {
    Router::new().route("/api/marketplace-orders/{uuid}/", put(update).patch(update))
}

/// A JSON object field, with DRF's message for anything else.
fn object_field(form: &mut Form, name: &str) -> Option<Map<String, Value>> {
    match form.raw(name).cloned()? {
        Value::Object(map) => Some(map),
        other => {
            form.error(name, expected_dict(&other));
            None
        }
    }
}

/// `limits`: component type → non-negative integer (numbers or numeric strings).
fn limits_field(form: &mut Form) -> Option<BTreeMap<String, i64>> {
    let map = object_field(form, "limits")?;
    parse_limits(&map)
        .map_err(|errors| form.error_value("limits", errors))
        .ok()
}

/// The order's terms with the body's fields applied; absent fields stay as they are.
fn new_terms(target: &Target, form: &mut Form) -> OrderTerms {
    let spec = &target.spec;
    OrderTerms {
        limits: limits_field(form).unwrap_or_else(|| spec.limits.clone()),
        attributes: object_field(form, "attributes").unwrap_or_else(|| spec.attributes.clone()),
        start_date: form.nullable_date("start_date").unwrap_or(spec.start_date),
        cost: spec.cost,
        fixed_price: spec.fixed_price,
        activation_price: spec.activation_price,
    }
}

async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let target = load(&state, &caller, &raw_uuid).await?;
    require(&state, &caller, "ORDER.APPROVE", &target.consumer_scopes()).await?;
    let ctx = caller.ctx();
    target.require_customer_ok()?;
    target.require_project_not_expired(ctx.now.date_naive())?;
    target.require_state(&[OrderState::PendingConsumer])?;
    let Body(body) = body?;
    // Every field is optional, so PUT and PATCH read the body alike.
    let mut form = Form::partial(body);
    let limits_given = form.is_present("limits");
    let mut terms = new_terms(&target, &mut form);
    form.finish()?;

    let record = find_record(&state, target.spec.offering_uuid)
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("the order's offering is not projected"))
        })?;
    if limits_given {
        check_limits(&record.offering, &terms.limits)?;
    }
    if target.spec.order_type == OrderType::Create {
        let plan = target
            .spec
            .plan_uuid
            .and_then(|uuid| record.offering.plan(uuid));
        let priced = prices(&record.offering, plan, &terms.limits, OrderType::Create)?;
        (terms.cost, terms.fixed_price, terms.activation_price) =
            (priced.cost, priced.fixed_price, priced.activation_price);
    }

    let command = OrderCommand::Update {
        terms: terms.clone(),
        at: ctx.now,
    };
    // A resource still being created follows its Create order, in the same transaction.
    let follow =
        (target.spec.order_type == OrderType::Create).then(|| ResourceCommand::FollowCreateOrder {
            limits: terms.limits.clone(),
            attributes: terms.attributes.clone(),
            at: ctx.now,
        });
    run_with_resource(
        &state,
        &target,
        command,
        |events| follow.clone().filter(|_| !events.is_empty()),
        &ctx,
    )
    .await?;

    let row = crate::read::orders::find(&state.ledger.pool, target.uuid)
        .await?
        .ok_or(ApiError::NotFound("Order"))?;
    Ok(Json(render(&row, &links, &caller)?))
}
