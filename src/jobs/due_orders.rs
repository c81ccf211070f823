//! What the ledger does on its own as days pass: an order approved to start on a later date
//! waits in pending-start-date and starts executing when that date comes (Waldur's periodic
//! task); orders of offerings that complete at once are then completed with their resource.
//!
//! Several ledger processes may run this at once: each move is a command the order's
//! aggregate checks, so an order another process started already is left alone.

use anyhow::Context;
use chrono::NaiveDate;
use cqrs_es::AggregateError;

use crate::app::Ledger;
use crate::domain::order::{Order, OrderCommand, OrderError};
use crate::store::metadata::{Actor, CommandContext, Source};

/// One pass for today (UTC); failures are logged, and the next pass tries again.
pub async fn run(ledger: &Ledger) {
    let today = chrono::Utc::now().date_naive();
    match start_due_orders(ledger, today).await {
        Ok(0) => {}
        Ok(started) => tracing::info!(started, "started orders whose date has come"),
        Err(err) => tracing::error!(error = ?err, "starting due orders failed"),
    }
}

/// Starts every order waiting for a start date on or before `today`; returns how many.
pub async fn start_due_orders(ledger: &Ledger, today: NaiveDate) -> anyhow::Result<usize> {
    let due = crate::read::orders::due_for_start(&ledger.pool, today).await?;
    let mut started = 0;
    for crate::read::orders::DueOrder { order, offering } in due {
        let Some(spec) = order.spec else { continue };
        let ctx = CommandContext::new(
            Actor::Scheduler,
            Source::Scheduler,
            uuid::Uuid::new_v4().simple().to_string(),
        );
        let id = spec.uuid.simple().to_string();
        match ledger
            .execute::<Order>(&id, OrderCommand::SetStateExecuting { at: ctx.now }, &ctx)
            .await
        {
            Ok(()) => started += 1,
            // Started (or otherwise moved) by someone else meanwhile.
            Err(AggregateError::UserError(OrderError::InvalidState { .. })) => continue,
            Err(err) => return Err(anyhow::anyhow!("starting order {id}: {err}")),
        }
        crate::app::orders::complete_if_synchronous(ledger, &offering, &spec, &ctx)
            .await
            .with_context(|| format!("completing order {id}"))?;
    }
    Ok(started)
}
