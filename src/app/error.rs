//! Why an application rule or command did not go through. Callers of `app::` (the API, the
//! scheduler, a sync run) get one of these; the API turns them into Waldur's bodies in
//! `api::error`, other callers log or report them.

use std::collections::BTreeMap;

use cqrs_es::AggregateError;

use crate::domain::offering::OfferingError;
use crate::store::codec::{self, CodecError};

/// Field name → messages, as Waldur's serializers report invalid fields.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Fields that break a rule, each with its messages.
    #[error("invalid fields: {0:?}")]
    Fields(FieldErrors),
    /// A rule about the object as a whole.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The caller may not do this here, for the reason given.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// An object that does not exist; the name is the model's (`Offering`, `Plan`).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The object's current state does not allow the operation.
    #[error("conflict: {0}")]
    State(String),
    /// Another writer changed the aggregate, and retrying did not get through.
    #[error("the object was changed by another request")]
    Conflict,
    /// The offering aggregate refused the command.
    #[error(transparent)]
    Offering(#[from] OfferingError),
    /// A value the event log could not give back as written.
    #[error(transparent)]
    Unstorable(#[from] CodecError),
    /// The database or event store failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl AppError {
    /// One field with one message.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(name.to_string(), vec![message.into()]);
        AppError::Fields(errors)
    }

    /// A rule about the object as a whole.
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::Invalid(message.into())
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::Store(anyhow::Error::new(err).context("database query"))
    }
}

/// A command on an offering that failed: the aggregate's refusal, a conflict that outlived
/// its retries, an event the codec refused, or the store.
impl From<AggregateError<OfferingError>> for AppError {
    fn from(err: AggregateError<OfferingError>) -> Self {
        match err {
            AggregateError::UserError(inner) => AppError::Offering(inner),
            other => store_failure(other),
        }
    }
}

/// A command that failed in the store rather than by a rule. A rule error here is one the
/// checks before the command ruled out, so it counts as a failure of the store too.
pub fn store_failure<E: std::error::Error>(err: AggregateError<E>) -> AppError {
    match err {
        AggregateError::AggregateConflict => AppError::Conflict,
        AggregateError::UserError(inner) => AppError::Store(anyhow::anyhow!(
            "a command refused after its checks: {inner}"
        )),
        AggregateError::DatabaseConnectionError(e) => {
            AppError::Store(anyhow::anyhow!(e).context("event store connection"))
        }
        AggregateError::DeserializationError(e) => {
            AppError::Store(anyhow::anyhow!(e).context("decoding stored events"))
        }
        AggregateError::UnexpectedError(e) => match codec::refusal(&*e) {
            Some(refused) => AppError::Unstorable(refused.clone()),
            None => AppError::Store(anyhow::anyhow!(e).context("event store")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offering_rule_error_stays_the_offerings() {
        let err = AppError::from(AggregateError::UserError(OfferingError::NoPlans));
        assert!(matches!(err, AppError::Offering(OfferingError::NoPlans)));
    }

    #[test]
    fn a_conflict_that_outlived_its_retries_is_a_conflict() {
        let err = AppError::from(AggregateError::<OfferingError>::AggregateConflict);
        assert!(matches!(err, AppError::Conflict));
    }

    #[test]
    fn a_field_error_names_its_field() {
        let AppError::Fields(errors) = AppError::field("url", "Enter a valid URL.") else {
            panic!("a field error");
        };
        assert_eq!(errors["url"], vec!["Enter a valid URL.".to_string()]);
    }
}
