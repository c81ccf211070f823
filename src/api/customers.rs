//! `/api/customers/`: organizations, their blocked/archived flags and their teams.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::access::require_permission;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, DomainError};
use crate::api::form::Form;
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{Paging, QueryParams, page_response, parse_bool, select_fields, sorts};
use crate::api::roles::{TeamScope, team_routes};
use crate::api::{ApiState, created, no_content};
use crate::domain::customer::{Customer, CustomerCommand, CustomerDetails, CustomerError};
use crate::read::customers::{self, CustomerFilter, CustomerRow, ProjectBrief};
use crate::read::visibility::Scope;

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

/// The list filters of Waldur's `CustomerFilter`, read from the query string.
fn parse_filter(params: &QueryParams, caller: &Caller) -> CustomerFilter {
    let text = |key: &str| params.get(key).map(str::to_string);
    let flag = |key: &str| params.get(key).and_then(parse_bool);
    CustomerFilter {
        name: text("name"),
        native_name: text("native_name"),
        abbreviation: text("abbreviation"),
        contact_details: text("contact_details"),
        name_exact: text("name_exact"),
        registration_code: text("registration_code"),
        agreement_number: text("agreement_number"),
        backend_id: text("backend_id"),
        slug: text("slug"),
        archived: flag("archived"),
        blocked: flag("blocked"),
        is_service_provider: flag("is_service_provider"),
        owned_by: (flag("owned_by_current_user") == Some(true)).then_some(caller.uuid),
        query: text("query"),
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
    let ordering = customers::ordering(&sorts(&params))?;
    let filter = parse_filter(&params, &caller);
    let pool = &state.ledger.pool;
    let viewer = caller.viewer();
    let page = customers::list(pool, &viewer, &filter, &ordering, paging).await?;
    let uuids: Vec<Uuid> = page.rows.iter().map(|r| r.uuid).collect();
    let projects = customers::visible_projects(pool, &viewer, &uuids).await?;
    let items = page
        .rows
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
        page.paging,
        page.total,
        items,
    ))
}

async fn fetch_visible(
    state: &ApiState,
    caller: &Caller,
    uuid: Uuid,
) -> Result<CustomerRow, ApiError> {
    customers::find_visible(&state.ledger.pool, &caller.viewer(), uuid)
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
    let projects =
        customers::visible_projects(&state.ledger.pool, &caller.viewer(), &[uuid]).await?;
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
