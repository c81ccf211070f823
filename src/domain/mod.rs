//! The aggregates. Each file holds one aggregate's state, commands, events, errors, its
//! `impl Aggregate` and its given/when/then tests. Aggregates decide; they never fetch: the
//! application stamps ids and times into commands and passes facts read from projections.

pub mod arrow;
pub mod category;
pub mod customer;
pub mod offering;
pub mod order;
pub mod project;
pub mod remote_sync;
pub mod resource;
pub mod roles;
pub mod secret;
pub mod service_provider;
pub mod sync_run;
pub mod user;
pub mod username;

/// Implements `DomainEvent` with literal, permanent event type names and a version: the
/// enum's, or a variant's own (`Variant => "Name" @ "2"`) once its payload changed shape
/// (with an upcaster from the older version in [`crate::store::codec::upcast`]).
#[macro_export]
macro_rules! domain_event {
    ($event:ty, version = $version:literal, {
        $($variant:ident => $name:literal $(@ $own:literal)?),+ $(,)?
    }) => {
        impl cqrs_es::DomainEvent for $event {
            fn event_type(&self) -> String {
                match self {
                    $(Self::$variant { .. } => $name,)+
                }
                .to_string()
            }

            fn event_version(&self) -> String {
                match self {
                    $(Self::$variant { .. } => $crate::domain_event!(@version $version $(, $own)?),)+
                }
                .to_string()
            }
        }
    };
    (@version $version:literal) => {
        $version
    };
    (@version $version:literal, $own:literal) => {
        $own
    };
}

/// Applies already validated field changes to a details value: the aggregate merges them
/// into its current state, so concurrent partial updates of different fields both survive.
pub fn merge_changes<T>(
    current: &T,
    changes: &serde_json::Map<String, serde_json::Value>,
) -> Result<T, String>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let mut value = serde_json::to_value(current).map_err(|e| e.to_string())?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| "details are not an object".to_string())?;
    for (key, change) in changes {
        if !object.contains_key(key) {
            return Err(format!("unknown field {key}"));
        }
        object.insert(key.clone(), change.clone());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::merge_changes;
    use crate::domain::customer::CustomerDetails;
    use serde_json::json;

    #[test]
    fn merging_changes_keeps_untouched_fields() {
        let current = CustomerDetails {
            name: "Acme".into(),
            email: "a@example.com".into(),
            ..Default::default()
        };
        let changes = json!({"name": "Acme 2"});
        let merged = merge_changes(&current, changes.as_object().unwrap()).unwrap();
        assert_eq!(merged.name, "Acme 2");
        assert_eq!(merged.email, "a@example.com");
    }

    #[test]
    fn merging_an_unknown_or_mistyped_field_fails() {
        let current = CustomerDetails::default();
        assert!(merge_changes(&current, json!({"nope": 1}).as_object().unwrap()).is_err());
        assert!(merge_changes(&current, json!({"name": 1}).as_object().unwrap()).is_err());
    }
}
