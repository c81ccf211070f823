//! Running commands on aggregates: metadata stamping and the answer to write conflicts.
//!
//! postgres-es detects two writers on one aggregate through the primary key of `events` and
//! reports `AggregateConflict`. Commands are re-decided against the fresh state a few times
//! (the aggregate re-checks every rule, so a retry can never apply a stale decision); if the
//! conflict persists the caller gets it back and answers 409.

use cqrs_es::{Aggregate, AggregateError};

use crate::store::codec::Framework;
use crate::store::metadata::CommandContext;

/// How many times a conflicting command is decided again before the conflict is reported.
pub const CONFLICT_RETRIES: usize = 5;

/// Executes `command` on aggregate `id`, retrying on write conflicts.
pub async fn execute<A>(
    cqrs: &Framework<A>,
    id: &str,
    command: A::Command,
    ctx: &CommandContext,
) -> Result<(), AggregateError<A::Error>>
where
    A: Aggregate,
    A::Command: Clone,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match cqrs
            .execute_with_metadata(id, command.clone(), ctx.metadata())
            .await
        {
            Err(AggregateError::AggregateConflict) if attempt <= CONFLICT_RETRIES => {
                tracing::debug!(aggregate = A::TYPE, id, attempt, "write conflict, retrying");
                tokio::task::yield_now().await;
            }
            other => return other,
        }
    }
}
