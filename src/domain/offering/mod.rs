//! An offering: what a service provider publishes, with its components, plans, endpoints and
//! partitions, and its lifecycle Draft → Active ⇄ Paused / Unavailable → Archived.
//!
//! - [`model`]: the values an offering is made of.
//! - [`types`]: the registry of offering types.
//! - [`pricing`]: what an order costs under a plan, in checked arithmetic.
//! - this file: the aggregate — commands, events, errors and the rules between them.
//!
//! Plans live inside the offering: "activate needs a plan" and "prices name existing
//! components" are then rules of one aggregate, decided atomically.

pub mod imported;
pub mod model;
pub mod pricing;
mod review;
pub mod sync;
pub mod types;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain_event;
use model::{
    BillingType, Component, Endpoint, OfferingDetails, OfferingSettings, OfferingState, Partition,
    Plan,
};

/// The state of an offering, also used as its read model document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Offering {
    pub uuid: Option<Uuid>,
    pub customer_uuid: Uuid,
    pub category_uuid: Uuid,
    pub project_uuid: Option<Uuid>,
    pub offering_type: String,
    pub slug: String,
    pub state: OfferingState,
    pub paused_reason: String,
    pub details: OfferingDetails,
    pub settings: OfferingSettings,
    pub components: Vec<Component>,
    pub plans: Vec<Plan>,
    pub endpoints: Vec<Endpoint>,
    pub partitions: Vec<Partition>,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub deleted: bool,
}

/// A lifecycle move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lifecycle {
    Activate,
    Pause,
    Unpause,
    Archive,
    Draft,
    MakeUnavailable,
    MakeAvailable,
}

/// The billing mode `switch_billing_mode` puts builtin components in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BillingMode {
    Monthly,
    Prepaid,
    Usage,
}

/// The content an import writes over an existing offering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedContent {
    pub details: OfferingDetails,
    pub settings: OfferingSettings,
    pub offering_type: String,
    pub components: Vec<Component>,
    pub plans: Vec<Plan>,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone)]
pub enum OfferingCommand {
    Create {
        uuid: Uuid,
        customer_uuid: Uuid,
        category_uuid: Uuid,
        project_uuid: Option<Uuid>,
        offering_type: String,
        slug: String,
        details: OfferingDetails,
        settings: OfferingSettings,
        components: Vec<Component>,
        plans: Vec<Plan>,
        endpoints: Vec<Endpoint>,
        at: DateTime<Utc>,
    },
    Transition {
        action: Lifecycle,
        paused_reason: Option<String>,
        at: DateTime<Utc>,
    },
    /// Validated changes to detail fields (overview, location, backend id…).
    UpdateDetails {
        changes: Map<String, Value>,
        at: DateTime<Utc>,
    },
    /// Validated changes to settings (options, attributes, plugin and secret options…).
    UpdateSettings {
        changes: Map<String, Value>,
        at: DateTime<Utc>,
    },
    ChangeCategory {
        category_uuid: Uuid,
        at: DateTime<Utc>,
    },
    AddEndpoint {
        endpoint: Endpoint,
        at: DateTime<Utc>,
    },
    RemoveEndpoint {
        uuid: Uuid,
        at: DateTime<Utc>,
    },
    AddComponent {
        component: Component,
        at: DateTime<Utc>,
    },
    UpdateComponent {
        uuid: Uuid,
        changes: Map<String, Value>,
        at: DateTime<Utc>,
    },
    RemoveComponent {
        uuid: Uuid,
        has_resources: bool,
        at: DateTime<Utc>,
    },
    AddPartition {
        partition: Partition,
        at: DateTime<Utc>,
    },
    UpdatePartition {
        uuid: Uuid,
        partition_name: Option<String>,
        settings: Map<String, Value>,
        at: DateTime<Utc>,
    },
    RemovePartition {
        uuid: Uuid,
        at: DateTime<Utc>,
    },
    AddPlan {
        plan: Plan,
        at: DateTime<Utc>,
    },
    UpdatePlan {
        uuid: Uuid,
        changes: Map<String, Value>,
        has_resources: bool,
        at: DateTime<Utc>,
    },
    ArchivePlan {
        uuid: Uuid,
        at: DateTime<Utc>,
    },
    DeletePlan {
        uuid: Uuid,
        at: DateTime<Utc>,
    },
    SetPlanPrices {
        uuid: Uuid,
        prices: BTreeMap<String, Decimal>,
        has_resources: bool,
        at: DateTime<Utc>,
    },
    SetPlanQuotas {
        uuid: Uuid,
        quotas: BTreeMap<String, i64>,
        at: DateTime<Utc>,
    },
    SwitchBillingMode {
        mode: BillingMode,
        at: DateTime<Utc>,
    },
    Move {
        customer_uuid: Uuid,
        at: DateTime<Utc>,
    },
    Import {
        content: ImportedContent,
        at: DateTime<Utc>,
    },
    /// Keeps an imported offering equal to its remote (see [`sync`]).
    SyncFromRemote {
        content: Box<sync::RemoteContent>,
        run: Uuid,
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OfferingEvent {
    OfferingCreated {
        uuid: Uuid,
        customer_uuid: Uuid,
        category_uuid: Uuid,
        project_uuid: Option<Uuid>,
        offering_type: String,
        slug: String,
        details: OfferingDetails,
        settings: OfferingSettings,
        components: Vec<Component>,
        plans: Vec<Plan>,
        endpoints: Vec<Endpoint>,
        at: DateTime<Utc>,
    },
    OfferingActivated {
        at: DateTime<Utc>,
    },
    OfferingPaused {
        paused_reason: String,
        at: DateTime<Utc>,
    },
    OfferingUnpaused {
        at: DateTime<Utc>,
    },
    OfferingArchived {
        at: DateTime<Utc>,
    },
    OfferingReturnedToDraft {
        at: DateTime<Utc>,
    },
    OfferingMadeUnavailable {
        at: DateTime<Utc>,
    },
    OfferingMadeAvailable {
        at: DateTime<Utc>,
    },
    OfferingDetailsUpdated {
        details: OfferingDetails,
        at: DateTime<Utc>,
    },
    OfferingSettingsUpdated {
        settings: OfferingSettings,
        at: DateTime<Utc>,
    },
    OfferingCategoryChanged {
        category_uuid: Uuid,
        at: DateTime<Utc>,
    },
    OfferingEndpointAdded {
        endpoint: Endpoint,
        at: DateTime<Utc>,
    },
    OfferingEndpointRemoved {
        uuid: Uuid,
        at: DateTime<Utc>,
    },
    OfferingComponentAdded {
        component: Component,
        at: DateTime<Utc>,
    },
    OfferingComponentUpdated {
        component: Component,
        at: DateTime<Utc>,
    },
    OfferingComponentRemoved {
        uuid: Uuid,
        at: DateTime<Utc>,
    },
    OfferingPartitionAdded {
        partition: Partition,
        at: DateTime<Utc>,
    },
    OfferingPartitionUpdated {
        partition: Partition,
        at: DateTime<Utc>,
    },
    OfferingPartitionRemoved {
        uuid: Uuid,
        at: DateTime<Utc>,
    },
    PlanAdded {
        plan: Plan,
        at: DateTime<Utc>,
    },
    PlanUpdated {
        plan: Plan,
        at: DateTime<Utc>,
    },
    PlanArchived {
        uuid: Uuid,
        at: DateTime<Utc>,
    },
    PlanDeleted {
        uuid: Uuid,
        at: DateTime<Utc>,
    },
    PlanPricesSet {
        uuid: Uuid,
        prices: BTreeMap<String, Decimal>,
        future_prices: BTreeMap<String, Decimal>,
        at: DateTime<Utc>,
    },
    PlanQuotasSet {
        uuid: Uuid,
        quotas: BTreeMap<String, i64>,
        at: DateTime<Utc>,
    },
    OfferingMoved {
        customer_uuid: Uuid,
        at: DateTime<Utc>,
    },
    OfferingImported {
        content: ImportedContent,
        at: DateTime<Utc>,
    },
    OfferingSyncedFromRemote {
        changes: sync::RemoteChanges,
        at: DateTime<Utc>,
    },
    OfferingDeleted {
        at: DateTime<Utc>,
    },
}

domain_event!(OfferingEvent, version = "1", {
    OfferingCreated => "OfferingCreated",
    OfferingActivated => "OfferingActivated",
    OfferingPaused => "OfferingPaused",
    OfferingUnpaused => "OfferingUnpaused",
    OfferingArchived => "OfferingArchived",
    OfferingReturnedToDraft => "OfferingReturnedToDraft",
    OfferingMadeUnavailable => "OfferingMadeUnavailable",
    OfferingMadeAvailable => "OfferingMadeAvailable",
    OfferingDetailsUpdated => "OfferingDetailsUpdated",
    OfferingSettingsUpdated => "OfferingSettingsUpdated",
    OfferingCategoryChanged => "OfferingCategoryChanged",
    OfferingEndpointAdded => "OfferingEndpointAdded",
    OfferingEndpointRemoved => "OfferingEndpointRemoved",
    OfferingComponentAdded => "OfferingComponentAdded",
    OfferingComponentUpdated => "OfferingComponentUpdated",
    OfferingComponentRemoved => "OfferingComponentRemoved",
    OfferingPartitionAdded => "OfferingPartitionAdded",
    OfferingPartitionUpdated => "OfferingPartitionUpdated",
    OfferingPartitionRemoved => "OfferingPartitionRemoved",
    PlanAdded => "PlanAdded",
    PlanUpdated => "PlanUpdated",
    PlanArchived => "PlanArchived",
    PlanDeleted => "PlanDeleted",
    PlanPricesSet => "PlanPricesSet",
    PlanQuotasSet => "PlanQuotasSet",
    OfferingMoved => "OfferingMoved",
    OfferingImported => "OfferingImported",
    OfferingSyncedFromRemote => "OfferingSyncedFromRemote",
    OfferingDeleted => "OfferingDeleted",
});

/// The rule a command breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferingError {
    #[error("offering already exists")]
    AlreadyExists,
    #[error("offering does not exist")]
    NotFound,
    #[error("unknown offering type {0}")]
    UnknownType(String),
    #[error("the offering state does not allow this transition")]
    InvalidState,
    #[error("the offering has no billing plans")]
    NoPlans,
    #[error("archived offerings cannot be changed")]
    Archived,
    #[error("components outside the type's builtin ones")]
    ExtraComponents,
    #[error("component {0} already exists")]
    DuplicateComponent(String),
    #[error("component type {0} is builtin and cannot be created")]
    BuiltinComponentCreate(String),
    #[error("component {0} is builtin and cannot be removed")]
    BuiltinComponentRemove(String),
    #[error("component {0} is used by resources")]
    ComponentInUse(String),
    #[error("component not found")]
    ComponentNotFound,
    #[error("partition not found")]
    PartitionNotFound,
    #[error("partition {0} already exists")]
    DuplicatePartition(String),
    #[error("plan not found")]
    PlanNotFound,
    #[error("plan is already archived")]
    PlanAlreadyArchived,
    #[error("plan is used by resources")]
    PlanInUse,
    #[error("components or plans of this offering type are managed by its source")]
    NotManageable,
    #[error("invalid components {}", .0.join(", "))]
    InvalidComponents(Vec<String>),
    #[error("the offering type has no builtin components")]
    NoBuiltinComponents,
    #[error("the offering already belongs to this customer")]
    SameCustomer,
    #[error("invalid changes: {0}")]
    InvalidChanges(String),
}

impl Aggregate for Offering {
    const TYPE: &'static str = "offering";
    type Command = OfferingCommand;
    type Event = OfferingEvent;
    type Error = OfferingError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        use OfferingEvent::*;
        let at = event_time(&event);
        match event {
            OfferingCreated {
                uuid,
                customer_uuid,
                category_uuid,
                project_uuid,
                offering_type,
                slug,
                details,
                settings,
                components,
                plans,
                endpoints,
                at,
            } => {
                *self = Offering {
                    uuid: Some(uuid),
                    customer_uuid,
                    category_uuid,
                    project_uuid,
                    offering_type,
                    slug,
                    details,
                    settings,
                    components,
                    plans,
                    endpoints,
                    created: Some(at),
                    ..Offering::default()
                };
            }
            OfferingActivated { .. } | OfferingUnpaused { .. } | OfferingMadeAvailable { .. } => {
                self.state = OfferingState::Active;
                self.paused_reason.clear();
            }
            OfferingPaused { paused_reason, .. } => {
                self.state = OfferingState::Paused;
                self.paused_reason = paused_reason;
            }
            OfferingArchived { .. } => self.state = OfferingState::Archived,
            OfferingReturnedToDraft { .. } => self.state = OfferingState::Draft,
            OfferingMadeUnavailable { .. } => self.state = OfferingState::Unavailable,
            OfferingDetailsUpdated { details, .. } => self.details = details,
            OfferingSettingsUpdated { settings, .. } => self.settings = settings,
            OfferingCategoryChanged { category_uuid, .. } => self.category_uuid = category_uuid,
            OfferingEndpointAdded { endpoint, .. } => self.endpoints.push(endpoint),
            OfferingEndpointRemoved { uuid, .. } => self.endpoints.retain(|e| e.uuid != uuid),
            OfferingComponentAdded { component, .. } => self.components.push(component),
            OfferingComponentUpdated { component, .. } => {
                if let Some(existing) = self
                    .components
                    .iter_mut()
                    .find(|c| c.uuid == component.uuid)
                {
                    *existing = component;
                }
            }
            OfferingComponentRemoved { uuid, .. } => self.components.retain(|c| c.uuid != uuid),
            OfferingPartitionAdded { mut partition, at } => {
                partition.created = Some(at);
                partition.modified = Some(at);
                self.partitions.push(partition);
            }
            OfferingPartitionUpdated { mut partition, at } => {
                if let Some(existing) = self
                    .partitions
                    .iter_mut()
                    .find(|p| p.uuid == partition.uuid)
                {
                    partition.created = existing.created;
                    partition.modified = Some(at);
                    *existing = partition;
                }
            }
            OfferingPartitionRemoved { uuid, .. } => self.partitions.retain(|p| p.uuid != uuid),
            PlanAdded { plan, .. } => self.plans.push(plan),
            PlanUpdated { plan, .. } => {
                if let Some(existing) = self.plans.iter_mut().find(|p| p.uuid == plan.uuid) {
                    *existing = plan;
                }
            }
            PlanArchived { uuid, .. } => {
                if let Some(plan) = self.plans.iter_mut().find(|p| p.uuid == uuid) {
                    plan.archived = true;
                }
            }
            PlanDeleted { uuid, .. } => self.plans.retain(|p| p.uuid != uuid),
            PlanPricesSet {
                uuid,
                prices,
                future_prices,
                ..
            } => {
                if let Some(plan) = self.plans.iter_mut().find(|p| p.uuid == uuid) {
                    plan.prices = prices;
                    plan.future_prices = future_prices;
                }
            }
            PlanQuotasSet { uuid, quotas, .. } => {
                if let Some(plan) = self.plans.iter_mut().find(|p| p.uuid == uuid) {
                    plan.quotas = quotas;
                }
            }
            OfferingMoved { customer_uuid, .. } => self.customer_uuid = customer_uuid,
            OfferingImported { content, .. } => {
                self.details = content.details;
                self.settings = content.settings;
                self.offering_type = content.offering_type;
                self.components = content.components;
                self.plans = content.plans;
                self.endpoints = content.endpoints;
                self.state = OfferingState::Draft;
            }
            OfferingSyncedFromRemote { changes, .. } => self.apply_remote_changes(changes),
            OfferingDeleted { .. } => self.deleted = true,
        }
        self.modified = Some(at);
    }
}

/// The time an event happened.
fn event_time(event: &OfferingEvent) -> DateTime<Utc> {
    use OfferingEvent::*;
    match event {
        OfferingCreated { at, .. }
        | OfferingActivated { at }
        | OfferingPaused { at, .. }
        | OfferingUnpaused { at }
        | OfferingArchived { at }
        | OfferingReturnedToDraft { at }
        | OfferingMadeUnavailable { at }
        | OfferingMadeAvailable { at }
        | OfferingDetailsUpdated { at, .. }
        | OfferingSettingsUpdated { at, .. }
        | OfferingCategoryChanged { at, .. }
        | OfferingEndpointAdded { at, .. }
        | OfferingEndpointRemoved { at, .. }
        | OfferingComponentAdded { at, .. }
        | OfferingComponentUpdated { at, .. }
        | OfferingComponentRemoved { at, .. }
        | OfferingPartitionAdded { at, .. }
        | OfferingPartitionUpdated { at, .. }
        | OfferingPartitionRemoved { at, .. }
        | PlanAdded { at, .. }
        | PlanUpdated { at, .. }
        | PlanArchived { at, .. }
        | PlanDeleted { at, .. }
        | PlanPricesSet { at, .. }
        | PlanQuotasSet { at, .. }
        | OfferingMoved { at, .. }
        | OfferingImported { at, .. }
        | OfferingSyncedFromRemote { at, .. }
        | OfferingDeleted { at } => *at,
    }
}

impl Offering {
    /// The registered type of this offering.
    pub fn kind(&self) -> Option<&'static types::OfferingType> {
        types::lookup(&self.offering_type)
    }

    pub fn plan(&self, uuid: Uuid) -> Option<&Plan> {
        self.plans.iter().find(|p| p.uuid == uuid)
    }

    pub fn component(&self, uuid: Uuid) -> Option<&Component> {
        self.components.iter().find(|c| c.uuid == uuid)
    }

    pub fn component_by_type(&self, component_type: &str) -> Option<&Component> {
        self.components
            .iter()
            .find(|c| c.component_type == component_type)
    }

    /// Sum of the plan's prices for components of one billing type (init/switch prices);
    /// `None` when it overflows a `Decimal`.
    pub fn plan_price_of(&self, plan: &Plan, billing_type: BillingType) -> Option<Decimal> {
        pricing::plan_price_of(self, plan, billing_type)
    }

    fn require_live(&self) -> Result<(), OfferingError> {
        if self.uuid.is_none() || self.deleted {
            Err(OfferingError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Changes other than lifecycle moves are refused on archived offerings.
    fn require_editable(&self) -> Result<(), OfferingError> {
        self.require_live()?;
        if self.state == OfferingState::Archived {
            Err(OfferingError::Archived)
        } else {
            Ok(())
        }
    }

    fn require_manageable(&self) -> Result<(), OfferingError> {
        match self.kind() {
            Some(kind) if !kind.manages_components => Err(OfferingError::NotManageable),
            _ => Ok(()),
        }
    }

    fn has_active_plan(&self) -> bool {
        self.plans.iter().any(|p| !p.archived)
    }

    /// The events a command produces, or the rule it breaks.
    fn decide(&self, command: OfferingCommand) -> Result<Vec<OfferingEvent>, OfferingError> {
        use OfferingCommand as C;
        use OfferingEvent as E;
        Ok(match command {
            C::Create {
                uuid,
                customer_uuid,
                category_uuid,
                project_uuid,
                offering_type,
                slug,
                details,
                settings,
                components,
                plans,
                endpoints,
                at,
            } => {
                if self.uuid.is_some() {
                    return Err(OfferingError::AlreadyExists);
                }
                let kind = types::lookup(&offering_type)
                    .ok_or_else(|| OfferingError::UnknownType(offering_type.clone()))?;
                check_component_set(kind, &components)?;
                vec![E::OfferingCreated {
                    uuid,
                    customer_uuid,
                    category_uuid,
                    project_uuid,
                    offering_type,
                    slug,
                    details,
                    settings,
                    components,
                    plans,
                    endpoints,
                    at,
                }]
            }
            C::Transition {
                action,
                paused_reason,
                at,
            } => {
                self.require_live()?;
                vec![self.transition(action, paused_reason, at)?]
            }
            C::UpdateDetails { changes, at } => {
                self.require_editable()?;
                let details = crate::domain::merge_changes(&self.details, &changes)
                    .map_err(OfferingError::InvalidChanges)?;
                vec![E::OfferingDetailsUpdated { details, at }]
            }
            C::UpdateSettings { changes, at } => {
                self.require_editable()?;
                let settings = crate::domain::merge_changes(&self.settings, &changes)
                    .map_err(OfferingError::InvalidChanges)?;
                vec![E::OfferingSettingsUpdated { settings, at }]
            }
            C::ChangeCategory { category_uuid, at } => {
                self.require_editable()?;
                vec![E::OfferingCategoryChanged { category_uuid, at }]
            }
            C::AddEndpoint { endpoint, at } => {
                self.require_editable()?;
                vec![E::OfferingEndpointAdded { endpoint, at }]
            }
            C::RemoveEndpoint { uuid, at } => {
                self.require_editable()?;
                // Removing an endpoint that is not there changes nothing.
                if self.endpoints.iter().any(|e| e.uuid == uuid) {
                    vec![E::OfferingEndpointRemoved { uuid, at }]
                } else {
                    vec![]
                }
            }
            C::AddComponent { mut component, at } => {
                self.require_editable()?;
                self.require_manageable()?;
                if let Some(kind) = self.kind() {
                    if kind.is_builtin(&component.component_type) {
                        return Err(OfferingError::BuiltinComponentCreate(
                            component.component_type,
                        ));
                    }
                    if !kind.builtin_components.is_empty() {
                        return Err(OfferingError::ExtraComponents);
                    }
                }
                // Only the type registry makes a component builtin.
                component.is_builtin = false;
                if self.component_by_type(&component.component_type).is_some() {
                    return Err(OfferingError::DuplicateComponent(component.component_type));
                }
                vec![E::OfferingComponentAdded { component, at }]
            }
            C::UpdateComponent { uuid, changes, at } => {
                self.require_editable()?;
                self.require_manageable()?;
                let current = self
                    .component(uuid)
                    .ok_or(OfferingError::ComponentNotFound)?;
                let mut component = crate::domain::merge_changes(current, &changes)
                    .map_err(OfferingError::InvalidChanges)?;
                // Identity and builtin-ness are not the caller's to change.
                component.uuid = current.uuid;
                component.is_builtin = current.is_builtin;
                if current.is_builtin {
                    component.component_type = current.component_type.clone();
                }
                if component.component_type != current.component_type
                    && self.component_by_type(&component.component_type).is_some()
                {
                    return Err(OfferingError::DuplicateComponent(component.component_type));
                }
                vec![E::OfferingComponentUpdated { component, at }]
            }
            C::RemoveComponent {
                uuid,
                has_resources,
                at,
            } => {
                self.require_editable()?;
                self.require_manageable()?;
                let component = self
                    .component(uuid)
                    .ok_or(OfferingError::ComponentNotFound)?;
                if component.is_builtin {
                    return Err(OfferingError::BuiltinComponentRemove(
                        component.component_type.clone(),
                    ));
                }
                if has_resources {
                    return Err(OfferingError::ComponentInUse(component.name.clone()));
                }
                vec![E::OfferingComponentRemoved { uuid, at }]
            }
            C::AddPartition { partition, at } => {
                self.require_editable()?;
                if self
                    .partitions
                    .iter()
                    .any(|p| p.partition_name == partition.partition_name)
                {
                    return Err(OfferingError::DuplicatePartition(partition.partition_name));
                }
                vec![E::OfferingPartitionAdded { partition, at }]
            }
            C::UpdatePartition {
                uuid,
                partition_name,
                settings,
                at,
            } => {
                self.require_editable()?;
                let current = self
                    .partitions
                    .iter()
                    .find(|p| p.uuid == uuid)
                    .ok_or(OfferingError::PartitionNotFound)?;
                let mut partition = current.clone();
                if let Some(name) = partition_name {
                    if name != current.partition_name
                        && self.partitions.iter().any(|p| p.partition_name == name)
                    {
                        return Err(OfferingError::DuplicatePartition(name));
                    }
                    partition.partition_name = name;
                }
                partition.settings.extend(settings);
                vec![E::OfferingPartitionUpdated { partition, at }]
            }
            C::RemovePartition { uuid, at } => {
                self.require_editable()?;
                if !self.partitions.iter().any(|p| p.uuid == uuid) {
                    return Err(OfferingError::PartitionNotFound);
                }
                vec![E::OfferingPartitionRemoved { uuid, at }]
            }
            C::AddPlan { plan, at } => {
                self.require_editable()?;
                self.require_manageable()?;
                vec![E::PlanAdded { plan, at }]
            }
            C::UpdatePlan {
                uuid,
                changes,
                has_resources,
                at,
            } => {
                self.require_editable()?;
                let current = self.plan(uuid).ok_or(OfferingError::PlanNotFound)?;
                if has_resources {
                    return Err(OfferingError::PlanInUse);
                }
                let mut plan = crate::domain::merge_changes(current, &changes)
                    .map_err(OfferingError::InvalidChanges)?;
                // Prices, quotas and archiving have commands of their own.
                plan.uuid = current.uuid;
                plan.archived = current.archived;
                plan.prices = current.prices.clone();
                plan.future_prices = current.future_prices.clone();
                plan.quotas = current.quotas.clone();
                // Plans synced from a remote Waldur keep the names their source gives them.
                if self.require_manageable().is_err() {
                    plan.name = current.name.clone();
                    plan.description = current.description.clone();
                    plan.article_code = current.article_code.clone();
                }
                vec![E::PlanUpdated { plan, at }]
            }
            C::ArchivePlan { uuid, at } => {
                self.require_live()?;
                let plan = self.plan(uuid).ok_or(OfferingError::PlanNotFound)?;
                if plan.archived {
                    return Err(OfferingError::PlanAlreadyArchived);
                }
                vec![E::PlanArchived { uuid, at }]
            }
            C::DeletePlan { uuid, at } => {
                self.require_live()?;
                self.plan(uuid).ok_or(OfferingError::PlanNotFound)?;
                vec![E::PlanDeleted { uuid, at }]
            }
            C::SetPlanPrices {
                uuid,
                prices,
                has_resources,
                at,
            } => {
                self.require_editable()?;
                self.require_manageable()?;
                let plan = self.plan(uuid).ok_or(OfferingError::PlanNotFound)?;
                self.check_component_types(prices.keys(), |_| true)?;
                let (prices, future_prices) = self.new_prices(plan, prices, has_resources);
                vec![E::PlanPricesSet {
                    uuid,
                    prices,
                    future_prices,
                    at,
                }]
            }
            C::SetPlanQuotas { uuid, quotas, at } => {
                self.require_editable()?;
                self.require_manageable()?;
                self.plan(uuid).ok_or(OfferingError::PlanNotFound)?;
                self.check_component_types(quotas.keys(), |c| {
                    c.billing_type == BillingType::Fixed
                })?;
                // Components not named are reset to zero.
                let quotas = self
                    .components
                    .iter()
                    .map(|c| {
                        let amount = quotas.get(&c.component_type).copied().unwrap_or(0);
                        (c.component_type.clone(), amount)
                    })
                    .collect();
                vec![E::PlanQuotasSet { uuid, quotas, at }]
            }
            C::SwitchBillingMode { mode, at } => {
                self.require_editable()?;
                let builtin: Vec<&Component> =
                    self.components.iter().filter(|c| c.is_builtin).collect();
                if builtin.is_empty() {
                    return Err(OfferingError::NoBuiltinComponents);
                }
                let billing_type = match mode {
                    BillingMode::Monthly => BillingType::Limit,
                    BillingMode::Prepaid => BillingType::One,
                    BillingMode::Usage => BillingType::Usage,
                };
                builtin
                    .into_iter()
                    .filter(|c| c.billing_type != billing_type)
                    .map(|c| E::OfferingComponentUpdated {
                        component: Component {
                            billing_type,
                            ..c.clone()
                        },
                        at,
                    })
                    .collect()
            }
            C::Move { customer_uuid, at } => {
                self.require_live()?;
                if customer_uuid == self.customer_uuid {
                    return Err(OfferingError::SameCustomer);
                }
                vec![E::OfferingMoved { customer_uuid, at }]
            }
            C::Import { content, at } => {
                self.require_live()?;
                let kind = types::lookup(&content.offering_type)
                    .ok_or_else(|| OfferingError::UnknownType(content.offering_type.clone()))?;
                check_component_set(kind, &content.components)?;
                vec![E::OfferingImported { content, at }]
            }
            C::SyncFromRemote { content, run, at } => {
                self.require_live()?;
                let changes = self.remote_changes(&content, run);
                if changes.is_empty() {
                    vec![]
                } else {
                    vec![E::OfferingSyncedFromRemote { changes, at }]
                }
            }
            C::Delete { at } => {
                self.require_live()?;
                vec![E::OfferingDeleted { at }]
            }
        })
    }

    fn transition(
        &self,
        action: Lifecycle,
        paused_reason: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<OfferingEvent, OfferingError> {
        use OfferingEvent as E;
        use OfferingState::*;
        let state = self.state;
        Ok(match action {
            Lifecycle::Activate if matches!(state, Draft | Paused | Unavailable) => {
                if !self.has_active_plan() {
                    return Err(OfferingError::NoPlans);
                }
                E::OfferingActivated { at }
            }
            Lifecycle::Pause if state == Active => E::OfferingPaused {
                paused_reason: paused_reason.unwrap_or_default(),
                at,
            },
            Lifecycle::Unpause if state == Paused => {
                if !self.has_active_plan() {
                    return Err(OfferingError::NoPlans);
                }
                E::OfferingUnpaused { at }
            }
            Lifecycle::MakeUnavailable if state == Active => E::OfferingMadeUnavailable { at },
            Lifecycle::MakeAvailable if state == Unavailable => {
                if !self.has_active_plan() {
                    return Err(OfferingError::NoPlans);
                }
                E::OfferingMadeAvailable { at }
            }
            Lifecycle::Archive => E::OfferingArchived { at },
            Lifecycle::Draft => E::OfferingReturnedToDraft { at },
            _ => return Err(OfferingError::InvalidState),
        })
    }

    /// Every named type must be a component of this offering that `allowed` accepts.
    fn check_component_types<'a>(
        &self,
        types: impl Iterator<Item = &'a String>,
        allowed: impl Fn(&Component) -> bool,
    ) -> Result<(), OfferingError> {
        let mut invalid: Vec<String> = types
            .filter(|t| !self.component_by_type(t).is_some_and(&allowed))
            .cloned()
            .collect();
        if invalid.is_empty() {
            Ok(())
        } else {
            invalid.sort();
            Err(OfferingError::InvalidComponents(invalid))
        }
    }

    /// New prices of a plan: components not named drop to zero; a plan already used by
    /// resources gets future prices and keeps its current ones.
    fn new_prices(
        &self,
        plan: &Plan,
        given: BTreeMap<String, Decimal>,
        has_resources: bool,
    ) -> (BTreeMap<String, Decimal>, BTreeMap<String, Decimal>) {
        let full: BTreeMap<String, Decimal> = self
            .components
            .iter()
            .map(|c| {
                let price = given.get(&c.component_type).copied().unwrap_or_default();
                (c.component_type.clone(), price)
            })
            .collect();
        if has_resources {
            (plan.prices.clone(), full)
        } else {
            (full, plan.future_prices.clone())
        }
    }
}

/// Types with builtin components accept no others; component types are unique.
fn check_component_set(
    kind: &types::OfferingType,
    components: &[Component],
) -> Result<(), OfferingError> {
    if !kind.builtin_components.is_empty()
        && components
            .iter()
            .any(|c| !kind.is_builtin(&c.component_type))
    {
        return Err(OfferingError::ExtraComponents);
    }
    let mut seen = std::collections::BTreeSet::new();
    for component in components {
        if !seen.insert(component.component_type.as_str()) {
            return Err(OfferingError::DuplicateComponent(
                component.component_type.clone(),
            ));
        }
    }
    Ok(())
}
