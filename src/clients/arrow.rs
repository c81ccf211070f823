//! A client for the part of the ArrowSphere xSP API that the Arrow integration calls
//! (`arrow.md` part A): the partner (`whoami`), its customers and licenses with their
//! legacy paging, a license's monthly consumption and its prediction, and the billing
//! export. Answers are read leniently (`model`): amounts are decimals read from the
//! cell's text. `transport` makes one call and words its failures.
//!
//! Every failure is an [`ArrowError`] whose text is Waldur's, naming the endpoint without
//! the base. The API key goes only into the `apiKey` header: no error, `Debug` output or
//! log line holds it. Requests time out, never follow redirects, and reach internal
//! addresses only when that is allowed (see [`super::guard`]).

mod model;
mod transport;

use std::fmt;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

use super::guard;
use transport::endpoint_for;

pub use model::{
    ArrowCustomer, ArrowLicense, BUY_HEADER, Consumption, EXPORT_PER_PAGE, ExportLine, ExportPage,
    SELL_HEADER, decimal_cell, export_type_list, text_cell,
};

/// How long a call may take unless `ARROW_TIMEOUT_SECONDS` says otherwise.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// Items asked for per page of customers and licenses, as Waldur asks.
const PER_PAGE: u32 = 100;

/// Licenses are read from this many pages at most, as Waldur reads them.
const MAX_LICENSE_PAGES: u32 = 50;

/// No other list is followed beyond this many pages (a remote whose pages never end).
const MAX_PAGES: u32 = 1_000;

/// How calls to Arrow behave.
#[derive(Debug, Clone)]
pub struct ArrowOptions {
    /// Allow private, loopback and link-local addresses.
    pub allow_internal: bool,
    /// How long one request may take.
    pub timeout: Duration,
}

impl Default for ArrowOptions {
    fn default() -> Self {
        Self {
            allow_internal: false,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECONDS),
        }
    }
}

/// An `api_url` the ledger cannot use; the text is Django's, as Waldur answers it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Enter a valid URL.")]
pub struct InvalidUrl;

/// Checks an `api_url` an operator typed and returns it trimmed, otherwise as typed (its
/// path is the API base, e.g. `https://xsp.arrow.com/index.php/api/`): http or https, a
/// host, no user or password, no query or fragment. The length limit is the caller's.
pub fn validate_api_url(input: &str) -> Result<String, InvalidUrl> {
    let trimmed = input.trim();
    let url = Url::parse(trimmed).map_err(|_| InvalidUrl)?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(InvalidUrl);
    }
    Ok(trimmed.to_string())
}

/// What went wrong calling Arrow. `endpoint` is the path without the base
/// (`licenses/XSP12345`); the texts are Waldur's, so that answers carrying them read the
/// same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArrowError {
    #[error("{0}")]
    Url(#[from] InvalidUrl),
    /// Arrow answered with a status other than 2xx; `body` is its first 500 characters.
    #[error("Arrow API {endpoint} returned HTTP {status}: {body}")]
    Status {
        endpoint: String,
        status: u16,
        body: String,
    },
    /// No answer: refused connection, unknown host, timeout, internal address.
    #[error("Arrow API request to {endpoint} failed: {reason}")]
    Request { endpoint: String, reason: String },
    /// A 2xx answer whose body is not JSON.
    #[error("Arrow API {endpoint} returned invalid JSON (status {status}): {body}")]
    InvalidJson {
        endpoint: String,
        status: u16,
        body: String,
    },
    /// The HTTP client could not be built (no call was made).
    #[error("Arrow API client could not be set up: {0}")]
    Setup(String),
}

impl ArrowError {
    /// The HTTP status Arrow answered with, if it answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            ArrowError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The ArrowSphere API at one base URL, reached with one API key.
#[derive(Clone)]
pub struct ArrowClient {
    http: reqwest::Client,
    /// `api_url` with a trailing `/`.
    base: String,
    key: String,
    timeout: Duration,
    /// Why every call is refused: the base names an internal address literal.
    refused: Option<String>,
}

impl fmt::Debug for ArrowClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrowClient")
            .field("base", &self.base)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ArrowClient {
    /// A client for the API at `api_url` (checked as [`validate_api_url`] does). A base on
    /// an internal address literal is not refused here but on every call, so that the
    /// refusal reads like any other failed request ("Arrow API request to whoami failed:
    /// …").
    pub fn new(api_url: &str, api_key: &str, options: &ArrowOptions) -> Result<Self, ArrowError> {
        let mut base = validate_api_url(api_url)?;
        let parsed = Url::parse(&base).map_err(|_| InvalidUrl)?;
        let refused = match parsed.host() {
            Some(host) if !options.allow_internal => {
                guard::check_literal(&host).err().map(|refused| {
                    format!(
                        "{} is an internal address that outbound requests may not reach",
                        refused.host
                    )
                })
            }
            _ => None,
        };
        if !base.ends_with('/') {
            base.push('/');
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
        let http = builder
            .build()
            .map_err(|err| ArrowError::Setup(err.to_string()))?;
        Ok(Self {
            http,
            base,
            key: api_key.to_string(),
            timeout: options.timeout,
            refused,
        })
    }

    /// The base URL calls are made under, with its trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A.1: the partner behind the key, the whole answer. Waldur takes a top-level
    /// `"status"` other than 200 as invalid credentials; the caller checks it.
    pub async fn whoami(&self) -> Result<Value, ArrowError> {
        self.get("whoami", "whoami", &[]).await
    }

    /// A.2: every customer of the partner, page after page.
    pub async fn customers(&self) -> Result<Vec<ArrowCustomer>, ArrowError> {
        let items = self.pages("customers", "customers", MAX_PAGES).await?;
        Ok(items
            .iter()
            .filter(|item| item.is_object())
            .map(ArrowCustomer::from_value)
            .collect())
    }

    /// A.3: one customer (`data.customers[0]`); `None` when Arrow answers 404 or an empty
    /// list.
    pub async fn customer(&self, reference: &str) -> Result<Option<ArrowCustomer>, ArrowError> {
        let (endpoint, path) = endpoint_for("customers/", reference, "");
        let body = match self.get(&endpoint, &path, &[]).await {
            Ok(body) => body,
            Err(ArrowError::Status { status: 404, .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        let customers = &body["data"]["customers"];
        let first = match customers {
            Value::Array(items) => items.first(),
            Value::Object(_) => Some(customers),
            _ => None,
        };
        Ok(first.map(ArrowCustomer::from_value))
    }

    /// A.4: every license of the partner, from pages 1 to 50 at most.
    pub async fn licenses(&self) -> Result<Vec<ArrowLicense>, ArrowError> {
        let items = self
            .pages("licenses", "licenses", MAX_LICENSE_PAGES)
            .await?;
        Ok(items
            .iter()
            .filter(|item| item.is_object())
            .map(ArrowLicense::from_value)
            .collect())
    }

    /// A.5: one license, `data.license` as received (`null` when absent).
    pub async fn license(&self, reference: &str) -> Result<Value, ArrowError> {
        let (endpoint, path) = endpoint_for("licenses/", reference, "");
        let mut body = self.get(&endpoint, &path, &[]).await?;
        Ok(body["data"]["license"].take())
    }

    /// A.6: what a license consumed in one month (`YYYY-MM`): the sums of `Total sell
    /// price` and `Total buy price` over the report's lines; zero with no lines.
    pub async fn monthly_consumption(
        &self,
        license: &str,
        period: &str,
    ) -> Result<Consumption, ArrowError> {
        let (endpoint, path) = endpoint_for("consumption/monthly/license/", license, "");
        let query = [("reportPeriodStart", period), ("reportPeriodEnd", period)];
        let body = self.get(&endpoint, &path, &query).await?;
        Ok(Consumption::from_monthly(&body["data"]))
    }

    /// A.7: the consumption Arrow predicts for a license's current month, the sums of
    /// `data.values[].consumed`; the fallback when A.6 fails.
    pub async fn prediction(&self, license: &str) -> Result<Consumption, ArrowError> {
        let (endpoint, path) = endpoint_for("consumption/license/", license, "/prediction");
        let body = self
            .get(&endpoint, &path, &[("granularity", "monthly")])
            .await?;
        Ok(Consumption::from_prediction(&body["data"]))
    }

    /// A.8: `data.exportTypes` as received, a map or a list (read it with
    /// [`export_type_list`]); an empty list when the answer has none.
    pub async fn export_types(&self) -> Result<Value, ArrowError> {
        let endpoint = "billing/erp/exports/types";
        let mut body = self.get(endpoint, endpoint, &[]).await?;
        Ok(match body["data"]["exportTypes"].take() {
            Value::Null => json!([]),
            types => types,
        })
    }

    /// A.9: one page of a billing export for the periods `from`..=`to` (`YYYY-MM`).
    pub async fn export_page(
        &self,
        export_type: &str,
        from: &str,
        to: &str,
        page: u32,
    ) -> Result<ExportPage, ArrowError> {
        let endpoint = "billing/erp/exports/sync";
        let body = json!({
            "exportTypeReference": export_type,
            "filters": {"reportPeriod": {"from": from, "to": to}},
            "page": page,
        });
        let answer = self
            .call(Method::POST, endpoint, endpoint, &[], Some(&body))
            .await?;
        Ok(ExportPage::from_body(&answer))
    }

    /// A.9: every line of a billing export, page after page until a page is empty or
    /// shorter than its `perPage`.
    pub async fn export_lines(
        &self,
        export_type: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<ExportLine>, ArrowError> {
        let mut lines = Vec::new();
        for page in 1..=MAX_PAGES {
            let answer = self.export_page(export_type, from, to, page).await?;
            if answer.values.is_empty() {
                break;
            }
            lines.extend(answer.lines());
            if answer.values.len() < answer.per_page {
                break;
            }
        }
        Ok(lines)
    }

    /// Every item of a legacy list (`data.<key>[]`): pages 1, 2, … of `per_page=100`,
    /// until an empty page, the last page by `total_page` (else `totalPages`), or
    /// `max_pages`. An answer that gives no page count is taken as the only page.
    async fn pages(
        &self,
        endpoint: &str,
        key: &str,
        max_pages: u32,
    ) -> Result<Vec<Value>, ArrowError> {
        let mut items = Vec::new();
        let per_page = PER_PAGE.to_string();
        for page in 1..=max_pages {
            let number = page.to_string();
            let query = [("page", number.as_str()), ("per_page", per_page.as_str())];
            let mut body = self.get(endpoint, endpoint, &query).await?;
            let batch = match body["data"][key].take() {
                Value::Array(batch) => batch,
                _ => Vec::new(),
            };
            if batch.is_empty() {
                break;
            }
            items.extend(batch);
            match model::total_pages(&body) {
                Some(total) if u64::from(page) < total => {}
                _ => break,
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_keeps_the_base_path_and_adds_the_slash() {
        let client = ArrowClient::new(
            "  https://xsp.arrow.com/index.php/api ",
            "k",
            &ArrowOptions::default(),
        )
        .unwrap();
        assert_eq!(client.base(), "https://xsp.arrow.com/index.php/api/");
    }

    #[test]
    fn api_urls_must_be_http_with_a_host_and_no_user() {
        assert_eq!(
            validate_api_url(" https://xsp.arrow.com/index.php/api/ ").as_deref(),
            Ok("https://xsp.arrow.com/index.php/api/")
        );
        assert!(validate_api_url("http://127.0.0.1:9000").is_ok());
        for bad in [
            "",
            "xsp.arrow.com",
            "ftp://xsp.arrow.com/api/",
            "file:///etc/passwd",
            "https://user:pw@xsp.arrow.com/api/",
            "https://xsp.arrow.com/api/?x=1",
            "https://xsp.arrow.com/api/#top",
        ] {
            assert_eq!(validate_api_url(bad), Err(InvalidUrl), "{bad}");
        }
        assert_eq!(InvalidUrl.to_string(), "Enter a valid URL.");
    }

    #[test]
    fn error_texts_are_waldurs() {
        let status = ArrowError::Status {
            endpoint: "whoami".into(),
            status: 401,
            body: "{}".into(),
        };
        assert_eq!(status.to_string(), "Arrow API whoami returned HTTP 401: {}");
        assert_eq!(status.status(), Some(401));
        let request = ArrowError::Request {
            endpoint: "customers".into(),
            reason: "timed out after 1 second".into(),
        };
        assert_eq!(
            request.to_string(),
            "Arrow API request to customers failed: timed out after 1 second"
        );
        let json = ArrowError::InvalidJson {
            endpoint: "licenses/XSP1".into(),
            status: 200,
            body: "<html>".into(),
        };
        assert_eq!(
            json.to_string(),
            "Arrow API licenses/XSP1 returned invalid JSON (status 200): <html>"
        );
    }

    #[test]
    fn the_debug_form_leaves_the_key_out() {
        let client = ArrowClient::new(
            "https://xsp.arrow.com/index.php/api/",
            "secret-arrow-key-123",
            &ArrowOptions::default(),
        )
        .unwrap();
        let debug = format!("{client:?}");
        assert!(debug.contains("xsp.arrow.com"));
        assert!(!debug.contains("secret-arrow-key-123"));
    }
}
