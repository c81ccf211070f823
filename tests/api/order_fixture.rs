//! A consumer organization with a project and its team, a provider with an active
//! `Marketplace.Basic` offering, and orders placed through `POST /api/marketplace-orders/`:
//! the starting point of the attachment, update and filter tests.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Cast, Reply, TestApp, TestUser, spawn_app};
use crate::world::{self, Names};

pub const ORDERS: &str = "/api/marketplace-orders/";

/// The shared world on plain names, with its team and an active Basic offering.
pub struct World {
    base: world::World,
    pub offering: Reply,
    pub consumer_owner: TestUser,
    pub provider_owner: TestUser,
    pub manager: TestUser,
    pub admin: TestUser,
    pub stranger: TestUser,
}

impl std::ops::Deref for World {
    type Target = world::World;

    fn deref(&self) -> &world::World {
        &self.base
    }
}

pub async fn world() -> World {
    world_on(spawn_app().await).await
}

/// The same world on an app started otherwise (another permission table…).
pub async fn world_on(app: TestApp) -> World {
    let base = world::World::on(app, Names::PLAIN).await;
    let offering = base
        .active_offering(
            "Marketplace.Basic",
            json!({
                "name": "Cloud",
                "slug": "cloud",
                "components": [
                    {"type": "storage", "name": "Storage", "billing_type": "limit",
                     "min_value": 1, "max_value": 1000},
                    {"type": "seat", "name": "Seat", "billing_type": "fixed"},
                ],
                "plans": [{"name": "Default", "unit": "month", "unit_price": "10",
                           "prices": {"storage": "2", "seat": "3"}}],
            }),
        )
        .await;
    let Cast {
        consumer_owner,
        provider_owner,
        manager,
        admin,
        stranger,
    } = base.cast().await;
    World {
        base,
        offering,
        consumer_owner,
        provider_owner,
        manager,
        admin,
        stranger,
    }
}

impl World {
    pub fn public_offering_url(&self) -> String {
        self.public_url(&self.offering)
    }

    /// A Create order placed by `creator` in the project, merging `extra` into the body.
    pub async fn place(&self, creator: &TestUser, extra: Value) -> Reply {
        let mut body = json!({
            "project": self.project.url(),
            "offering": self.public_offering_url(),
            "plan": self.first_plan_url(&self.offering),
            "attributes": {"name": "my-res"},
            "limits": {"storage": 10},
            "accepting_terms_of_service": true,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self.app.post(ORDERS, &creator.token, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply
    }

    /// An order the project manager placed; it waits for the consumer's review.
    pub async fn pending_consumer(&self) -> String {
        let reply = self.place(&self.manager, json!({})).await;
        assert_eq!(reply.body["state"], "pending-consumer", "{}", reply.text);
        reply.uuid()
    }

    pub async fn order(&self, uuid: &str, token: &str) -> Reply {
        self.app.get(&format!("{ORDERS}{uuid}/"), token).await
    }

    pub async fn action(&self, uuid: &str, action: &str, token: &str) -> Reply {
        self.app
            .request(
                Method::POST,
                &format!("{ORDERS}{uuid}/{action}/"),
                Some(token),
                None,
            )
            .await
    }

    /// The order list with a raw query string, as `token` sees it.
    pub async fn list(&self, query: &str, token: &str) -> Reply {
        self.app.get(&format!("{ORDERS}?{query}"), token).await
    }
}
