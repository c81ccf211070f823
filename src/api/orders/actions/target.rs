//! An order as its actions load it (the order, its offering, its consumer's standing), the
//! checks every action shares in Waldur's order, and running order commands: alone, with
//! the resource command the order's events call for, or with the resource settled.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::access::has_permission;
use crate::api::auth::Caller;
use crate::api::error::{ApiError, DomainError};
use crate::api::links::parse_path_uuid;
use crate::domain::offering::Offering;
use crate::domain::offering::types::OfferingType;
use crate::domain::order::{Order, OrderCommand, OrderError, OrderEvent, OrderSpec, OrderState};
use crate::domain::resource::{OrderOutcome, Resource, ResourceCommand};
use crate::read;
use crate::read::visibility::Scope;
use crate::store::metadata::CommandContext;

impl DomainError for OrderError {
    fn into_api(self) -> ApiError {
        match self {
            OrderError::NotFound => ApiError::NotFound("Order"),
            OrderError::InvalidState { valid } => {
                let names: Vec<&str> = valid.iter().map(|s| s.as_str()).collect();
                ApiError::invalid_state(&names)
            }
            OrderError::AlreadyReviewedByConsumer => {
                ApiError::invalid("Order is already reviewed by consumer.")
            }
            OrderError::NoAttachment => ApiError::NotFoundDetail("Not found.".to_string()),
            OrderError::AlreadyExists => ApiError::Conflict(self.to_string()),
            OrderError::InvalidNextState(_) => ApiError::internal(anyhow::anyhow!(self)),
        }
    }
}

/// An order as its actions need it: the order, its offering and its consumer side.
pub(in crate::api::orders) struct Target {
    pub(in crate::api::orders) uuid: Uuid,
    pub(in crate::api::orders) order: Order,
    pub(in crate::api::orders) spec: OrderSpec,
    pub(in crate::api::orders) offering: Offering,
    customer_blocked: bool,
    customer_archived: bool,
    project_name: String,
    pub(super) project_start_date: Option<NaiveDate>,
    project_end_date: Option<NaiveDate>,
}

/// The order if the caller sees it, else 404.
pub(in crate::api::orders) async fn load(
    state: &ApiState,
    caller: &Caller,
    raw_uuid: &str,
) -> Result<Target, ApiError> {
    let uuid = parse_path_uuid(raw_uuid, "Order")?;
    let row = read::orders::find_for_action(&state.ledger.pool, &caller.viewer(), uuid)
        .await?
        .ok_or(ApiError::NotFound("Order"))?;
    let order: Order = crate::api::orders::decode(&row.order_doc, "an order")?;
    let spec = order
        .spec
        .clone()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an order without its placement")))?;
    let offering: Offering = match &row.offering_doc {
        Some(doc) => crate::api::orders::decode(doc, "an offering")?,
        None => Offering::default(),
    };
    Ok(Target {
        uuid,
        order,
        spec,
        offering,
        customer_blocked: row.customer_blocked.unwrap_or(false),
        customer_archived: row.customer_archived.unwrap_or(false),
        project_name: row.project_name.unwrap_or_default(),
        project_start_date: row.project_start_date,
        project_end_date: row.project_end_date,
    })
}

impl Target {
    fn id(&self) -> String {
        self.uuid.simple().to_string()
    }

    pub(in crate::api::orders) fn consumer_scopes(&self) -> [Scope; 2] {
        [
            Scope::Project(self.spec.project_uuid),
            Scope::Customer(self.spec.customer_uuid),
        ]
    }

    pub(super) fn provider_scopes(&self) -> [Scope; 1] {
        [Scope::Customer(self.spec.provider_customer_uuid)]
    }

    /// 405 unless the offering's type supports the action.
    pub(super) fn require_type(
        &self,
        supports: impl Fn(&OfferingType) -> bool,
    ) -> Result<(), ApiError> {
        if self.offering.kind().is_some_and(supports) {
            Ok(())
        } else {
            Err(ApiError::MethodNotAllowed(format!(
                "The order's offering with {} type does not support this action",
                self.offering.offering_type
            )))
        }
    }

    /// 400 when the consumer's customer is blocked or archived.
    pub(in crate::api::orders) fn require_customer_ok(&self) -> Result<(), ApiError> {
        if self.customer_blocked {
            Err(ApiError::invalid("Blocked organization is not available."))
        } else if self.customer_archived {
            Err(ApiError::invalid("Archived organization is not available."))
        } else {
            Ok(())
        }
    }

    /// 400 when the project's end date has been reached.
    pub(in crate::api::orders) fn require_project_not_expired(
        &self,
        today: NaiveDate,
    ) -> Result<(), ApiError> {
        match self.project_end_date {
            Some(end) if end <= today => Err(ApiError::invalid(format!(
                "Project '{}' is expired.",
                self.project_name
            ))),
            _ => Ok(()),
        }
    }

    /// 409 unless the order is in one of `valid`.
    pub(in crate::api::orders) fn require_state(
        &self,
        valid: &[OrderState],
    ) -> Result<(), ApiError> {
        if valid.contains(&self.order.state) {
            Ok(())
        } else {
            let names: Vec<&str> = valid.iter().map(|s| s.as_str()).collect();
            Err(ApiError::invalid_state(&names))
        }
    }
}

pub(in crate::api::orders) async fn require(
    state: &ApiState,
    caller: &Caller,
    permission: &str,
    scopes: &[Scope],
) -> Result<(), ApiError> {
    if has_permission(state, caller, permission, scopes).await? {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

pub(in crate::api::orders) async fn run(
    state: &ApiState,
    target: &Target,
    command: OrderCommand,
    ctx: &CommandContext,
) -> Result<(), ApiError> {
    state
        .ledger
        .execute::<Order>(&target.id(), command, ctx)
        .await?;
    Ok(())
}

/// Runs `command` on the order and, in the same transaction, the resource command `then`
/// derives from the events it produced (none: the resource stays as it is).
pub(in crate::api::orders) async fn run_with_resource(
    state: &ApiState,
    target: &Target,
    command: OrderCommand,
    then: impl Fn(&[OrderEvent]) -> Option<ResourceCommand>,
    ctx: &CommandContext,
) -> Result<(), ApiError> {
    state
        .ledger
        .execute_pair::<Order, Resource>(
            (&target.id(), command),
            &target.spec.resource_uuid.simple().to_string(),
            |_, events| then(events),
            ctx,
        )
        .await?;
    Ok(())
}

/// Runs `command` on the order and settles its resource with `outcome`, together.
pub(super) async fn run_and_settle(
    state: &ApiState,
    target: &Target,
    command: OrderCommand,
    outcome: OrderOutcome,
    ctx: &CommandContext,
) -> Result<(), ApiError> {
    let settle = target.spec.settlement(outcome, ctx.now);
    run_with_resource(state, target, command, |_| Some(settle.clone()), ctx).await
}

/// What happens once an order executes: the synchronous processors (Basic, Support)
/// complete it at once; other types wait for their agent.
pub(super) async fn process(
    state: &ApiState,
    target: &Target,
    ctx: &CommandContext,
) -> Result<(), ApiError> {
    crate::app::orders::complete_if_synchronous(&state.ledger, &target.offering, &target.spec, ctx)
        .await?;
    Ok(())
}
