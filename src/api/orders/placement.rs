//! What every order placement shares, whichever endpoint places it (`POST
//! /api/marketplace-orders/` for Create orders, the resource actions `update_limits`,
//! `switch_plan` and `terminate` for Update and Terminate orders): plan and limit checks,
//! cost (`Plan.get_estimate` plus the init or switch price), auto-approval (Waldur's
//! `notify_approvers_when_order_is_created`) and the synchronous processing of Basic and
//! Support orders that need no review.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::access::{has_permission, roles_in};
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::links::hex;
use crate::api::number;
use crate::api::offerings::OfferingRecord;
use crate::domain::offering::Offering;
use crate::domain::offering::model::{BillingType, Plan};
use crate::domain::offering::pricing::{
    COST_WHOLE_DIGITS, CostOverflow, OrderPrices, order_prices,
};
use crate::domain::order::{Order, OrderCommand, OrderSpec, OrderState, OrderType};
use crate::domain::resource::{Resource, ResourceCommand};
use crate::read::visibility::Scope;
use crate::store::metadata::CommandContext;

pub(crate) const INVALID_OBJECT: &str = "Invalid hyperlink - Object does not exist.";
pub(crate) const PLAN_NOT_AVAILABLE: &str = "This plan is not available for selected offering.";

/// A command refused by the order or resource aggregate: the checks before it rule that
/// out, so a refusal is internal; a write conflict or a refused event is answered as such.
pub(crate) fn command_failed<E: std::error::Error>(err: cqrs_es::AggregateError<E>) -> ApiError {
    crate::api::error::store_failure(err)
}

/// Requested limits: component type → non-negative integer (numbers or numeric strings),
/// within [`number::LIMIT`]. Fails with the per-key errors DRF gives, as the value of the
/// `limits` field.
pub(crate) fn parse_limits(raw: &Map<String, Value>) -> Result<BTreeMap<String, i64>, Value> {
    let mut limits = BTreeMap::new();
    let mut errors = Map::new();
    for (key, value) in raw {
        match number::LIMIT.parse(value) {
            Ok(n) => {
                limits.insert(key.clone(), n);
            }
            Err(err) => {
                errors.insert(key.clone(), json!([err.to_string()]));
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
        let used = crate::read::resources::count_on_plan(&state.ledger.pool, plan.uuid).await?;
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

/// The 400 for an order whose cost cannot be represented, on `field` (the part of the
/// request that put the cost out of range).
pub(crate) fn cost_overflow(field: &str) -> ApiError {
    ApiError::field(
        field,
        format!(
            "Ensure that the order cost has no more than {COST_WHOLE_DIGITS} digits before the \
             decimal point."
        ),
    )
}

/// Prices an order, answering 400 on the field to blame when its cost cannot be
/// represented: the plan for the plan's own prices, the limits for the rest.
pub(crate) fn prices(
    offering: &Offering,
    plan: Option<&Plan>,
    limits: &BTreeMap<String, i64>,
    order_type: OrderType,
) -> Result<OrderPrices, ApiError> {
    order_prices(offering, plan, limits, order_type).map_err(|err| {
        cost_overflow(match err {
            CostOverflow::Plan => "plan",
            CostOverflow::Limits => "limits",
        })
    })
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

/// Whether the provider reviews the order: the offering decides, given whether the
/// caller (who places and approves it) owns the provider's organization.
async fn provider_reviews(
    state: &ApiState,
    caller: &Caller,
    record: &OfferingRecord,
) -> Result<bool, ApiError> {
    let owner = record.offering.provider_review_depends_on_approver()
        && roles_in(
            state,
            caller.uuid,
            &[Scope::Customer(record.offering.customer_uuid)],
        )
        .await?
        .contains("CUSTOMER.OWNER");
    Ok(record.offering.provider_reviews(owner))
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
    } else if provider_reviews(state, caller, record).await? {
        OrderState::PendingProvider
    } else {
        OrderState::Executing
    };
    let order_id = hex(spec.uuid);
    let resource_id = hex(spec.resource_uuid);
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

    if next == OrderState::Executing {
        crate::app::orders::complete_if_synchronous(&state.ledger, &record.offering, &spec, ctx)
            .await?;
    }
    Ok(next)
}
