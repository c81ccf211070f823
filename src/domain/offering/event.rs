//! What happened to an offering: its events, with the permanent names they are stored
//! under, and the time each happened.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ImportedContent;
use super::model::{Component, Endpoint, OfferingDetails, OfferingSettings, Partition, Plan};
use crate::domain_event;

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
        changes: super::sync::RemoteChanges,
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

/// The time an event happened.
pub(super) fn event_time(event: &OfferingEvent) -> DateTime<Utc> {
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
