//! One run of a remote offering sync: when it started, each remote category it processed
//! with the offerings it created and updated there, the offerings it archived, its errors,
//! its log and how it ended. The offering changes themselves are offering events that name
//! the run; this aggregate is the run's own account of them.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain_event;

/// How a run stands, with Waldur's names.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum RunState {
    #[default]
    Processing,
    #[serde(rename = "OK")]
    Ok,
    Erred,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Processing => "Processing",
            RunState::Ok => "OK",
            RunState::Erred => "Erred",
        }
    }
}

/// One local offering a run created, updated or archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OfferingChange {
    pub offering_uuid: Uuid,
    /// The remote offering's uuid (its local `backend_id`).
    pub remote_uuid: Option<Uuid>,
    pub name: String,
    /// For updates: the fields that changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// What a run found in one mapped remote category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CategoryReport {
    pub remote_category_uuid: Uuid,
    /// The remote's title of it; `None` when the remote does not have it.
    pub remote_category_name: Option<String>,
    pub local_category_uuid: Uuid,
    /// Remote offerings seen there.
    pub offerings: u32,
    pub created: Vec<OfferingChange>,
    pub updated: Vec<OfferingChange>,
    pub errors: Vec<String>,
    /// The lines the run logged for it.
    pub log: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SyncRun {
    pub uuid: Option<Uuid>,
    pub sync_uuid: Uuid,
    pub state: RunState,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub categories: Vec<CategoryReport>,
    pub archived: Vec<OfferingChange>,
    /// Errors of the run as a whole (the remote failing); per-category ones are in
    /// `categories`.
    pub errors: Vec<String>,
    /// The message the run ended Erred with; empty when it did not.
    pub error_message: String,
    /// The whole log, as Waldur's `last_output` shows it.
    pub log: String,
}

impl SyncRun {
    pub fn created(&self) -> impl Iterator<Item = &OfferingChange> {
        self.categories.iter().flat_map(|c| c.created.iter())
    }

    pub fn updated(&self) -> impl Iterator<Item = &OfferingChange> {
        self.categories.iter().flat_map(|c| c.updated.iter())
    }

    /// Every error of the run, the per-category ones first.
    pub fn all_errors(&self) -> Vec<String> {
        self.categories
            .iter()
            .flat_map(|c| c.errors.iter().cloned())
            .chain(self.errors.iter().cloned())
            .collect()
    }
}

#[derive(Debug, Clone)]
pub enum SyncRunCommand {
    Start {
        uuid: Uuid,
        sync_uuid: Uuid,
        at: DateTime<Utc>,
    },
    RecordCategory {
        report: CategoryReport,
    },
    Finish {
        archived: Vec<OfferingChange>,
        /// `Some(message)` ends the run Erred.
        failure: Option<String>,
        /// Log lines written after the last category.
        log: String,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SyncRunEvent {
    RunStarted {
        uuid: Uuid,
        sync_uuid: Uuid,
        at: DateTime<Utc>,
    },
    CategoryProcessed {
        report: CategoryReport,
    },
    RunFinished {
        state: RunState,
        archived: Vec<OfferingChange>,
        error_message: String,
        log: String,
        at: DateTime<Utc>,
    },
}

domain_event!(SyncRunEvent, version = "1", {
    RunStarted => "RunStarted",
    CategoryProcessed => "CategoryProcessed",
    RunFinished => "RunFinished",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncRunError {
    #[error("the run has already started")]
    AlreadyStarted,
    #[error("the run has not started")]
    NotStarted,
    #[error("the run has already finished")]
    AlreadyFinished,
}

impl Aggregate for SyncRun {
    const TYPE: &'static str = "sync_run";
    type Command = SyncRunCommand;
    type Event = SyncRunEvent;
    type Error = SyncRunError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            SyncRunCommand::Start { .. } if self.uuid.is_some() => {
                return Err(SyncRunError::AlreadyStarted);
            }
            SyncRunCommand::Start {
                uuid,
                sync_uuid,
                at,
            } => SyncRunEvent::RunStarted {
                uuid,
                sync_uuid,
                at,
            },
            _ if self.uuid.is_none() => return Err(SyncRunError::NotStarted),
            _ if self.state != RunState::Processing => return Err(SyncRunError::AlreadyFinished),
            SyncRunCommand::RecordCategory { report } => SyncRunEvent::CategoryProcessed { report },
            SyncRunCommand::Finish {
                archived,
                failure,
                log,
                at,
            } => SyncRunEvent::RunFinished {
                state: if failure.is_some() {
                    RunState::Erred
                } else {
                    RunState::Ok
                },
                archived,
                error_message: failure.unwrap_or_default(),
                log,
                at,
            },
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            SyncRunEvent::RunStarted {
                uuid,
                sync_uuid,
                at,
            } => {
                *self = SyncRun {
                    uuid: Some(uuid),
                    sync_uuid,
                    started: Some(at),
                    ..SyncRun::default()
                };
            }
            SyncRunEvent::CategoryProcessed { report } => {
                self.log.push_str(&report.log);
                self.categories.push(report);
            }
            SyncRunEvent::RunFinished {
                state,
                archived,
                error_message,
                log,
                at,
            } => {
                self.state = state;
                self.archived = archived;
                if !error_message.is_empty() {
                    self.errors.push(error_message.clone());
                }
                self.error_message = error_message;
                self.log.push_str(&log);
                self.finished = Some(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    type Given = TestFramework<SyncRun>;

    fn at() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn started() -> SyncRunEvent {
        SyncRunEvent::RunStarted {
            uuid: Uuid::from_u128(1),
            sync_uuid: Uuid::from_u128(2),
            at: at(),
        }
    }

    #[test]
    fn a_run_that_fails_ends_erred_with_the_message() {
        Given::with(())
            .given(vec![started()])
            .when(SyncRunCommand::Finish {
                archived: vec![],
                failure: Some("Internal Server Error".into()),
                log: String::new(),
                at: at(),
            })
            .then_expect_events(vec![SyncRunEvent::RunFinished {
                state: RunState::Erred,
                archived: vec![],
                error_message: "Internal Server Error".into(),
                log: String::new(),
                at: at(),
            }]);
    }

    #[test]
    fn a_finished_run_records_nothing_more() {
        Given::with(())
            .given(vec![
                started(),
                SyncRunEvent::RunFinished {
                    state: RunState::Ok,
                    archived: vec![],
                    error_message: String::new(),
                    log: String::new(),
                    at: at(),
                },
            ])
            .when(SyncRunCommand::Finish {
                archived: vec![],
                failure: None,
                log: String::new(),
                at: at(),
            })
            .then_expect_error(SyncRunError::AlreadyFinished);
    }

    #[test]
    fn a_run_is_started_once() {
        Given::with(())
            .given(vec![started()])
            .when(SyncRunCommand::Start {
                uuid: Uuid::from_u128(1),
                sync_uuid: Uuid::from_u128(2),
                at: at(),
            })
            .then_expect_error(SyncRunError::AlreadyStarted);
    }

    #[test]
    fn the_states_have_waldurs_names() {
        assert_eq!(serde_json::to_value(RunState::Ok).unwrap(), "OK");
        assert_eq!(RunState::Erred.as_str(), "Erred");
    }
}
