//! An offering: what a service provider publishes, with its components, plans, endpoints and
//! partitions, and its lifecycle Draft → Active ⇄ Paused / Unavailable → Archived.
//!
//! - [`model`]: the values an offering is made of.
//! - [`types`]: the registry of offering types.
//! - [`pricing`]: what an order costs under a plan, in checked arithmetic.
//! - [`imported`], [`sync`]: offerings imported from another Waldur, kept equal to it.
//! - [`command`], [`event`], [`error`]: what can be asked, what happened, what was refused.
//! - `decide`: the events each command produces (the aggregate's `handle`), with the shared
//!   rules in `rules`; `apply`: how each event changes the state.
//! - this file: the state and `impl Aggregate`.
//!
//! Plans live inside the offering: "activate needs a plan" and "prices name existing
//! components" are then rules of one aggregate, decided atomically.

mod apply;
pub mod command;
mod decide;
pub mod error;
pub mod event;
pub mod imported;
pub mod model;
pub mod pricing;
mod review;
mod rules;
pub mod sync;
pub mod types;

#[cfg(test)]
mod tests;

pub use command::{BillingMode, ImportedContent, Lifecycle, OfferingCommand};
pub use error::OfferingError;
pub use event::OfferingEvent;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
        self.apply_event(event);
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
}
