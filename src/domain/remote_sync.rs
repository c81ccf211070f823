//! A remote offering sync: which remote Waldur to read (its address, a reference to the
//! token, the organization whose view of the marketplace is imported), which local service
//! provider publishes what it brings, and how remote categories map to local ones. Its runs
//! are aggregates of their own ([`crate::domain::sync_run`]).

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::secret::SecretRef;
use crate::domain_event;

/// The name a mapping's remote category has until the remote tells it.
pub const UNKNOWN_CATEGORY_NAME: &str = "Unknown";

/// A remote category imported into a local one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CategoryMapping {
    pub uuid: Uuid,
    pub local_category_uuid: Uuid,
    pub remote_category_uuid: Uuid,
    pub remote_category_name: String,
}

/// A mapping as a client asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingSpec {
    pub local_category_uuid: Uuid,
    pub remote_category_uuid: Uuid,
    /// `None` keeps the current name (or "Unknown" for a new mapping).
    pub remote_category_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RemoteSync {
    pub uuid: Option<Uuid>,
    /// The remote's base address, normalized (no trailing `/api`).
    pub api_url: String,
    pub token: Option<SecretRef>,
    pub remote_organization_uuid: Uuid,
    pub remote_organization_name: String,
    pub local_service_provider_uuid: Uuid,
    pub mappings: Vec<CategoryMapping>,
    pub is_active: bool,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub deleted: bool,
}

/// The settings of a sync besides its mappings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    pub api_url: String,
    pub token: SecretRef,
    pub remote_organization_uuid: Uuid,
    pub remote_organization_name: String,
    pub local_service_provider_uuid: Uuid,
    pub is_active: bool,
}

/// Changes to settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChanges {
    pub api_url: Option<String>,
    pub token: Option<SecretRef>,
    pub remote_organization_name: Option<String>,
    pub local_service_provider_uuid: Option<Uuid>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Clone)]
pub enum RemoteSyncCommand {
    Create {
        uuid: Uuid,
        settings: SyncSettings,
        mappings: Vec<MappingSpec>,
        /// Ids for the mappings, one each, in order.
        mapping_uuids: Vec<Uuid>,
        at: DateTime<Utc>,
    },
    /// Changes settings and, when `mappings` is given, reconciles the mappings with it by
    /// `(local category, remote category)`: kept ones keep their ids, missing ones go, new
    /// ones take ids from `new_mapping_uuids`.
    Update {
        changes: SettingsChanges,
        mappings: Option<Vec<MappingSpec>>,
        new_mapping_uuids: Vec<Uuid>,
        at: DateTime<Utc>,
    },
    /// The names the remote now gives mapped categories (a run learns them).
    RenameRemoteCategories {
        names: Vec<(Uuid, String)>,
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RemoteSyncEvent {
    SyncCreated {
        uuid: Uuid,
        api_url: String,
        token: SecretRef,
        remote_organization_uuid: Uuid,
        remote_organization_name: String,
        local_service_provider_uuid: Uuid,
        mappings: Vec<CategoryMapping>,
        is_active: bool,
        at: DateTime<Utc>,
    },
    /// Only the fields that changed are present.
    SyncSettingsChanged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<SecretRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remote_organization_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        local_service_provider_uuid: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_active: Option<bool>,
        at: DateTime<Utc>,
    },
    MappingsChanged {
        added: Vec<CategoryMapping>,
        removed: Vec<Uuid>,
        /// `(mapping, new remote category name)`
        renamed: Vec<(Uuid, String)>,
        at: DateTime<Utc>,
    },
    SyncDeleted {
        at: DateTime<Utc>,
    },
}

domain_event!(RemoteSyncEvent, version = "1", {
    SyncCreated => "SyncCreated",
    SyncSettingsChanged => "SyncSettingsChanged",
    MappingsChanged => "MappingsChanged",
    SyncDeleted => "SyncDeleted",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteSyncError {
    #[error("remote synchronisation already exists")]
    AlreadyExists,
    #[error("remote synchronisation does not exist")]
    NotFound,
    #[error("At least one category must be specified.")]
    NoMappings,
    #[error("Duplicate remote categories are not allowed.")]
    DuplicateRemoteCategories,
    #[error("every new mapping needs an id")]
    MissingMappingIds,
}

fn check_mappings(mappings: &[MappingSpec]) -> Result<(), RemoteSyncError> {
    if mappings.is_empty() {
        return Err(RemoteSyncError::NoMappings);
    }
    let mut remote: Vec<Uuid> = mappings.iter().map(|m| m.remote_category_uuid).collect();
    remote.sort_unstable();
    remote.dedup();
    if remote.len() != mappings.len() {
        return Err(RemoteSyncError::DuplicateRemoteCategories);
    }
    Ok(())
}

impl RemoteSync {
    /// The events that turn the current mappings into `wanted`; `None` when they agree.
    fn reconcile(
        &self,
        wanted: &[MappingSpec],
        new_ids: &[Uuid],
        at: DateTime<Utc>,
    ) -> Result<Option<RemoteSyncEvent>, RemoteSyncError> {
        let key = |local: Uuid, remote: Uuid| (local, remote);
        let mut ids = new_ids.iter();
        let mut added = Vec::new();
        let mut renamed = Vec::new();
        for spec in wanted {
            match self.mappings.iter().find(|m| {
                key(m.local_category_uuid, m.remote_category_uuid)
                    == key(spec.local_category_uuid, spec.remote_category_uuid)
            }) {
                Some(current) => {
                    if let Some(name) = &spec.remote_category_name
                        && *name != current.remote_category_name
                    {
                        renamed.push((current.uuid, name.clone()));
                    }
                }
                None => added.push(CategoryMapping {
                    uuid: *ids.next().ok_or(RemoteSyncError::MissingMappingIds)?,
                    local_category_uuid: spec.local_category_uuid,
                    remote_category_uuid: spec.remote_category_uuid,
                    remote_category_name: spec
                        .remote_category_name
                        .clone()
                        .unwrap_or_else(|| UNKNOWN_CATEGORY_NAME.to_string()),
                }),
            }
        }
        let removed: Vec<Uuid> = self
            .mappings
            .iter()
            .filter(|m| {
                !wanted.iter().any(|spec| {
                    key(spec.local_category_uuid, spec.remote_category_uuid)
                        == key(m.local_category_uuid, m.remote_category_uuid)
                })
            })
            .map(|m| m.uuid)
            .collect();
        if added.is_empty() && removed.is_empty() && renamed.is_empty() {
            return Ok(None);
        }
        Ok(Some(RemoteSyncEvent::MappingsChanged {
            added,
            removed,
            renamed,
            at,
        }))
    }

    fn settings_event(
        &self,
        changes: SettingsChanges,
        at: DateTime<Utc>,
    ) -> Option<RemoteSyncEvent> {
        let differs = |new: Option<String>, old: &String| new.filter(|n| n != old);
        let api_url = differs(changes.api_url, &self.api_url);
        let token = changes.token.filter(|t| {
            self.token
                .as_ref()
                .is_none_or(|old| old.fingerprint != t.fingerprint)
        });
        let remote_organization_name = differs(
            changes.remote_organization_name,
            &self.remote_organization_name,
        );
        let local_service_provider_uuid = changes
            .local_service_provider_uuid
            .filter(|u| *u != self.local_service_provider_uuid);
        let is_active = changes.is_active.filter(|a| *a != self.is_active);
        if api_url.is_none()
            && token.is_none()
            && remote_organization_name.is_none()
            && local_service_provider_uuid.is_none()
            && is_active.is_none()
        {
            return None;
        }
        Some(RemoteSyncEvent::SyncSettingsChanged {
            api_url,
            token,
            remote_organization_name,
            local_service_provider_uuid,
            is_active,
            at,
        })
    }
}

impl Aggregate for RemoteSync {
    const TYPE: &'static str = "remote_sync";
    type Command = RemoteSyncCommand;
    type Event = RemoteSyncEvent;
    type Error = RemoteSyncError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let events = match command {
            RemoteSyncCommand::Create { .. } if self.uuid.is_some() => {
                return Err(RemoteSyncError::AlreadyExists);
            }
            RemoteSyncCommand::Create {
                uuid,
                settings,
                mappings,
                mapping_uuids,
                at,
            } => {
                check_mappings(&mappings)?;
                let mappings = self
                    .reconcile(&mappings, &mapping_uuids, at)?
                    .map(|event| match event {
                        RemoteSyncEvent::MappingsChanged { added, .. } => added,
                        _ => Vec::new(),
                    })
                    .unwrap_or_default();
                vec![RemoteSyncEvent::SyncCreated {
                    uuid,
                    api_url: settings.api_url,
                    token: settings.token,
                    remote_organization_uuid: settings.remote_organization_uuid,
                    remote_organization_name: settings.remote_organization_name,
                    local_service_provider_uuid: settings.local_service_provider_uuid,
                    mappings,
                    is_active: settings.is_active,
                    at,
                }]
            }
            _ if self.uuid.is_none() || self.deleted => return Err(RemoteSyncError::NotFound),
            RemoteSyncCommand::Update {
                changes,
                mappings,
                new_mapping_uuids,
                at,
            } => {
                let mut events = Vec::new();
                if let Some(mappings) = &mappings {
                    check_mappings(mappings)?;
                }
                if let Some(event) = self.settings_event(changes, at) {
                    events.push(event);
                }
                if let Some(mappings) = mappings
                    && let Some(event) = self.reconcile(&mappings, &new_mapping_uuids, at)?
                {
                    events.push(event);
                }
                events
            }
            RemoteSyncCommand::RenameRemoteCategories { names, at } => {
                let renamed: Vec<(Uuid, String)> = names
                    .into_iter()
                    .filter(|(uuid, name)| {
                        self.mappings
                            .iter()
                            .any(|m| m.uuid == *uuid && m.remote_category_name != *name)
                    })
                    .collect();
                if renamed.is_empty() {
                    Vec::new()
                } else {
                    vec![RemoteSyncEvent::MappingsChanged {
                        added: Vec::new(),
                        removed: Vec::new(),
                        renamed,
                        at,
                    }]
                }
            }
            RemoteSyncCommand::Delete { at } => vec![RemoteSyncEvent::SyncDeleted { at }],
        };
        for event in events {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            RemoteSyncEvent::SyncCreated {
                uuid,
                api_url,
                token,
                remote_organization_uuid,
                remote_organization_name,
                local_service_provider_uuid,
                mappings,
                is_active,
                at,
            } => {
                *self = RemoteSync {
                    uuid: Some(uuid),
                    api_url,
                    token: Some(token),
                    remote_organization_uuid,
                    remote_organization_name,
                    local_service_provider_uuid,
                    mappings,
                    is_active,
                    created: Some(at),
                    modified: Some(at),
                    deleted: false,
                };
            }
            RemoteSyncEvent::SyncSettingsChanged {
                api_url,
                token,
                remote_organization_name,
                local_service_provider_uuid,
                is_active,
                at,
            } => {
                if let Some(api_url) = api_url {
                    self.api_url = api_url;
                }
                if let Some(token) = token {
                    self.token = Some(token);
                }
                if let Some(name) = remote_organization_name {
                    self.remote_organization_name = name;
                }
                if let Some(provider) = local_service_provider_uuid {
                    self.local_service_provider_uuid = provider;
                }
                if let Some(active) = is_active {
                    self.is_active = active;
                }
                self.modified = Some(at);
            }
            RemoteSyncEvent::MappingsChanged {
                added,
                removed,
                renamed,
                at,
            } => {
                self.mappings.retain(|m| !removed.contains(&m.uuid));
                for (uuid, name) in renamed {
                    if let Some(mapping) = self.mappings.iter_mut().find(|m| m.uuid == uuid) {
                        mapping.remote_category_name = name;
                    }
                }
                self.mappings.extend(added);
                self.modified = Some(at);
            }
            RemoteSyncEvent::SyncDeleted { at } => {
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

    type Given = TestFramework<RemoteSync>;

    fn at() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn token(fingerprint: &str) -> SecretRef {
        SecretRef {
            id: Uuid::from_u128(7),
            fingerprint: fingerprint.into(),
        }
    }

    fn spec(local: u128, remote: u128, name: Option<&str>) -> MappingSpec {
        MappingSpec {
            local_category_uuid: Uuid::from_u128(local),
            remote_category_uuid: Uuid::from_u128(remote),
            remote_category_name: name.map(str::to_string),
        }
    }

    fn created() -> RemoteSyncEvent {
        RemoteSyncEvent::SyncCreated {
            uuid: Uuid::from_u128(1),
            api_url: "https://remote.example".into(),
            token: token("aaaa"),
            remote_organization_uuid: Uuid::from_u128(2),
            remote_organization_name: "Remote org".into(),
            local_service_provider_uuid: Uuid::from_u128(3),
            mappings: vec![CategoryMapping {
                uuid: Uuid::from_u128(10),
                local_category_uuid: Uuid::from_u128(100),
                remote_category_uuid: Uuid::from_u128(200),
                remote_category_name: "HPC".into(),
            }],
            is_active: true,
            at: at(),
        }
    }

    fn settings() -> SyncSettings {
        SyncSettings {
            api_url: "https://remote.example".into(),
            token: token("aaaa"),
            remote_organization_uuid: Uuid::from_u128(2),
            remote_organization_name: "Remote org".into(),
            local_service_provider_uuid: Uuid::from_u128(3),
            is_active: true,
        }
    }

    #[test]
    fn a_sync_is_created_with_its_mappings() {
        Given::with(())
            .given_no_previous_events()
            .when(RemoteSyncCommand::Create {
                uuid: Uuid::from_u128(1),
                settings: settings(),
                mappings: vec![spec(100, 200, Some("HPC"))],
                mapping_uuids: vec![Uuid::from_u128(10)],
                at: at(),
            })
            .then_expect_events(vec![created()]);
    }

    #[test]
    fn a_sync_needs_a_mapping_and_distinct_remote_categories() {
        Given::with(())
            .given_no_previous_events()
            .when(RemoteSyncCommand::Create {
                uuid: Uuid::from_u128(1),
                settings: settings(),
                mappings: vec![],
                mapping_uuids: vec![],
                at: at(),
            })
            .then_expect_error(RemoteSyncError::NoMappings);
        Given::with(())
            .given_no_previous_events()
            .when(RemoteSyncCommand::Create {
                uuid: Uuid::from_u128(1),
                settings: settings(),
                mappings: vec![spec(100, 200, None), spec(101, 200, None)],
                mapping_uuids: vec![Uuid::from_u128(10), Uuid::from_u128(11)],
                at: at(),
            })
            .then_expect_error(RemoteSyncError::DuplicateRemoteCategories);
    }

    #[test]
    fn two_remote_categories_may_map_to_one_local_category() {
        Given::with(())
            .given_no_previous_events()
            .when(RemoteSyncCommand::Create {
                uuid: Uuid::from_u128(1),
                settings: settings(),
                mappings: vec![spec(100, 200, None), spec(100, 201, None)],
                mapping_uuids: vec![Uuid::from_u128(10), Uuid::from_u128(11)],
                at: at(),
            })
            .then_expect_events(vec![RemoteSyncEvent::SyncCreated {
                uuid: Uuid::from_u128(1),
                api_url: "https://remote.example".into(),
                token: token("aaaa"),
                remote_organization_uuid: Uuid::from_u128(2),
                remote_organization_name: "Remote org".into(),
                local_service_provider_uuid: Uuid::from_u128(3),
                mappings: vec![
                    CategoryMapping {
                        uuid: Uuid::from_u128(10),
                        local_category_uuid: Uuid::from_u128(100),
                        remote_category_uuid: Uuid::from_u128(200),
                        remote_category_name: UNKNOWN_CATEGORY_NAME.into(),
                    },
                    CategoryMapping {
                        uuid: Uuid::from_u128(11),
                        local_category_uuid: Uuid::from_u128(100),
                        remote_category_uuid: Uuid::from_u128(201),
                        remote_category_name: UNKNOWN_CATEGORY_NAME.into(),
                    },
                ],
                is_active: true,
                at: at(),
            }]);
    }

    #[test]
    fn an_update_with_the_same_values_appends_nothing() {
        Given::with(())
            .given(vec![created()])
            .when(RemoteSyncCommand::Update {
                changes: SettingsChanges {
                    api_url: Some("https://remote.example".into()),
                    token: Some(SecretRef {
                        id: Uuid::from_u128(99),
                        fingerprint: "aaaa".into(),
                    }),
                    remote_organization_name: Some("Remote org".into()),
                    local_service_provider_uuid: Some(Uuid::from_u128(3)),
                    is_active: Some(true),
                },
                mappings: Some(vec![spec(100, 200, Some("HPC"))]),
                new_mapping_uuids: vec![Uuid::from_u128(50)],
                at: at(),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn an_update_reconciles_the_mappings_and_names_only_what_changed() {
        Given::with(())
            .given(vec![created()])
            .when(RemoteSyncCommand::Update {
                changes: SettingsChanges {
                    is_active: Some(false),
                    token: Some(token("bbbb")),
                    ..SettingsChanges::default()
                },
                mappings: Some(vec![spec(101, 201, Some("Storage"))]),
                new_mapping_uuids: vec![Uuid::from_u128(11)],
                at: at(),
            })
            .then_expect_events(vec![
                RemoteSyncEvent::SyncSettingsChanged {
                    api_url: None,
                    token: Some(token("bbbb")),
                    remote_organization_name: None,
                    local_service_provider_uuid: None,
                    is_active: Some(false),
                    at: at(),
                },
                RemoteSyncEvent::MappingsChanged {
                    added: vec![CategoryMapping {
                        uuid: Uuid::from_u128(11),
                        local_category_uuid: Uuid::from_u128(101),
                        remote_category_uuid: Uuid::from_u128(201),
                        remote_category_name: "Storage".into(),
                    }],
                    removed: vec![Uuid::from_u128(10)],
                    renamed: vec![],
                    at: at(),
                },
            ]);
    }

    #[test]
    fn a_run_records_a_renamed_remote_category_once() {
        Given::with(())
            .given(vec![created()])
            .when(RemoteSyncCommand::RenameRemoteCategories {
                names: vec![(Uuid::from_u128(10), "HPC".into())],
                at: at(),
            })
            .then_expect_events(vec![]);
        Given::with(())
            .given(vec![created()])
            .when(RemoteSyncCommand::RenameRemoteCategories {
                names: vec![(Uuid::from_u128(10), "Supercomputing".into())],
                at: at(),
            })
            .then_expect_events(vec![RemoteSyncEvent::MappingsChanged {
                added: vec![],
                removed: vec![],
                renamed: vec![(Uuid::from_u128(10), "Supercomputing".into())],
                at: at(),
            }]);
    }

    #[test]
    fn a_deleted_sync_takes_no_commands() {
        Given::with(())
            .given(vec![created(), RemoteSyncEvent::SyncDeleted { at: at() }])
            .when(RemoteSyncCommand::Delete { at: at() })
            .then_expect_error(RemoteSyncError::NotFound);
    }
}
