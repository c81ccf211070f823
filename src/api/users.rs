//! `/api/users/`: the caller (`me/`), and staff management of users.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, DomainError};
use crate::api::form::Form;
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{Paging, QueryParams, page_response, parse_bool, select_fields, sorts};
use crate::api::{ApiState, created, roles};
use crate::app::directory::{self, CreateUserError, NewUser};
use crate::domain::user::{User, UserCommand, UserError, UserProfile};
use crate::read::users::{self, UserFilter, UserRow};

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/users/", get(list).post(create))
        .route("/api/users/me/", get(me))
        .route(
            "/api/users/{uuid}/",
            get(retrieve).patch(update).put(update),
        )
}

impl DomainError for UserError {
    fn into_api(self) -> ApiError {
        match self {
            UserError::NotFound => ApiError::NotFound("User"),
            UserError::BlankUsername => ApiError::field("username", crate::api::form::NOT_BLANK),
            UserError::InvalidChanges(message) => ApiError::invalid(message),
            UserError::AlreadyExists | UserError::DuplicateToken => {
                ApiError::Conflict(self.to_string())
            }
        }
    }
}

fn render(row: &UserRow, caller: &Caller, links: &Links, permissions: Vec<Value>) -> Value {
    let mut item = json!({
        "url": links.object("users", row.uuid),
        "uuid": hex(row.uuid),
        "username": row.username,
        "slug": row.slug,
        "full_name": row.full_name,
        "native_name": "",
        "job_title": row.job_title,
        "email": row.email,
        "phone_number": row.phone_number,
        "organization": row.organization,
        "civil_number": null,
        "description": row.description,
        "is_staff": row.is_staff,
        "is_active": row.is_active,
        "is_support": row.is_support,
        "token": null,
        "token_lifetime": null,
        "registration_method": "default",
        "date_joined": timestamp(row.date_joined),
        "agreement_date": null,
        "preferred_language": "",
        "permissions": permissions,
        "requested_email": null,
        "affiliations": [],
        "first_name": row.first_name,
        "last_name": row.last_name,
        "identity_provider_name": "Local DB",
        "identity_provider_label": "Local DB",
        "identity_provider_management_url": "",
        "identity_provider_fields": [],
        "image": null,
        "identity_source": "",
        "has_active_session": false,
    });
    let object = item.as_object_mut().expect("a user renders as an object");
    if row.uuid == caller.uuid {
        object.insert("token".into(), Value::String(caller.token.clone()));
    } else {
        object.remove("token");
        object.remove("token_lifetime");
    }
    if !caller.sees_all() {
        for hidden in ["is_active", "is_staff", "is_support", "description"] {
            object.remove(hidden);
        }
    }
    item
}

/// A uuid filter of the user list; one that does not parse matches nothing.
fn role_scope(params: &QueryParams, key: &str) -> Option<Uuid> {
    params
        .get(key)
        .map(|raw| Uuid::parse_str(raw).unwrap_or(Uuid::nil()))
}

/// The list filters of Waldur's `UserFilter`, read from the query string.
fn parse_filter(params: &QueryParams) -> UserFilter {
    let text = |key: &str| params.get(key).map(str::to_string);
    let flag = |key: &str| params.get(key).and_then(parse_bool);
    UserFilter {
        full_name: text("full_name"),
        email: text("email"),
        organization: text("organization"),
        job_title: text("job_title"),
        username: text("username"),
        phone_number: text("phone_number"),
        description: text("description"),
        is_active: flag("is_active"),
        is_staff: flag("is_staff"),
        is_support: flag("is_support"),
        query: text("query"),
        customer: role_scope(params, "customer_uuid"),
        project: role_scope(params, "project_uuid"),
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
    let ordering = users::ordering(&sorts(&params))?;
    let filter = parse_filter(&params);
    let page = users::list(
        &state.ledger.pool,
        &caller.viewer(),
        &filter,
        &ordering,
        paging,
    )
    .await?;
    let uuids: Vec<Uuid> = page.rows.iter().map(|r| r.uuid).collect();
    let mut permissions = roles::user_permissions(&state, &uuids).await?;
    let items = page
        .rows
        .iter()
        .map(|row| {
            let granted = permissions.remove(&row.uuid).unwrap_or_default();
            render(row, &caller, &links, granted)
        })
        .collect();
    Ok(page_response(
        &links,
        "/api/users/",
        &params,
        page.paging,
        page.total,
        items,
    ))
}

async fn fetch_visible(state: &ApiState, caller: &Caller, uuid: Uuid) -> Result<UserRow, ApiError> {
    users::find_visible(&state.ledger.pool, &caller.viewer(), uuid)
        .await?
        .ok_or(ApiError::NotFound("User"))
}

async fn rendered(
    state: &ApiState,
    caller: &Caller,
    links: &Links,
    uuid: Uuid,
) -> Result<Value, ApiError> {
    let row = fetch_visible(state, caller, uuid).await?;
    let granted = roles::user_permissions(state, &[row.uuid])
        .await?
        .remove(&row.uuid)
        .unwrap_or_default();
    Ok(render(&row, caller, links, granted))
}

async fn me(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let item = rendered(&state, &caller, &links, caller.uuid).await?;
    Ok(Json(select_fields(item, &params)))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "User")?;
    let params = QueryParams::parse(raw.as_deref());
    let item = rendered(&state, &caller, &links, uuid).await?;
    Ok(Json(select_fields(item, &params)))
}

/// Reads `email` into `changes`; on create it is required and may not be blank
/// (Waldur declares it `serializers.EmailField()`).
fn read_email(form: &mut Form, changes: &mut Map<String, Value>, required: bool) {
    let value = if required {
        form.required_str("email", 320)
    } else {
        form.optional_str("email", 320)
    };
    if let Some(value) = value {
        if !value.is_empty() && !crate::api::customers::valid_email(&value) {
            form.error("email", "Enter a valid email address.");
            return;
        }
        changes.insert("email".to_string(), Value::String(value));
    }
}

/// Reads the profile fields other than `email` present in the body into `changes`.
fn read_profile(form: &mut Form, changes: &mut Map<String, Value>) {
    for (field, max_len) in [
        ("first_name", 100),
        ("last_name", 100),
        ("organization", 255),
        ("job_title", 120),
        ("phone_number", 255),
        ("description", 2000),
    ] {
        if let Some(value) = form.optional_str(field, max_len) {
            changes.insert(field.to_string(), Value::String(value));
        }
    }
}

fn valid_username(username: &str) -> bool {
    username
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.@+-".contains(c))
}

async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    crate::api::access::require_staff(&caller)?;
    let mut form = Form::new(body);
    let username = form.required_str("username", 128);
    if let Some(name) = &username
        && !valid_username(name)
    {
        form.error("username", "Enter a valid username.");
    }
    let mut changes = Map::new();
    read_email(&mut form, &mut changes, true);
    read_profile(&mut form, &mut changes);
    let is_staff = form.bool("is_staff").unwrap_or(false);
    let is_support = form.bool("is_support").unwrap_or(false);
    if let Some(name) = &username
        && !form.has_error("username")
        && directory::find_user(&state.ledger.pool, name)
            .await?
            .is_some()
    {
        form.error("username", "user with this username already exists.");
    }
    form.finish()?;
    let username = username.expect("validated above");
    let profile: UserProfile = crate::domain::merge_changes(&UserProfile::default(), &changes)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let new = NewUser {
        slug: crate::read::slugs::next(&state.ledger.pool, "users", &username).await?,
        username,
        profile,
        is_staff,
        is_support,
    };
    let uuid = match directory::create_user(&state.ledger, &caller.ctx(), new).await {
        Ok(uuid) => uuid,
        Err(CreateUserError::UsernameTaken) => {
            return Err(ApiError::field(
                "username",
                "user with this username already exists.",
            ));
        }
        Err(CreateUserError::User(err)) => return Err(err.into()),
        Err(CreateUserError::Other(err)) => return Err(ApiError::Internal(err)),
    };
    let item = rendered(&state, &caller, &links, uuid).await?;
    Ok(created(links.object("users", uuid), item))
}

async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "User")?;
    fetch_visible(&state, &caller, uuid).await?;
    if !caller.is_staff && caller.uuid != uuid {
        return Err(ApiError::PermissionDenied);
    }
    let mut form = Form::partial(body);
    let mut changes = Map::new();
    read_email(&mut form, &mut changes, false);
    read_profile(&mut form, &mut changes);
    // Only staff change the flags; for others they are read-only and ignored.
    let flags = if caller.is_staff {
        (
            form.bool("is_staff"),
            form.bool("is_support"),
            form.bool("is_active"),
        )
    } else {
        (None, None, None)
    };
    form.finish()?;
    let ctx = caller.ctx();
    let command = UserCommand::Update {
        changes,
        is_staff: flags.0,
        is_support: flags.1,
        is_active: flags.2,
        at: ctx.now,
    };
    state
        .ledger
        .execute::<User>(&hex(uuid), command, &ctx)
        .await?;
    let item = rendered(&state, &caller, &links, uuid).await?;
    Ok(Json(item).into_response())
}
