//! The periodic catch-up: the projector reads the global log past each read model's
//! checkpoint and applies what it finds, so an event whose inline projection failed (or a
//! crash between commit and projection) still reaches the read models.

use crate::app::Ledger;

/// One catch-up pass; failures are logged, and the next pass tries again.
pub async fn run(ledger: &Ledger) {
    match ledger.projector.catch_up().await {
        Ok(0) => {}
        Ok(applied) => tracing::debug!(applied, "catch-up applied events"),
        Err(err) => tracing::error!(error = ?err, "catch-up failed"),
    }
}
