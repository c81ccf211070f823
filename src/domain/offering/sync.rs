//! An imported offering kept equal to its remote: the synced detail fields, the options,
//! the mapped category, the state, the components and the plans. One command carries all
//! of it; the event holds only the parts that differ, and no difference means no event.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::Offering;
use super::model::{Component, OfferingDetails, OfferingState, Plan};

/// Detail fields a sync keeps equal to the remote's (Waldur's `OFFERING_FIELDS`).
pub const SYNCED_DETAILS: &[&str] = &[
    "name",
    "description",
    "full_description",
    "terms_of_service",
    "terms_of_service_link",
    "privacy_policy_link",
    "getting_started",
    "country",
];

/// What an imported offering should be after a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteContent {
    pub details: OfferingDetails,
    pub options: Value,
    pub category_uuid: Uuid,
    pub state: OfferingState,
    pub components: Vec<Component>,
    pub plans: Vec<Plan>,
}

/// The parts of an offering a sync changed; absent parts stayed as they were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<OfferingDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_uuid: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<OfferingState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<Component>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plans: Option<Vec<Plan>>,
    /// The names of what changed, for the run's account and for auditors.
    pub fields: Vec<String>,
    /// The sync run that made the change.
    pub run: Uuid,
}

impl RemoteChanges {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

fn detail_fields(details: &OfferingDetails) -> serde_json::Map<String, Value> {
    match serde_json::to_value(details) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

impl Offering {
    /// What differs between this offering and `content`, as the changes a sync makes.
    pub fn remote_changes(&self, content: &RemoteContent, run: Uuid) -> RemoteChanges {
        let mut changes = RemoteChanges {
            run,
            ..RemoteChanges::default()
        };
        if content.details != self.details {
            let old = detail_fields(&self.details);
            let new = detail_fields(&content.details);
            for (key, value) in &new {
                if old.get(key) != Some(value) {
                    changes.fields.push(key.clone());
                }
            }
            changes.details = Some(content.details.clone());
        }
        if content.options != self.settings.options {
            changes.fields.push("options".into());
            changes.options = Some(content.options.clone());
        }
        if content.category_uuid != self.category_uuid {
            changes.fields.push("category".into());
            changes.category_uuid = Some(content.category_uuid);
        }
        if content.state != self.state {
            changes.fields.push("state".into());
            changes.state = Some(content.state);
        }
        if content.components != self.components {
            changes.fields.push("components".into());
            changes.components = Some(content.components.clone());
        }
        if content.plans != self.plans {
            changes.fields.push("plans".into());
            changes.plans = Some(content.plans.clone());
        }
        changes
    }

    pub(super) fn apply_remote_changes(&mut self, changes: RemoteChanges) {
        if let Some(details) = changes.details {
            self.details = details;
        }
        if let Some(options) = changes.options {
            self.settings.options = options;
        }
        if let Some(category) = changes.category_uuid {
            self.category_uuid = category;
        }
        if let Some(state) = changes.state {
            self.state = state;
            if state != OfferingState::Paused {
                self.paused_reason.clear();
            }
        }
        if let Some(components) = changes.components {
            self.components = components;
        }
        if let Some(plans) = changes.plans {
            self.plans = plans;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offering() -> Offering {
        Offering {
            uuid: Some(Uuid::from_u128(1)),
            offering_type: super::super::imported::REMOTE_OFFERING_TYPE.into(),
            category_uuid: Uuid::from_u128(2),
            state: OfferingState::Active,
            details: OfferingDetails {
                name: "HPC".into(),
                ..OfferingDetails::default()
            },
            ..Offering::default()
        }
    }

    fn same(offering: &Offering) -> RemoteContent {
        RemoteContent {
            details: offering.details.clone(),
            options: offering.settings.options.clone(),
            category_uuid: offering.category_uuid,
            state: offering.state,
            components: offering.components.clone(),
            plans: offering.plans.clone(),
        }
    }

    #[test]
    fn an_unchanged_remote_changes_nothing() {
        let offering = offering();
        assert!(
            offering
                .remote_changes(&same(&offering), Uuid::nil())
                .is_empty()
        );
    }

    #[test]
    fn only_what_differs_is_carried_and_named() {
        let mut offering = offering();
        let mut content = same(&offering);
        content.details.name = "HPC 2".into();
        content.state = OfferingState::Archived;
        let changes = offering.remote_changes(&content, Uuid::from_u128(9));
        assert_eq!(changes.fields, ["name", "state"]);
        assert!(changes.components.is_none());
        assert_eq!(changes.run, Uuid::from_u128(9));
        offering.apply_remote_changes(changes);
        assert_eq!(offering.details.name, "HPC 2");
        assert_eq!(offering.state, OfferingState::Archived);
    }
}
