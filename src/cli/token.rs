//! `ledger token create`: issue an API token, creating the user if needed.

use clap::{Args, Subcommand};

use crate::app::directory;
use crate::app::{Ledger, LedgerOptions};
use crate::config::DatabaseConfig;
use crate::permissions::Permissions;
use crate::store::db;
use crate::store::metadata::{CommandContext, Source};

#[derive(Debug, Args)]
pub struct Opts {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Issue a new token for USERNAME (creating the user if it does not exist); the token
    /// is the last line printed.
    Create {
        #[arg(long)]
        username: String,
        /// Make a newly created user staff.
        #[arg(long)]
        staff: bool,
        /// Make the user an auditor: it reads everything, the event log included, and is
        /// refused every write.
        #[arg(long, conflicts_with = "staff")]
        auditor: bool,
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    match opts.action {
        Action::Create {
            username,
            staff,
            auditor,
            database,
        } => {
            let pool = db::connect(&database).await?;
            db::migrate(&pool).await?;
            let ledger = Ledger::new(pool, Permissions::default(), LedgerOptions::default());
            ledger.projector.ensure_ready().await?;
            let ctx = CommandContext::system(Source::Cli);
            let (uuid, token) = directory::token_for(&ledger, &ctx, &username, staff).await?;
            if auditor {
                directory::grant_auditor(&ledger, &ctx, uuid).await?;
            }
            println!("Token for user {username} ({}):", uuid.simple());
            println!("{token}");
            Ok(())
        }
    }
}
