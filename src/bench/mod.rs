//! `ledger bench`: seeds a ledger with orders and measures it on this machine — how fast
//! the projector follows and rebuilds the log, order commands per second through HTTP at 1
//! and 16 clients, the latency of a filtered order list page, and, for scale, the rate of
//! raw single-row inserts into the same PostgreSQL.
//!
//! It works on a database of its own (its name must contain `bench`), which it drops and
//! creates again on every run. [`remote_sync`] adds the time a second ledger takes to import
//! offerings from a first one.

pub mod remote_sync;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::app::LedgerOptions;
use crate::config::{DatabaseConfig, ServerConfig};
use crate::domain::order::{Order, OrderCommand, OrderSpec, OrderState, OrderType};
use crate::domain::resource::{Resource, ResourceCommand, ResourceSpec};
use crate::projection::{BuildOptions, PROJECTIONS, Projection};
use crate::server::Application;
use crate::store::db;
use crate::store::metadata::{CommandContext, Source};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Orders written before measuring.
    pub orders: usize,
    /// Requests per concurrency level when measuring commands.
    pub commands: usize,
    /// List pages fetched when measuring list latency.
    pub list_requests: usize,
    /// Offerings a remote sync imports (0: no sync figure).
    pub remote_offerings: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            orders: 100_000,
            commands: 2_000,
            list_requests: 500,
            remote_offerings: 1_000,
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub value: String,
}

/// The ids of the world the benchmark orders in.
struct World {
    base: String,
    token: String,
    project_url: String,
    offering_url: String,
    plan_url: String,
    offering: Uuid,
    project: Uuid,
    customer: Uuid,
    provider: Uuid,
    plan: Uuid,
}

/// Runs the benchmark and returns its figures in display order.
pub async fn run(database: &DatabaseConfig, options: &BenchOptions) -> anyhow::Result<Vec<Figure>> {
    let name = url::Url::parse(&database.database_url)
        .context("parsing the bench database URL")?
        .path()
        .trim_start_matches('/')
        .to_string();
    if !name.contains("bench") {
        bail!("the bench database name must contain \"bench\" (it is dropped on every run)");
    }
    recreate(&database.database_url, &name).await?;
    let server = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("a valid address"),
        ..ServerConfig::default()
    };
    let app = Application::build(database, &server, LedgerOptions::default()).await?;
    let token = app
        .admin_token
        .clone()
        .context("a fresh bench database has no admin token")?;
    let base = format!("http://{}", app.address());
    let ledger = app.ledger();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let world = build_world(&client, &base, &token).await?;
    let mut figures = Vec::new();

    // Seeding runs the same commands, but projects once at the end instead of after each.
    let seeder = crate::app::Ledger::new(
        ledger.pool.clone(),
        crate::permissions::Permissions::default(),
        LedgerOptions {
            inline_projection: false,
            ..LedgerOptions::default()
        },
    );
    let started = Instant::now();
    let awaiting_provider = seed(&seeder, &world, options.orders).await?;
    let seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    ledger.projector.catch_up().await?;
    let projected = started.elapsed().as_secs_f64();
    let every: Vec<&'static Projection> = PROJECTIONS.iter().collect();
    let started = Instant::now();
    let rebuilt = ledger
        .projector
        .rebuild_with(&every, &BuildOptions::default(), &|_| {})
        .await
        .context("rebuilding the read models")?;
    let rebuilding = started.elapsed().as_secs_f64();
    // What autovacuum does in steady state: fresh statistics and an all-visible map, so
    // counts can come from the indexes alone.
    for table in ["projection.orders", "projection.resources"] {
        sqlx::query(&format!("VACUUM ANALYZE {table}"))
            .execute(&ledger.pool)
            .await
            .with_context(|| format!("vacuuming {table}"))?;
    }
    figures.push(Figure {
        name: format!(
            "seed {} orders in-process (16 tasks, order and resource commands)",
            options.orders
        ),
        value: format!("{:.0} orders/s", options.orders as f64 / seconds),
    });
    figures.push(Figure {
        name: format!("project the seeded log ({} events)", 2 * options.orders),
        value: format!("{:.0} events/s", 2.0 * options.orders as f64 / projected),
    });
    figures.push(Figure {
        name: format!(
            "rebuild every read model from the log beside the live ones ({rebuilt} events)"
        ),
        value: format!("{:.0} events/s", rebuilt as f64 / rebuilding),
    });

    for clients in [1usize, 16] {
        let rate = placements(&client, &world, clients, options.commands).await?;
        figures.push(Figure {
            name: format!("order placements via HTTP, {clients} client(s)"),
            value: format!("{rate:.0} commands/s"),
        });
    }
    let mut pending = awaiting_provider.as_slice();
    for clients in [1usize, 16] {
        let take = options.commands.min(pending.len());
        let (batch, rest) = pending.split_at(take);
        pending = rest;
        let rate = approvals(&client, &world, clients, batch).await?;
        figures.push(Figure {
            name: format!("approve_by_provider via HTTP, {clients} client(s)"),
            value: format!("{rate:.0} commands/s"),
        });
    }
    let (p50, p99) = list_latency(&client, &world, options.list_requests).await?;
    figures.push(Figure {
        name: "filtered order list page (p50 / p99)".into(),
        value: format!("{:.1} ms / {:.1} ms", p50, p99),
    });
    for clients in [1usize, 16] {
        let rate = raw_inserts(&ledger.pool, clients, options.commands).await?;
        figures.push(Figure {
            name: format!("raw single-row INSERTs, {clients} client(s)"),
            value: format!("{rate:.0} rows/s"),
        });
    }
    if options.remote_offerings > 0 {
        figures.extend(remote_sync::measure(database, options.remote_offerings).await?);
    }
    figures.push(Figure {
        name: "peak resident memory of this process".into(),
        value: peak_memory(),
    });
    Ok(figures)
}

async fn recreate(url: &str, name: &str) -> anyhow::Result<()> {
    let mut admin = url::Url::parse(url)?;
    admin.set_path("/postgres");
    let pool = PgPool::connect(admin.as_str())
        .await
        .context("connecting to the postgres database")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&pool)
        .await?;
    pool.close().await;
    db::create_database_if_missing(url).await
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut request = client
        .request(method, url)
        .header("Authorization", format!("Token {token}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{url} answered {status}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn uuid_of(value: &Value) -> anyhow::Result<Uuid> {
    let text = value["uuid"].as_str().context("an object without uuid")?;
    Ok(Uuid::parse_str(text)?)
}

async fn build_world(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<World> {
    use reqwest::Method;
    let post = |path: &str, body: Value| {
        let url = format!("{base}{path}");
        async move { call(client, Method::POST, &url, token, Some(body)).await }
    };
    let consumer = post("/api/customers/", json!({"name": "Bench Consumer"})).await?;
    let project = post(
        "/api/projects/",
        json!({"name": "Bench Project", "customer": consumer["url"]}),
    )
    .await?;
    let provider = post("/api/customers/", json!({"name": "Bench Provider"})).await?;
    post(
        "/api/marketplace-service-providers/",
        json!({"customer": provider["url"]}),
    )
    .await?;
    let category = post("/api/marketplace-categories/", json!({"title": "Bench"})).await?;
    let offering = post(
        "/api/marketplace-provider-offerings/",
        json!({
            "name": "Bench Cluster", "type": "Marketplace.Slurm",
            "customer": provider["url"], "category": category["url"],
            "components": [{"type": "cpu", "name": "CPU", "billing_type": "usage"}],
            "plans": [{"name": "Default", "unit": "month", "unit_price": "10"}],
        }),
    )
    .await?;
    let offering_uuid = uuid_of(&offering)?;
    post(
        &format!("/api/marketplace-provider-offerings/{offering_uuid}/activate/"),
        json!({}),
    )
    .await?;
    let plan = &offering["plans"][0];
    let plan_uuid = uuid_of(plan)?;
    Ok(World {
        base: base.to_string(),
        token: token.to_string(),
        project_url: project["url"].as_str().unwrap_or_default().to_string(),
        offering_url: format!(
            "{base}/api/marketplace-public-offerings/{}/",
            offering_uuid.simple()
        ),
        plan_url: format!(
            "{base}/api/marketplace-public-offerings/{}/plans/{}/",
            offering_uuid.simple(),
            plan_uuid.simple()
        ),
        offering: offering_uuid,
        project: uuid_of(&project)?,
        customer: uuid_of(&consumer)?,
        provider: uuid_of(&provider)?,
        plan: plan_uuid,
    })
}

/// Writes `count` orders (each with its resource) through the command path, 16 at a time;
/// returns those left awaiting the provider.
async fn seed(
    ledger: &Arc<crate::app::Ledger>,
    world: &World,
    count: usize,
) -> anyhow::Result<Vec<Uuid>> {
    let permits = Arc::new(Semaphore::new(16));
    // Finished tasks are reaped as we go: a task keeps its memory until it is joined.
    let mut tasks = JoinSet::new();
    let mut awaiting_provider = Vec::new();
    for i in 0..count {
        let permit = permits.clone().acquire_owned().await?;
        while let Some(done) = tasks.try_join_next() {
            awaiting_provider.extend(done??);
        }
        let ledger = Arc::clone(ledger);
        let (offering, project, customer, provider, plan) = (
            world.offering,
            world.project,
            world.customer,
            world.provider,
            world.plan,
        );
        tasks.spawn(async move {
            let _permit = permit;
            let ctx = CommandContext::system(Source::Cli);
            let (order, resource) = (Uuid::new_v4(), Uuid::new_v4());
            let name = format!("job-{i}");
            let resource_spec = ResourceSpec {
                uuid: resource,
                offering_uuid: offering,
                project_uuid: project,
                customer_uuid: customer,
                plan_uuid: Some(plan),
                name: name.clone(),
                limits: Default::default(),
                attributes: Default::default(),
                end_date: None,
                end_date_requested_by: None,
                slug: name.clone(),
            };
            let create = ResourceCommand::Create {
                spec: Box::new(resource_spec),
                backend_id: String::new(),
                running: false,
                at: ctx.now,
            };
            ledger
                .execute::<Resource>(&resource.simple().to_string(), create, &ctx)
                .await
                .map_err(|e| anyhow::anyhow!("seeding a resource: {e}"))?;
            let next = if i % 3 == 0 {
                OrderState::PendingConsumer
            } else {
                OrderState::PendingProvider
            };
            let spec = OrderSpec {
                uuid: order,
                order_type: OrderType::Create,
                resource_uuid: resource,
                offering_uuid: offering,
                project_uuid: project,
                customer_uuid: customer,
                provider_customer_uuid: provider,
                plan_uuid: Some(plan),
                old_plan_uuid: None,
                limits: Default::default(),
                old_limits: Default::default(),
                attributes: Default::default(),
                cost: Some(rust_decimal::Decimal::TEN),
                fixed_price: Default::default(),
                activation_price: Default::default(),
                created_by: Uuid::nil(),
                callback_url: None,
                request_comment: String::new(),
                start_date: None,
                slug: name,
            };
            let place = OrderCommand::Place {
                spec: Box::new(spec),
                consumer_reviewer: (next != OrderState::PendingConsumer).then_some(Uuid::nil()),
                next,
                at: ctx.now,
            };
            ledger
                .execute::<Order>(&order.simple().to_string(), place, &ctx)
                .await
                .map_err(|e| anyhow::anyhow!("seeding an order: {e}"))?;
            anyhow::Ok((next == OrderState::PendingProvider).then_some(order))
        });
    }
    while let Some(done) = tasks.join_next().await {
        awaiting_provider.extend(done??);
    }
    Ok(awaiting_provider)
}

/// Order placements per second through HTTP with `clients` concurrent clients.
async fn placements(
    client: &reqwest::Client,
    world: &World,
    clients: usize,
    count: usize,
) -> anyhow::Result<f64> {
    let url = format!("{}/api/marketplace-orders/", world.base);
    let body = json!({
        "project": world.project_url,
        "offering": world.offering_url,
        "plan": world.plan_url,
        "attributes": {"name": "bench"},
    });
    let requests = (0..count).map(|_| (url.clone(), body.clone())).collect();
    posts(client, world, clients, requests).await
}

/// Provider approvals of seeded pending-provider orders per second through HTTP.
async fn approvals(
    client: &reqwest::Client,
    world: &World,
    clients: usize,
    orders: &[Uuid],
) -> anyhow::Result<f64> {
    let requests = orders
        .iter()
        .map(|order| {
            let url = format!(
                "{}/api/marketplace-orders/{}/approve_by_provider/",
                world.base,
                order.simple()
            );
            (url, json!({}))
        })
        .collect();
    posts(client, world, clients, requests).await
}

/// Sends every POST with at most `clients` in flight; requests per second.
async fn posts(
    client: &reqwest::Client,
    world: &World,
    clients: usize,
    requests: Vec<(String, Value)>,
) -> anyhow::Result<f64> {
    let count = requests.len();
    let permits = Arc::new(Semaphore::new(clients));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for (url, body) in requests {
        let permit = permits.clone().acquire_owned().await?;
        let (client, token) = (client.clone(), world.token.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            call(&client, reqwest::Method::POST, &url, &token, Some(body)).await
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// p50 and p99 (ms) of a filtered, paged order list, one request at a time.
async fn list_latency(
    client: &reqwest::Client,
    world: &World,
    count: usize,
) -> anyhow::Result<(f64, f64)> {
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let url = format!(
            "{}/api/marketplace-orders/?offering_uuid={}&state=pending-provider&page_size=10&page={}",
            world.base,
            world.offering.simple(),
            1 + i % 50
        );
        let started = Instant::now();
        call(client, reqwest::Method::GET, &url, &world.token, None).await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples
            .get(index)
            .copied()
            .unwrap_or(Duration::ZERO)
            .as_secs_f64()
            * 1000.0
    };
    Ok((at(0.50), at(0.99)))
}

/// Autocommitted single-row inserts per second with `clients` concurrent connections.
async fn raw_inserts(pool: &PgPool, clients: usize, count: usize) -> anyhow::Result<f64> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_raw_inserts (id bigserial PRIMARY KEY, \
         payload jsonb NOT NULL)",
    )
    .execute(pool)
    .await?;
    let permits = Arc::new(Semaphore::new(clients));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let permit = permits.clone().acquire_owned().await?;
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            sqlx::query("INSERT INTO bench_raw_inserts (payload) VALUES ($1)")
                .bind(json!({"n": i}))
                .execute(&pool)
                .await
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// The process's peak resident set size, from /proc.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
