//! A stand-in for a real Waldur (2024) that remote sync reads: it checks the token, serves
//! organizations, categories and public offerings shaped like Waldur's (plan prices only as
//! number maps, keys the ledger does not know, offerings ordered by name, small pages
//! linked by `Link` headers), and can be told to fail or to say the token has expired.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

/// Items per page: small, so that every list takes several pages.
const PAGE: usize = 2;

pub struct FakeWaldur {
    pub address: String,
    pub token: String,
    pub organization: Uuid,
    state: Arc<Shared>,
}

struct Shared {
    token: String,
    organization: Uuid,
    failing: AtomicBool,
    expired: AtomicBool,
    categories: Mutex<Vec<Value>>,
    offerings: Mutex<Vec<Value>>,
    /// Paths and queries asked, in order.
    asked: Mutex<Vec<String>>,
}

impl FakeWaldur {
    pub async fn start() -> Self {
        let state = Arc::new(Shared {
            token: format!("fake-waldur-token-{}", Uuid::new_v4().simple()),
            organization: Uuid::new_v4(),
            failing: AtomicBool::new(false),
            expired: AtomicBool::new(false),
            categories: Mutex::new(Vec::new()),
            offerings: Mutex::new(Vec::new()),
            asked: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/api/customers/", get(customers))
            .route("/api/customers/{uuid}/", get(customer))
            .route("/api/marketplace-categories/", get(categories))
            .route("/api/marketplace-public-offerings/", get(offerings))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            address,
            token: state.token.clone(),
            organization: state.organization,
            state,
        }
    }

    pub fn fail(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    pub fn expire_token(&self) {
        self.state.expired.store(true, Ordering::SeqCst);
    }

    /// Adds a category; returns its uuid.
    pub fn add_category(&self, title: &str) -> Uuid {
        let uuid = Uuid::new_v4();
        self.state.categories.lock().unwrap().push(json!({
            "url": format!("{}/api/marketplace-categories/{}/", self.address, uuid.simple()),
            "uuid": uuid.simple().to_string(),
            "title": title,
            "description": "",
            "icon": null,
            "offering_count": 1,
            "sections": [],
        }));
        uuid
    }

    /// Adds a shared Marketplace.Basic offering in `category`, as Waldur 2024 renders it
    /// publicly; returns its uuid.
    pub fn add_offering(&self, category: Uuid, name: &str, cpu_price: f64) -> Uuid {
        let uuid = Uuid::new_v4();
        self.state.offerings.lock().unwrap().push(json!({
            "url": format!("{}/api/marketplace-public-offerings/{}/", self.address, uuid.simple()),
            "uuid": uuid.simple().to_string(),
            "created": "2024-10-01T10:00:00Z",
            "name": name,
            "slug": "x",
            "description": format!("{name}, remotely"),
            "full_description": "",
            "terms_of_service": "",
            "terms_of_service_link": "",
            "privacy_policy_link": "",
            "getting_started": "",
            "country": "EE",
            "category_uuid": category.simple().to_string(),
            "customer_uuid": self.organization.simple().to_string(),
            "type": "Marketplace.Basic",
            "state": "Active",
            "shared": true,
            "billable": true,
            "rating": null,
            "vendor_details": "",
            "options": {"options": {}, "order": []},
            "components": [{
                "uuid": Uuid::new_v4().simple().to_string(),
                "billing_type": "usage",
                "type": "cpu",
                "name": "CPU",
                "description": "",
                "measured_unit": "hours",
                "limit_period": null,
                "limit_amount": null,
                "article_code": "",
                "max_value": null,
                "min_value": null,
                "max_available_limit": null,
                "is_boolean": false,
                "default_limit": null,
                "factor": null,
                "is_builtin": false
            }],
            "plans": [{
                "url": format!("{}/api/marketplace-public-plans/{}/", self.address, Uuid::new_v4().simple()),
                "uuid": Uuid::new_v4().simple().to_string(),
                "name": "Default",
                "description": "",
                "article_code": "",
                "max_amount": null,
                "archived": false,
                "is_active": true,
                "unit_price": "0.0000000000",
                "unit": "month",
                "init_price": 0,
                "switch_price": 0,
                "prices": {"cpu": cpu_price},
                "future_prices": {"cpu": null},
                "quotas": {"cpu": 0},
                "resources_count": 0,
                "plan_type": "usage",
                "minimal_price": cpu_price
            }],
            "screenshots": [],
            "citation_count": -1,
            "google_calendar_is_public": null,
        }));
        uuid
    }

    /// Changes a field of an offering.
    pub fn set(&self, offering: Uuid, field: &str, value: Value) {
        let mut offerings = self.state.offerings.lock().unwrap();
        let item = offerings
            .iter_mut()
            .find(|o| o["uuid"] == offering.simple().to_string())
            .expect("a known offering");
        item[field] = value;
    }

    /// Takes an offering off the public list (archived or unshared there), or puts it back.
    pub fn hide(&self, offering: Uuid, hidden: bool) {
        self.set(offering, "_hidden", json!(hidden));
    }

    /// What was asked so far.
    pub fn asked(&self) -> Vec<String> {
        self.state.asked.lock().unwrap().clone()
    }
}

/// The gate every request passes: the log, the failure switch and the token.
fn gate(state: &Shared, headers: &HeaderMap, what: String) -> Result<(), Box<Response>> {
    state.asked.lock().unwrap().push(what);
    if state.failing.load(Ordering::SeqCst) {
        return Err(Box::new(
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response(),
        ));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if presented != format!("Token {}", state.token) {
        return Err(Box::new(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"detail": "Invalid token."})),
            )
                .into_response(),
        ));
    }
    if state.expired.load(Ordering::SeqCst) {
        return Err(Box::new(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"detail": "Token has expired."})),
            )
                .into_response(),
        ));
    }
    Ok(())
}

fn query_pairs(raw: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// One page of `items` with Waldur's headers.
fn page(address: &str, path: &str, raw: &Option<String>, items: Vec<Value>) -> Response {
    let pairs = query_pairs(raw);
    let number: usize = pairs
        .iter()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1);
    let total = items.len();
    let start = (number - 1) * PAGE;
    let chunk: Vec<Value> = items.into_iter().skip(start).take(PAGE).collect();
    let mut headers = HeaderMap::new();
    headers.insert("X-Result-Count", total.into());
    if start + PAGE < total {
        let mut next: Vec<(String, String)> =
            pairs.into_iter().filter(|(k, _)| k != "page").collect();
        next.push(("page".into(), (number + 1).to_string()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(next)
            .finish();
        let link = format!("<{address}{path}?{query}>; rel=\"next\"");
        headers.insert(header::LINK, link.parse().unwrap());
    }
    (headers, Json(Value::Array(chunk))).into_response()
}

async fn customers(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(refusal) = gate(
        &state,
        &headers,
        format!("customers/?{}", raw.clone().unwrap_or_default()),
    ) {
        return *refusal;
    }
    Json(json!([{
        "uuid": state.organization.simple().to_string(),
        "name": "Fake Remote Org",
        "abbreviation": "FRO",
        "phone_number": "",
        "email": "org@example.org",
    }]))
    .into_response()
}

async fn customer(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    if let Err(refusal) = gate(&state, &headers, format!("customers/{uuid}/")) {
        return *refusal;
    }
    if Uuid::parse_str(&uuid).ok() != Some(state.organization) {
        return (StatusCode::NOT_FOUND, Json(json!({"detail": "Not found."}))).into_response();
    }
    Json(json!({"uuid": state.organization.simple().to_string(), "name": "Fake Remote Org"}))
        .into_response()
}

async fn categories(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(refusal) = gate(
        &state,
        &headers,
        format!(
            "marketplace-categories/?{}",
            raw.clone().unwrap_or_default()
        ),
    ) {
        return *refusal;
    }
    let items = state.categories.lock().unwrap().clone();
    page(
        &address_of(&headers),
        "/api/marketplace-categories/",
        &raw,
        items,
    )
}

async fn offerings(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(refusal) = gate(
        &state,
        &headers,
        format!(
            "marketplace-public-offerings/?{}",
            raw.clone().unwrap_or_default()
        ),
    ) {
        return *refusal;
    }
    let pairs = query_pairs(&raw);
    let category = pairs
        .iter()
        .find(|(k, _)| k == "category_uuid")
        .and_then(|(_, v)| Uuid::parse_str(v).ok());
    let mut items: Vec<Value> = state
        .offerings
        .lock()
        .unwrap()
        .iter()
        .filter(|o| {
            o["_hidden"] != json!(true)
                && category.is_none_or(|c| o["category_uuid"] == c.simple().to_string())
        })
        .cloned()
        .map(|mut o| {
            if let Some(map) = o.as_object_mut() {
                map.remove("_hidden");
            }
            o
        })
        .collect();
    // Waldur orders public offerings by name only.
    items.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    page(
        &address_of(&headers),
        "/api/marketplace-public-offerings/",
        &raw,
        items,
    )
}

fn address_of(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}
