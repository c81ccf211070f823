//! Scheduled remote offering sync: every active sync runs once per interval (a day by
//! default), the next run due that long after the last one started (after its creation when
//! it has never run). The schedule is read from the runs themselves, so a restart neither
//! skips nor doubles a run, and a sync another process is running is left to it.

use std::sync::Arc;
use std::time::Duration;

use crate::app::Ledger;
use crate::app::remote_sync::SyncError;
use crate::app::remote_sync::runner;
use crate::store::metadata::Actor;

/// How often the schedule is looked at, at most.
const LOOK_EVERY: Duration = Duration::from_secs(60);

/// One pass: runs every sync that is due. Returns how many ran.
pub async fn run(ledger: &Ledger, interval: Duration) -> usize {
    let Ok(interval) = chrono::Duration::from_std(interval) else {
        return 0;
    };
    let due = match crate::read::remote_sync::due(&ledger.pool, chrono::Utc::now(), interval).await
    {
        Ok(due) => due,
        Err(err) => {
            tracing::error!(error = ?err, "reading which remote syncs are due failed");
            return 0;
        }
    };
    let mut ran = 0;
    for sync in due {
        match runner::run(ledger, sync, Actor::Scheduler, &mut |_| {}).await {
            Ok(outcome) => {
                ran += 1;
                tracing::info!(
                    %sync,
                    run = %outcome.run,
                    state = outcome.state.as_str(),
                    error = %outcome.error_message,
                    "scheduled remote sync run"
                );
            }
            // Another process is running it, or it was deleted meanwhile.
            Err(SyncError::Busy | SyncError::NotFound) => {}
            Err(err) => tracing::error!(%sync, error = %err, "a scheduled remote sync failed"),
        }
    }
    ran
}

/// Looks at the schedule until the process ends; a zero interval schedules nothing.
pub fn spawn(ledger: &Arc<Ledger>, interval: Duration) -> tokio::task::JoinHandle<()> {
    let ledger = Arc::clone(ledger);
    tokio::spawn(async move {
        if interval.is_zero() {
            return;
        }
        let mut ticker = tokio::time::interval(interval.min(LOOK_EVERY));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            run(&ledger, interval).await;
        }
    })
}
