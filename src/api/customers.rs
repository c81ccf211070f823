//! `/api/customers/`: organizations, their blocked/archived flags and their teams.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};
use sqlx::{FromRow, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::api::access::require_permission;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, DomainError};
use crate::api::form::Form;
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{
    OrderKey, Paging, QueryParams, contains_pattern, fetch_page, order_by, page_response,
    push_bools, push_contains, push_exact, push_with_caller, select_fields,
};
use crate::api::roles::{TeamScope, team_routes};
use crate::api::{ApiState, created, no_content};
use crate::domain::customer::{Customer, CustomerCommand, CustomerDetails, CustomerError};
use crate::read::visibility::{CONNECTED_CUSTOMERS, CONNECTED_PROJECTS, Scope};

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/customers/", get(list).post(create))
        .route(
            "/api/customers/{uuid}/",
            get(retrieve).patch(update).put(update).delete(destroy),
        )
        .merge(team_routes("customers", TeamScope::Customer))
}

impl DomainError for CustomerError {
    fn into_api(self) -> ApiError {
        match self {
            CustomerError::NotFound => ApiError::NotFound("Customer"),
            CustomerError::BlankName => ApiError::field("name", crate::api::form::NOT_BLANK),
            CustomerError::Blocked => ApiError::invalid("Blocked organization is not available."),
            CustomerError::Archived => ApiError::invalid("Archived organization is not available."),
            CustomerError::AlreadyServiceProvider => ApiError::field(
                "customer",
                "Service provider with this customer already exists.",
            ),
            CustomerError::InvalidChanges(message) => ApiError::invalid(message),
            CustomerError::Role(err) => ApiError::field("non_field_errors", err.to_string()),
            CustomerError::AlreadyExists
            | CustomerError::AlreadyBlocked
            | CustomerError::NotBlocked
            | CustomerError::AlreadyArchived
            | CustomerError::NotArchived => ApiError::Conflict(self.to_string()),
        }
    }
}

#[derive(Debug, FromRow)]
struct CustomerRow {
    uuid: Uuid,
    slug: String,
    name: String,
    native_name: String,
    abbreviation: String,
    contact_details: String,
    agreement_number: String,
    email: String,
    phone_number: String,
    access_subnets: String,
    registration_code: String,
    homepage: String,
    domain: String,
    vat_code: String,
    postal: String,
    address: String,
    bank_name: String,
    bank_account: String,
    country: String,
    backend_id: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    blocked: bool,
    archived: bool,
    service_provider_uuid: Option<Uuid>,
    created: DateTime<Utc>,
    projects_count: i64,
    users_count: i64,
}

const SELECT: &str = "c.*, \
    (SELECT count(*) FROM projection.projects p WHERE p.customer_uuid = c.uuid) AS projects_count, \
    (SELECT count(DISTINCT r.user_uuid) FROM projection.user_roles r \
      WHERE (r.expiration_time IS NULL OR r.expiration_time > now()) \
        AND ((r.scope_type = 'customer' AND r.scope_uuid = c.uuid) \
          OR (r.scope_type = 'project' AND r.scope_uuid IN \
              (SELECT p.uuid FROM projection.projects p WHERE p.customer_uuid = c.uuid)))) \
      AS users_count";

const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "abbreviation",
        sql: "c.abbreviation",
    },
    OrderKey {
        name: "accounting_start_date",
        sql: "c.created",
    },
    OrderKey {
        name: "agreement_number",
        sql: "c.agreement_number",
    },
    OrderKey {
        name: "contact_details",
        sql: "c.contact_details",
    },
    OrderKey {
        name: "created",
        sql: "c.created",
    },
    OrderKey {
        name: "name",
        sql: "c.name",
    },
    OrderKey {
        name: "native_name",
        sql: "c.native_name",
    },
    OrderKey {
        name: "registration_code",
        sql: "c.registration_code",
    },
];

/// A project as listed inside its customer.
#[derive(Debug, FromRow)]
struct ProjectBrief {
    uuid: Uuid,
    customer_uuid: Uuid,
    name: String,
    end_date: Option<NaiveDate>,
}

fn render(row: &CustomerRow, links: &Links, projects: &[ProjectBrief]) -> Value {
    let display_name = if !row.abbreviation.is_empty() {
        row.abbreviation.clone()
    } else if !row.domain.is_empty() {
        format!("{} ({})", row.name, row.domain)
    } else {
        row.name.clone()
    };
    let projects: Vec<Value> = projects
        .iter()
        .map(|p| {
            json!({
                "url": links.object("projects", p.uuid),
                "uuid": hex(p.uuid),
                "name": p.name,
                "image": null,
                "resource_count": 0,
                "end_date": p.end_date,
            })
        })
        .collect();
    json!({
        "url": links.object("customers", row.uuid),
        "uuid": hex(row.uuid),
        "created": timestamp(row.created),
        "organization_group": null,
        "organization_groups": [],
        "display_name": display_name,
        "projects": projects,
        "backend_id": row.backend_id,
        "image": null,
        "blocked": row.blocked,
        "archived": row.archived,
        "default_tax_percent": "0.00",
        "accounting_start_date": timestamp(row.created),
        "projects_count": row.projects_count,
        "users_count": row.users_count,
        "sponsor_number": null,
        "country_name": null,
        "name": row.name,
        "slug": row.slug,
        "native_name": row.native_name,
        "abbreviation": row.abbreviation,
        "contact_details": row.contact_details,
        "agreement_number": row.agreement_number,
        "email": row.email,
        "phone_number": row.phone_number,
        "access_subnets": row.access_subnets,
        "registration_code": row.registration_code,
        "homepage": row.homepage,
        "domain": row.domain,
        "vat_code": row.vat_code,
        "postal": row.postal,
        "address": row.address,
        "bank_name": row.bank_name,
        "bank_account": row.bank_account,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "country": row.country,
        "payment_profiles": [],
        "is_service_provider": row.service_provider_uuid.is_some(),
        "service_provider": row
            .service_provider_uuid
            .map(|uuid| links.object("marketplace-service-providers", uuid)),
        "service_provider_uuid": row.service_provider_uuid.map(hex),
        "call_managing_organization_uuid": null,
    })
}

fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, caller: &Caller) {
    if caller.sees_all() {
        return;
    }
    qb.push(" AND c.uuid IN (");
    push_with_caller(qb, CONNECTED_CUSTOMERS, caller.uuid);
    qb.push(")");
}

fn push_filters(qb: &mut QueryBuilder<'_, Postgres>, params: &QueryParams, caller: &Caller) {
    push_contains(
        qb,
        params,
        &[
            ("name", "c.name"),
            ("native_name", "c.native_name"),
            ("abbreviation", "c.abbreviation"),
            ("contact_details", "c.contact_details"),
        ],
    );
    push_exact(
        qb,
        params,
        &[
            ("name_exact", "c.name"),
            ("registration_code", "c.registration_code"),
            ("agreement_number", "c.agreement_number"),
            ("backend_id", "c.backend_id"),
            ("slug", "c.slug"),
        ],
    );
    push_bools(
        qb,
        params,
        &[("archived", "c.archived"), ("blocked", "c.blocked")],
    );
    if let Some(flag) = params
        .get("is_service_provider")
        .and_then(crate::api::list::parse_bool)
    {
        qb.push(if flag {
            " AND c.service_provider_uuid IS NOT NULL"
        } else {
            " AND c.service_provider_uuid IS NULL"
        });
    }
    if params
        .get("owned_by_current_user")
        .and_then(crate::api::list::parse_bool)
        == Some(true)
    {
        qb.push(
            " AND c.uuid IN (SELECT r.scope_uuid FROM projection.user_roles r \
             WHERE r.scope_type = 'customer' AND r.role = 'CUSTOMER.OWNER' \
             AND (r.expiration_time IS NULL OR r.expiration_time > now()) AND r.user_uuid = ",
        );
        qb.push_bind(caller.uuid);
        qb.push(")");
    }
    if let Some(query) = params.get("query") {
        let pattern = contains_pattern(query);
        qb.push(" AND (");
        for (i, column) in [
            "c.name",
            "c.native_name",
            "c.abbreviation",
            "c.domain",
            "c.registration_code",
            "c.agreement_number",
        ]
        .iter()
        .enumerate()
        {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push(format!("{column} ILIKE "));
            qb.push_bind(pattern.clone());
        }
        if let Ok(uuid) = Uuid::parse_str(query.trim()) {
            qb.push(" OR c.uuid = ");
            qb.push_bind(uuid);
        }
        qb.push(")");
    }
}

/// Whether the caller can see the customer.
pub async fn is_visible(state: &ApiState, caller: &Caller, uuid: Uuid) -> Result<bool, ApiError> {
    let mut qb = QueryBuilder::new("SELECT count(*) FROM projection.customers c WHERE c.uuid = ");
    qb.push_bind(uuid);
    push_visibility(&mut qb, caller);
    Ok(crate::read::list::exists(&state.ledger.pool, qb).await?)
}

/// The projects of the given customers that the caller can see.
async fn visible_projects(
    state: &ApiState,
    caller: &Caller,
    customers: &[Uuid],
) -> Result<HashMap<Uuid, Vec<ProjectBrief>>, ApiError> {
    let mut qb = QueryBuilder::new(
        "SELECT p.uuid, p.customer_uuid, p.name, p.end_date FROM projection.projects p \
         WHERE p.customer_uuid = ANY(",
    );
    qb.push_bind(customers.to_vec());
    qb.push(")");
    if !caller.sees_all() {
        qb.push(" AND p.uuid IN (");
        push_with_caller(&mut qb, CONNECTED_PROJECTS, caller.uuid);
        qb.push(")");
    }
    qb.push(" ORDER BY p.name, p.uuid");
    let rows: Vec<ProjectBrief> = qb.build_query_as().fetch_all(&state.ledger.pool).await?;
    let mut by_customer: HashMap<Uuid, Vec<ProjectBrief>> = HashMap::new();
    for row in rows {
        by_customer.entry(row.customer_uuid).or_default().push(row);
    }
    Ok(by_customer)
}

async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let order = order_by(&params, ORDER_KEYS, "c.name", "c.uuid")?;
    let (total, rows, paging) = fetch_page::<CustomerRow>(
        &state.ledger.pool,
        SELECT,
        "projection.customers c",
        |qb| {
            qb.push(" WHERE true");
            push_visibility(qb, &caller);
            push_filters(qb, &params, &caller);
        },
        &order,
        paging,
    )
    .await?;
    let uuids: Vec<Uuid> = rows.iter().map(|r| r.uuid).collect();
    let projects = visible_projects(&state, &caller, &uuids).await?;
    let items = rows
        .iter()
        .map(|row| {
            let own = projects.get(&row.uuid).map(Vec::as_slice).unwrap_or(&[]);
            render(row, &links, own)
        })
        .collect();
    Ok(page_response(
        &links,
        "/api/customers/",
        &params,
        paging,
        total,
        items,
    ))
}

async fn fetch_visible(
    state: &ApiState,
    caller: &Caller,
    uuid: Uuid,
) -> Result<CustomerRow, ApiError> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {SELECT} FROM projection.customers c WHERE c.uuid = "
    ));
    qb.push_bind(uuid);
    push_visibility(&mut qb, caller);
    qb.build_query_as()
        .fetch_optional(&state.ledger.pool)
        .await?
        .ok_or(ApiError::NotFound("Customer"))
}

async fn rendered(
    state: &ApiState,
    caller: &Caller,
    links: &Links,
    uuid: Uuid,
) -> Result<Value, ApiError> {
    let row = fetch_visible(state, caller, uuid).await?;
    let projects = visible_projects(state, caller, &[uuid]).await?;
    let own = projects.get(&uuid).map(Vec::as_slice).unwrap_or(&[]);
    Ok(render(&row, links, own))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Customer")?;
    let params = QueryParams::parse(raw.as_deref());
    let item = rendered(&state, &caller, &links, uuid).await?;
    Ok(Json(select_fields(item, &params)))
}

/// Flag changes requested by staff: `Some(true)` to set, `Some(false)` to clear.
#[derive(Default)]
struct Flags {
    blocked: Option<bool>,
    archived: Option<bool>,
}

/// Reads the detail fields present in the body into validated changes.
fn read_details(form: &mut Form, caller: &Caller) -> (Map<String, Value>, Flags) {
    let mut changes = Map::new();
    if let Some(name) = form.required_str("name", 150) {
        changes.insert("name".into(), Value::String(name));
    }
    let mut text_fields = vec![
        ("native_name", 160),
        ("abbreviation", 12),
        ("contact_details", 2000),
        ("email", 75),
        ("phone_number", 255),
        ("registration_code", 160),
        ("homepage", 255),
        ("vat_code", 20),
        ("postal", 20),
        ("address", 300),
        ("bank_name", 150),
        ("bank_account", 50),
        ("country", 2),
        ("backend_id", 255),
    ];
    // Fields only staff may set; for others they are read-only and ignored.
    if caller.is_staff {
        text_fields.extend([
            ("agreement_number", 160),
            ("access_subnets", 2000),
            ("domain", 255),
        ]);
    }
    for (field, max_len) in text_fields {
        if let Some(value) = form.optional_str(field, max_len) {
            if field == "email" && !value.is_empty() && !valid_email(&value) {
                form.error(field, "Enter a valid email address.");
                continue;
            }
            if field == "phone_number" && !value.is_empty() && !valid_phone(&value) {
                form.error(field, "Invalid phone number format.");
                continue;
            }
            changes.insert(field.to_string(), Value::String(value));
        }
    }
    for field in ["latitude", "longitude"] {
        if let Some(value) = form.coordinate(field) {
            changes.insert(field.to_string(), json!(value));
        }
    }
    let mut flags = Flags::default();
    if caller.is_staff {
        flags.blocked = form.bool("blocked");
        flags.archived = form.bool("archived");
    }
    (changes, flags)
}

pub fn valid_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.contains(char::is_whitespace)
}

fn valid_phone(value: &str) -> bool {
    let digits = value.strip_prefix('+').unwrap_or(value);
    !digits.is_empty()
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || " -()".contains(c))
}

async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let mut form = Form::new(body);
    let (changes, flags) = read_details(&mut form, &caller);
    form.finish()?;
    // Waldur validates first, then refuses non-staff.
    crate::api::access::require_staff(&caller)?;
    let details = crate::domain::merge_changes(&CustomerDetails::default(), &changes)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let uuid = Uuid::new_v4();
    let ctx = caller.ctx();
    let slug = crate::read::slugs::next(&state.ledger.pool, "customers", &details.name).await?;
    let id = hex(uuid);
    let command = CustomerCommand::Create {
        uuid,
        slug,
        details,
        at: ctx.now,
    };
    state.ledger.execute::<Customer>(&id, command, &ctx).await?;
    if flags.blocked == Some(true) {
        let command = CustomerCommand::Block { at: ctx.now };
        state.ledger.execute::<Customer>(&id, command, &ctx).await?;
    }
    if flags.archived == Some(true) {
        let command = CustomerCommand::Archive { at: ctx.now };
        state.ledger.execute::<Customer>(&id, command, &ctx).await?;
    }
    let item = rendered(&state, &caller, &links, uuid).await?;
    Ok(created(links.object("customers", uuid), item))
}

async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    mut form: Form,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Customer")?;
    let current = fetch_visible(&state, &caller, uuid).await?;
    let (changes, flags) = read_details(&mut form, &caller);
    form.finish()?;
    require_permission(&state, &caller, "CUSTOMER.UPDATE", &[Scope::Customer(uuid)]).await?;
    // Waldur refuses any update of a blocked or archived customer; staff may clear the flag
    // (and change details in the same request), nothing else gets through.
    require_available(
        current.blocked && flags.blocked != Some(false),
        current.archived && flags.archived != Some(false),
    )?;
    let ctx = caller.ctx();
    let id = hex(uuid);
    let mut commands = Vec::new();
    // Clearing a flag comes first so that the same request may also change details.
    if flags.blocked == Some(false) && current.blocked {
        commands.push(CustomerCommand::Unblock { at: ctx.now });
    }
    if flags.archived == Some(false) && current.archived {
        commands.push(CustomerCommand::Unarchive { at: ctx.now });
    }
    if !changes.is_empty() {
        commands.push(CustomerCommand::Update {
            changes,
            at: ctx.now,
        });
    }
    if flags.blocked == Some(true) && !current.blocked {
        commands.push(CustomerCommand::Block { at: ctx.now });
    }
    if flags.archived == Some(true) && !current.archived {
        commands.push(CustomerCommand::Archive { at: ctx.now });
    }
    for command in commands {
        state.ledger.execute::<Customer>(&id, command, &ctx).await?;
    }
    let item = rendered(&state, &caller, &links, uuid).await?;
    Ok(Json(item).into_response())
}

/// 400 for a customer that is (and stays) blocked or archived; blocked is reported first.
fn require_available(blocked: bool, archived: bool) -> Result<(), ApiError> {
    if blocked {
        Err(CustomerError::Blocked.into_api())
    } else if archived {
        Err(CustomerError::Archived.into_api())
    } else {
        Ok(())
    }
}

async fn destroy(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Customer")?;
    let current = fetch_visible(&state, &caller, uuid).await?;
    require_permission(&state, &caller, "CUSTOMER.DELETE", &[Scope::Customer(uuid)]).await?;
    require_available(current.blocked, current.archived)?;
    if current.projects_count > 0 {
        return Err(ApiError::Conflict(
            "Cannot delete organization with existing projects".to_string(),
        ));
    }
    if current.service_provider_uuid.is_some() {
        return Err(ApiError::Conflict(
            "Cannot delete organization with existing service providers".to_string(),
        ));
    }
    let ctx = caller.ctx();
    let command = CustomerCommand::Delete { at: ctx.now };
    state
        .ledger
        .execute::<Customer>(&hex(uuid), command, &ctx)
        .await?;
    Ok(no_content())
}
