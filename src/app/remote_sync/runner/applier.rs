//! Applying what a run read from the remote to the local offerings: one category at a time,
//! deciding in the remote's order (matches are compared, new offerings get their slugs),
//! then running the offering commands a few at a time, each on an aggregate of its own.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::SyncError;
use super::super::remote::RemoteOffering;
use crate::app::Ledger;
use crate::app::offerings::{NewOffering, Placement, create_offering_as};
use crate::domain::offering::imported::REMOTE_OFFERING_TYPE;
use crate::domain::offering::model::{OfferingDetails, OfferingSettings, OfferingState};
use crate::domain::offering::sync::RemoteContent;
use crate::domain::offering::{Lifecycle, Offering, OfferingCommand};
use crate::domain::remote_sync::{CategoryMapping, RemoteSync};
use crate::domain::sync_run::{CategoryReport, OfferingChange};
use crate::read::remote_sync as read;
use crate::read::slugs;
use crate::store::metadata::CommandContext;

/// Offering commands of one category applied at once.
const CONCURRENT_COMMANDS: usize = 8;

/// One offering command under way.
type Applying<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;

/// What a run does about one remote offering.
enum Step {
    /// A match; `content` is what it becomes when `fields` differ.
    Update {
        uuid: Uuid,
        fields: Vec<String>,
        content: Option<Box<RemoteContent>>,
    },
    Create {
        uuid: Uuid,
        slug: String,
    },
    Failed(String),
}

/// Applies what the remote said to the local offerings.
pub(super) struct Applier<'a> {
    ledger: &'a Ledger,
    sync: &'a RemoteSync,
    ctx: &'a CommandContext,
    run: Uuid,
    customer: Uuid,
    /// Imported offerings by remote uuid.
    existing: HashMap<Uuid, (Uuid, Offering)>,
    seen: HashSet<Uuid>,
    /// Slugs given during this run (the read models learn them at its end).
    slugs: HashSet<String>,
    category_titles: HashMap<Uuid, String>,
}

impl<'a> Applier<'a> {
    pub(super) async fn new(
        ledger: &'a Ledger,
        sync: &'a RemoteSync,
        ctx: &'a CommandContext,
        run: Uuid,
    ) -> Result<Self, SyncError> {
        let (customer, _) = read::provider_customer(&ledger.pool, sync.local_service_provider_uuid)
            .await?
            .ok_or_else(|| {
                SyncError::Internal(anyhow::anyhow!("the sync's service provider is gone"))
            })?;
        let mut existing = HashMap::new();
        for (uuid, offering) in
            read::imported_offerings(&ledger.pool, customer, sync.remote_organization_uuid).await?
        {
            if let Some(remote) = offering.remote_uuid() {
                existing.insert(remote, (uuid, offering));
            }
        }
        let local: Vec<Uuid> = sync
            .mappings
            .iter()
            .map(|m| m.local_category_uuid)
            .collect();
        let category_titles = read::category_titles(&ledger.pool, &local).await?;
        Ok(Self {
            ledger,
            sync,
            ctx,
            run,
            customer,
            existing,
            seen: HashSet::new(),
            slugs: HashSet::new(),
            category_titles,
        })
    }

    /// Processes one mapped category.
    pub(super) async fn category(
        &mut self,
        mapping: &CategoryMapping,
        title: Option<String>,
        found: Option<(Vec<RemoteOffering>, Vec<String>)>,
    ) -> CategoryReport {
        let mut report = CategoryReport {
            remote_category_uuid: mapping.remote_category_uuid,
            remote_category_name: title.clone(),
            local_category_uuid: mapping.local_category_uuid,
            offerings: 0,
            created: Vec::new(),
            updated: Vec::new(),
            errors: Vec::new(),
            log: String::new(),
        };
        let Some(title) = title else {
            report.log = format!(
                "Processing remote category {}...\n\nCategory {} not found in the remote Waldur\n",
                mapping.remote_category_name,
                mapping.remote_category_uuid.simple()
            );
            return report;
        };
        report
            .log
            .push_str(&format!("Processing remote category {title}...\n"));
        if title != mapping.remote_category_name {
            report.log.push_str(&format!(
                "Remote category name has changed, updating. New name: {title}\n"
            ));
        }
        let (offerings, errors) = found.unwrap_or_default();
        for error in errors {
            report.log.push_str(&format!("{error}\n"));
            report.errors.push(error);
        }
        let local_title = self
            .category_titles
            .get(&mapping.local_category_uuid)
            .cloned()
            .unwrap_or_default();
        report.offerings = offerings.len() as u32;
        // Decide in order (slugs are given one by one), then apply the commands a few at a
        // time: each offering is an aggregate of its own.
        let mut steps = Vec::with_capacity(offerings.len());
        for remote in &offerings {
            let step = match self.existing.get(&remote.uuid) {
                Some((uuid, current)) => {
                    let content = Self::content(current, remote, mapping.local_category_uuid);
                    let fields = current.remote_changes(&content, self.run).fields;
                    Step::Update {
                        uuid: *uuid,
                        content: (!fields.is_empty()).then(|| Box::new(content)),
                        fields,
                    }
                }
                None => match self.slug(remote.name()).await {
                    Ok(slug) => Step::Create {
                        uuid: Uuid::new_v4(),
                        slug,
                    },
                    Err(message) => Step::Failed(message),
                },
            };
            steps.push(step);
        }
        let category = mapping.local_category_uuid;
        let this = &*self;
        let pending: Vec<Applying<'_>> = offerings
            .iter()
            .zip(steps.iter())
            .map(|(remote, step)| -> Applying<'_> {
                match step {
                    Step::Update {
                        uuid,
                        content: Some(content),
                        ..
                    } => Box::pin(this.apply_update(*uuid, content)),
                    Step::Update { content: None, .. } => Box::pin(async { Ok(()) }),
                    Step::Create { uuid, slug } => {
                        Box::pin(this.create(*uuid, slug.clone(), remote, category))
                    }
                    Step::Failed(message) => {
                        let message = message.clone();
                        Box::pin(async move { Err(message) })
                    }
                }
            })
            .collect();
        let outcomes: Vec<Result<(), String>> = futures::stream::iter(pending)
            .buffered(CONCURRENT_COMMANDS)
            .collect()
            .await;
        for ((remote, step), outcome) in offerings.iter().zip(steps).zip(outcomes) {
            let name = remote.name().to_string();
            report.log.push_str(&format!("\tProcessing {name}...\n"));
            if let Err(message) = outcome {
                let error = format!("{name} ({}): {message}", remote.uuid.simple());
                report.log.push_str(&format!("{error}\n"));
                report.errors.push(error);
                continue;
            }
            match step {
                Step::Update { uuid, fields, .. } => {
                    self.seen.insert(uuid);
                    if !fields.is_empty() {
                        report.log.push_str(&format!(
                            "The offering {name} / {local_title} has been updated \
                             successfully. \n"
                        ));
                        report.updated.push(OfferingChange {
                            offering_uuid: uuid,
                            remote_uuid: Some(remote.uuid),
                            name,
                            fields,
                        });
                    }
                }
                Step::Create { uuid, .. } => {
                    self.seen.insert(uuid);
                    report.log.push_str(&format!(
                        "Creation of offering {name} / {local_title} completed successfully. \n"
                    ));
                    report.created.push(OfferingChange {
                        offering_uuid: uuid,
                        remote_uuid: Some(remote.uuid),
                        name,
                        fields: Vec::new(),
                    });
                }
                Step::Failed(_) => {}
            }
        }
        report
    }

    /// The offering `current` should become to equal `remote` in `category`.
    fn content(current: &Offering, remote: &RemoteOffering, category: Uuid) -> RemoteContent {
        let mut details = current.details.clone();
        let mut fields = match serde_json::to_value(&details) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        for (field, value) in &remote.fields {
            fields.insert((*field).to_string(), json!(value));
        }
        if let Ok(merged) = serde_json::from_value::<OfferingDetails>(Value::Object(fields)) {
            details = merged;
        }
        details.backend_id = remote.uuid.simple().to_string();
        let components = remote
            .components
            .iter()
            .map(|c| {
                let mut component = c.clone();
                component.uuid = current
                    .components
                    .iter()
                    .find(|l| l.component_type == c.component_type)
                    .map(|l| l.uuid)
                    .unwrap_or_else(Uuid::new_v4);
                component
            })
            .collect();
        let mut plans: Vec<_> = remote
            .plans
            .iter()
            .map(|p| {
                let local = current
                    .plans
                    .iter()
                    .find(|l| l.backend_id == p.uuid.simple().to_string())
                    .map(|l| l.uuid)
                    .unwrap_or_else(Uuid::new_v4);
                p.to_local(local)
            })
            .collect();
        // Plans the remote no longer has are archived, never deleted: orders name them.
        for stale in current.plans.iter().filter(|l| {
            !remote
                .plans
                .iter()
                .any(|p| p.uuid.simple().to_string() == l.backend_id)
        }) {
            let mut archived = stale.clone();
            archived.archived = true;
            plans.push(archived);
        }
        RemoteContent {
            details,
            options: remote.options.clone(),
            category_uuid: category,
            state: remote.state,
            components,
            plans,
        }
    }

    /// Brings an imported offering equal to its remote.
    async fn apply_update(&self, uuid: Uuid, content: &RemoteContent) -> Result<(), String> {
        self.ledger
            .execute_unprojected::<Offering>(
                &uuid.simple().to_string(),
                OfferingCommand::SyncFromRemote {
                    content: Box::new(content.clone()),
                    run: self.run,
                    at: self.ctx.now,
                },
                self.ctx,
            )
            .await
            .map_err(|err| err.to_string())
    }

    async fn slug(&mut self, name: &str) -> Result<String, String> {
        let first = slugs::next(&self.ledger.pool, "offerings", name)
            .await
            .map_err(|err| err.to_string())?;
        let base = slugs::base(name);
        let mut number: u64 = first
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let mut slug = first;
        while self.slugs.contains(&slug) {
            number += 1;
            slug = format!("{base}-{number}");
        }
        self.slugs.insert(slug.clone());
        Ok(slug)
    }

    /// Imports a remote offering the provider does not have yet.
    async fn create(
        &self,
        uuid: Uuid,
        slug: String,
        remote: &RemoteOffering,
        category: Uuid,
    ) -> Result<(), String> {
        let mut settings = OfferingSettings::default();
        settings.secret_options.insert(
            "api_url".into(),
            json!(format!("{}/api/", self.sync.api_url)),
        );
        settings.secret_options.insert(
            "customer_uuid".into(),
            json!(self.sync.remote_organization_uuid.simple().to_string()),
        );
        settings.secret_options.insert(
            "remote_synchronisation_uuid".into(),
            json!(self.sync.uuid.unwrap_or_default().simple().to_string()),
        );
        let blank = Offering {
            offering_type: REMOTE_OFFERING_TYPE.into(),
            details: OfferingDetails {
                shared: true,
                billable: true,
                ..OfferingDetails::default()
            },
            settings,
            ..Offering::default()
        };
        let content = Self::content(&blank, remote, category);
        let id = uuid.simple().to_string();
        let new = NewOffering {
            customer_uuid: self.customer,
            category_uuid: category,
            project_uuid: None,
            offering_type: REMOTE_OFFERING_TYPE.into(),
            details: content.details.clone(),
            settings: OfferingSettings {
                options: content.options.clone(),
                ..blank.settings.clone()
            },
            components: content.components.clone(),
            builtins: Vec::new(),
            limits: Default::default(),
            plans: content.plans.clone(),
            endpoints: Vec::new(),
        };
        create_offering_as(self.ledger, new, Placement::in_batch(uuid, slug), self.ctx)
            .await
            .map_err(|err| err.to_string())?;
        if content.state != OfferingState::Draft {
            self.ledger
                .execute_unprojected::<Offering>(
                    &id,
                    OfferingCommand::SyncFromRemote {
                        content: Box::new(content),
                        run: self.run,
                        at: self.ctx.now,
                    },
                    self.ctx,
                )
                .await
                .map_err(|err| err.to_string())?;
        }
        Ok(())
    }

    /// Archives every imported offering this run did not see. Returns them, the log lines
    /// and the errors.
    pub(super) async fn archive_unseen(&self) -> (Vec<OfferingChange>, String, Vec<String>) {
        let mut archived = Vec::new();
        let mut log = String::new();
        let mut errors = Vec::new();
        let mut unseen: Vec<&(Uuid, Offering)> = self
            .existing
            .values()
            .filter(|(uuid, offering)| {
                !self.seen.contains(uuid) && offering.state != OfferingState::Archived
            })
            .collect();
        unseen.sort_by(|a, b| a.1.details.name.cmp(&b.1.details.name).then(a.0.cmp(&b.0)));
        for (uuid, offering) in unseen {
            let name = offering.details.name.clone();
            let result = self
                .ledger
                .execute_unprojected::<Offering>(
                    &uuid.simple().to_string(),
                    OfferingCommand::Transition {
                        action: Lifecycle::Archive,
                        paused_reason: None,
                        at: self.ctx.now,
                    },
                    self.ctx,
                )
                .await;
            match result {
                Ok(()) => {
                    log.push_str(&format!(
                        "The offering {name} has been archived as it no longer exists in \
                         remote. \n"
                    ));
                    archived.push(OfferingChange {
                        offering_uuid: *uuid,
                        remote_uuid: offering.remote_uuid(),
                        name,
                        fields: Vec::new(),
                    });
                }
                Err(err) => errors.push(format!("{name}: {err}")),
            }
        }
        (archived, log, errors)
    }
}
