//! `ledger audit`: tamper evidence and history. `history <uuid>` prints an object's events
//! as a timeline; `verify` recomputes every event's hash, walks every
//! aggregate's chain and folds the ledger's root (and checks a kept digest); `digest`
//! prints the digest to keep. The work is [`crate::store::chain`]'s.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::DatabaseConfig;
use crate::store::chain::{self, Digest, Progress};
use crate::store::db;

/// How many findings `verify` prints before it only counts them.
const SHOWN_FINDINGS: usize = 20;

#[derive(Debug, Args)]
pub struct Opts {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    database: DatabaseConfig,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Recompute the hash of every event, walk every aggregate's chain and fold the root;
    /// exits 1 naming the first event altered, removed, reordered or inserted.
    Verify {
        /// A digest kept earlier (the JSON of `ledger audit digest` or
        /// `/api/ledger/digest/`): also exit 1 when the ledger up to its position no longer
        /// matches it. Events appended after it are fine.
        #[arg(long, value_name = "FILE")]
        digest: Option<PathBuf>,
    },
    /// Print every event of the object with this uuid (an order, an offering, a resource…)
    /// as a readable timeline: when, what, who, from where, and what the event says.
    History {
        /// The object's uuid, hex or dashed.
        uuid: uuid::Uuid,
    },
    /// Print the digest of the ledger as JSON, to keep for `verify --digest`.
    Digest {
        /// Digest the ledger up to this earlier position instead of its end.
        #[arg(long)]
        position: Option<i64>,
    },
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    let pool = db::connect(&opts.database).await?;
    db::migrate(&pool).await?;
    match opts.action {
        Action::Verify { digest } => {
            let kept = digest.map(|path| read_digest(&path)).transpose()?;
            verify(&pool, kept.as_ref()).await
        }
        Action::History { uuid } => {
            let events = crate::app::history::timeline(&pool, uuid).await?;
            if events.is_empty() {
                anyhow::bail!("the log holds no event of {}", uuid.simple());
            }
            for event in &events {
                println!("{}", crate::app::history::timeline_line(event));
            }
            Ok(())
        }
        Action::Digest { position } => {
            let digest = chain::digest(&pool, position).await?;
            println!("{}", serde_json::to_string_pretty(&digest)?);
            Ok(())
        }
    }
}

fn read_digest(path: &PathBuf) -> anyhow::Result<Digest> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the digest {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} does not hold a ledger digest", path.display()))
}

async fn verify(pool: &sqlx::PgPool, kept: Option<&Digest>) -> anyhow::Result<()> {
    let style = ProgressStyle::with_template(
        "{prefix:>6} [{bar:40}] {human_pos}/{human_len} events ({per_sec}, {eta} left)",
    )
    .context("the progress bar's template")?
    .progress_chars("=> ");
    let mut bar: Option<ProgressBar> = None;
    let verification = chain::verify(pool, kept, &mut |progress| match progress {
        Progress::Pass { name, total } => {
            if let Some(done) = bar.take() {
                done.finish();
            }
            let next = ProgressBar::new(total).with_style(style.clone());
            next.set_prefix(name);
            bar = Some(next);
        }
        Progress::Advanced(n) => {
            if let Some(bar) = &bar {
                bar.inc(n);
            }
        }
    })
    .await;
    if let Some(bar) = bar {
        bar.finish();
    }
    let verification = verification?;

    for finding in verification.findings.iter().take(SHOWN_FINDINGS) {
        println!("{finding}");
    }
    let more = verification.findings.len().saturating_sub(SHOWN_FINDINGS) as u64
        + verification.more_findings;
    if more > 0 {
        println!("… and {more} more");
    }
    if let Some(mismatch) = &verification.digest_mismatch {
        println!("{mismatch}");
    }
    if let Some(first) = verification.first() {
        anyhow::bail!("the ledger was tampered with: {first}");
    }
    if let Some(mismatch) = &verification.digest_mismatch {
        anyhow::bail!("the ledger was tampered with: {mismatch}");
    }
    let digest = &verification.digest;
    println!(
        "The ledger is intact: {} events up to position {}, root {}.",
        digest.event_count, digest.position, digest.root_hash
    );
    if let Some(kept) = kept {
        println!(
            "It matches the digest kept at position {} ({} events).",
            kept.position, kept.event_count
        );
    }
    Ok(())
}
