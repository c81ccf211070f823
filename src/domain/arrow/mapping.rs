//! An Arrow customer mapping: one Arrow customer (by its reference) of one settings,
//! mapped to a local organization. `(arrow_reference, settings)` is unique; the
//! application checks it under a lock before creating or changing a mapping.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::changed;
use crate::domain_event;

/// What a mapping says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MappingFields {
    pub settings_uuid: Uuid,
    pub arrow_reference: String,
    pub arrow_company_name: String,
    pub waldur_customer_uuid: Uuid,
    pub is_active: bool,
}

/// Changes to a mapping; `None` leaves a field as it is. In an event only the fields that
/// changed are present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MappingChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_uuid: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrow_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrow_company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waldur_customer_uuid: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ArrowCustomerMapping {
    pub uuid: Option<Uuid>,
    pub fields: MappingFields,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub enum MappingCommand {
    Create {
        uuid: Uuid,
        fields: MappingFields,
        at: DateTime<Utc>,
    },
    /// Changes the fields given; an unchanged value appends nothing.
    Change {
        changes: MappingChanges,
        at: DateTime<Utc>,
    },
    /// Deleted on its own or with its settings.
    Delete { at: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MappingEvent {
    ArrowCustomerMappingCreated {
        uuid: Uuid,
        fields: MappingFields,
        at: DateTime<Utc>,
    },
    ArrowCustomerMappingChanged {
        changes: MappingChanges,
        at: DateTime<Utc>,
    },
    ArrowCustomerMappingDeleted {
        at: DateTime<Utc>,
    },
}

domain_event!(MappingEvent, version = "1", {
    ArrowCustomerMappingCreated => "ArrowCustomerMappingCreated",
    ArrowCustomerMappingChanged => "ArrowCustomerMappingChanged",
    ArrowCustomerMappingDeleted => "ArrowCustomerMappingDeleted",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("Arrow customer mapping already exists")]
    AlreadyExists,
    #[error("Arrow customer mapping not found")]
    NotFound,
}

impl ArrowCustomerMapping {
    fn effective(&self, changes: MappingChanges) -> Option<MappingChanges> {
        let f = &self.fields;
        let effective = MappingChanges {
            settings_uuid: changed(changes.settings_uuid, &f.settings_uuid),
            arrow_reference: changed(changes.arrow_reference, &f.arrow_reference),
            arrow_company_name: changed(changes.arrow_company_name, &f.arrow_company_name),
            waldur_customer_uuid: changed(changes.waldur_customer_uuid, &f.waldur_customer_uuid),
            is_active: changed(changes.is_active, &f.is_active),
        };
        (effective != MappingChanges::default()).then_some(effective)
    }
}

impl Aggregate for ArrowCustomerMapping {
    const TYPE: &'static str = "arrow_customer_mapping";
    type Command = MappingCommand;
    type Event = MappingEvent;
    type Error = MappingError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            MappingCommand::Create { .. } if self.uuid.is_some() => {
                return Err(MappingError::AlreadyExists);
            }
            MappingCommand::Create { uuid, fields, at } => {
                Some(MappingEvent::ArrowCustomerMappingCreated { uuid, fields, at })
            }
            _ if self.uuid.is_none() || self.deleted => return Err(MappingError::NotFound),
            MappingCommand::Change { changes, at } => self
                .effective(changes)
                .map(|changes| MappingEvent::ArrowCustomerMappingChanged { changes, at }),
            MappingCommand::Delete { at } => Some(MappingEvent::ArrowCustomerMappingDeleted { at }),
        };
        if let Some(event) = event {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            MappingEvent::ArrowCustomerMappingCreated { uuid, fields, at } => {
                *self = ArrowCustomerMapping {
                    uuid: Some(uuid),
                    fields,
                    created: Some(at),
                    modified: Some(at),
                    deleted: false,
                };
            }
            MappingEvent::ArrowCustomerMappingChanged { changes, at } => {
                let f = &mut self.fields;
                if let Some(v) = changes.settings_uuid {
                    f.settings_uuid = v;
                }
                if let Some(v) = changes.arrow_reference {
                    f.arrow_reference = v;
                }
                if let Some(v) = changes.arrow_company_name {
                    f.arrow_company_name = v;
                }
                if let Some(v) = changes.waldur_customer_uuid {
                    f.waldur_customer_uuid = v;
                }
                if let Some(v) = changes.is_active {
                    f.is_active = v;
                }
                self.modified = Some(at);
            }
            MappingEvent::ArrowCustomerMappingDeleted { at } => {
                self.deleted = true;
                self.modified = Some(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    type Given = TestFramework<ArrowCustomerMapping>;

    fn at() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn fields() -> MappingFields {
        MappingFields {
            settings_uuid: Uuid::from_u128(1),
            arrow_reference: "XSP661245".into(),
            arrow_company_name: "Nordic Research Labs Oy".into(),
            waldur_customer_uuid: Uuid::from_u128(2),
            is_active: true,
        }
    }

    fn created() -> MappingEvent {
        MappingEvent::ArrowCustomerMappingCreated {
            uuid: Uuid::from_u128(3),
            fields: fields(),
            at: at(),
        }
    }

    #[test]
    fn a_mapping_is_created() {
        Given::with(())
            .given_no_previous_events()
            .when(MappingCommand::Create {
                uuid: Uuid::from_u128(3),
                fields: fields(),
                at: at(),
            })
            .then_expect_events(vec![created()]);
    }

    #[test]
    fn a_rename_to_the_same_company_name_appends_nothing() {
        Given::with(())
            .given(vec![created()])
            .when(MappingCommand::Change {
                changes: MappingChanges {
                    arrow_company_name: Some("Nordic Research Labs Oy".into()),
                    is_active: Some(true),
                    ..Default::default()
                },
                at: at(),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_change_records_only_what_changed() {
        Given::with(())
            .given(vec![created()])
            .when(MappingCommand::Change {
                changes: MappingChanges {
                    arrow_company_name: Some("Nordic Labs".into()),
                    is_active: Some(true),
                    ..Default::default()
                },
                at: at(),
            })
            .then_expect_events(vec![MappingEvent::ArrowCustomerMappingChanged {
                changes: MappingChanges {
                    arrow_company_name: Some("Nordic Labs".into()),
                    ..Default::default()
                },
                at: at(),
            }]);
    }

    #[test]
    fn a_deleted_mapping_cannot_change() {
        Given::with(())
            .given(vec![
                created(),
                MappingEvent::ArrowCustomerMappingDeleted { at: at() },
            ])
            .when(MappingCommand::Change {
                changes: MappingChanges::default(),
                at: at(),
            })
            .then_expect_error(MappingError::NotFound);
    }
}
