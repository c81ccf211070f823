//! `POST /api/marketplace-orders/`: placing a Create order as Waldur's `OrderCreateSerializer`
//! does it. The body is checked field by field, then against the offering (available, plan,
//! limits, terms of service) and the consumer (organization available, project not
//! expired, offering allowed there). The resource is created at once (with the end date the
//! offering's termination options give it), then the order is placed through
//! [`super::placement`]: in the state auto-approval leads to, and completed on the spot for
//! Basic and Support orders that need no review, like Waldur's synchronous processors.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::auth::Caller;
use crate::api::body::{Body, expected_dict, python_type_name};
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::Links;
use crate::api::offerings::{OfferingRecord, find_record};
use crate::api::{ApiState, created};
use crate::domain::offering::Offering;
use crate::domain::offering::model::OfferingState;
use crate::domain::offering::pricing::OrderPrices;
use crate::domain::order::{OrderSpec, OrderType};
use crate::domain::resource::{ResourceCommand, ResourceSpec};

use super::placement::{
    INVALID_OBJECT, PlanRef, check_limits, check_plan, parse_limits, parse_plan_url, place, prices,
};
use super::render;

pub fn router() -> Router<Arc<ApiState>> {
    Router::new().route("/api/marketplace-orders/", post(create))
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
        && !crate::read::projects::is_visible(&state.ledger.pool, &caller.viewer(), uuid).await?
    {
        form.error("project", INVALID_OBJECT);
    }
    let offering_uuid = form.hyperlink("offering", "marketplace-public-offerings", true);
    let mut offering = None;
    if let Some(uuid) = offering_uuid {
        offering = find_record(state, uuid)
            .await?
            .filter(|r| !r.offering.deleted);
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
            form.error("attributes", expected_dict(&other));
            Map::new()
        }
    };
    let mut limits = BTreeMap::new();
    match form.raw("limits").cloned() {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => match parse_limits(&map) {
            Ok(parsed) => limits = parsed,
            Err(errors) => form.error_value("limits", errors),
        },
        Some(other) => form.error("limits", expected_dict(&other)),
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
    check_limits(offering, &input.limits)?;
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
    let project = crate::read::projects::standing(&state.ledger.pool, input.project)
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

    let OrderPrices {
        cost,
        fixed_price,
        activation_price,
    } = prices(offering, plan, &input.limits, OrderType::Create)?;
    let end_date = end_date(offering, &input.attributes, today)?;

    // The resource, then the order.
    let name = input
        .attributes
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let slug = crate::read::slugs::base(&name);
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
        end_date: end_date.map(|(date, _)| date),
        end_date_requested_by: end_date.and_then(|(_, requested)| requested.then_some(caller.uuid)),
        slug: slug.clone(),
    };
    let create_resource = ResourceCommand::Create {
        spec: Box::new(resource_spec),
        backend_id: String::new(),
        running: false,
        at: ctx.now,
    };
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
    place(
        &state,
        &caller,
        record,
        spec,
        create_resource,
        project.start_date,
        &ctx,
    )
    .await?;

    let row = crate::read::orders::find(&state.ledger.pool, order_uuid)
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

/// The resource's end date (`attributes.end_date`) and whether the user asked for it, as
/// the offering's termination date options allow: required dates default to today plus
/// `default_resource_termination_offset_in_days`; a date beyond
/// `max_resource_termination_offset_in_days` or `latest_date_for_resource_termination` is
/// refused.
fn end_date(
    offering: &Offering,
    attributes: &Map<String, Value>,
    today: NaiveDate,
) -> Result<Option<(NaiveDate, bool)>, ApiError> {
    let options = &offering.settings.plugin_options;
    let requested = match attributes.get("end_date") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => {
            let date = text
                .trim()
                .get(..10)
                .and_then(|d| d.parse::<NaiveDate>().ok());
            Some(date.ok_or_else(|| {
                ApiError::field(
                    "end_date",
                    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
                )
            })?)
        }
        Some(_) => {
            return Err(ApiError::field(
                "end_date",
                "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
            ));
        }
    };
    let days = |key: &str| options.get(key).and_then(Value::as_i64);
    let Some(date) = requested else {
        if super::placement::option_is_true(options, "is_resource_termination_date_required")
            && let Some(offset) = days("default_resource_termination_offset_in_days")
        {
            return Ok(Some((
                today + chrono::Days::new(offset.max(0) as u64),
                false,
            )));
        }
        return Ok(None);
    };
    if let Some(max) = days("max_resource_termination_offset_in_days")
        && date > today + chrono::Days::new(max.max(0) as u64)
    {
        return Err(ApiError::field(
            "end_date",
            format!("Maximum resource termination offset is {max} days."),
        ));
    }
    if let Some(latest) = options
        .get("latest_date_for_resource_termination")
        .and_then(Value::as_str)
        .and_then(|d| d.get(..10)?.parse::<NaiveDate>().ok())
        && date > latest
    {
        return Err(ApiError::field(
            "end_date",
            format!("Maximum resource termination date is {latest}."),
        ));
    }
    Ok(Some((date, true)))
}
