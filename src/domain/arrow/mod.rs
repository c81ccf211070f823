//! Arrow (ArrowSphere xSP): the settings that reach one Arrow partner account, the mappings
//! of Arrow customers to local organizations, and the monthly consumption recorded per
//! imported license. Billing syncs are read models only: no command creates one yet.
//!
//! The API key is never part of an event: [`settings::ArrowSettings`] holds a reference to
//! the encrypted secret ([`crate::domain::secret::SecretRef`]).

pub mod consumption;
pub mod mapping;
pub mod settings;

/// `new` when it is given and differs from `old`: what a change event records of a field.
fn changed<T: PartialEq>(new: Option<T>, old: &T) -> Option<T> {
    new.filter(|n| n != old)
}
