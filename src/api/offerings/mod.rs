//! The offering catalogue: `/api/marketplace-provider-offerings/` (providers manage),
//! `/api/marketplace-plans/` (plan management) and `/api/marketplace-public-offerings/`
//! (what consumers can order). This module holds what they share: loading an offering from
//! its read model ([`crate::read::offerings`]) and rendering offerings, components, plans
//! and partitions.

mod components;
pub(crate) mod input;
mod plans;
mod provider;
mod public;
mod transfer;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::access::has_permission;
use crate::api::auth::Caller;
use crate::api::error::{ApiError, DomainError};
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::app::offerings::{self, CustomerStanding};
use crate::domain::offering::model::{Component, Partition, Plan};
use crate::domain::offering::{Offering, OfferingCommand, OfferingError};
use crate::read;
use crate::read::offerings::{Audience, OfferingRow};
use crate::read::visibility::Scope;

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .merge(provider::router())
        .merge(components::router())
        .merge(transfer::router())
        .merge(plans::router())
        .merge(public::router())
}

impl DomainError for OfferingError {
    fn into_api(self) -> ApiError {
        use OfferingError as E;
        match self {
            E::NotFound => ApiError::NotFound("Offering"),
            E::UnknownType(_) => ApiError::field("type", "Invalid value."),
            E::InvalidState => ApiError::invalid("Offering state is invalid."),
            E::NoPlans => ApiError::invalid("Offering does not have any billing plans."),
            E::Archived => ApiError::invalid("It is not possible to update archived offering."),
            E::ExtraComponents => {
                ApiError::field("components", "Extra components are not allowed.")
            }
            E::DuplicateComponent(t) => ApiError::invalid(format!("Component {t} already exists.")),
            E::BuiltinComponentCreate(t) => {
                ApiError::invalid(format!("Cannot create a component of built-in type: {t}"))
            }
            E::BuiltinComponentRemove(t) => ApiError::InvalidBody(json!({
                "details": format!("The component {t} cannot be removed because it is builtin")
            })),
            E::ComponentInUse(name) => ApiError::InvalidBody(json!({
                "details": format!(
                    "The component {name} cannot be removed because it is already used"
                )
            })),
            E::ComponentNotFound => ApiError::NotFoundDetail("Not found.".into()),
            E::PartitionNotFound => ApiError::NotFoundBody(json!({"error": "Partition not found"})),
            E::DuplicatePartition(_) => ApiError::field(
                "non_field_errors",
                "The fields offering, partition_name must make a unique set.",
            ),
            E::PlanNotFound => ApiError::NotFound("Plan"),
            E::PlanAlreadyArchived => ApiError::invalid("Plan is already archived."),
            E::PlanInUse => ApiError::invalid(
                "It is not possible to update plan because it is used by resources.",
            ),
            E::NotManageable => {
                ApiError::invalid("It is not possible to update plan for this offering type.")
            }
            E::InvalidComponents(types) => {
                ApiError::invalid(format!("Invalid components {}.", types.join(", ")))
            }
            E::NoBuiltinComponents => {
                ApiError::invalid("Offering type does not have builtin components.")
            }
            E::SameCustomer => {
                ApiError::invalid("Offering is already assigned to the target provider.")
            }
            E::InvalidChanges(message) => ApiError::invalid(message),
            E::AlreadyExists => ApiError::Conflict("Offering already exists.".into()),
        }
    }
}

/// An offering as read for an answer: its state plus the names it shows.
#[derive(Debug, Clone)]
pub struct OfferingRecord {
    pub offering: Offering,
    pub uuid: Uuid,
    pub customer_name: String,
    pub customer_blocked: bool,
    pub customer_archived: bool,
    pub category_title: String,
    pub project_name: Option<String>,
}

impl OfferingRecord {
    /// Whether the offering's customer may act.
    pub fn standing(&self) -> CustomerStanding {
        CustomerStanding {
            blocked: self.customer_blocked,
            archived: self.customer_archived,
        }
    }
}

impl TryFrom<OfferingRow> for OfferingRecord {
    type Error = ApiError;

    fn try_from(row: OfferingRow) -> Result<Self, ApiError> {
        let offering: Offering = serde_json::from_value(row.document)
            .map_err(|e| ApiError::internal(anyhow::anyhow!(e).context("offering document")))?;
        Ok(OfferingRecord {
            uuid: offering.uuid.unwrap_or_default(),
            offering,
            customer_name: row.customer_name,
            customer_blocked: row.customer_blocked,
            customer_archived: row.customer_archived,
            category_title: row.category_title.unwrap_or_default(),
            project_name: row.project_name,
        })
    }
}

/// The offering, whoever asks (deleted ones included).
pub async fn find_record(state: &ApiState, uuid: Uuid) -> Result<Option<OfferingRecord>, ApiError> {
    read::offerings::find(&state.ledger.pool, uuid)
        .await?
        .map(OfferingRecord::try_from)
        .transpose()
}

/// The offering as the provider side sees it, or 404.
pub async fn provider_record(
    state: &ApiState,
    caller: &Caller,
    uuid: Uuid,
) -> Result<OfferingRecord, ApiError> {
    let viewer = caller.viewer();
    read::offerings::find_visible(&state.ledger.pool, Audience::Provider(&viewer), uuid)
        .await?
        .ok_or(ApiError::NotFound("Offering"))?
        .try_into()
}

/// Resources per plan of an offering (all states).
pub async fn plan_resource_counts(
    state: &ApiState,
    offering: Uuid,
) -> Result<HashMap<Uuid, i64>, ApiError> {
    Ok(read::resources::count_by_plan(&state.ledger.pool, offering).await?)
}

/// Whether the caller holds `permission` on the offering's customer (staff always do).
pub async fn may(
    state: &ApiState,
    caller: &Caller,
    record: &OfferingRecord,
    permission: &str,
) -> Result<bool, ApiError> {
    has_permission(
        state,
        caller,
        permission,
        &[Scope::Customer(record.offering.customer_uuid)],
    )
    .await
}

/// 403 unless [`may`].
pub async fn require(
    state: &ApiState,
    caller: &Caller,
    record: &OfferingRecord,
    permission: &str,
) -> Result<(), ApiError> {
    if may(state, caller, record, permission).await? {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

/// The shared start of an edit action: the offering (404), the permission (403), then the
/// update validators (archived offering, unavailable customer: 400).
pub async fn edit_context(
    state: &ApiState,
    caller: &Caller,
    raw_uuid: &str,
    permission: &str,
) -> Result<OfferingRecord, ApiError> {
    let uuid = parse_path_uuid(raw_uuid, "Offering")?;
    let record = provider_record(state, caller, uuid).await?;
    require(state, caller, &record, permission).await?;
    offerings::edit::check_editable(&record.offering, record.standing())?;
    Ok(record)
}

/// Runs a command on an offering.
pub async fn execute(
    state: &ApiState,
    caller: &Caller,
    uuid: Uuid,
    command: OfferingCommand,
) -> Result<(), ApiError> {
    Ok(offerings::execute(&state.ledger, uuid, command, &caller.ctx()).await?)
}

/// A decimal as a JSON number (Waldur renders plan prices as floats).
pub fn number(value: Decimal) -> Value {
    value
        .to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A decimal as a string at a fixed scale (`unit_price` has ten decimals).
pub fn decimal_string(value: Decimal, scale: u32) -> String {
    let mut value = value;
    value.rescale(scale);
    value.to_string()
}

/// A sum that Waldur renders as an integer when whole (`init_price`, `minimal_price`).
pub fn amount(value: Decimal) -> Value {
    if value.fract().is_zero() {
        value
            .to_i64()
            .map(Value::from)
            .unwrap_or_else(|| number(value))
    } else {
        number(value)
    }
}

pub fn render_component(offering: &Offering, component: &Component) -> Value {
    let factor = offering
        .kind()
        .and_then(|k| k.builtin(&component.component_type))
        .map(|b| b.factor);
    json!({
        "uuid": hex(component.uuid),
        "billing_type": component.billing_type.as_str(),
        "type": component.component_type,
        "name": component.name,
        "description": component.description,
        "measured_unit": component.measured_unit,
        "limit_period": component.limit_period.map(|p| p.as_str()),
        "limit_amount": component.limit_amount,
        "article_code": component.article_code,
        "max_value": component.max_value,
        "min_value": component.min_value,
        "max_available_limit": component.max_available_limit,
        "is_boolean": component.is_boolean,
        "default_limit": component.default_limit,
        "factor": factor,
        "is_builtin": component.is_builtin,
    })
}

/// Which URL a plan is shown under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSide {
    /// `/api/marketplace-plans/<plan>/`
    Provider,
    /// `/api/marketplace-public-offerings/<offering>/plans/<plan>/`
    Public,
}

pub fn plan_url(links: &Links, offering: Uuid, plan: Uuid, side: PlanSide) -> String {
    match side {
        PlanSide::Provider => links.object("marketplace-plans", plan),
        PlanSide::Public => links.absolute(&format!(
            "/api/marketplace-public-offerings/{}/plans/{}/",
            hex(offering),
            hex(plan)
        )),
    }
}

/// A plan with its prices, as Waldur's plan serializers render it.
pub fn render_plan(
    offering: &Offering,
    plan: &Plan,
    links: &Links,
    side: PlanSide,
    resources_count: i64,
) -> Value {
    use crate::domain::offering::model::BillingType;
    let offering_uuid = offering.uuid.unwrap_or_default();
    let price_of = |c: &Component| plan.price_of(&c.component_type);
    let prices: Map<String, Value> = offering
        .components
        .iter()
        .map(|c| (c.component_type.clone(), number(price_of(c))))
        .collect();
    let future_prices: Map<String, Value> = offering
        .components
        .iter()
        .map(|c| {
            let future = plan.future_prices.get(&c.component_type).copied();
            (
                c.component_type.clone(),
                future.map(number).unwrap_or(Value::Null),
            )
        })
        .collect();
    let quotas: Map<String, Value> = offering
        .components
        .iter()
        .map(|c| {
            let quota = plan.quotas.get(&c.component_type).copied().unwrap_or(0);
            (c.component_type.clone(), json!(quota))
        })
        .collect();
    let components: Vec<Value> = offering
        .components
        .iter()
        .map(|c| {
            let mut item = json!({
                "type": c.component_type,
                "name": c.name,
                "measured_unit": c.measured_unit,
                "billing_type": c.billing_type.as_str(),
                "amount": plan.quotas.get(&c.component_type).copied().unwrap_or(0),
                // Model decimals, so strings at the price scale as the client declares them
                // (the `prices` map above is a method field and stays numeric).
                "price": decimal_string(price_of(c), 10),
                "future_price": plan
                    .future_prices
                    .get(&c.component_type)
                    .map(|p| decimal_string(*p, 10)),
            });
            if let Some(period) = c.limit_period {
                item["limit_period"] = json!(period.as_str());
            }
            item
        })
        .collect();
    let priced: Vec<BillingType> = offering
        .components
        .iter()
        .filter(|c| !price_of(c).is_zero())
        .map(|c| c.billing_type)
        .collect();
    let plan_type = match priced.first() {
        None => Value::Null,
        Some(first) if priced.iter().all(|t| t == first) => json!(match first {
            BillingType::Usage => "usage-based",
            BillingType::Fixed => "fixed",
            BillingType::One => "one-time",
            BillingType::Few => "on-plan-switch",
            BillingType::Limit => "limit",
        }),
        Some(_) => json!("mixed"),
    };
    // Checked: `None` (rendered null) rather than a panic for prices stored before they
    // were bounded.
    let minimal_price: Option<Decimal> =
        offering
            .components
            .iter()
            .try_fold(Decimal::ZERO, |sum, c| match c.billing_type {
                BillingType::Limit | BillingType::One => sum.checked_add(price_of(c)),
                BillingType::Fixed => {
                    let amount = plan
                        .quotas
                        .get(&c.component_type)
                        .copied()
                        .unwrap_or(0)
                        .max(1);
                    sum.checked_add(price_of(c).checked_mul(Decimal::from(amount))?)
                }
                _ => Some(sum),
            });
    let is_active = plan.max_amount.is_none_or(|max| resources_count < max);
    let mut item = json!({
        "url": plan_url(links, offering_uuid, plan.uuid, side),
        "uuid": hex(plan.uuid),
        "name": plan.name,
        "description": plan.description,
        "article_code": plan.article_code,
        "max_amount": plan.max_amount,
        "archived": plan.archived,
        "is_active": is_active,
        "unit_price": decimal_string(plan.unit_price, 10),
        "unit": plan.unit.as_str(),
        "init_price": offering.plan_price_of(plan, BillingType::One).map(amount),
        "switch_price": offering.plan_price_of(plan, BillingType::Few).map(amount),
        "backend_id": plan.backend_id,
        "organization_groups": [],
        "prices": prices,
        "future_prices": future_prices,
        "quotas": quotas,
        "resources_count": resources_count,
        "plan_type": plan_type,
        "minimal_price": minimal_price.map(amount),
        "components": components,
        "billing_mode": "inherit",
    });
    if side == PlanSide::Provider {
        item["offering"] = json!(links.object("marketplace-provider-offerings", offering_uuid));
    }
    item
}

/// The partition fields with their defaults, in Waldur's order.
pub const PARTITION_FIELDS: &[(&str, PartitionField)] = &[
    ("cpu_arch", PartitionField::Text),
    ("gpu_arch", PartitionField::Text),
    ("qos", PartitionField::Text),
    ("cpu_bind", PartitionField::Int),
    ("def_cpu_per_gpu", PartitionField::Int),
    ("max_cpus_per_node", PartitionField::Int),
    ("max_cpus_per_socket", PartitionField::Int),
    ("def_mem_per_cpu", PartitionField::Int),
    ("def_mem_per_gpu", PartitionField::Int),
    ("def_mem_per_node", PartitionField::Int),
    ("max_mem_per_cpu", PartitionField::Int),
    ("max_mem_per_node", PartitionField::Int),
    ("default_time", PartitionField::Int),
    ("max_time", PartitionField::Int),
    ("grace_time", PartitionField::Int),
    ("max_nodes", PartitionField::Int),
    ("min_nodes", PartitionField::Int),
    ("priority_tier", PartitionField::Int),
    ("exclusive_topo", PartitionField::Bool),
    ("exclusive_user", PartitionField::Bool),
    ("req_resv", PartitionField::Bool),
];

/// The kind of value a partition field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionField {
    Text,
    Int,
    Bool,
}

/// A partition with every field (defaults where unset).
pub fn render_partition(partition: &Partition) -> Map<String, Value> {
    let mut item = Map::new();
    item.insert("uuid".into(), json!(hex(partition.uuid)));
    item.insert("partition_name".into(), json!(partition.partition_name));
    for (field, kind) in PARTITION_FIELDS {
        let default = match kind {
            PartitionField::Text => json!(""),
            PartitionField::Int => Value::Null,
            PartitionField::Bool => json!(false),
        };
        let value = partition.settings.get(*field).cloned().unwrap_or(default);
        item.insert((*field).into(), value);
    }
    item.insert("qos_options".into(), json!([]));
    item
}

/// The full partition body answered by `add_partition`/`update_partition`.
pub fn render_partition_details(offering: &Offering, partition: &Partition) -> Value {
    let mut item = render_partition(partition);
    let created = partition.created.or(offering.created).unwrap_or_default();
    let modified = partition.modified.unwrap_or(created);
    item.insert("created".into(), json!(timestamp(created)));
    item.insert("modified".into(), json!(timestamp(modified)));
    item.insert(
        "offering".into(),
        json!(hex(offering.uuid.unwrap_or_default())),
    );
    item.insert("offering_name".into(), json!(offering.details.name));
    Value::Object(item)
}

/// Which fields an offering body carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferingView {
    /// The provider side, with or without secrets.
    Provider { secrets: bool },
    /// The public side.
    Public,
}

/// An offering as Waldur's offering serializers render it.
pub fn render_offering(
    record: &OfferingRecord,
    links: &Links,
    view: OfferingView,
    plan_resources: &HashMap<Uuid, i64>,
    plans: &[&Plan],
) -> Value {
    let o = &record.offering;
    let d = &o.details;
    let side = match view {
        OfferingView::Public => PlanSide::Public,
        OfferingView::Provider { .. } => PlanSide::Provider,
    };
    // Waldur lists components and plans by name.
    let mut sorted_components: Vec<&Component> = o.components.iter().collect();
    sorted_components.sort_by(|a, b| a.name.cmp(&b.name));
    let components: Vec<Value> = sorted_components
        .into_iter()
        .map(|c| render_component(o, c))
        .collect();
    let mut plans = plans.to_vec();
    plans.sort_by(|a, b| a.name.cmp(&b.name));
    let plans: Vec<Value> = plans
        .iter()
        .map(|plan| {
            let count = plan_resources.get(&plan.uuid).copied().unwrap_or(0);
            render_plan(o, plan, links, side, count)
        })
        .collect();
    let url_collection = match view {
        OfferingView::Public => "marketplace-public-offerings",
        OfferingView::Provider { .. } => "marketplace-provider-offerings",
    };
    let mut item = json!({
        "url": links.object(url_collection, record.uuid),
        "uuid": hex(record.uuid),
        "created": timestamp(o.created.unwrap_or_default()),
        "name": d.name,
        "slug": o.slug,
        "description": d.description,
        "full_description": d.full_description,
        "terms_of_service": d.terms_of_service,
        "terms_of_service_link": d.terms_of_service_link,
        "privacy_policy_link": d.privacy_policy_link,
        "access_url": d.access_url,
        "endpoints": o.endpoints.iter().map(|e| json!({
            "uuid": hex(e.uuid), "name": e.name, "url": e.url,
        })).collect::<Vec<_>>(),
        "roles": [],
        "customer": links.object("customers", o.customer_uuid),
        "customer_uuid": hex(o.customer_uuid),
        "customer_name": record.customer_name,
        "project": o.project_uuid.map(|p| links.object("projects", p)),
        "project_uuid": o.project_uuid.map(hex),
        "project_name": record.project_name,
        "category": links.object("marketplace-categories", o.category_uuid),
        "category_uuid": hex(o.category_uuid),
        "category_title": record.category_title,
        "rating": null,
        "attributes": o.settings.attributes,
        "options": o.settings.options,
        "resource_options": o.settings.resource_options,
        "components": components,
        "plugin_options": o.settings.plugin_options,
        "state": o.state.as_str(),
        "native_name": d.native_name,
        "native_description": d.native_description,
        "vendor_details": d.vendor_details,
        "getting_started": d.getting_started,
        "integration_guide": d.integration_guide,
        "thumbnail": null,
        "order_count": 0,
        "plans": plans,
        "screenshots": [],
        "type": o.offering_type,
        "shared": d.shared,
        "billable": d.billable,
        "scope": null,
        "files": [],
        "paused_reason": o.paused_reason,
        "datacite_doi": d.datacite_doi,
        "citation_count": -1,
        "latitude": d.latitude,
        "longitude": d.longitude,
        "country": d.country,
        "backend_id": d.backend_id,
        "organization_groups": [],
        "image": null,
        "backend_metadata": {},
        "partitions": o.partitions.iter().map(|p| Value::Object(render_partition(p))).collect::<Vec<_>>(),
        "total_customers": 0,
        "total_cost": 0,
        "total_cost_estimated": 0,
    });
    let object = item
        .as_object_mut()
        .expect("an offering renders as an object");
    match view {
        OfferingView::Provider { secrets } => {
            object.insert(
                "backend_id_rules".into(),
                json!(o.settings.backend_id_rules),
            );
            if secrets {
                object.insert("secret_options".into(), json!(o.settings.secret_options));
                object.insert(
                    "service_attributes".into(),
                    json!(o.settings.service_attributes),
                );
            }
        }
        OfferingView::Public => {
            object.insert("promotion_campaigns".into(), json!([]));
        }
    }
    item
}

/// Whether the caller may see an offering's secret options: staff, or an owner or service
/// manager of its customer.
pub async fn sees_secrets(
    state: &ApiState,
    caller: &Caller,
    offering: &Offering,
) -> Result<bool, ApiError> {
    if caller.is_staff {
        return Ok(true);
    }
    let roles = crate::api::access::roles_in(
        state,
        caller.uuid,
        &[Scope::Customer(offering.customer_uuid)],
    )
    .await?;
    Ok(roles.contains("CUSTOMER.OWNER") || roles.contains("CUSTOMER.MANAGER"))
}
