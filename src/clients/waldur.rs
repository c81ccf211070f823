//! A client for another Waldur's REST API, as remote offering sync uses it: the remote's
//! organizations, categories and public offerings, every page followed through `Link`
//! headers. Answers are parsed leniently (as JSON values the caller reads field by field):
//! the remote may be another ledger or a real Waldur of any version.
//!
//! The token goes only into the `Authorization` header; no error message or log line holds
//! it. Requests time out, never follow redirects, and reach internal addresses only when
//! that is allowed (see [`super::guard`]).

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK};
use serde_json::Value;
use url::Url;
use uuid::Uuid;

use super::guard;

/// The offering types another Waldur can serve remotely; sync imports only these.
pub const REMOTE_CAPABLE_TYPES: &[&str] = &[
    "Marketplace.Basic",
    "Support.OfferingTemplate",
    "Marketplace.Slurm",
];

/// Pages asked for at once; Waldur caps `page_size` at 300.
const PAGE_SIZE: &str = "300";

/// No list is followed beyond this many pages (a remote that links to itself forever).
const MAX_PAGES: usize = 10_000;

/// How much of a remote's error body a message repeats.
const MAX_BODY: usize = 500;

/// How outbound requests to other Waldurs (and to Arrow) behave.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Allow private, loopback and link-local addresses.
    pub allow_internal: bool,
    /// How long one request to another Waldur may take.
    pub timeout: Duration,
    /// How long one request to the Arrow API may take (`ARROW_TIMEOUT_SECONDS`).
    pub arrow_timeout: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            allow_internal: false,
            timeout: Duration::from_secs(30),
            arrow_timeout: Duration::from_secs(30),
        }
    }
}

/// Why an `api_url` is not one the ledger can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("Enter a valid URL.")]
    Invalid,
    #[error("Only http and https URLs are supported.")]
    Scheme,
}

/// The remote's base address from what an operator typed: `https://host`, `https://host/`,
/// `https://host/api` and `https://host/api/` all name the same remote. One trailing `/`
/// and then one trailing `/api` are taken off; nothing else is.
pub fn normalize_api_url(input: &str) -> Result<String, UrlError> {
    let trimmed = input.trim();
    let url = Url::parse(trimmed).map_err(|_| UrlError::Invalid)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme);
    }
    if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(UrlError::Invalid);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Invalid);
    }
    let text = url.as_str();
    let text = text.strip_suffix('/').unwrap_or(text);
    let text = text.strip_suffix("/api").unwrap_or(text);
    Ok(text.to_string())
}

/// What went wrong talking to a remote Waldur. The messages name the remote and what it
/// said, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    #[error("{0}")]
    Url(#[from] UrlError),
    #[error("{host} resolves to an internal address; requests to it are not allowed")]
    Internal { host: String },
    #[error("Unable to reach {base}: {reason}")]
    Unreachable { base: String, reason: String },
    #[error("{base} did not answer within {seconds} seconds")]
    Timeout { base: String, seconds: u64 },
    /// The remote refused the token (401 or 403); `message` is what it said.
    #[error("{message}")]
    Unauthorized { status: u16, message: String },
    /// Any other error status; `message` is the remote's answer, as Waldur records it.
    #[error("{message}")]
    Status { status: u16, message: String },
    #[error("{base} did not answer with JSON: is it a Waldur API?")]
    NotJson { base: String },
    #[error("{base} sent a next page outside itself: {next}")]
    ForeignLink { base: String, next: String },
}

impl RemoteError {
    /// The message with what was being asked, for answers to the operator.
    pub fn describe(&self, asking: &str) -> String {
        match self {
            RemoteError::Unauthorized { status, message } => {
                format!("The remote Waldur refused the token ({status}) while {asking}: {message}")
            }
            RemoteError::Status { status, message } => {
                format!("The remote Waldur answered {status} while {asking}: {message}")
            }
            other => format!("{other} (while {asking})"),
        }
    }
}

/// One remote Waldur reached with one token.
#[derive(Clone)]
pub struct RemoteWaldur {
    http: reqwest::Client,
    base: String,
    token: String,
    timeout: Duration,
}

impl fmt::Debug for RemoteWaldur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteWaldur")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl RemoteWaldur {
    /// A client for the remote at `api_url` (normalized as [`normalize_api_url`] does).
    pub fn new(api_url: &str, token: &str, options: &RemoteOptions) -> Result<Self, RemoteError> {
        let base = normalize_api_url(api_url)?;
        let parsed = Url::parse(&base).map_err(|_| UrlError::Invalid)?;
        if !options.allow_internal
            && let Some(host) = parsed.host()
        {
            guard::check_literal(&host)
                .map_err(|refused| RemoteError::Internal { host: refused.host })?;
        }
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("marketplace-ledger/", env!("CARGO_PKG_VERSION")));
        if let Some(resolver) = guard::resolver(options.allow_internal) {
            builder = builder.dns_resolver(resolver);
        }
        let http = builder.build().map_err(|err| RemoteError::Unreachable {
            base: base.clone(),
            reason: err.to_string(),
        })?;
        Ok(Self {
            http,
            base,
            token: token.to_string(),
            timeout: options.timeout,
        })
    }

    /// The remote's base address (without `/api`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The organizations the token's user owns: `uuid`, `name`, `abbreviation`,
    /// `phone_number`, `email`.
    pub async fn owned_customers(&self) -> Result<Vec<Value>, RemoteError> {
        let mut query = vec![("owned_by_current_user", "true".to_string())];
        for field in ["uuid", "name", "abbreviation", "phone_number", "email"] {
            query.push(("field", field.to_string()));
        }
        self.list("customers/", &query).await
    }

    /// One organization, or `None` when the remote does not know it (or hides it).
    pub async fn customer(&self, uuid: Uuid) -> Result<Option<Value>, RemoteError> {
        let query = [("field", "uuid"), ("field", "name")];
        match self
            .get_json(&format!("customers/{}/", uuid.simple()), &query)
            .await
        {
            Ok((value, _)) => Ok(Some(value)),
            Err(RemoteError::Status { status: 404, .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Every marketplace category.
    pub async fn categories(&self) -> Result<Vec<Value>, RemoteError> {
        self.list::<&str>("marketplace-categories/", &[]).await
    }

    /// The shared offerings of remote-capable types in one category that the organization
    /// may order.
    pub async fn public_offerings(
        &self,
        organization: Uuid,
        category: Uuid,
    ) -> Result<Vec<Value>, RemoteError> {
        let mut query = vec![
            ("allowed_customer_uuid", organization.simple().to_string()),
            ("category_uuid", category.simple().to_string()),
            ("shared", "true".to_string()),
        ];
        for kind in REMOTE_CAPABLE_TYPES {
            query.push(("type", kind.to_string()));
        }
        self.list("marketplace-public-offerings/", &query).await
    }

    /// Every item of a list, following `Link: <…>; rel="next"` from page to page.
    pub async fn list<Q: AsRef<str>>(
        &self,
        path: &str,
        query: &[(&str, Q)],
    ) -> Result<Vec<Value>, RemoteError> {
        let mut query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        query.push(("page_size", PAGE_SIZE));
        let mut url = self.url(path, &query)?;
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let (page, headers) = self.fetch(url.clone()).await?;
            match page {
                Value::Array(page) => items.extend(page),
                _ => {
                    return Err(RemoteError::NotJson {
                        base: self.base.clone(),
                    });
                }
            }
            match next_link(&headers) {
                Some(next) => {
                    let next_url = Url::parse(&next).map_err(|_| RemoteError::ForeignLink {
                        base: self.base.clone(),
                        next: next.clone(),
                    })?;
                    if next_url.origin() != url.origin() {
                        return Err(RemoteError::ForeignLink {
                            base: self.base.clone(),
                            next,
                        });
                    }
                    url = next_url;
                }
                None => return Ok(items),
            }
        }
        Ok(items)
    }

    async fn get_json<Q: AsRef<str>>(
        &self,
        path: &str,
        query: &[(&str, Q)],
    ) -> Result<(Value, HeaderMap), RemoteError> {
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        let url = self.url(path, &query)?;
        self.fetch(url).await
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, RemoteError> {
        let mut url =
            Url::parse(&format!("{}/api/{path}", self.base)).map_err(|_| UrlError::Invalid)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    async fn fetch(&self, url: Url) -> Result<(Value, HeaderMap), RemoteError> {
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, format!("Token {}", self.token))
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| self.transport_error(&err))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|err| self.transport_error(&err))?;
        if !status.is_success() {
            let message = error_message(status, &body);
            return Err(
                if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                    RemoteError::Unauthorized {
                        status: status.as_u16(),
                        message,
                    }
                } else {
                    RemoteError::Status {
                        status: status.as_u16(),
                        message,
                    }
                },
            );
        }
        let value = serde_json::from_slice(&body).map_err(|_| RemoteError::NotJson {
            base: self.base.clone(),
        })?;
        Ok((value, headers))
    }

    fn transport_error(&self, err: &reqwest::Error) -> RemoteError {
        if let Some(refused) = guard::refusal_in(err) {
            return RemoteError::Internal {
                host: refused.host.clone(),
            };
        }
        if err.is_timeout() {
            return RemoteError::Timeout {
                base: self.base.clone(),
                seconds: self.timeout.as_secs(),
            };
        }
        // The innermost cause says what happened (refused, unknown host, TLS); the URL
        // holds no secret, but it is the base that names the remote.
        let mut reason = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        RemoteError::Unreachable {
            base: self.base.clone(),
            reason,
        }
    }
}

/// What a remote said when it refused: `detail` of a JSON body, else the body itself (as
/// Waldur records it), cut short; the status text when the body is empty.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text)
        && let Some(Value::String(detail)) = map.get("detail")
    {
        return detail.clone();
    }
    if text.is_empty() {
        return status
            .canonical_reason()
            .unwrap_or("Unknown error")
            .to_string();
    }
    let mut cut: String = text.chars().take(MAX_BODY).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// The `rel="next"` target of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|part| {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            });
            let target = target.strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| target.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_four_spellings_of_an_api_url_name_the_same_remote() {
        for input in [
            "https://waldur.example.org",
            "https://waldur.example.org/",
            "https://waldur.example.org/api",
            "https://waldur.example.org/api/",
        ] {
            assert_eq!(
                normalize_api_url(input).unwrap(),
                "https://waldur.example.org",
                "{input}"
            );
        }
    }

    #[test]
    fn hosts_ending_in_a_p_or_i_keep_their_letters() {
        assert_eq!(
            normalize_api_url("https://api.example.pi/api/").unwrap(),
            "https://api.example.pi"
        );
        assert_eq!(normalize_api_url("https://mapi").unwrap(), "https://mapi");
        assert_eq!(
            normalize_api_url("https://host/waldur/api").unwrap(),
            "https://host/waldur"
        );
        // only one `/api` is taken off
        assert_eq!(
            normalize_api_url("https://host/api/api/").unwrap(),
            "https://host/api"
        );
    }

    #[test]
    fn urls_that_are_not_http_are_refused() {
        assert_eq!(
            normalize_api_url("waldur.example.org"),
            Err(UrlError::Invalid)
        );
        assert_eq!(normalize_api_url("ftp://host/api/"), Err(UrlError::Scheme));
        assert_eq!(
            normalize_api_url("file:///etc/passwd"),
            Err(UrlError::Scheme)
        );
        assert_eq!(
            normalize_api_url("https://user:pw@host/api/"),
            Err(UrlError::Invalid)
        );
        assert_eq!(
            normalize_api_url("https://host/api/?x=1"),
            Err(UrlError::Invalid)
        );
    }

    #[test]
    fn the_next_page_is_read_from_the_link_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            HeaderValue::from_static(
                "<https://w.example/api/x/?page=1>; rel=\"first\", \
                 <https://w.example/api/x/?page=3>; rel=\"next\", \
                 <https://w.example/api/x/?page=9>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://w.example/api/x/?page=3")
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn a_remote_error_says_what_the_remote_said() {
        assert_eq!(
            error_message(
                StatusCode::UNAUTHORIZED,
                br#"{"detail": "Token has expired."}"#
            ),
            "Token has expired."
        );
        assert_eq!(
            error_message(StatusCode::INTERNAL_SERVER_ERROR, b"Internal Server Error"),
            "Internal Server Error"
        );
        assert_eq!(error_message(StatusCode::BAD_GATEWAY, b""), "Bad Gateway");
        assert!(error_message(StatusCode::BAD_GATEWAY, "x".repeat(2000).as_bytes()).len() < 600);
    }

    #[test]
    fn a_client_for_an_internal_literal_is_refused_unless_allowed() {
        let strict = RemoteOptions::default();
        assert!(matches!(
            RemoteWaldur::new("http://127.0.0.1:8000/api/", "t", &strict),
            Err(RemoteError::Internal { .. })
        ));
        let open = RemoteOptions {
            allow_internal: true,
            ..RemoteOptions::default()
        };
        assert!(RemoteWaldur::new("http://127.0.0.1:8000/api/", "t", &open).is_ok());
    }

    #[test]
    fn the_debug_form_leaves_the_token_out() {
        let client = RemoteWaldur::new(
            "https://waldur.example.org/api/",
            "secret-token-123",
            &RemoteOptions::default(),
        )
        .unwrap();
        assert!(!format!("{client:?}").contains("secret-token-123"));
    }
}
