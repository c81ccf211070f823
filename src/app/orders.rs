//! Order rules that several callers share: the API's placement and approvals, and the
//! scheduler that starts orders on their date.

use crate::app::Ledger;
use crate::domain::offering::Offering;
use crate::domain::order::{Order, OrderCommand, OrderError, OrderSpec};
use crate::domain::resource::{OrderOutcome, Resource, ResourceError};
use crate::store::metadata::CommandContext;
use crate::store::together::PairError;

/// What happens once an order executes: offerings whose type is processed synchronously
/// (Basic, Support) complete the order and settle its resource at once, in one
/// transaction; others wait for their agent. Returns whether the order was completed.
pub async fn complete_if_synchronous(
    ledger: &Ledger,
    offering: &Offering,
    spec: &OrderSpec,
    ctx: &CommandContext,
) -> Result<bool, PairError<OrderError, ResourceError>> {
    if !offering.kind().is_some_and(|k| k.completes_at_once) {
        return Ok(false);
    }
    let settle = spec.settlement(OrderOutcome::Done, ctx.now);
    ledger
        .execute_pair::<Order, Resource>(
            (
                &spec.uuid.simple().to_string(),
                OrderCommand::SetStateDone { at: ctx.now },
            ),
            &spec.resource_uuid.simple().to_string(),
            |_, _| Some(settle.clone()),
            ctx,
        )
        .await?;
    Ok(true)
}
