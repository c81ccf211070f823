//! How one call to Arrow is made and how it fails: the URL under the base, the headers,
//! the timeout, and Waldur's three error texts, with the key scrubbed from anything a
//! server sends back.

use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use super::{ArrowClient, ArrowError};
use crate::clients::guard;

/// How much of an answer's body an error repeats, as Waldur repeats it.
const MAX_BODY: usize = 500;

/// What a path segment made of a reference must not hold unencoded.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The header that carries the key; header names are case-insensitive (Arrow's SDKs
/// write `apiKey`).
static API_KEY: HeaderName = HeaderName::from_static("apikey");

impl ArrowClient {
    pub(super) async fn get(
        &self,
        endpoint: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, ArrowError> {
        self.call(Method::GET, endpoint, path, query, None).await
    }

    /// One call: `endpoint` names it in errors, `path` is what is appended to the base.
    pub(super) async fn call(
        &self,
        method: Method,
        endpoint: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, ArrowError> {
        let result = self.exchange(method, endpoint, path, query, body).await;
        match &result {
            Ok(_) => tracing::debug!(endpoint, "arrow api answered"),
            Err(err) => tracing::warn!(error = %err, "arrow api call failed"),
        }
        result
    }

    async fn exchange(
        &self,
        method: Method,
        endpoint: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, ArrowError> {
        let failed = |reason: String| ArrowError::Request {
            endpoint: endpoint.to_string(),
            reason,
        };
        if let Some(reason) = &self.refused {
            return Err(failed(reason.clone()));
        }
        let mut url =
            Url::parse(&join_url(&self.base, path)).map_err(|err| failed(err.to_string()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut key = HeaderValue::from_str(&self.key)
            .map_err(|_| failed("the API key is not a valid header value".to_string()))?;
        key.set_sensitive(true);
        let mut request = self
            .http
            .request(method, url)
            .header(API_KEY.clone(), key)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json");
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|err| failed(self.reason(&err)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| failed(self.reason(&err)))?;
        if !status.is_success() {
            return Err(ArrowError::Status {
                endpoint: endpoint.to_string(),
                status: status.as_u16(),
                body: self.excerpt(&bytes),
            });
        }
        serde_json::from_slice(&bytes).map_err(|_| ArrowError::InvalidJson {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
            body: self.excerpt(&bytes),
        })
    }

    /// Why a request got no answer, in words that hold no secret.
    fn reason(&self, err: &reqwest::Error) -> String {
        if let Some(refused) = guard::refusal_in(err) {
            return refused.to_string();
        }
        if err.is_timeout() {
            return format!("timed out after {}", seconds(self.timeout));
        }
        // The innermost cause says what happened (refused, unknown host, TLS).
        let mut reason = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        self.scrub(reason)
    }

    /// The first 500 characters of a body, "(empty)" for none, as Waldur quotes them.
    fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        if text.is_empty() {
            return "(empty)".to_string();
        }
        self.scrub(text.chars().take(MAX_BODY).collect())
    }

    /// Takes the key out of text that came from elsewhere (a server may echo it).
    fn scrub(&self, text: String) -> String {
        if self.key.is_empty() || !text.contains(&self.key) {
            return text;
        }
        text.replace(&self.key, "********")
    }
}

/// `base` with exactly one `/` before `path`.
fn join_url(base: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    if base.ends_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// The endpoint named in errors (`licenses/XSP1`) and the path asked (the reference
/// percent-encoded as one segment, so that it cannot leave it).
pub(super) fn endpoint_for(prefix: &str, reference: &str, suffix: &str) -> (String, String) {
    let segment = match reference {
        // `.` and `..` are resolved away by URL parsing, even as `%2E`: sent with their `%`
        // encoded they name no license and stay under the prefix.
        "." | ".." => reference.replace('.', "%252E"),
        _ => utf8_percent_encode(reference, SEGMENT).to_string(),
    };
    (
        format!("{prefix}{reference}{suffix}"),
        format!("{prefix}{segment}{suffix}"),
    )
}

/// A duration in words: "1 second", "30 seconds", "0.5 seconds".
fn seconds(duration: Duration) -> String {
    let value = duration.as_secs_f64();
    if value == 1.0 {
        "1 second".to_string()
    } else {
        format!("{value} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::arrow::ArrowOptions;

    #[test]
    fn endpoints_are_joined_to_the_base_with_one_slash() {
        for base in [
            "https://xsp.arrow.com/index.php/api/",
            "https://xsp.arrow.com/index.php/api",
        ] {
            assert_eq!(
                join_url(base, "whoami"),
                "https://xsp.arrow.com/index.php/api/whoami"
            );
        }
        assert_eq!(
            join_url("http://127.0.0.1:8080", "/customers"),
            "http://127.0.0.1:8080/customers"
        );
    }

    #[test]
    fn references_stay_inside_their_segment() {
        assert_eq!(
            endpoint_for("licenses/", "XSP12345", ""),
            (
                "licenses/XSP12345".to_string(),
                "licenses/XSP12345".to_string()
            )
        );
        let (endpoint, path) = endpoint_for("consumption/license/", "a/b?c", "/prediction");
        assert_eq!(endpoint, "consumption/license/a/b?c/prediction");
        assert_eq!(path, "consumption/license/a%2Fb%3Fc/prediction");
        let (_, path) = endpoint_for("customers/", "..", "");
        let url = Url::parse(&join_url("https://h/api/", &path)).unwrap();
        assert!(url.path().starts_with("/api/customers/"), "{url}");
    }

    #[test]
    fn bodies_are_cut_to_500_characters_and_lose_the_key() {
        let client = ArrowClient::new(
            "https://xsp.arrow.com/api/",
            "k-secret",
            &ArrowOptions::default(),
        )
        .unwrap();
        assert_eq!(client.excerpt(b""), "(empty)");
        assert_eq!(
            client.excerpt("é".repeat(600).as_bytes()).chars().count(),
            500
        );
        assert_eq!(
            client.excerpt(b"bad key k-secret"),
            "bad key ********".to_string()
        );
    }

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(seconds(Duration::from_secs(1)), "1 second");
        assert_eq!(seconds(Duration::from_secs(30)), "30 seconds");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5 seconds");
    }
}
