//! Arrow settings: where the Arrow API is, a reference to its key, and how consumption is
//! read and invoiced. The earliest created active settings are the active ones.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::changed;
use crate::domain::secret::SecretRef;
use crate::domain_event;

/// Which Arrow price an invoice item takes.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PriceSource {
    #[default]
    Sell,
    Buy,
}

impl PriceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceSource::Sell => "sell",
            PriceSource::Buy => "buy",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sell" => Some(PriceSource::Sell),
            "buy" => Some(PriceSource::Buy),
            _ => None,
        }
    }
}

/// Everything about the settings an operator sets, besides the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SettingsFields {
    pub api_url: String,
    pub export_type_reference: String,
    pub classification_filter: String,
    pub is_active: bool,
    pub sync_enabled: bool,
    pub invoice_price_source: PriceSource,
    pub invoice_item_prefix: String,
}

impl Default for SettingsFields {
    fn default() -> Self {
        Self {
            api_url: String::new(),
            export_type_reference: String::new(),
            classification_filter: "IAAS".to_string(),
            is_active: true,
            sync_enabled: false,
            invoice_price_source: PriceSource::Sell,
            invoice_item_prefix: "Arrow consumption".to_string(),
        }
    }
}

/// Changes to settings; `None` leaves a field as it is. In an event only the fields that
/// changed are present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SettingsChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<SecretRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_type_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification_filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_price_source: Option<PriceSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_item_prefix: Option<String>,
    /// What Arrow's `whoami` says about the partner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ArrowSettings {
    pub uuid: Option<Uuid>,
    pub fields: SettingsFields,
    pub api_key: Option<SecretRef>,
    pub partner_reference: String,
    pub partner_name: String,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub enum ArrowSettingsCommand {
    Create {
        uuid: Uuid,
        fields: SettingsFields,
        api_key: SecretRef,
        at: DateTime<Utc>,
    },
    /// Changes the fields given; an unchanged value appends nothing.
    Change {
        changes: SettingsChanges,
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ArrowSettingsEvent {
    ArrowSettingsCreated {
        uuid: Uuid,
        fields: SettingsFields,
        api_key: SecretRef,
        at: DateTime<Utc>,
    },
    ArrowSettingsChanged {
        changes: SettingsChanges,
        at: DateTime<Utc>,
    },
    ArrowSettingsDeleted {
        at: DateTime<Utc>,
    },
}

domain_event!(ArrowSettingsEvent, version = "1", {
    ArrowSettingsCreated => "ArrowSettingsCreated",
    ArrowSettingsChanged => "ArrowSettingsChanged",
    ArrowSettingsDeleted => "ArrowSettingsDeleted",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArrowSettingsError {
    #[error("Arrow settings already exist")]
    AlreadyExists,
    #[error("Arrow settings not found")]
    NotFound,
}

impl ArrowSettings {
    /// The changes that differ from the current state; `None` when nothing does.
    fn effective(&self, changes: SettingsChanges) -> Option<SettingsChanges> {
        let f = &self.fields;
        let effective = SettingsChanges {
            api_url: changed(changes.api_url, &f.api_url),
            api_key: changes.api_key.filter(|k| {
                self.api_key
                    .as_ref()
                    .is_none_or(|old| old.fingerprint != k.fingerprint || old.id != k.id)
            }),
            export_type_reference: changed(changes.export_type_reference, &f.export_type_reference),
            classification_filter: changed(changes.classification_filter, &f.classification_filter),
            is_active: changed(changes.is_active, &f.is_active),
            sync_enabled: changed(changes.sync_enabled, &f.sync_enabled),
            invoice_price_source: changed(changes.invoice_price_source, &f.invoice_price_source),
            invoice_item_prefix: changed(changes.invoice_item_prefix, &f.invoice_item_prefix),
            partner_reference: changed(changes.partner_reference, &self.partner_reference),
            partner_name: changed(changes.partner_name, &self.partner_name),
        };
        (effective != SettingsChanges::default()).then_some(effective)
    }
}

impl Aggregate for ArrowSettings {
    const TYPE: &'static str = "arrow_settings";
    type Command = ArrowSettingsCommand;
    type Event = ArrowSettingsEvent;
    type Error = ArrowSettingsError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            ArrowSettingsCommand::Create { .. } if self.uuid.is_some() => {
                return Err(ArrowSettingsError::AlreadyExists);
            }
            ArrowSettingsCommand::Create {
                uuid,
                fields,
                api_key,
                at,
            } => Some(ArrowSettingsEvent::ArrowSettingsCreated {
                uuid,
                fields,
                api_key,
                at,
            }),
            _ if self.uuid.is_none() || self.deleted => return Err(ArrowSettingsError::NotFound),
            ArrowSettingsCommand::Change { changes, at } => self
                .effective(changes)
                .map(|changes| ArrowSettingsEvent::ArrowSettingsChanged { changes, at }),
            ArrowSettingsCommand::Delete { at } => {
                Some(ArrowSettingsEvent::ArrowSettingsDeleted { at })
            }
        };
        if let Some(event) = event {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ArrowSettingsEvent::ArrowSettingsCreated {
                uuid,
                fields,
                api_key,
                at,
            } => {
                *self = ArrowSettings {
                    uuid: Some(uuid),
                    fields,
                    api_key: Some(api_key),
                    created: Some(at),
                    modified: Some(at),
                    ..Default::default()
                };
            }
            ArrowSettingsEvent::ArrowSettingsChanged { changes, at } => {
                let f = &mut self.fields;
                if let Some(v) = changes.api_url {
                    f.api_url = v;
                }
                if let Some(v) = changes.export_type_reference {
                    f.export_type_reference = v;
                }
                if let Some(v) = changes.classification_filter {
                    f.classification_filter = v;
                }
                if let Some(v) = changes.is_active {
                    f.is_active = v;
                }
                if let Some(v) = changes.sync_enabled {
                    f.sync_enabled = v;
                }
                if let Some(v) = changes.invoice_price_source {
                    f.invoice_price_source = v;
                }
                if let Some(v) = changes.invoice_item_prefix {
                    f.invoice_item_prefix = v;
                }
                if let Some(v) = changes.api_key {
                    self.api_key = Some(v);
                }
                if let Some(v) = changes.partner_reference {
                    self.partner_reference = v;
                }
                if let Some(v) = changes.partner_name {
                    self.partner_name = v;
                }
                self.modified = Some(at);
            }
            ArrowSettingsEvent::ArrowSettingsDeleted { at } => {
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

    type Given = TestFramework<ArrowSettings>;

    fn at() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn key(fingerprint: &str) -> SecretRef {
        SecretRef {
            id: Uuid::from_u128(9),
            fingerprint: fingerprint.into(),
        }
    }

    fn created() -> ArrowSettingsEvent {
        ArrowSettingsEvent::ArrowSettingsCreated {
            uuid: Uuid::from_u128(1),
            fields: SettingsFields {
                api_url: "https://arrow.example/api/".into(),
                ..Default::default()
            },
            api_key: key("aaaa"),
            at: at(),
        }
    }

    #[test]
    fn settings_are_created_once() {
        Given::with(())
            .given(vec![created()])
            .when(ArrowSettingsCommand::Create {
                uuid: Uuid::from_u128(1),
                fields: SettingsFields::default(),
                api_key: key("bbbb"),
                at: at(),
            })
            .then_expect_error(ArrowSettingsError::AlreadyExists);
    }

    #[test]
    fn a_change_records_only_what_changed() {
        Given::with(())
            .given(vec![created()])
            .when(ArrowSettingsCommand::Change {
                changes: SettingsChanges {
                    api_url: Some("https://arrow.example/api/".into()),
                    is_active: Some(false),
                    partner_name: Some("Partner Oy".into()),
                    ..Default::default()
                },
                at: at(),
            })
            .then_expect_events(vec![ArrowSettingsEvent::ArrowSettingsChanged {
                changes: SettingsChanges {
                    is_active: Some(false),
                    partner_name: Some("Partner Oy".into()),
                    ..Default::default()
                },
                at: at(),
            }]);
    }

    #[test]
    fn an_unchanged_input_appends_nothing() {
        Given::with(())
            .given(vec![created()])
            .when(ArrowSettingsCommand::Change {
                changes: SettingsChanges {
                    api_key: Some(key("aaaa")),
                    classification_filter: Some("IAAS".into()),
                    is_active: Some(true),
                    ..Default::default()
                },
                at: at(),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_new_key_is_a_change() {
        Given::with(())
            .given(vec![created()])
            .when(ArrowSettingsCommand::Change {
                changes: SettingsChanges {
                    api_key: Some(key("cccc")),
                    ..Default::default()
                },
                at: at(),
            })
            .then_expect_events(vec![ArrowSettingsEvent::ArrowSettingsChanged {
                changes: SettingsChanges {
                    api_key: Some(key("cccc")),
                    ..Default::default()
                },
                at: at(),
            }]);
    }

    #[test]
    fn deleted_settings_take_no_commands() {
        Given::with(())
            .given(vec![
                created(),
                ArrowSettingsEvent::ArrowSettingsDeleted { at: at() },
            ])
            .when(ArrowSettingsCommand::Delete { at: at() })
            .then_expect_error(ArrowSettingsError::NotFound);
    }
}
