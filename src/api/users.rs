//! `/api/users/`: the caller (`me/`), and staff management of users.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sqlx::{FromRow, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, DomainError};
use crate::api::form::Form;
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{
    OrderKey, Paging, QueryParams, contains_pattern, fetch_page, order_by, page_response,
    push_bools, push_contains, push_exact, push_with_caller, select_fields,
};
use crate::api::{ApiState, created, roles};
use crate::app::directory::{self, CreateUserError, NewUser};
use crate::domain::user::{User, UserCommand, UserError, UserProfile};
use crate::read::visibility::{CONNECTED_CUSTOMERS, CONNECTED_PROJECTS};

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

#[derive(Debug, FromRow)]
struct UserRow {
    uuid: Uuid,
    username: String,
    slug: String,
    email: String,
    first_name: String,
    last_name: String,
    full_name: String,
    organization: String,
    job_title: String,
    phone_number: String,
    description: String,
    is_staff: bool,
    is_support: bool,
    is_active: bool,
    date_joined: DateTime<Utc>,
}

const COLUMNS: &str = "u.uuid, u.username, u.slug, u.email, u.first_name, u.last_name, \
    u.full_name, u.organization, u.job_title, u.phone_number, u.description, u.is_staff, \
    u.is_support, u.is_active, u.date_joined";

const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "full_name",
        sql: "u.full_name",
    },
    OrderKey {
        name: "email",
        sql: "u.email",
    },
    OrderKey {
        name: "phone_number",
        sql: "u.phone_number",
    },
    OrderKey {
        name: "description",
        sql: "u.description",
    },
    OrderKey {
        name: "organization",
        sql: "u.organization",
    },
    OrderKey {
        name: "job_title",
        sql: "u.job_title",
    },
    OrderKey {
        name: "username",
        sql: "u.username",
    },
    OrderKey {
        name: "is_active",
        sql: "u.is_active",
    },
    OrderKey {
        name: "is_staff",
        sql: "u.is_staff",
    },
    OrderKey {
        name: "is_support",
        sql: "u.is_support",
    },
    OrderKey {
        name: "date_joined",
        sql: "u.date_joined",
    },
    OrderKey {
        name: "registration_method",
        sql: "u.username",
    },
];

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

/// Restricts a user query to what the caller may see (Waldur's `filter_visible_users`):
/// themselves and the active, non-staff users holding roles where they hold roles.
fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, caller: &Caller) {
    if caller.sees_all() {
        return;
    }
    let connected = format!(
        "SELECT r.user_uuid FROM projection.user_roles r WHERE \
         (r.expiration_time IS NULL OR r.expiration_time > now()) AND \
         ((r.scope_type = 'customer' AND r.scope_uuid IN ({CONNECTED_CUSTOMERS})) OR \
          (r.scope_type = 'project' AND r.scope_uuid IN ({CONNECTED_PROJECTS})))"
    );
    qb.push(" AND (u.uuid = ");
    qb.push_bind(caller.uuid);
    qb.push(" OR (u.is_active AND NOT u.is_staff AND u.uuid IN (");
    push_with_caller(qb, &connected, caller.uuid);
    qb.push(")))");
}

fn push_filters(qb: &mut QueryBuilder<'_, Postgres>, params: &QueryParams) {
    push_contains(
        qb,
        params,
        &[
            ("full_name", "u.full_name"),
            ("email", "u.email"),
            ("organization", "u.organization"),
            ("job_title", "u.job_title"),
        ],
    );
    push_exact(
        qb,
        params,
        &[
            ("username", "u.username"),
            ("phone_number", "u.phone_number"),
            ("description", "u.description"),
        ],
    );
    push_bools(
        qb,
        params,
        &[
            ("is_active", "u.is_active"),
            ("is_staff", "u.is_staff"),
            ("is_support", "u.is_support"),
        ],
    );
    if let Some(query) = params.get("query") {
        let pattern = contains_pattern(query);
        qb.push(" AND (u.full_name ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR u.username ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR u.email ILIKE ");
        qb.push_bind(pattern);
        qb.push(")");
    }
    if let Some(raw) = params.get("customer_uuid") {
        let uuid = Uuid::parse_str(raw).unwrap_or(Uuid::nil());
        qb.push(
            " AND u.uuid IN (SELECT r.user_uuid FROM projection.user_roles r WHERE \
             (r.scope_type = 'customer' AND r.scope_uuid = ",
        );
        qb.push_bind(uuid);
        qb.push(
            ") OR (r.scope_type = 'project' AND r.scope_uuid IN \
             (SELECT p.uuid FROM projection.projects p WHERE p.customer_uuid = ",
        );
        qb.push_bind(uuid);
        qb.push(")))");
    }
    if let Some(raw) = params.get("project_uuid") {
        let uuid = Uuid::parse_str(raw).unwrap_or(Uuid::nil());
        qb.push(
            " AND u.uuid IN (SELECT r.user_uuid FROM projection.user_roles r \
             WHERE r.scope_type = 'project' AND r.scope_uuid = ",
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
    let order = order_by(&params, ORDER_KEYS, "u.username", "u.uuid")?;

    let (total, rows, paging) = fetch_page::<UserRow>(
        &state.ledger.pool,
        COLUMNS,
        "projection.users u",
        |qb| {
            qb.push(" WHERE true");
            push_visibility(qb, &caller);
            push_filters(qb, &params);
        },
        &order,
        paging,
    )
    .await?;
    let uuids: Vec<Uuid> = rows.iter().map(|r| r.uuid).collect();
    let mut permissions = roles::user_permissions(&state, &uuids).await?;
    let items = rows
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
        paging,
        total,
        items,
    ))
}

async fn fetch_visible(state: &ApiState, caller: &Caller, uuid: Uuid) -> Result<UserRow, ApiError> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {COLUMNS} FROM projection.users u WHERE u.uuid = "
    ));
    qb.push_bind(uuid);
    push_visibility(&mut qb, caller);
    qb.build_query_as()
        .fetch_optional(&state.ledger.pool)
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
