//! What Arrow knows about a mapping's customer, set beside what the ledger knows: Arrow
//! customers matched with local customers, licenses matched with resources, Arrow's
//! figures for the current month, and the billing summary (from the read models only).
//!
//! - [`customers`]: `discover_customers`, `available_customers` and `sync_from_arrow`.
//! - [`export_types`]: whether each billing export type has the columns billing reads.
//! - [`licenses`]: `discover_licenses`, the customer's licenses beside its resources.
//! - [`figures`]: `fetch_arrow_data` (Arrow's figures for this month) and
//!   `billing_summary` (what the ledger recorded, without asking Arrow).
//!
//! When Arrow fails, an action either refuses with Arrow's message
//! ([`ArrowAppError::Refused`]) or answers with the error beside what it could read; it
//! never fails as the ledger's own fault.

pub mod customers;
pub mod export_types;
pub mod figures;
pub mod licenses;

use uuid::Uuid;

use super::ArrowAppError;
use crate::app::Ledger;
use crate::domain::arrow::settings::ArrowSettings;
use crate::domain::resource::ResourceState;
use crate::read::arrow as read;

/// Waldur's answer when there are no settings to read Arrow with.
pub const NO_SETTINGS: &str = "No Arrow settings found";

/// The settings a mapping reads Arrow with; Waldur refuses when they are gone.
async fn mapping_settings(ledger: &Ledger, settings: Uuid) -> Result<ArrowSettings, ArrowAppError> {
    read::settings(&ledger.pool, settings)
        .await?
        .ok_or_else(|| ArrowAppError::Refused(NO_SETTINGS.to_string()))
}

/// A resource state as Waldur's integer code, written as text: "1" Creating, "2" OK,
/// "3" Erred, "4" Updating, "5" Terminating, "6" Terminated. A state the ledger does not
/// know is shown as it is.
pub fn state_code(state: &str) -> String {
    ResourceState::ALL
        .iter()
        .position(|known| known.as_str() == state)
        .map_or_else(|| state.to_string(), |at| (at + 1).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_waldurs_codes() {
        assert_eq!(state_code("Creating"), "1");
        assert_eq!(state_code("OK"), "2");
        assert_eq!(state_code("Erred"), "3");
        assert_eq!(state_code("Updating"), "4");
        assert_eq!(state_code("Terminating"), "5");
        assert_eq!(state_code("Terminated"), "6");
    }
}
