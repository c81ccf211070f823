//! A remote public offering read leniently into the parts sync copies: the synced detail
//! fields, the state, the components and the plans with their prices. The remote may be
//! another ledger or a real Waldur of another version: unknown keys are ignored, missing
//! ones take their defaults, and plan prices come from `plans[].prices` and
//! `plans[].quotas` maps (Waldur 2024) or from `plans[].components` items.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::offering::model::{
    BillingType, Component, LimitPeriod, OfferingState, Plan, PlanUnit,
};
use crate::domain::offering::sync::SYNCED_DETAILS;

/// One remote offering as sync sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteOffering {
    pub uuid: Uuid,
    /// The synced detail fields, by name.
    pub fields: BTreeMap<&'static str, String>,
    pub options: Value,
    pub state: OfferingState,
    pub components: Vec<Component>,
    pub plans: Vec<RemotePlan>,
}

impl RemoteOffering {
    pub fn name(&self) -> &str {
        self.fields.get("name").map(String::as_str).unwrap_or("")
    }
}

/// A remote plan; matched to a local one by its uuid (the local plan's `backend_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct RemotePlan {
    pub uuid: Uuid,
    pub name: String,
    pub description: String,
    pub article_code: String,
    pub max_amount: Option<i64>,
    pub archived: bool,
    pub unit_price: Decimal,
    pub unit: PlanUnit,
    pub prices: BTreeMap<String, Decimal>,
    pub quotas: BTreeMap<String, i64>,
}

impl RemotePlan {
    /// The local plan this remote one becomes, keeping the local uuid when there is one.
    pub fn to_local(&self, uuid: Uuid) -> Plan {
        Plan {
            uuid,
            name: self.name.clone(),
            description: self.description.clone(),
            article_code: self.article_code.clone(),
            max_amount: self.max_amount,
            archived: self.archived,
            unit_price: self.unit_price,
            unit: self.unit,
            backend_id: self.uuid.simple().to_string(),
            prices: self.prices.clone(),
            future_prices: BTreeMap::new(),
            quotas: self.quotas.clone(),
        }
    }
}

fn text(map: &Map<String, Value>, key: &str) -> String {
    match map.get(key) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn uuid(map: &Map<String, Value>, key: &str) -> Option<Uuid> {
    map.get(key)?.as_str().and_then(|s| Uuid::parse_str(s).ok())
}

fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A price given as a JSON number or a decimal string, read through its decimal text.
fn decimal(value: Option<&Value>) -> Option<Decimal> {
    let text = match value? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
        .map(|d| d.normalize())
}

fn component(value: &Value) -> Option<Component> {
    let map = value.as_object()?;
    let component_type = text(map, "type");
    if component_type.is_empty() {
        return None;
    }
    Some(Component {
        // local ids are kept by the offering; this one is replaced when it is new there
        uuid: Uuid::nil(),
        name: Some(text(map, "name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| component_type.clone()),
        component_type,
        description: text(map, "description"),
        billing_type: BillingType::parse(&text(map, "billing_type")).unwrap_or_default(),
        measured_unit: text(map, "measured_unit"),
        limit_period: LimitPeriod::parse(&text(map, "limit_period")),
        limit_amount: integer(map.get("limit_amount")),
        article_code: text(map, "article_code"),
        min_value: integer(map.get("min_value")),
        max_value: integer(map.get("max_value")),
        max_available_limit: integer(map.get("max_available_limit")),
        is_boolean: map
            .get("is_boolean")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        default_limit: integer(map.get("default_limit")),
        factor: integer(map.get("factor")),
        is_builtin: map
            .get("is_builtin")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        backend_id: String::new(),
    })
}

fn plan(value: &Value) -> Option<RemotePlan> {
    let map = value.as_object()?;
    let uuid = uuid(map, "uuid")?;
    let mut prices = BTreeMap::new();
    let mut quotas = BTreeMap::new();
    if let Some(Value::Object(given)) = map.get("prices") {
        for (kind, price) in given {
            if let Some(price) = decimal(Some(price)) {
                prices.insert(kind.clone(), price);
            }
        }
    }
    if let Some(Value::Object(given)) = map.get("quotas") {
        for (kind, amount) in given {
            if let Some(amount) = integer(Some(amount)) {
                quotas.insert(kind.clone(), amount);
            }
        }
    }
    if let Some(Value::Array(items)) = map.get("components") {
        for item in items.iter().filter_map(Value::as_object) {
            let kind = text(item, "type");
            if kind.is_empty() {
                continue;
            }
            if let Some(price) = decimal(item.get("price")) {
                prices.entry(kind.clone()).or_insert(price);
            }
            if let Some(amount) = integer(item.get("amount")) {
                quotas.entry(kind).or_insert(amount);
            }
        }
    }
    Some(RemotePlan {
        uuid,
        name: text(map, "name"),
        description: text(map, "description"),
        article_code: text(map, "article_code"),
        max_amount: integer(map.get("max_amount")),
        archived: map
            .get("archived")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        unit_price: decimal(map.get("unit_price")).unwrap_or_default(),
        unit: PlanUnit::parse(&text(map, "unit")).unwrap_or(PlanUnit::Month),
        prices,
        quotas,
    })
}

/// Reads one item of a remote `marketplace-public-offerings/` list.
pub fn parse_offering(value: &Value) -> Result<RemoteOffering, String> {
    let map = value
        .as_object()
        .ok_or_else(|| "an offering that is not a JSON object".to_string())?;
    let uuid = uuid(map, "uuid").ok_or_else(|| "an offering without a valid uuid".to_string())?;
    let fields = SYNCED_DETAILS
        .iter()
        .map(|field| (*field, text(map, field)))
        .collect();
    let components = match map.get("components") {
        Some(Value::Array(items)) => items.iter().filter_map(component).collect(),
        _ => Vec::new(),
    };
    let plans = match map.get("plans") {
        Some(Value::Array(items)) => items.iter().filter_map(plan).collect(),
        _ => Vec::new(),
    };
    Ok(RemoteOffering {
        uuid,
        fields,
        options: map
            .get("options")
            .filter(|o| o.is_object())
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"options": {}, "order": []})),
        state: map
            .get("state")
            .and_then(Value::as_str)
            .and_then(OfferingState::parse)
            .unwrap_or(OfferingState::Draft),
        components,
        plans,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_waldur_2024_offering_gives_prices_and_quotas_from_its_plan_maps() {
        let remote = parse_offering(&json!({
            "uuid": "3f2a6c3c9b5b4d3e8e8f7d6c5b4a3921",
            "name": "HPC",
            "description": "Compute",
            "state": "Active",
            "unknown_key": {"ignored": true},
            "components": [
                {"type": "cpu", "name": "CPU", "billing_type": "usage", "measured_unit": "hours"},
                {"type": "storage", "billing_type": "limit", "limit_period": "total"}
            ],
            "plans": [{
                "uuid": "9a1b2c3d4e5f60718293a4b5c6d7e8f9",
                "name": "Default",
                "unit_price": "0.0000000000",
                "unit": "month",
                "prices": {"cpu": 0.5, "storage": 0.1},
                "quotas": {"cpu": 0, "storage": 0}
            }]
        }))
        .unwrap();
        assert_eq!(remote.name(), "HPC");
        assert_eq!(remote.state, OfferingState::Active);
        assert_eq!(remote.fields["full_description"], "");
        assert_eq!(remote.components.len(), 2);
        assert_eq!(remote.components[1].name, "storage");
        assert_eq!(remote.components[1].limit_period, Some(LimitPeriod::Total));
        let plan = &remote.plans[0];
        assert_eq!(plan.prices["cpu"], Decimal::from_str("0.5").unwrap());
        assert_eq!(plan.prices["storage"], Decimal::from_str("0.1").unwrap());
        assert_eq!(plan.quotas["cpu"], 0);
        assert_eq!(plan.unit_price, Decimal::ZERO);
    }

    #[test]
    fn plan_components_give_prices_where_maps_are_missing() {
        let remote = parse_offering(&json!({
            "uuid": "3f2a6c3c-9b5b-4d3e-8e8f-7d6c5b4a3921",
            "plans": [{
                "uuid": "9a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
                "components": [{"type": "cpu", "price": "1.2500000000", "amount": 4}]
            }]
        }))
        .unwrap();
        assert_eq!(remote.state, OfferingState::Draft);
        assert_eq!(
            remote.plans[0].prices["cpu"],
            Decimal::from_str("1.25").unwrap()
        );
        assert_eq!(remote.plans[0].quotas["cpu"], 4);
        assert_eq!(remote.plans[0].unit, PlanUnit::Month);
    }

    #[test]
    fn an_offering_without_a_uuid_is_refused() {
        assert!(parse_offering(&json!({"name": "x"})).is_err());
        assert!(parse_offering(&json!("x")).is_err());
    }

    #[test]
    fn a_local_plan_remembers_the_remote_one_in_its_backend_id() {
        let remote = parse_offering(&json!({
            "uuid": "3f2a6c3c9b5b4d3e8e8f7d6c5b4a3921",
            "plans": [{"uuid": "9a1b2c3d4e5f60718293a4b5c6d7e8f9", "name": "Small"}]
        }))
        .unwrap();
        let local = remote.plans[0].to_local(Uuid::from_u128(5));
        assert_eq!(local.backend_id, "9a1b2c3d4e5f60718293a4b5c6d7e8f9");
        assert_eq!(local.uuid, Uuid::from_u128(5));
        assert_eq!(local.name, "Small");
    }
}
