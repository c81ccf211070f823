//! One run of a remote offering sync, as Waldur's runner does it, with two differences: the
//! remote is read completely before anything local changes (a remote failure leaves every
//! offering as it was), and the run keeps a structured account of itself ([`SyncRun`]).
//!
//! 1. Everything the run needs is read from the remote: its categories, and for each
//!    mapped category that exists there the shared offerings of remote-capable types the
//!    organization may order. A failure ends the run Erred with the remote's message.
//! 2. Each remote offering is matched by uuid (the local `backend_id`) among the provider's
//!    offerings imported from that organization, in every category and archived ones too.
//!    A match is brought equal to the remote (synced fields, options, state, category,
//!    components, plans) by one command that appends nothing when nothing differs; an
//!    unmatched one is created.
//! 3. Every imported offering this run did not see is archived.
//!
//! Each offering command carries `source: sync` and the run's id. Two runs of one sync never
//! overlap: a run holds a PostgreSQL advisory lock for its sync on a connection of its own,
//! so two ledger processes on one database exclude each other too; a run that a crash left
//! Processing is closed as interrupted by the next one.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::{ConnectOptions, Connection, PgConnection};

mod applier;
use applier::Applier;
use uuid::Uuid;

use super::remote::{RemoteOffering, parse_offering};
use super::{SyncError, reveal_token};
use crate::app::Ledger;
use crate::clients::waldur::{RemoteError, RemoteWaldur};
use crate::domain::remote_sync::{RemoteSync, RemoteSyncCommand};
use crate::domain::sync_run::{OfferingChange, RunState, SyncRun, SyncRunCommand};
use crate::read::remote_sync as read;
use crate::store::metadata::{Actor, CommandContext};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub run: Uuid,
    pub state: RunState,
    pub error_message: String,
}

/// The exclusive right to run one sync: a session advisory lock on a connection of its own,
/// released when the connection closes, also when the process dies.
struct RunLock {
    conn: PgConnection,
}

impl RunLock {
    async fn acquire(ledger: &Ledger, sync: Uuid) -> Result<Self, SyncError> {
        let options = ledger.pool.connect_options().as_ref().clone();
        let mut conn = options
            .log_statements(tracing::log::LevelFilter::Off)
            .connect()
            .await
            .map_err(|e| SyncError::Internal(anyhow::Error::new(e).context("a lock connection")))?;
        let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
            .bind(format!("remote-sync:{sync}"))
            .fetch_one(&mut conn)
            .await?;
        if !held {
            return Err(SyncError::Busy);
        }
        Ok(Self { conn })
    }

    async fn release(self) {
        // Closing the session releases its advisory locks.
        let _ = self.conn.close().await;
    }
}

/// What the run read from the remote before changing anything.
struct Fetched {
    /// Remote category uuid → title.
    categories: HashMap<Uuid, String>,
    /// Per mapping (in order): the remote offerings of its category, or `None` when the
    /// remote has no such category; with the items that could not be read.
    offerings: Vec<Option<(Vec<RemoteOffering>, Vec<String>)>>,
}

async fn fetch(remote: &RemoteWaldur, sync: &RemoteSync) -> Result<Fetched, RemoteError> {
    let categories: HashMap<Uuid, String> = remote
        .categories()
        .await?
        .iter()
        .filter_map(|c| {
            let uuid = Uuid::parse_str(c.get("uuid")?.as_str()?).ok()?;
            let title = c.get("title").and_then(Value::as_str).unwrap_or("");
            Some((uuid, title.to_string()))
        })
        .collect();
    let mut offerings = Vec::with_capacity(sync.mappings.len());
    for mapping in &sync.mappings {
        if !categories.contains_key(&mapping.remote_category_uuid) {
            offerings.push(None);
            continue;
        }
        let items = remote
            .public_offerings(sync.remote_organization_uuid, mapping.remote_category_uuid)
            .await?;
        let mut parsed = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for item in &items {
            match parse_offering(item) {
                Ok(offering) => parsed.push(offering),
                Err(err) => errors.push(format!("A remote offering could not be read: {err}")),
            }
        }
        offerings.push(Some((parsed, errors)));
    }
    Ok(Fetched {
        categories,
        offerings,
    })
}

/// Runs a sync now. `progress` gets a line per category. A remote failure is an Erred run,
/// not an error: errors are for what stops a run from being recorded at all (unknown
/// sync, another run in progress, the database).
pub async fn run(
    ledger: &Ledger,
    sync_uuid: Uuid,
    actor: Actor,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<RunOutcome, SyncError> {
    if read::get(&ledger.pool, sync_uuid).await?.is_none() {
        return Err(SyncError::NotFound);
    }
    let lock = RunLock::acquire(ledger, sync_uuid).await?;
    let outcome = run_locked(ledger, sync_uuid, actor, progress).await;
    lock.release().await;
    outcome
}

async fn run_locked(
    ledger: &Ledger,
    sync_uuid: Uuid,
    actor: Actor,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<RunOutcome, SyncError> {
    // Read again under the lock: a run that just ended is in it now.
    let sync = read::get(&ledger.pool, sync_uuid)
        .await?
        .ok_or(SyncError::NotFound)?
        .sync;
    for stale in read::processing_runs(&ledger.pool, sync_uuid).await? {
        let ctx = CommandContext::for_sync_run(actor.clone(), stale);
        let finish = SyncRunCommand::Finish {
            archived: Vec::new(),
            failure: Some("The run was interrupted before it finished.".to_string()),
            log: String::new(),
            at: ctx.now,
        };
        ledger
            .execute::<SyncRun>(&stale.simple().to_string(), finish, &ctx)
            .await?;
    }

    let run = Uuid::new_v4();
    let ctx = CommandContext::for_sync_run(actor, run);
    let run_id = run.simple().to_string();
    ledger
        .execute::<SyncRun>(
            &run_id,
            SyncRunCommand::Start {
                uuid: run,
                sync_uuid,
                at: ctx.now,
            },
            &ctx,
        )
        .await?;
    progress(&format!("Synchronising from {}", sync.api_url));

    let fetched = match reveal_token(ledger, &sync).await {
        Err(err) => Err(err.to_string()),
        Ok(token) => match RemoteWaldur::new(&sync.api_url, &token, ledger.remote_options()) {
            Err(err) => Err(err.to_string()),
            Ok(remote) => fetch(&remote, &sync).await.map_err(|err| err.to_string()),
        },
    };
    let fetched = match fetched {
        Ok(fetched) => fetched,
        Err(message) => {
            progress(&format!("Erred: {message}"));
            return finish(
                ledger,
                &run_id,
                &ctx,
                Vec::new(),
                Some(message),
                String::new(),
            )
            .await;
        }
    };

    let mut applier = Applier::new(ledger, &sync, &ctx, run).await?;
    let mut renames = Vec::new();
    let mut failed = 0;
    for (mapping, found) in sync.mappings.iter().zip(fetched.offerings) {
        let title = fetched
            .categories
            .get(&mapping.remote_category_uuid)
            .cloned();
        if let Some(title) = &title
            && *title != mapping.remote_category_name
        {
            renames.push((mapping.uuid, title.clone()));
        }
        let report = applier.category(mapping, title, found).await;
        failed += report.errors.len();
        progress(&format!(
            "{}: {} offerings, {} created, {} updated{}",
            report
                .remote_category_name
                .as_deref()
                .unwrap_or("(not found in the remote Waldur)"),
            report.offerings,
            report.created.len(),
            report.updated.len(),
            if report.errors.is_empty() {
                String::new()
            } else {
                format!(", {} errors", report.errors.len())
            }
        ));
        ledger
            .execute_unprojected::<SyncRun>(
                &run_id,
                SyncRunCommand::RecordCategory { report },
                &ctx,
            )
            .await?;
    }
    if !renames.is_empty() {
        ledger
            .execute_unprojected::<RemoteSync>(
                &sync_uuid.simple().to_string(),
                RemoteSyncCommand::RenameRemoteCategories {
                    names: renames,
                    at: ctx.now,
                },
                &ctx,
            )
            .await?;
    }
    let (archived, log, archive_errors) = applier.archive_unseen().await;
    failed += archive_errors.len();
    if !archived.is_empty() {
        progress(&format!("{} offerings archived", archived.len()));
    }
    let mut log = log;
    for error in &archive_errors {
        log.push_str(&format!("{error}\n"));
    }
    let failure = (failed > 0)
        .then(|| format!("{failed} changes could not be applied; the run's errors list them."));
    finish(ledger, &run_id, &ctx, archived, failure, log).await
}

async fn finish(
    ledger: &Ledger,
    run_id: &str,
    ctx: &CommandContext,
    archived: Vec<OfferingChange>,
    failure: Option<String>,
    log: String,
) -> Result<RunOutcome, SyncError> {
    let state = if failure.is_some() {
        RunState::Erred
    } else {
        RunState::Ok
    };
    let error_message = failure.clone().unwrap_or_default();
    // Waiting for this last event waits for every change of the run.
    ledger
        .execute::<SyncRun>(
            run_id,
            SyncRunCommand::Finish {
                archived,
                failure,
                log,
                at: ctx.now,
            },
            ctx,
        )
        .await?;
    Ok(RunOutcome {
        run: ctx.sync_run.unwrap_or_default(),
        state,
        error_message,
    })
}
