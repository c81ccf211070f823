//! `/api/marketplace-remote-synchronisations/` (staff only), as the published client's
//! `marketplace_remote_synchronisations_*` functions and `RemoteSynchronisation` model
//! expect, plus the structured results Waldur lacks (`last_run/`, `runs/`), and
//! `/api/remote-waldur-api/remote_customers/` and `…/remote_categories/` that the Add dialog
//! asks with an address and a token.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::access::require_staff;
use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, FieldErrors, store_failure};
use crate::api::form::{Form, REQUIRED};
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{Paging, QueryParams, page_response};
use crate::api::{ApiState, created, no_content};
use crate::app::remote_sync::{self as app, NewSync, SyncChanges, SyncError};
use crate::domain::remote_sync::{MappingSpec, RemoteSyncError};
use crate::domain::sync_run::{OfferingChange, SyncRun};
use crate::read::remote_sync::{self as read, SyncView};

const COLLECTION: &str = "marketplace-remote-synchronisations";
const MODEL: &str = "RemoteSynchronisation";

pub fn router() -> Router<Arc<ApiState>> {
    let base = format!("/api/{COLLECTION}/{{uuid}}");
    Router::new()
        .route(&format!("/api/{COLLECTION}/"), get(list).post(create))
        .route(
            &format!("{base}/"),
            get(retrieve).put(update).patch(update).delete(destroy),
        )
        .route(&format!("{base}/run_synchronisation/"), post(run))
        .route(&format!("{base}/last_run/"), get(last_run))
        .route(&format!("{base}/runs/"), get(runs))
        .route(
            "/api/remote-waldur-api/remote_customers/",
            post(remote_customers),
        )
        .route(
            "/api/remote-waldur-api/remote_categories/",
            post(remote_categories),
        )
}

impl From<SyncError> for ApiError {
    fn from(err: SyncError) -> Self {
        match err {
            SyncError::Fields(fields) => {
                let mut errors = FieldErrors::new();
                for (field, message) in fields {
                    errors.entry(field).or_default().push(message);
                }
                ApiError::Fields(errors)
            }
            SyncError::Refused(message) => ApiError::invalid(message),
            SyncError::NotFound => ApiError::NotFound(MODEL),
            SyncError::Busy => ApiError::Conflict(err.to_string()),
            SyncError::Command(cqrs_es::AggregateError::UserError(inner)) => match inner {
                RemoteSyncError::NotFound => ApiError::NotFound(MODEL),
                RemoteSyncError::NoMappings | RemoteSyncError::DuplicateRemoteCategories => {
                    ApiError::invalid(inner.to_string())
                }
                other => ApiError::Conflict(other.to_string()),
            },
            SyncError::Command(other) => store_failure(other),
            SyncError::Run(other) => store_failure(other),
            SyncError::Secret(secret) => {
                ApiError::Internal(anyhow::Error::new(secret).context("the stored token"))
            }
            SyncError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// The names the rendering needs beside the documents: the provider's customer and the
/// local categories.
struct Names {
    providers: HashMap<Uuid, String>,
    categories: HashMap<Uuid, String>,
}

impl Names {
    async fn of(state: &ApiState, views: &[SyncView]) -> Result<Self, ApiError> {
        let mut providers = HashMap::new();
        for view in views {
            let uuid = view.sync.local_service_provider_uuid;
            if let std::collections::hash_map::Entry::Vacant(slot) = providers.entry(uuid)
                && let Some((_, name)) = read::provider_customer(&state.ledger.pool, uuid).await?
            {
                slot.insert(name);
            }
        }
        let wanted: Vec<Uuid> = views
            .iter()
            .flat_map(|v| v.sync.mappings.iter().map(|m| m.local_category_uuid))
            .collect();
        let categories = read::category_titles(&state.ledger.pool, &wanted).await?;
        Ok(Self {
            providers,
            categories,
        })
    }
}

fn state_display(run: Option<&SyncRun>) -> &'static str {
    run.map(|r| r.state.as_str()).unwrap_or("Scheduled")
}

fn render(view: &SyncView, token: &str, names: &Names, links: &Links) -> Value {
    let sync = &view.sync;
    let uuid = sync.uuid.unwrap_or_default();
    let run = view.last_run.as_ref();
    let mappings: Vec<Value> = sync
        .mappings
        .iter()
        .map(|m| {
            json!({
                "local_category": links.object("marketplace-categories", m.local_category_uuid),
                "remote_category": m.remote_category_uuid.to_string(),
                "local_category_name": names.categories.get(&m.local_category_uuid)
                    .cloned().unwrap_or_default(),
                "local_category_uuid": hex(m.local_category_uuid),
                "remote_category_name": m.remote_category_name,
            })
        })
        .collect();
    json!({
        "uuid": hex(uuid),
        "url": links.object(COLLECTION, uuid),
        "api_url": format!("{}/api/", sync.api_url),
        "token": token,
        "remote_organization_uuid": sync.remote_organization_uuid.to_string(),
        "remote_organization_name": sync.remote_organization_name,
        "local_service_provider": links.object(
            "marketplace-service-providers",
            sync.local_service_provider_uuid,
        ),
        "local_service_provider_name": names.providers
            .get(&sync.local_service_provider_uuid).cloned().unwrap_or_default(),
        "is_active": sync.is_active,
        "last_execution": run.and_then(|r| r.finished.or(r.started)).map(timestamp),
        "last_output": run.map(|r| r.log.as_str()).unwrap_or(""),
        "get_state_display": state_display(run),
        "error_message": run.map(|r| r.error_message.as_str()).unwrap_or(""),
        "created": sync.created.map(timestamp),
        "modified": sync.modified.map(timestamp),
        "remotelocalcategory_set": mappings,
    })
}

/// The token as staff read it back. One that cannot be decrypted (the ledger was started
/// with another secret key) shows as empty rather than failing the whole answer; its runs
/// end Erred saying so.
async fn shown_token(state: &ApiState, view: &SyncView) -> String {
    match app::reveal_token(&state.ledger, &view.sync).await {
        Ok(token) => token,
        Err(err) => {
            tracing::warn!(sync = ?view.sync.uuid, error = %err, "a sync's token cannot be read");
            String::new()
        }
    }
}

async fn render_one(state: &ApiState, view: &SyncView, links: &Links) -> Result<Value, ApiError> {
    let token = shown_token(state, view).await;
    let names = Names::of(state, std::slice::from_ref(view)).await?;
    Ok(render(view, &token, &names, links))
}

async fn fetch(state: &ApiState, uuid: Uuid) -> Result<SyncView, ApiError> {
    read::get(&state.ledger.pool, uuid)
        .await?
        .ok_or(ApiError::NotFound(MODEL))
}

async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let params = QueryParams::parse(raw.as_deref());
    let total = read::count(&state.ledger.pool).await?;
    let paging = Paging::from_params(&params)?.resolve(total)?;
    let views = read::page(&state.ledger.pool, paging.offset(), paging.limit()).await?;
    let names = Names::of(&state, &views).await?;
    let mut items = Vec::with_capacity(views.len());
    for view in &views {
        let token = shown_token(&state, view).await;
        items.push(render(view, &token, &names, &links));
    }
    Ok(page_response(
        &links,
        &format!("/api/{COLLECTION}/"),
        &params,
        paging,
        total,
        items,
    ))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, MODEL)?;
    let view = fetch(&state, uuid).await?;
    Ok(Json(render_one(&state, &view, &links).await?))
}

/// Reads `remotelocalcategory_set`: a list of `{local_category, remote_category,
/// remote_category_name?}`, with DRF's per-item errors.
fn read_mappings(form: &mut Form, required: bool) -> Option<Vec<MappingSpec>> {
    const FIELD: &str = "remotelocalcategory_set";
    let raw = match form.raw(FIELD) {
        None => {
            if required {
                form.error(FIELD, REQUIRED);
            }
            return None;
        }
        Some(Value::Array(items)) => items.clone(),
        Some(other) => {
            form.error(
                FIELD,
                format!(
                    "Expected a list of items but got type \"{}\".",
                    crate::api::body::python_type_name(other)
                ),
            );
            return None;
        }
    };
    let mut specs = Vec::with_capacity(raw.len());
    let mut item_errors = Vec::with_capacity(raw.len());
    let mut failed = false;
    for item in raw {
        let Value::Object(map) = item else {
            failed = true;
            item_errors.push(json!({"non_field_errors": [
                "Invalid data. Expected a dictionary, but got str."
            ]}));
            continue;
        };
        let mut inner = Form::new(map);
        let local = inner.hyperlink("local_category", "marketplace-categories", true);
        let remote = inner.uuid("remote_category", true);
        let name = inner.optional_str("remote_category_name", 255);
        match (inner.into_error_value(), local, remote) {
            (None, Some(local), Some(remote)) => {
                specs.push(MappingSpec {
                    local_category_uuid: local,
                    remote_category_uuid: remote,
                    remote_category_name: name,
                });
                item_errors.push(json!({}));
            }
            (errors, _, _) => {
                failed = true;
                item_errors.push(errors.unwrap_or_else(|| json!({})));
            }
        }
    }
    if failed {
        form.error_value(FIELD, Value::Array(item_errors));
        return None;
    }
    Some(specs)
}

async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let mut form = Form::new(body);
    let api_url = form.required_str("api_url", 200);
    let token = form.required_str("token", 255);
    let organization = form.uuid("remote_organization_uuid", true);
    let organization_name = form.required_str("remote_organization_name", 150);
    let provider = form.hyperlink(
        "local_service_provider",
        "marketplace-service-providers",
        true,
    );
    let is_active = form.bool("is_active").unwrap_or(true);
    let mappings = read_mappings(&mut form, true);
    form.finish()?;
    let new = NewSync {
        api_url: api_url.expect("validated"),
        token: token.expect("validated"),
        remote_organization_uuid: organization.expect("validated"),
        remote_organization_name: organization_name.expect("validated"),
        local_service_provider_uuid: provider.expect("validated"),
        mappings: mappings.expect("validated"),
        is_active,
    };
    let uuid = app::create(&state.ledger, new, &caller.ctx()).await?;
    let view = fetch(&state, uuid).await?;
    Ok(created(
        links.object(COLLECTION, uuid),
        render_one(&state, &view, &links).await?,
    ))
}

/// PUT and PATCH: the fields given change; `remote_organization_uuid` is ignored, as Waldur
/// protects it on update.
async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    mut form: Form,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, MODEL)?;
    fetch(&state, uuid).await?;
    let changes = SyncChanges {
        api_url: form.optional_str("api_url", 200),
        token: form.optional_str("token", 255),
        remote_organization_name: form.optional_str("remote_organization_name", 150),
        local_service_provider_uuid: form.hyperlink(
            "local_service_provider",
            "marketplace-service-providers",
            false,
        ),
        mappings: read_mappings(&mut form, false),
        is_active: form.bool("is_active"),
    };
    form.finish()?;
    app::update(&state.ledger, uuid, changes, &caller.ctx()).await?;
    let view = fetch(&state, uuid).await?;
    Ok(Json(render_one(&state, &view, &links).await?))
}

async fn destroy(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, MODEL)?;
    app::delete(&state.ledger, uuid, &caller.ctx()).await?;
    Ok(no_content())
}

/// Runs the sync now and answers it as it stands after the run (200, as Waldur does, also
/// when the run ended Erred).
async fn run(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, MODEL)?;
    fetch(&state, uuid).await?;
    app::runner::run(&state.ledger, uuid, caller.ctx().actor, &mut |_| {}).await?;
    let view = fetch(&state, uuid).await?;
    Ok(Json(render_one(&state, &view, &links).await?))
}

fn render_change(change: &OfferingChange, links: &Links) -> Value {
    let mut item = json!({
        "uuid": hex(change.offering_uuid),
        "url": links.object("marketplace-provider-offerings", change.offering_uuid),
        "name": change.name,
        "remote_uuid": change.remote_uuid.map(hex),
    });
    if !change.fields.is_empty() {
        item["changed_fields"] = json!(change.fields);
    }
    item
}

/// A run with its counts and the offerings it touched.
fn render_run(sync_uuid: Uuid, run: &SyncRun, links: &Links) -> Value {
    let created: Vec<Value> = run.created().map(|c| render_change(c, links)).collect();
    let updated: Vec<Value> = run.updated().map(|c| render_change(c, links)).collect();
    let archived: Vec<Value> = run
        .archived
        .iter()
        .map(|c| render_change(c, links))
        .collect();
    let categories: Vec<Value> = run
        .categories
        .iter()
        .map(|c| {
            json!({
                "remote_category_uuid": hex(c.remote_category_uuid),
                "remote_category_name": c.remote_category_name,
                "local_category_uuid": hex(c.local_category_uuid),
                "found": c.remote_category_name.is_some(),
                "offerings": c.offerings,
            })
        })
        .collect();
    json!({
        "uuid": run.uuid.map(hex),
        "synchronisation_uuid": hex(sync_uuid),
        "state": run.state.as_str(),
        "started": run.started.map(timestamp),
        "finished": run.finished.map(timestamp),
        "counts": {
            "categories": run.categories.len(),
            "offerings_seen": run.categories.iter().map(|c| c.offerings).sum::<u32>(),
            "created": created.len(),
            "updated": updated.len(),
            "archived": archived.len(),
            "errors": run.all_errors().len(),
        },
        "categories": categories,
        "offerings_created": created,
        "offerings_updated": updated,
        "offerings_archived": archived,
        "errors": run.all_errors(),
        "error_message": run.error_message,
        "log": run.log,
    })
}

async fn last_run(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, MODEL)?;
    let view = fetch(&state, uuid).await?;
    match &view.last_run {
        Some(run) => Ok(Json(render_run(uuid, run, &links))),
        None => Err(ApiError::NotFoundDetail(
            "This synchronisation has not run yet.".to_string(),
        )),
    }
}

async fn runs(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require_staff(&caller)?;
    let uuid = parse_path_uuid(&raw_uuid, MODEL)?;
    fetch(&state, uuid).await?;
    let params = QueryParams::parse(raw.as_deref());
    let total = read::run_count(&state.ledger.pool, uuid).await?;
    let paging = Paging::from_params(&params)?.resolve(total)?;
    let runs = read::runs(&state.ledger.pool, uuid, paging.offset(), paging.limit()).await?;
    let items = runs.iter().map(|r| render_run(uuid, r, &links)).collect();
    Ok(page_response(
        &links,
        &format!("/api/{COLLECTION}/{}/runs/", hex(uuid)),
        &params,
        paging,
        total,
        items,
    ))
}

/// `{api_url, token}` of the remote-waldur-api endpoints.
fn credentials(body: Map<String, Value>) -> Result<(String, String), ApiError> {
    let mut form = Form::new(body);
    let api_url = form.required_str("api_url", 200);
    let token = form.required_str("token", 255);
    form.finish()?;
    Ok((api_url.expect("validated"), token.expect("validated")))
}

async fn remote_customers(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let (api_url, token) = credentials(body)?;
    let customers = app::remote_customers(&state.ledger, &api_url, &token).await?;
    let items: Vec<Value> = customers
        .into_iter()
        .map(|c| {
            let get = |key: &str| c.get(key).and_then(Value::as_str).unwrap_or("").to_string();
            json!({
                "uuid": get("uuid"),
                "name": get("name"),
                "abbreviation": get("abbreviation"),
                "phone_number": get("phone_number"),
                "email": get("email"),
            })
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

async fn remote_categories(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&caller)?;
    let (api_url, token) = credentials(body)?;
    let categories = app::remote_categories(&state.ledger, &api_url, &token).await?;
    Ok(Json(Value::Array(categories)))
}
