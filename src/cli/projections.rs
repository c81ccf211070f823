//! `ledger projections`: read model maintenance.

use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::app::{Ledger, LedgerOptions};
use crate::config::DatabaseConfig;
use crate::permissions::Permissions;
use crate::projection::{BuildEvent, BuildOptions, PROJECTIONS, Projection, projection};
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
    /// Print each projection's checkpoint, its lag (events of its aggregates not applied
    /// yet) and whether it is stuck.
    List,
    /// Build read models afresh from the event log beside the live ones and swap them in
    /// when complete; fails when one ends stuck.
    Rebuild {
        /// The projections to rebuild (`directory`, `offerings`, `orders`, `remote_sync`,
        /// `arrow`); all when none is named. The others keep their rows.
        names: Vec<String>,
        /// Events read and applied per transaction.
        #[arg(long, default_value_t = BuildOptions::default().batch)]
        batch: i64,
    },
    /// Build read models afresh beside the live ones and compare them row by row at the
    /// same checkpoint; exits 1 naming each table that differs.
    Verify {
        /// The projections to verify; all when none is named.
        names: Vec<String>,
        /// Events read and applied per transaction.
        #[arg(long, default_value_t = BuildOptions::default().batch)]
        batch: i64,
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
        Action::Rebuild { names, batch } => {
            let chosen = chosen(&names)?;
            let bar = progress_bar();
            let observer = |event| show(&bar, event);
            let options = BuildOptions { batch };
            let applied = ledger
                .projector
                .rebuild_with(&chosen, &options, &observer)
                .await;
            bar.finish_and_clear();
            let applied = applied?;
            println!(
                "Rebuilt {} from {applied} events in {:.1} s.",
                names_of(&chosen),
                bar.elapsed().as_secs_f64()
            );
            let stuck: Vec<_> = ledger
                .projector
                .status()
                .await?
                .into_iter()
                .filter(|s| s.is_stuck() && chosen.iter().any(|p| p.name == s.name))
                .collect();
            for status in &stuck {
                println!("{status}");
            }
            if !stuck.is_empty() {
                let names: Vec<&str> = stuck.iter().map(|s| s.name).collect();
                anyhow::bail!("read models stuck after the rebuild: {}", names.join(", "));
            }
        }
        Action::Verify { names, batch } => {
            let chosen = chosen(&names)?;
            let bar = progress_bar();
            let observer = |event| show(&bar, event);
            let options = BuildOptions { batch };
            let verification = ledger.projector.verify(&chosen, &options, &observer).await;
            bar.finish_and_clear();
            let verification = verification?;
            for (name, checkpoint) in &verification.checked {
                println!("{name:<12} checked at position {}", checkpoint.position);
            }
            for difference in &verification.differences {
                println!("{difference}");
            }
            if !verification.is_clean() {
                let tables: Vec<&str> = verification
                    .differences
                    .iter()
                    .map(|d| d.table.as_str())
                    .collect();
                anyhow::bail!(
                    "the read models differ from the log in {}",
                    tables.join(", ")
                );
            }
            println!("The read models are what the log gives.");
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

/// The projections named, all when none is.
fn chosen(names: &[String]) -> anyhow::Result<Vec<&'static Projection>> {
    if names.is_empty() {
        return Ok(PROJECTIONS.iter().collect());
    }
    names
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
        .collect()
}

fn names_of(projections: &[&'static Projection]) -> String {
    let names: Vec<&str> = projections.iter().map(|p| p.name).collect();
    names.join(", ")
}

/// A bar on standard error (hidden when it is not a terminal): events applied, the rate
/// and the time left.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:<26} [{bar:30}] {human_pos}/{human_len} events, {per_sec}, ETA {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn show(bar: &ProgressBar, event: BuildEvent) {
    match event {
        BuildEvent::Total(total) => bar.set_length(bar.position() + total),
        BuildEvent::Applied(events) => bar.inc(events),
        BuildEvent::Step(step) => bar.set_message(step),
    }
}
