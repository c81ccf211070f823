//! An offering's lifecycle: moves between its states, deletion, and moving it to another
//! customer. Who may ask is the caller's check; what the offering and its customer allow is
//! decided here.

use uuid::Uuid;

use super::{CustomerStanding, execute, has_resources};
use crate::app::Ledger;
use crate::app::error::AppError;
use crate::domain::offering::model::OfferingState;
use crate::domain::offering::{Lifecycle, Offering, OfferingCommand};
use crate::store::metadata::CommandContext;

/// Whether a lifecycle move needs the offering's customer to be available: those that put
/// the offering in front of consumers or take it away (activate, pause, archive, make
/// unavailable) do.
pub fn needs_available_customer(action: Lifecycle) -> bool {
    matches!(
        action,
        Lifecycle::Activate | Lifecycle::Pause | Lifecycle::Archive | Lifecycle::MakeUnavailable
    )
}

/// Refuses a lifecycle move the offering's customer does not allow.
pub fn check_transition(action: Lifecycle, customer: CustomerStanding) -> Result<(), AppError> {
    if needs_available_customer(action) {
        customer.require_available()?;
    }
    Ok(())
}

/// Moves the offering through its lifecycle; the aggregate decides whether its state
/// allows the move.
pub async fn transition(
    ledger: &Ledger,
    uuid: Uuid,
    action: Lifecycle,
    paused_reason: Option<String>,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    let command = OfferingCommand::Transition {
        action,
        paused_reason,
        at: ctx.now,
    };
    execute(ledger, uuid, command, ctx).await
}

/// Who asks for a deletion: staff delete any offering; a provider only a draft without
/// resources, of a customer that is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleter {
    Staff,
    Provider,
}

/// Deletes an offering.
pub async fn delete_offering(
    ledger: &Ledger,
    uuid: Uuid,
    offering: &Offering,
    customer: CustomerStanding,
    by: Deleter,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    if by == Deleter::Provider {
        customer.require_available()?;
        if has_resources(&ledger.pool, uuid, None).await? {
            return Err(AppError::Forbidden(
                "Offering was not deleted since it has resources.".into(),
            ));
        }
        if offering.state != OfferingState::Draft {
            return Err(AppError::Forbidden(
                "Offering was not deleted since offering is not in draft state.".into(),
            ));
        }
    }
    execute(ledger, uuid, OfferingCommand::Delete { at: ctx.now }, ctx).await
}

/// Moves an offering to another customer, which must exist, not be blocked, and differ from
/// the current one.
pub async fn move_offering(
    ledger: &Ledger,
    uuid: Uuid,
    offering: &Offering,
    customer: Uuid,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    let blocked: Option<bool> =
        sqlx::query_scalar("SELECT blocked FROM projection.customers WHERE uuid = $1")
            .bind(customer)
            .fetch_optional(&ledger.pool)
            .await?;
    match blocked {
        None => {
            return Err(AppError::field(
                "customer",
                "Invalid hyperlink - Object does not exist.",
            ));
        }
        Some(true) => {
            return Err(AppError::invalid(
                "Target provider's customer can not be blocked.",
            ));
        }
        Some(false) => {}
    }
    if customer == offering.customer_uuid {
        return Err(AppError::invalid(
            "Offering is already assigned to the target provider.",
        ));
    }
    let command = OfferingCommand::Move {
        customer_uuid: customer,
        at: ctx.now,
    };
    execute(ledger, uuid, command, ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCKED: CustomerStanding = CustomerStanding {
        blocked: true,
        archived: false,
    };

    #[test]
    fn moves_that_show_or_withdraw_an_offering_need_an_available_customer() {
        for action in [
            Lifecycle::Activate,
            Lifecycle::Pause,
            Lifecycle::Archive,
            Lifecycle::MakeUnavailable,
        ] {
            assert!(check_transition(action, BLOCKED).is_err(), "{action:?}");
        }
    }

    #[test]
    fn other_moves_do_not_ask_about_the_customer() {
        for action in [
            Lifecycle::Unpause,
            Lifecycle::Draft,
            Lifecycle::MakeAvailable,
        ] {
            assert!(check_transition(action, BLOCKED).is_ok(), "{action:?}");
        }
    }
}
