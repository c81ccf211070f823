//! Actions on a resource. The provider sets its backend id; the consumer asks for changes,
//! each of which places an order through the same path as Create orders
//! ([`crate::api::orders::placement`]): `update_limits` and `switch_plan` place Update
//! orders, `terminate` a Terminate order, and the resource moves to Updating or
//! Terminating until the order ends.
//!
//! Providers terminate from their side too (`/api/marketplace-provider-resources/{uuid}/terminate/`).
//!
//! Checks run in Waldur's order: the caller sees the resource (404), holds the permission
//! (403), then the validators: the resource's state (409), the organization (400), no
//! pending order for the resource (400), then the body.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::access::require_permission;
use crate::api::auth::Caller;
use crate::api::body::{Body, dict_field, python_type_name};
use crate::api::error::ApiError;
use crate::api::links::hex;
use crate::api::offerings::{OfferingRecord, find_record};
use crate::api::orders::placement::{
    PlanRef, check_limits, check_plan, command_failed, cost_overflow, parse_limits, parse_plan_url,
    place,
};
use crate::domain::offering::model::OfferingState;
use crate::domain::offering::pricing::{CostOverflow, OrderPrices, order_prices};
use crate::domain::order::{OrderSpec, OrderType};
use crate::domain::resource::{Resource, ResourceCommand, ResourceSpec, ResourceState};
use crate::read::visibility::Scope;

use super::{Side, fetch};

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route(
            "/api/marketplace-provider-resources/{uuid}/set_backend_id/",
            post(set_backend_id),
        )
        .route(
            "/api/marketplace-resources/{uuid}/terminate/",
            post(|s, c, p, b| terminate(s, c, p, b, Side::Consumer)),
        )
        .route(
            "/api/marketplace-provider-resources/{uuid}/terminate/",
            post(|s, c, p, b| terminate(s, c, p, b, Side::Provider)),
        )
        .route(
            "/api/marketplace-resources/{uuid}/update_limits/",
            post(update_limits),
        )
        .route(
            "/api/marketplace-resources/{uuid}/switch_plan/",
            post(switch_plan),
        )
}

/// A resource as its actions need it.
struct Target {
    resource: Resource,
    spec: ResourceSpec,
    record: OfferingRecord,
    project_name: String,
    project_start_date: Option<NaiveDate>,
    project_end_date: Option<NaiveDate>,
    customer_blocked: bool,
    customer_archived: bool,
}

/// The resource if the caller sees it from `side`, else 404.
async fn load(
    state: &ApiState,
    caller: &Caller,
    raw_uuid: &str,
    side: Side,
) -> Result<Target, ApiError> {
    let row = fetch(state, caller, raw_uuid, side).await?;
    let resource: Resource = serde_json::from_value(row.resource_doc)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e).context("decoding a resource")))?;
    let spec = resource
        .spec
        .clone()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a resource without its creation")))?;
    let offering_uuid = spec.offering_uuid;
    let record = find_record(state, offering_uuid)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a resource without its offering")))?;
    let consumer = crate::read::projects::standing(&state.ledger.pool, spec.project_uuid).await?;
    Ok(Target {
        resource,
        spec,
        record,
        project_name: consumer
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        project_start_date: consumer.as_ref().and_then(|p| p.start_date),
        project_end_date: consumer.as_ref().and_then(|p| p.end_date),
        customer_blocked: consumer.as_ref().is_some_and(|p| p.customer_blocked),
        customer_archived: consumer.as_ref().is_some_and(|p| p.customer_archived),
    })
}

impl Target {
    fn consumer_scopes(&self) -> Vec<Scope> {
        vec![
            Scope::Project(self.spec.project_uuid),
            Scope::Customer(self.spec.customer_uuid),
        ]
    }

    fn provider_scope(&self) -> Scope {
        Scope::Customer(self.record.offering.customer_uuid)
    }

    /// 409 unless the resource is in one of `valid`.
    fn require_state(&self, valid: &[ResourceState]) -> Result<(), ApiError> {
        if valid.contains(&self.resource.state) {
            Ok(())
        } else {
            let names: Vec<&str> = valid.iter().map(|s| s.as_str()).collect();
            Err(ApiError::invalid_state(&names))
        }
    }

    /// 400 when the consumer's organization is blocked or archived.
    fn require_customer_ok(&self) -> Result<(), ApiError> {
        if self.customer_blocked {
            Err(ApiError::invalid("Blocked organization is not available."))
        } else if self.customer_archived {
            Err(ApiError::invalid("Archived organization is not available."))
        } else {
            Ok(())
        }
    }

    /// 400 when an order for the resource is still pending or executing.
    async fn require_no_pending_order(&self, state: &ApiState) -> Result<(), ApiError> {
        let pending =
            crate::read::orders::resource_has_pending(&state.ledger.pool, self.spec.uuid).await?;
        if pending {
            Err(ApiError::invalid(
                "Pending order for resource already exists.",
            ))
        } else {
            Ok(())
        }
    }

    /// What `validate_order` asks of orders other than Terminate: the project is not
    /// expired and the offering takes orders.
    fn require_orderable(&self, today: NaiveDate) -> Result<(), ApiError> {
        if self.project_end_date.is_some_and(|end| end <= today) {
            return Err(ApiError::invalid(format!(
                "Project '{}' is expired.",
                self.project_name
            )));
        }
        if !matches!(
            self.record.offering.state,
            OfferingState::Active | OfferingState::Paused
        ) {
            return Err(ApiError::field("offering", "Offering is not available."));
        }
        Ok(())
    }

    /// An Update or Terminate order for the resource, priced; the caller names the field
    /// to blame when its cost cannot be represented.
    fn order(
        &self,
        caller: &Caller,
        order_type: OrderType,
        plan_uuid: Option<Uuid>,
        limits: BTreeMap<String, i64>,
        attributes: Map<String, Value>,
    ) -> Result<OrderSpec, CostOverflow> {
        let offering = &self.record.offering;
        let plan = plan_uuid.and_then(|uuid| offering.plan(uuid));
        let OrderPrices {
            cost,
            fixed_price,
            activation_price,
        } = order_prices(offering, plan, &limits, order_type)?;
        Ok(OrderSpec {
            uuid: Uuid::new_v4(),
            order_type,
            resource_uuid: self.spec.uuid,
            offering_uuid: self.spec.offering_uuid,
            project_uuid: self.spec.project_uuid,
            customer_uuid: self.spec.customer_uuid,
            provider_customer_uuid: offering.customer_uuid,
            plan_uuid,
            old_plan_uuid: self.resource.plan_uuid,
            limits,
            old_limits: self.resource.limits.clone(),
            attributes,
            cost,
            fixed_price,
            activation_price,
            created_by: caller.uuid,
            callback_url: None,
            request_comment: String::new(),
            start_date: None,
            slug: self.spec.slug.clone(),
        })
    }

    /// Places the order and moves the resource to Updating or Terminating, together.
    async fn begin(
        &self,
        state: &ApiState,
        caller: &Caller,
        spec: OrderSpec,
    ) -> Result<Response, ApiError> {
        let ctx = caller.ctx();
        let order_uuid = spec.uuid;
        let begin = ResourceCommand::BeginChange {
            order_type: spec.order_type,
            at: ctx.now,
        };
        place(
            state,
            caller,
            &self.record,
            spec,
            begin,
            self.project_start_date,
            &ctx,
        )
        .await?;
        Ok(Json(json!({ "order_uuid": hex(order_uuid) })).into_response())
    }
}

async fn set_backend_id(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid, Side::Provider).await?;
    require_permission(
        &state,
        &caller,
        "RESOURCE.SET_BACKEND_ID",
        &[target.provider_scope()],
    )
    .await?;
    let Body(body) = body?;
    let backend_id = match body.get("backend_id") {
        None => return Err(ApiError::field("backend_id", "This field is required.")),
        Some(Value::Null) => {
            return Err(ApiError::field("backend_id", "This field may not be null."));
        }
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(ApiError::field("backend_id", "Not a valid string.")),
    };
    if backend_id.chars().count() > 255 {
        return Err(ApiError::field(
            "backend_id",
            "Ensure this field has no more than 255 characters.",
        ));
    }
    if backend_id == target.resource.backend_id {
        return Ok(Json(json!({"status": "Resource backend_id is not changed."})).into_response());
    }
    let ctx = caller.ctx();
    state
        .ledger
        .execute::<Resource>(
            &hex(target.spec.uuid),
            ResourceCommand::SetBackendId {
                backend_id,
                at: ctx.now,
            },
            &ctx,
        )
        .await
        .map_err(command_failed)?;
    Ok(Json(json!({"status": "Resource backend_id has been changed."})).into_response())
}

async fn terminate(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: Result<Body, ApiError>,
    side: Side,
) -> Result<Response, ApiError> {
    let target = load(&state, &caller, &raw_uuid, side).await?;
    let mut scopes = target.consumer_scopes();
    scopes.push(target.provider_scope());
    require_permission(&state, &caller, "RESOURCE.TERMINATE", &scopes).await?;
    target.require_state(&[ResourceState::Ok, ResourceState::Erred])?;
    if !caller.is_staff {
        target.require_customer_ok()?;
    }
    target.require_no_pending_order(&state).await?;
    let Body(body) = body?;
    let attributes = dict_field(&body, "attributes")?;
    let spec = target
        .order(
            &caller,
            OrderType::Terminate,
            None,
            BTreeMap::new(),
            attributes,
        )
        .map_err(|_| cost_overflow("plan"))?;
    target.begin(&state, &caller, spec).await
}

/// The resource for a consumer's change of limits or plan, once the checks both share
/// pass: visibility (404), permission (403), state (409), organization and no other
/// pending order (400).
async fn changeable(
    state: &ApiState,
    caller: &Caller,
    raw_uuid: &str,
    permission: &str,
) -> Result<Target, ApiError> {
    let target = load(state, caller, raw_uuid, Side::Consumer).await?;
    require_permission(state, caller, permission, &target.consumer_scopes()).await?;
    target.require_state(&[ResourceState::Ok])?;
    target.require_customer_ok()?;
    target.require_no_pending_order(state).await?;
    Ok(target)
}

async fn update_limits(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let target = changeable(&state, &caller, &raw_uuid, "RESOURCE.SET_LIMITS").await?;
    let Body(body) = body?;
    let limits = match body.get("limits") {
        None | Some(Value::Null) => {
            return Err(ApiError::field("limits", "This field is required."));
        }
        Some(_) => parse_limits(&dict_field(&body, "limits")?)
            .map_err(|errors| ApiError::InvalidBody(json!({ "limits": errors })))?,
    };
    target.require_orderable(caller.ctx().now.date_naive())?;
    if limits == target.resource.limits {
        return Err(ApiError::field(
            "limits",
            "New limits must differ from the current ones.",
        ));
    }
    check_limits(&target.record.offering, &limits)?;
    // Waldur keeps the limits being replaced in the order's attributes.
    let mut attributes = Map::new();
    attributes.insert("old_limits".into(), json!(target.resource.limits));
    let spec = target
        .order(
            &caller,
            OrderType::Update,
            target.resource.plan_uuid,
            limits,
            attributes,
        )
        .map_err(|_| cost_overflow("limits"))?;
    target.begin(&state, &caller, spec).await
}

async fn switch_plan(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let target = changeable(&state, &caller, &raw_uuid, "RESOURCE.SET_PLAN").await?;
    let Body(body) = body?;
    let plan_ref: PlanRef = match body.get("plan") {
        None | Some(Value::Null) => {
            return Err(ApiError::field("plan", "This field is required."));
        }
        Some(Value::String(text)) => {
            parse_plan_url(text.trim()).map_err(|message| ApiError::field("plan", message))?
        }
        Some(other) => {
            return Err(ApiError::field(
                "plan",
                format!(
                    "Incorrect type. Expected URL string, received {}.",
                    python_type_name(other)
                ),
            ));
        }
    };
    target.require_orderable(caller.ctx().now.date_naive())?;
    let plan = check_plan(&state, &target.record, Some(&plan_ref))
        .await?
        .map(|p| p.uuid);
    let limits = target.resource.limits.clone();
    // The plan is what changes, so a cost out of range is the plan's.
    let spec = target
        .order(&caller, OrderType::Update, plan, limits, Map::new())
        .map_err(|_| cost_overflow("plan"))?;
    target.begin(&state, &caller, spec).await
}
