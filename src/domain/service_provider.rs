//! A service provider: a customer registered to publish offerings. Uniqueness per customer is
//! guarded by the customer aggregate (`RegisterServiceProvider`), which is written first.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain_event;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ServiceProvider {
    uuid: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub enum ServiceProviderCommand {
    Register {
        uuid: Uuid,
        customer_uuid: Uuid,
        description: String,
        enable_notifications: bool,
        at: DateTime<Utc>,
    },
    Update {
        description: String,
        enable_notifications: bool,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServiceProviderEvent {
    ServiceProviderRegistered {
        uuid: Uuid,
        customer_uuid: Uuid,
        description: String,
        enable_notifications: bool,
        at: DateTime<Utc>,
    },
    ServiceProviderUpdated {
        description: String,
        enable_notifications: bool,
        at: DateTime<Utc>,
    },
}

domain_event!(ServiceProviderEvent, version = "1", {
    ServiceProviderRegistered => "ServiceProviderRegistered",
    ServiceProviderUpdated => "ServiceProviderUpdated",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceProviderError {
    #[error("service provider already exists")]
    AlreadyExists,
    #[error("service provider does not exist")]
    NotFound,
}

impl Aggregate for ServiceProvider {
    const TYPE: &'static str = "service_provider";
    type Command = ServiceProviderCommand;
    type Event = ServiceProviderEvent;
    type Error = ServiceProviderError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            ServiceProviderCommand::Register { .. } if self.uuid.is_some() => {
                return Err(ServiceProviderError::AlreadyExists);
            }
            ServiceProviderCommand::Register {
                uuid,
                customer_uuid,
                description,
                enable_notifications,
                at,
            } => ServiceProviderEvent::ServiceProviderRegistered {
                uuid,
                customer_uuid,
                description,
                enable_notifications,
                at,
            },
            ServiceProviderCommand::Update { .. } if self.uuid.is_none() => {
                return Err(ServiceProviderError::NotFound);
            }
            ServiceProviderCommand::Update {
                description,
                enable_notifications,
                at,
            } => ServiceProviderEvent::ServiceProviderUpdated {
                description,
                enable_notifications,
                at,
            },
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if let ServiceProviderEvent::ServiceProviderRegistered { uuid, .. } = event {
            self.uuid = Some(uuid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn at() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn registered() -> ServiceProviderEvent {
        ServiceProviderEvent::ServiceProviderRegistered {
            uuid: Uuid::nil(),
            customer_uuid: Uuid::nil(),
            description: "SP".into(),
            enable_notifications: true,
            at: at(),
        }
    }

    #[tokio::test]
    async fn it_should_register_a_service_provider() {
        TestFramework::<ServiceProvider>::with(())
            .given_no_previous_events()
            .when_async(ServiceProviderCommand::Register {
                uuid: Uuid::nil(),
                customer_uuid: Uuid::nil(),
                description: "SP".into(),
                enable_notifications: true,
                at: at(),
            })
            .await
            .then_expect_events(vec![registered()]);
    }

    #[tokio::test]
    async fn it_should_not_update_an_unregistered_service_provider() {
        TestFramework::<ServiceProvider>::with(())
            .given_no_previous_events()
            .when_async(ServiceProviderCommand::Update {
                description: "x".into(),
                enable_notifications: false,
                at: at(),
            })
            .await
            .then_expect_error(ServiceProviderError::NotFound);
    }

    #[tokio::test]
    async fn it_should_not_register_twice() {
        TestFramework::<ServiceProvider>::with(())
            .given(vec![registered()])
            .when_async(ServiceProviderCommand::Register {
                uuid: Uuid::nil(),
                customer_uuid: Uuid::nil(),
                description: "SP".into(),
                enable_notifications: true,
                at: at(),
            })
            .await
            .then_expect_error(ServiceProviderError::AlreadyExists);
    }
}
