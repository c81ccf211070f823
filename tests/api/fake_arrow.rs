//! A stand-in for the ArrowSphere API (`arrow.md` part A) under a base with a path prefix,
//! as the real one is (`…/index.php/api/`). It serves the [`fixtures`] from legacy pages
//! capped at a small `per_page`, checks the `apiKey` header, records every request, and
//! can be told to fail, to be slow, to answer HTML, to deny the partner in `whoami`, or
//! to fail one license's consumption. Customers, licenses, consumption and export lines
//! can be changed while it runs.

pub mod fixtures;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use fixtures::{CONSUMPTION_HEADERS, EXPORT_TYPES, Month, period};

/// Where the API lives on the fake's host.
pub const BASE_PATH: &str = "/index.php/api/";

/// Items per page unless [`FakeArrow::per_page`] says otherwise: small, so that customers,
/// licenses and export lines take several pages.
pub const PER_PAGE: usize = 2;

/// A request as the fake received it.
#[derive(Debug, Clone)]
pub struct ArrowRequest {
    pub method: String,
    /// The path after the base, percent-decoded: `licenses/XSP12345`.
    pub endpoint: String,
    pub query: Vec<(String, String)>,
    /// Lowercased names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl ArrowRequest {
    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A header, by any spelling of its name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The body as JSON (`null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

pub struct FakeArrow {
    address: String,
    key: String,
    state: Arc<Mutex<Shared>>,
}

struct Shared {
    key: String,
    failing: bool,
    /// Endpoints (by prefix) that answer 500 while the others work.
    failing_endpoints: Vec<String>,
    slow: Duration,
    non_json: bool,
    whoami_status: i64,
    per_page: usize,
    /// Legacy lists say `totalPages` instead of `total_page`.
    camel_pagination: bool,
    export_types_as_list: bool,
    customers: Vec<Value>,
    licenses: Vec<Value>,
    /// (license, period) → rows in [`CONSUMPTION_HEADERS`] order.
    consumption: HashMap<(String, String), Vec<Vec<Value>>>,
    consumption_failures: HashMap<String, u16>,
    /// license → `values` of its prediction.
    predictions: HashMap<String, Vec<Value>>,
    prediction_failures: HashMap<String, u16>,
    /// export type → lines as header → cell.
    export_lines: HashMap<String, Vec<Map<String, Value>>>,
    requests: Vec<ArrowRequest>,
}

impl FakeArrow {
    pub async fn start() -> Self {
        let key = format!("fake-arrow-key-{}", Uuid::new_v4().simple());
        let state = Arc::new(Mutex::new(Shared::from_fixtures(key.clone())));
        let router = Router::new().fallback(handle).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            address,
            key,
            state,
        }
    }

    /// The API base, with its trailing slash: `http://127.0.0.1:PORT/index.php/api/`.
    pub fn url(&self) -> String {
        format!("{}{BASE_PATH}", self.address)
    }

    /// The key the fake accepts.
    pub fn key(&self) -> String {
        self.key.clone()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<ArrowRequest> {
        self.shared().requests.clone()
    }

    /// The requests to one endpoint (`customers`, `licenses/XSP12345`, …).
    pub fn requests_to(&self, endpoint: &str) -> Vec<ArrowRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.endpoint == endpoint)
            .collect()
    }

    pub fn clear_requests(&self) {
        self.shared().requests.clear();
    }

    /// Every call answers 500 with a text body.
    pub fn fail(&self, failing: bool) {
        self.shared().failing = failing;
    }

    /// Calls to endpoints starting with `prefix` answer 500; the others work.
    pub fn fail_endpoint(&self, prefix: &str) {
        self.shared().failing_endpoints.push(prefix.to_string());
    }

    /// Every call waits this long before answering.
    pub fn slow(&self, delay: Duration) {
        self.shared().slow = delay;
    }

    /// Every call answers 200 with an HTML page.
    pub fn non_json(&self, non_json: bool) {
        self.shared().non_json = non_json;
    }

    /// The top-level `"status"` of `whoami` (200 unless told).
    pub fn whoami_status(&self, status: i64) {
        self.shared().whoami_status = status;
    }

    /// The largest page customers, licenses and export lines are served in.
    pub fn per_page(&self, per_page: usize) {
        self.shared().per_page = per_page.max(1);
    }

    /// Legacy lists give their page count as `totalPages` instead of `total_page`.
    pub fn camel_pagination(&self, camel: bool) {
        self.shared().camel_pagination = camel;
    }

    /// Export types as a list `[{reference,name}]` instead of the map.
    pub fn export_types_as_list(&self, list: bool) {
        self.shared().export_types_as_list = list;
    }

    /// Adds a customer, or replaces the one with its `Reference`.
    pub fn put_customer(&self, customer: Value) {
        put(&mut self.shared().customers, "Reference", customer);
    }

    pub fn remove_customer(&self, reference: &str) {
        self.shared()
            .customers
            .retain(|c| c["Reference"] != reference);
    }

    /// Adds a license, or replaces the one with its `license_id`.
    pub fn put_license(&self, license: Value) {
        put(&mut self.shared().licenses, "license_id", license);
    }

    pub fn remove_license(&self, license_id: &str) {
        self.shared()
            .licenses
            .retain(|l| l["license_id"] != license_id);
    }

    /// A license's monthly report for `period` (`YYYY-MM`): one line per (sell, buy). The
    /// license must be listed (a fixture or [`FakeArrow::put_license`]); others get 404.
    pub fn set_consumption(&self, license: &str, period: &str, amounts: &[(Value, Value)]) {
        let rows = amounts
            .iter()
            .map(|(sell, buy)| consumption_row(period, sell.clone(), buy.clone()))
            .collect();
        self.shared()
            .consumption
            .insert((license.to_string(), period.to_string()), rows);
    }

    /// A.6 for this license answers `status` (any period), or serves again with `None`.
    pub fn fail_consumption(&self, license: &str, status: Option<u16>) {
        set_failure(&mut self.shared().consumption_failures, license, status);
    }

    /// A license's prediction: one value per (sell, buy).
    pub fn set_prediction(&self, license: &str, amounts: &[(Value, Value)]) {
        let values = amounts
            .iter()
            .map(|(sell, buy)| prediction_value(sell.clone(), buy.clone()))
            .collect();
        self.shared()
            .predictions
            .insert(license.to_string(), values);
    }

    /// A.7 for this license answers `status`, or serves again with `None`.
    pub fn fail_prediction(&self, license: &str, status: Option<u16>) {
        set_failure(&mut self.shared().prediction_failures, license, status);
    }

    /// Adds a line to an export type: header → cell; headers the type has and the line
    /// lacks are served as "". `Report Period` decides which periods it belongs to.
    pub fn add_export_line(&self, export_type: &str, cells: &[(&str, Value)]) {
        let line = cells
            .iter()
            .map(|(header, cell)| (header.to_string(), cell.clone()))
            .collect();
        self.shared()
            .export_lines
            .entry(export_type.to_string())
            .or_default()
            .push(line);
    }

    /// Takes every line off an export type.
    pub fn clear_export_lines(&self, export_type: &str) {
        self.shared().export_lines.remove(export_type);
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.state.lock().unwrap()
    }
}

impl Shared {
    fn from_fixtures(key: String) -> Self {
        let mut consumption = HashMap::new();
        for report in fixtures::CONSUMPTION {
            let month = period(report.month);
            let rows = report.lines.iter().map(|line| line.row(&month)).collect();
            consumption.insert((report.license.to_string(), month), rows);
        }
        let predictions = fixtures::PREDICTIONS
            .iter()
            .map(|p| {
                let value = prediction_value(p.sell.to_value(), p.buy.to_value());
                (p.license.to_string(), vec![value])
            })
            .collect();
        let mut sequence: HashMap<Month, usize> = HashMap::new();
        let lines: Vec<Map<String, Value>> = fixtures::EXPORT_LINES
            .iter()
            .map(|line| {
                let number = sequence.entry(line.month).or_default();
                *number += 1;
                line.cells(*number)
                    .into_iter()
                    .map(|(header, cell)| (header.to_string(), cell))
                    .collect()
            })
            .collect();
        let export_lines = EXPORT_TYPES
            .iter()
            .map(|t| (t.reference.to_string(), lines.clone()))
            .collect();
        Self {
            key,
            failing: false,
            failing_endpoints: Vec::new(),
            slow: Duration::ZERO,
            non_json: false,
            whoami_status: 200,
            per_page: PER_PAGE,
            camel_pagination: false,
            export_types_as_list: false,
            customers: fixtures::CUSTOMERS.iter().map(|c| c.to_value()).collect(),
            licenses: fixtures::LICENSES.iter().map(|l| l.to_value()).collect(),
            consumption,
            consumption_failures: HashMap::new(),
            predictions,
            prediction_failures: HashMap::new(),
            export_lines,
            requests: Vec::new(),
        }
    }
}

fn put(items: &mut Vec<Value>, key: &str, item: Value) {
    match items.iter_mut().find(|existing| existing[key] == item[key]) {
        Some(existing) => *existing = item,
        None => items.push(item),
    }
}

fn set_failure(failures: &mut HashMap<String, u16>, license: &str, status: Option<u16>) {
    match status {
        Some(status) => failures.insert(license.to_string(), status),
        None => failures.remove(license),
    };
}

fn consumption_row(period: &str, sell: Value, buy: Value) -> Vec<Value> {
    vec![
        json!(period),
        json!(format!("{period}-01")),
        json!(format!("{period}-28")),
        json!("Added line"),
        json!("Other"),
        json!("1/Month"),
        json!(1),
        json!("EUR"),
        buy,
        sell,
    ]
}

fn prediction_value(sell: Value, buy: Value) -> Value {
    json!({
        "consumed": {"sell": sell, "buy": buy.clone(), "list": sell},
        "estimatedMin": {"sell": sell, "buy": buy},
        "estimatedMax": {"sell": sell, "buy": buy}
    })
}

/// An Arrow error answer.
fn error(status: u16, error: &str, messages: String) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"status": status, "error": error, "messages": messages});
    (code, axum::Json(body)).into_response()
}

fn not_found(what: String) -> Response {
    error(404, "Not Found", format!("{what} not found"))
}

fn ok(mut body: Value) -> Response {
    if body.get("status").is_none() {
        body["status"] = json!(200);
    }
    axum::Json(body).into_response()
}

/// Every request: record it, then the switches, the key, and the route.
async fn handle(
    State(state): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(rest) = uri.path().strip_prefix(BASE_PATH) else {
        return not_found(format!("Path {}", uri.path()));
    };
    let segments: Vec<String> = rest
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let request = ArrowRequest {
        method: method.to_string(),
        endpoint: segments.join("/"),
        query,
        headers: headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_ascii_lowercase(), value)
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let delay = {
        let mut shared = state.lock().unwrap();
        shared.requests.push(request.clone());
        shared.slow
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let shared = state.lock().unwrap();
    if shared.failing
        || shared
            .failing_endpoints
            .iter()
            .any(|prefix| request.endpoint.starts_with(prefix.as_str()))
    {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error: the ArrowSphere backend is unavailable",
        )
            .into_response();
    }
    if shared.non_json {
        return (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<!DOCTYPE html><html><body><h1>ArrowSphere</h1><p>Maintenance</p></body></html>",
        )
            .into_response();
    }
    if request.header("apiKey") != Some(shared.key.as_str()) {
        return error(401, "Unauthorized", "Invalid or missing API key".into());
    }
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["whoami"]) => whoami(&shared),
        ("GET", ["customers"]) => legacy_page(&shared, &request, "customers", &shared.customers),
        ("GET", ["customers", reference]) => customer(&shared, reference),
        ("GET", ["licenses"]) => legacy_page(&shared, &request, "licenses", &shared.licenses),
        ("GET", ["licenses", id]) => license(&shared, id),
        ("GET", ["consumption", "monthly", "license", license]) => {
            monthly(&shared, &request, license)
        }
        ("GET", ["consumption", "license", license, "prediction"]) => prediction(&shared, license),
        ("GET", ["billing", "erp", "exports", "types"]) => export_types(&shared),
        ("POST", ["billing", "erp", "exports", "sync"]) => export_sync(&shared, &request),
        _ => not_found(format!("Endpoint {} {}", method, request.endpoint)),
    }
}

fn whoami(shared: &Shared) -> Response {
    axum::Json(json!({
        "status": shared.whoami_status,
        "data": {
            "companyName": fixtures::PARTNER_NAME,
            "reference": fixtures::PARTNER_REFERENCE,
            "emailContact": "billing@partner.example.com",
            "city": "Espoo",
            "countryCode": "FI",
            "addressLine1": "Tekniikantie 1",
            "zip": "02150",
            "ref": "WTPOY"
        }
    }))
    .into_response()
}

/// One page of a legacy list, with the nodejs SDK's pagination object.
fn legacy_page(shared: &Shared, request: &ArrowRequest, key: &str, items: &[Value]) -> Response {
    let number: usize = request
        .param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let asked: usize = request
        .param("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(100);
    let per_page = asked.clamp(1, shared.per_page);
    let total = items.len();
    let total_pages = total.div_ceil(per_page).max(1);
    let chunk: Vec<Value> = items
        .iter()
        .skip((number - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    let link = |page: usize| json!(format!("/{key}?per_page={per_page}&page={page}"));
    let mut pagination = json!({
        "per_page": per_page,
        "current_page": number,
        "total": total,
        "next": if number < total_pages { link(number + 1) } else { Value::Null },
        "previous": if number > 1 { link(number - 1) } else { Value::Null },
    });
    let count_key = if shared.camel_pagination {
        "totalPages"
    } else {
        "total_page"
    };
    pagination[count_key] = json!(total_pages);
    ok(json!({"data": {key: chunk}, "pagination": pagination}))
}

fn customer(shared: &Shared, reference: &str) -> Response {
    match shared
        .customers
        .iter()
        .find(|c| c["Reference"] == reference)
    {
        Some(customer) => ok(json!({"data": {"customers": [customer]}})),
        None => not_found(format!("Customer {reference}")),
    }
}

fn find_license<'s>(shared: &'s Shared, license: &str) -> Option<&'s Value> {
    shared.licenses.iter().find(|l| l["license_id"] == license)
}

fn license(shared: &Shared, license: &str) -> Response {
    match find_license(shared, license) {
        Some(found) => ok(json!({"data": {"license": found}})),
        None => not_found(format!("License {license}")),
    }
}

fn monthly(shared: &Shared, request: &ArrowRequest, license: &str) -> Response {
    if let Some(status) = shared.consumption_failures.get(license) {
        return error(
            *status,
            "Error",
            format!("Consumption of {license} unavailable"),
        );
    }
    if find_license(shared, license).is_none() {
        return not_found(format!("License {license}"));
    }
    let from = request.param("reportPeriodStart").unwrap_or("");
    let to = request.param("reportPeriodEnd").unwrap_or(from);
    let mut periods: Vec<&(String, String)> = shared
        .consumption
        .keys()
        .filter(|(l, p)| l == license && p.as_str() >= from && p.as_str() <= to)
        .collect();
    periods.sort();
    let lines: Vec<&Vec<Value>> = periods
        .into_iter()
        .flat_map(|key| &shared.consumption[key])
        .collect();
    ok(json!({"data": {"headers": CONSUMPTION_HEADERS, "lines": lines}}))
}

fn prediction(shared: &Shared, license: &str) -> Response {
    if let Some(status) = shared.prediction_failures.get(license) {
        return error(
            *status,
            "Error",
            format!("Prediction of {license} unavailable"),
        );
    }
    if find_license(shared, license).is_none() {
        return not_found(format!("License {license}"));
    }
    let current = period(Month::Current);
    let values = shared.predictions.get(license).cloned().unwrap_or_default();
    ok(json!({"data": {
        "currency": "EUR",
        "reportPeriod": current,
        "billingStartDate": format!("{current}-01"),
        "values": values
    }}))
}

fn export_types(shared: &Shared) -> Response {
    let types: Value = if shared.export_types_as_list {
        EXPORT_TYPES
            .iter()
            .map(|t| json!({"reference": t.reference, "name": t.name}))
            .collect::<Vec<_>>()
            .into()
    } else {
        EXPORT_TYPES
            .iter()
            .map(|t| (t.reference.to_string(), json!(t.name)))
            .collect::<Map<_, _>>()
            .into()
    };
    ok(json!({"data": {"exportTypes": types}}))
}

fn export_sync(shared: &Shared, request: &ArrowRequest) -> Response {
    let body = request.json();
    let reference = body["exportTypeReference"].as_str().unwrap_or("");
    let Some(export_type) = EXPORT_TYPES.iter().find(|t| t.reference == reference) else {
        return not_found(format!("Export type {reference}"));
    };
    let from = body["filters"]["reportPeriod"]["from"]
        .as_str()
        .unwrap_or("");
    let to = body["filters"]["reportPeriod"]["to"]
        .as_str()
        .unwrap_or(from);
    let page = body["page"].as_u64().unwrap_or(1).max(1) as usize;
    let rows: Vec<Vec<Value>> = shared
        .export_lines
        .get(reference)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|line| {
            let period = line
                .get("Report Period")
                .and_then(Value::as_str)
                .unwrap_or("");
            period >= from && period <= to
        })
        .map(|line| {
            export_type
                .headers
                .iter()
                .map(|h| line.get(*h).cloned().unwrap_or(json!("")))
                .collect()
        })
        .collect();
    let per_page = shared.per_page;
    let total = rows.len();
    let values: Vec<Vec<Value>> = rows
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    ok(json!({
        "data": {"headers": export_type.headers, "values": values},
        "pagination": {
            "perPage": per_page,
            "currentPage": page,
            "totalPages": total.div_ceil(per_page).max(1),
            "total": total
        }
    }))
}
