//! Spawns the ledger on port 0 against its own database and drives it over HTTP.

use std::sync::Arc;

use ledger::app::{Ledger, LedgerOptions};
use ledger::config::{DatabaseConfig, ServerConfig};
use ledger::server::Application;
use ledger::store::metadata::{CommandContext, Source};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

mod template;

/// Where the test databases live (the server, not a database name).
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_SERVER")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// A database that is dropped when the value goes away.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// A database cloned from the migrated template: migrations applied, read models created
    /// and empty, no events (the first start of a server on it still bootstraps its admin).
    pub async fn new() -> Self {
        let template = template::name().await;
        let db = Self::named(format!("ledger_test_{}", Uuid::new_v4().simple()));
        template::clone_into(&template, &db.name).await;
        db
    }

    /// A database that does not exist yet: the server's first start creates and migrates
    /// it, as on a new installation.
    pub fn empty() -> Self {
        Self::named(format!("ledger_test_{}", Uuid::new_v4().simple()))
    }

    fn named(name: String) -> Self {
        let url = format!("{}/{}", server_url(), name);
        Self { name, url }
    }

    pub fn config(&self) -> DatabaseConfig {
        DatabaseConfig {
            database_url: self.url.clone(),
            max_connections: 8,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = format!("{}/postgres", server_url());
        // A fresh runtime on another thread: Drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A running ledger and a client for it.
pub struct TestApp {
    pub address: String,
    pub admin_token: String,
    pub client: reqwest::Client,
    pub ledger: Arc<Ledger>,
    pub db: Arc<TestDatabase>,
}

/// A response: status, headers and the JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn count(&self) -> i64 {
        self.header("x-result-count")
            .expect("X-Result-Count header")
            .parse()
            .expect("a number")
    }

    pub fn items(&self) -> &Vec<Value> {
        self.body.as_array().expect("a JSON array")
    }

    pub fn uuid(&self) -> String {
        self.body["uuid"].as_str().expect("uuid").to_string()
    }

    pub fn url(&self) -> String {
        self.body["url"].as_str().expect("url").to_string()
    }
}

/// A user made for a test.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub uuid: String,
    pub token: String,
}

/// The people of an order's story: the consumer's and the provider's owners, a manager and
/// an admin of the project, and a stranger with no role anywhere.
pub struct Cast {
    pub consumer_owner: TestUser,
    pub provider_owner: TestUser,
    pub manager: TestUser,
    pub admin: TestUser,
    pub stranger: TestUser,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions::default(),
        100,
    )
    .await
}

/// Starts a ledger on an existing test database (a restart keeps the database), with the
/// given inline projection option and periodic catch-up interval (0: none).
pub async fn spawn_app_with(
    db: Arc<TestDatabase>,
    options: LedgerOptions,
    catch_up_interval_ms: u64,
) -> TestApp {
    start(db, options, catch_up_interval_ms, None).await
}

/// The key test ledgers encrypt their secrets with.
pub const TEST_SECRET_KEY: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// Server settings for tests: port 0, the given catch-up interval, a fixed secret key, and
/// remote Waldurs allowed on the loopback (the other ledger of a test runs there).
pub fn test_server(catch_up_interval_ms: u64) -> ServerConfig {
    let mut server = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        catch_up_interval_ms,
        ..ServerConfig::default()
    };
    server.secrets.secret_key = Some(TEST_SECRET_KEY.to_string());
    server.remote.allow_private = true;
    server.remote.timeout_seconds = 5;
    server
}

async fn start(
    db: Arc<TestDatabase>,
    options: LedgerOptions,
    catch_up_interval_ms: u64,
    known_admin_token: Option<String>,
) -> TestApp {
    start_with(
        db,
        options,
        test_server(catch_up_interval_ms),
        known_admin_token,
    )
    .await
}

async fn start_with(
    db: Arc<TestDatabase>,
    options: LedgerOptions,
    server: ServerConfig,
    known_admin_token: Option<String>,
) -> TestApp {
    let app = Application::build(&db.config(), &server, options)
        .await
        .expect("the application starts");
    let address = format!("http://{}", app.address());
    let ledger = app.ledger();
    let admin_token = match app.admin_token.clone().or(known_admin_token) {
        Some(token) => token,
        None => {
            let ctx = CommandContext::system(Source::Cli);
            ledger::app::directory::token_for(&ledger, &ctx, "admin", true)
                .await
                .expect("a token for admin")
                .1
        }
    };
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        admin_token,
        client: reqwest::Client::new(),
        ledger,
        db,
    }
}

impl TestApp {
    /// Starts another ledger process on the same database, keeping the admin token.
    pub async fn restart(&self, options: LedgerOptions, catch_up_interval_ms: u64) -> TestApp {
        start(
            self.db.clone(),
            options,
            catch_up_interval_ms,
            Some(self.admin_token.clone()),
        )
        .await
    }

    /// Any request; `token` None sends no credentials, `body` None sends no body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.address, path)
        };
        let mut request = self.client.request(method, url);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Token {token}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the request is answered");
        Self::reply(response).await
    }

    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// A request with a raw body and content type.
    pub async fn post_raw(&self, path: &str, token: &str, content_type: &str, body: &str) -> Reply {
        let response = self
            .client
            .post(format!("{}{}", self.address, path))
            .header("Authorization", format!("Token {token}"))
            .header("Content-Type", content_type)
            .body(body.to_string())
            .send()
            .await
            .expect("the request is answered");
        Self::reply(response).await
    }

    /// Creates a (non-staff) user through the CLI path and returns its token.
    pub async fn create_user(&self, username: &str) -> TestUser {
        let ctx = CommandContext::system(Source::Cli);
        let (uuid, token) = ledger::app::directory::token_for(&self.ledger, &ctx, username, false)
            .await
            .expect("user created");
        TestUser {
            uuid: uuid.simple().to_string(),
            token,
        }
    }

    /// Creates a support user (global read access, no write bypass).
    pub async fn create_support_user(&self, username: &str) -> TestUser {
        let user = self.create_user(username).await;
        let reply = self
            .patch(
                &format!("/api/users/{}/", user.uuid),
                &self.admin_token,
                json!({"is_support": true}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        user
    }

    /// Staff creates a customer.
    pub async fn create_customer(&self, name: &str) -> Reply {
        let reply = self
            .post(
                "/api/customers/",
                &self.admin_token,
                json!({ "name": name }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply
    }

    /// Staff creates a project in the customer (given by its url).
    pub async fn create_project(&self, customer_url: &str, name: &str) -> Reply {
        let reply = self
            .post(
                "/api/projects/",
                &self.admin_token,
                json!({ "name": name, "customer": customer_url }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply
    }

    /// Staff grants `role` on a customer or project (`collection` is `customers`/`projects`).
    pub async fn grant(&self, collection: &str, scope_uuid: &str, user: &TestUser, role: &str) {
        let reply = self
            .post(
                &format!("/api/{collection}/{scope_uuid}/add_user/"),
                &self.admin_token,
                json!({ "user": user.uuid, "role": role }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }

    /// Creates the [`Cast`] around a consumer organization, its project and a provider.
    pub async fn cast(&self, consumer: &Reply, project: &Reply, provider: &Reply) -> Cast {
        let consumer_owner = self.create_user("consumer-owner").await;
        self.grant(
            "customers",
            &consumer.uuid(),
            &consumer_owner,
            "CUSTOMER.OWNER",
        )
        .await;
        let provider_owner = self.create_user("provider-owner").await;
        self.grant(
            "customers",
            &provider.uuid(),
            &provider_owner,
            "CUSTOMER.OWNER",
        )
        .await;
        let manager = self.create_user("manager").await;
        self.grant("projects", &project.uuid(), &manager, "PROJECT.MANAGER")
            .await;
        let admin = self.create_user("admin-user").await;
        self.grant("projects", &project.uuid(), &admin, "PROJECT.ADMIN")
            .await;
        let stranger = self.create_user("stranger").await;
        Cast {
            consumer_owner,
            provider_owner,
            manager,
            admin,
            stranger,
        }
    }

    /// Staff creates a category.
    pub async fn create_category(&self, title: &str) -> Reply {
        let reply = self
            .post(
                "/api/marketplace-categories/",
                &self.admin_token,
                json!({ "title": title }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply
    }

    /// Staff creates a customer and registers it as a service provider.
    pub async fn create_provider(&self, name: &str) -> Reply {
        let customer = self.create_customer(name).await;
        let reply = self
            .post(
                "/api/marketplace-service-providers/",
                &self.admin_token,
                json!({ "customer": customer.url() }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        customer
    }

    /// Staff creates an offering of `offering_type` for the provider customer, merging
    /// `extra` into the body (components, plans…).
    pub async fn create_offering(
        &self,
        customer_url: &str,
        category_url: &str,
        offering_type: &str,
        extra: Value,
    ) -> Reply {
        let mut body = json!({
            "name": format!("{offering_type} offering"),
            "category": category_url,
            "customer": customer_url,
            "type": offering_type,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self
            .post(
                "/api/marketplace-provider-offerings/",
                &self.admin_token,
                body,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply
    }

    /// Places a Create order with its resource through the library; `creator` approves it
    /// as consumer, leaving it pending-provider.
    pub async fn place_order(
        &self,
        offering: Uuid,
        project: Uuid,
        customer: Uuid,
        provider: Uuid,
        creator: Uuid,
    ) -> (Uuid, Uuid) {
        use ledger::domain::order::{Order, OrderCommand, OrderSpec, OrderState, OrderType};
        use ledger::domain::resource::{Resource, ResourceCommand, ResourceSpec};
        let ctx = CommandContext::system(Source::Cli);
        let (order, resource) = (Uuid::new_v4(), Uuid::new_v4());
        let resource_spec = ResourceSpec {
            uuid: resource,
            offering_uuid: offering,
            project_uuid: project,
            customer_uuid: customer,
            plan_uuid: None,
            name: "vm-1".into(),
            limits: Default::default(),
            attributes: Default::default(),
            end_date: None,
            end_date_requested_by: None,
            slug: "vm-1".into(),
        };
        let create = ResourceCommand::Create {
            spec: Box::new(resource_spec),
            backend_id: String::new(),
            running: false,
            at: ctx.now,
        };
        self.ledger
            .execute::<Resource>(&resource.simple().to_string(), create, &ctx)
            .await
            .unwrap();
        let spec = OrderSpec {
            uuid: order,
            order_type: OrderType::Create,
            resource_uuid: resource,
            offering_uuid: offering,
            project_uuid: project,
            customer_uuid: customer,
            provider_customer_uuid: provider,
            plan_uuid: None,
            old_plan_uuid: None,
            limits: Default::default(),
            old_limits: Default::default(),
            attributes: Default::default(),
            cost: Some("12.5".parse().unwrap()),
            fixed_price: Default::default(),
            activation_price: Default::default(),
            created_by: creator,
            callback_url: None,
            request_comment: String::new(),
            start_date: None,
            slug: "vm-1".into(),
        };
        let place = OrderCommand::Place {
            spec: Box::new(spec),
            consumer_reviewer: None,
            next: OrderState::PendingConsumer,
            at: ctx.now,
        };
        let id = order.simple().to_string();
        self.ledger
            .execute::<Order>(&id, place, &ctx)
            .await
            .unwrap();
        let approve = OrderCommand::ApproveByConsumer {
            reviewer: creator,
            next: OrderState::PendingProvider,
            at: ctx.now,
        };
        self.ledger
            .execute::<Order>(&id, approve, &ctx)
            .await
            .unwrap();
        (order, resource)
    }

    /// A single value from the database.
    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.ledger.pool)
            .await
            .expect("query runs")
    }
}

/// Starts a ledger on a fresh database with server settings changed by `f` (for example
/// `allow_provider_offering_management`).
pub async fn spawn_app_with_config(f: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let mut server = test_server(100);
    f(&mut server);
    start_with(
        Arc::new(TestDatabase::new().await),
        LedgerOptions::default(),
        server,
        None,
    )
    .await
}
