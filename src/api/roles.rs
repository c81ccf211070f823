//! Team management shared by customers and projects: `add_user`, `update_user`,
//! `delete_user` and `list_users`, plus the `permissions` list shown on users.
//!
//! Checks follow Waldur's `UserRoleMixin`: the scope must be visible (404), fields valid
//! (400), the customer available (400), then the permission — held on the customer, or on
//! the project itself for a project scope, where nobody manages their own role (403/400).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::access::has_permission;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiError;
use crate::api::form::{Form, REQUIRED, parse_datetime};
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{Paging, QueryParams, page_response};
use crate::domain::customer::{Customer, CustomerCommand, CustomerError};
use crate::domain::project::{Project, ProjectCommand, ProjectError};
use crate::domain::roles::RoleError;
use crate::permissions::RoleScope;
use crate::read;
use crate::read::roles::{GrantFilter, ScopeCustomer};
use crate::read::visibility::Scope;

/// Namespace for the stable uuids of roles and grants (which have no uuid of their own).
const ROLE_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_6467_6572_2d72_6f6c_6573_0000_0001);

/// The stable uuid of a role name.
pub fn role_uuid(role: &str) -> Uuid {
    Uuid::new_v5(&ROLE_NAMESPACE, role.as_bytes())
}

fn grant_uuid(scope_uuid: Uuid, user_uuid: Uuid, role: &str) -> Uuid {
    let key = format!("{}/{}/{}", scope_uuid.simple(), user_uuid.simple(), role);
    Uuid::new_v5(&ROLE_NAMESPACE, key.as_bytes())
}

/// Which kind of scope a team route works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamScope {
    Customer,
    Project,
}

impl TeamScope {
    fn model(self) -> &'static str {
        match self {
            TeamScope::Customer => "Customer",
            TeamScope::Project => "Project",
        }
    }

    fn scope(self, uuid: Uuid) -> Scope {
        match self {
            TeamScope::Customer => Scope::Customer(uuid),
            TeamScope::Project => Scope::Project(uuid),
        }
    }

    fn role_scope(self) -> RoleScope {
        match self {
            TeamScope::Customer => RoleScope::Customer,
            TeamScope::Project => RoleScope::Project,
        }
    }

    fn permission(self, action: TeamAction) -> &'static str {
        match (self, action) {
            (TeamScope::Customer, TeamAction::Add) => "CUSTOMER.CREATE_PERMISSION",
            (TeamScope::Customer, TeamAction::Update) => "CUSTOMER.UPDATE_PERMISSION",
            (TeamScope::Customer, TeamAction::Delete) => "CUSTOMER.DELETE_PERMISSION",
            (TeamScope::Project, TeamAction::Add) => "PROJECT.CREATE_PERMISSION",
            (TeamScope::Project, TeamAction::Update) => "PROJECT.UPDATE_PERMISSION",
            (TeamScope::Project, TeamAction::Delete) => "PROJECT.DELETE_PERMISSION",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamAction {
    Add,
    Update,
    Delete,
}

/// A scope the caller can see, with its customer's availability; else 404.
async fn visible_scope(
    state: &ApiState,
    caller: &Caller,
    kind: TeamScope,
    uuid: Uuid,
) -> Result<ScopeCustomer, ApiError> {
    let visible = match kind {
        TeamScope::Customer => {
            read::customers::is_visible(&state.ledger.pool, &caller.viewer(), uuid).await?
        }
        TeamScope::Project => {
            read::projects::is_visible(&state.ledger.pool, &caller.viewer(), uuid).await?
        }
    };
    if !visible {
        return Err(ApiError::NotFound(kind.model()));
    }
    read::roles::scope_customer(&state.ledger.pool, kind.scope(uuid))
        .await?
        .ok_or(ApiError::NotFound(kind.model()))
}

/// The validated body of a team mutation.
struct TeamRequest {
    user: Uuid,
    role: String,
    expiration_time: Option<DateTime<Utc>>,
}

async fn read_request(
    state: &ApiState,
    body: serde_json::Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<TeamRequest, ApiError> {
    let mut form = Form::new(body);
    let role = match form.raw("role") {
        None => {
            form.error("role", REQUIRED);
            None
        }
        Some(_) => form.required_str("role", 150),
    };
    // A role may be named or given by its uuid.
    let role = role.and_then(|name| {
        let by_uuid = Uuid::parse_str(&name).ok().and_then(|uuid| {
            crate::api::roles::known_roles(state)
                .into_iter()
                .find(|r| role_uuid(r) == uuid)
        });
        let resolved = by_uuid.unwrap_or(name);
        if state.ledger.permissions.is_role(&resolved) {
            Some(resolved)
        } else {
            form.error("role", "Role is not found.");
            None
        }
    });
    let user = form.uuid("user", true);
    if let Some(uuid) = user {
        let active = crate::read::users::is_active(&state.ledger.pool, uuid).await?;
        if active != Some(true) {
            form.error("user", "User is not found.");
        }
    }
    let expiration_time = match form.raw("expiration_time") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => match parse_datetime(text) {
            Some(at) if at <= now => {
                form.error(
                    "expiration_time",
                    "Expiration time should be greater than current time.",
                );
                None
            }
            Some(at) => Some(at),
            None => {
                form.error(
                    "expiration_time",
                    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DD, \
                     YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
                );
                None
            }
        },
        Some(_) => {
            form.error(
                "expiration_time",
                "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DD, \
                 YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
            );
            None
        }
    };
    form.finish()?;
    let role = role.expect("validated above");
    Ok(TeamRequest {
        user: user.expect("validated above"),
        role,
        expiration_time,
    })
}

/// The role names of the permission table.
pub fn known_roles(state: &ApiState) -> Vec<String> {
    [
        "CUSTOMER.OWNER",
        "CUSTOMER.MANAGER",
        "CUSTOMER.SUPPORT",
        "CUSTOMER.READER",
        "PROJECT.ADMIN",
        "PROJECT.MANAGER",
        "PROJECT.MEMBER",
        "OFFERING.MANAGER",
    ]
    .into_iter()
    .map(str::to_string)
    .filter(|r| state.ledger.permissions.is_role(r))
    .collect()
}

/// Runs a team mutation on a customer or project.
pub async fn mutate(
    state: Arc<ApiState>,
    caller: Caller,
    kind: TeamScope,
    raw_uuid: String,
    action: TeamAction,
    body: serde_json::Map<String, Value>,
) -> Result<Response, ApiError> {
    let scope_uuid = parse_path_uuid(&raw_uuid, kind.model())?;
    let info = visible_scope(&state, &caller, kind, scope_uuid).await?;
    let ctx = caller.ctx();
    let request = read_request(&state, body, ctx.now).await?;
    if info.customer_blocked || info.customer_archived {
        return Err(ApiError::field(
            "non_field_errors",
            "Customer is not available.",
        ));
    }
    let permission = kind.permission(action);
    let on_customer = has_permission(
        &state,
        &caller,
        permission,
        &[Scope::Customer(info.customer_uuid)],
    )
    .await?;
    if !on_customer {
        let on_scope = kind == TeamScope::Project
            && has_permission(&state, &caller, permission, &[Scope::Project(scope_uuid)]).await?;
        if !on_scope {
            return Err(ApiError::PermissionDenied);
        }
        if request.user == caller.uuid {
            return Err(ApiError::field(
                "non_field_errors",
                "User can not manage own role.",
            ));
        }
    }
    // Waldur checks the role's scope only when adding, after the permission checks.
    if action == TeamAction::Add && RoleScope::of(&request.role) != Some(kind.role_scope()) {
        return Err(ApiError::field(
            "non_field_errors",
            "Role is not valid for this scope.",
        ));
    }

    let TeamRequest {
        user,
        role,
        expiration_time,
    } = request;
    let at = ctx.now;
    let id = hex(scope_uuid);
    let outcome: Result<(), RoleError> = match kind {
        TeamScope::Customer => {
            let command = match action {
                TeamAction::Add => CustomerCommand::GrantRole {
                    user_uuid: user,
                    role,
                    expiration_time,
                    granted_by: ctx.actor.uuid(),
                    at,
                },
                TeamAction::Update => CustomerCommand::UpdateRole {
                    user_uuid: user,
                    role,
                    expiration_time,
                    at,
                },
                TeamAction::Delete => CustomerCommand::RevokeRole {
                    user_uuid: user,
                    role,
                    at,
                },
            };
            match state.ledger.execute::<Customer>(&id, command, &ctx).await {
                Ok(()) => Ok(()),
                Err(cqrs_es::AggregateError::UserError(CustomerError::Role(e))) => Err(e),
                Err(other) => return Err(other.into()),
            }
        }
        TeamScope::Project => {
            let command = match action {
                TeamAction::Add => ProjectCommand::GrantRole {
                    user_uuid: user,
                    role,
                    expiration_time,
                    granted_by: ctx.actor.uuid(),
                    at,
                },
                TeamAction::Update => ProjectCommand::UpdateRole {
                    user_uuid: user,
                    role,
                    expiration_time,
                    at,
                },
                TeamAction::Delete => ProjectCommand::RevokeRole {
                    user_uuid: user,
                    role,
                    at,
                },
            };
            match state.ledger.execute::<Project>(&id, command, &ctx).await {
                Ok(()) => Ok(()),
                Err(cqrs_es::AggregateError::UserError(ProjectError::Role(e))) => Err(e),
                Err(other) => return Err(other.into()),
            }
        }
    };
    let expiration = json!({ "expiration_time": expiration_time.map(timestamp) });
    match (action, outcome) {
        (TeamAction::Add, Ok(())) => {
            Ok((StatusCode::CREATED, axum::Json(expiration)).into_response())
        }
        (TeamAction::Update, Ok(())) => {
            Ok((StatusCode::OK, axum::Json(expiration)).into_response())
        }
        // Revoking a role the user does not hold changes nothing, as in Waldur.
        (TeamAction::Delete, Ok(())) | (TeamAction::Delete, Err(RoleError::NotGranted)) => {
            Ok(StatusCode::OK.into_response())
        }
        (_, Err(RoleError::AlreadyGranted)) => Err(ApiError::field(
            "non_field_errors",
            "User has already the same role in this scope.",
        )),
        (_, Err(RoleError::NotGranted)) => Err(ApiError::field(
            "non_field_errors",
            "User does not have this role in this scope.",
        )),
    }
}

/// `GET …/{uuid}/list_users/`: the grants in force on exactly this scope.
pub async fn list_users(
    state: Arc<ApiState>,
    caller: Caller,
    links: Links,
    kind: TeamScope,
    raw_uuid: String,
    raw_query: Option<String>,
) -> Result<Response, ApiError> {
    let scope_uuid = parse_path_uuid(&raw_uuid, kind.model())?;
    visible_scope(&state, &caller, kind, scope_uuid).await?;
    let params = QueryParams::parse(raw_query.as_deref());
    let paging = Paging::from_params(&params)?;

    let filter = GrantFilter {
        user: params.get("user").and_then(|s| Uuid::parse_str(s).ok()),
        role: params.get("role").map(str::to_string),
        search: params.get("search_string").map(str::to_string),
    };
    let page =
        read::roles::grants(&state.ledger.pool, kind.scope(scope_uuid), &filter, paging).await?;
    let items = page
        .rows
        .iter()
        .map(|row| {
            let mut item = json!({
                "uuid": hex(grant_uuid(scope_uuid, row.user_uuid, &row.role)),
                "created": timestamp(row.created),
                "expiration_time": row.expiration_time.map(timestamp),
                "role_name": row.role,
                "role_uuid": hex(role_uuid(&row.role)),
                "user_email": row.email,
                "user_full_name": row.full_name,
                "user_username": row.username,
                "user_uuid": hex(row.user_uuid),
                "user_image": null,
            });
            if let Some(created_by) = row.created_by {
                let object = item.as_object_mut().expect("object");
                object.insert(
                    "created_by_full_name".into(),
                    json!(row.created_by_full_name.clone().unwrap_or_default()),
                );
                object.insert("created_by_uuid".into(), json!(hex(created_by)));
            }
            item
        })
        .collect();
    let path = format!(
        "/api/{}/{}/list_users/",
        match kind {
            TeamScope::Customer => "customers",
            TeamScope::Project => "projects",
        },
        hex(scope_uuid)
    );
    Ok(page_response(
        &links,
        &path,
        &params,
        page.paging,
        page.total,
        items,
    ))
}

/// The `permissions` list of each given user (Waldur's `PermissionSerializer` items).
pub async fn user_permissions(
    state: &ApiState,
    users: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Value>>, ApiError> {
    let rows = read::roles::permissions(&state.ledger.pool, users).await?;
    let mut by_user: HashMap<Uuid, Vec<Value>> = HashMap::new();
    for row in rows {
        let mut item = json!({
            "user_uuid": hex(row.user_uuid),
            "user_name": row.username,
            "user_slug": row.user_slug,
            "created": timestamp(row.created),
            "expiration_time": row.expiration_time.map(timestamp),
            "role_name": row.role,
            "role_description": "",
            "role_uuid": hex(role_uuid(&row.role)),
            "scope_type": row.scope_type,
            "scope_uuid": hex(row.scope_uuid),
            "scope_name": row.scope_name.unwrap_or_default(),
        });
        let object = item.as_object_mut().expect("object");
        if let (Some(uuid), Some(name)) = (row.customer_uuid, row.customer_name) {
            object.insert("customer_uuid".into(), json!(hex(uuid)));
            object.insert("customer_name".into(), json!(name));
        }
        if let Some(username) = row.created_by_username {
            object.insert(
                "created_by_full_name".into(),
                json!(row.created_by_full_name.unwrap_or_default()),
            );
            object.insert("created_by_username".into(), json!(username));
        }
        by_user.entry(row.user_uuid).or_default().push(item);
    }
    Ok(by_user)
}

/// The team routes of one scope kind under `/api/{collection}/{uuid}/`.
pub fn team_routes(collection: &str, kind: TeamScope) -> Router<Arc<ApiState>> {
    let mutation = |action: TeamAction| {
        post(
            move |State(state): State<Arc<ApiState>>,
                  caller: Caller,
                  Path(uuid): Path<String>,
                  Body(body): Body| async move {
                mutate(state, caller, kind, uuid, action, body).await
            },
        )
    };
    let list = get(
        move |State(state): State<Arc<ApiState>>,
              caller: Caller,
              links: Links,
              Path(uuid): Path<String>,
              RawQuery(raw): RawQuery| async move {
            list_users(state, caller, links, kind, uuid, raw).await
        },
    );
    let base = format!("/api/{collection}/{{uuid}}");
    Router::new()
        .route(&format!("{base}/add_user/"), mutation(TeamAction::Add))
        .route(
            &format!("{base}/update_user/"),
            mutation(TeamAction::Update),
        )
        .route(
            &format!("{base}/delete_user/"),
            mutation(TeamAction::Delete),
        )
        .route(&format!("{base}/list_users/"), list)
}
