//! Edits of an offering's parts and the checks they share: whether the offering may be
//! edited at all, endpoints (with their URL rule), components (the OpenStack tenant's fixed
//! fields, components in use), plans (plans in use, archived plans, prices), and whether a
//! backend id is still free.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::{CustomerStanding, INVALID_URL, execute, has_resources};
use crate::app::Ledger;
use crate::app::error::AppError;
use crate::domain::offering::model::{Component, Endpoint, OfferingState, Plan};
use crate::domain::offering::{Offering, OfferingCommand, OfferingError};
use crate::store::metadata::CommandContext;

/// Waldur's OpenStack tenant components may not change these fields once created.
const TENANT_TYPE: &str = "OpenStack.Tenant";
const TENANT_PROTECTED: [&str; 4] = ["type", "name", "measured_unit", "billing_type"];

/// The update validators every edit runs first: an archived offering and an offering of a
/// blocked or archived customer are not edited.
pub fn check_editable(offering: &Offering, customer: CustomerStanding) -> Result<(), AppError> {
    if offering.state == OfferingState::Archived {
        return Err(AppError::invalid(
            "It is not possible to update archived offering.",
        ));
    }
    customer.require_available()
}

/// Adds an endpoint and returns its uuid.
pub async fn add_endpoint(
    ledger: &Ledger,
    offering: Uuid,
    name: String,
    url: String,
    ctx: &CommandContext,
) -> Result<Uuid, AppError> {
    if !Endpoint::is_valid_url(&url) {
        return Err(AppError::field("url", INVALID_URL));
    }
    let endpoint = Endpoint {
        uuid: Uuid::new_v4(),
        name,
        url,
    };
    let uuid = endpoint.uuid;
    let command = OfferingCommand::AddEndpoint {
        endpoint,
        at: ctx.now,
    };
    execute(ledger, offering, command, ctx).await?;
    Ok(uuid)
}

/// Changes a component with validated `changes`. The built-in components of an OpenStack
/// tenant keep their type, name, unit and billing.
pub async fn update_component(
    ledger: &Ledger,
    uuid: Uuid,
    offering: &Offering,
    component: Uuid,
    changes: Map<String, Value>,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    if offering.offering_type == TENANT_TYPE
        && TENANT_PROTECTED.iter().any(|f| changes.contains_key(*f))
    {
        return Err(AppError::invalid(
            "OpenStack offering components are not editable.",
        ));
    }
    let command = OfferingCommand::UpdateComponent {
        uuid: component,
        changes,
        at: ctx.now,
    };
    execute(ledger, uuid, command, ctx).await
}

/// Removes a component. An offering with resources keeps its components; Waldur asks
/// that before whether the component is built-in.
pub async fn remove_component(
    ledger: &Ledger,
    uuid: Uuid,
    component: &Component,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    let in_use = has_resources(&ledger.pool, uuid, None).await?;
    if in_use {
        return Err(OfferingError::ComponentInUse(component.name.clone()).into());
    }
    let command = OfferingCommand::RemoveComponent {
        uuid: component.uuid,
        has_resources: in_use,
        at: ctx.now,
    };
    execute(ledger, uuid, command, ctx).await
}

/// Refuses to edit a plan that resources use.
pub async fn check_plan_unused(pool: &PgPool, offering: Uuid, plan: Uuid) -> Result<(), AppError> {
    if has_resources(pool, offering, Some(plan)).await? {
        return Err(OfferingError::PlanInUse.into());
    }
    Ok(())
}

/// Changes a plan's fields (`changes` validated, only fields a plan update may write).
pub async fn update_plan(
    ledger: &Ledger,
    offering: Uuid,
    plan: Uuid,
    changes: Map<String, Value>,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    check_plan_unused(&ledger.pool, offering, plan).await?;
    let command = OfferingCommand::UpdatePlan {
        uuid: plan,
        changes,
        has_resources: false,
        at: ctx.now,
    };
    execute(ledger, offering, command, ctx).await
}

/// Archives a plan that is not archived yet.
pub async fn archive_plan(
    ledger: &Ledger,
    offering: Uuid,
    plan: &Plan,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    if plan.archived {
        return Err(OfferingError::PlanAlreadyArchived.into());
    }
    let command = OfferingCommand::ArchivePlan {
        uuid: plan.uuid,
        at: ctx.now,
    };
    execute(ledger, offering, command, ctx).await
}

/// Deletes a plan; one that resources use is kept (they refer to it).
pub async fn delete_plan(
    ledger: &Ledger,
    offering: Uuid,
    plan: Uuid,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    if has_resources(&ledger.pool, offering, Some(plan)).await? {
        return Err(AppError::State(
            "Cannot delete plan with existing resources".into(),
        ));
    }
    let command = OfferingCommand::DeletePlan {
        uuid: plan,
        at: ctx.now,
    };
    execute(ledger, offering, command, ctx).await
}

/// Refuses plan prices and quotas of a type whose plans its source manages.
pub fn check_plans_manageable(offering: &Offering) -> Result<(), AppError> {
    if offering.kind().is_some_and(|kind| !kind.manages_components) {
        return Err(OfferingError::NotManageable.into());
    }
    Ok(())
}

/// Sets a plan's prices: future prices once resources use the plan.
pub async fn set_plan_prices(
    ledger: &Ledger,
    offering: Uuid,
    plan: Uuid,
    prices: BTreeMap<String, Decimal>,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    let has_resources = has_resources(&ledger.pool, offering, Some(plan)).await?;
    let command = OfferingCommand::SetPlanPrices {
        uuid: plan,
        prices,
        has_resources,
        at: ctx.now,
    };
    execute(ledger, offering, command, ctx).await
}

/// How far a backend id must be unique: the offering's resources, or those of every
/// offering of its customer. With `use_offering_rules`, the offering's
/// `backend_id_rules.uniqueness.scope` decides when it names a scope.
pub fn backend_id_customer_wide(
    offering: &Offering,
    check_all_offerings: bool,
    use_offering_rules: bool,
) -> bool {
    if !use_offering_rules {
        return check_all_offerings;
    }
    let scope = offering
        .settings
        .backend_id_rules
        .get("uniqueness")
        .and_then(|u| u.get("scope"))
        .and_then(Value::as_str);
    match scope {
        Some("offering") => false,
        Some("customer" | "service_provider" | "provider") => true,
        _ => check_all_offerings,
    }
}

/// Whether no resource in the scope [`backend_id_customer_wide`] gives holds `backend_id`.
pub async fn backend_id_is_unique(
    pool: &PgPool,
    uuid: Uuid,
    offering: &Offering,
    backend_id: &str,
    customer_wide: bool,
) -> Result<bool, AppError> {
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM projection.resources r WHERE r.backend_id = $1 \
           AND (r.offering_uuid = $2 OR ($3 AND r.offering_uuid IN \
             (SELECT o.uuid FROM projection.offerings o WHERE o.customer_uuid = $4))))",
    )
    .bind(backend_id)
    .bind(uuid)
    .bind(customer_wide)
    .bind(offering.customer_uuid)
    .fetch_one(pool)
    .await?;
    Ok(!taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_scope(scope: Value) -> Offering {
        let mut offering = Offering::default();
        offering
            .settings
            .backend_id_rules
            .insert("uniqueness".into(), json!({"scope": scope}));
        offering
    }

    #[test]
    fn an_archived_offering_is_not_edited_whatever_its_customer() {
        let offering = Offering {
            state: OfferingState::Archived,
            ..Offering::default()
        };
        let blocked = CustomerStanding {
            blocked: true,
            archived: false,
        };
        let Err(AppError::Invalid(message)) = check_editable(&offering, blocked) else {
            panic!("refused");
        };
        assert_eq!(message, "It is not possible to update archived offering.");
        assert!(check_editable(&Offering::default(), blocked).is_err());
        assert!(check_editable(&Offering::default(), CustomerStanding::default()).is_ok());
    }

    #[test]
    fn the_offerings_rules_decide_the_backend_id_scope_only_when_asked() {
        let per_offering = with_scope(json!("offering"));
        let per_customer = with_scope(json!("service_provider"));
        let unknown = with_scope(json!("planet"));

        assert!(backend_id_customer_wide(&per_offering, true, false));
        assert!(!backend_id_customer_wide(&per_offering, true, true));
        assert!(backend_id_customer_wide(&per_customer, false, true));
        assert!(!backend_id_customer_wide(&unknown, false, true));
        assert!(backend_id_customer_wide(&unknown, true, true));
    }

    #[test]
    fn only_types_that_manage_their_plans_take_prices() {
        let remote = Offering {
            offering_type: "Waldur.RemoteOffering".into(),
            ..Offering::default()
        };
        let basic = Offering {
            offering_type: "Marketplace.Basic".into(),
            ..Offering::default()
        };
        assert!(matches!(
            check_plans_manageable(&remote),
            Err(AppError::Offering(OfferingError::NotManageable))
        ));
        assert!(check_plans_manageable(&basic).is_ok());
    }
}
