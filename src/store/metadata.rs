//! Event metadata: every event records who caused it, through which door, for which request
//! and when. The application stamps these; aggregates never see them.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

/// Where a command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Api,
    Cli,
    Scheduler,
    /// A remote offering sync run.
    Sync,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Cli => "cli",
            Source::Scheduler => "scheduler",
            Source::Sync => "sync",
        }
    }
}

/// Who caused a change: a user, or one of the ledger's own actors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User { uuid: Uuid, username: String },
    System,
    Scheduler,
    Sync,
}

impl Actor {
    pub fn uuid(&self) -> Option<Uuid> {
        match self {
            Actor::User { uuid, .. } => Some(*uuid),
            _ => None,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Actor::User { username, .. } => username,
            Actor::System => "system",
            Actor::Scheduler => "scheduler",
            Actor::Sync => "sync",
        }
    }
}

/// The context of one command: actor, request id, source and the time the application
/// accepted it. Commands get their timestamps from here, never from the clock inside
/// an aggregate.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub actor: Actor,
    pub request_id: String,
    pub source: Source,
    pub now: DateTime<Utc>,
    /// The sync run a command belongs to, when a run issued it.
    pub sync_run: Option<Uuid>,
}

impl CommandContext {
    pub fn new(actor: Actor, source: Source, request_id: impl Into<String>) -> Self {
        Self {
            actor,
            request_id: request_id.into(),
            source,
            now: Utc::now(),
            sync_run: None,
        }
    }

    /// A context for the commands of one sync run: source `sync`, the run's id on every
    /// event, and the run as the request id.
    pub fn for_sync_run(actor: Actor, run: Uuid) -> Self {
        Self {
            sync_run: Some(run),
            ..Self::new(actor, Source::Sync, run.simple().to_string())
        }
    }

    /// A context for work the ledger does on its own (start-up, CLI).
    pub fn system(source: Source) -> Self {
        Self::new(Actor::System, source, Uuid::new_v4().simple().to_string())
    }

    /// The metadata map stored beside each event of this command.
    pub fn metadata(&self) -> HashMap<String, String> {
        let mut map = HashMap::with_capacity(6);
        map.insert("actor".to_string(), self.actor.name().to_string());
        if let Some(uuid) = self.actor.uuid() {
            map.insert("actor_uuid".to_string(), uuid.simple().to_string());
        }
        map.insert("request_id".to_string(), self.request_id.clone());
        map.insert("source".to_string(), self.source.as_str().to_string());
        if let Some(run) = self.sync_run {
            map.insert("sync_run".to_string(), run.simple().to_string());
        }
        map.insert(
            "recorded_at".to_string(),
            self.now.to_rfc3339_opts(SecondsFormat::Micros, true),
        );
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_names_the_user_the_request_and_the_source() {
        let uuid = Uuid::new_v4();
        let ctx = CommandContext::new(
            Actor::User {
                uuid,
                username: "alice".into(),
            },
            Source::Api,
            "req-1",
        );
        let meta = ctx.metadata();
        assert_eq!(meta["actor"], "alice");
        assert_eq!(meta["actor_uuid"], uuid.simple().to_string());
        assert_eq!(meta["request_id"], "req-1");
        assert_eq!(meta["source"], "api");
        assert!(meta["recorded_at"].ends_with('Z'));
    }

    #[test]
    fn system_metadata_has_no_user_uuid() {
        let meta = CommandContext::system(Source::Cli).metadata();
        assert_eq!(meta["actor"], "system");
        assert!(!meta.contains_key("actor_uuid"));
        assert_eq!(meta["source"], "cli");
    }
}
