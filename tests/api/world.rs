//! The starting point most marketplace tests share: a consumer organization with a project,
//! a service provider and a category, made by staff on a fresh server, with methods for
//! the offerings, plans and links the tests build on it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Cast, Reply, TestApp, spawn_app};

pub const PROVIDER_OFFERINGS: &str = "/api/marketplace-provider-offerings";

/// The names a world's organizations, project and category are made with; a module's
/// assertions may read them back.
pub struct Names {
    pub consumer: &'static str,
    pub project: &'static str,
    pub provider: &'static str,
    pub category: &'static str,
}

impl Names {
    pub const PLAIN: Names = Names {
        consumer: "Consumer Org",
        project: "Alpha",
        provider: "Provider Org",
        category: "Compute",
    };
    /// The names of Waldur's reference fixtures.
    pub const REF: Names = Names {
        consumer: "Ref Consumer Org",
        project: "Ref Project",
        provider: "Ref Provider Org",
        category: "Ref Category",
    };
}

/// A consumer organization with a project, a provider organization and a category.
pub struct World {
    pub app: TestApp,
    pub consumer: Reply,
    pub project: Reply,
    pub provider: Reply,
    pub category: Reply,
}

impl World {
    /// The world on a freshly spawned app.
    pub async fn new(names: Names) -> Self {
        Self::on(spawn_app().await, names).await
    }

    /// The world on an app started otherwise (another permission table…).
    pub async fn on(app: TestApp, names: Names) -> Self {
        let consumer = app.create_customer(names.consumer).await;
        let project = app.create_project(&consumer.url(), names.project).await;
        let provider = app.create_provider(names.provider).await;
        let category = app.create_category(names.category).await;
        Self {
            app,
            consumer,
            project,
            provider,
            category,
        }
    }

    /// The people around the consumer, its project and the provider.
    pub async fn cast(&self) -> Cast {
        self.app
            .cast(&self.consumer, &self.project, &self.provider)
            .await
    }

    /// A draft offering of the provider in the category, with `extra` merged in.
    pub async fn draft_offering(&self, offering_type: &str, extra: Value) -> Reply {
        self.app
            .create_offering(
                &self.provider.url(),
                &self.category.url(),
                offering_type,
                extra,
            )
            .await
    }

    /// An active offering of the organization at `customer_url`, with `extra` merged in.
    pub async fn active_offering_of(
        &self,
        customer_url: &str,
        offering_type: &str,
        extra: Value,
    ) -> Reply {
        let offering = self
            .app
            .create_offering(customer_url, &self.category.url(), offering_type, extra)
            .await;
        self.lifecycle(&offering, "activate").await;
        offering
    }

    /// An active offering of the provider, with `extra` merged in.
    pub async fn active_offering(&self, offering_type: &str, extra: Value) -> Reply {
        self.active_offering_of(&self.provider.url(), offering_type, extra)
            .await
    }

    /// Staff runs a lifecycle `action` (`activate`, `pause`…) on the offering.
    pub async fn lifecycle(&self, offering: &Reply, action: &str) {
        let reply = self
            .app
            .post(
                &format!("{PROVIDER_OFFERINGS}/{}/{action}/", offering.uuid()),
                &self.app.admin_token,
                json!({}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }

    /// The offering's public URL, as orders name it.
    pub fn public_url(&self, offering: &Reply) -> String {
        format!(
            "{}/api/marketplace-public-offerings/{}/",
            self.app.address,
            offering.uuid()
        )
    }

    /// The public URL of the offering's plan called `name`.
    pub fn plan_url(&self, offering: &Reply, name: &str) -> String {
        format!(
            "{}plans/{}/",
            self.public_url(offering),
            plan_uuid(offering, name)
        )
    }

    /// The public URL of the offering's first plan.
    pub fn first_plan_url(&self, offering: &Reply) -> String {
        format!(
            "{}plans/{}/",
            self.public_url(offering),
            offering.body["plans"][0]["uuid"].as_str().unwrap()
        )
    }
}

/// The uuid of the offering's plan called `name`.
pub fn plan_uuid(offering: &Reply, name: &str) -> String {
    offering.body["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["uuid"].as_str())
        .unwrap()
        .to_string()
}

/// Offering fields for one limit component, `cpu`, priced 10 on a plan of unit price 1.
pub fn cpu_priced_10() -> Value {
    json!({
        "components": [{"type": "cpu", "name": "CPU", "billing_type": "limit"}],
        "plans": [{"name": "Default", "unit": "month", "unit_price": "1",
                   "prices": {"cpu": "10"}}],
    })
}
