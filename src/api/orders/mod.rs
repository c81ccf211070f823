//! `/api/marketplace-orders/`: orders as consumers, providers and the site agent read them.
//! Each answer joins the order's read model with its offering, plan, resource, project,
//! customers and the users who created and reviewed it.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{FromRow, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{
    OrderKey, Paging, QueryParams, order_by, page_response, push_one_of, select_fields,
};
use crate::api::offerings::{PlanSide, decimal_string, number, plan_url};
use crate::domain::offering::Offering;
use crate::domain::order::{Order, OrderState, OrderType};
use crate::domain::resource::Resource;

mod actions;
mod attachment;
mod create;
mod filters;
pub(crate) mod placement;
mod update;

const COLLECTION: &str = "/api/marketplace-orders/";

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route(COLLECTION, get(list))
        .route("/api/marketplace-orders/{uuid}/", get(retrieve))
        .merge(create::router())
        .merge(actions::router())
        .merge(attachment::router())
        .merge(update::router())
}

/// An order with everything its answer shows.
#[derive(FromRow)]
struct OrderRow {
    order_doc: Value,
    offering_doc: Option<Value>,
    resource_doc: Option<Value>,
    project_name: Option<String>,
    project_slug: Option<String>,
    project_description: Option<String>,
    customer_name: Option<String>,
    customer_slug: Option<String>,
    provider_name: Option<String>,
    category_title: Option<String>,
    created_by_username: Option<String>,
    created_by_full_name: Option<String>,
    consumer_reviewer_username: Option<String>,
    consumer_reviewer_full_name: Option<String>,
    provider_reviewer_username: Option<String>,
    provider_reviewer_full_name: Option<String>,
}

const SELECT: &str = "o.document AS order_doc, f.document AS offering_doc, \
    r.document AS resource_doc, p.name AS project_name, p.slug AS project_slug, \
    p.description AS project_description, c.name AS customer_name, c.slug AS customer_slug, \
    pc.name AS provider_name, k.title AS category_title, \
    cb.username AS created_by_username, cb.full_name AS created_by_full_name, \
    crv.username AS consumer_reviewer_username, crv.full_name AS consumer_reviewer_full_name, \
    prv.username AS provider_reviewer_username, prv.full_name AS provider_reviewer_full_name";

const JOINS: &str = "LEFT JOIN projection.offerings f ON f.uuid = o.offering_uuid \
    LEFT JOIN projection.resources r ON r.uuid = o.resource_uuid \
    LEFT JOIN projection.projects p ON p.uuid = o.project_uuid \
    LEFT JOIN projection.customers c ON c.uuid = o.customer_uuid \
    LEFT JOIN projection.customers pc ON pc.uuid = o.provider_customer_uuid \
    LEFT JOIN projection.categories k ON k.uuid = f.category_uuid \
    LEFT JOIN projection.users cb ON cb.uuid = o.created_by \
    LEFT JOIN projection.users crv ON crv.uuid = o.consumer_reviewed_by \
    LEFT JOIN projection.users prv ON prv.uuid = o.provider_reviewed_by";

const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "created",
        sql: "o.created",
    },
    OrderKey {
        name: "consumer_reviewed_at",
        sql: "o.consumer_reviewed_at",
    },
    OrderKey {
        name: "cost",
        sql: "o.cost",
    },
    OrderKey {
        name: "state",
        sql: "o.state",
    },
];

/// Staff and support see every order; others those of projects and customers they work in,
/// and those placed for offerings of customers they work for.
fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, caller: &Caller) {
    if caller.sees_all() {
        return;
    }
    // `= ANY(ARRAY(...))` reads the caller's scopes once and lets each arm use its index
    // (`IN (subquery)` under OR would filter every order row instead).
    let roles = |qb: &mut QueryBuilder<'_, Postgres>, scope: &str| {
        qb.push(format!(
            " = ANY(ARRAY(SELECT r.scope_uuid FROM projection.user_roles r \
             WHERE r.scope_type = '{scope}' \
             AND (r.expiration_time IS NULL OR r.expiration_time > now()) AND r.user_uuid = "
        ));
        qb.push_bind(caller.uuid);
        qb.push("))");
    };
    qb.push(" AND (o.project_uuid");
    roles(qb, "project");
    qb.push(" OR o.customer_uuid");
    roles(qb, "customer");
    qb.push(" OR o.provider_customer_uuid");
    roles(qb, "customer");
    qb.push(")");
}

fn parse_list<T>(
    params: &QueryParams,
    key: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, ApiError> {
    params
        .all(key)
        .into_iter()
        .map(|value| {
            parse(value).ok_or_else(|| {
                ApiError::field(
                    key,
                    format!("Select a valid choice. {value} is not one of the available choices."),
                )
            })
        })
        .collect()
}

/// The list filters: `state` and `type` are repeatable; uuids that do not parse match
/// nothing.
fn push_filters(
    qb: &mut QueryBuilder<'_, Postgres>,
    params: &QueryParams,
    states: &[OrderState],
    types: &[OrderType],
) {
    let names = |names: Vec<&str>| names.into_iter().map(str::to_string).collect();
    push_one_of(
        qb,
        "o.state",
        names(states.iter().map(|s| s.as_str()).collect()),
    );
    push_one_of(
        qb,
        "o.type",
        names(types.iter().map(|t| t.as_str()).collect()),
    );
    // `offering_uuid` is an "in" filter in newest Waldur: comma-separated uuids.
    if let Some(raw) = params.get("offering_uuid") {
        let uuids: Vec<Uuid> = raw
            .split(',')
            .map(|v| Uuid::parse_str(v.trim()).unwrap_or(Uuid::nil()))
            .collect();
        push_one_of(qb, "o.offering_uuid", uuids);
    }
    for (param, column) in [
        ("project_uuid", "o.project_uuid"),
        ("customer_uuid", "o.customer_uuid"),
        ("provider_uuid", "o.provider_customer_uuid"),
        ("resource_uuid", "o.resource_uuid"),
    ] {
        crate::api::list::push_uuid(qb, params, param, column);
    }
    if let Some(url) = params.get("offering") {
        // Waldur links the provider offering here; orders show the public one: take either.
        let uuid = crate::api::form::parse_hyperlink(url, "marketplace-public-offerings")
            .or_else(|_| crate::api::form::parse_hyperlink(url, "marketplace-provider-offerings"))
            .unwrap_or(Uuid::nil());
        qb.push(" AND o.offering_uuid = ");
        qb.push_bind(uuid);
    }
    let offering_types: Vec<String> = params
        .all("offering_type")
        .into_iter()
        .map(str::to_string)
        .collect();
    if !offering_types.is_empty() {
        qb.push(" AND o.offering_uuid IN (SELECT uuid FROM projection.offerings WHERE type = ANY(");
        qb.push_bind(offering_types);
        qb.push("))");
    }
    if let Some(raw) = params.get("category_uuid") {
        let uuid = Uuid::parse_str(raw.trim()).unwrap_or(Uuid::nil());
        qb.push(
            " AND o.offering_uuid IN (SELECT uuid FROM projection.offerings WHERE category_uuid = ",
        );
        qb.push_bind(uuid);
        qb.push(")");
    }
}

async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let order = order_by(&params, ORDER_KEYS, "o.created", "o.uuid")?;
    let states = parse_list(&params, "state", OrderState::parse)?;
    let types = parse_list(&params, "type", OrderType::parse)?;
    let more = filters::OrderFilters::parse(&params, &caller, &state)?;
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        push_visibility(qb, &caller);
        push_filters(qb, &params, &states, &types);
        more.push(qb);
    };
    let mut count = QueryBuilder::new("SELECT count(*) FROM projection.orders o");
    filters(&mut count);
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(&state.ledger.pool)
        .await?;
    let paging = paging.resolve(total)?;
    // Page the narrow table first, then join only the rows shown.
    let mut page = QueryBuilder::new(
        "WITH page AS (SELECT o.uuid, o.created, o.consumer_reviewed_at, o.cost, o.state \
         FROM projection.orders o",
    );
    filters(&mut page);
    page.push(format!(" ORDER BY {order} LIMIT "));
    page.push_bind(paging.limit());
    page.push(" OFFSET ");
    page.push_bind(paging.offset());
    page.push(format!(
        ") SELECT {SELECT} FROM page JOIN projection.orders o ON o.uuid = page.uuid {JOINS} \
         ORDER BY {}",
        order.replace("o.", "page.")
    ));
    let rows: Vec<OrderRow> = page.build_query_as().fetch_all(&state.ledger.pool).await?;
    let items = rows
        .iter()
        .map(|row| render(row, &links, &caller))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_response(
        &links, COLLECTION, &params, paging, total, items,
    ))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Order")?;
    let params = QueryParams::parse(raw.as_deref());
    let mut qb = QueryBuilder::new(format!(
        "SELECT {SELECT} FROM projection.orders o {JOINS} WHERE o.uuid = "
    ));
    qb.push_bind(uuid);
    push_visibility(&mut qb, &caller);
    let row: OrderRow = qb
        .build_query_as()
        .fetch_optional(&state.ledger.pool)
        .await?
        .ok_or(ApiError::NotFound("Order"))?;
    Ok(Json(select_fields(render(&row, &links, &caller)?, &params)))
}

fn decode<T: serde::de::DeserializeOwned>(value: &Value, what: &str) -> Result<T, ApiError> {
    serde_json::from_value(value.clone())
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e).context(format!("decoding {what}"))))
}

fn time(at: Option<DateTime<Utc>>) -> Value {
    at.map(timestamp).map(Value::String).unwrap_or(Value::Null)
}

/// An order as Waldur's `OrderDetailsSerializer` renders it.
fn render(row: &OrderRow, links: &Links, caller: &Caller) -> Result<Value, ApiError> {
    let order: Order = decode(&row.order_doc, "an order")?;
    let spec = order
        .spec
        .as_ref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an order without its placement")))?;
    let offering: Offering = match &row.offering_doc {
        Some(doc) => decode(doc, "an offering")?,
        None => Offering::default(),
    };
    let resource: Option<Resource> = row
        .resource_doc
        .as_ref()
        .map(|doc| decode(doc, "a resource"))
        .transpose()?;
    let plan = spec.plan_uuid.and_then(|uuid| offering.plan(uuid));
    let old_plan = spec.old_plan_uuid.and_then(|uuid| offering.plan(uuid));
    let kind = offering.kind();
    let can_terminate = kind.is_some_and(|k| k.order_actions.cancel)
        && matches!(
            order.state,
            OrderState::PendingConsumer | OrderState::PendingProvider | OrderState::Executing
        );
    let resource_name = resource
        .as_ref()
        .and_then(|r| r.spec.as_ref())
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let cost_estimate = |p: Option<&crate::domain::offering::model::Plan>| {
        p.map(|p| number(p.unit_price)).unwrap_or(Value::Null)
    };
    let mut item = json!({
        "offering": links.object("marketplace-public-offerings", spec.offering_uuid),
        "offering_name": offering.details.name,
        "offering_uuid": hex(spec.offering_uuid),
        "offering_description": offering.details.description,
        "offering_image": null,
        "offering_thumbnail": null,
        "offering_type": offering.offering_type,
        "offering_terms_of_service": offering.details.terms_of_service,
        "offering_shared": offering.details.shared,
        "offering_billable": offering.details.billable,
        "offering_plugin_options": offering.settings.plugin_options,
        "provider_name": row.provider_name.clone().unwrap_or_default(),
        "provider_uuid": hex(spec.provider_customer_uuid),
        "category_title": row.category_title.clone().unwrap_or_default(),
        "category_uuid": hex(offering.category_uuid),
        "category_icon": null,
        "plan": plan.map(|p| plan_url(links, spec.offering_uuid, p.uuid, PlanSide::Public)),
        "plan_unit": plan.map(|p| p.unit.as_str()),
        "plan_name": plan.map(|p| p.name.clone()),
        "plan_uuid": plan.map(|p| hex(p.uuid)),
        "plan_description": plan.map(|p| p.description.clone()),
        "attributes": spec.attributes,
        "limits": spec.limits,
        "uuid": hex(spec.uuid),
        "created": time(order.created),
        "modified": time(order.modified),
        "type": spec.order_type.as_str(),
        "resource_uuid": null,
        "resource_type": null,
        "resource_name": resource_name,
        "cost": spec.cost.map(|c| decimal_string(c, 10)),
        "state": order.state.as_str(),
        "output": order.output,
        "marketplace_resource_uuid": hex(spec.resource_uuid),
        "error_message": order.error_message,
        "error_traceback": order.error_traceback,
        "callback_url": spec.callback_url,
        "completed_at": time(order.completed_at),
        "request_comment": spec.request_comment,
        "attachment": order
            .attachment
            .as_ref()
            .map(|_| attachment::attachment_url(links, spec.uuid)),
        "start_date": spec.start_date,
        "created_by_username": row.created_by_username.clone().unwrap_or_default(),
        "created_by_full_name": row.created_by_full_name.clone().unwrap_or_default(),
        "created_by_civil_number": null,
        "customer_name": row.customer_name.clone().unwrap_or_default(),
        "customer_uuid": hex(spec.customer_uuid),
        "customer_slug": row.customer_slug.clone().unwrap_or_default(),
        "project_name": row.project_name.clone().unwrap_or_default(),
        "project_uuid": hex(spec.project_uuid),
        "project_description": row.project_description.clone().unwrap_or_default(),
        "project_slug": row.project_slug.clone().unwrap_or_default(),
        "old_plan_name": old_plan.map(|p| p.name.clone()),
        "old_plan_uuid": old_plan.map(|p| hex(p.uuid)),
        "new_plan_name": plan.map(|p| p.name.clone()),
        "new_plan_uuid": plan.map(|p| hex(p.uuid)),
        "old_cost_estimate": cost_estimate(old_plan.or(plan)),
        "new_cost_estimate": cost_estimate(plan),
        "can_terminate": can_terminate,
        "fixed_price": number(spec.fixed_price),
        "activation_price": number(spec.activation_price),
        "termination_comment": order.termination_comment,
        "backend_id": order.backend_id,
        "consumer_rejection_comment": order.consumer_rejection_comment,
        "provider_rejection_comment": order.provider_rejection_comment,
        "error_updated_at": time(order.error_updated_at),
        "slug": spec.slug,
        "issue": null,
    });
    let object = item.as_object_mut().expect("an order renders as an object");
    // Reviewer keys are omitted, not null, until someone reviewed the order.
    if order.consumer_reviewed_by.is_some() {
        object.insert(
            "consumer_reviewed_by".into(),
            json!(row.consumer_reviewer_username.clone().unwrap_or_default()),
        );
        object.insert(
            "consumer_reviewed_by_full_name".into(),
            json!(row.consumer_reviewer_full_name.clone().unwrap_or_default()),
        );
    }
    object.insert(
        "consumer_reviewed_at".into(),
        time(order.consumer_reviewed_at),
    );
    if order.provider_reviewed_by.is_some() {
        object.insert(
            "provider_reviewed_by".into(),
            json!(row.provider_reviewer_username.clone().unwrap_or_default()),
        );
        object.insert(
            "provider_reviewed_by_full_name".into(),
            json!(row.provider_reviewer_full_name.clone().unwrap_or_default()),
        );
    }
    object.insert(
        "provider_reviewed_at".into(),
        time(order.provider_reviewed_at),
    );
    if !caller.sees_all() {
        object.remove("error_traceback");
    }
    Ok(item)
}
