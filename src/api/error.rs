//! The one place where failures become HTTP answers, in Django REST framework's shapes:
//! `{"detail": …}` for auth/permission/not-found/state errors, `{"field": [..]}` for field
//! validation, a bare `[..]` for object-level validation. Internal errors are logged with
//! their cause chain and answered with a bare 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::error::AppError;
pub use crate::app::error::FieldErrors;

/// DRF's message for text holding U+0000.
pub const NUL_CHARACTERS: &str = "Null characters are not allowed.";

/// The answer to a write that lost to another writer on the same object.
const CHANGED_BY_ANOTHER_REQUEST: &str = "The object was changed by another request; try again.";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401 with `WWW-Authenticate: Token`.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// 403.
    #[error("permission denied")]
    PermissionDenied,
    /// 403 with a specific explanation.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404 for an object the user cannot see or that does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 404 with a body of another shape (`{"error": …}` in some Waldur actions).
    #[error("not found: {0}")]
    NotFoundBody(Value),
    /// 404 for anything else not found (bad page, unknown route).
    #[error("not found: {0}")]
    NotFoundDetail(String),
    /// 400 with per-field messages.
    #[error("invalid fields: {0:?}")]
    Fields(FieldErrors),
    /// 400 with a bare list of messages (object-level validation).
    #[error("invalid: {0:?}")]
    Invalid(Vec<String>),
    /// 400 with a body of another shape (DRF nests some validator errors).
    #[error("invalid: {0}")]
    InvalidBody(Value),
    /// 400 with a `detail` message (malformed request bodies).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 409 for an operation the object's current state does not allow.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 405.
    #[error("method {0} not allowed")]
    MethodNotAllowed(String),
    /// 415.
    #[error("unsupported media type {0}")]
    UnsupportedMediaType(String),
    /// 413.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 500; the cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 400 for one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(name.to_string(), vec![message.into()]);
        ApiError::Fields(errors)
    }

    /// A 400 with one object-level message (`["message"]`).
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![message.into()])
    }

    /// A 409 listing the states an operation is valid in.
    pub fn invalid_state(valid: &[&str]) -> Self {
        ApiError::Conflict(format!("Valid states for operation: {}.", valid.join(", ")))
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    fn status_and_body(&self) -> (StatusCode, Value) {
        match self {
            ApiError::Unauthenticated(detail) => {
                (StatusCode::UNAUTHORIZED, json!({ "detail": detail }))
            }
            ApiError::PermissionDenied => (
                StatusCode::FORBIDDEN,
                json!({"detail": "You do not have permission to perform this action."}),
            ),
            ApiError::Forbidden(detail) => (StatusCode::FORBIDDEN, json!({ "detail": detail })),
            ApiError::NotFound(model) => (
                StatusCode::NOT_FOUND,
                json!({ "detail": format!("No {model} matches the given query.") }),
            ),
            ApiError::NotFoundDetail(detail) => {
                (StatusCode::NOT_FOUND, json!({ "detail": detail }))
            }
            ApiError::NotFoundBody(body) => (StatusCode::NOT_FOUND, body.clone()),
            ApiError::Fields(errors) => (StatusCode::BAD_REQUEST, json!(errors)),
            ApiError::Invalid(messages) => (StatusCode::BAD_REQUEST, json!(messages)),
            ApiError::InvalidBody(body) => (StatusCode::BAD_REQUEST, body.clone()),
            ApiError::BadRequest(detail) => (StatusCode::BAD_REQUEST, json!({ "detail": detail })),
            ApiError::Conflict(detail) => (StatusCode::CONFLICT, json!({ "detail": detail })),
            ApiError::MethodNotAllowed(method) => (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({ "detail": format!("Method \"{method}\" not allowed.") }),
            ),
            ApiError::UnsupportedMediaType(media) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({ "detail": format!("Unsupported media type \"{media}\" in request.") }),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({ "detail": "Request body is too large." }),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "detail": "A server error occurred." }),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(err) = &self {
            tracing::error!(error = ?err, "request failed");
        }
        let (status, body) = self.status_and_body();
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::Internal(anyhow::Error::new(err).context("database query"))
    }
}

/// Waldur's answer to a page beyond the last one.
impl From<crate::read::list::InvalidPage> for ApiError {
    fn from(_: crate::read::list::InvalidPage) -> Self {
        ApiError::NotFoundDetail("Invalid page.".to_string())
    }
}

/// DRF's answer to an `o=` term the list does not offer.
impl From<crate::read::list::UnknownOrderKey> for ApiError {
    fn from(err: crate::read::list::UnknownOrderKey) -> Self {
        ApiError::field(
            "o",
            format!(
                "Select a valid choice. {} is not one of the available choices.",
                err.0
            ),
        )
    }
}

impl From<crate::read::list::ListError> for ApiError {
    fn from(err: crate::read::list::ListError) -> Self {
        use crate::read::list::ListError;
        match err {
            ListError::InvalidPage(invalid) => invalid.into(),
            ListError::Database(err) => err.into(),
        }
    }
}

/// An event the log could not give back as written: the request carried a value that
/// cannot be stored. Bad input, not a fault of the ledger.
impl From<crate::store::codec::CodecError> for ApiError {
    fn from(err: crate::store::codec::CodecError) -> Self {
        use crate::store::codec::CodecError;
        tracing::info!(error = %err, "refused an event that would not read back");
        ApiError::BadRequest(
            match err {
                CodecError::NulCharacter { .. } => NUL_CHARACTERS,
                _ => "The request holds a value that cannot be stored.",
            }
            .to_string(),
        )
    }
}

/// Maps an aggregate's own error into an API error; used by the command helpers.
pub trait DomainError {
    fn into_api(self) -> ApiError;
}

/// Two aggregates changed together (an order and its resource): each side's rule errors
/// map as that aggregate's own.
impl<A, B> From<crate::store::together::PairError<A, B>> for ApiError
where
    A: DomainError + std::error::Error,
    B: DomainError + std::error::Error,
{
    fn from(err: crate::store::together::PairError<A, B>) -> Self {
        use crate::store::together::PairError;
        match err {
            PairError::First(inner) => inner.into_api(),
            PairError::Second(inner) => inner.into_api(),
            PairError::Conflict => store_failure(cqrs_es::AggregateError::<A>::AggregateConflict),
            PairError::Codec(refused) => refused.into(),
            PairError::Store(e) => ApiError::Internal(e.context("event store")),
        }
    }
}

impl<E: DomainError + std::error::Error> From<cqrs_es::AggregateError<E>> for ApiError {
    fn from(err: cqrs_es::AggregateError<E>) -> Self {
        match err {
            cqrs_es::AggregateError::UserError(inner) => inner.into_api(),
            other => store_failure(other),
        }
    }
}

/// A command that failed in the store rather than by a rule: a write conflict that outlived
/// its retries is a 409, an event the codec refused a 400, anything else a 500. A rule
/// error here is one the checks before the command ruled out, so it is internal too.
pub fn store_failure<E: std::error::Error>(err: cqrs_es::AggregateError<E>) -> ApiError {
    crate::app::error::store_failure(err).into()
}

/// An application error as Waldur answers it: rule errors keep the shapes the handlers
/// produced before the rules moved below them, store failures as [`store_failure`] says.
impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Fields(errors) => ApiError::Fields(errors),
            AppError::Invalid(message) => ApiError::Invalid(vec![message]),
            AppError::Forbidden(detail) => ApiError::Forbidden(detail),
            AppError::NotFound(model) => ApiError::NotFound(model),
            AppError::State(detail) => ApiError::Conflict(detail),
            AppError::Conflict => ApiError::Conflict(CHANGED_BY_ANOTHER_REQUEST.to_string()),
            AppError::Offering(refused) => refused.into_api(),
            AppError::Unstorable(refused) => refused.into(),
            AppError::Store(cause) => ApiError::Internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::offering::OfferingError;

    fn answer(err: AppError) -> (StatusCode, Value) {
        ApiError::from(err).status_and_body()
    }

    #[test]
    fn app_rule_errors_are_answered_in_drf_shapes() {
        assert_eq!(
            answer(AppError::field("url", "Enter a valid URL.")),
            (
                StatusCode::BAD_REQUEST,
                json!({"url": ["Enter a valid URL."]})
            )
        );
        assert_eq!(
            answer(AppError::invalid("Blocked organization is not available.")),
            (
                StatusCode::BAD_REQUEST,
                json!(["Blocked organization is not available."])
            )
        );
        assert_eq!(
            answer(AppError::Forbidden("No.".into())),
            (StatusCode::FORBIDDEN, json!({"detail": "No."}))
        );
        assert_eq!(
            answer(AppError::NotFound("Offering")),
            (
                StatusCode::NOT_FOUND,
                json!({"detail": "No Offering matches the given query."})
            )
        );
        assert_eq!(
            answer(AppError::State(
                "Cannot delete plan with existing resources".into()
            )),
            (
                StatusCode::CONFLICT,
                json!({"detail": "Cannot delete plan with existing resources"})
            )
        );
    }

    #[test]
    fn app_store_errors_are_answered_as_the_store_helpers_answer_them() {
        for (app, direct) in [
            (
                AppError::Conflict,
                store_failure(cqrs_es::AggregateError::<OfferingError>::AggregateConflict),
            ),
            (
                AppError::Store(anyhow::anyhow!("down")),
                ApiError::internal(anyhow::anyhow!("down")),
            ),
            (
                AppError::Unstorable(crate::store::codec::CodecError::NulCharacter {
                    path: "/name".into(),
                }),
                ApiError::BadRequest(NUL_CHARACTERS.to_string()),
            ),
        ] {
            assert_eq!(answer(app), direct.status_and_body());
        }
    }

    #[test]
    fn an_offering_refusal_is_answered_as_the_offering_maps_it() {
        assert_eq!(
            answer(AppError::Offering(OfferingError::NoPlans)),
            OfferingError::NoPlans.into_api().status_and_body()
        );
        assert_eq!(
            answer(AppError::Offering(OfferingError::NoPlans)).1,
            json!(["Offering does not have any billing plans."])
        );
    }
}
