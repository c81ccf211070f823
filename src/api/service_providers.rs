//! `/api/marketplace-service-providers/`: customers registered to publish offerings.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::access::require_permission;
use crate::api::auth::{Caller, MaybeCaller};
use crate::api::body::Body;
use crate::api::error::{ApiError, DomainError};
use crate::api::form::Form;
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{Paging, QueryParams, filter_uuid, page_response, select_fields, sorts};
use crate::api::{ApiState, created};
use crate::domain::customer::{Customer, CustomerCommand};
use crate::domain::service_provider::{
    ServiceProvider, ServiceProviderCommand, ServiceProviderError,
};
use crate::read::customers;
use crate::read::service_providers::{self, ProviderFilter, ProviderRow};
use crate::read::visibility::Scope;

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route(
            "/api/marketplace-service-providers/",
            get(list).post(create),
        )
        .route(
            "/api/marketplace-service-providers/{uuid}/",
            get(retrieve).patch(update).put(update),
        )
}

impl DomainError for ServiceProviderError {
    fn into_api(self) -> ApiError {
        match self {
            ServiceProviderError::NotFound => ApiError::NotFound("ServiceProvider"),
            ServiceProviderError::AlreadyExists => ApiError::field(
                "customer",
                "Service provider with this customer already exists.",
            ),
        }
    }
}

fn render(row: &ProviderRow, links: &Links, anonymous: bool) -> Value {
    let mut item = json!({
        "url": links.object("marketplace-service-providers", row.uuid),
        "uuid": hex(row.uuid),
        "created": timestamp(row.created),
        "description": row.description,
        "enable_notifications": row.enable_notifications,
        "customer": links.object("customers", row.customer_uuid),
        "customer_name": row.customer_name,
        "customer_uuid": hex(row.customer_uuid),
        "customer_image": null,
        "customer_abbreviation": row.customer_abbreviation,
        "customer_native_name": row.customer_native_name,
        "customer_country": row.customer_country,
        "customer_slug": row.customer_slug,
        "image": null,
        "organization_group": null,
        "organization_groups": [],
        "offering_count": 0,
        "allowed_domains": [],
    });
    if anonymous {
        item.as_object_mut()
            .expect("object")
            .remove("enable_notifications");
    }
    item
}

async fn list(
    State(state): State<Arc<ApiState>>,
    MaybeCaller(caller): MaybeCaller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let ordering = service_providers::ordering(&sorts(&params))?;
    let customer_from_url = params
        .get("customer")
        .map(|url| crate::api::form::parse_hyperlink(url, "customers").unwrap_or(Uuid::nil()));
    let filter = ProviderFilter {
        customers: [
            params.get("customer_uuid").map(filter_uuid),
            customer_from_url,
        ]
        .into_iter()
        .flatten()
        .collect(),
        customer_keyword: params.get("customer_keyword").map(str::to_string),
    };
    let page = service_providers::list(&state.ledger.pool, &filter, &ordering, paging).await?;
    let anonymous = caller.is_none();
    let items = page
        .rows
        .iter()
        .map(|row| render(row, &links, anonymous))
        .collect();
    Ok(page_response(
        &links,
        "/api/marketplace-service-providers/",
        &params,
        page.paging,
        page.total,
        items,
    ))
}

async fn fetch(state: &ApiState, uuid: Uuid) -> Result<ProviderRow, ApiError> {
    service_providers::find(&state.ledger.pool, uuid)
        .await?
        .ok_or(ApiError::NotFound("ServiceProvider"))
}

async fn retrieve(
    State(state): State<Arc<ApiState>>,
    MaybeCaller(caller): MaybeCaller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "ServiceProvider")?;
    let params = QueryParams::parse(raw.as_deref());
    let row = fetch(&state, uuid).await?;
    let item = render(&row, &links, caller.is_none());
    Ok(Json(select_fields(item, &params)))
}

async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let mut form = Form::new(body);
    let customer = form.hyperlink("customer", "customers", true);
    let description = form.optional_str("description", 2000).unwrap_or_default();
    let enable_notifications = form.bool("enable_notifications").unwrap_or(true);
    if let Some(uuid) = customer {
        let registered = customers::service_provider(&state.ledger.pool, uuid).await?;
        match registered {
            None => form.error("customer", "Invalid hyperlink - Object does not exist."),
            Some(Some(_)) => form.error(
                "customer",
                "Service provider with this customer already exists.",
            ),
            Some(None) => {}
        }
    }
    form.finish()?;
    let customer = customer.expect("validated above");
    require_permission(
        &state,
        &caller,
        "SERVICE_PROVIDER.REGISTER",
        &[Scope::Customer(customer)],
    )
    .await?;
    let uuid = Uuid::new_v4();
    let ctx = caller.ctx();
    // The customer aggregate admits one provider per customer, even under concurrency.
    let claim = CustomerCommand::RegisterServiceProvider {
        service_provider_uuid: uuid,
        at: ctx.now,
    };
    state
        .ledger
        .execute::<Customer>(&hex(customer), claim, &ctx)
        .await?;
    let command = ServiceProviderCommand::Register {
        uuid,
        customer_uuid: customer,
        description,
        enable_notifications,
        at: ctx.now,
    };
    state
        .ledger
        .execute::<ServiceProvider>(&hex(uuid), command, &ctx)
        .await?;
    let row = fetch(&state, uuid).await?;
    Ok(created(
        links.object("marketplace-service-providers", uuid),
        render(&row, &links, false),
    ))
}

async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    mut form: Form,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "ServiceProvider")?;
    let current = fetch(&state, uuid).await?;
    let owner = caller.is_staff
        || crate::api::access::roles_in(
            &state,
            caller.uuid,
            &[Scope::Customer(current.customer_uuid)],
        )
        .await?
        .contains("CUSTOMER.OWNER");
    if !owner {
        return Err(ApiError::PermissionDenied);
    }
    let description = form
        .optional_str("description", 2000)
        .unwrap_or(current.description.clone());
    let enable_notifications = form
        .bool("enable_notifications")
        .unwrap_or(current.enable_notifications);
    form.finish()?;
    let ctx = caller.ctx();
    let command = ServiceProviderCommand::Update {
        description,
        enable_notifications,
        at: ctx.now,
    };
    state
        .ledger
        .execute::<ServiceProvider>(&hex(uuid), command, &ctx)
        .await?;
    let row = fetch(&state, uuid).await?;
    Ok(Json(render(&row, &links, false)).into_response())
}
