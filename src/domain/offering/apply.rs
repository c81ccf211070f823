//! How each event changes an offering's state (the `apply` of the aggregate).

use super::event::event_time;
use super::model::OfferingState;
use super::{Offering, OfferingEvent};

impl Offering {
    /// The state after `event`; every event also stamps `modified`.
    pub(super) fn apply_event(&mut self, event: OfferingEvent) {
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
