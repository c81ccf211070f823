//! The offering rules, written once for every caller: the provider API, the import of an
//! exported offering, and background work such as a sync from another Waldur. Callers hand
//! in typed values (domain types, validated changes) and a [`CommandContext`]; access checks
//! are theirs, everything after them is here.
//!
//! - [`create`]: a new offering ([`create_offering`]) with its built-in components, limits,
//!   slug and the checks on its customer.
//! - [`import`]: an exported offering document, created or written over an existing one.
//! - [`lifecycle`]: lifecycle moves, deletion and moving an offering to another customer.
//! - [`edit`]: edits of an offering's parts (endpoints, components, plans) and the checks
//!   they share, and backend id uniqueness.

pub mod create;
pub mod edit;
pub mod import;
pub mod lifecycle;

pub use create::{
    ComponentLimits, NewOffering, Placement, builtin_components, create_offering,
    create_offering_as, new_component, new_offering_details, new_offering_settings, new_plan,
};

use sqlx::PgPool;
use uuid::Uuid;

use crate::app::Ledger;
use crate::app::error::AppError;
use crate::domain::offering::{Offering, OfferingCommand};
use crate::store::metadata::CommandContext;

/// The message for an endpoint URL that [`crate::domain::offering::model::Endpoint::is_valid_url`] refuses.
pub const INVALID_URL: &str = "Enter a valid URL.";

/// Whether an organization may act: Waldur refuses changes for blocked or archived ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CustomerStanding {
    pub blocked: bool,
    pub archived: bool,
}

impl CustomerStanding {
    /// Refuses a blocked or an archived organization (blocked is named first).
    pub fn require_available(self) -> Result<(), AppError> {
        if self.blocked {
            Err(AppError::invalid("Blocked organization is not available."))
        } else if self.archived {
            Err(AppError::invalid("Archived organization is not available."))
        } else {
            Ok(())
        }
    }
}

/// Runs a command on an offering.
pub async fn execute(
    ledger: &Ledger,
    uuid: Uuid,
    command: OfferingCommand,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    ledger
        .execute::<Offering>(&uuid.simple().to_string(), command, ctx)
        .await?;
    Ok(())
}

/// Whether any resource (in any state) uses the offering, or one plan of it.
pub async fn has_resources(
    pool: &PgPool,
    offering: Uuid,
    plan: Option<Uuid>,
) -> Result<bool, AppError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projection.resources \
         WHERE offering_uuid = $1 AND ($2::uuid IS NULL OR plan_uuid = $2)",
    )
    .bind(offering)
    .bind(plan)
    .fetch_one(pool)
    .await?;
    Ok(count > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_organization_is_named_before_an_archived_one() {
        let both = CustomerStanding {
            blocked: true,
            archived: true,
        };
        let Err(AppError::Invalid(message)) = both.require_available() else {
            panic!("refused");
        };
        assert_eq!(message, "Blocked organization is not available.");
        let archived = CustomerStanding {
            archived: true,
            ..CustomerStanding::default()
        };
        let Err(AppError::Invalid(message)) = archived.require_available() else {
            panic!("refused");
        };
        assert_eq!(message, "Archived organization is not available.");
        assert!(CustomerStanding::default().require_available().is_ok());
    }
}
