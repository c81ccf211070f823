//! The world the resource tests share: a consumer organization with a project and team, a
//! provider with an active Basic offering, and a client method per resource endpoint.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Cast, Reply, TestApp, TestUser};
use crate::world::{self, Names};

pub(crate) const ORDERS: &str = "/api/marketplace-orders/";
pub(crate) const RESOURCES: &str = "/api/marketplace-resources/";
pub(crate) const PROVIDER_RESOURCES: &str = "/api/marketplace-provider-resources/";

/// The shared world on plain names, with a team and an active Basic offering of two plans
/// and a limit component.
pub(crate) struct World {
    base: world::World,
    pub offering: Reply,
    pub consumer_owner: TestUser,
    pub provider_owner: TestUser,
    pub manager: TestUser,
    pub stranger: TestUser,
}

impl std::ops::Deref for World {
    type Target = world::World;

    fn deref(&self) -> &world::World {
        &self.base
    }
}

pub(crate) async fn world() -> World {
    let base = world::World::new(Names::PLAIN).await;
    let Cast {
        consumer_owner,
        provider_owner,
        manager,
        stranger,
        ..
    } = base.cast().await;
    let offering = base
        .active_offering(
            "Marketplace.Basic",
            json!({
                "components": [
                    {"type": "storage", "name": "Storage", "billing_type": "limit",
                     "min_value": 1, "max_value": 1000},
                    {"type": "seat", "name": "Seat", "billing_type": "fixed"},
                ],
                "plans": [
                    {"name": "Default", "unit": "month", "unit_price": "10",
                     "prices": {"storage": "0", "seat": "3"}},
                    {"name": "Large", "unit": "month", "unit_price": "20",
                     "prices": {"storage": "1", "seat": "3"}},
                ],
            }),
        )
        .await;
    World {
        base,
        offering,
        consumer_owner,
        provider_owner,
        manager,
        stranger,
    }
}

impl World {
    /// An active Basic offering of the provider with `extra` (components, plans…).
    pub async fn basic_offering(&self, extra: Value) -> Reply {
        self.active_offering("Marketplace.Basic", extra).await
    }

    /// `token` orders a resource of `offering` on plan `plan` with `extra` merged in.
    pub async fn order_with(
        &self,
        token: &str,
        offering: &Reply,
        plan: &str,
        extra: Value,
    ) -> Reply {
        let mut body = json!({
            "project": self.project.url(),
            "offering": self.public_url(offering),
            "plan": self.plan_url(offering, plan),
            "attributes": {"name": "my-res"},
            "accepting_terms_of_service": true,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self.app.post(ORDERS, token, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply
    }

    /// Staff orders a resource with `limits`; the order waits for the provider.
    pub async fn pending_resource(&self, limits: Value) -> (String, String) {
        let order = self
            .order_with(
                &self.app.admin_token,
                &self.offering,
                "Default",
                json!({ "limits": limits }),
            )
            .await;
        assert_eq!(order.body["state"], "pending-provider");
        let resource = order.body["marketplace_resource_uuid"]
            .as_str()
            .unwrap()
            .to_string();
        (order.uuid(), resource)
    }

    /// A resource in state OK: its Create order approved by the provider.
    pub async fn ok_resource(&self, limits: Value) -> String {
        let (order, resource) = self.pending_resource(limits).await;
        let reply = self
            .app
            .order_action(&order, "approve_by_provider", &self.provider_owner.token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        resource
    }
}

impl TestApp {
    pub async fn resource(&self, uuid: &str, token: &str) -> Reply {
        self.get(&format!("{RESOURCES}{uuid}/"), token).await
    }

    pub async fn provider_resource(&self, uuid: &str, token: &str) -> Reply {
        self.get(&format!("{PROVIDER_RESOURCES}{uuid}/"), token)
            .await
    }

    pub async fn resources(&self, query: &str, token: &str) -> Reply {
        self.get(&format!("{RESOURCES}?{query}"), token).await
    }

    pub async fn provider_resources(&self, query: &str, token: &str) -> Reply {
        self.get(&format!("{PROVIDER_RESOURCES}?{query}"), token)
            .await
    }

    pub async fn resource_action(
        &self,
        uuid: &str,
        action: &str,
        token: &str,
        body: Value,
    ) -> Reply {
        self.post(&format!("{RESOURCES}{uuid}/{action}/"), token, body)
            .await
    }

    pub async fn set_resource_backend_id(
        &self,
        uuid: &str,
        token: &str,
        backend_id: &str,
    ) -> Reply {
        self.post(
            &format!("{PROVIDER_RESOURCES}{uuid}/set_backend_id/"),
            token,
            json!({ "backend_id": backend_id }),
        )
        .await
    }

    pub async fn order(&self, uuid: &str) -> Reply {
        let reply = self
            .get(&format!("{ORDERS}{uuid}/"), &self.admin_token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply
    }

    pub async fn order_action(&self, uuid: &str, action: &str, token: &str) -> Reply {
        self.post(&format!("{ORDERS}{uuid}/{action}/"), token, json!({}))
            .await
    }
}
