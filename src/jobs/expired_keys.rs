//! Forgets idempotency keys older than their lifetime ([`crate::store::idempotency`]), at
//! most once an hour.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::app::Ledger;

/// How often expired keys are looked for.
const EVERY: Duration = Duration::from_secs(3600);

static LAST: Mutex<Option<Instant>> = Mutex::new(None);

/// One pass, when the last one is an hour old; failures are logged.
pub async fn run(ledger: &Ledger) {
    {
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| at.elapsed() < EVERY) {
            return;
        }
        *last = Some(Instant::now());
    }
    match crate::store::idempotency::purge_expired(&ledger.pool).await {
        Ok(0) => {}
        Ok(forgotten) => tracing::debug!(forgotten, "forgot expired idempotency keys"),
        Err(err) => tracing::error!(error = ?err, "forgetting expired idempotency keys failed"),
    }
}
