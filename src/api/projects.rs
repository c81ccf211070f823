//! `/api/projects/`: projects inside customers, their end dates and their teams.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::access::{has_permission, require_permission};
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, DomainError};
use crate::api::form::Form;
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{
    Paging, QueryParams, filter_uuid, page_response, parse_bool, select_fields, sorts,
};
use crate::api::roles::{TeamScope, team_routes};
use crate::api::{ApiState, created, no_content};
use crate::domain::project::{Project, ProjectCommand, ProjectDetails, ProjectError};
use crate::read::projects::{self, ProjectFilter, ProjectRow};
use crate::read::visibility::Scope;

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/projects/", get(list).post(create))
        .route(
            "/api/projects/{uuid}/",
            get(retrieve).patch(update).put(update).delete(destroy),
        )
        .merge(team_routes("projects", TeamScope::Project))
}

impl DomainError for ProjectError {
    fn into_api(self) -> ApiError {
        match self {
            ProjectError::NotFound => ApiError::NotFound("Project"),
            ProjectError::BlankName => ApiError::field("name", crate::api::form::NOT_BLANK),
            ProjectError::InvalidChanges(message) => ApiError::invalid(message),
            ProjectError::Role(err) => ApiError::field("non_field_errors", err.to_string()),
            ProjectError::AlreadyExists => ApiError::Conflict(self.to_string()),
        }
    }
}

fn render(row: &ProjectRow, links: &Links) -> Value {
    json!({
        "url": links.object("projects", row.uuid),
        "uuid": hex(row.uuid),
        "name": row.name,
        "slug": row.slug,
        "customer": links.object("customers", row.customer_uuid),
        "customer_uuid": hex(row.customer_uuid),
        "customer_name": row.customer_name,
        "customer_slug": row.customer_slug,
        "customer_native_name": row.customer_native_name,
        "customer_abbreviation": row.customer_abbreviation,
        "description": row.description,
        "created": timestamp(row.created),
        "type": null,
        "backend_id": row.backend_id,
        "start_date": row.start_date,
        "end_date": row.end_date,
        "end_date_requested_by": row.end_date_requested_by.map(|u| links.object("users", u)),
        "oecd_fos_2007_code": row.oecd_fos_2007_code,
        "oecd_fos_2007_label": null,
        "is_industry": row.is_industry,
        "image": null,
        "resources_count": 0,
        "is_removed": false,
        "billing_price_estimate": {"total": 0.0, "current": 0, "tax": 0, "tax_current": 0},
        "marketplace_resource_count": {},
    })
}

/// The list filters of Waldur's `ProjectFilter`, read from the query string.
fn parse_filter(params: &QueryParams, caller: &Caller) -> ProjectFilter {
    let text = |key: &str| params.get(key).map(str::to_string);
    let flag = |name: &str| params.get(name).and_then(parse_bool) == Some(true);
    // Staff manage and administer every project.
    let unless_staff = |set: bool| (set && !caller.is_staff).then_some(caller.uuid);
    ProjectFilter {
        name: text("name"),
        customer_name: text("customer_name"),
        customer_native_name: text("customer_native_name"),
        customer_abbreviation: text("customer_abbreviation"),
        description: text("description"),
        name_exact: text("name_exact"),
        backend_id: text("backend_id"),
        slug: text("slug"),
        customers: ["customer", "customer_uuid"]
            .into_iter()
            .filter_map(|key| params.get(key))
            .map(|raw| raw.split(',').map(filter_uuid).collect())
            .collect(),
        query: text("query"),
        managed_by: unless_staff(flag("can_manage")),
        administered_by: unless_staff(flag("can_admin")),
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
    let ordering = projects::ordering(&sorts(&params))?;
    let filter = parse_filter(&params, &caller);
    let page = projects::list(
        &state.ledger.pool,
        &caller.viewer(),
        &filter,
        &ordering,
        paging,
    )
    .await?;
    let items = page.rows.iter().map(|row| render(row, &links)).collect();
    Ok(page_response(
        &links,
        "/api/projects/",
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
) -> Result<ProjectRow, ApiError> {
    projects::find_visible(&state.ledger.pool, &caller.viewer(), uuid)
        .await?
        .ok_or(ApiError::NotFound("Project"))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Project")?;
    let params = QueryParams::parse(raw.as_deref());
    let row = fetch_visible(&state, &caller, uuid).await?;
    Ok(Json(select_fields(render(&row, &links), &params)))
}

/// The validated detail changes and end date of a project request.
struct ProjectInput {
    changes: Map<String, Value>,
    /// `Some(None)` clears the end date.
    end_date: Option<Option<NaiveDate>>,
}

/// Reads the project fields present in the body; dates in the past are refused with DRF's
/// nested body.
fn read_input(form: &mut Form, today: NaiveDate, creating: bool) -> Result<ProjectInput, ApiError> {
    let mut changes = Map::new();
    if let Some(name) = form.required_str("name", 500) {
        changes.insert("name".into(), Value::String(name));
    }
    for (field, max_len) in [("description", 2000), ("backend_id", 255)] {
        if let Some(value) = form.optional_str(field, max_len) {
            changes.insert(field.to_string(), Value::String(value.trim().to_string()));
        }
    }
    if let Some(code) = form.nullable_str("oecd_fos_2007_code", 80) {
        changes.insert("oecd_fos_2007_code".into(), json!(code));
    }
    if let Some(flag) = form.bool("is_industry") {
        changes.insert("is_industry".into(), json!(flag));
    }
    let start_date = form.nullable_date("start_date");
    let end_date = form.nullable_date("end_date");
    let mut nested = Map::new();
    for (field, value) in [("start_date", start_date), ("end_date", end_date)] {
        if let Some(Some(date)) = value
            && date < today
            && (creating || field == "end_date")
        {
            nested.insert(
                field.to_string(),
                json!({ field: "Cannot be earlier than the current date." }),
            );
        }
    }
    if let Some(start) = start_date {
        changes.insert("start_date".into(), json!(start));
    }
    if !nested.is_empty() {
        return Err(ApiError::InvalidBody(Value::Object(nested)));
    }
    Ok(ProjectInput { changes, end_date })
}

fn require_available(blocked: bool, archived: bool) -> Result<(), ApiError> {
    if blocked {
        Err(ApiError::invalid("Blocked organization is not available."))
    } else if archived {
        Err(ApiError::invalid("Archived organization is not available."))
    } else {
        Ok(())
    }
}

async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let ctx = caller.ctx();
    let mut form = Form::new(body);
    let customer = form.hyperlink("customer", "customers", true);
    if let Some(uuid) = customer
        && !crate::read::customers::is_visible(&state.ledger.pool, &caller.viewer(), uuid).await?
    {
        form.error("customer", "Invalid hyperlink - Object does not exist.");
    }
    let input = read_input(&mut form, ctx.now.date_naive(), true);
    form.finish()?;
    let input = input?;
    let customer = customer.expect("validated above");
    let scopes = [Scope::Customer(customer)];
    if matches!(input.end_date, Some(Some(_)))
        && !has_permission(&state, &caller, "PROJECT.DELETE", &scopes).await?
    {
        return Err(ApiError::PermissionDenied);
    }
    let customer_now = crate::read::customers::availability(&state.ledger.pool, customer)
        .await?
        .ok_or(ApiError::NotFound("Customer"))?;
    require_available(customer_now.blocked, customer_now.archived)?;
    require_permission(&state, &caller, "PROJECT.CREATE", &scopes).await?;

    let details = crate::domain::merge_changes(&ProjectDetails::default(), &input.changes)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let uuid = Uuid::new_v4();
    let slug = crate::read::slugs::next(&state.ledger.pool, "projects", &details.name).await?;
    let end_date = input.end_date.flatten();
    let id = hex(uuid);
    let command = ProjectCommand::Create {
        uuid,
        customer_uuid: customer,
        slug,
        details,
        end_date,
        at: ctx.now,
    };
    state.ledger.execute::<Project>(&id, command, &ctx).await?;
    if end_date.is_some() {
        let command = ProjectCommand::SetEndDate {
            end_date,
            requested_by: Some(caller.uuid),
            at: ctx.now,
        };
        state.ledger.execute::<Project>(&id, command, &ctx).await?;
    }
    let row = fetch_visible(&state, &caller, uuid).await?;
    Ok(created(
        links.object("projects", uuid),
        render(&row, &links),
    ))
}

async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    mut form: Form,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Project")?;
    let current = fetch_visible(&state, &caller, uuid).await?;
    let ctx = caller.ctx();
    // As in Waldur's ActionsViewSet: the permission (403) and the validators (400) come
    // before the body is read.
    let scopes = [Scope::Project(uuid), Scope::Customer(current.customer_uuid)];
    require_permission(&state, &caller, "PROJECT.UPDATE", &scopes).await?;
    require_available(current.customer_blocked, current.customer_archived)?;
    // The customer of a project never changes through an update.
    let input = read_input(&mut form, ctx.now.date_naive(), false);
    form.finish()?;
    let input = input?;
    if matches!(input.end_date, Some(Some(_))) {
        let customer = [Scope::Customer(current.customer_uuid)];
        require_permission(&state, &caller, "PROJECT.DELETE", &customer).await?;
    }
    let id = hex(uuid);
    if !input.changes.is_empty() {
        let command = ProjectCommand::Update {
            changes: input.changes,
            at: ctx.now,
        };
        state.ledger.execute::<Project>(&id, command, &ctx).await?;
    }
    if let Some(end_date) = input.end_date
        && end_date != current.end_date
    {
        let requested_by = match end_date {
            Some(_) => Some(caller.uuid),
            None => current.end_date_requested_by,
        };
        let command = ProjectCommand::SetEndDate {
            end_date,
            requested_by,
            at: ctx.now,
        };
        state.ledger.execute::<Project>(&id, command, &ctx).await?;
    }
    let row = fetch_visible(&state, &caller, uuid).await?;
    Ok(Json(render(&row, &links)).into_response())
}

async fn destroy(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Project")?;
    let current = fetch_visible(&state, &caller, uuid).await?;
    let customer = [Scope::Customer(current.customer_uuid)];
    require_permission(&state, &caller, "PROJECT.DELETE", &customer).await?;
    require_available(current.customer_blocked, current.customer_archived)?;
    let ctx = caller.ctx();
    let command = ProjectCommand::Delete { at: ctx.now };
    state
        .ledger
        .execute::<Project>(&hex(uuid), command, &ctx)
        .await?;
    Ok(no_content())
}
