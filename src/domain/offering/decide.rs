//! How an offering decides a command: the guards every command starts with (the offering
//! exists, is not archived, manages its own components) and the events each command
//! produces, or the rule it breaks (the `handle` of the aggregate).

use super::model::{BillingType, Component, OfferingState};
use super::rules::check_component_set;
use super::{BillingMode, Offering, OfferingCommand, OfferingError, OfferingEvent, types};

impl Offering {
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

    /// The events a command produces, or the rule it breaks.
    pub(super) fn decide(
        &self,
        command: OfferingCommand,
    ) -> Result<Vec<OfferingEvent>, OfferingError> {
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
}
