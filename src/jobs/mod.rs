//! What the ledger does on a timer, beside answering requests. Each job is a module with a
//! `run` that does one pass and logs its outcome; [`spawn`] runs them in order on one timer:
//! - [`catch_up`]: applies to the read models whatever the log holds that they lack.
//! - [`due_orders`]: starts the orders whose start date has come.
//! - [`expired_keys`]: forgets idempotency keys older than a day.
//!
//! [`remote_sync`] runs the due remote offering syncs on a timer of its own, since a run
//! may take long.
//!
//! A job is just another caller of [`crate::app::Ledger`]: it runs the same commands as the
//! API, with the source saying who acted.

pub mod catch_up;
pub mod due_orders;
pub mod expired_keys;
pub mod remote_sync;

use std::sync::Arc;
use std::time::Duration;

use crate::app::Ledger;

/// Runs every job once per `interval` until the process ends, the catch-up first so the
/// others read current models; a zero interval runs none (the read models then move only
/// with inline projection and restarts).
pub fn spawn(ledger: &Arc<Ledger>, interval: Duration) -> tokio::task::JoinHandle<()> {
    let ledger = Arc::clone(ledger);
    tokio::spawn(async move {
        if interval.is_zero() {
            return;
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            catch_up::run(&ledger).await;
            due_orders::run(&ledger).await;
            expired_keys::run(&ledger).await;
        }
    })
}
