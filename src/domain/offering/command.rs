//! What can be asked of an offering: the commands, and the values they carry (lifecycle
//! moves, billing modes, imported content).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::model::{Component, Endpoint, OfferingDetails, OfferingSettings, Partition, Plan};

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
    /// Keeps an imported offering equal to its remote (see [`super::sync`]).
    SyncFromRemote {
        content: Box<super::sync::RemoteContent>,
        run: Uuid,
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
}
