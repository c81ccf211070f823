//! A new offering: the one way every caller creates one. [`create_offering`] takes the
//! offering as typed values, adds the built-in components of its type, applies component
//! limits, checks its customer, allocates its slug and runs the command.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::app::Ledger;
use crate::app::error::AppError;
use crate::domain::offering::OfferingCommand;
use crate::domain::offering::model::{
    BillingType, Component, Endpoint, OfferingDetails, OfferingSettings, Plan, PlanUnit,
};
use crate::domain::offering::types::{self, OfferingType};
use crate::read::slugs;
use crate::store::metadata::CommandContext;

/// The limits a new offering puts on its components of one type (Waldur's `limits` of an
/// offering create); what is not given keeps the component's own value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComponentLimits {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub max_available_limit: Option<i64>,
}

/// An offering to create, as a provider describes it or a document or a remote Waldur
/// carries it. New offerings start in Draft.
#[derive(Debug, Clone)]
pub struct NewOffering {
    pub customer_uuid: Uuid,
    pub category_uuid: Uuid,
    pub project_uuid: Option<Uuid>,
    /// A registered type name ([`types::lookup`]).
    pub offering_type: String,
    /// See [`new_offering_details`] for the defaults of a new offering.
    pub details: OfferingDetails,
    pub settings: OfferingSettings,
    /// Components of the offering's own types. One named for a built-in type of the
    /// offering type is left out, as Waldur's create does: built-in components come from
    /// the type (or from [`NewOffering::builtins`]).
    pub components: Vec<Component>,
    /// Built-in components as a source describes them (an import, a remote offering): each
    /// takes the place of the type's own, keeping its built-in mark and factor. Built-in
    /// types not described here are made from the type.
    pub builtins: Vec<Component>,
    /// Limits by component type, built-in or not.
    pub limits: BTreeMap<String, ComponentLimits>,
    pub plans: Vec<Plan>,
    pub endpoints: Vec<Endpoint>,
}

/// The details of a new offering: shared and billable unless `changes` (validated detail
/// fields) say otherwise.
pub fn new_offering_details(changes: &Map<String, Value>) -> Result<OfferingDetails, AppError> {
    let base = OfferingDetails {
        shared: true,
        billable: true,
        ..OfferingDetails::default()
    };
    crate::domain::merge_changes(&base, changes)
        .map_err(|e| AppError::Store(anyhow::anyhow!(e).context("merging offering details")))
}

/// The settings of a new offering: the defaults with `changes` (validated settings fields)
/// written over them.
pub fn new_offering_settings(changes: &Map<String, Value>) -> OfferingSettings {
    crate::domain::merge_changes(&OfferingSettings::default(), changes).unwrap_or_default()
}

/// A new component from validated fields (the ones `changes` leaves out are empty).
pub fn new_component(changes: &Map<String, Value>, uuid: Uuid) -> Component {
    let base = Component {
        uuid,
        component_type: String::new(),
        name: String::new(),
        description: String::new(),
        billing_type: BillingType::Fixed,
        measured_unit: String::new(),
        limit_period: None,
        limit_amount: None,
        article_code: String::new(),
        min_value: None,
        max_value: None,
        max_available_limit: None,
        is_boolean: false,
        default_limit: None,
        factor: None,
        is_builtin: false,
        backend_id: String::new(),
    };
    crate::domain::merge_changes(&base, changes).unwrap_or(base)
}

/// A new plan from validated fields (no prices or quotas yet).
pub fn new_plan(changes: &Map<String, Value>, uuid: Uuid) -> Plan {
    let base = Plan {
        uuid,
        name: String::new(),
        description: String::new(),
        article_code: String::new(),
        max_amount: None,
        archived: false,
        unit_price: Decimal::ZERO,
        unit: PlanUnit::default(),
        backend_id: String::new(),
        prices: BTreeMap::new(),
        future_prices: BTreeMap::new(),
        quotas: BTreeMap::new(),
    };
    crate::domain::merge_changes(&base, changes).unwrap_or(base)
}

/// Fresh built-in components of a type, in the type's order, each with a new uuid.
pub fn builtin_components(kind: &OfferingType) -> Vec<Component> {
    kind.builtin_components
        .iter()
        .map(|builtin| builtin.component(Uuid::new_v4()))
        .collect()
}

/// The components a new offering starts with: the type's built-in ones first (as
/// described, else fresh), then its own, each with the limits named for its type.
fn initial_components(kind: &OfferingType, new: &NewOffering) -> Vec<Component> {
    let mut components: Vec<Component> = kind
        .builtin_components
        .iter()
        .map(|builtin| {
            match new
                .builtins
                .iter()
                .find(|c| c.component_type == builtin.component_type)
            {
                Some(described) => Component {
                    is_builtin: true,
                    factor: Some(builtin.factor),
                    ..described.clone()
                },
                None => builtin.component(Uuid::new_v4()),
            }
        })
        .collect();
    components.extend(
        new.components
            .iter()
            .filter(|c| !kind.is_builtin(&c.component_type))
            .cloned(),
    );
    for component in &mut components {
        if let Some(limits) = new.limits.get(&component.component_type) {
            component.min_value = limits.min.or(component.min_value);
            component.max_value = limits.max.or(component.max_value);
            component.max_available_limit =
                limits.max_available_limit.or(component.max_available_limit);
        }
    }
    components
}

/// Checks that the customer may own offerings: it exists, is a service provider, and is
/// neither blocked nor archived.
async fn check_customer(pool: &PgPool, customer: Uuid) -> Result<(), AppError> {
    let row: Option<(bool, bool, Option<Uuid>)> = sqlx::query_as(
        "SELECT blocked, archived, service_provider_uuid FROM projection.customers \
         WHERE uuid = $1",
    )
    .bind(customer)
    .fetch_optional(pool)
    .await?;
    let Some((blocked, archived, service_provider)) = row else {
        return Err(AppError::field(
            "customer",
            "Invalid hyperlink - Object does not exist.",
        ));
    };
    if service_provider.is_none() {
        return Err(AppError::field(
            "customer",
            "Customer should be a service provider.",
        ));
    }
    super::CustomerStanding { blocked, archived }.require_available()
}

/// Creates an offering in Draft and returns its uuid. The caller has checked that the actor
/// may create offerings for the customer.
pub async fn create_offering(
    ledger: &Ledger,
    new: NewOffering,
    ctx: &CommandContext,
) -> Result<Uuid, AppError> {
    let uuid = Uuid::new_v4();
    let slug = slugs::next(&ledger.pool, "offerings", &new.details.name).await?;
    create_offering_as(ledger, new, Placement::now(uuid, slug), ctx).await?;
    Ok(uuid)
}

/// Where a new offering goes: its uuid and slug, and whether to wait for the read models.
/// A batch (a sync run) chooses slugs for many offerings at once and waits once at its end.
#[derive(Debug, Clone)]
pub struct Placement {
    pub uuid: Uuid,
    pub slug: String,
    pub wait_for_read_models: bool,
}

impl Placement {
    /// Placed at once, read back by the next request.
    pub fn now(uuid: Uuid, slug: String) -> Self {
        Self {
            uuid,
            slug,
            wait_for_read_models: true,
        }
    }

    /// Placed without waiting for the read models.
    pub fn in_batch(uuid: Uuid, slug: String) -> Self {
        Self {
            wait_for_read_models: false,
            ..Self::now(uuid, slug)
        }
    }
}

/// [`create_offering`] with the uuid and slug chosen by the caller.
pub async fn create_offering_as(
    ledger: &Ledger,
    new: NewOffering,
    placement: Placement,
    ctx: &CommandContext,
) -> Result<(), AppError> {
    let kind = types::lookup(&new.offering_type)
        .ok_or_else(|| AppError::field("type", "Invalid value."))?;
    check_customer(&ledger.pool, new.customer_uuid).await?;
    if new
        .endpoints
        .iter()
        .any(|e| !Endpoint::is_valid_url(&e.url))
    {
        return Err(AppError::field("endpoints", super::INVALID_URL));
    }
    let components = initial_components(kind, &new);
    let uuid = placement.uuid;
    let command = OfferingCommand::Create {
        uuid,
        customer_uuid: new.customer_uuid,
        category_uuid: new.category_uuid,
        project_uuid: new.project_uuid,
        offering_type: kind.name.to_string(),
        slug: placement.slug,
        details: new.details,
        settings: new.settings,
        components,
        plans: new.plans,
        endpoints: new.endpoints,
        at: ctx.now,
    };
    if placement.wait_for_read_models {
        super::execute(ledger, uuid, command, ctx).await?;
    } else {
        ledger
            .execute_unprojected::<crate::domain::offering::Offering>(
                &uuid.simple().to_string(),
                command,
                ctx,
            )
            .await
            .map_err(AppError::from)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new_offering(offering_type: &str) -> NewOffering {
        NewOffering {
            customer_uuid: Uuid::from_u128(1),
            category_uuid: Uuid::from_u128(2),
            project_uuid: None,
            offering_type: offering_type.into(),
            details: OfferingDetails::default(),
            settings: OfferingSettings::default(),
            components: Vec::new(),
            builtins: Vec::new(),
            limits: BTreeMap::new(),
            plans: Vec::new(),
            endpoints: Vec::new(),
        }
    }

    fn own(component_type: &str) -> Component {
        Component {
            uuid: Uuid::new_v4(),
            component_type: component_type.into(),
            name: component_type.to_uppercase(),
            description: String::new(),
            billing_type: BillingType::Usage,
            measured_unit: String::new(),
            limit_period: None,
            limit_amount: None,
            article_code: String::new(),
            min_value: None,
            max_value: None,
            max_available_limit: None,
            is_boolean: false,
            default_limit: None,
            factor: None,
            is_builtin: false,
            backend_id: String::new(),
        }
    }

    fn types_of(components: &[Component]) -> Vec<&str> {
        components
            .iter()
            .map(|c| c.component_type.as_str())
            .collect()
    }

    #[test]
    fn every_type_gets_exactly_its_builtin_components() {
        for kind in types::TYPES {
            let components = builtin_components(kind);
            let expected: Vec<&str> = kind
                .builtin_components
                .iter()
                .map(|b| b.component_type)
                .collect();
            assert_eq!(types_of(&components), expected, "{}", kind.name);
            assert!(components.iter().all(|c| c.is_builtin), "{}", kind.name);
            for (component, builtin) in components.iter().zip(kind.builtin_components) {
                assert_eq!(component.factor, Some(builtin.factor));
                assert_eq!(component.billing_type, builtin.billing_type);
            }
        }
    }

    #[test]
    fn builtin_components_get_fresh_uuids() {
        let tenant = types::lookup("OpenStack.Tenant").unwrap();
        let first = builtin_components(tenant);
        let second = builtin_components(tenant);
        assert!(first.iter().zip(&second).all(|(a, b)| a.uuid != b.uuid));
    }

    #[test]
    fn a_type_without_builtins_starts_with_the_components_given() {
        let kind = types::lookup("Marketplace.Slurm").unwrap();
        let mut new = new_offering(kind.name);
        new.components = vec![own("cpu"), own("gpu")];

        let components = initial_components(kind, &new);

        assert_eq!(types_of(&components), ["cpu", "gpu"]);
        assert!(components.iter().all(|c| !c.is_builtin));
    }

    #[test]
    fn a_component_named_for_a_builtin_type_leaves_the_builtin_as_the_type_makes_it() {
        let kind = types::lookup("OpenStack.Tenant").unwrap();
        let mut new = new_offering(kind.name);
        new.components = vec![own("cores"), own("gpu")];

        let components = initial_components(kind, &new);

        // The extra one is kept for the aggregate to refuse.
        assert_eq!(types_of(&components), ["cores", "ram", "storage", "gpu"]);
        assert_eq!(components[0].name, "Cores");
        assert_eq!(components[0].billing_type, BillingType::Limit);
        assert!(components[0].is_builtin);
    }

    #[test]
    fn a_described_builtin_takes_the_types_place_and_stays_builtin() {
        let kind = types::lookup("OpenStack.Tenant").unwrap();
        let mut new = new_offering(kind.name);
        let mut ram = own("ram");
        ram.name = "Memory".into();
        new.builtins = vec![ram.clone()];

        let components = initial_components(kind, &new);

        assert_eq!(types_of(&components), ["cores", "ram", "storage"]);
        assert_eq!(components[1].uuid, ram.uuid);
        assert_eq!(components[1].name, "Memory");
        assert!(components[1].is_builtin);
        assert_eq!(components[1].factor, Some(1024));
    }

    #[test]
    fn limits_apply_to_builtin_and_own_components_and_keep_what_they_do_not_name() {
        let kind = types::lookup("OpenStack.Tenant").unwrap();
        let mut new = new_offering(kind.name);
        new.limits.insert(
            "cores".into(),
            ComponentLimits {
                min: Some(1),
                max: Some(64),
                max_available_limit: None,
            },
        );
        let slurm = types::lookup("Marketplace.Slurm").unwrap();
        let mut own_new = new_offering(slurm.name);
        let mut cpu = own("cpu");
        cpu.max_available_limit = Some(500);
        own_new.components = vec![cpu];
        own_new.limits.insert(
            "cpu".into(),
            ComponentLimits {
                max: Some(100),
                ..ComponentLimits::default()
            },
        );

        let tenant = initial_components(kind, &new);
        let own_components = initial_components(slurm, &own_new);

        assert_eq!(
            (tenant[0].min_value, tenant[0].max_value),
            (Some(1), Some(64))
        );
        assert_eq!(tenant[1].max_value, None);
        assert_eq!(own_components[0].max_value, Some(100));
        assert_eq!(own_components[0].max_available_limit, Some(500));
    }

    #[test]
    fn a_new_offering_is_shared_and_billable_unless_told_otherwise() {
        let plain = new_offering_details(&Map::new()).unwrap();
        let private = new_offering_details(
            json!({"name": "Private", "shared": false})
                .as_object()
                .unwrap(),
        )
        .unwrap();

        assert!(plain.shared && plain.billable);
        assert_eq!(private.name, "Private");
        assert!(!private.shared && private.billable);
    }

    #[test]
    fn new_settings_keep_the_defaults_they_do_not_change() {
        let settings = new_offering_settings(
            json!({"attributes": {"site": "north"}})
                .as_object()
                .unwrap(),
        );
        assert_eq!(settings.attributes["site"], "north");
        assert_eq!(settings.options, OfferingSettings::default().options);
    }
}
