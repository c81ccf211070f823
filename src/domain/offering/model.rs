//! The parts an offering is made of: its state, details, components, plans, endpoints and
//! partitions. Plain values; the rules live in the aggregate.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Offering states with their API names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum OfferingState {
    #[default]
    Draft,
    Active,
    Paused,
    Archived,
    Unavailable,
}

impl OfferingState {
    pub const ALL: [OfferingState; 5] = [
        OfferingState::Draft,
        OfferingState::Active,
        OfferingState::Paused,
        OfferingState::Archived,
        OfferingState::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OfferingState::Draft => "Draft",
            OfferingState::Active => "Active",
            OfferingState::Paused => "Paused",
            OfferingState::Archived => "Archived",
            OfferingState::Unavailable => "Unavailable",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How a component is billed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BillingType {
    #[default]
    Fixed,
    Usage,
    Limit,
    /// One-time, on creation.
    One,
    /// One-time, on plan switch.
    Few,
}

impl BillingType {
    pub const ALL: [BillingType; 5] = [
        BillingType::Fixed,
        BillingType::Usage,
        BillingType::Limit,
        BillingType::One,
        BillingType::Few,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BillingType::Fixed => "fixed",
            BillingType::Usage => "usage",
            BillingType::Limit => "limit",
            BillingType::One => "one",
            BillingType::Few => "few",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The period a limit component's amount applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LimitPeriod {
    Month,
    Quarterly,
    Annual,
    Total,
}

impl LimitPeriod {
    pub const ALL: [LimitPeriod; 4] = [
        LimitPeriod::Month,
        LimitPeriod::Quarterly,
        LimitPeriod::Annual,
        LimitPeriod::Total,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LimitPeriod::Month => "month",
            LimitPeriod::Quarterly => "quarterly",
            LimitPeriod::Annual => "annual",
            LimitPeriod::Total => "total",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The billing unit of a plan.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PlanUnit {
    Month,
    Quarter,
    HalfMonth,
    #[default]
    Day,
    Hour,
    Quantity,
}

impl PlanUnit {
    pub const ALL: [PlanUnit; 6] = [
        PlanUnit::Month,
        PlanUnit::Quarter,
        PlanUnit::HalfMonth,
        PlanUnit::Day,
        PlanUnit::Hour,
        PlanUnit::Quantity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanUnit::Month => "month",
            PlanUnit::Quarter => "quarter",
            PlanUnit::HalfMonth => "half_month",
            PlanUnit::Day => "day",
            PlanUnit::Hour => "hour",
            PlanUnit::Quantity => "quantity",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The descriptive, freely editable part of an offering.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct OfferingDetails {
    pub name: String,
    pub description: String,
    pub full_description: String,
    pub terms_of_service: String,
    pub terms_of_service_link: String,
    pub privacy_policy_link: String,
    pub vendor_details: String,
    pub getting_started: String,
    pub integration_guide: String,
    pub access_url: String,
    pub native_name: String,
    pub native_description: String,
    pub country: String,
    pub backend_id: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub shared: bool,
    pub billable: bool,
    pub datacite_doi: String,
}

/// Structured settings of an offering, kept as the JSON the API exchanges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct OfferingSettings {
    pub attributes: Map<String, Value>,
    pub options: Value,
    pub resource_options: Value,
    pub plugin_options: Map<String, Value>,
    pub secret_options: Map<String, Value>,
    pub service_attributes: Map<String, Value>,
    pub backend_id_rules: Map<String, Value>,
}

impl Default for OfferingSettings {
    fn default() -> Self {
        let empty_options = serde_json::json!({"options": {}, "order": []});
        Self {
            attributes: Map::new(),
            options: empty_options.clone(),
            resource_options: empty_options,
            plugin_options: Map::new(),
            secret_options: Map::new(),
            service_attributes: Map::new(),
            backend_id_rules: Map::new(),
        }
    }
}

/// A measured or priced part of an offering (cpu hours, storage GB, a licence…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Component {
    pub uuid: Uuid,
    #[serde(rename = "type")]
    pub component_type: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub billing_type: BillingType,
    #[serde(default)]
    pub measured_unit: String,
    #[serde(default)]
    pub limit_period: Option<LimitPeriod>,
    #[serde(default)]
    pub limit_amount: Option<i64>,
    #[serde(default)]
    pub article_code: String,
    #[serde(default)]
    pub min_value: Option<i64>,
    #[serde(default)]
    pub max_value: Option<i64>,
    #[serde(default)]
    pub max_available_limit: Option<i64>,
    #[serde(default)]
    pub is_boolean: bool,
    #[serde(default)]
    pub default_limit: Option<i64>,
    #[serde(default)]
    pub factor: Option<i64>,
    #[serde(default)]
    pub is_builtin: bool,
    #[serde(default)]
    pub backend_id: String,
}

/// A price list: a base price per unit plus a price (and quota) per component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Plan {
    pub uuid: Uuid,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub article_code: String,
    #[serde(default)]
    pub max_amount: Option<i64>,
    #[serde(default)]
    pub archived: bool,
    pub unit_price: Decimal,
    pub unit: PlanUnit,
    #[serde(default)]
    pub backend_id: String,
    /// Price per component type.
    #[serde(default)]
    pub prices: BTreeMap<String, Decimal>,
    /// Prices that take effect later, for plans that already have resources.
    #[serde(default)]
    pub future_prices: BTreeMap<String, Decimal>,
    /// Amount per component type (fixed components).
    #[serde(default)]
    pub quotas: BTreeMap<String, i64>,
}

impl Plan {
    /// The plan's price for one component type (zero where none is set).
    pub fn price_of(&self, component_type: &str) -> Decimal {
        self.prices.get(component_type).copied().unwrap_or_default()
    }
}

/// A named URL of an offering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Endpoint {
    pub uuid: Uuid,
    pub name: String,
    pub url: String,
}

impl Endpoint {
    /// The schemes an endpoint may use (Waldur's endpoint URL validator).
    pub const SCHEMES: [&'static str; 6] = ["http", "https", "ldap", "ldaps", "ssh", "rdp"];

    /// Whether `url` is an endpoint URL: one of [`Endpoint::SCHEMES`] and a host.
    pub fn is_valid_url(url: &str) -> bool {
        url::Url::parse(url).is_ok_and(|parsed| {
            Self::SCHEMES.contains(&parsed.scheme()) && parsed.host_str().is_some()
        })
    }
}

/// A SLURM partition an offering provides, with its scheduling limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Partition {
    pub uuid: Uuid,
    pub partition_name: String,
    /// Stamped from the event that added or last changed the partition.
    #[serde(default)]
    pub created: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub modified: Option<chrono::DateTime<chrono::Utc>>,
    /// The remaining partition settings as the API exchanges them.
    #[serde(default)]
    pub settings: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn endpoint_urls_need_a_known_scheme_and_a_host() {
        for url in [
            "https://hpc.example.org",
            "http://10.0.0.1:8080/portal",
            "ldaps://ldap.example.org",
            "ssh://login.example.org",
            "rdp://desktop.example.org",
            "ldap://ldap.example.org",
        ] {
            assert!(Endpoint::is_valid_url(url), "{url}");
        }
        for url in [
            "",
            "hpc.example.org",
            "ftp://files.example.org",
            "mailto:admin@example.org",
            "https://",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(!Endpoint::is_valid_url(url), "{url}");
        }
    }
}
