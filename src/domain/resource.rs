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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// The resource is the Arrow license `license_reference` (its backend id from now on).
    LinkLicense {
        license_reference: String,
        at: DateTime<Utc>,
    },
    /// The Create order's limits and attributes changed; a resource still being created
    /// follows them, any other keeps its own.
    FollowCreateOrder {
        limits: BTreeMap<String, i64>,
        attributes: Map<String, Value>,
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
    /// The resource was linked to an Arrow license: its backend id is now the license's
    /// reference, and was `previous_backend_id` before.
    ResourceLicenseLinked {
        backend_id: String,
        previous_backend_id: String,
        at: DateTime<Utc>,
    },
    /// What a resource still being created asks for changed with its Create order.
    ResourceRequestUpdated {
        limits: BTreeMap<String, i64>,
        attributes: Map<String, Value>,
        at: DateTime<Utc>,
    },
}

domain_event!(ResourceEvent, version = "1", {
    ResourceCreated => "ResourceCreated",
    ResourceStateChanged => "ResourceStateChanged",
    ResourcePlanChanged => "ResourcePlanChanged",
    ResourceBackendIdSet => "ResourceBackendIdSet",
    ResourceRequestUpdated => "ResourceRequestUpdated",
    ResourceLicenseLinked => "ResourceLicenseLinked",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("resource already exists")]
    AlreadyExists,
    #[error("resource does not exist")]
    NotFound,
    #[error("the resource is terminated")]
    Terminated,
    #[error("another order is changing the resource")]
    ChangeInProgress,
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
            ResourceEvent::ResourceBackendIdSet { backend_id, at }
            | ResourceEvent::ResourceLicenseLinked { backend_id, at, .. } => {
                self.backend_id = backend_id;
                self.modified = Some(at);
            }
            ResourceEvent::ResourceRequestUpdated {
                limits,
                attributes,
                at,
            } => {
                if let Some(spec) = self.spec.as_mut() {
                    spec.limits = limits.clone();
                    spec.attributes = attributes;
                }
                self.limits = limits;
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
                // Creating, Updating and Terminating each belong to an order still running.
                if matches!(self.state, S::Creating | S::Updating | S::Terminating) {
                    return Err(ResourceError::ChangeInProgress);
                }
                match order_type {
                    OrderType::Update => self.change(S::Updating, at),
                    OrderType::Terminate => self.change(S::Terminating, at),
                    OrderType::Create | OrderType::Restore => vec![],
                }
            }
            // A terminated resource stays so; only a Restore order may bring it back.
            C::SettleOrder { order_type, .. } | C::RetryOrder { order_type, .. }
                if self.state == S::Terminated && order_type != OrderType::Restore =>
            {
                vec![]
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
            C::LinkLicense {
                license_reference,
                at,
            } => {
                if license_reference == self.backend_id {
                    vec![]
                } else {
                    vec![ResourceEvent::ResourceLicenseLinked {
                        backend_id: license_reference,
                        previous_backend_id: self.backend_id.clone(),
                        at,
                    }]
                }
            }
            C::FollowCreateOrder {
                limits,
                attributes,
                at,
            } => {
                let unchanged = self
                    .spec
                    .as_ref()
                    .is_some_and(|s| s.attributes == attributes)
                    && self.limits == limits;
                if self.state != S::Creating || unchanged {
                    vec![]
                } else {
                    vec![ResourceEvent::ResourceRequestUpdated {
                        limits,
                        attributes,
                        at,
                    }]
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;
    use serde_json::json;

    const RESOURCE: Uuid = Uuid::from_u128(1);
    const OFFERING: Uuid = Uuid::from_u128(2);
    const PROJECT: Uuid = Uuid::from_u128(3);
    const CUSTOMER: Uuid = Uuid::from_u128(4);
    const SMALL: Uuid = Uuid::from_u128(11);
    const LARGE: Uuid = Uuid::from_u128(12);
    const REQUESTER: Uuid = Uuid::from_u128(21);

    /// When the resource is created.
    fn created_at() -> DateTime<Utc> {
        "2026-03-01T09:00:00Z".parse().unwrap()
    }

    /// When the histories below move it on.
    fn earlier() -> DateTime<Utc> {
        "2026-03-02T09:00:00Z".parse().unwrap()
    }

    /// When the command under test is issued.
    fn now() -> DateTime<Utc> {
        "2026-03-10T12:00:00Z".parse().unwrap()
    }

    fn limits(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn spec() -> ResourceSpec {
        ResourceSpec {
            uuid: RESOURCE,
            offering_uuid: OFFERING,
            project_uuid: PROJECT,
            customer_uuid: CUSTOMER,
            plan_uuid: Some(SMALL),
            name: "vm-1".into(),
            limits: limits(&[("cpu", 2), ("ram", 4096)]),
            attributes: json!({"name": "vm-1"}).as_object().unwrap().clone(),
            end_date: Some("2026-12-31".parse().unwrap()),
            end_date_requested_by: Some(REQUESTER),
            slug: "vm-1".into(),
        }
    }

    fn create(backend_id: &str, running: bool) -> ResourceCommand {
        ResourceCommand::Create {
            spec: Box::new(spec()),
            backend_id: backend_id.into(),
            running,
            at: created_at(),
        }
    }

    fn created(backend_id: &str, state: ResourceState) -> ResourceEvent {
        ResourceEvent::ResourceCreated {
            spec: spec(),
            backend_id: backend_id.into(),
            state,
            at: created_at(),
        }
    }

    fn state_changed(state: ResourceState, at: DateTime<Utc>) -> ResourceEvent {
        ResourceEvent::ResourceStateChanged { state, at }
    }

    /// A resource created by an order (no backend id yet), moved into `state`.
    fn history(state: ResourceState) -> Vec<ResourceEvent> {
        with_backend_id("", state)
    }

    /// A resource with this backend id, moved into `state`.
    fn with_backend_id(backend_id: &str, state: ResourceState) -> Vec<ResourceEvent> {
        let mut events = vec![created(backend_id, ResourceState::Creating)];
        if state != ResourceState::Creating {
            events.push(state_changed(state, earlier()));
        }
        events
    }

    fn replay(events: Vec<ResourceEvent>) -> Resource {
        let mut resource = Resource::default();
        for event in events {
            resource.apply(event);
        }
        resource
    }

    async fn outcome(
        given: Vec<ResourceEvent>,
        command: ResourceCommand,
    ) -> Result<Vec<ResourceEvent>, ResourceError> {
        TestFramework::<Resource>::with(())
            .given(given)
            .when_async(command)
            .await
            .inspect_result()
    }

    async fn after(given: Vec<ResourceEvent>, command: ResourceCommand) -> Resource {
        let events = outcome(given.clone(), command)
            .await
            .expect("the command succeeds");
        let mut all = given;
        all.extend(events);
        replay(all)
    }

    fn begin(order_type: OrderType) -> ResourceCommand {
        ResourceCommand::BeginChange {
            order_type,
            at: now(),
        }
    }

    fn settle(order_type: OrderType, outcome: OrderOutcome) -> ResourceCommand {
        settle_with(order_type, outcome, None, BTreeMap::new())
    }

    fn settle_with(
        order_type: OrderType,
        outcome: OrderOutcome,
        plan_uuid: Option<Uuid>,
        limits: BTreeMap<String, i64>,
    ) -> ResourceCommand {
        ResourceCommand::SettleOrder {
            order_type,
            outcome,
            plan_uuid,
            limits,
            at: now(),
        }
    }

    fn retry(order_type: OrderType) -> ResourceCommand {
        ResourceCommand::RetryOrder {
            order_type,
            at: now(),
        }
    }

    fn set_backend_id(backend_id: &str) -> ResourceCommand {
        ResourceCommand::SetBackendId {
            backend_id: backend_id.into(),
            at: now(),
        }
    }

    // -----------------------------------------------------------------------------------
    // Create
    // -----------------------------------------------------------------------------------

    #[tokio::test]
    async fn it_should_create_a_resource_for_a_create_order_in_creating() {
        TestFramework::<Resource>::with(())
            .given_no_previous_events()
            .when_async(create("", false))
            .await
            .then_expect_events(vec![created("", ResourceState::Creating)]);
    }

    #[tokio::test]
    async fn it_should_import_a_running_resource_as_ok() {
        TestFramework::<Resource>::with(())
            .given_no_previous_events()
            .when_async(create("vm-backend-1", true))
            .await
            .then_expect_events(vec![created("vm-backend-1", ResourceState::Ok)]);
    }

    #[tokio::test]
    async fn it_should_take_plan_limits_and_end_date_from_the_spec() {
        let resource = after(vec![], create("vm-backend-1", false)).await;
        assert_eq!(resource.spec, Some(spec()));
        assert_eq!(resource.state, ResourceState::Creating);
        assert_eq!(resource.plan_uuid, Some(SMALL));
        assert_eq!(resource.limits, limits(&[("cpu", 2), ("ram", 4096)]));
        assert_eq!(resource.end_date, Some("2026-12-31".parse().unwrap()));
        assert_eq!(resource.backend_id, "vm-backend-1");
        assert_eq!(resource.created, Some(created_at()));
        assert_eq!(resource.modified, Some(created_at()));
    }

    #[tokio::test]
    async fn it_should_not_create_a_resource_twice() {
        for running in [false, true] {
            TestFramework::<Resource>::with(())
                .given(vec![created("", ResourceState::Creating)])
                .when_async(create("", running))
                .await
                .then_expect_error(ResourceError::AlreadyExists);
        }
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Terminated))
            .when_async(create("", false))
            .await
            .then_expect_error(ResourceError::AlreadyExists);
    }

    #[tokio::test]
    async fn it_should_not_accept_any_other_command_before_the_resource_exists() {
        let commands = vec![
            begin(OrderType::Update),
            settle(OrderType::Create, OrderOutcome::Done),
            retry(OrderType::Create),
            set_backend_id("vm-backend-1"),
        ];
        for command in commands {
            let result = outcome(vec![], command.clone()).await;
            assert_eq!(result, Err(ResourceError::NotFound), "{command:?}");
        }
    }

    // -----------------------------------------------------------------------------------
    // BeginChange
    // -----------------------------------------------------------------------------------

    #[tokio::test]
    async fn it_should_start_updating_a_resource_when_an_update_order_is_placed() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Ok))
            .when_async(begin(OrderType::Update))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Updating, now())]);
    }

    #[tokio::test]
    async fn it_should_start_terminating_a_resource_when_a_terminate_order_is_placed() {
        for state in [ResourceState::Ok, ResourceState::Erred] {
            TestFramework::<Resource>::with(())
                .given(history(state))
                .when_async(begin(OrderType::Terminate))
                .await
                .then_expect_events(vec![state_changed(ResourceState::Terminating, now())]);
        }
        let resource = after(history(ResourceState::Ok), begin(OrderType::Terminate)).await;
        assert_eq!(resource.state, ResourceState::Terminating);
        assert_eq!(resource.modified, Some(now()));
    }

    #[tokio::test]
    async fn it_should_not_begin_a_change_while_another_order_is_changing_the_resource() {
        for state in [
            ResourceState::Creating,
            ResourceState::Updating,
            ResourceState::Terminating,
        ] {
            for order_type in [OrderType::Update, OrderType::Terminate] {
                TestFramework::<Resource>::with(())
                    .given(history(state))
                    .when_async(begin(order_type))
                    .await
                    .then_expect_error(ResourceError::ChangeInProgress);
            }
        }
    }

    #[tokio::test]
    async fn it_should_not_change_the_state_for_create_or_restore_orders() {
        for order_type in [OrderType::Create, OrderType::Restore] {
            TestFramework::<Resource>::with(())
                .given(history(ResourceState::Ok))
                .when_async(begin(order_type))
                .await
                .then_expect_events(vec![]);
        }
    }

    #[tokio::test]
    async fn it_should_not_begin_any_change_of_a_terminated_resource() {
        for order_type in OrderType::ALL {
            TestFramework::<Resource>::with(())
                .given(history(ResourceState::Terminated))
                .when_async(begin(order_type))
                .await
                .then_expect_error(ResourceError::Terminated);
        }
    }

    // -----------------------------------------------------------------------------------
    // SettleOrder: every cell of the table in the file header
    // -----------------------------------------------------------------------------------

    /// (order type, outcome, state while the order runs, resulting state)
    const TABLE: [(OrderType, OrderOutcome, ResourceState, ResourceState); 15] = {
        use OrderOutcome as O;
        use OrderType as T;
        use ResourceState as S;
        [
            (T::Create, O::Done, S::Creating, S::Ok),
            // Erred while Creating without a backend id: see the dedicated tests below.
            (T::Create, O::Erred, S::Creating, S::Terminated),
            (T::Create, O::Canceled, S::Creating, S::Terminated),
            (T::Create, O::Rejected, S::Creating, S::Terminated),
            (T::Update, O::Done, S::Updating, S::Ok),
            (T::Update, O::Erred, S::Updating, S::Erred),
            (T::Update, O::Canceled, S::Updating, S::Ok),
            (T::Update, O::Rejected, S::Updating, S::Ok),
            (T::Terminate, O::Done, S::Terminating, S::Terminated),
            (T::Terminate, O::Erred, S::Terminating, S::Ok),
            (T::Terminate, O::Canceled, S::Terminating, S::Ok),
            (T::Terminate, O::Rejected, S::Terminating, S::Ok),
            (T::Restore, O::Done, S::Creating, S::Ok),
            (T::Restore, O::Canceled, S::Creating, S::Terminated),
            (T::Restore, O::Rejected, S::Creating, S::Terminated),
        ]
    };

    #[tokio::test]
    async fn it_should_settle_every_order_type_and_outcome_as_the_table_says() {
        for (order_type, order_outcome, running, expected) in TABLE {
            let result = outcome(history(running), settle(order_type, order_outcome)).await;
            assert_eq!(
                result,
                Ok(vec![state_changed(expected, now())]),
                "{order_type:?} {order_outcome:?} while {running:?}"
            );
        }
    }

    #[tokio::test]
    async fn it_should_leave_the_resource_in_the_table_state_after_settling() {
        for (order_type, order_outcome, running, expected) in TABLE {
            let resource = after(history(running), settle(order_type, order_outcome)).await;
            assert_eq!(
                resource.state, expected,
                "{order_type:?} {order_outcome:?} while {running:?}"
            );
            assert_eq!(resource.modified, Some(now()));
        }
    }

    #[tokio::test]
    async fn it_should_make_a_created_resource_ok_when_its_create_order_is_done() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Creating))
            .when_async(settle(OrderType::Create, OrderOutcome::Done))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Ok, now())]);
    }

    #[tokio::test]
    async fn it_should_terminate_a_creating_resource_without_backend_id_when_its_create_order_errs()
    {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Creating))
            .when_async(settle(OrderType::Create, OrderOutcome::Erred))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Terminated, now())]);
    }

    #[tokio::test]
    async fn it_should_mark_erred_a_creating_resource_with_a_backend_id_when_its_create_order_errs()
    {
        // Backend id known from the start ...
        TestFramework::<Resource>::with(())
            .given(with_backend_id("vm-backend-1", ResourceState::Creating))
            .when_async(settle(OrderType::Create, OrderOutcome::Erred))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Erred, now())]);
        // ... or set while the order was executing.
        TestFramework::<Resource>::with(())
            .given(vec![
                created("", ResourceState::Creating),
                ResourceEvent::ResourceBackendIdSet {
                    backend_id: "vm-backend-1".into(),
                    at: earlier(),
                },
            ])
            .when_async(settle(OrderType::Create, OrderOutcome::Erred))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Erred, now())]);
    }

    #[tokio::test]
    async fn it_should_mark_erred_a_resource_no_longer_creating_when_its_create_order_errs() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Ok))
            .when_async(settle(OrderType::Create, OrderOutcome::Erred))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Erred, now())]);
    }

    #[tokio::test]
    async fn it_should_treat_an_erred_restore_order_like_an_erred_create_order() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Creating))
            .when_async(settle(OrderType::Restore, OrderOutcome::Erred))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Terminated, now())]);
        TestFramework::<Resource>::with(())
            .given(with_backend_id("vm-backend-1", ResourceState::Creating))
            .when_async(settle(OrderType::Restore, OrderOutcome::Erred))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Erred, now())]);
    }

    #[tokio::test]
    async fn it_should_terminate_a_resource_whose_create_order_is_canceled_or_rejected() {
        for order_outcome in [OrderOutcome::Canceled, OrderOutcome::Rejected] {
            TestFramework::<Resource>::with(())
                .given(with_backend_id("vm-backend-1", ResourceState::Creating))
                .when_async(settle(OrderType::Create, order_outcome))
                .await
                .then_expect_events(vec![state_changed(ResourceState::Terminated, now())]);
        }
    }

    #[tokio::test]
    async fn it_should_terminate_a_resource_whose_terminate_order_is_done() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Terminating))
            .when_async(settle(OrderType::Terminate, OrderOutcome::Done))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Terminated, now())]);
    }

    #[tokio::test]
    async fn it_should_bring_a_resource_back_to_ok_when_its_terminate_order_fails_or_is_dropped() {
        for order_outcome in [
            OrderOutcome::Erred,
            OrderOutcome::Canceled,
            OrderOutcome::Rejected,
        ] {
            TestFramework::<Resource>::with(())
                .given(history(ResourceState::Terminating))
                .when_async(settle(OrderType::Terminate, order_outcome))
                .await
                .then_expect_events(vec![state_changed(ResourceState::Ok, now())]);
        }
    }

    #[tokio::test]
    async fn it_should_emit_nothing_when_the_settled_state_is_the_current_one() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Ok))
            .when_async(settle(OrderType::Terminate, OrderOutcome::Rejected))
            .await
            .then_expect_events(vec![]);
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Ok))
            .when_async(settle(OrderType::Create, OrderOutcome::Done))
            .await
            .then_expect_events(vec![]);
    }

    // -----------------------------------------------------------------------------------
    // SettleOrder: Update orders and the plan
    // -----------------------------------------------------------------------------------

    #[tokio::test]
    async fn it_should_apply_the_new_plan_and_limits_of_a_done_update_order() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Updating))
            .when_async(settle_with(
                OrderType::Update,
                OrderOutcome::Done,
                Some(LARGE),
                limits(&[("cpu", 8), ("ram", 16384)]),
            ))
            .await
            .then_expect_events(vec![
                state_changed(ResourceState::Ok, now()),
                ResourceEvent::ResourcePlanChanged {
                    plan_uuid: Some(LARGE),
                    limits: limits(&[("cpu", 8), ("ram", 16384)]),
                    at: now(),
                },
            ]);
    }

    #[tokio::test]
    async fn it_should_hold_the_new_plan_and_limits_after_a_done_update_order() {
        let resource = after(
            history(ResourceState::Updating),
            settle_with(
                OrderType::Update,
                OrderOutcome::Done,
                Some(LARGE),
                limits(&[("cpu", 8)]),
            ),
        )
        .await;
        assert_eq!(resource.state, ResourceState::Ok);
        assert_eq!(resource.plan_uuid, Some(LARGE));
        assert_eq!(resource.limits, limits(&[("cpu", 8)]));
        assert_eq!(resource.modified, Some(now()));
        // The spec keeps what the resource was created with.
        assert_eq!(resource.spec, Some(spec()));
    }

    #[tokio::test]
    async fn it_should_keep_the_limits_when_a_done_update_order_changes_only_the_plan() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Updating))
            .when_async(settle_with(
                OrderType::Update,
                OrderOutcome::Done,
                Some(LARGE),
                BTreeMap::new(),
            ))
            .await
            .then_expect_events(vec![
                state_changed(ResourceState::Ok, now()),
                ResourceEvent::ResourcePlanChanged {
                    plan_uuid: Some(LARGE),
                    limits: limits(&[("cpu", 2), ("ram", 4096)]),
                    at: now(),
                },
            ]);
    }

    #[tokio::test]
    async fn it_should_keep_the_plan_when_a_done_update_order_changes_only_the_limits() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Updating))
            .when_async(settle_with(
                OrderType::Update,
                OrderOutcome::Done,
                None,
                limits(&[("cpu", 4), ("ram", 4096)]),
            ))
            .await
            .then_expect_events(vec![
                state_changed(ResourceState::Ok, now()),
                ResourceEvent::ResourcePlanChanged {
                    plan_uuid: Some(SMALL),
                    limits: limits(&[("cpu", 4), ("ram", 4096)]),
                    at: now(),
                },
            ]);
    }

    #[tokio::test]
    async fn it_should_emit_no_plan_change_when_a_done_update_order_changes_nothing() {
        // Nothing given ...
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Updating))
            .when_async(settle(OrderType::Update, OrderOutcome::Done))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Ok, now())]);
        // ... or the current plan and limits again.
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Updating))
            .when_async(settle_with(
                OrderType::Update,
                OrderOutcome::Done,
                Some(SMALL),
                limits(&[("cpu", 2), ("ram", 4096)]),
            ))
            .await
            .then_expect_events(vec![state_changed(ResourceState::Ok, now())]);
        // Already OK and unchanged: nothing at all.
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Ok))
            .when_async(settle_with(
                OrderType::Update,
                OrderOutcome::Done,
                Some(SMALL),
                BTreeMap::new(),
            ))
            .await
            .then_expect_events(vec![]);
    }

    #[tokio::test]
    async fn it_should_keep_the_old_plan_and_limits_when_an_update_order_is_not_done() {
        for order_outcome in [
            OrderOutcome::Erred,
            OrderOutcome::Canceled,
            OrderOutcome::Rejected,
        ] {
            let resource = after(
                history(ResourceState::Updating),
                settle_with(
                    OrderType::Update,
                    order_outcome,
                    Some(LARGE),
                    limits(&[("cpu", 8)]),
                ),
            )
            .await;
            assert_eq!(resource.plan_uuid, Some(SMALL), "{order_outcome:?}");
            assert_eq!(resource.limits, limits(&[("cpu", 2), ("ram", 4096)]));
        }
    }

    // -----------------------------------------------------------------------------------
    // RetryOrder
    // -----------------------------------------------------------------------------------

    #[tokio::test]
    async fn it_should_put_a_resource_back_into_the_transitional_state_of_a_retried_order() {
        let cases = [
            (OrderType::Create, ResourceState::Creating),
            (OrderType::Restore, ResourceState::Creating),
            (OrderType::Update, ResourceState::Updating),
            (OrderType::Terminate, ResourceState::Terminating),
        ];
        for (order_type, expected) in cases {
            TestFramework::<Resource>::with(())
                .given(with_backend_id("vm-backend-1", ResourceState::Erred))
                .when_async(retry(order_type))
                .await
                .then_expect_events(vec![state_changed(expected, now())]);
        }
        let resource = after(history(ResourceState::Erred), retry(OrderType::Update)).await;
        assert_eq!(resource.state, ResourceState::Updating);
        assert_eq!(resource.modified, Some(now()));
    }

    #[tokio::test]
    async fn it_should_emit_nothing_on_retry_when_already_in_the_transitional_state() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Terminating))
            .when_async(retry(OrderType::Terminate))
            .await
            .then_expect_events(vec![]);
    }

    // -----------------------------------------------------------------------------------
    // Backend id
    // -----------------------------------------------------------------------------------

    #[tokio::test]
    async fn it_should_set_a_new_backend_id() {
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Creating))
            .when_async(set_backend_id("vm-backend-1"))
            .await
            .then_expect_events(vec![ResourceEvent::ResourceBackendIdSet {
                backend_id: "vm-backend-1".into(),
                at: now(),
            }]);
        let resource = after(history(ResourceState::Ok), set_backend_id("vm-backend-1")).await;
        assert_eq!(resource.backend_id, "vm-backend-1");
        assert_eq!(resource.modified, Some(now()));
        assert_eq!(resource.state, ResourceState::Ok);
    }

    #[tokio::test]
    async fn it_should_record_the_previous_backend_id_when_linking_a_license() {
        let link = |reference: &str| ResourceCommand::LinkLicense {
            license_reference: reference.into(),
            at: now(),
        };
        TestFramework::<Resource>::with(())
            .given(with_backend_id("vm-backend-1", ResourceState::Ok))
            .when_async(link("XSP12345"))
            .await
            .then_expect_events(vec![ResourceEvent::ResourceLicenseLinked {
                backend_id: "XSP12345".into(),
                previous_backend_id: "vm-backend-1".into(),
                at: now(),
            }]);
        TestFramework::<Resource>::with(())
            .given(with_backend_id("XSP12345", ResourceState::Ok))
            .when_async(link("XSP12345"))
            .await
            .then_expect_events(vec![]);
        let resource = after(history(ResourceState::Ok), link("XSP12345")).await;
        assert_eq!(resource.backend_id, "XSP12345");
    }

    #[tokio::test]
    async fn it_should_emit_nothing_when_the_backend_id_is_unchanged() {
        TestFramework::<Resource>::with(())
            .given(with_backend_id("vm-backend-1", ResourceState::Ok))
            .when_async(set_backend_id("vm-backend-1"))
            .await
            .then_expect_events(vec![]);
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Ok))
            .when_async(set_backend_id(""))
            .await
            .then_expect_events(vec![]);
    }

    // -----------------------------------------------------------------------------------
    // Bookkeeping and names
    // -----------------------------------------------------------------------------------

    #[test]
    fn it_should_follow_the_event_times_in_modified_and_keep_created() {
        let events = vec![
            created("", ResourceState::Creating),
            state_changed(ResourceState::Ok, "2026-03-02T00:00:00Z".parse().unwrap()),
            ResourceEvent::ResourceBackendIdSet {
                backend_id: "vm-backend-1".into(),
                at: "2026-03-03T00:00:00Z".parse().unwrap(),
            },
            ResourceEvent::ResourcePlanChanged {
                plan_uuid: Some(LARGE),
                limits: BTreeMap::new(),
                at: "2026-03-04T00:00:00Z".parse().unwrap(),
            },
        ];
        let mut resource = Resource::default();
        for event in events {
            let at = match &event {
                ResourceEvent::ResourceCreated { at, .. }
                | ResourceEvent::ResourceStateChanged { at, .. }
                | ResourceEvent::ResourcePlanChanged { at, .. }
                | ResourceEvent::ResourceBackendIdSet { at, .. }
                | ResourceEvent::ResourceLicenseLinked { at, .. }
                | ResourceEvent::ResourceRequestUpdated { at, .. } => *at,
            };
            resource.apply(event);
            assert_eq!(resource.modified, Some(at));
            assert_eq!(resource.created, Some(created_at()));
        }
    }

    #[test]
    fn it_should_round_trip_every_resource_state_through_its_api_name() {
        for state in ResourceState::ALL {
            assert_eq!(ResourceState::parse(state.as_str()), Some(state));
        }
        let names: Vec<&str> = ResourceState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "Creating",
                "OK",
                "Erred",
                "Updating",
                "Terminating",
                "Terminated"
            ]
        );
        assert_eq!(ResourceState::parse("Ok"), None);
        assert_eq!(ResourceState::parse("creating"), None);
        assert_eq!(ResourceState::default(), ResourceState::Creating);
    }

    #[test]
    fn it_should_name_resource_events_after_their_variant_at_version_1() {
        use cqrs_es::DomainEvent;
        let cases = [
            (created("", ResourceState::Creating), "ResourceCreated"),
            (
                state_changed(ResourceState::Ok, now()),
                "ResourceStateChanged",
            ),
            (
                ResourceEvent::ResourcePlanChanged {
                    plan_uuid: None,
                    limits: BTreeMap::new(),
                    at: now(),
                },
                "ResourcePlanChanged",
            ),
            (
                ResourceEvent::ResourceBackendIdSet {
                    backend_id: String::new(),
                    at: now(),
                },
                "ResourceBackendIdSet",
            ),
        ];
        for (event, name) in cases {
            assert_eq!(event.event_type(), name);
            assert_eq!(event.event_version(), "1");
        }
    }

    #[tokio::test]
    async fn it_should_keep_a_terminated_resource_terminated_when_a_late_order_settles() {
        for order_type in [OrderType::Create, OrderType::Update, OrderType::Terminate] {
            let events = outcome(
                history(ResourceState::Terminated),
                settle(order_type, OrderOutcome::Canceled),
            )
            .await;
            assert_eq!(events, Ok(vec![]), "{order_type:?}");
        }
    }

    fn follow() -> ResourceCommand {
        ResourceCommand::FollowCreateOrder {
            limits: limits(&[("cpu", 8)]),
            attributes: json!({"name": "vm-1", "flavor": "large"})
                .as_object()
                .unwrap()
                .clone(),
            at: now(),
        }
    }

    #[tokio::test]
    async fn it_should_follow_the_create_order_while_the_resource_is_being_created() {
        let expected = ResourceEvent::ResourceRequestUpdated {
            limits: limits(&[("cpu", 8)]),
            attributes: json!({"name": "vm-1", "flavor": "large"})
                .as_object()
                .unwrap()
                .clone(),
            at: now(),
        };
        TestFramework::<Resource>::with(())
            .given(history(ResourceState::Creating))
            .when_async(follow())
            .await
            .then_expect_events(vec![expected.clone()]);
        let mut resource = Resource::default();
        for event in history(ResourceState::Creating) {
            resource.apply(event);
        }
        resource.apply(expected);
        assert_eq!(resource.limits, limits(&[("cpu", 8)]));
        assert_eq!(resource.spec.unwrap().attributes["flavor"], "large");
    }

    #[tokio::test]
    async fn it_should_keep_its_own_limits_once_the_resource_exists() {
        for state in [
            ResourceState::Ok,
            ResourceState::Erred,
            ResourceState::Updating,
            ResourceState::Terminating,
            ResourceState::Terminated,
        ] {
            TestFramework::<Resource>::with(())
                .given(history(state))
                .when_async(follow())
                .await
                .then_expect_events(vec![]);
        }
    }
}
