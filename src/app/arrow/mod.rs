//! Arrow: settings and their API key, customer mappings, the actions that read Arrow
//! (customers, licenses, consumption, billing exports) and the ones that change local
//! resources (importing a license as a resource with its audit order, linking a resource
//! to a license), and the monthly consumption recorded per license.
//!
//! - [`settings`]: settings CRUD, checking credentials, previewing and saving a setup.
//! - [`mappings`]: customer mapping CRUD with its uniqueness rule.
//! - [`discovery`]: Arrow customers and licenses matched with local customers and
//!   resources, Arrow's figures for a mapping, and the billing summary.
//! - [`licenses`]: importing and linking licenses.
//! - [`consumption`]: recording a resource's monthly consumption from Arrow.
//!
//! The API key is stored encrypted in the `secrets` table ([`crate::store::secrets`]);
//! events carry only a reference and a fingerprint, and no message repeats it.

pub mod consumption;
pub mod discovery;
pub mod licenses;
pub mod mappings;
pub mod settings;
pub mod similarity;

use cqrs_es::AggregateError;

use crate::app::Ledger;
use crate::app::error::{AppError, store_failure};
use crate::clients::arrow::{ArrowClient, ArrowOptions};
use crate::domain::arrow::consumption::ConsumptionError;
use crate::domain::arrow::mapping::MappingError;
use crate::domain::arrow::settings::{ArrowSettings, ArrowSettingsError};
use crate::domain::resource::ResourceError;
use crate::store::secrets::SecretError;

/// What the `secrets` table records as the owner of an API key.
pub const SECRET_OWNER: &str = "arrow-settings";

/// Why an Arrow request did not go through.
#[derive(Debug, thiserror::Error)]
pub enum ArrowAppError {
    /// Field errors, unknown objects, conflicts and store failures, as elsewhere.
    #[error(transparent)]
    App(#[from] AppError),
    /// An action refused with a message (Waldur answers 400 `{"error": …}`).
    #[error("{0}")]
    Refused(String),
    /// An object an action names does not exist (404 `{"error": …}`).
    #[error("{0}")]
    Missing(String),
}

impl From<sqlx::Error> for ArrowAppError {
    fn from(err: sqlx::Error) -> Self {
        ArrowAppError::App(err.into())
    }
}

impl From<SecretError> for ArrowAppError {
    fn from(err: SecretError) -> Self {
        ArrowAppError::App(AppError::Store(
            anyhow::Error::new(err).context("the stored Arrow API key"),
        ))
    }
}

impl From<crate::read::list::ListError> for ArrowAppError {
    fn from(err: crate::read::list::ListError) -> Self {
        match err {
            crate::read::list::ListError::Database(e) => e.into(),
            crate::read::list::ListError::InvalidPage(_) => {
                ArrowAppError::App(AppError::Store(anyhow::anyhow!("a page outside the list")))
            }
        }
    }
}

macro_rules! refusals {
    ($($error:ty => $model:literal),+ $(,)?) => {
        $(impl From<AggregateError<$error>> for ArrowAppError {
            fn from(err: AggregateError<$error>) -> Self {
                match err {
                    AggregateError::UserError(inner) if inner.to_string().contains("not found") => {
                        ArrowAppError::App(AppError::NotFound($model))
                    }
                    other => ArrowAppError::App(store_failure(other)),
                }
            }
        })+
    };
}

refusals!(
    ArrowSettingsError => "ArrowSettings",
    MappingError => "ArrowCustomerMapping",
    ConsumptionError => "ArrowConsumptionRecord",
    ResourceError => "Resource",
);

/// How requests to Arrow behave: the private-address rule of remote sync and
/// `ARROW_TIMEOUT_SECONDS` for each call.
pub fn options(ledger: &Ledger) -> ArrowOptions {
    let remote = ledger.remote_options();
    ArrowOptions {
        allow_internal: remote.allow_internal,
        timeout: remote.arrow_timeout,
    }
}

/// A client for the given credentials; the message says why there is none.
pub fn client(ledger: &Ledger, api_url: &str, api_key: &str) -> Result<ArrowClient, String> {
    ArrowClient::new(api_url, api_key, &options(ledger)).map_err(|e| e.to_string())
}

/// A client for stored settings; the message says why there is none (also when the key
/// cannot be read, without repeating it).
pub async fn settings_client(
    ledger: &Ledger,
    settings: &ArrowSettings,
) -> Result<ArrowClient, String> {
    let Some(key) = &settings.api_key else {
        return Err("The Arrow settings have no API key.".to_string());
    };
    match ledger.secrets.reveal(key.id).await {
        Ok(api_key) => client(ledger, &settings.fields.api_url, &api_key),
        Err(err) => {
            tracing::warn!(settings = ?settings.uuid, error = %err, "an Arrow API key cannot be read");
            Err("The stored Arrow API key cannot be read.".to_string())
        }
    }
}
