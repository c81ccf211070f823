//! What every order placement shares, whichever endpoint places it (`POST
//! /api/marketplace-orders/` for Create orders, the resource actions `update_limits`,
//! `switch_plan` and `terminate` for Update and Terminate orders): plan and limit checks,
//! cost (`Plan.get_estimate` plus the init or switch price), auto-approval (Waldur's
//! `notify_approvers_when_order_is_created`) and the synchronous processing of Basic and
//! Support orders that need no review.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::access::{has_permission, roles_in};
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::links::hex;
use crate::api::offerings::OfferingRecord;
use crate::domain::offering::Offering;
use crate::domain::offering::model::{BillingType, Plan};
use crate::domain::offering::types::ProviderReview;
use crate::domain::order::{Order, OrderCommand, OrderSpec, OrderState, OrderType};
use crate::domain::resource::{OrderOutcome, Resource, ResourceCommand};
use crate::read::visibility::Scope;
use crate::store::metadata::CommandContext;

pub(crate) const INVALID_OBJECT: &str = "Invalid hyperlink - Object does not exist.";
pub(crate) const PLAN_NOT_AVAILABLE: &str = "This plan is not available for selected offering.";

/// A command refused by the order or resource aggregate: the checks before it rule that
/// out, so it is an internal failure.
pub(crate) fn command_failed<E: std::error::Error>(err: cqrs_es::AggregateError<E>) -> ApiError {
    ApiError::internal(anyhow::anyhow!("placing the order: {err}"))
}

/// Requested limits: component type → non-negative integer (numbers or numeric strings).
/// Fails with the per-key errors DRF gives, as the value of the `limits` field.
pub(crate) fn parse_limits(raw: &Map<String, Value>) -> Result<BTreeMap<String, i64>, Value> {
    let mut limits = BTreeMap::new();
    let mut errors = Map::new();
    for (key, value) in raw {
        let parsed = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if n < 0 => {
                errors.insert(
                    key.clone(),
                    json!(["Ensure this value is greater than or equal to 0."]),
                );
            }
            Some(n) => {
                limits.insert(key.clone(), n);
            }
            None => {
                errors.insert(key.clone(), json!(["A valid integer is required."]));
            }
        }
    }
    if errors.is_empty() {
        Ok(limits)
    } else {
        Err(Value::Object(errors))
    }
}

/// A plan reference: the plan and, for public plan URLs, the offering it was named under.
pub(crate) struct PlanRef {
    pub plan: Uuid,
    pub offering: Option<Uuid>,
}

/// Parses `/api/marketplace-public-offerings/<o>/plans/<p>/` or `/api/marketplace-plans/<p>/`.
pub(crate) fn parse_plan_url(text: &str) -> Result<PlanRef, &'static str> {
    if let Ok(plan) = Uuid::parse_str(text) {
        return Ok(PlanRef {
            plan,
            offering: None,
        });
    }
    let path = match url::Url::parse(text) {
        Ok(url) => url.path().to_string(),
        Err(_) if text.starts_with('/') => text.split('?').next().unwrap_or("").to_string(),
        Err(_) => return Err("Invalid hyperlink - No URL match."),
    };
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", "marketplace-plans", plan] => Uuid::parse_str(plan)
            .map(|plan| PlanRef {
                plan,
                offering: None,
            })
            .map_err(|_| INVALID_OBJECT),
        [
            "api",
            "marketplace-public-offerings",
            offering,
            "plans",
            plan,
        ] => match (Uuid::parse_str(offering), Uuid::parse_str(plan)) {
            (Ok(offering), Ok(plan)) => Ok(PlanRef {
                plan,
                offering: Some(offering),
            }),
            _ => Err(INVALID_OBJECT),
        },
        ["api", ..] => Err("Invalid hyperlink - Incorrect URL match."),
        _ => Err("Invalid hyperlink - No URL match."),
    }
}

/// The plan of the order, if any: it must belong to the offering, be active and have room.
pub(crate) async fn check_plan<'a>(
    state: &ApiState,
    record: &'a OfferingRecord,
    plan: Option<&PlanRef>,
) -> Result<Option<&'a Plan>, ApiError> {
    let Some(plan_ref) = plan else {
        return Ok(None);
    };
    let unavailable = || ApiError::field("plan", PLAN_NOT_AVAILABLE);
    if plan_ref.offering.is_some_and(|o| o != record.uuid) {
        return Err(unavailable());
    }
    let plan = record
        .offering
        .plan(plan_ref.plan)
        .filter(|p| !p.archived)
        .ok_or_else(unavailable)?;
    if let Some(max_amount) = plan.max_amount {
        let used: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM projection.resources \
             WHERE plan_uuid = $1 AND state <> 'Terminated'",
        )
        .bind(plan.uuid)
        .fetch_one(&state.ledger.pool)
        .await?;
        if used >= max_amount {
            return Err(unavailable());
        }
    }
    Ok(Some(plan))
}

/// Limits are given only for limit-billed components, within their bounds.
pub(crate) fn check_limits(
    offering: &Offering,
    limits: &BTreeMap<String, i64>,
) -> Result<(), ApiError> {
    let invalid: Vec<&str> = limits
        .keys()
        .filter(|key| {
            offering
                .component_by_type(key)
                .is_none_or(|c| c.billing_type != BillingType::Limit)
        })
        .map(String::as_str)
        .collect();
    if !invalid.is_empty() {
        return Err(ApiError::field(
            "limits",
            format!("Invalid types: {}", invalid.join(", ")),
        ));
    }
    for (key, &value) in limits {
        let Some(component) = offering.component_by_type(key) else {
            continue;
        };
        if let Some(min) = component.min_value
            && value < min
        {
            return Err(ApiError::field(
                "limits",
                format!("The limit {value} value cannot be less than {min}."),
            ));
        }
        if let Some(max) = component.max_value
            && value > max
        {
            return Err(ApiError::field(
                "limits",
                format!("The limit {value} value cannot be more than {max}."),
            ));
        }
        if let Some(amount) = component.limit_amount
            && value > amount
        {
            return Err(ApiError::field(
                "limits",
                format!("The limit {value} value cannot be more than {amount}."),
            ));
        }
    }
    Ok(())
}

/// `Plan.get_estimate`: the plan's unit price plus, for each limit-billed component, its
/// price in the plan times the limit over the component's factor.
pub(crate) fn plan_estimate(
    offering: &Offering,
    plan: &Plan,
    limits: &BTreeMap<String, i64>,
) -> Decimal {
    let kind = offering.kind();
    let usage: Decimal = offering
        .components
        .iter()
        .filter(|c| c.billing_type == BillingType::Limit)
        .map(|c| {
            let price = plan
                .prices
                .get(&c.component_type)
                .copied()
                .unwrap_or_default();
            let amount = Decimal::from(limits.get(&c.component_type).copied().unwrap_or(0));
            let factor = kind
                .and_then(|k| k.builtin(&c.component_type))
                .map(|b| b.factor)
                .filter(|f| *f > 0)
                .unwrap_or(1);
            price * amount / Decimal::from(factor)
        })
        .sum();
    plan.unit_price + usage
}

/// Cost, fixed price and activation price of an order (`Order.init_cost`): the estimate
/// plus the plan's init price (`one` components) for Create, its switch price (`few`) for
/// Update.
pub(crate) fn prices(
    offering: &Offering,
    plan: Option<&Plan>,
    limits: &BTreeMap<String, i64>,
    order_type: OrderType,
) -> (Option<Decimal>, Decimal, Decimal) {
    let Some(plan) = plan else {
        return (None, Decimal::ZERO, Decimal::ZERO);
    };
    let estimate = plan_estimate(offering, plan, limits);
    match order_type {
        OrderType::Create => {
            let init = offering.plan_price_of(plan, BillingType::One);
            let fixed = offering.plan_price_of(plan, BillingType::Fixed);
            (Some(estimate + init), fixed, init)
        }
        OrderType::Update => {
            let switch = offering.plan_price_of(plan, BillingType::Few);
            (Some(estimate + switch), Decimal::ZERO, switch)
        }
        OrderType::Terminate | OrderType::Restore => (Some(estimate), Decimal::ZERO, Decimal::ZERO),
    }
}

pub(crate) fn option_is_true(options: &Map<String, Value>, key: &str) -> bool {
    options.get(key).and_then(Value::as_bool) == Some(true)
}

/// `order_should_not_be_reviewed_by_consumer`.
async fn skips_consumer_review(
    state: &ApiState,
    caller: &Caller,
    record: &OfferingRecord,
    spec: &OrderSpec,
) -> Result<bool, ApiError> {
    // A new order has no purchase order attached yet: where the offering asks for one, the
    // consumer reviews it once it is there (termination orders excepted, as at approval).
    if option_is_true(
        &record.offering.settings.plugin_options,
        "require_purchase_order_upload",
    ) && spec.order_type != OrderType::Terminate
    {
        return Ok(false);
    }
    if caller.is_staff {
        return Ok(true);
    }
    let details = &record.offering.details;
    let scopes = [
        Scope::Project(spec.project_uuid),
        Scope::Customer(spec.customer_uuid),
    ];
    if !details.billable
        && !details.shared
        && has_permission(state, caller, "ORDER.APPROVE_PRIVATE", &scopes).await?
    {
        return Ok(true);
    }
    if details.shared
        && record.offering.customer_uuid == spec.customer_uuid
        && option_is_true(
            &record.offering.settings.plugin_options,
            "auto_approve_in_service_provider_projects",
        )
    {
        return Ok(true);
    }
    if spec.order_type == OrderType::Terminate
        && roles_in(
            state,
            caller.uuid,
            &[Scope::Customer(record.offering.customer_uuid)],
        )
        .await?
        .contains("CUSTOMER.OWNER")
    {
        return Ok(true);
    }
    has_permission(state, caller, "ORDER.APPROVE", &scopes).await
}

/// `order_should_not_be_reviewed_by_provider`.
async fn skips_provider_review(
    state: &ApiState,
    caller: &Caller,
    record: &OfferingRecord,
) -> Result<bool, ApiError> {
    let options = &record.offering.settings.plugin_options;
    let review = record
        .offering
        .kind()
        .map(|k| k.provider_review)
        .unwrap_or(ProviderReview::Never);
    Ok(match review {
        ProviderReview::Always => false,
        ProviderReview::Never => true,
        ProviderReview::ScriptOption => options
            .get("auto_approve_marketplace_script")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        ProviderReview::RemoteOption => {
            option_is_true(options, "auto_approve_remote_orders")
                || roles_in(
                    state,
                    caller.uuid,
                    &[Scope::Customer(record.offering.customer_uuid)],
                )
                .await?
                .contains("CUSTOMER.OWNER")
        }
    })
}

/// Places the order in the state auto-approval leads to, together with `resource` (the
/// resource's creation, or the start of its change) in one transaction, and, for Basic
/// and Support offerings that need no review, completes it and settles its resource at
/// once. Returns the state the order was placed in.
pub(crate) async fn place(
    state: &ApiState,
    caller: &Caller,
    record: &OfferingRecord,
    spec: OrderSpec,
    resource: ResourceCommand,
    project_start_date: Option<NaiveDate>,
    ctx: &CommandContext,
) -> Result<OrderState, ApiError> {
    let today = ctx.now.date_naive();
    let skip_consumer = skips_consumer_review(state, caller, record, &spec).await?;
    let next = if !skip_consumer {
        OrderState::PendingConsumer
    } else if project_start_date.is_some_and(|start| start > today) {
        OrderState::PendingProject
    } else if skips_provider_review(state, caller, record).await? {
        OrderState::Executing
    } else {
        OrderState::PendingProvider
    };
    let order_id = hex(spec.uuid);
    let resource_id = hex(spec.resource_uuid);
    let settle = spec.settlement(OrderOutcome::Done, ctx.now);
    let place = |_: &Resource, _: &[_]| {
        Some(OrderCommand::Place {
            spec: Box::new(spec.clone()),
            consumer_reviewer: skip_consumer.then_some(caller.uuid),
            next,
            at: ctx.now,
        })
    };
    state
        .ledger
        .execute_pair::<Resource, Order>((&resource_id, resource), &order_id, place, ctx)
        .await?;

    // Basic and Support orders are processed synchronously.
    if next == OrderState::Executing && record.offering.kind().is_some_and(|k| k.completes_at_once)
    {
        state
            .ledger
            .execute_pair::<Order, Resource>(
                (&order_id, OrderCommand::SetStateDone { at: ctx.now }),
                &resource_id,
                |_, _| Some(settle.clone()),
                ctx,
            )
            .await?;
    }
    Ok(next)
}
