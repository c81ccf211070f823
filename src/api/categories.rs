//! `/api/marketplace-categories/`: readable by everyone, written by staff.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::access::require_staff;
use crate::api::auth::{Caller, MaybeCaller};
use crate::api::body::Body;
use crate::api::error::{ApiError, DomainError};
use crate::api::form::Form;
use crate::api::links::{Links, hex, parse_path_uuid};
use crate::api::list::{Paging, QueryParams, page_response, select_fields, sorts};
use crate::api::{ApiState, created, no_content};
use crate::domain::category::{Category, CategoryCommand, CategoryDetails, CategoryError};
use crate::read::categories::{self, CategoryFilter, CategoryRow, DefaultFlag};

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/marketplace-categories/", get(list).post(create))
        .route(
            "/api/marketplace-categories/{uuid}/",
            get(retrieve).patch(update).put(update).delete(destroy),
        )
}

impl DomainError for CategoryError {
    fn into_api(self) -> ApiError {
        match self {
            CategoryError::NotFound => ApiError::NotFound("Category"),
            CategoryError::BlankTitle => ApiError::field("title", crate::api::form::NOT_BLANK),
            CategoryError::InvalidChanges(message) => ApiError::invalid(message),
            CategoryError::AlreadyExists => ApiError::Conflict(self.to_string()),
        }
    }
}

/// The default flags of a category body, each held by one category at most.
const FLAGS: [(&str, DefaultFlag); 3] = [
    ("default_vm_category", DefaultFlag::Vm),
    ("default_volume_category", DefaultFlag::Volume),
    ("default_tenant_category", DefaultFlag::Tenant),
];

fn render(row: &CategoryRow, links: &Links) -> Value {
    json!({
        "url": links.object("marketplace-categories", row.uuid),
        "uuid": hex(row.uuid),
        "title": row.title,
        "description": row.description,
        "icon": null,
        "default_vm_category": row.default_vm_category,
        "default_volume_category": row.default_volume_category,
        "default_tenant_category": row.default_tenant_category,
        "offering_count": 0,
        "available_offerings_count": 0,
        "sections": [],
        "columns": [],
        "components": [],
        "articles": [],
        "group": null,
    })
}

async fn list(
    State(state): State<Arc<ApiState>>,
    _caller: MaybeCaller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let ordering = categories::ordering(&sorts(&params))?;
    let filter = CategoryFilter {
        title: params.get("title").map(str::to_string),
    };
    let page = categories::list(&state.ledger.pool, &filter, &ordering, paging).await?;
    let items = page.rows.iter().map(|row| render(row, &links)).collect();
    Ok(page_response(
        &links,
        "/api/marketplace-categories/",
        &params,
        page.paging,
        page.total,
        items,
    ))
}

async fn fetch(state: &ApiState, uuid: Uuid) -> Result<CategoryRow, ApiError> {
    categories::find(&state.ledger.pool, uuid)
        .await?
        .ok_or(ApiError::NotFound("Category"))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    _caller: MaybeCaller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Category")?;
    let params = QueryParams::parse(raw.as_deref());
    let row = fetch(&state, uuid).await?;
    Ok(Json(select_fields(render(&row, &links), &params)))
}

/// Reads the category fields present in the body; a default flag may be held by one
/// category only.
async fn read_changes(
    state: &ApiState,
    form: &mut Form,
    editing: Option<Uuid>,
) -> Result<Map<String, Value>, ApiError> {
    let mut changes = Map::new();
    if let Some(title) = form.required_str("title", 255) {
        changes.insert("title".into(), Value::String(title));
    }
    if let Some(description) = form.optional_str("description", 2000) {
        changes.insert("description".into(), Value::String(description));
    }
    for (flag, default) in FLAGS {
        if let Some(value) = form.bool(flag) {
            if value {
                let taken = categories::flag_holder(&state.ledger.pool, default, editing).await?;
                if taken.is_some() {
                    let words = flag.replace('_', " ");
                    form.error(
                        flag,
                        format!("A category with {words} as True already exists."),
                    );
                    continue;
                }
            }
            changes.insert(flag.to_string(), json!(value));
        }
    }
    Ok(changes)
}

async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let changes = read_changes(&state, &mut form, None).await?;
    form.finish()?;
    let details = crate::domain::merge_changes(&CategoryDetails::default(), &changes)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let uuid = Uuid::new_v4();
    let ctx = caller.ctx();
    let command = CategoryCommand::Create {
        uuid,
        details,
        at: ctx.now,
    };
    state
        .ledger
        .execute::<Category>(&hex(uuid), command, &ctx)
        .await?;
    let row = fetch(&state, uuid).await?;
    Ok(created(
        links.object("marketplace-categories", uuid),
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
    let uuid = parse_path_uuid(&raw_uuid, "Category")?;
    fetch(&state, uuid).await?;
    require_staff(&caller)?;
    let changes = read_changes(&state, &mut form, Some(uuid)).await?;
    form.finish()?;
    let ctx = caller.ctx();
    if !changes.is_empty() {
        let command = CategoryCommand::Update {
            changes,
            at: ctx.now,
        };
        state
            .ledger
            .execute::<Category>(&hex(uuid), command, &ctx)
            .await?;
    }
    let row = fetch(&state, uuid).await?;
    Ok(Json(render(&row, &links)).into_response())
}

async fn destroy(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Category")?;
    fetch(&state, uuid).await?;
    require_staff(&caller)?;
    let ctx = caller.ctx();
    let command = CategoryCommand::Delete { at: ctx.now };
    state
        .ledger
        .execute::<Category>(&hex(uuid), command, &ctx)
        .await?;
    Ok(no_content())
}
