//! `ledger sync`: remote offering syncs from the command line, as the page and the schedule
//! see them.

use clap::{Args, Subcommand};
use uuid::Uuid;

use crate::app::remote_sync::runner;
use crate::app::{Ledger, LedgerOptions};
use crate::config::{DatabaseConfig, RemoteConfig, SecretConfig};
use crate::permissions::Permissions;
use crate::read::remote_sync as read;
use crate::store::db;
use crate::store::metadata::Actor;

#[derive(Debug, Args)]
pub struct Opts {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    secrets: SecretConfig,
    #[command(flatten)]
    remote: RemoteConfig,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// One line per sync: uuid, state, last run, whether it is enabled, and its remote.
    List,
    /// Run one sync now, printing a line per category; exits non-zero when the run errs.
    Run {
        /// The sync's uuid.
        uuid: Uuid,
    },
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    let pool = db::connect(&opts.database).await?;
    db::migrate(&pool).await?;
    let ledger = Ledger::new(
        pool,
        Permissions::default(),
        LedgerOptions {
            secret_key: Some(opts.secrets.load()?),
            remote: opts.remote.options(),
            ..LedgerOptions::default()
        },
    );
    ledger.projector.ensure_ready().await?;
    match opts.action {
        Action::List => {
            let syncs = read::all(&ledger.pool).await?;
            if syncs.is_empty() {
                println!("No remote syncs.");
            }
            for view in syncs {
                let sync = &view.sync;
                let run = view.last_run.as_ref();
                println!(
                    "{}  {:<10}  last run {:<20}  {:<8}  {} organization {} ({} mappings)",
                    sync.uuid.unwrap_or_default().simple(),
                    run.map(|r| r.state.as_str()).unwrap_or("Scheduled"),
                    run.and_then(|r| r.finished.or(r.started))
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "never".into()),
                    if sync.is_active {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    sync.api_url,
                    sync.remote_organization_name,
                    sync.mappings.len(),
                );
            }
        }
        Action::Run { uuid } => {
            let outcome = runner::run(&ledger, uuid, Actor::System, &mut |line| {
                println!("{line}");
            })
            .await?;
            let run = read::run(&ledger.pool, outcome.run).await?;
            if let Some(run) = run {
                println!(
                    "{}: {} created, {} updated, {} archived, {} errors",
                    run.state.as_str(),
                    run.created().count(),
                    run.updated().count(),
                    run.archived.len(),
                    run.all_errors().len()
                );
            }
            if !outcome.error_message.is_empty() {
                anyhow::bail!("the run erred: {}", outcome.error_message);
            }
        }
    }
    Ok(())
}
