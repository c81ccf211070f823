//! `POST /api/marketplace-orders/`: placing a Create order as Waldur's `OrderCreateSerializer`
//! does it. The body is checked field by field, then against the offering (available, plan,
//! limits, terms of service) and the consumer (organization available, project not
//! expired, offering allowed there). The resource is created at once, the order placed in
//! the state auto-approval leads to, and Basic and Support orders that need no review are
//! completed on the spot like Waldur's synchronous processors do.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::api::access::{Scope, has_permission, roles_in};
use crate::api::auth::Caller;
use crate::api::body::{Body, python_type_name};
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::{Links, hex};
use crate::api::offerings::{OfferingRecord, fetch_records};
use crate::api::{ApiState, created};
use crate::domain::offering::model::{BillingType, OfferingState, Plan};
use crate::domain::offering::types::ProviderReview;
use crate::domain::order::{Order, OrderCommand, OrderSpec, OrderState, OrderType};
use crate::domain::resource::{OrderOutcome, Resource, ResourceCommand, ResourceSpec};

use super::{JOINS, OrderRow, SELECT, render};

const INVALID_OBJECT: &str = "Invalid hyperlink - Object does not exist.";
const PLAN_NOT_AVAILABLE: &str = "This plan is not available for selected offering.";

pub fn router() -> Router<Arc<ApiState>> {
    Router::new().route("/api/marketplace-orders/", post(create))
}

/// A command refused by the order or resource aggregate: the checks above rule that out,
/// so it is an internal failure.
fn command_failed<E: std::error::Error>(err: cqrs_es::AggregateError<E>) -> ApiError {
    ApiError::internal(anyhow::anyhow!("placing the order: {err}"))
}

/// The project an order is placed in, with its organization.
#[derive(sqlx::FromRow)]
struct ProjectRow {
    name: String,
    customer_uuid: Uuid,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    customer_name: String,
    customer_blocked: bool,
    customer_archived: bool,
}

/// A plan reference: the plan and, for public plan URLs, the offering it was named under.
struct PlanRef {
    plan: Uuid,
    offering: Option<Uuid>,
}

/// Parses `/api/marketplace-public-offerings/<o>/plans/<p>/` or `/api/marketplace-plans/<p>/`.
fn parse_plan_url(text: &str) -> Result<PlanRef, &'static str> {
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

/// The fields of the body, once every one of them parsed.
struct Input {
    project: Uuid,
    offering: OfferingRecord,
    plan: Option<PlanRef>,
    attributes: Map<String, Value>,
    limits: BTreeMap<String, i64>,
    accepting_terms_of_service: bool,
    callback_url: Option<String>,
    request_comment: String,
    start_date: Option<NaiveDate>,
}

async fn read_input(
    state: &ApiState,
    caller: &Caller,
    form: &mut Form,
) -> Result<Option<Input>, ApiError> {
    let project = form.hyperlink("project", "projects", true);
    if let Some(uuid) = project
        && !crate::api::projects::is_visible(state, caller, uuid).await?
    {
        form.error("project", INVALID_OBJECT);
    }
    let offering_uuid = form.hyperlink("offering", "marketplace-public-offerings", true);
    let mut offering = None;
    if let Some(uuid) = offering_uuid {
        offering = fetch_records(state, |qb| {
            qb.push("o.uuid = ");
            qb.push_bind(uuid);
        })
        .await?
        .into_iter()
        .find(|r| !r.offering.deleted);
        if offering.is_none() {
            form.error("offering", INVALID_OBJECT);
        }
    }
    let plan = match form.raw("plan").cloned() {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => match parse_plan_url(text.trim()) {
            Ok(plan) => Some(plan),
            Err(message) => {
                form.error("plan", message);
                None
            }
        },
        Some(other) => {
            form.error(
                "plan",
                format!(
                    "Incorrect type. Expected URL string, received {}.",
                    python_type_name(&other)
                ),
            );
            None
        }
    };
    let attributes = match form.raw("attributes").cloned() {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            form.error(
                "attributes",
                format!(
                    "Expected a dictionary of items but got type \"{}\".",
                    python_type_name(&other)
                ),
            );
            Map::new()
        }
    };
    let mut limits = BTreeMap::new();
    match form.raw("limits").cloned() {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            let mut errors = Map::new();
            for (key, value) in map {
                let parsed = match &value {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                match parsed {
                    Some(n) if n < 0 => {
                        errors.insert(
                            key,
                            json!(["Ensure this value is greater than or equal to 0."]),
                        );
                    }
                    Some(n) => {
                        limits.insert(key, n);
                    }
                    None => {
                        errors.insert(key, json!(["A valid integer is required."]));
                    }
                }
            }
            if !errors.is_empty() {
                form.error_value("limits", Value::Object(errors));
            }
        }
        Some(other) => form.error(
            "limits",
            format!(
                "Expected a dictionary of items but got type \"{}\".",
                python_type_name(&other)
            ),
        ),
    }
    let accepting_terms_of_service = form.bool("accepting_terms_of_service").unwrap_or(false);
    let callback_url = form.nullable_str("callback_url", 200).flatten();
    if let Some(url) = &callback_url
        && !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        form.error("callback_url", "Enter a valid URL.");
    }
    let request_comment = form
        .nullable_str("request_comment", 255)
        .flatten()
        .unwrap_or_default();
    let start_date = form.nullable_date("start_date").flatten();
    if let Some(order_type) = form.optional_str("type", 30)
        && order_type != OrderType::Create.as_str()
    {
        form.error("type", format!("\"{order_type}\" is not a valid choice."));
    }
    if form.has_error("project") || form.has_error("offering") {
        return Ok(None);
    }
    match (project, offering) {
        (Some(project), Some(offering)) => Ok(Some(Input {
            project,
            offering,
            plan,
            attributes,
            limits,
            accepting_terms_of_service,
            callback_url,
            request_comment,
            start_date,
        })),
        _ => Ok(None),
    }
}

/// The plan of the order, if any: it must belong to the offering, be active and have room.
async fn check_plan<'a>(
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
pub(super) fn check_limits(
    record: &OfferingRecord,
    limits: &BTreeMap<String, i64>,
) -> Result<(), ApiError> {
    let offering = &record.offering;
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

/// Cost, fixed price and activation price of a Create order (`Plan.get_estimate` plus the
/// plan's init price).
pub(super) fn prices(
    record: &OfferingRecord,
    plan: Option<&Plan>,
    limits: &BTreeMap<String, i64>,
) -> (Option<Decimal>, Decimal, Decimal) {
    let Some(plan) = plan else {
        return (None, Decimal::ZERO, Decimal::ZERO);
    };
    let offering = &record.offering;
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
    let init = offering.plan_price_of(plan, BillingType::One);
    let fixed = offering.plan_price_of(plan, BillingType::Fixed);
    (Some(plan.unit_price + usage + init), fixed, init)
}

fn option_is_true(options: &Map<String, Value>, key: &str) -> bool {
    options.get(key).and_then(Value::as_bool) == Some(true)
}

/// `order_should_not_be_reviewed_by_consumer` for a Create order.
async fn skips_consumer_review(
    state: &ApiState,
    caller: &Caller,
    record: &OfferingRecord,
    project: Uuid,
    customer: Uuid,
) -> Result<bool, ApiError> {
    if caller.is_staff {
        return Ok(true);
    }
    let details = &record.offering.details;
    let scopes = [Scope::Project(project), Scope::Customer(customer)];
    if !details.billable
        && !details.shared
        && has_permission(state, caller, "ORDER.APPROVE_PRIVATE", &scopes).await?
    {
        return Ok(true);
    }
    if details.shared
        && record.offering.customer_uuid == customer
        && option_is_true(
            &record.offering.settings.plugin_options,
            "auto_approve_in_service_provider_projects",
        )
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

pub async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let ctx = caller.ctx();
    let today = ctx.now.date_naive();
    let mut form = Form::new(body);
    let input = read_input(&state, &caller, &mut form).await?;
    form.finish()?;
    let input = input.ok_or_else(|| ApiError::internal(anyhow::anyhow!("validated input")))?;
    let record = &input.offering;
    let offering = &record.offering;

    // The offering side.
    if offering.state != OfferingState::Active {
        return Err(ApiError::field("offering", "Offering is not available."));
    }
    let plan = check_plan(&state, record, input.plan.as_ref()).await?;
    check_limits(record, &input.limits)?;
    if offering.details.shared
        && !offering.details.terms_of_service.is_empty()
        && !input.accepting_terms_of_service
    {
        let mut errors = crate::api::error::FieldErrors::new();
        errors.insert(
            "non_field_errors".into(),
            vec![format!(
                "Terms of service for offering '{}' have not been accepted.",
                offering.details.name
            )],
        );
        return Err(ApiError::Fields(errors));
    }

    // The consumer side.
    let project: ProjectRow = sqlx::query_as(
        "SELECT p.name, p.customer_uuid, p.start_date, p.end_date, c.name AS customer_name, \
         c.blocked AS customer_blocked, c.archived AS customer_archived \
         FROM projection.projects p JOIN projection.customers c ON c.uuid = p.customer_uuid \
         WHERE p.uuid = $1",
    )
    .bind(input.project)
    .fetch_optional(&state.ledger.pool)
    .await?
    .ok_or_else(|| ApiError::field("project", INVALID_OBJECT))?;
    if project.customer_blocked {
        return Err(ApiError::invalid("Blocked organization is not available."));
    }
    if project.customer_archived {
        return Err(ApiError::invalid("Archived organization is not available."));
    }
    if project.end_date.is_some_and(|end| end <= today) {
        return Err(ApiError::invalid(format!(
            "Project '{}' is expired.",
            project.name
        )));
    }
    if !offering.details.shared
        && offering.customer_uuid != project.customer_uuid
        && offering.project_uuid != Some(input.project)
    {
        return Err(ApiError::invalid(format!(
            "Offering \"{}\" is not allowed in organization \"{}\".",
            offering.details.name, project.customer_name
        )));
    }

    // Where auto-approval leaves the order.
    let skip_consumer = skips_consumer_review(
        &state,
        &caller,
        record,
        input.project,
        project.customer_uuid,
    )
    .await?;
    let next = if !skip_consumer {
        OrderState::PendingConsumer
    } else if project.start_date.is_some_and(|start| start > today) {
        OrderState::PendingProject
    } else if skips_provider_review(&state, &caller, record).await? {
        OrderState::Executing
    } else {
        OrderState::PendingProvider
    };
    let (cost, fixed_price, activation_price) = prices(record, plan, &input.limits);

    // The resource, then the order.
    let name = input
        .attributes
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let slug = crate::api::slug::base(&name);
    let resource_uuid = Uuid::new_v4();
    let resource_spec = ResourceSpec {
        uuid: resource_uuid,
        offering_uuid: record.uuid,
        project_uuid: input.project,
        customer_uuid: project.customer_uuid,
        plan_uuid: plan.map(|p| p.uuid),
        name,
        limits: input.limits.clone(),
        attributes: input.attributes.clone(),
        end_date: None,
        end_date_requested_by: None,
        slug: slug.clone(),
    };
    let resource_id = hex(resource_uuid);
    state
        .ledger
        .execute::<Resource>(
            &resource_id,
            ResourceCommand::Create {
                spec: Box::new(resource_spec),
                backend_id: String::new(),
                running: false,
                at: ctx.now,
            },
            &ctx,
        )
        .await
        .map_err(command_failed)?;
    let order_uuid = Uuid::new_v4();
    let spec = OrderSpec {
        uuid: order_uuid,
        order_type: OrderType::Create,
        resource_uuid,
        offering_uuid: record.uuid,
        project_uuid: input.project,
        customer_uuid: project.customer_uuid,
        provider_customer_uuid: offering.customer_uuid,
        plan_uuid: plan.map(|p| p.uuid),
        old_plan_uuid: None,
        limits: input.limits.clone(),
        old_limits: BTreeMap::new(),
        attributes: input.attributes,
        cost,
        fixed_price,
        activation_price,
        created_by: caller.uuid,
        callback_url: input.callback_url,
        request_comment: input.request_comment,
        start_date: input.start_date,
        slug,
    };
    let order_id = hex(order_uuid);
    state
        .ledger
        .execute::<Order>(
            &order_id,
            OrderCommand::Place {
                spec: Box::new(spec),
                consumer_reviewer: skip_consumer.then_some(caller.uuid),
                next,
                at: ctx.now,
            },
            &ctx,
        )
        .await
        .map_err(command_failed)?;

    // Basic and Support orders are processed synchronously.
    if next == OrderState::Executing
        && matches!(
            offering.offering_type.as_str(),
            "Marketplace.Basic" | "Support.OfferingTemplate"
        )
    {
        state
            .ledger
            .execute::<Order>(&order_id, OrderCommand::SetStateDone { at: ctx.now }, &ctx)
            .await
            .map_err(command_failed)?;
        state
            .ledger
            .execute::<Resource>(
                &resource_id,
                ResourceCommand::SettleOrder {
                    order_type: OrderType::Create,
                    outcome: OrderOutcome::Done,
                    plan_uuid: plan.map(|p| p.uuid),
                    limits: input.limits,
                    at: ctx.now,
                },
                &ctx,
            )
            .await
            .map_err(command_failed)?;
    }

    let mut qb = QueryBuilder::new(format!(
        "SELECT {SELECT} FROM projection.orders o {JOINS} WHERE o.uuid = "
    ));
    qb.push_bind(order_uuid);
    let row: OrderRow = qb
        .build_query_as()
        .fetch_optional(&state.ledger.pool)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the new order is not projected")))?;
    let mut body = render(&row, &links, &caller)?;
    let url = links.object("marketplace-orders", order_uuid);
    if let Some(object) = body.as_object_mut() {
        object.insert("url".into(), json!(url));
        object.insert(
            "created_by".into(),
            json!(links.object("users", caller.uuid)),
        );
        object.insert(
            "project".into(),
            json!(links.object("projects", input.project)),
        );
        // The create serializer links the consumer reviewer and names it separately.
        if let Some(reviewer) = object.remove("consumer_reviewed_by") {
            object.insert("consumer_reviewed_by_username".into(), reviewer);
            object.insert(
                "consumer_reviewed_by".into(),
                json!(links.object("users", caller.uuid)),
            );
        }
    }
    Ok(created(url, body))
}
