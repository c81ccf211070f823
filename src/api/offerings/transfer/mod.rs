//! Carrying offerings elsewhere and across owners, under `/api/marketplace-provider-offerings/`:
//! `export_offering` (a portable document), `import_offering` (create or overwrite from such a
//! document, given as JSON or YAML), `move_offering` (to another customer),
//! `check_unique_backend_id` and `switch_billing_mode`.
//!
//! Screenshots, files and organization groups are not stored by the ledger: export shows them
//! as empty lists and import reports what it could not take as warnings.
//!
//! - [`export`]: the export document.
//! - [`document`]: reading an import document into an [`OfferingImport`].
//! - [`import`]: the import action.
//! - [`move_`]: moving an offering to another customer.
//! - [`backend_id`]: whether a backend id is still free.
//! - [`billing`]: switching the billing mode of built-in components.
//!
//! [`OfferingImport`]: crate::app::offerings::import::OfferingImport

mod backend_id;
mod billing;
mod document;
mod export;
mod import;
mod move_;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::post;

use crate::api::ApiState;
use crate::api::form::{Form, REQUIRED};

const BASE: &str = "/api/marketplace-provider-offerings";

pub fn router() -> Router<Arc<ApiState>> {
    Router::new()
        .route(
            &format!("{BASE}/import_offering/"),
            post(import::import_offering),
        )
        .route(
            &format!("{BASE}/{{uuid}}/export_offering/"),
            post(export::export_offering),
        )
        .route(
            &format!("{BASE}/{{uuid}}/move_offering/"),
            post(move_::move_offering),
        )
        .route(
            &format!("{BASE}/{{uuid}}/check_unique_backend_id/"),
            post(backend_id::check_unique_backend_id),
        )
        .route(
            &format!("{BASE}/{{uuid}}/switch_billing_mode/"),
            post(billing::switch_billing_mode),
        )
}

/// Boolean flags of a request with their defaults.
type Flags = BTreeMap<&'static str, bool>;

fn read_flags(form: &mut Form, defaults: &[(&'static str, bool)]) -> Flags {
    defaults
        .iter()
        .map(|(name, default)| (*name, form.bool(name).unwrap_or(*default)))
        .collect()
}

fn require_present(form: &mut Form, field: &str) {
    if !form.is_present(field) {
        form.error(field, REQUIRED);
    }
}
