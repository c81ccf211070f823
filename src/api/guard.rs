//! Text the ledger refuses before any handler sees it: U+0000 and bytes that are not UTF-8
//! in the path or the query string. PostgreSQL cannot hold a NUL in text, so such a value
//! would otherwise reach a filter or a command only to fail there; DRF answers 400 with
//! "Null characters are not allowed." and so does the ledger.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use crate::api::error::{ApiError, NUL_CHARACTERS};

/// The message for bytes that do not decode as UTF-8.
pub const INVALID_TEXT: &str = "Ensure this value is valid UTF-8 text.";

/// Answers 400 for a path or query parameter holding a NUL or invalid UTF-8; passes every
/// other request on.
pub async fn refuse_unstorable_text(request: Request, next: Next) -> Response {
    if let Err(err) = check_uri(request.uri()) {
        return err.into_response();
    }
    next.run(request).await
}

fn check_uri(uri: &axum::http::Uri) -> Result<(), ApiError> {
    match decoded(uri.path()) {
        Some(text) if text.contains('\0') => {
            return Err(ApiError::BadRequest(NUL_CHARACTERS.into()));
        }
        Some(_) => {}
        None => return Err(ApiError::BadRequest(INVALID_TEXT.into())),
    }
    let Some(query) = uri.query() else {
        return Ok(());
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decoded_form(raw_key);
        let value = decoded_form(raw_value);
        let name = key.as_deref().unwrap_or("query").to_string();
        let name = name.replace('\0', "");
        match (key, value) {
            (Some(k), Some(v)) if k.contains('\0') || v.contains('\0') => {
                return Err(ApiError::field(&name, NUL_CHARACTERS));
            }
            (Some(_), Some(_)) => {}
            _ => return Err(ApiError::field(&name, INVALID_TEXT)),
        }
    }
    Ok(())
}

/// A percent-encoded path as text, if it is UTF-8.
fn decoded(raw: &str) -> Option<String> {
    percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

/// A form-encoded query key or value (`+` is a space) as text, if it is UTF-8.
fn decoded_form(raw: &str) -> Option<String> {
    decoded(&raw.replace('+', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str) -> Result<(), ApiError> {
        check_uri(&uri.parse().expect("a uri"))
    }

    #[test]
    fn ordinary_paths_and_queries_pass() {
        assert!(check("/api/customers/?name=a%20b&o=-created&field=uuid").is_ok());
        assert!(check("/api/customers/?name=%C3%A9t%C3%A9+x&flag").is_ok());
    }

    #[test]
    fn a_nul_in_a_query_value_is_refused_under_its_name() {
        match check("/api/customers/?name=a%00") {
            Err(ApiError::Fields(errors)) => {
                assert_eq!(errors["name"], vec![NUL_CHARACTERS.to_string()])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_nul_in_a_query_key_or_path_is_refused() {
        assert!(check("/api/customers/?na%00me=a").is_err());
        assert!(matches!(
            check("/api/customers/a%00b/"),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        assert!(check("/api/customers/?name=%FF").is_err());
        assert!(check("/api/customers/%C3/").is_err());
    }
}
