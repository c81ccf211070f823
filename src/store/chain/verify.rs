//! The audit: every event recomputed against its stored hash, every aggregate's chain
//! walked, the running root folded, and a kept digest compared.
//!
//! It reads one snapshot (a repeatable-read, read-only transaction), in two passes:
//! 1. the events aggregate by aggregate in sequence order (the table's key), batch by batch:
//!    each event's hash is recomputed from its contents and the stored hash of the event
//!    before it; sequences run 1, 2, 3… without a gap; positions rise with sequences;
//! 2. the stored hashes in position order, folded into the running root (see
//!    [`super::digest`]), compared with a kept digest at its position.
//!
//! Each aggregate yields at most one finding, its first: once a chain is broken, what
//! follows in it says nothing new.

use std::fmt;

use anyhow::Context;
use serde_json::Value;
use sqlx::{FromRow, PgConnection, PgPool};

use super::digest::{Digest, fold_marked};
use crate::store::codec::canonical::{EventRow, event_hash};

/// How many events one read of the first pass takes.
const BATCH: i64 = 5_000;

/// At most this many findings are kept (the rest are counted).
const MAX_FINDINGS: usize = 1_000;

/// What the audit found wrong with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// It has no hash: the ledger did not write it (an event inserted with SQL).
    Inserted,
    /// It does not match its hash: its contents, type, version, metadata, aggregate or
    /// sequence were changed (or it was forged with a made-up hash).
    Altered,
    /// Its aggregate's positions do not follow its sequence: events were swapped.
    Reordered,
    /// The events of its aggregate with sequences `first..=last`, just before it, are
    /// missing.
    Removed { first: i64, last: i64 },
}

/// One event the audit names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where it stands in the log (for [`Problem::Removed`], the event after the gap).
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub problem: Problem,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Finding {
            position,
            aggregate_type,
            aggregate_id,
            sequence,
            problem,
        } = self;
        match problem {
            Problem::Inserted => write!(
                f,
                "event {sequence} of {aggregate_type} {aggregate_id} (position {position}) \
                 was inserted outside the ledger: it has no hash"
            ),
            Problem::Altered => write!(
                f,
                "event {sequence} of {aggregate_type} {aggregate_id} (position {position}) \
                 was altered: it does not match its hash"
            ),
            Problem::Reordered => write!(
                f,
                "event {sequence} of {aggregate_type} {aggregate_id} (position {position}) \
                 was reordered: its aggregate's positions do not follow its sequence"
            ),
            Problem::Removed { first, last } if first == last => write!(
                f,
                "event {first} of {aggregate_type} {aggregate_id} was removed \
                 (before event {sequence}, position {position})"
            ),
            Problem::Removed { first, last } => write!(
                f,
                "events {first} to {last} of {aggregate_type} {aggregate_id} were removed \
                 (before event {sequence}, position {position})"
            ),
        }
    }
}

/// A kept digest the ledger no longer folds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMismatch {
    pub kept: Digest,
    /// What the ledger folds to now, up to the kept digest's position.
    pub found: Digest,
}

impl fmt::Display for DigestMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kept, found) = (&self.kept, &self.found);
        let what = match found.event_count - kept.event_count {
            0 => "history up to it was rewritten".to_string(),
            n if n < 0 => format!("{} events up to it were removed", -n),
            n => format!("{n} events were inserted before it"),
        };
        write!(
            f,
            "the ledger no longer matches the digest kept at position {} ({} events, root {}): \
             {what} (now {} events, root {})",
            kept.position, kept.event_count, kept.root_hash, found.event_count, found.root_hash
        )
    }
}

/// What the audit saw.
#[derive(Debug, Clone)]
pub struct Verification {
    /// How many events it examined.
    pub events: u64,
    /// The events it names, in position order (at most [`MAX_FINDINGS`]).
    pub findings: Vec<Finding>,
    /// Findings beyond those kept.
    pub more_findings: u64,
    /// The kept digest the ledger no longer matches, if one was given and it does not.
    pub digest_mismatch: Option<DigestMismatch>,
    /// The digest of everything examined.
    pub digest: Digest,
}

impl Verification {
    /// Whether nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty() && self.digest_mismatch.is_none()
    }

    /// The first event named, in position order.
    pub fn first(&self) -> Option<&Finding> {
        self.findings.first()
    }
}

/// How far the audit is, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// A pass begins over `total` events.
    Pass { name: &'static str, total: u64 },
    /// That many more events are done.
    Advanced(u64),
}

/// Audits the whole ledger, and the kept digest when one is given.
pub async fn verify(
    pool: &PgPool,
    kept: Option<&Digest>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> anyhow::Result<Verification> {
    let mut tx = pool.begin().await.context("beginning the audit")?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .context("taking one snapshot for the audit")?;
    let (total, end): (i64, i64) =
        sqlx::query_as("SELECT count(*), coalesce(max(position), 0) FROM events")
            .fetch_one(&mut *tx)
            .await
            .context("counting the events")?;
    let total = total as u64;

    progress(Progress::Pass {
        name: "chains",
        total,
    });
    let mut chains = walk_chains(&mut tx, Chains::default(), progress).await?;
    chains.finish();

    progress(Progress::Pass {
        name: "root",
        total,
    });
    let mark = kept.map(|kept| kept.position);
    let (whole, at_mark) =
        fold_marked(&mut tx, end, mark, &mut |n| progress(Progress::Advanced(n)))
            .await
            .context("folding the root")?;
    tx.commit().await.context("ending the audit")?;

    let digest_mismatch = kept.and_then(|kept| {
        let found = at_mark.digest(kept.position);
        (!found.same_ledger(kept)).then(|| DigestMismatch {
            kept: kept.clone(),
            found,
        })
    });
    Ok(Verification {
        events: chains.examined,
        findings: chains.findings,
        more_findings: chains.more,
        digest_mismatch,
        digest: whole.digest(end),
    })
}

#[derive(Debug, FromRow)]
struct Row {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    position: i64,
    event_type: String,
    event_version: String,
    payload: Value,
    metadata: Value,
    hash: Option<Vec<u8>>,
}

impl Row {
    fn hash_matches(&self, previous: Option<&[u8]>) -> bool {
        let row = EventRow {
            aggregate_type: &self.aggregate_type,
            aggregate_id: &self.aggregate_id,
            sequence: self.sequence,
            event_type: &self.event_type,
            event_version: &self.event_version,
            payload: &self.payload,
            metadata: &self.metadata,
        };
        self.hash.as_deref() == Some(&event_hash(&row, previous)[..])
    }

    fn finding(&self, problem: Problem) -> Finding {
        Finding {
            position: self.position,
            aggregate_type: self.aggregate_type.clone(),
            aggregate_id: self.aggregate_id.clone(),
            sequence: self.sequence,
            problem,
        }
    }
}

/// Pass 1: every event in key order, batch by batch. Checking a batch (mostly hashing) runs
/// on a blocking thread while the next batch is read.
async fn walk_chains(
    conn: &mut PgConnection,
    chains: Chains,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> anyhow::Result<Chains> {
    let mut idle = Some(chains);
    let mut after = (String::new(), String::new(), -1_i64);
    let mut checking: Option<tokio::task::JoinHandle<Chains>> = None;
    loop {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT aggregate_type, aggregate_id, sequence, position, event_type, \
             event_version, payload, metadata, hash FROM events \
             WHERE (aggregate_type, aggregate_id, sequence) > ($1, $2, $3) \
             ORDER BY aggregate_type, aggregate_id, sequence LIMIT $4",
        )
        .bind(&after.0)
        .bind(&after.1)
        .bind(after.2)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await
        .context("reading events in aggregate order")?;
        if let Some(batch) = checking.take() {
            let chains = batch.await.context("checking a batch of events")?;
            progress(Progress::Advanced(chains.batch));
            idle = Some(chains);
        }
        let mut chains = idle
            .take()
            .expect("the walk's state is back between batches");
        let Some(last) = rows.last() else {
            return Ok(chains);
        };
        after = (
            last.aggregate_type.clone(),
            last.aggregate_id.clone(),
            last.sequence,
        );
        checking = Some(tokio::task::spawn_blocking(move || {
            chains.batch = rows.len() as u64;
            for row in rows {
                chains.check(row);
            }
            chains
        }));
    }
}

/// The walk's state: the aggregate being walked and what was found.
#[derive(Default)]
struct Chains {
    examined: u64,
    /// How many events the last batch held.
    batch: u64,
    /// The last event walked, and whether its aggregate already has its finding.
    previous: Option<(Row, bool)>,
    /// An event that does not match its hash, waiting for the next one of its aggregate:
    /// when that one stands lower in the log, the two were swapped.
    suspect: Option<Finding>,
    findings: Vec<Finding>,
    more: u64,
}

impl Chains {
    fn check(&mut self, row: Row) {
        self.examined += 1;
        let (previous, found) = match self.previous.take() {
            Some((previous, found))
                if previous.aggregate_type == row.aggregate_type
                    && previous.aggregate_id == row.aggregate_id =>
            {
                (Some(previous), found)
            }
            _ => {
                self.settle_suspect(None);
                (None, false)
            }
        };
        if found {
            self.settle_suspect(Some(row.position));
            self.previous = Some((row, true));
            return;
        }
        let problem = self.problem(previous.as_ref(), &row);
        let found = problem.is_some();
        match problem {
            None => {}
            Some(Problem::Altered) => self.suspect = Some(row.finding(Problem::Altered)),
            Some(problem) => {
                let finding = row.finding(problem);
                self.record(finding);
            }
        }
        self.previous = Some((row, found));
    }

    /// The first thing wrong with `row`, given the event before it in its aggregate.
    fn problem(&self, previous: Option<&Row>, row: &Row) -> Option<Problem> {
        let expected = previous.map_or(1, |p| p.sequence + 1);
        if row.hash.is_none() || row.sequence < 1 {
            return Some(Problem::Inserted);
        }
        if row.sequence > expected {
            return Some(Problem::Removed {
                first: expected,
                last: row.sequence - 1,
            });
        }
        if previous.is_some_and(|p| row.position < p.position) {
            return Some(Problem::Reordered);
        }
        let chained_to = previous.and_then(|p| p.hash.as_deref());
        (!row.hash_matches(chained_to)).then_some(Problem::Altered)
    }

    /// Records the suspect, if any: reordered when the next event of its aggregate (at
    /// `next_position`) stands lower in the log, else altered.
    fn settle_suspect(&mut self, next_position: Option<i64>) {
        let Some(mut suspect) = self.suspect.take() else {
            return;
        };
        if next_position.is_some_and(|next| next < suspect.position) {
            suspect.problem = Problem::Reordered;
        }
        self.record(suspect);
    }

    fn record(&mut self, finding: Finding) {
        self.findings.push(finding);
        if self.findings.len() >= 2 * MAX_FINDINGS {
            self.keep_first();
        }
    }

    /// Keeps the [`MAX_FINDINGS`] findings lowest in the log, counting the others.
    fn keep_first(&mut self) {
        self.findings.sort_by_key(|finding| finding.position);
        if self.findings.len() > MAX_FINDINGS {
            self.more += (self.findings.len() - MAX_FINDINGS) as u64;
            self.findings.truncate(MAX_FINDINGS);
        }
    }

    fn finish(&mut self) {
        self.settle_suspect(None);
        self.keep_first();
    }
}
