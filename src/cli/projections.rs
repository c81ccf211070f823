//! `ledger projections`: read model maintenance.

use clap::{Args, Subcommand};

use crate::app::{Ledger, LedgerOptions};
use crate::config::DatabaseConfig;
use crate::permissions::Permissions;
use crate::projection::{PROJECTIONS, projection};
use crate::store::db;

#[derive(Debug, Args)]
pub struct Opts {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    database: DatabaseConfig,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Print each projection's checkpoint and whether it is stuck.
    List,
    /// Drop read models and rebuild them from the event log; fails when one ends stuck.
    Rebuild {
        /// The projections to rebuild (`directory`, `offerings`, `orders`); all when none
        /// is named. The others keep their rows.
        names: Vec<String>,
    },
    /// Retry stuck projections and apply events the read models have not seen yet.
    CatchUp,
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    let pool = db::connect(&opts.database).await?;
    db::migrate(&pool).await?;
    let ledger = Ledger::new(pool, Permissions::default(), LedgerOptions::default());
    match opts.action {
        Action::List => {
            for status in ledger.projector.status().await? {
                println!("{status}");
            }
        }
        Action::Rebuild { names } => {
            let chosen = names
                .iter()
                .map(|name| {
                    projection(name).ok_or_else(|| {
                        let known: Vec<&str> = PROJECTIONS.iter().map(|p| p.name).collect();
                        anyhow::anyhow!(
                            "no projection named {name}; the projections are {}",
                            known.join(", ")
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let applied = if chosen.is_empty() {
                ledger.projector.rebuild().await?
            } else {
                ledger.projector.rebuild_only(&chosen).await?
            };
            println!("Rebuilt the read models from {applied} events.");
            let stuck: Vec<_> = ledger
                .projector
                .status()
                .await?
                .into_iter()
                .filter(|s| s.is_stuck())
                .collect();
            for status in &stuck {
                println!("{status}");
            }
            if !stuck.is_empty() {
                let names: Vec<&str> = stuck.iter().map(|s| s.name).collect();
                anyhow::bail!("read models stuck after the rebuild: {}", names.join(", "));
            }
        }
        Action::CatchUp => {
            ledger.projector.ensure_ready().await?;
            let applied = ledger.projector.catch_up().await?;
            println!("Applied {applied} events.");
            for status in ledger.projector.status().await? {
                if status.is_stuck() {
                    println!("{status}");
                }
            }
        }
    }
    Ok(())
}
