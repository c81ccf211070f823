//! An order: a consumer's request to create, change or terminate a resource, moving through
//! consumer and provider review to execution and an outcome.
//!
//! ```text
//! pending-consumer → pending-provider → executing → done
//!        ↓ ↘ pending-project ↗     ↘ pending-start-date ↗   ↘ erred → (retry) executing
//!     rejected / canceled
//! ```
//!
//! Where an order goes after an approval depends on facts outside it (project start date,
//! whether the provider reviews orders of this offering type): the application decides
//! those and passes the next state in the command; the aggregate checks that the move is
//! one the state machine allows.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::resource::{OrderOutcome, ResourceCommand};
use crate::domain_event;

/// Order states with their API names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum OrderState {
    #[default]
    PendingConsumer,
    PendingProvider,
    PendingProject,
    PendingStartDate,
    Executing,
    Done,
    Erred,
    Canceled,
    Rejected,
}

impl OrderState {
    pub const ALL: [OrderState; 9] = [
        OrderState::PendingConsumer,
        OrderState::PendingProvider,
        OrderState::PendingProject,
        OrderState::PendingStartDate,
        OrderState::Executing,
        OrderState::Done,
        OrderState::Erred,
        OrderState::Canceled,
        OrderState::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::PendingConsumer => "pending-consumer",
            OrderState::PendingProvider => "pending-provider",
            OrderState::PendingProject => "pending-project",
            OrderState::PendingStartDate => "pending-start-date",
            OrderState::Executing => "executing",
            OrderState::Done => "done",
            OrderState::Erred => "erred",
            OrderState::Canceled => "canceled",
            OrderState::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Done, erred, canceled and rejected orders are finished.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderState::Done | OrderState::Erred | OrderState::Canceled | OrderState::Rejected
        )
    }
}

/// What an order does to its resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum OrderType {
    #[default]
    Create,
    Update,
    Terminate,
    Restore,
}

impl OrderType {
    pub const ALL: [OrderType; 4] = [
        OrderType::Create,
        OrderType::Update,
        OrderType::Terminate,
        OrderType::Restore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Create => "Create",
            OrderType::Update => "Update",
            OrderType::Terminate => "Terminate",
            OrderType::Restore => "Restore",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A PDF attached to an order, stored by content hash outside the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Attachment {
    pub sha256: String,
    pub filename: String,
    pub size: i64,
}

/// What a pending-consumer order asks for and what that costs: the parts of an order an
/// update replaces, whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderTerms {
    pub limits: BTreeMap<String, i64>,
    pub attributes: Map<String, Value>,
    pub start_date: Option<NaiveDate>,
    pub cost: Option<Decimal>,
    pub fixed_price: Decimal,
    pub activation_price: Decimal,
}

/// Everything fixed when an order is placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderSpec {
    pub uuid: Uuid,
    pub order_type: OrderType,
    pub resource_uuid: Uuid,
    pub offering_uuid: Uuid,
    pub project_uuid: Uuid,
    pub customer_uuid: Uuid,
    pub provider_customer_uuid: Uuid,
    pub plan_uuid: Option<Uuid>,
    pub old_plan_uuid: Option<Uuid>,
    pub limits: BTreeMap<String, i64>,
    pub old_limits: BTreeMap<String, i64>,
    pub attributes: Map<String, Value>,
    pub cost: Option<Decimal>,
    pub fixed_price: Decimal,
    pub activation_price: Decimal,
    pub created_by: Uuid,
    pub callback_url: Option<String>,
    pub request_comment: String,
    pub start_date: Option<NaiveDate>,
    pub slug: String,
}

/// The order's state; also the read model document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Order {
    pub spec: Option<OrderSpec>,
    pub state: OrderState,
    pub consumer_reviewed_by: Option<Uuid>,
    pub consumer_reviewed_at: Option<DateTime<Utc>>,
    pub provider_reviewed_by: Option<Uuid>,
    pub provider_reviewed_at: Option<DateTime<Utc>>,
    pub backend_id: String,
    pub error_message: String,
    pub error_traceback: String,
    pub output: String,
    pub termination_comment: Option<String>,
    pub consumer_rejection_comment: String,
    pub provider_rejection_comment: String,
    pub attachment: Option<Attachment>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub error_updated_at: Option<DateTime<Utc>>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub enum OrderCommand {
    /// Places an order; `consumer_reviewer` is set when consumer review is skipped, and
    /// `next` is where auto-approval leaves it.
    Place {
        spec: Box<OrderSpec>,
        consumer_reviewer: Option<Uuid>,
        next: OrderState,
        at: DateTime<Utc>,
    },
    /// Records a resource that came into being outside the order flow (an imported
    /// license): the order is done at once, reviewed on both sides by `reviewer`.
    RecordImport {
        spec: Box<OrderSpec>,
        reviewer: Uuid,
        at: DateTime<Utc>,
    },
    ApproveByConsumer {
        reviewer: Uuid,
        next: OrderState,
        at: DateTime<Utc>,
    },
    ApproveByProvider {
        reviewer: Uuid,
        attributes: Map<String, Value>,
        next: OrderState,
        at: DateTime<Utc>,
    },
    RejectByConsumer {
        reviewer: Uuid,
        error_message: String,
        error_traceback: String,
        comment: String,
        at: DateTime<Utc>,
    },
    RejectByProvider {
        reviewer: Uuid,
        comment: String,
        at: DateTime<Utc>,
    },
    Cancel {
        termination_comment: Option<String>,
        at: DateTime<Utc>,
    },
    SetStateExecuting {
        at: DateTime<Utc>,
    },
    SetStateDone {
        at: DateTime<Utc>,
    },
    SetStateErred {
        error_message: String,
        error_traceback: String,
        at: DateTime<Utc>,
    },
    Retry {
        at: DateTime<Utc>,
    },
    SetBackendId {
        backend_id: String,
        at: DateTime<Utc>,
    },
    AttachFile {
        attachment: Attachment,
        at: DateTime<Utc>,
    },
    /// The consumer changes what a pending-consumer order asks for; the application
    /// validates the new terms and prices them.
    Update {
        terms: OrderTerms,
        at: DateTime<Utc>,
    },
    RemoveAttachment {
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
    Unlink {
        at: DateTime<Utc>,
    },
}

// Events are short-lived values between the store and `apply`; boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrderEvent {
    OrderPlaced {
        spec: OrderSpec,
        at: DateTime<Utc>,
    },
    /// An audit order for a resource imported outside the order flow: done at once.
    OrderImported {
        spec: OrderSpec,
        reviewer: Uuid,
        at: DateTime<Utc>,
    },
    OrderApprovedByConsumer {
        reviewer: Uuid,
        at: DateTime<Utc>,
    },
    OrderApprovedByProvider {
        reviewer: Uuid,
        attributes: Map<String, Value>,
        at: DateTime<Utc>,
    },
    OrderAwaitingProvider {
        at: DateTime<Utc>,
    },
    OrderAwaitingProject {
        at: DateTime<Utc>,
    },
    OrderAwaitingStartDate {
        at: DateTime<Utc>,
    },
    OrderExecutionStarted {
        at: DateTime<Utc>,
    },
    OrderCompleted {
        at: DateTime<Utc>,
    },
    OrderFailed {
        error_message: String,
        error_traceback: String,
        at: DateTime<Utc>,
    },
    OrderErrorRecorded {
        error_message: String,
        error_traceback: String,
        at: DateTime<Utc>,
    },
    OrderRejectedByConsumer {
        reviewer: Uuid,
        error_message: String,
        error_traceback: String,
        comment: String,
        at: DateTime<Utc>,
    },
    OrderRejectedByProvider {
        reviewer: Uuid,
        comment: String,
        at: DateTime<Utc>,
    },
    OrderCanceled {
        termination_comment: Option<String>,
        at: DateTime<Utc>,
    },
    OrderRetried {
        at: DateTime<Utc>,
    },
    OrderBackendIdSet {
        backend_id: String,
        at: DateTime<Utc>,
    },
    OrderAttachmentAdded {
        attachment: Attachment,
        at: DateTime<Utc>,
    },
    OrderAttachmentRemoved {
        at: DateTime<Utc>,
    },
    OrderUpdated {
        terms: OrderTerms,
        at: DateTime<Utc>,
    },
    OrderDeleted {
        at: DateTime<Utc>,
    },
    OrderUnlinked {
        at: DateTime<Utc>,
    },
}

domain_event!(OrderEvent, version = "1", {
    OrderPlaced => "OrderPlaced",
    OrderApprovedByConsumer => "OrderApprovedByConsumer",
    OrderApprovedByProvider => "OrderApprovedByProvider",
    OrderAwaitingProvider => "OrderAwaitingProvider",
    OrderAwaitingProject => "OrderAwaitingProject",
    OrderAwaitingStartDate => "OrderAwaitingStartDate",
    OrderExecutionStarted => "OrderExecutionStarted",
    OrderCompleted => "OrderCompleted",
    OrderFailed => "OrderFailed",
    OrderErrorRecorded => "OrderErrorRecorded",
    OrderRejectedByConsumer => "OrderRejectedByConsumer",
    OrderRejectedByProvider => "OrderRejectedByProvider",
    OrderCanceled => "OrderCanceled",
    OrderRetried => "OrderRetried",
    OrderBackendIdSet => "OrderBackendIdSet",
    OrderAttachmentAdded => "OrderAttachmentAdded",
    OrderAttachmentRemoved => "OrderAttachmentRemoved",
    OrderUpdated => "OrderUpdated",
    OrderDeleted => "OrderDeleted",
    OrderUnlinked => "OrderUnlinked",
    OrderImported => "OrderImported",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("order already exists")]
    AlreadyExists,
    #[error("order does not exist")]
    NotFound,
    /// The operation is valid only in these states.
    #[error("valid states for operation: {valid:?}")]
    InvalidState { valid: Vec<OrderState> },
    #[error("the order was already reviewed by the consumer")]
    AlreadyReviewedByConsumer,
    #[error("the order has no attachment")]
    NoAttachment,
    #[error("{0} is not a state this step can lead to")]
    InvalidNextState(&'static str),
}

impl Aggregate for Order {
    const TYPE: &'static str = "order";
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;
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
        use OrderEvent::*;
        let event_at = event.at();
        match event {
            OrderPlaced { spec, at } => {
                *self = Order {
                    spec: Some(spec),
                    created: Some(at),
                    modified: Some(at),
                    ..Order::default()
                };
                return;
            }
            OrderImported { spec, reviewer, at } => {
                *self = Order {
                    spec: Some(spec),
                    state: OrderState::Done,
                    consumer_reviewed_by: Some(reviewer),
                    consumer_reviewed_at: Some(at),
                    provider_reviewed_by: Some(reviewer),
                    provider_reviewed_at: Some(at),
                    completed_at: Some(at),
                    created: Some(at),
                    modified: Some(at),
                    ..Order::default()
                };
                return;
            }
            OrderApprovedByConsumer { reviewer, at } => {
                self.consumer_reviewed_by = Some(reviewer);
                self.consumer_reviewed_at = Some(at);
            }
            OrderApprovedByProvider {
                reviewer,
                attributes,
                at,
            } => {
                self.provider_reviewed_by = Some(reviewer);
                self.provider_reviewed_at = Some(at);
                if let Some(spec) = self.spec.as_mut() {
                    spec.attributes.extend(attributes);
                }
            }
            OrderAwaitingProvider { .. } => self.state = OrderState::PendingProvider,
            OrderAwaitingProject { .. } => self.state = OrderState::PendingProject,
            OrderAwaitingStartDate { .. } => self.state = OrderState::PendingStartDate,
            OrderExecutionStarted { .. } => self.state = OrderState::Executing,
            OrderCompleted { at } => {
                self.state = OrderState::Done;
                self.completed_at = Some(at);
            }
            OrderFailed {
                error_message,
                error_traceback,
                at,
            } => {
                self.state = OrderState::Erred;
                self.completed_at = Some(at);
                self.record_error(error_message, error_traceback, at);
            }
            OrderErrorRecorded {
                error_message,
                error_traceback,
                at,
            } => self.record_error(error_message, error_traceback, at),
            OrderRejectedByConsumer {
                reviewer,
                error_message,
                error_traceback,
                comment,
                at,
            } => {
                self.consumer_reviewed_by = Some(reviewer);
                self.consumer_reviewed_at = Some(at);
                self.consumer_rejection_comment = comment;
                self.record_error(error_message, error_traceback, at);
                self.state = OrderState::Rejected;
                self.completed_at = Some(at);
            }
            OrderRejectedByProvider {
                reviewer,
                comment,
                at,
            } => {
                self.provider_reviewed_by = Some(reviewer);
                self.provider_reviewed_at = Some(at);
                self.provider_rejection_comment = comment;
                self.state = OrderState::Rejected;
                self.completed_at = Some(at);
            }
            OrderCanceled {
                termination_comment,
                at,
            } => {
                self.state = OrderState::Canceled;
                self.completed_at = Some(at);
                if termination_comment.is_some() {
                    self.termination_comment = termination_comment;
                }
            }
            OrderRetried { .. } => {
                self.state = OrderState::Executing;
                self.error_message.clear();
                self.error_traceback.clear();
                self.completed_at = None;
            }
            OrderBackendIdSet { backend_id, .. } => self.backend_id = backend_id,
            OrderAttachmentAdded { attachment, .. } => self.attachment = Some(attachment),
            OrderAttachmentRemoved { .. } => self.attachment = None,
            OrderUpdated { terms, .. } => {
                if let Some(spec) = self.spec.as_mut() {
                    spec.limits = terms.limits;
                    spec.attributes = terms.attributes;
                    spec.start_date = terms.start_date;
                    spec.cost = terms.cost;
                    spec.fixed_price = terms.fixed_price;
                    spec.activation_price = terms.activation_price;
                }
            }
            OrderDeleted { .. } | OrderUnlinked { .. } => self.deleted = true,
        }
        self.modified = Some(event_at);
    }
}

impl OrderEvent {
    /// When the event happened.
    pub fn at(&self) -> DateTime<Utc> {
        use OrderEvent::*;
        match self {
            OrderPlaced { at, .. }
            | OrderImported { at, .. }
            | OrderApprovedByConsumer { at, .. }
            | OrderApprovedByProvider { at, .. }
            | OrderAwaitingProvider { at }
            | OrderAwaitingProject { at }
            | OrderAwaitingStartDate { at }
            | OrderExecutionStarted { at }
            | OrderCompleted { at }
            | OrderFailed { at, .. }
            | OrderErrorRecorded { at, .. }
            | OrderRejectedByConsumer { at, .. }
            | OrderRejectedByProvider { at, .. }
            | OrderCanceled { at, .. }
            | OrderRetried { at }
            | OrderBackendIdSet { at, .. }
            | OrderAttachmentAdded { at, .. }
            | OrderAttachmentRemoved { at }
            | OrderUpdated { at, .. }
            | OrderDeleted { at }
            | OrderUnlinked { at } => *at,
        }
    }
}

impl OrderSpec {
    /// The command that settles this order's resource once the order ended with `outcome`.
    pub fn settlement(&self, outcome: OrderOutcome, at: DateTime<Utc>) -> ResourceCommand {
        ResourceCommand::SettleOrder {
            order_type: self.order_type,
            outcome,
            plan_uuid: self.plan_uuid,
            limits: self.limits.clone(),
            at,
        }
    }
}

impl Order {
    pub fn spec(&self) -> Option<&OrderSpec> {
        self.spec.as_ref()
    }

    fn record_error(&mut self, message: String, traceback: String, at: DateTime<Utc>) {
        let traceback = traceback.trim().to_string();
        if message != self.error_message || traceback != self.error_traceback {
            self.error_updated_at = Some(at);
        }
        self.error_message = message;
        self.error_traceback = traceback;
    }

    fn require_in(&self, valid: &[OrderState]) -> Result<(), OrderError> {
        if valid.contains(&self.state) {
            Ok(())
        } else {
            Err(OrderError::InvalidState {
                valid: valid.to_vec(),
            })
        }
    }

    /// The event that moves the order into `next` after an approval.
    fn arrive(next: OrderState, at: DateTime<Utc>) -> Result<OrderEvent, OrderError> {
        Ok(match next {
            OrderState::PendingProvider => OrderEvent::OrderAwaitingProvider { at },
            OrderState::PendingProject => OrderEvent::OrderAwaitingProject { at },
            OrderState::PendingStartDate => OrderEvent::OrderAwaitingStartDate { at },
            OrderState::Executing => OrderEvent::OrderExecutionStarted { at },
            other => return Err(OrderError::InvalidNextState(other.as_str())),
        })
    }

    fn decide(&self, command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
        use OrderCommand as C;
        use OrderEvent as E;
        use OrderState::*;
        if let C::Place {
            spec,
            consumer_reviewer,
            next,
            at,
        } = command
        {
            if self.spec.is_some() {
                return Err(OrderError::AlreadyExists);
            }
            // Leaving pending-consumer needs a consumer reviewer, and a reviewer leaves it.
            if consumer_reviewer.is_some() == (next == PendingConsumer) {
                return Err(OrderError::InvalidNextState(next.as_str()));
            }
            let mut events = vec![E::OrderPlaced { spec: *spec, at }];
            if let Some(reviewer) = consumer_reviewer {
                events.push(E::OrderApprovedByConsumer { reviewer, at });
            }
            if next != PendingConsumer {
                events.push(Self::arrive(next, at)?);
            }
            return Ok(events);
        }
        if let C::RecordImport { spec, reviewer, at } = command {
            if self.spec.is_some() {
                return Err(OrderError::AlreadyExists);
            }
            return Ok(vec![E::OrderImported {
                spec: *spec,
                reviewer,
                at,
            }]);
        }
        if self.spec.is_none() || self.deleted {
            return Err(OrderError::NotFound);
        }
        Ok(match command {
            C::Place { .. } | C::RecordImport { .. } => unreachable!("handled above"),
            C::ApproveByConsumer { reviewer, next, at } => {
                self.require_in(&[PendingConsumer])?;
                if next == PendingConsumer {
                    return Err(OrderError::InvalidNextState(next.as_str()));
                }
                vec![
                    E::OrderApprovedByConsumer { reviewer, at },
                    Self::arrive(next, at)?,
                ]
            }
            C::ApproveByProvider {
                reviewer,
                attributes,
                next,
                at,
            } => {
                self.require_in(&[PendingProvider])?;
                if !matches!(next, Executing | PendingStartDate) {
                    return Err(OrderError::InvalidNextState(next.as_str()));
                }
                vec![
                    E::OrderApprovedByProvider {
                        reviewer,
                        attributes,
                        at,
                    },
                    Self::arrive(next, at)?,
                ]
            }
            C::RejectByConsumer {
                reviewer,
                error_message,
                error_traceback,
                comment,
                at,
            } => {
                self.require_in(&[PendingConsumer])?;
                if self.consumer_reviewed_by.is_some() {
                    return Err(OrderError::AlreadyReviewedByConsumer);
                }
                vec![E::OrderRejectedByConsumer {
                    reviewer,
                    error_message,
                    error_traceback,
                    comment,
                    at,
                }]
            }
            C::RejectByProvider {
                reviewer,
                comment,
                at,
            } => {
                self.require_in(&[PendingProvider])?;
                vec![E::OrderRejectedByProvider {
                    reviewer,
                    comment,
                    at,
                }]
            }
            C::Cancel {
                termination_comment,
                at,
            } => {
                self.require_in(&[
                    PendingConsumer,
                    PendingProvider,
                    PendingStartDate,
                    Executing,
                ])?;
                vec![E::OrderCanceled {
                    termination_comment,
                    at,
                }]
            }
            C::SetStateExecuting { at } => {
                self.require_in(&[
                    PendingConsumer,
                    PendingProvider,
                    PendingProject,
                    PendingStartDate,
                    Erred,
                ])?;
                vec![E::OrderExecutionStarted { at }]
            }
            C::SetStateDone { at } => {
                self.require_in(&[Executing])?;
                vec![E::OrderCompleted { at }]
            }
            C::SetStateErred {
                error_message,
                error_traceback,
                at,
            } => {
                // Only an executing order fails; otherwise the error is recorded.
                if self.state == Executing {
                    vec![E::OrderFailed {
                        error_message,
                        error_traceback,
                        at,
                    }]
                } else {
                    vec![E::OrderErrorRecorded {
                        error_message,
                        error_traceback,
                        at,
                    }]
                }
            }
            C::Retry { at } => {
                self.require_in(&[Erred])?;
                vec![E::OrderRetried { at }]
            }
            C::SetBackendId { backend_id, at } => {
                if backend_id == self.backend_id {
                    vec![]
                } else {
                    vec![E::OrderBackendIdSet { backend_id, at }]
                }
            }
            C::AttachFile { attachment, at } => {
                self.require_in(&[PendingProject, PendingConsumer, PendingProvider])?;
                vec![E::OrderAttachmentAdded { attachment, at }]
            }
            C::Update { terms, at } => {
                self.require_in(&[PendingConsumer])?;
                let current = self.spec.as_ref().map(|spec| OrderTerms {
                    limits: spec.limits.clone(),
                    attributes: spec.attributes.clone(),
                    start_date: spec.start_date,
                    cost: spec.cost,
                    fixed_price: spec.fixed_price,
                    activation_price: spec.activation_price,
                });
                if current.as_ref() == Some(&terms) {
                    vec![]
                } else {
                    vec![E::OrderUpdated { terms, at }]
                }
            }
            C::RemoveAttachment { at } => {
                self.require_in(&[PendingProject, PendingConsumer, PendingProvider])?;
                if self.attachment.is_none() {
                    return Err(OrderError::NoAttachment);
                }
                vec![E::OrderAttachmentRemoved { at }]
            }
            C::Delete { at } => {
                self.require_in(&[PendingConsumer, PendingProvider])?;
                vec![E::OrderDeleted { at }]
            }
            C::Unlink { at } => vec![E::OrderUnlinked { at }],
        })
    }
}
