//! A marketplace resource: what an offering provides to a project. Every order points at
//! one; a Create order brings it into being, and order outcomes move it between states:
//!
//! | order type | done | erred | canceled / rejected |
//! |---|---|---|---|
//! | Create | OK | Erred (Terminated without a backend id) | Terminated |
//! | Update | OK with the order's plan and limits | Erred | OK |
//! | Terminate | Terminated | OK | OK |

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::order::OrderType;
use crate::domain_event;

/// Resource states with their API names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ResourceState {
    #[default]
    Creating,
    Ok,
    Erred,
    Updating,
    Terminating,
    Terminated,
}

impl ResourceState {
    pub const ALL: [ResourceState; 6] = [
        ResourceState::Creating,
        ResourceState::Ok,
        ResourceState::Erred,
        ResourceState::Updating,
        ResourceState::Terminating,
        ResourceState::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceState::Creating => "Creating",
            ResourceState::Ok => "OK",
            ResourceState::Erred => "Erred",
            ResourceState::Updating => "Updating",
            ResourceState::Terminating => "Terminating",
            ResourceState::Terminated => "Terminated",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How an order ended, as far as its resource is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderOutcome {
    Done,
    Erred,
    Canceled,
    Rejected,
}

/// What is fixed when a resource is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSpec {
    pub uuid: Uuid,
    pub offering_uuid: Uuid,
    pub project_uuid: Uuid,
    pub customer_uuid: Uuid,
    pub plan_uuid: Option<Uuid>,
    pub name: String,
    pub limits: BTreeMap<String, i64>,
    pub attributes: Map<String, Value>,
    pub end_date: Option<NaiveDate>,
    pub end_date_requested_by: Option<Uuid>,
    pub slug: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub spec: Option<ResourceSpec>,
    pub state: ResourceState,
    pub plan_uuid: Option<Uuid>,
    pub limits: BTreeMap<String, i64>,
    pub backend_id: String,
    pub end_date: Option<NaiveDate>,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub enum ResourceCommand {
    /// Created by a Create order (state Creating), or imported as already running (OK).
    Create {
        spec: Box<ResourceSpec>,
        backend_id: String,
        running: bool,
        at: DateTime<Utc>,
    },
    /// An Update or Terminate order was placed for the resource.
    BeginChange {
        order_type: OrderType,
        at: DateTime<Utc>,
    },
    /// An order for the resource ended.
    SettleOrder {
        order_type: OrderType,
        outcome: OrderOutcome,
        plan_uuid: Option<Uuid>,
        limits: BTreeMap<String, i64>,
        at: DateTime<Utc>,
    },
    /// An erred order is retried: the resource goes back to the matching transitional state.
    RetryOrder {
        order_type: OrderType,
        at: DateTime<Utc>,
    },
    SetBackendId {
        backend_id: String,
        at: DateTime<Utc>,
    },
}

// Events are short-lived values between the store and `apply`; boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResourceEvent {
    ResourceCreated {
        spec: ResourceSpec,
        backend_id: String,
        state: ResourceState,
        at: DateTime<Utc>,
    },
    ResourceStateChanged {
        state: ResourceState,
        at: DateTime<Utc>,
    },
    ResourcePlanChanged {
        plan_uuid: Option<Uuid>,
        limits: BTreeMap<String, i64>,
        at: DateTime<Utc>,
    },
    ResourceBackendIdSet {
        backend_id: String,
        at: DateTime<Utc>,
    },
}

domain_event!(ResourceEvent, version = "1", {
    ResourceCreated => "ResourceCreated",
    ResourceStateChanged => "ResourceStateChanged",
    ResourcePlanChanged => "ResourcePlanChanged",
    ResourceBackendIdSet => "ResourceBackendIdSet",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("resource already exists")]
    AlreadyExists,
    #[error("resource does not exist")]
    NotFound,
    #[error("the resource is terminated")]
    Terminated,
}

impl Aggregate for Resource {
    const TYPE: &'static str = "resource";
    type Command = ResourceCommand;
    type Event = ResourceEvent;
    type Error = ResourceError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ResourceEvent::ResourceCreated {
                spec,
                backend_id,
                state,
                at,
            } => {
                *self = Resource {
                    plan_uuid: spec.plan_uuid,
                    limits: spec.limits.clone(),
                    end_date: spec.end_date,
                    spec: Some(spec),
                    state,
                    backend_id,
                    created: Some(at),
                    modified: Some(at),
                };
            }
            ResourceEvent::ResourceStateChanged { state, at } => {
                self.state = state;
                self.modified = Some(at);
            }
            ResourceEvent::ResourcePlanChanged {
                plan_uuid,
                limits,
                at,
            } => {
                self.plan_uuid = plan_uuid;
                self.limits = limits;
                self.modified = Some(at);
            }
            ResourceEvent::ResourceBackendIdSet { backend_id, at } => {
                self.backend_id = backend_id;
                self.modified = Some(at);
            }
        }
    }
}

impl Resource {
    fn change(&self, state: ResourceState, at: DateTime<Utc>) -> Vec<ResourceEvent> {
        if self.state == state {
            vec![]
        } else {
            vec![ResourceEvent::ResourceStateChanged { state, at }]
        }
    }

    fn decide(&self, command: ResourceCommand) -> Result<Vec<ResourceEvent>, ResourceError> {
        use ResourceCommand as C;
        use ResourceState as S;
        if let C::Create {
            spec,
            backend_id,
            running,
            at,
        } = command
        {
            if self.spec.is_some() {
                return Err(ResourceError::AlreadyExists);
            }
            let state = if running { S::Ok } else { S::Creating };
            return Ok(vec![ResourceEvent::ResourceCreated {
                spec: *spec,
                backend_id,
                state,
                at,
            }]);
        }
        if self.spec.is_none() {
            return Err(ResourceError::NotFound);
        }
        Ok(match command {
            C::Create { .. } => unreachable!("handled above"),
            C::BeginChange { order_type, at } => {
                if self.state == S::Terminated {
                    return Err(ResourceError::Terminated);
                }
                match order_type {
                    OrderType::Update => self.change(S::Updating, at),
                    OrderType::Terminate => self.change(S::Terminating, at),
                    OrderType::Create | OrderType::Restore => vec![],
                }
            }
            C::SettleOrder {
                order_type,
                outcome,
                plan_uuid,
                limits,
                at,
            } => {
                use OrderOutcome as O;
                match (order_type, outcome) {
                    (OrderType::Create | OrderType::Restore, O::Done) => self.change(S::Ok, at),
                    (OrderType::Create | OrderType::Restore, O::Erred)
                        if self.state == S::Creating && self.backend_id.is_empty() =>
                    {
                        self.change(S::Terminated, at)
                    }
                    (OrderType::Create | OrderType::Restore, O::Erred) => self.change(S::Erred, at),
                    (OrderType::Create | OrderType::Restore, O::Canceled | O::Rejected) => {
                        self.change(S::Terminated, at)
                    }
                    (OrderType::Update, O::Done) => {
                        let mut events = self.change(S::Ok, at);
                        let new_limits = if limits.is_empty() {
                            self.limits.clone()
                        } else {
                            limits
                        };
                        let new_plan = plan_uuid.or(self.plan_uuid);
                        if new_plan != self.plan_uuid || new_limits != self.limits {
                            events.push(ResourceEvent::ResourcePlanChanged {
                                plan_uuid: new_plan,
                                limits: new_limits,
                                at,
                            });
                        }
                        events
                    }
                    (OrderType::Update, O::Erred) => self.change(S::Erred, at),
                    (OrderType::Update, O::Canceled | O::Rejected) => self.change(S::Ok, at),
                    (OrderType::Terminate, O::Done) => self.change(S::Terminated, at),
                    (OrderType::Terminate, _) => self.change(S::Ok, at),
                }
            }
            C::RetryOrder { order_type, at } => match order_type {
                OrderType::Create | OrderType::Restore => self.change(S::Creating, at),
                OrderType::Update => self.change(S::Updating, at),
                OrderType::Terminate => self.change(S::Terminating, at),
            },
            C::SetBackendId { backend_id, at } => {
                if backend_id == self.backend_id {
                    vec![]
                } else {
                    vec![ResourceEvent::ResourceBackendIdSet { backend_id, at }]
                }
            }
        })
    }
}
