//! The rules commands share: the lifecycle's moves between states, which component types
//! a change may name, the prices a plan gets, and which components a type accepts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::model::{Component, OfferingState, Plan};
use super::{Lifecycle, Offering, OfferingError, OfferingEvent, types};

impl Offering {
    fn has_active_plan(&self) -> bool {
        self.plans.iter().any(|p| !p.archived)
    }

    /// The event a lifecycle move produces from the current state.
    pub(super) fn transition(
        &self,
        action: Lifecycle,
        paused_reason: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<OfferingEvent, OfferingError> {
        use OfferingEvent as E;
        use OfferingState::*;
        let state = self.state;
        Ok(match action {
            Lifecycle::Activate if matches!(state, Draft | Paused | Unavailable) => {
                if !self.has_active_plan() {
                    return Err(OfferingError::NoPlans);
                }
                E::OfferingActivated { at }
            }
            Lifecycle::Pause if state == Active => E::OfferingPaused {
                paused_reason: paused_reason.unwrap_or_default(),
                at,
            },
            Lifecycle::Unpause if state == Paused => {
                if !self.has_active_plan() {
                    return Err(OfferingError::NoPlans);
                }
                E::OfferingUnpaused { at }
            }
            Lifecycle::MakeUnavailable if state == Active => E::OfferingMadeUnavailable { at },
            Lifecycle::MakeAvailable if state == Unavailable => {
                if !self.has_active_plan() {
                    return Err(OfferingError::NoPlans);
                }
                E::OfferingMadeAvailable { at }
            }
            Lifecycle::Archive => E::OfferingArchived { at },
            Lifecycle::Draft => E::OfferingReturnedToDraft { at },
            _ => return Err(OfferingError::InvalidState),
        })
    }

    /// Every named type must be a component of this offering that `allowed` accepts.
    pub(super) fn check_component_types<'a>(
        &self,
        types: impl Iterator<Item = &'a String>,
        allowed: impl Fn(&Component) -> bool,
    ) -> Result<(), OfferingError> {
        let mut invalid: Vec<String> = types
            .filter(|t| !self.component_by_type(t).is_some_and(&allowed))
            .cloned()
            .collect();
        if invalid.is_empty() {
            Ok(())
        } else {
            invalid.sort();
            Err(OfferingError::InvalidComponents(invalid))
        }
    }

    /// New prices of a plan: components not named drop to zero; a plan already used by
    /// resources gets future prices and keeps its current ones.
    pub(super) fn new_prices(
        &self,
        plan: &Plan,
        given: BTreeMap<String, Decimal>,
        has_resources: bool,
    ) -> (BTreeMap<String, Decimal>, BTreeMap<String, Decimal>) {
        let full: BTreeMap<String, Decimal> = self
            .components
            .iter()
            .map(|c| {
                let price = given.get(&c.component_type).copied().unwrap_or_default();
                (c.component_type.clone(), price)
            })
            .collect();
        if has_resources {
            (plan.prices.clone(), full)
        } else {
            (full, plan.future_prices.clone())
        }
    }
}

/// Types with builtin components accept no others; component types are unique.
pub(super) fn check_component_set(
    kind: &types::OfferingType,
    components: &[Component],
) -> Result<(), OfferingError> {
    if !kind.builtin_components.is_empty()
        && components
            .iter()
            .any(|c| !kind.is_builtin(&c.component_type))
    {
        return Err(OfferingError::ExtraComponents);
    }
    let mut seen = std::collections::BTreeSet::new();
    for component in components {
        if !seen.insert(component.component_type.as_str()) {
            return Err(OfferingError::DuplicateComponent(
                component.component_type.clone(),
            ));
        }
    }
    Ok(())
}
