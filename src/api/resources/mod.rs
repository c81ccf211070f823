//! Marketplace resources as Waldur shows them from both sides:
//! `/api/marketplace-resources/` for consumers (and the providers of their offerings) and
//! `/api/marketplace-provider-resources/` for providers and the site agent. Both read the
//! resource read model joined with its offering, project and customers; the actions that
//! change a resource live in [`actions`].

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use sqlx::{FromRow, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::{ApiError, DomainError};
use crate::api::links::{Links, parse_path_uuid};
use crate::api::list::{OrderKey, Paging, QueryParams, order_by, page_response, select_fields};
use crate::domain::resource::{ResourceError, ResourceState};

mod actions;
mod render;

/// The two views of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `/api/marketplace-resources/`: the consumer's view.
    Consumer,
    /// `/api/marketplace-provider-resources/`: the provider's view.
    Provider,
}

impl Side {
    fn collection(self) -> &'static str {
        match self {
            Side::Consumer => "/api/marketplace-resources/",
            Side::Provider => "/api/marketplace-provider-resources/",
        }
    }
}

impl DomainError for ResourceError {
    fn into_api(self) -> ApiError {
        match self {
            ResourceError::NotFound => ApiError::NotFound("Resource"),
            ResourceError::ChangeInProgress => {
                ApiError::invalid("Pending order for resource already exists.")
            }
            ResourceError::Terminated => ApiError::invalid_state(&[
                ResourceState::Ok.as_str(),
                ResourceState::Erred.as_str(),
            ]),
            ResourceError::AlreadyExists => ApiError::Conflict(self.to_string()),
        }
    }
}

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route(
            Side::Consumer.collection(),
            get(|s, c, l, q| list(s, c, l, q, Side::Consumer)),
        )
        .route(
            "/api/marketplace-resources/{uuid}/",
            get(|s, c, l, p, q| retrieve(s, c, l, p, q, Side::Consumer)),
        )
        .route(
            Side::Provider.collection(),
            get(|s, c, l, q| list(s, c, l, q, Side::Provider)),
        )
        .route(
            "/api/marketplace-provider-resources/{uuid}/",
            get(|s, c, l, p, q| retrieve(s, c, l, p, q, Side::Provider)),
        )
        .merge(actions::router())
}

/// A resource with everything its answer shows.
#[derive(FromRow)]
pub(crate) struct ResourceRow {
    pub resource_doc: Value,
    pub offering_doc: Option<Value>,
    pub project_name: Option<String>,
    pub project_slug: Option<String>,
    pub project_description: Option<String>,
    pub project_end_date: Option<chrono::NaiveDate>,
    pub project_end_date_requested_by: Option<Uuid>,
    pub customer_name: Option<String>,
    pub customer_slug: Option<String>,
    pub provider_uuid: Option<Uuid>,
    pub provider_name: Option<String>,
    pub provider_slug: Option<String>,
    pub category_title: Option<String>,
    pub pending_order: bool,
}

const SELECT: &str = "r.document AS resource_doc, f.document AS offering_doc, \
    p.name AS project_name, p.slug AS project_slug, p.description AS project_description, \
    p.end_date AS project_end_date, p.end_date_requested_by AS project_end_date_requested_by, \
    c.name AS customer_name, c.slug AS customer_slug, \
    f.customer_uuid AS provider_uuid, pc.name AS provider_name, pc.slug AS provider_slug, \
    k.title AS category_title, \
    EXISTS (SELECT 1 FROM projection.orders po WHERE po.resource_uuid = r.uuid \
      AND po.state IN ('pending-consumer', 'pending-provider', 'executing')) AS pending_order";

const FROM: &str = "projection.resources r \
    LEFT JOIN projection.offerings f ON f.uuid = r.offering_uuid \
    LEFT JOIN projection.projects p ON p.uuid = r.project_uuid \
    LEFT JOIN projection.customers c ON c.uuid = r.customer_uuid \
    LEFT JOIN projection.customers pc ON pc.uuid = f.customer_uuid \
    LEFT JOIN projection.categories k ON k.uuid = f.category_uuid";

/// Waldur sorts states by their number, not their name.
const STATE_RANK: &str = "CASE r.state WHEN 'Creating' THEN 1 WHEN 'OK' THEN 2 \
    WHEN 'Erred' THEN 3 WHEN 'Updating' THEN 4 WHEN 'Terminating' THEN 5 ELSE 6 END";

/// The `o=` keys of Waldur's `ResourceFilter`.
const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "created",
        sql: "r.created",
    },
    OrderKey {
        name: "end_date",
        sql: "r.end_date",
    },
    OrderKey {
        name: "name",
        sql: "r.name",
    },
    OrderKey {
        name: "project_name",
        sql: "p.name",
    },
    OrderKey {
        name: "state",
        sql: STATE_RANK,
    },
];

/// The caller's active roles of `scope` type, as a subquery.
fn push_roles(qb: &mut QueryBuilder<'_, Postgres>, caller: &Caller, scope: &str) {
    qb.push(format!(
        "(SELECT g.scope_uuid FROM projection.user_roles g WHERE g.scope_type = '{scope}' \
         AND (g.expiration_time IS NULL OR g.expiration_time > now()) AND g.user_uuid = "
    ));
    qb.push_bind(caller.uuid);
    qb.push(")");
}

/// Staff and support see every resource. Consumers see those of projects and customers
/// they hold a role in, providers those of their offerings; the provider view shows only
/// the latter.
pub(crate) fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, caller: &Caller, side: Side) {
    if caller.sees_all() {
        return;
    }
    qb.push(" AND (f.customer_uuid IN ");
    push_roles(qb, caller, "customer");
    if side == Side::Consumer {
        qb.push(" OR r.project_uuid IN ");
        push_roles(qb, caller, "project");
        qb.push(" OR r.customer_uuid IN ");
        push_roles(qb, caller, "customer");
    }
    qb.push(")");
}

/// Waldur's `ResourceFilter`, the parts clients use.
fn push_filters(qb: &mut QueryBuilder<'_, Postgres>, params: &QueryParams, states: &[String]) {
    if !states.is_empty() {
        qb.push(" AND r.state = ANY(");
        qb.push_bind(states.to_vec());
        qb.push(")");
    }
    push_uuids(qb, params, "offering_uuid", "r.offering_uuid");
    for (param, column) in [
        ("project_uuid", "r.project_uuid"),
        ("customer_uuid", "r.customer_uuid"),
        ("provider_uuid", "f.customer_uuid"),
        ("plan_uuid", "r.plan_uuid"),
        ("category_uuid", "f.category_uuid"),
    ] {
        crate::api::list::push_uuid(qb, params, param, column);
    }
    for (param, collection, column) in [
        (
            "offering",
            "marketplace-public-offerings",
            "r.offering_uuid",
        ),
        ("customer", "customers", "r.customer_uuid"),
        ("project", "projects", "r.project_uuid"),
    ] {
        if let Some(url) = params.get(param) {
            let uuid = crate::api::form::parse_hyperlink(url, collection).unwrap_or(Uuid::nil());
            qb.push(format!(" AND {column} = "));
            qb.push_bind(uuid);
        }
    }
    crate::api::list::push_strings(qb, params, "offering_slug", "f.slug");
    crate::api::list::push_bools(
        qb,
        params,
        &[
            ("offering_shared", "f.shared"),
            ("offering_billable", "f.billable"),
            ("has_terminate_date", "(r.end_date IS NOT NULL)"),
            // The ledger does not pause, downscale or restrict resources.
            ("paused", "false"),
            ("downscaled", "false"),
            ("restrict_member_access", "false"),
        ],
    );
    let billed = |billing: &str| format!("('{billing}' = ANY(COALESCE(f.billing_types, '{{}}')))");
    let usage = billed("usage");
    let limit = billed("limit");
    for (param, sql) in [
        ("usage_based", usage.clone()),
        ("limit_based", limit.clone()),
        ("only_usage_based", format!("({usage} AND NOT {limit})")),
        ("only_limit_based", format!("({limit} AND NOT {usage})")),
    ] {
        if let Some(value) = params.get(param).and_then(crate::api::list::parse_bool) {
            qb.push(format!(" AND {sql} = "));
            qb.push_bind(value);
        }
    }
    // Resources here have no parent offering.
    if params.get("parent_offering_uuid").is_some() {
        qb.push(" AND false");
    }
    crate::api::list::push_contains(qb, params, &[("project_name", "p.name")]);
    let offering_types: Vec<String> = params
        .all("offering_type")
        .into_iter()
        .map(str::to_string)
        .collect();
    if !offering_types.is_empty() {
        qb.push(" AND f.type = ANY(");
        qb.push_bind(offering_types);
        qb.push(")");
    }
    crate::api::list::push_exact(
        qb,
        params,
        &[("backend_id", "r.backend_id"), ("name_exact", "r.name")],
    );
    crate::api::list::push_contains(qb, params, &[("name", "r.name")]);
    if let Some(query) = params.get("query") {
        let query = query.trim();
        qb.push(" AND (r.name ILIKE ");
        qb.push_bind(crate::api::list::contains_pattern(query));
        qb.push(" OR r.backend_id = ");
        qb.push_bind(query.to_string());
        if let Ok(uuid) = Uuid::parse_str(query) {
            qb.push(" OR r.uuid = ");
            qb.push_bind(uuid);
        }
        qb.push(")");
    }
    for (param, column, op) in [
        ("created", "r.created", ">="),
        ("created_before", "r.created", "<"),
        ("modified", "r.modified", ">="),
        ("modified_before", "r.modified", "<"),
    ] {
        if let Some(raw) = params.get(param) {
            // A date or datetime the filter cannot read matches nothing.
            let raw = raw.trim();
            let at = crate::api::form::parse_datetime(raw).or_else(|| {
                raw.parse::<chrono::NaiveDate>()
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc())
            });
            qb.push(format!(" AND {column} {op} "));
            qb.push_bind(at);
        }
    }
}

/// ` AND {column} IN (…)` for a repeatable uuid filter; values that are not uuids match
/// nothing.
fn push_uuids(
    qb: &mut QueryBuilder<'_, Postgres>,
    params: &QueryParams,
    param: &str,
    column: &str,
) {
    let values = params.all(param);
    if values.is_empty() {
        return;
    }
    let uuids: Vec<Uuid> = values
        .iter()
        .map(|v| Uuid::parse_str(v.trim()).unwrap_or(Uuid::nil()))
        .collect();
    qb.push(format!(" AND {column} = ANY("));
    qb.push_bind(uuids);
    qb.push(")");
}

/// `state=` values: repeatable, Waldur's names; an unknown name is refused.
fn parse_states(params: &QueryParams) -> Result<Vec<String>, ApiError> {
    params
        .all("state")
        .into_iter()
        .map(|value| {
            ResourceState::parse(value)
                .map(|s| s.as_str().to_string())
                .ok_or_else(|| {
                    ApiError::field(
                        "state",
                        format!(
                            "Select a valid choice. {value} is not one of the available choices."
                        ),
                    )
                })
        })
        .collect()
}

async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
    side: Side,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let order = order_by(&params, ORDER_KEYS, "r.created", "r.uuid")?;
    let states = parse_states(&params)?;
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        push_visibility(qb, &caller, side);
        push_filters(qb, &params, &states);
    };
    let (total, rows, paging) = crate::api::list::fetch_page::<ResourceRow>(
        &state.ledger.pool,
        SELECT,
        FROM,
        filters,
        &order,
        paging,
    )
    .await?;
    let items = rows
        .iter()
        .map(|row| render::render(row, &links, side))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_response(
        &links,
        side.collection(),
        &params,
        paging,
        total,
        items,
    ))
}

/// The resource's row if the caller sees it from `side`, else 404.
pub(crate) async fn fetch(
    state: &ApiState,
    caller: &Caller,
    raw_uuid: &str,
    side: Side,
) -> Result<ResourceRow, ApiError> {
    let uuid = parse_path_uuid(raw_uuid, "Resource")?;
    let mut qb = QueryBuilder::new(format!("SELECT {SELECT} FROM {FROM} WHERE r.uuid = "));
    qb.push_bind(uuid);
    push_visibility(&mut qb, caller, side);
    qb.build_query_as()
        .fetch_optional(&state.ledger.pool)
        .await?
        .ok_or(ApiError::NotFound("Resource"))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
    side: Side,
) -> Result<Json<Value>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let row = fetch(&state, &caller, &raw_uuid, side).await?;
    Ok(Json(select_fields(
        render::render(&row, &links, side)?,
        &params,
    )))
}
