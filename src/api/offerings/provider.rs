//! `/api/marketplace-provider-offerings/`: listing, creating and deleting offerings, their
//! lifecycle actions and the edits of their descriptive parts.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::input::{self, read_country, read_list};
use super::{
    OfferingRecord, OfferingView, RECORD_FROM, RECORD_SELECT, edit_context, execute,
    plan_resource_counts, provider_record, push_provider_visibility, render_offering, require,
    sees_secrets,
};
use crate::api::access::require_permission;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::Form;
use crate::api::links::{Links, hex, parse_path_uuid};
use crate::api::list::{
    OrderKey, Paging, QueryParams, contains_pattern, order_by, page_response, push_bools,
    push_contains, push_exact, push_uuid, select_fields,
};
use crate::api::{ApiState, created, no_content};
use crate::app::offerings::lifecycle::{self, Deleter};
use crate::app::offerings::{self, NewOffering, edit};
use crate::domain::offering::model::{Endpoint, OfferingState};
use crate::domain::offering::{Lifecycle, OfferingCommand, types};
use crate::read::visibility::Scope;

const COLLECTION: &str = "/api/marketplace-provider-offerings/";

pub fn router() -> Router<Arc<ApiState>> {
    let base = "/api/marketplace-provider-offerings/{uuid}";
    let mut router = Router::new()
        .route(COLLECTION, get(list).post(create))
        .route(&format!("{base}/"), get(retrieve).delete(destroy))
        .route(&format!("{base}/update_overview/"), post(update_overview))
        .route(
            &format!("{base}/update_description/"),
            post(update_description),
        )
        .route(&format!("{base}/update_options/"), post(update_options))
        .route(
            &format!("{base}/update_resource_options/"),
            post(update_resource_options),
        )
        .route(
            &format!("{base}/update_integration/"),
            post(update_integration),
        )
        .route(
            &format!("{base}/update_attributes/"),
            post(update_attributes),
        )
        .route(&format!("{base}/update_location/"), post(update_location))
        .route(&format!("{base}/add_endpoint/"), post(add_endpoint))
        .route(&format!("{base}/delete_endpoint/"), post(delete_endpoint));
    for (name, action) in LIFECYCLE {
        let action = *action;
        router = router.route(
            &format!("{base}/{name}/"),
            post(
                move |State(state): State<Arc<ApiState>>,
                      caller: Caller,
                      Path(uuid): Path<String>,
                      Body(body): Body| async move {
                    transition(state, caller, uuid, action, body).await
                },
            ),
        );
    }
    router
}

/// The lifecycle actions and their paths.
const LIFECYCLE: &[(&str, Lifecycle)] = &[
    ("activate", Lifecycle::Activate),
    ("pause", Lifecycle::Pause),
    ("unpause", Lifecycle::Unpause),
    ("archive", Lifecycle::Archive),
    ("draft", Lifecycle::Draft),
    ("make_unavailable", Lifecycle::MakeUnavailable),
    ("make_available", Lifecycle::MakeAvailable),
];

const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "name",
        sql: "o.name",
    },
    OrderKey {
        name: "created",
        sql: "o.created",
    },
    OrderKey {
        name: "type",
        sql: "o.type",
    },
    // Waldur sorts by the stored state number, not by its name.
    OrderKey {
        name: "state",
        sql: "CASE o.state WHEN 'Draft' THEN 1 WHEN 'Active' THEN 2 WHEN 'Paused' THEN 3 \
              WHEN 'Archived' THEN 4 ELSE 5 END",
    },
    OrderKey {
        name: "total_customers",
        sql: "o.created",
    },
    OrderKey {
        name: "total_cost",
        sql: "o.created",
    },
    OrderKey {
        name: "total_cost_estimated",
        sql: "o.created",
    },
];

/// Validates repeated `state=` values.
pub fn states_filter(params: &QueryParams) -> Result<Vec<String>, ApiError> {
    params
        .all("state")
        .into_iter()
        .map(|state| {
            OfferingState::parse(state)
                .map(|s| s.as_str().to_string())
                .ok_or_else(|| {
                    ApiError::field(
                        "state",
                        format!(
                            "Select a valid choice. {state} is not one of the available choices."
                        ),
                    )
                })
        })
        .collect()
}

/// The filters shared by the provider and public offering lists.
pub fn push_offering_filters(
    qb: &mut QueryBuilder<'_, Postgres>,
    params: &QueryParams,
    states: &[String],
) {
    push_contains(
        qb,
        params,
        &[("name", "o.name"), ("description", "o.description")],
    );
    push_exact(
        qb,
        params,
        &[
            ("name_exact", "o.name"),
            ("slug", "o.slug"),
            ("backend_id", "o.backend_id"),
        ],
    );
    push_bools(
        qb,
        params,
        &[("shared", "o.shared"), ("billable", "o.billable")],
    );
    push_uuid(qb, params, "customer_uuid", "o.customer_uuid");
    push_uuid(qb, params, "category_uuid", "o.category_uuid");
    if let Some(url) = params.get("customer") {
        let uuid = crate::api::form::parse_hyperlink(url, "customers").unwrap_or(Uuid::nil());
        qb.push(" AND o.customer_uuid = ");
        qb.push_bind(uuid);
    }
    if !states.is_empty() {
        qb.push(" AND o.state = ANY(");
        qb.push_bind(states.to_vec());
        qb.push(")");
    }
    let types: Vec<String> = params.all("type").into_iter().map(str::to_string).collect();
    if !types.is_empty() {
        qb.push(" AND o.type = ANY(");
        qb.push_bind(types);
        qb.push(")");
    }
    if let Some(keyword) = params.get("keyword") {
        let pattern = contains_pattern(keyword);
        qb.push(" AND (o.name ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR o.description ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR c.name ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR c.abbreviation ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR c.native_name ILIKE ");
        qb.push_bind(pattern);
        qb.push(")");
    }
    if let Some(query) = params.get("query") {
        let pattern = contains_pattern(query);
        qb.push(" AND (o.name ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR o.slug ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR o.description ILIKE ");
        qb.push_bind(pattern);
        if let Ok(uuid) = Uuid::parse_str(query.trim()) {
            qb.push(" OR o.uuid = ");
            qb.push_bind(uuid);
        }
        qb.push(")");
    }
    if let Some(raw) = params.get("allowed_customer_uuid") {
        let uuid = Uuid::parse_str(raw.trim()).unwrap_or(Uuid::nil());
        qb.push(" AND (o.shared OR o.customer_uuid = ");
        qb.push_bind(uuid);
        qb.push(")");
    }
    if let Some(raw) = params.get("project_uuid") {
        let uuid = Uuid::parse_str(raw.trim()).unwrap_or(Uuid::nil());
        qb.push(" AND (o.shared OR o.project_uuid = ");
        qb.push_bind(uuid);
        qb.push(")");
    }
    if let Some(raw) = params.get("uuid_list") {
        let uuids: Vec<Uuid> = raw
            .split(',')
            .filter_map(|u| Uuid::parse_str(u.trim()).ok())
            .collect();
        qb.push(" AND o.uuid = ANY(");
        qb.push_bind(uuids);
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
    let order = order_by(&params, ORDER_KEYS, "o.name", "o.uuid")?;
    let states = states_filter(&params)?;
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE");
        push_provider_visibility(qb, &caller);
        push_offering_filters(qb, &params, &states);
    };
    let mut count = QueryBuilder::new(format!("SELECT count(*) FROM {RECORD_FROM}"));
    filters(&mut count);
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(&state.ledger.pool)
        .await?;
    let paging = paging.resolve(total)?;
    let mut page = QueryBuilder::new(format!("SELECT {RECORD_SELECT} FROM {RECORD_FROM}"));
    filters(&mut page);
    page.push(format!(" ORDER BY {order} LIMIT "));
    page.push_bind(paging.limit());
    page.push(" OFFSET ");
    page.push_bind(paging.offset());
    let rows: Vec<super::RecordRow> = page.build_query_as().fetch_all(&state.ledger.pool).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let record = OfferingRecord::try_from(row)?;
        items.push(render_provider(&state, &caller, &links, &record, false).await?);
    }
    Ok(page_response(
        &links, COLLECTION, &params, paging, total, items,
    ))
}

/// The provider body of an offering for this caller.
pub async fn render_provider(
    state: &ApiState,
    caller: &Caller,
    links: &Links,
    record: &OfferingRecord,
    detail: bool,
) -> Result<Value, ApiError> {
    let secrets = sees_secrets(state, caller, &record.offering).await?;
    let counts = plan_resource_counts(state, record.uuid).await?;
    let plans: Vec<_> = record.offering.plans.iter().collect();
    let mut item = render_offering(
        record,
        links,
        OfferingView::Provider { secrets },
        &counts,
        &plans,
    );
    if !detail {
        // Lists leave out the totals that only a single offering computes.
        let object = item.as_object_mut().expect("object");
        for key in ["total_customers", "total_cost", "total_cost_estimated"] {
            object.remove(key);
        }
    }
    Ok(item)
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let params = QueryParams::parse(raw.as_deref());
    let record = provider_record(&state, &caller, uuid).await?;
    let item = render_provider(&state, &caller, &links, &record, true).await?;
    Ok(Json(select_fields(item, &params)))
}

/// Reads the descriptive fields present in a body.
fn read_details(form: &mut Form, name_required: bool) -> Map<String, Value> {
    let mut changes = Map::new();
    let name = if name_required {
        form.required_str("name", 150)
    } else {
        form.optional_str("name", 150)
    };
    if let Some(name) = name {
        changes.insert("name".into(), json!(name.trim()));
    }
    for (field, max_len) in [
        ("description", 100_000),
        ("full_description", 100_000),
        ("terms_of_service", 100_000),
        ("terms_of_service_link", 200),
        ("privacy_policy_link", 200),
        ("vendor_details", 100_000),
        ("getting_started", 100_000),
        ("integration_guide", 100_000),
        ("access_url", 200),
        ("native_name", 160),
        ("native_description", 100_000),
        ("backend_id", 255),
        ("datacite_doi", 255),
    ] {
        if let Some(value) = form.optional_str(field, max_len) {
            changes.insert(field.into(), json!(value.trim()));
        }
    }
    if let Some(country) = read_country(form) {
        changes.insert("country".into(), json!(country));
    }
    for field in ["latitude", "longitude"] {
        if let Some(value) = form.coordinate(field) {
            changes.insert(field.into(), json!(value));
        }
    }
    for field in ["shared", "billable"] {
        if let Some(value) = form.bool(field) {
            changes.insert(field.into(), json!(value));
        }
    }
    changes
}

/// A category that exists, or the hyperlink error.
async fn read_category(
    state: &ApiState,
    form: &mut Form,
    required: bool,
) -> Result<Option<Uuid>, ApiError> {
    let Some(uuid) = form.hyperlink("category", "marketplace-categories", required) else {
        return Ok(None);
    };
    let exists: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM projection.categories WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(&state.ledger.pool)
            .await?;
    if exists.is_none() {
        form.error("category", "Invalid hyperlink - Object does not exist.");
        return Ok(None);
    }
    Ok(Some(uuid))
}

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

async fn create(
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
    if let Some(uuid) = project {
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM projection.projects WHERE uuid = $1")
                .bind(uuid)
                .fetch_optional(&state.ledger.pool)
                .await?;
        if exists.is_none() {
            form.error("project", "Invalid hyperlink - Object does not exist.");
        }
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
    let customer_exists: Option<i32> = match customer {
        Some(uuid) => {
            sqlx::query_scalar("SELECT 1 FROM projection.customers WHERE uuid = $1")
                .bind(uuid)
                .fetch_optional(&state.ledger.pool)
                .await?
        }
        None => None,
    };
    if customer.is_some() && customer_exists.is_none() {
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

/// Staff always may run lifecycle actions; providers only when the operator allows it.
async fn require_lifecycle(
    state: &ApiState,
    caller: &Caller,
    record: &OfferingRecord,
    permission: &str,
) -> Result<(), ApiError> {
    if caller.is_staff {
        return Ok(());
    }
    if !state.allow_provider_offering_management {
        return Err(ApiError::PermissionDenied);
    }
    require(state, caller, record, permission).await
}

async fn transition(
    state: Arc<ApiState>,
    caller: Caller,
    raw_uuid: String,
    action: Lifecycle,
    body: Map<String, Value>,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    let permission = match action {
        Lifecycle::Activate | Lifecycle::Draft => "OFFERING.CREATE",
        Lifecycle::Pause | Lifecycle::MakeUnavailable | Lifecycle::MakeAvailable => {
            "OFFERING.PAUSE"
        }
        Lifecycle::Unpause => "OFFERING.UNPAUSE",
        Lifecycle::Archive => "OFFERING.ARCHIVE",
    };
    require_lifecycle(&state, &caller, &record, permission).await?;
    lifecycle::check_transition(action, record.standing())?;
    let mut form = Form::new(body);
    let paused_reason = form.optional_str("paused_reason", 2000);
    form.finish()?;
    lifecycle::transition(&state.ledger, uuid, action, paused_reason, &caller.ctx()).await?;
    let record = provider_record(&state, &caller, uuid).await?;
    Ok(Json(json!({
        "detail": "Offering state updated.",
        "state": record.offering.state.as_str(),
    }))
    .into_response())
}

async fn destroy(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    let by = if caller.is_staff {
        Deleter::Staff
    } else {
        require_lifecycle(&state, &caller, &record, "OFFERING.DELETE").await?;
        Deleter::Provider
    };
    lifecycle::delete_offering(
        &state.ledger,
        uuid,
        &record.offering,
        record.standing(),
        by,
        &caller.ctx(),
    )
    .await?;
    Ok(no_content())
}

fn ok_empty() -> Response {
    StatusCode::OK.into_response()
}

/// The fields `update_overview` writes (Waldur's `OfferingOverviewUpdateSerializer` plus the
/// client's `backend_id`).
const OVERVIEW_FIELDS: &[&str] = &[
    "name",
    "description",
    "full_description",
    "terms_of_service",
    "terms_of_service_link",
    "privacy_policy_link",
    "access_url",
    "getting_started",
    "integration_guide",
    "backend_id",
];

async fn update_overview(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let record = provider_record(&state, &caller, uuid).await?;
    // Outside Draft only staff may change what consumers already see.
    if record.offering.state == OfferingState::Draft {
        require(&state, &caller, &record, "OFFERING.UPDATE").await?;
    } else if !caller.is_staff {
        return Err(ApiError::PermissionDenied);
    }
    edit::check_editable(&record.offering, record.standing())?;
    // DRF ignores what the overview serializer does not declare (shared, country…).
    let mut body = body;
    body.retain(|key, _| OVERVIEW_FIELDS.contains(&key.as_str()));
    let mut form = Form::new(body);
    let changes = read_details(&mut form, true);
    form.finish()?;
    let ctx = caller.ctx();
    let command = OfferingCommand::UpdateDetails {
        changes,
        at: ctx.now,
    };
    execute(&state, &caller, uuid, command).await?;
    Ok(ok_empty())
}

async fn update_description(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, "OFFERING.UPDATE_DESCRIPTION").await?;
    let mut form = Form::new(body);
    let category = read_category(&state, &mut form, true).await?;
    form.finish()?;
    let ctx = caller.ctx();
    let command = OfferingCommand::ChangeCategory {
        category_uuid: category.expect("validated"),
        at: ctx.now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    Ok(ok_empty())
}

/// Writes the settings fields listed in `fields` that the body carries.
async fn update_settings(
    state: Arc<ApiState>,
    caller: Caller,
    raw_uuid: String,
    permission: &str,
    body: Map<String, Value>,
    fields: &[&str],
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, permission).await?;
    // Only the action's own fields are read; DRF ignores the rest of the body.
    let mut body = body;
    body.retain(|key, _| fields.contains(&key.as_str()));
    let mut form = Form::new(body);
    for field in fields {
        if !form.is_present(field) && matches!(*field, "options" | "resource_options") {
            form.error(field, crate::api::form::REQUIRED);
        }
    }
    let mut changes = input::read_settings(&mut form);
    changes.retain(|key, _| fields.contains(&key.as_str()));
    let backend_id = if fields.contains(&"backend_id") {
        form.optional_str("backend_id", 255)
    } else {
        None
    };
    form.finish()?;
    let ctx = caller.ctx();
    if !changes.is_empty() {
        let command = OfferingCommand::UpdateSettings {
            changes,
            at: ctx.now,
        };
        execute(&state, &caller, record.uuid, command).await?;
    }
    if let Some(backend_id) = backend_id {
        let mut changes = Map::new();
        changes.insert("backend_id".into(), json!(backend_id));
        let command = OfferingCommand::UpdateDetails {
            changes,
            at: ctx.now,
        };
        execute(&state, &caller, record.uuid, command).await?;
    }
    Ok(ok_empty())
}

async fn update_options(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    update_settings(
        state,
        caller,
        raw_uuid,
        "OFFERING.UPDATE_OPTIONS",
        body,
        &["options"],
    )
    .await
}

async fn update_resource_options(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let fields = ["resource_options"];
    update_settings(
        state,
        caller,
        raw_uuid,
        "OFFERING.UPDATE_OPTIONS",
        body,
        &fields,
    )
    .await
}

async fn update_integration(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let fields = [
        "secret_options",
        "plugin_options",
        "service_attributes",
        "backend_id",
    ];
    update_settings(
        state,
        caller,
        raw_uuid,
        "OFFERING.UPDATE_INTEGRATION",
        body,
        &fields,
    )
    .await
}

async fn update_attributes(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, "OFFERING.UPDATE_ATTRIBUTES").await?;
    let attributes = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(ApiError::invalid("Dictionary is expected.")),
        Err(_) if body.iter().all(u8::is_ascii_whitespace) => Map::new(),
        Err(err) => return Err(ApiError::BadRequest(format!("JSON parse error - {err}"))),
    };
    crate::api::body::check_free_form("attributes", &attributes)?;
    let mut changes = Map::new();
    changes.insert("attributes".into(), Value::Object(attributes));
    let ctx = caller.ctx();
    let command = OfferingCommand::UpdateSettings {
        changes,
        at: ctx.now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    Ok(ok_empty())
}

async fn update_location(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, "OFFERING.UPDATE_LOCATION").await?;
    let mut form = Form::new(body);
    let mut changes = Map::new();
    for field in ["latitude", "longitude"] {
        match form.coordinate(field) {
            Some(Some(value)) => {
                changes.insert(field.into(), json!(value));
            }
            Some(None) => form.error(field, crate::api::form::NOT_NULL),
            None if !form.has_error(field) => form.error(field, crate::api::form::REQUIRED),
            None => {}
        }
    }
    form.finish()?;
    let ctx = caller.ctx();
    let command = OfferingCommand::UpdateDetails {
        changes,
        at: ctx.now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    Ok(ok_empty())
}

async fn add_endpoint(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, "OFFERING.ADD_ENDPOINT").await?;
    let mut form = Form::new(body);
    let name = form.required_str("name", 255);
    let url = form.required_str("url", 255);
    if let Some(url) = &url
        && !Endpoint::is_valid_url(url)
    {
        form.error("url", offerings::INVALID_URL);
    }
    form.finish()?;
    let endpoint_uuid = edit::add_endpoint(
        &state.ledger,
        record.uuid,
        name.expect("validated"),
        url.expect("validated"),
        &caller.ctx(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"uuid": hex(endpoint_uuid)})),
    )
        .into_response())
}

async fn delete_endpoint(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let record = edit_context(&state, &caller, &raw_uuid, "OFFERING.DELETE_ENDPOINT").await?;
    let mut form = Form::new(body);
    let endpoint = form.uuid("uuid", true);
    form.finish()?;
    let ctx = caller.ctx();
    let command = OfferingCommand::RemoveEndpoint {
        uuid: endpoint.expect("validated"),
        at: ctx.now,
    };
    execute(&state, &caller, record.uuid, command).await?;
    Ok(no_content())
}
