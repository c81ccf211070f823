//! Upcasting: an event stored in an older shape is read as the current version of its type.
//! Stored rows are never rewritten (their hashes cover them as written); every reader
//! upcasts on the way in: the command framework (postgres-es's load path, through cqrs-es's
//! `PersistedEventStore::with_upcasters`), [`crate::store::together`] and the projector
//! (both through [`super::decode`]).
//!
//! Event type strings are permanent; a payload whose shape changes gets the next
//! `event_version` and an upcaster here, keyed by the type string (the store knows stored
//! shapes, not the domain types).
//!
//! | event type | version | change |
//! |---|---|---|
//! | `CustomerRoleGranted`, `ProjectRoleGranted` | 1 → 2 | the grant names who granted it (`granted_by`); version 1 left that to the metadata's `actor_uuid`, which the upcaster copies (null when the ledger itself granted it) |

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use serde_json::Value;
use uuid::Uuid;

/// Every upcaster, in the order they apply (an older version first).
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![
        Box::new(GrantorNamed("CustomerRoleGranted")),
        Box::new(GrantorNamed("ProjectRoleGranted")),
    ]
}

/// A stored event brought to the current version of its type.
pub fn upcast(event: SerializedEvent) -> SerializedEvent {
    upcasters().iter().fold(event, |event, upcaster| {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            upcaster.upcast(event)
        } else {
            event
        }
    })
}

/// The major number of a stored version (`"1"`, `"1.0"`).
fn major(version: &str) -> Option<u32> {
    version.split('.').next()?.parse().ok()
}

/// A role grant, version 1 → 2: the payload gains `granted_by`, the user who granted the
/// role, which version 1 recorded only as the event's actor.
struct GrantorNamed(&'static str);

impl EventUpcaster for GrantorNamed {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == self.0 && major(event_version) == Some(1)
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        let granted_by = event
            .metadata
            .get("actor_uuid")
            .and_then(Value::as_str)
            .and_then(|text| Uuid::parse_str(text).ok())
            .map_or(Value::Null, |uuid| Value::String(uuid.to_string()));
        if let Some(body) = event.payload.get_mut(self.0).and_then(Value::as_object_mut) {
            body.insert("granted_by".to_string(), granted_by);
        }
        event.event_version = "2".to_string();
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(event_type: &str, version: &str, payload: Value, metadata: Value) -> SerializedEvent {
        SerializedEvent::new(
            "c".into(),
            2,
            "customer".into(),
            event_type.into(),
            version.into(),
            payload,
            metadata,
        )
    }

    #[test]
    fn a_version_1_grant_names_its_actor_as_the_grantor() {
        let actor = Uuid::new_v4();
        let old = stored(
            "CustomerRoleGranted",
            "1",
            json!({"CustomerRoleGranted": {"role": "CUSTOMER.OWNER"}}),
            json!({"actor": "alice", "actor_uuid": actor.simple().to_string()}),
        );
        let new = upcast(old);
        assert_eq!(new.event_version, "2");
        assert_eq!(
            new.payload["CustomerRoleGranted"]["granted_by"],
            json!(actor.to_string())
        );
    }

    #[test]
    fn a_grant_by_the_ledger_itself_has_no_grantor() {
        let old = stored(
            "ProjectRoleGranted",
            "1.0",
            json!({"ProjectRoleGranted": {"role": "PROJECT.ADMIN"}}),
            json!({"actor": "system"}),
        );
        let new = upcast(old);
        assert_eq!(new.event_version, "2");
        assert_eq!(new.payload["ProjectRoleGranted"]["granted_by"], Value::Null);
    }

    #[test]
    fn current_versions_and_other_types_are_left_alone() {
        let current = stored(
            "CustomerRoleGranted",
            "2",
            json!({"CustomerRoleGranted": {"granted_by": null}}),
            json!({"actor_uuid": Uuid::new_v4().simple().to_string()}),
        );
        assert_eq!(upcast(current.clone()), current);
        let other = stored(
            "CustomerBlocked",
            "1",
            json!({"CustomerBlocked": {}}),
            json!({}),
        );
        assert_eq!(upcast(other.clone()), other);
    }
}
