//! A generated sweep of hostile input over every route: NUL and control characters, huge
//! and tiny numbers, deep nesting, long strings, wrong types and bytes that are not UTF-8,
//! in query strings, paths and bodies. No answer may be a 5xx; afterwards every event in
//! the log reads back (a rebuild replays all of them into the same read models), and the
//! server still answers.

use std::collections::BTreeSet;

use futures::StreamExt;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Reply, TestApp};
use crate::ledger::dump_read_models;
use crate::world::{self, Names};

/// Every route the API serves, with the objects its path names written as placeholders.
const ROUTES: &[(&str, &str)] = &[
    ("GET POST", "/api/users/"),
    ("GET", "/api/users/me/"),
    ("GET PUT PATCH", "/api/users/{user}/"),
    ("GET POST", "/api/customers/"),
    ("GET PUT PATCH DELETE", "/api/customers/{customer}/"),
    ("POST", "/api/customers/{customer}/add_user/"),
    ("POST", "/api/customers/{customer}/update_user/"),
    ("POST", "/api/customers/{customer}/delete_user/"),
    ("GET", "/api/customers/{customer}/list_users/"),
    ("GET POST", "/api/projects/"),
    ("GET PUT PATCH DELETE", "/api/projects/{project}/"),
    ("POST", "/api/projects/{project}/add_user/"),
    ("POST", "/api/projects/{project}/update_user/"),
    ("POST", "/api/projects/{project}/delete_user/"),
    ("GET", "/api/projects/{project}/list_users/"),
    ("GET POST", "/api/marketplace-categories/"),
    (
        "GET PUT PATCH DELETE",
        "/api/marketplace-categories/{category}/",
    ),
    ("GET POST", "/api/marketplace-service-providers/"),
    (
        "GET PUT PATCH",
        "/api/marketplace-service-providers/{provider}/",
    ),
    ("GET POST", "/api/marketplace-provider-offerings/"),
    (
        "GET DELETE",
        "/api/marketplace-provider-offerings/{offering}/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/update_overview/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/update_description/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/update_options/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/update_resource_options/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/update_integration/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/update_attributes/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/update_location/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/add_endpoint/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/delete_endpoint/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/create_offering_component/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/update_offering_component/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/remove_offering_component/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/add_partition/",
    ),
    (
        "POST PATCH",
        "/api/marketplace-provider-offerings/{offering}/update_partition/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/remove_partition/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/import_offering/",
    ),
    (
        "GET POST",
        "/api/marketplace-provider-offerings/{offering}/export_offering/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/move_offering/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/check_unique_backend_id/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/switch_billing_mode/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/pause/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/unpause/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/make_unavailable/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/make_available/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/draft/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/activate/",
    ),
    (
        "POST",
        "/api/marketplace-provider-offerings/{offering}/archive/",
    ),
    ("GET POST", "/api/marketplace-plans/"),
    ("GET PUT PATCH DELETE", "/api/marketplace-plans/{plan}/"),
    ("POST", "/api/marketplace-plans/{plan}/update_prices/"),
    ("POST", "/api/marketplace-plans/{plan}/update_quotas/"),
    ("POST", "/api/marketplace-plans/{plan}/archive/"),
    ("GET", "/api/marketplace-public-offerings/"),
    ("GET", "/api/marketplace-public-offerings/{offering}/"),
    ("GET", "/api/marketplace-public-offerings/{offering}/plans/"),
    (
        "GET",
        "/api/marketplace-public-offerings/{offering}/plans/{plan}/",
    ),
    ("GET POST", "/api/marketplace-orders/"),
    ("GET PUT PATCH", "/api/marketplace-orders/{order}/"),
    ("GET", "/api/marketplace-orders/{order}/offering/"),
    ("POST", "/api/marketplace-orders/{order}/set_backend_id/"),
    ("POST", "/api/marketplace-orders/{order}/update_attachment/"),
    ("GET", "/api/marketplace-orders/{order}/attachment/"),
    ("POST", "/api/marketplace-orders/{order}/delete_attachment/"),
    (
        "POST",
        "/api/marketplace-orders/{order}/approve_by_consumer/",
    ),
    (
        "POST",
        "/api/marketplace-orders/{order}/reject_by_consumer/",
    ),
    (
        "POST",
        "/api/marketplace-orders/{order}/approve_by_provider/",
    ),
    (
        "POST",
        "/api/marketplace-orders/{order}/reject_by_provider/",
    ),
    (
        "POST",
        "/api/marketplace-orders/{order}/set_state_executing/",
    ),
    ("POST", "/api/marketplace-orders/{order}/set_state_erred/"),
    ("POST", "/api/marketplace-orders/{order}/retry/"),
    ("POST", "/api/marketplace-orders/{order}/set_state_done/"),
    ("POST", "/api/marketplace-orders/{order}/cancel/"),
    ("POST", "/api/marketplace-orders/{order}/unlink/"),
    ("DELETE", "/api/marketplace-orders/{order}/"),
    ("GET", "/api/marketplace-resources/"),
    ("GET", "/api/marketplace-resources/{resource}/"),
    (
        "POST",
        "/api/marketplace-resources/{resource}/update_limits/",
    ),
    ("POST", "/api/marketplace-resources/{resource}/switch_plan/"),
    ("POST", "/api/marketplace-resources/{resource}/terminate/"),
    ("GET", "/api/marketplace-provider-resources/"),
    ("GET", "/api/marketplace-provider-resources/{resource}/"),
    (
        "POST",
        "/api/marketplace-provider-resources/{resource}/set_backend_id/",
    ),
    (
        "POST",
        "/api/marketplace-provider-resources/{resource}/terminate/",
    ),
    ("GET POST", "/api/marketplace-remote-synchronisations/"),
    (
        "GET PUT PATCH DELETE",
        "/api/marketplace-remote-synchronisations/{sync}/",
    ),
    (
        "POST",
        "/api/marketplace-remote-synchronisations/{sync}/run_synchronisation/",
    ),
    (
        "GET",
        "/api/marketplace-remote-synchronisations/{sync}/last_run/",
    ),
    (
        "GET",
        "/api/marketplace-remote-synchronisations/{sync}/runs/",
    ),
    ("POST", "/api/remote-waldur-api/remote_customers/"),
    ("POST", "/api/remote-waldur-api/remote_categories/"),
    ("GET POST", "/api/admin/arrow/settings/"),
    (
        "GET PUT PATCH",
        "/api/admin/arrow/settings/{arrow_settings}/",
    ),
    ("POST", "/api/admin/arrow/settings/validate_credentials/"),
    ("POST", "/api/admin/arrow/settings/discover_customers/"),
    ("POST", "/api/admin/arrow/settings/preview_settings/"),
    ("POST", "/api/admin/arrow/settings/save_settings/"),
    ("GET POST", "/api/admin/arrow/customer-mappings/"),
    (
        "GET PUT PATCH",
        "/api/admin/arrow/customer-mappings/{arrow_mapping}/",
    ),
    (
        "GET",
        "/api/admin/arrow/customer-mappings/available_customers/",
    ),
    (
        "POST",
        "/api/admin/arrow/customer-mappings/sync_from_arrow/",
    ),
    (
        "GET",
        "/api/admin/arrow/customer-mappings/{arrow_mapping}/discover_licenses/",
    ),
    (
        "GET",
        "/api/admin/arrow/customer-mappings/{arrow_mapping}/fetch_arrow_data/",
    ),
    (
        "GET",
        "/api/admin/arrow/customer-mappings/{arrow_mapping}/billing_summary/",
    ),
    (
        "POST",
        "/api/admin/arrow/customer-mappings/{arrow_mapping}/import_license/",
    ),
    (
        "POST",
        "/api/admin/arrow/customer-mappings/{arrow_mapping}/link_resource/",
    ),
    ("GET", "/api/admin/arrow/consumption-records/"),
    ("GET", "/api/admin/arrow/consumption-records/{sync}/"),
    ("GET", "/api/admin/arrow/billing-syncs/"),
    ("GET", "/api/admin/arrow/billing-syncs/{sync}/"),
    (
        "POST",
        "/api/admin/arrow/billing-syncs/sync_resource_historical_consumption/",
    ),
    (
        "DELETE",
        "/api/admin/arrow/customer-mappings/{arrow_mapping}/",
    ),
    ("DELETE", "/api/admin/arrow/settings/{arrow_settings}/"),
    ("GET", "/api/marketplace-orders/{order}/history/"),
    ("GET", "/api/marketplace-orders/{order}/history/at/"),
    ("GET", "/api/marketplace-orders/{order}/events/"),
    (
        "GET",
        "/api/marketplace-provider-offerings/{offering}/history/",
    ),
    (
        "GET",
        "/api/marketplace-provider-offerings/{offering}/events/",
    ),
    ("GET", "/api/marketplace-plans/{plan}/history/at/"),
    ("GET", "/api/marketplace-resources/{resource}/history/"),
    (
        "GET",
        "/api/marketplace-provider-resources/{resource}/events/",
    ),
    ("GET", "/api/customers/{customer}/history/at/"),
    ("GET", "/api/users/{user}/history/"),
    ("GET", "/api/ledger/events/"),
    ("GET", "/api/ledger/digest/"),
];

/// Field names the sweep fills with hostile values: every body field the API reads often
/// enough to matter, so that each route meets at least its own.
const FIELDS: &[&str] = &[
    "name",
    "title",
    "description",
    "username",
    "email",
    "full_name",
    "abbreviation",
    "customer",
    "project",
    "category",
    "offering",
    "plan",
    "type",
    "state",
    "role",
    "user",
    "attributes",
    "limits",
    "prices",
    "quotas",
    "unit_price",
    "article_code",
    "options",
    "secret_options",
    "plugin_options",
    "resource_options",
    "latitude",
    "longitude",
    "backend_id",
    "start_date",
    "end_date",
    "expiration_time",
    "components",
    "plans",
    "url",
    "billing_type",
    "limit_amount",
    "amount",
    "offering_data",
    "request_comment",
    "slug",
    "is_staff",
    "page",
    "unit",
    "partition_name",
    "max_amount",
    "cpu",
    "k",
    "api_url",
    "api_key",
    "arrow_reference",
    "settings",
    "waldur_customer",
    "license_reference",
    "resource_uuid",
    "offering_uuid",
    "project_uuid",
    "period_from",
    "customer_mappings",
];

/// Hostile JSON values, as text so that numbers reach the server exactly as written.
fn hostile_values() -> Vec<String> {
    vec![
        r#""\u0000""#.into(),
        r#""a\u0000b""#.into(),
        r#""\u0001\u001f\u007f\t\r\n""#.into(),
        r#""\ud800""#.into(),
        "1.7976931348623157e308".into(),
        "-1.7976931348623157e308".into(),
        "5e-324".into(),
        "1e400".into(),
        "79228162514264337593543950335".into(),
        "100000000000000000000000000000000000000".into(),
        "-1".into(),
        "0.00000000001".into(),
        "18446744073709551616".into(),
        "true".into(),
        "null".into(),
        "[]".into(),
        r#"{"cpu": 1e308, "x": "\u0000"}"#.into(),
        format!("{}1{}", "[".repeat(31), "]".repeat(31)),
        format!("{}1{}", "[".repeat(200), "]".repeat(200)),
        format!("\"{}\"", "x".repeat(100_000)),
    ]
}

/// Hostile query strings for reads.
const QUERIES: &[&str] = &[
    "name=a%00",
    "query=%00%01",
    "o=%FF",
    "page=-1&page_size=1e308",
    "page=99999999999999999999",
    "created=9999-99-99&modified=%00",
    "uuid=zzz&customer_uuid=%00&offering_uuid=1e308",
    "state=%E2%80%AE&field=%00",
    "as_of=%00&timestamp=1e999&after=-1&limit=99999999999999999999",
    "created_before=2026-13-45&created_after=%FF",
    "x-auth-token=%00",
];

/// Requests in flight at once during the sweep.
const CONCURRENCY: usize = 8;

const NAMES: Names = Names {
    consumer: "Fuzz Org",
    project: "Fuzz Project",
    provider: "Fuzz Provider",
    category: "Fuzz Category",
};

struct World {
    app: TestApp,
    ids: Vec<(&'static str, String)>,
}

async fn world() -> World {
    let base = world::World::new(NAMES).await;
    let user = base.app.create_user("fuzzer").await;
    let offering = base
        .active_offering("Marketplace.Basic", world::cpu_priced_10())
        .await;
    let public = base.public_url(&offering);
    let plan_url = base.first_plan_url(&offering);
    let world::World {
        app,
        consumer: customer,
        project,
        provider,
        category,
    } = base;
    let plan = offering.body["plans"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let order = app
        .post(
            "/api/marketplace-orders/",
            &app.admin_token,
            json!({"project": project.url(), "offering": public,
                   "plan": plan_url, "limits": {"cpu": 2},
                   "attributes": {"name": "vm"}}),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    // Arrow settings whose Arrow refuses every connection, and a mapping under them.
    let arrow_settings = app
        .post(
            "/api/admin/arrow/settings/",
            &app.admin_token,
            json!({"api_url": "http://127.0.0.1:9/", "api_key": "fuzz-key"}),
        )
        .await;
    assert_eq!(
        arrow_settings.status,
        StatusCode::CREATED,
        "{}",
        arrow_settings.text
    );
    let arrow_mapping = app
        .post(
            "/api/admin/arrow/customer-mappings/",
            &app.admin_token,
            json!({"settings": arrow_settings.uuid(), "arrow_reference": "XSP1",
                   "waldur_customer": customer.uuid()}),
        )
        .await;
    assert_eq!(
        arrow_mapping.status,
        StatusCode::CREATED,
        "{}",
        arrow_mapping.text
    );
    let resource = order.body["marketplace_resource_uuid"]
        .as_str()
        .expect("the order names its resource")
        .to_string();
    let ids = vec![
        ("user", user.uuid.clone()),
        ("customer", customer.uuid()),
        ("project", project.uuid()),
        ("category", category.uuid()),
        ("provider", provider.uuid()),
        ("offering", offering.uuid()),
        ("plan", plan),
        ("order", order.uuid()),
        ("resource", resource),
        // no sync exists: its routes answer 404 or 400, never a 5xx
        ("sync", uuid::Uuid::new_v4().simple().to_string()),
        ("arrow_settings", arrow_settings.uuid()),
        ("arrow_mapping", arrow_mapping.uuid()),
    ];
    World { app, ids }
}

impl World {
    fn path(&self, template: &str) -> String {
        self.ids
            .iter()
            .fold(template.to_string(), |path, (name, id)| {
                path.replace(&format!("{{{name}}}"), id)
            })
    }

    async fn send(&self, method: &Method, path: &str, body: Option<Vec<u8>>) -> Reply {
        let mut request = self
            .app
            .client
            .request(method.clone(), format!("{}{}", self.app.address, path))
            .header("Authorization", format!("Token {}", self.app.admin_token));
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("the server answers");
        TestApp::reply(response).await
    }
}

/// The bodies sent to one write route: every field at once with each hostile value, each
/// field alone with a few of them, and bytes that are not UTF-8.
fn bodies() -> Vec<Vec<u8>> {
    let values = hostile_values();
    let mut bodies = Vec::new();
    for value in &values {
        let fields: Vec<String> = FIELDS.iter().map(|f| format!("\"{f}\": {value}")).collect();
        bodies.push(format!("{{{}}}", fields.join(", ")).into_bytes());
    }
    for field in FIELDS {
        for value in [&values[1], &values[16]] {
            bodies.push(format!("{{\"{field}\": {value}}}").into_bytes());
        }
    }
    bodies.push(b"{\"name\": \"\xff\xfe\"}".to_vec());
    bodies.push(b"\xef\xbb\xbf{}".to_vec());
    bodies.push(b"[1e999]".to_vec());
    bodies
}

#[tokio::test]
async fn no_hostile_request_on_any_route_gets_a_5xx_or_leaves_an_unreadable_event() {
    let w = world().await;
    let bodies = bodies();
    let mut failures = Vec::new();

    // Deletions last, so that every other route meets live objects.
    let mut routes: Vec<(Method, String)> = ROUTES
        .iter()
        .flat_map(|(methods, template)| {
            methods
                .split(' ')
                .map(|m| (Method::from_bytes(m.as_bytes()).unwrap(), w.path(template)))
        })
        .collect();
    routes.sort_by_key(|(method, _)| *method == Method::DELETE);
    let requests: Vec<(Method, String, Option<Vec<u8>>)> = routes
        .into_iter()
        .flat_map(|(method, path)| {
            let mut requests: Vec<(Method, String, Option<Vec<u8>>)> = QUERIES
                .iter()
                .map(|q| (method.clone(), format!("{path}?{q}"), None))
                .collect();
            requests.push((method.clone(), path.replace("/api/", "/api/%00/"), None));
            if method != Method::GET && method != Method::DELETE {
                requests.extend(
                    bodies
                        .iter()
                        .map(|b| (method.clone(), path.clone(), Some(b.clone()))),
                );
            }
            requests
        })
        .collect();
    let sent = requests.len();
    let (deletions, others): (Vec<_>, Vec<_>) = requests
        .into_iter()
        .partition(|(method, _, _)| *method == Method::DELETE);
    for batch in [others, deletions] {
        let answers: Vec<Option<String>> = futures::stream::iter(batch)
            .map(|(method, target, body)| {
                let w = &w;
                async move {
                    let reply = w.send(&method, &target, body.clone()).await;
                    reply.status.is_server_error().then(|| {
                        let shown: String = body
                            .map(|b| String::from_utf8_lossy(&b).chars().take(200).collect())
                            .unwrap_or_default();
                        format!("{method} {target} {shown} -> {}", reply.status)
                    })
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        failures.extend(answers.into_iter().flatten());
    }

    assert!(sent > 5_000, "only {sent} requests were sent");
    assert!(
        failures.is_empty(),
        "{} 5xx answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let me = w.app.get("/api/users/me/", &w.app.admin_token).await;
    assert_eq!(me.status, StatusCode::OK);
    let before = dump_read_models(&w.app).await;
    w.app
        .ledger
        .projector
        .rebuild()
        .await
        .expect("every event reads back");
    assert_eq!(dump_read_models(&w.app).await, before);
}

/// Names of actions and collections as the API's source spells them in its routes.
fn route_names_in_source() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/api"
    ))];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let whole = std::fs::read_to_string(&path).unwrap();
            // Unit tests below the code name paths of their own.
            let source = whole.split("#[cfg(test)]").next().unwrap_or_default();
            for (i, _) in source.match_indices("/\"") {
                let head = &source[..i];
                let start = head.rfind(['/', '"']).map_or(0, |s| s + 1);
                let name = &head[start..];
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-')
                {
                    names.insert(name.to_string());
                }
            }
            for (i, _) in source.match_indices("action(\"") {
                let rest = &source[i + 8..];
                names.insert(rest[..rest.find('"').unwrap()].to_string());
            }
        }
    }
    names
}

#[test]
fn the_sweep_covers_every_route_the_api_declares() {
    let covered: BTreeSet<&str> = ROUTES
        .iter()
        .flat_map(|(_, path)| path.split('/'))
        .collect();

    let missing: Vec<String> = route_names_in_source()
        .into_iter()
        .filter(|name| !covered.contains(name.as_str()))
        .collect();

    assert!(
        missing.is_empty(),
        "routes missing from the sweep: {missing:?}"
    );
}

#[test]
fn the_hostile_bodies_include_every_kind_the_sweep_promises() {
    let all: Vec<String> = bodies()
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    let any = |needle: &str| all.iter().any(|b| b.contains(needle));

    assert!(any("\\u0000") && any("\\u001f") && any("1e400") && any("5e-324"));
    assert!(any(&"[".repeat(200)) && any(&"x".repeat(100_000)) && any("true"));
    assert!(
        all.iter().any(|b| b.contains('\u{fffd}')),
        "a body that is not UTF-8"
    );
}
