//! How an event names a secret without holding it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A secret stored outside the log (see `store::secrets`): its id there and a keyed
/// fingerprint of its value, which changes when the value does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SecretRef {
    pub id: Uuid,
    pub fingerprint: String,
}
