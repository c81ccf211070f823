//! Given/when/then tests of the offering aggregate: creation, the lifecycle, edits of
//! details, settings, endpoints, components, partitions and plans, prices and quotas,
//! billing modes, moves, imports and deletion.

use std::collections::BTreeMap;

use super::*;
use cqrs_es::test::TestFramework;
use model::{LimitPeriod, PlanUnit};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------

fn at() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn later() -> DateTime<Utc> {
    "2026-02-01T12:30:00Z".parse().unwrap()
}

const OFFERING: Uuid = Uuid::from_u128(1);
const CUSTOMER: Uuid = Uuid::from_u128(2);
const CATEGORY: Uuid = Uuid::from_u128(3);
const PROJECT: Uuid = Uuid::from_u128(4);
const OTHER_CUSTOMER: Uuid = Uuid::from_u128(5);
const OTHER_CATEGORY: Uuid = Uuid::from_u128(6);

const CPU: Uuid = Uuid::from_u128(101);
const STORAGE: Uuid = Uuid::from_u128(102);
const LICENCE: Uuid = Uuid::from_u128(103);
const CORES: Uuid = Uuid::from_u128(111);
const RAM: Uuid = Uuid::from_u128(112);
const DISK: Uuid = Uuid::from_u128(113);

const BASIC_PLAN: Uuid = Uuid::from_u128(201);
const GOLD_PLAN: Uuid = Uuid::from_u128(202);

const DOCS: Uuid = Uuid::from_u128(301);
const API: Uuid = Uuid::from_u128(302);

const BATCH: Uuid = Uuid::from_u128(401);
const GPU_PARTITION: Uuid = Uuid::from_u128(402);

const UNKNOWN: Uuid = Uuid::from_u128(999);

fn changes(value: Value) -> Map<String, Value> {
    value.as_object().expect("changes are an object").clone()
}

fn component(uuid: Uuid, component_type: &str, billing_type: BillingType) -> Component {
    Component {
        uuid,
        component_type: component_type.into(),
        name: component_type.to_uppercase(),
        description: String::new(),
        billing_type,
        measured_unit: "units".into(),
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

fn builtin_component(uuid: Uuid, component_type: &str, billing_type: BillingType) -> Component {
    Component {
        is_builtin: true,
        limit_period: Some(LimitPeriod::Month),
        ..component(uuid, component_type, billing_type)
    }
}

/// A fixed-price component.
fn cpu() -> Component {
    component(CPU, "cpu", BillingType::Fixed)
}

/// A usage-billed component.
fn storage() -> Component {
    component(STORAGE, "storage", BillingType::Usage)
}

/// A one-time component.
fn licence() -> Component {
    component(LICENCE, "licence", BillingType::One)
}

/// The builtin components of an OpenStack.Tenant, billed monthly (limit).
fn tenant_components() -> Vec<Component> {
    vec![
        builtin_component(CORES, "cores", BillingType::Limit),
        builtin_component(RAM, "ram", BillingType::Limit),
        builtin_component(DISK, "storage", BillingType::Limit),
    ]
}

fn plan(uuid: Uuid, name: &str) -> Plan {
    Plan {
        uuid,
        name: name.into(),
        description: String::new(),
        article_code: String::new(),
        max_amount: None,
        archived: false,
        unit_price: Decimal::new(5, 1),
        unit: PlanUnit::Month,
        backend_id: String::new(),
        prices: BTreeMap::new(),
        future_prices: BTreeMap::new(),
        quotas: BTreeMap::new(),
    }
}

fn basic_plan() -> Plan {
    plan(BASIC_PLAN, "Basic")
}

fn priced_plan() -> Plan {
    Plan {
        prices: BTreeMap::from([
            ("cpu".to_string(), Decimal::new(15, 1)),
            ("storage".to_string(), Decimal::new(2, 2)),
        ]),
        ..plan(GOLD_PLAN, "Gold")
    }
}

fn endpoint(uuid: Uuid, name: &str) -> Endpoint {
    Endpoint {
        uuid,
        name: name.into(),
        url: format!("https://example.com/{}", name.to_lowercase()),
    }
}

fn partition(uuid: Uuid, name: &str, settings: Value) -> Partition {
    Partition {
        uuid,
        partition_name: name.into(),
        created: None,
        modified: None,
        settings: changes(settings),
    }
}

/// A partition as the state holds it after being added at `at()`.
fn stamped(partition: Partition) -> Partition {
    Partition {
        created: Some(at()),
        modified: Some(at()),
        ..partition
    }
}

fn details() -> OfferingDetails {
    OfferingDetails {
        name: "Cloud".into(),
        description: "Compute for everyone".into(),
        country: "EE".into(),
        shared: true,
        billable: true,
        ..Default::default()
    }
}

fn settings() -> OfferingSettings {
    OfferingSettings {
        attributes: changes(json!({"color": "blue"})),
        plugin_options: changes(json!({"auto_approve_remote_orders": false})),
        ..Default::default()
    }
}

fn created_as(offering_type: &str, components: Vec<Component>, plans: Vec<Plan>) -> OfferingEvent {
    OfferingEvent::OfferingCreated {
        uuid: OFFERING,
        customer_uuid: CUSTOMER,
        category_uuid: CATEGORY,
        project_uuid: Some(PROJECT),
        offering_type: offering_type.into(),
        slug: "cloud-1".into(),
        details: details(),
        settings: settings(),
        components,
        plans,
        endpoints: vec![endpoint(DOCS, "Docs")],
        at: at(),
    }
}

/// A Marketplace.Basic offering with a fixed and a usage component and one plan.
fn created() -> OfferingEvent {
    created_as(
        "Marketplace.Basic",
        vec![cpu(), storage()],
        vec![basic_plan()],
    )
}

fn created_without_plans() -> OfferingEvent {
    created_as("Marketplace.Basic", vec![cpu(), storage()], vec![])
}

fn tenant_created() -> OfferingEvent {
    created_as("OpenStack.Tenant", tenant_components(), vec![basic_plan()])
}

fn remote_created() -> OfferingEvent {
    created_as("Waldur.RemoteOffering", vec![cpu()], vec![basic_plan()])
}

fn create_command(
    offering_type: &str,
    components: Vec<Component>,
    plans: Vec<Plan>,
) -> OfferingCommand {
    OfferingCommand::Create {
        uuid: OFFERING,
        customer_uuid: CUSTOMER,
        category_uuid: CATEGORY,
        project_uuid: Some(PROJECT),
        offering_type: offering_type.into(),
        slug: "cloud-1".into(),
        details: details(),
        settings: settings(),
        components,
        plans,
        endpoints: vec![endpoint(DOCS, "Docs")],
        at: at(),
    }
}

fn transition(action: Lifecycle) -> OfferingCommand {
    OfferingCommand::Transition {
        action,
        paused_reason: None,
        at: at(),
    }
}

fn activated() -> OfferingEvent {
    OfferingEvent::OfferingActivated { at: at() }
}

fn paused() -> OfferingEvent {
    OfferingEvent::OfferingPaused {
        paused_reason: "maintenance".into(),
        at: at(),
    }
}

fn made_unavailable() -> OfferingEvent {
    OfferingEvent::OfferingMadeUnavailable { at: at() }
}

fn archived() -> OfferingEvent {
    OfferingEvent::OfferingArchived { at: at() }
}

fn deleted() -> OfferingEvent {
    OfferingEvent::OfferingDeleted { at: at() }
}

fn plan_archived(uuid: Uuid) -> OfferingEvent {
    OfferingEvent::PlanArchived { uuid, at: at() }
}

fn partitions_added() -> Vec<OfferingEvent> {
    vec![
        OfferingEvent::OfferingPartitionAdded {
            partition: partition(BATCH, "batch", json!({"max_time": 60, "priority": 1})),
            at: at(),
        },
        OfferingEvent::OfferingPartitionAdded {
            partition: partition(GPU_PARTITION, "gpu", json!({})),
            at: at(),
        },
    ]
}

/// The events that bring a fresh offering (with a plan) into each state.
fn in_state(state: OfferingState) -> Vec<OfferingEvent> {
    match state {
        OfferingState::Draft => vec![created()],
        OfferingState::Active => vec![created(), activated()],
        OfferingState::Paused => vec![created(), activated(), paused()],
        OfferingState::Unavailable => vec![created(), activated(), made_unavailable()],
        OfferingState::Archived => vec![created(), archived()],
    }
}

/// An offering built by applying events one after another.
fn replay(events: Vec<OfferingEvent>) -> Offering {
    let mut offering = Offering::default();
    for event in events {
        offering.apply(event);
    }
    offering
}

/// The outcome of one command on an offering with this history.
async fn outcome(
    given: Vec<OfferingEvent>,
    command: OfferingCommand,
) -> Result<Vec<OfferingEvent>, OfferingError> {
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(command)
        .await
        .inspect_result()
}

/// One command of every kind other than Create, each valid on the offering `created()`.
fn every_command_but_create() -> Vec<OfferingCommand> {
    use OfferingCommand as C;
    vec![
        transition(Lifecycle::Activate),
        transition(Lifecycle::Archive),
        C::UpdateDetails {
            changes: changes(json!({"name": "Cloud 2"})),
            at: at(),
        },
        C::UpdateSettings {
            changes: changes(json!({"attributes": {}})),
            at: at(),
        },
        C::ChangeCategory {
            category_uuid: OTHER_CATEGORY,
            at: at(),
        },
        C::AddEndpoint {
            endpoint: endpoint(API, "API"),
            at: at(),
        },
        C::RemoveEndpoint {
            uuid: DOCS,
            at: at(),
        },
        C::AddComponent {
            component: licence(),
            at: at(),
        },
        C::UpdateComponent {
            uuid: CPU,
            changes: changes(json!({"name": "vCPU"})),
            at: at(),
        },
        C::RemoveComponent {
            uuid: STORAGE,
            has_resources: false,
            at: at(),
        },
        C::AddPartition {
            partition: partition(BATCH, "batch", json!({})),
            at: at(),
        },
        C::UpdatePartition {
            uuid: BATCH,
            partition_name: None,
            settings: Map::new(),
            at: at(),
        },
        C::RemovePartition {
            uuid: BATCH,
            at: at(),
        },
        C::AddPlan {
            plan: plan(GOLD_PLAN, "Gold"),
            at: at(),
        },
        C::UpdatePlan {
            uuid: BASIC_PLAN,
            changes: changes(json!({"name": "Basic 2"})),
            has_resources: false,
            at: at(),
        },
        C::ArchivePlan {
            uuid: BASIC_PLAN,
            at: at(),
        },
        C::DeletePlan {
            uuid: BASIC_PLAN,
            at: at(),
        },
        C::SetPlanPrices {
            uuid: BASIC_PLAN,
            prices: BTreeMap::new(),
            has_resources: false,
            at: at(),
        },
        C::SetPlanQuotas {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::new(),
            at: at(),
        },
        C::SwitchBillingMode {
            mode: BillingMode::Usage,
            at: at(),
        },
        C::Move {
            customer_uuid: OTHER_CUSTOMER,
            at: at(),
        },
        C::Import {
            content: imported_content(),
            at: at(),
        },
        C::Delete { at: at() },
    ]
}

fn imported_content() -> ImportedContent {
    ImportedContent {
        details: OfferingDetails {
            name: "Imported".into(),
            ..Default::default()
        },
        settings: OfferingSettings::default(),
        offering_type: "Marketplace.Slurm".into(),
        components: vec![component(LICENCE, "node_hours", BillingType::Usage)],
        plans: vec![plan(GOLD_PLAN, "Imported plan")],
        endpoints: vec![endpoint(API, "API")],
    }
}

// ---------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_create_an_offering_with_everything() {
    TestFramework::<Offering>::with(())
        .given_no_previous_events()
        .when_async(create_command(
            "Marketplace.Basic",
            vec![cpu(), storage()],
            vec![basic_plan()],
        ))
        .await
        .then_expect_events(vec![created()]);
}

#[tokio::test]
async fn it_should_create_an_offering_without_components_plans_or_endpoints() {
    let command = OfferingCommand::Create {
        uuid: OFFERING,
        customer_uuid: CUSTOMER,
        category_uuid: CATEGORY,
        project_uuid: None,
        offering_type: "Marketplace.Slurm".into(),
        slug: "hpc".into(),
        details: OfferingDetails::default(),
        settings: OfferingSettings::default(),
        components: vec![],
        plans: vec![],
        endpoints: vec![],
        at: at(),
    };
    TestFramework::<Offering>::with(())
        .given_no_previous_events()
        .when_async(command)
        .await
        .then_expect_events(vec![OfferingEvent::OfferingCreated {
            uuid: OFFERING,
            customer_uuid: CUSTOMER,
            category_uuid: CATEGORY,
            project_uuid: None,
            offering_type: "Marketplace.Slurm".into(),
            slug: "hpc".into(),
            details: OfferingDetails::default(),
            settings: OfferingSettings::default(),
            components: vec![],
            plans: vec![],
            endpoints: vec![],
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_create_an_offering_of_an_unknown_type() {
    TestFramework::<Offering>::with(())
        .given_no_previous_events()
        .when_async(create_command("Nope.Nothing", vec![], vec![]))
        .await
        .then_expect_error(OfferingError::UnknownType("Nope.Nothing".into()));
}

#[tokio::test]
async fn it_should_create_a_tenant_with_its_builtin_components() {
    TestFramework::<Offering>::with(())
        .given_no_previous_events()
        .when_async(create_command(
            "OpenStack.Tenant",
            tenant_components(),
            vec![basic_plan()],
        ))
        .await
        .then_expect_events(vec![tenant_created()]);
}

#[tokio::test]
async fn it_should_create_a_tenant_with_only_some_of_its_builtin_components() {
    let components = vec![builtin_component(RAM, "ram", BillingType::Limit)];
    TestFramework::<Offering>::with(())
        .given_no_previous_events()
        .when_async(create_command(
            "OpenStack.Tenant",
            components.clone(),
            vec![],
        ))
        .await
        .then_expect_events(vec![created_as("OpenStack.Tenant", components, vec![])]);
}

#[tokio::test]
async fn it_should_not_create_a_tenant_with_a_component_outside_its_builtin_ones() {
    let mut components = tenant_components();
    components.push(component(Uuid::from_u128(120), "gpu", BillingType::Limit));
    TestFramework::<Offering>::with(())
        .given_no_previous_events()
        .when_async(create_command("OpenStack.Tenant", components, vec![]))
        .await
        .then_expect_error(OfferingError::ExtraComponents);
}

#[tokio::test]
async fn it_should_accept_any_component_on_a_type_without_builtin_components() {
    let components = vec![
        component(Uuid::from_u128(120), "gpu", BillingType::Usage),
        component(Uuid::from_u128(121), "ram", BillingType::Limit),
    ];
    TestFramework::<Offering>::with(())
        .given_no_previous_events()
        .when_async(create_command(
            "Marketplace.Slurm",
            components.clone(),
            vec![],
        ))
        .await
        .then_expect_events(vec![created_as("Marketplace.Slurm", components, vec![])]);
}

#[tokio::test]
async fn it_should_not_create_an_offering_with_duplicate_component_types() {
    let components = vec![
        cpu(),
        storage(),
        component(Uuid::from_u128(120), "cpu", BillingType::Usage),
    ];
    TestFramework::<Offering>::with(())
        .given_no_previous_events()
        .when_async(create_command("Marketplace.Basic", components, vec![]))
        .await
        .then_expect_error(OfferingError::DuplicateComponent("cpu".into()));
}

#[tokio::test]
async fn it_should_not_create_a_tenant_with_a_builtin_component_twice() {
    let components = vec![
        builtin_component(RAM, "ram", BillingType::Limit),
        builtin_component(Uuid::from_u128(120), "ram", BillingType::Usage),
    ];
    TestFramework::<Offering>::with(())
        .given_no_previous_events()
        .when_async(create_command("OpenStack.Tenant", components, vec![]))
        .await
        .then_expect_error(OfferingError::DuplicateComponent("ram".into()));
}

#[tokio::test]
async fn it_should_not_create_an_offering_twice() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(create_command("Marketplace.Basic", vec![], vec![]))
        .await
        .then_expect_error(OfferingError::AlreadyExists);
}

#[tokio::test]
async fn it_should_not_create_an_offering_again_after_it_was_deleted() {
    TestFramework::<Offering>::with(())
        .given(vec![created(), deleted()])
        .when_async(create_command("Marketplace.Basic", vec![], vec![]))
        .await
        .then_expect_error(OfferingError::AlreadyExists);
}

#[tokio::test]
async fn it_should_refuse_every_other_command_on_an_offering_that_does_not_exist() {
    for command in every_command_but_create() {
        let result = outcome(vec![], command.clone()).await;
        assert_eq!(result, Err(OfferingError::NotFound), "{command:?}");
    }
}

#[tokio::test]
async fn it_should_start_as_a_draft_with_everything_it_was_created_with() {
    let offering = replay(vec![created()]);
    assert_eq!(offering.uuid, Some(OFFERING));
    assert_eq!(offering.customer_uuid, CUSTOMER);
    assert_eq!(offering.category_uuid, CATEGORY);
    assert_eq!(offering.project_uuid, Some(PROJECT));
    assert_eq!(offering.offering_type, "Marketplace.Basic");
    assert_eq!(offering.slug, "cloud-1");
    assert_eq!(offering.state, OfferingState::Draft);
    assert_eq!(offering.paused_reason, "");
    assert_eq!(offering.details, details());
    assert_eq!(offering.settings, settings());
    assert_eq!(offering.components, vec![cpu(), storage()]);
    assert_eq!(offering.plans, vec![basic_plan()]);
    assert_eq!(offering.endpoints, vec![endpoint(DOCS, "Docs")]);
    assert!(offering.partitions.is_empty());
    assert_eq!(offering.created, Some(at()));
    assert_eq!(offering.modified, Some(at()));
    assert!(!offering.deleted);
    assert_eq!(offering.kind().unwrap().name, "Marketplace.Basic");
}

// ---------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_activate_a_draft_with_a_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(transition(Lifecycle::Activate))
        .await
        .then_expect_events(vec![activated()]);
}

#[tokio::test]
async fn it_should_not_activate_an_offering_without_plans() {
    TestFramework::<Offering>::with(())
        .given(vec![created_without_plans()])
        .when_async(transition(Lifecycle::Activate))
        .await
        .then_expect_error(OfferingError::NoPlans);
}

#[tokio::test]
async fn it_should_not_activate_an_offering_whose_plans_are_all_archived() {
    TestFramework::<Offering>::with(())
        .given(vec![created(), plan_archived(BASIC_PLAN)])
        .when_async(transition(Lifecycle::Activate))
        .await
        .then_expect_error(OfferingError::NoPlans);
}

#[tokio::test]
async fn it_should_not_activate_an_offering_whose_only_plan_was_deleted() {
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::PlanDeleted {
                uuid: BASIC_PLAN,
                at: at(),
            },
        ])
        .when_async(transition(Lifecycle::Activate))
        .await
        .then_expect_error(OfferingError::NoPlans);
}

#[tokio::test]
async fn it_should_activate_an_offering_with_one_archived_and_one_live_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::PlanAdded {
                plan: plan(GOLD_PLAN, "Gold"),
                at: at(),
            },
            plan_archived(BASIC_PLAN),
        ])
        .when_async(transition(Lifecycle::Activate))
        .await
        .then_expect_events(vec![activated()]);
}

#[tokio::test]
async fn it_should_activate_a_paused_or_unavailable_offering() {
    for state in [OfferingState::Paused, OfferingState::Unavailable] {
        TestFramework::<Offering>::with(())
            .given(in_state(state))
            .when_async(transition(Lifecycle::Activate))
            .await
            .then_expect_events(vec![activated()]);
    }
}

#[tokio::test]
async fn it_should_not_activate_an_active_or_archived_offering() {
    for state in [OfferingState::Active, OfferingState::Archived] {
        TestFramework::<Offering>::with(())
            .given(in_state(state))
            .when_async(transition(Lifecycle::Activate))
            .await
            .then_expect_error(OfferingError::InvalidState);
    }
}

#[tokio::test]
async fn it_should_pause_an_active_offering_with_its_reason() {
    TestFramework::<Offering>::with(())
        .given(in_state(OfferingState::Active))
        .when_async(OfferingCommand::Transition {
            action: Lifecycle::Pause,
            paused_reason: Some("maintenance".into()),
            at: at(),
        })
        .await
        .then_expect_events(vec![paused()]);
}

#[tokio::test]
async fn it_should_pause_without_a_reason_as_an_empty_reason() {
    TestFramework::<Offering>::with(())
        .given(in_state(OfferingState::Active))
        .when_async(transition(Lifecycle::Pause))
        .await
        .then_expect_events(vec![OfferingEvent::OfferingPaused {
            paused_reason: String::new(),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_only_pause_an_active_offering() {
    for state in [
        OfferingState::Draft,
        OfferingState::Paused,
        OfferingState::Unavailable,
        OfferingState::Archived,
    ] {
        TestFramework::<Offering>::with(())
            .given(in_state(state))
            .when_async(transition(Lifecycle::Pause))
            .await
            .then_expect_error(OfferingError::InvalidState);
    }
}

#[tokio::test]
async fn it_should_store_the_paused_reason_in_the_state() {
    let offering = replay(in_state(OfferingState::Paused));
    assert_eq!(offering.state, OfferingState::Paused);
    assert_eq!(offering.paused_reason, "maintenance");
}

#[tokio::test]
async fn it_should_unpause_a_paused_offering() {
    TestFramework::<Offering>::with(())
        .given(in_state(OfferingState::Paused))
        .when_async(transition(Lifecycle::Unpause))
        .await
        .then_expect_events(vec![OfferingEvent::OfferingUnpaused { at: at() }]);
}

#[tokio::test]
async fn it_should_not_unpause_an_offering_whose_plans_were_archived_while_paused() {
    let mut given = in_state(OfferingState::Paused);
    given.push(plan_archived(BASIC_PLAN));
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(transition(Lifecycle::Unpause))
        .await
        .then_expect_error(OfferingError::NoPlans);
}

#[tokio::test]
async fn it_should_only_unpause_a_paused_offering() {
    for state in [
        OfferingState::Draft,
        OfferingState::Active,
        OfferingState::Unavailable,
        OfferingState::Archived,
    ] {
        TestFramework::<Offering>::with(())
            .given(in_state(state))
            .when_async(transition(Lifecycle::Unpause))
            .await
            .then_expect_error(OfferingError::InvalidState);
    }
}

#[tokio::test]
async fn it_should_make_an_active_offering_unavailable() {
    TestFramework::<Offering>::with(())
        .given(in_state(OfferingState::Active))
        .when_async(transition(Lifecycle::MakeUnavailable))
        .await
        .then_expect_events(vec![made_unavailable()]);
}

#[tokio::test]
async fn it_should_only_make_an_active_offering_unavailable() {
    for state in [
        OfferingState::Draft,
        OfferingState::Paused,
        OfferingState::Unavailable,
        OfferingState::Archived,
    ] {
        TestFramework::<Offering>::with(())
            .given(in_state(state))
            .when_async(transition(Lifecycle::MakeUnavailable))
            .await
            .then_expect_error(OfferingError::InvalidState);
    }
}

#[tokio::test]
async fn it_should_make_an_unavailable_offering_available() {
    TestFramework::<Offering>::with(())
        .given(in_state(OfferingState::Unavailable))
        .when_async(transition(Lifecycle::MakeAvailable))
        .await
        .then_expect_events(vec![OfferingEvent::OfferingMadeAvailable { at: at() }]);
}

#[tokio::test]
async fn it_should_only_make_an_unavailable_offering_available() {
    for state in [
        OfferingState::Draft,
        OfferingState::Active,
        OfferingState::Paused,
        OfferingState::Archived,
    ] {
        TestFramework::<Offering>::with(())
            .given(in_state(state))
            .when_async(transition(Lifecycle::MakeAvailable))
            .await
            .then_expect_error(OfferingError::InvalidState);
    }
}

#[tokio::test]
async fn it_should_archive_an_offering_from_any_state() {
    for state in OfferingState::ALL {
        TestFramework::<Offering>::with(())
            .given(in_state(state))
            .when_async(transition(Lifecycle::Archive))
            .await
            .then_expect_events(vec![archived()]);
    }
}

#[tokio::test]
async fn it_should_archive_an_offering_without_plans() {
    TestFramework::<Offering>::with(())
        .given(vec![created_without_plans()])
        .when_async(transition(Lifecycle::Archive))
        .await
        .then_expect_events(vec![archived()]);
}

#[tokio::test]
async fn it_should_return_an_offering_to_draft_from_any_state() {
    for state in OfferingState::ALL {
        TestFramework::<Offering>::with(())
            .given(in_state(state))
            .when_async(transition(Lifecycle::Draft))
            .await
            .then_expect_events(vec![OfferingEvent::OfferingReturnedToDraft { at: at() }]);
    }
}

/// The whole transition table: every action from every state.
#[tokio::test]
async fn it_should_allow_exactly_the_documented_transitions() {
    use Lifecycle as L;
    use OfferingState as S;
    let actions = [
        L::Activate,
        L::Pause,
        L::Unpause,
        L::Archive,
        L::Draft,
        L::MakeUnavailable,
        L::MakeAvailable,
    ];
    for state in S::ALL {
        for action in actions {
            let expected: Result<Vec<OfferingEvent>, OfferingError> = match (action, state) {
                (L::Activate, S::Draft | S::Paused | S::Unavailable) => Ok(vec![activated()]),
                (L::Pause, S::Active) => Ok(vec![OfferingEvent::OfferingPaused {
                    paused_reason: String::new(),
                    at: at(),
                }]),
                (L::Unpause, S::Paused) => Ok(vec![OfferingEvent::OfferingUnpaused { at: at() }]),
                (L::MakeUnavailable, S::Active) => Ok(vec![made_unavailable()]),
                (L::MakeAvailable, S::Unavailable) => {
                    Ok(vec![OfferingEvent::OfferingMadeAvailable { at: at() }])
                }
                (L::Archive, _) => Ok(vec![archived()]),
                (L::Draft, _) => Ok(vec![OfferingEvent::OfferingReturnedToDraft { at: at() }]),
                _ => Err(OfferingError::InvalidState),
            };
            let result = outcome(in_state(state), transition(action)).await;
            assert_eq!(result, expected, "{action:?} from {state:?}");
        }
    }
}

#[tokio::test]
async fn it_should_land_in_the_state_each_lifecycle_event_names() {
    use OfferingEvent as E;
    let cases = [
        (activated(), OfferingState::Active),
        (paused(), OfferingState::Paused),
        (E::OfferingUnpaused { at: at() }, OfferingState::Active),
        (made_unavailable(), OfferingState::Unavailable),
        (E::OfferingMadeAvailable { at: at() }, OfferingState::Active),
        (archived(), OfferingState::Archived),
        (
            E::OfferingReturnedToDraft { at: at() },
            OfferingState::Draft,
        ),
    ];
    for (event, state) in cases {
        let offering = replay(vec![created(), event.clone()]);
        assert_eq!(offering.state, state, "{event:?}");
    }
}

#[tokio::test]
async fn it_should_refuse_a_transition_on_a_deleted_offering() {
    TestFramework::<Offering>::with(())
        .given(vec![created(), deleted()])
        .when_async(transition(Lifecycle::Archive))
        .await
        .then_expect_error(OfferingError::NotFound);
}

// ---------------------------------------------------------------------------------------
// Archived offerings
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_refuse_edits_of_an_archived_offering() {
    use OfferingCommand as C;
    let given = vec![
        created(),
        OfferingEvent::OfferingPartitionAdded {
            partition: partition(BATCH, "batch", json!({})),
            at: at(),
        },
        archived(),
    ];
    let edits = vec![
        C::UpdateDetails {
            changes: changes(json!({"name": "Cloud 2"})),
            at: at(),
        },
        C::UpdateSettings {
            changes: changes(json!({"attributes": {}})),
            at: at(),
        },
        C::ChangeCategory {
            category_uuid: OTHER_CATEGORY,
            at: at(),
        },
        C::AddEndpoint {
            endpoint: endpoint(API, "API"),
            at: at(),
        },
        C::RemoveEndpoint {
            uuid: DOCS,
            at: at(),
        },
        C::AddComponent {
            component: licence(),
            at: at(),
        },
        C::UpdateComponent {
            uuid: CPU,
            changes: changes(json!({"name": "vCPU"})),
            at: at(),
        },
        C::RemoveComponent {
            uuid: STORAGE,
            has_resources: false,
            at: at(),
        },
        C::AddPartition {
            partition: partition(GPU_PARTITION, "gpu", json!({})),
            at: at(),
        },
        C::UpdatePartition {
            uuid: BATCH,
            partition_name: Some("batch2".into()),
            settings: Map::new(),
            at: at(),
        },
        C::RemovePartition {
            uuid: BATCH,
            at: at(),
        },
        C::AddPlan {
            plan: plan(GOLD_PLAN, "Gold"),
            at: at(),
        },
        C::SwitchBillingMode {
            mode: BillingMode::Usage,
            at: at(),
        },
    ];
    for command in edits {
        let result = outcome(given.clone(), command.clone()).await;
        assert_eq!(result, Err(OfferingError::Archived), "{command:?}");
    }
}

#[tokio::test]
async fn it_should_not_update_the_details_of_an_archived_offering() {
    TestFramework::<Offering>::with(())
        .given(in_state(OfferingState::Archived))
        .when_async(OfferingCommand::UpdateDetails {
            changes: changes(json!({"description": "gone"})),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::Archived);
}

#[tokio::test]
async fn it_should_not_add_a_component_to_an_archived_offering() {
    TestFramework::<Offering>::with(())
        .given(in_state(OfferingState::Archived))
        .when_async(OfferingCommand::AddComponent {
            component: licence(),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::Archived);
}

#[tokio::test]
async fn it_should_allow_edits_again_once_an_archived_offering_returns_to_draft() {
    let mut given = in_state(OfferingState::Archived);
    given.push(OfferingEvent::OfferingReturnedToDraft { at: at() });
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(OfferingCommand::AddEndpoint {
            endpoint: endpoint(API, "API"),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingEndpointAdded {
            endpoint: endpoint(API, "API"),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_allow_edits_in_every_state_but_archived() {
    for state in [
        OfferingState::Draft,
        OfferingState::Active,
        OfferingState::Paused,
        OfferingState::Unavailable,
    ] {
        let result = outcome(
            in_state(state),
            OfferingCommand::ChangeCategory {
                category_uuid: OTHER_CATEGORY,
                at: at(),
            },
        )
        .await;
        assert_eq!(
            result,
            Ok(vec![OfferingEvent::OfferingCategoryChanged {
                category_uuid: OTHER_CATEGORY,
                at: at(),
            }]),
            "{state:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Details, settings, category
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_merge_only_the_given_detail_fields() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateDetails {
            changes: changes(json!({
                "description": "Faster compute",
                "latitude": 59.4,
                "billable": false,
            })),
            at: later(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingDetailsUpdated {
            details: OfferingDetails {
                name: "Cloud".into(),
                description: "Faster compute".into(),
                country: "EE".into(),
                shared: true,
                billable: false,
                latitude: Some(59.4),
                ..Default::default()
            },
            at: later(),
        }]);
}

#[tokio::test]
async fn it_should_keep_earlier_detail_updates_when_merging_later_ones() {
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::OfferingDetailsUpdated {
                details: OfferingDetails {
                    name: "Cloud 2".into(),
                    ..details()
                },
                at: at(),
            },
        ])
        .when_async(OfferingCommand::UpdateDetails {
            changes: changes(json!({"backend_id": "cloud-42"})),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingDetailsUpdated {
            details: OfferingDetails {
                name: "Cloud 2".into(),
                backend_id: "cloud-42".into(),
                ..details()
            },
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_clear_a_detail_field_set_to_null_when_it_is_optional() {
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::OfferingDetailsUpdated {
                details: OfferingDetails {
                    longitude: Some(24.7),
                    ..details()
                },
                at: at(),
            },
        ])
        .when_async(OfferingCommand::UpdateDetails {
            changes: changes(json!({"longitude": null})),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingDetailsUpdated {
            details: details(),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_refuse_an_unknown_detail_field() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateDetails {
            changes: changes(json!({"colour": "red"})),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::InvalidChanges("unknown field colour".into()));
}

#[tokio::test]
async fn it_should_refuse_a_mistyped_detail_field() {
    let result = outcome(
        vec![created()],
        OfferingCommand::UpdateDetails {
            changes: changes(json!({"shared": "yes"})),
            at: at(),
        },
    )
    .await;
    assert!(
        matches!(result, Err(OfferingError::InvalidChanges(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn it_should_merge_only_the_given_settings() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateSettings {
            changes: changes(json!({
                "secret_options": {"api_key": "s3cret"},
                "options": {"options": {"size": {"type": "integer"}}, "order": ["size"]},
            })),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingSettingsUpdated {
            settings: OfferingSettings {
                secret_options: changes(json!({"api_key": "s3cret"})),
                options: json!({"options": {"size": {"type": "integer"}}, "order": ["size"]}),
                ..settings()
            },
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_replace_a_settings_field_as_a_whole() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateSettings {
            changes: changes(json!({"attributes": {"size": "L"}})),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingSettingsUpdated {
            settings: OfferingSettings {
                attributes: changes(json!({"size": "L"})),
                ..settings()
            },
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_refuse_an_unknown_settings_field() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateSettings {
            changes: changes(json!({"nope": {}})),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::InvalidChanges("unknown field nope".into()));
}

#[tokio::test]
async fn it_should_change_the_category() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::ChangeCategory {
            category_uuid: OTHER_CATEGORY,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingCategoryChanged {
            category_uuid: OTHER_CATEGORY,
            at: at(),
        }]);
    let offering = replay(vec![
        created(),
        OfferingEvent::OfferingCategoryChanged {
            category_uuid: OTHER_CATEGORY,
            at: at(),
        },
    ]);
    assert_eq!(offering.category_uuid, OTHER_CATEGORY);
}

#[tokio::test]
async fn it_should_apply_detail_and_settings_updates_to_the_state() {
    let new_details = OfferingDetails {
        name: "Renamed".into(),
        ..details()
    };
    let new_settings = OfferingSettings::default();
    let offering = replay(vec![
        created(),
        OfferingEvent::OfferingDetailsUpdated {
            details: new_details.clone(),
            at: at(),
        },
        OfferingEvent::OfferingSettingsUpdated {
            settings: new_settings.clone(),
            at: at(),
        },
    ]);
    assert_eq!(offering.details, new_details);
    assert_eq!(offering.settings, new_settings);
}

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_add_an_endpoint() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::AddEndpoint {
            endpoint: endpoint(API, "API"),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingEndpointAdded {
            endpoint: endpoint(API, "API"),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_remove_an_endpoint() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::RemoveEndpoint {
            uuid: DOCS,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingEndpointRemoved {
            uuid: DOCS,
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_emit_nothing_when_removing_an_unknown_endpoint() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::RemoveEndpoint {
            uuid: UNKNOWN,
            at: at(),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn it_should_emit_nothing_when_removing_an_endpoint_twice() {
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::OfferingEndpointRemoved {
                uuid: DOCS,
                at: at(),
            },
        ])
        .when_async(OfferingCommand::RemoveEndpoint {
            uuid: DOCS,
            at: at(),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn it_should_keep_endpoints_in_order_when_adding_and_removing() {
    let offering = replay(vec![
        created(),
        OfferingEvent::OfferingEndpointAdded {
            endpoint: endpoint(API, "API"),
            at: at(),
        },
        OfferingEvent::OfferingEndpointRemoved {
            uuid: DOCS,
            at: at(),
        },
    ]);
    assert_eq!(offering.endpoints, vec![endpoint(API, "API")]);
}

// ---------------------------------------------------------------------------------------
// Components
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_add_a_component() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::AddComponent {
            component: licence(),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingComponentAdded {
            component: licence(),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_create_a_builtin_component_of_a_tenant() {
    TestFramework::<Offering>::with(())
        .given(vec![created_as("OpenStack.Tenant", vec![], vec![])])
        .when_async(OfferingCommand::AddComponent {
            component: component(Uuid::from_u128(120), "ram", BillingType::Limit),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::BuiltinComponentCreate("ram".into()));
}

#[tokio::test]
async fn it_should_refuse_a_builtin_type_before_a_duplicate_one() {
    TestFramework::<Offering>::with(())
        .given(vec![tenant_created()])
        .when_async(OfferingCommand::AddComponent {
            component: component(Uuid::from_u128(120), "cores", BillingType::Limit),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::BuiltinComponentCreate("cores".into()));
}

#[tokio::test]
async fn it_should_not_add_a_component_of_an_existing_type() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::AddComponent {
            component: component(Uuid::from_u128(120), "cpu", BillingType::Usage),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::DuplicateComponent("cpu".into()));
}

#[tokio::test]
async fn it_should_merge_changes_into_a_component() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateComponent {
            uuid: CPU,
            changes: changes(json!({
                "name": "vCPU",
                "measured_unit": "cores",
                "max_value": 64,
            })),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingComponentUpdated {
            component: Component {
                name: "vCPU".into(),
                measured_unit: "cores".into(),
                max_value: Some(64),
                ..cpu()
            },
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_change_the_billing_type_of_a_component_by_its_api_name() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateComponent {
            uuid: STORAGE,
            changes: changes(json!({"billing_type": "limit", "limit_period": "annual"})),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingComponentUpdated {
            component: Component {
                billing_type: BillingType::Limit,
                limit_period: Some(LimitPeriod::Annual),
                ..storage()
            },
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_rename_a_component_type_to_a_free_one() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateComponent {
            uuid: CPU,
            changes: changes(json!({"type": "vcpu"})),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingComponentUpdated {
            component: Component {
                component_type: "vcpu".into(),
                ..cpu()
            },
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_keep_a_component_type_unchanged_without_calling_it_a_duplicate() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateComponent {
            uuid: CPU,
            changes: changes(json!({"type": "cpu", "name": "Processor"})),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingComponentUpdated {
            component: Component {
                name: "Processor".into(),
                ..cpu()
            },
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_rename_a_component_type_to_another_components_type() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateComponent {
            uuid: CPU,
            changes: changes(json!({"type": "storage"})),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::DuplicateComponent("storage".into()));
}

#[tokio::test]
async fn it_should_not_update_an_unknown_component() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateComponent {
            uuid: UNKNOWN,
            changes: changes(json!({"name": "x"})),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::ComponentNotFound);
}

#[tokio::test]
async fn it_should_refuse_invalid_component_changes() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateComponent {
            uuid: CPU,
            changes: changes(json!({"colour": "red"})),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::InvalidChanges("unknown field colour".into()));
    let result = outcome(
        vec![created()],
        OfferingCommand::UpdateComponent {
            uuid: CPU,
            changes: changes(json!({"billing_type": "sometimes"})),
            at: at(),
        },
    )
    .await;
    assert!(
        matches!(result, Err(OfferingError::InvalidChanges(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn it_should_remove_a_component() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::RemoveComponent {
            uuid: STORAGE,
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingComponentRemoved {
            uuid: STORAGE,
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_remove_a_builtin_component() {
    TestFramework::<Offering>::with(())
        .given(vec![tenant_created()])
        .when_async(OfferingCommand::RemoveComponent {
            uuid: RAM,
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::BuiltinComponentRemove("ram".into()));
}

#[tokio::test]
async fn it_should_not_remove_a_component_used_by_resources() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::RemoveComponent {
            uuid: STORAGE,
            has_resources: true,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::ComponentInUse("STORAGE".into()));
}

#[tokio::test]
async fn it_should_not_remove_an_unknown_component() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::RemoveComponent {
            uuid: UNKNOWN,
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::ComponentNotFound);
}

#[tokio::test]
async fn it_should_not_remove_a_component_twice() {
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::OfferingComponentRemoved {
                uuid: STORAGE,
                at: at(),
            },
        ])
        .when_async(OfferingCommand::RemoveComponent {
            uuid: STORAGE,
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::ComponentNotFound);
}

#[tokio::test]
async fn it_should_apply_component_additions_updates_and_removals() {
    let renamed = Component {
        name: "vCPU".into(),
        ..cpu()
    };
    let offering = replay(vec![
        created(),
        OfferingEvent::OfferingComponentAdded {
            component: licence(),
            at: at(),
        },
        OfferingEvent::OfferingComponentUpdated {
            component: renamed.clone(),
            at: at(),
        },
        OfferingEvent::OfferingComponentRemoved {
            uuid: STORAGE,
            at: at(),
        },
    ]);
    assert_eq!(offering.components, vec![renamed.clone(), licence()]);
    assert_eq!(offering.component(CPU), Some(&renamed));
    assert_eq!(offering.component_by_type("licence"), Some(&licence()));
    assert_eq!(offering.component_by_type("storage"), None);
}

#[tokio::test]
async fn it_should_refuse_component_management_on_a_remote_offering() {
    use OfferingCommand as C;
    let commands = vec![
        C::AddComponent {
            component: licence(),
            at: at(),
        },
        C::UpdateComponent {
            uuid: CPU,
            changes: changes(json!({"name": "vCPU"})),
            at: at(),
        },
        C::RemoveComponent {
            uuid: CPU,
            has_resources: false,
            at: at(),
        },
    ];
    for command in commands {
        let result = outcome(vec![remote_created()], command.clone()).await;
        assert_eq!(result, Err(OfferingError::NotManageable), "{command:?}");
    }
}

#[tokio::test]
async fn it_should_not_add_a_component_to_a_remote_offering() {
    TestFramework::<Offering>::with(())
        .given(vec![remote_created()])
        .when_async(OfferingCommand::AddComponent {
            component: licence(),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::NotManageable);
}

// ---------------------------------------------------------------------------------------
// Partitions
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_add_a_partition() {
    let batch = partition(BATCH, "batch", json!({"max_time": 60}));
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::AddPartition {
            partition: batch.clone(),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingPartitionAdded {
            partition: batch,
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_add_a_partition_with_a_taken_name() {
    let mut given = vec![created()];
    given.extend(partitions_added());
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(OfferingCommand::AddPartition {
            partition: partition(UNKNOWN, "batch", json!({})),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::DuplicatePartition("batch".into()));
}

#[tokio::test]
async fn it_should_rename_a_partition_and_merge_its_settings() {
    let mut given = vec![created()];
    given.extend(partitions_added());
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(OfferingCommand::UpdatePartition {
            uuid: BATCH,
            partition_name: Some("long".into()),
            settings: changes(json!({"max_time": 1440, "qos": "normal"})),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingPartitionUpdated {
            partition: stamped(partition(
                BATCH,
                "long",
                json!({"max_time": 1440, "priority": 1, "qos": "normal"}),
            )),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_update_only_the_settings_of_a_partition_when_no_name_is_given() {
    let mut given = vec![created()];
    given.extend(partitions_added());
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(OfferingCommand::UpdatePartition {
            uuid: BATCH,
            partition_name: None,
            settings: changes(json!({"priority": 5})),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingPartitionUpdated {
            partition: stamped(partition(
                BATCH,
                "batch",
                json!({"max_time": 60, "priority": 5}),
            )),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_keep_a_partitions_own_name_without_calling_it_a_duplicate() {
    let mut given = vec![created()];
    given.extend(partitions_added());
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(OfferingCommand::UpdatePartition {
            uuid: BATCH,
            partition_name: Some("batch".into()),
            settings: Map::new(),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingPartitionUpdated {
            partition: stamped(partition(
                BATCH,
                "batch",
                json!({"max_time": 60, "priority": 1}),
            )),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_rename_a_partition_to_another_partitions_name() {
    let mut given = vec![created()];
    given.extend(partitions_added());
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(OfferingCommand::UpdatePartition {
            uuid: BATCH,
            partition_name: Some("gpu".into()),
            settings: Map::new(),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::DuplicatePartition("gpu".into()));
}

#[tokio::test]
async fn it_should_not_update_an_unknown_partition() {
    let mut given = vec![created()];
    given.extend(partitions_added());
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(OfferingCommand::UpdatePartition {
            uuid: UNKNOWN,
            partition_name: Some("other".into()),
            settings: Map::new(),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::PartitionNotFound);
}

#[tokio::test]
async fn it_should_remove_a_partition() {
    let mut given = vec![created()];
    given.extend(partitions_added());
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(OfferingCommand::RemovePartition {
            uuid: BATCH,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingPartitionRemoved {
            uuid: BATCH,
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_remove_an_unknown_partition() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::RemovePartition {
            uuid: UNKNOWN,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::PartitionNotFound);
}

#[tokio::test]
async fn it_should_free_a_partition_name_once_the_partition_is_removed() {
    let mut given = vec![created()];
    given.extend(partitions_added());
    given.push(OfferingEvent::OfferingPartitionRemoved {
        uuid: BATCH,
        at: at(),
    });
    let batch = partition(UNKNOWN, "batch", json!({}));
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(OfferingCommand::AddPartition {
            partition: batch.clone(),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingPartitionAdded {
            partition: batch,
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_apply_partition_additions_updates_and_removals() {
    let mut events = vec![created()];
    events.extend(partitions_added());
    let long = partition(BATCH, "long", json!({}));
    events.push(OfferingEvent::OfferingPartitionUpdated {
        partition: long.clone(),
        at: later(),
    });
    events.push(OfferingEvent::OfferingPartitionRemoved {
        uuid: GPU_PARTITION,
        at: later(),
    });
    let offering = replay(events);
    assert_eq!(
        offering.partitions,
        vec![Partition {
            created: Some(at()),
            modified: Some(later()),
            ..long
        }]
    );
}

#[tokio::test]
async fn it_should_stamp_a_partition_from_the_events_that_added_and_changed_it() {
    let mut events = vec![created()];
    events.extend(partitions_added());
    let offering = replay(events.clone());
    assert_eq!(offering.partitions[0].created, Some(at()));
    assert_eq!(offering.partitions[0].modified, Some(at()));
    // Stamps carried in an event are overridden by the event's own time.
    events.push(OfferingEvent::OfferingPartitionUpdated {
        partition: Partition {
            created: Some(later()),
            modified: None,
            ..partition(BATCH, "batch", json!({}))
        },
        at: later(),
    });
    let offering = replay(events);
    assert_eq!(offering.partitions[0].created, Some(at()));
    assert_eq!(offering.partitions[0].modified, Some(later()));
    assert_eq!(offering.partitions[1].modified, Some(at()));
}

// ---------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_add_a_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::AddPlan {
            plan: priced_plan(),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanAdded {
            plan: priced_plan(),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_add_a_plan_to_a_remote_offering() {
    TestFramework::<Offering>::with(())
        .given(vec![remote_created()])
        .when_async(OfferingCommand::AddPlan {
            plan: priced_plan(),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::NotManageable);
}

#[tokio::test]
async fn it_should_not_add_a_plan_to_an_archived_offering() {
    TestFramework::<Offering>::with(())
        .given(in_state(OfferingState::Archived))
        .when_async(OfferingCommand::AddPlan {
            plan: priced_plan(),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::Archived);
}

#[tokio::test]
async fn it_should_merge_changes_into_a_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdatePlan {
            uuid: BASIC_PLAN,
            changes: changes(json!({
                "description": "For starters",
                "unit_price": "0.75",
                "unit": "half_month",
            })),
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanUpdated {
            plan: Plan {
                description: "For starters".into(),
                unit_price: Decimal::new(75, 2),
                unit: PlanUnit::HalfMonth,
                ..basic_plan()
            },
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_update_a_plan_used_by_resources() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdatePlan {
            uuid: BASIC_PLAN,
            changes: changes(json!({"name": "Renamed"})),
            has_resources: true,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::PlanInUse);
}

#[tokio::test]
async fn it_should_not_update_an_unknown_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdatePlan {
            uuid: UNKNOWN,
            changes: changes(json!({"name": "Renamed"})),
            has_resources: true,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::PlanNotFound);
}

#[tokio::test]
async fn it_should_refuse_invalid_plan_changes() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdatePlan {
            uuid: BASIC_PLAN,
            changes: changes(json!({"colour": "gold"})),
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::InvalidChanges("unknown field colour".into()));
}

#[tokio::test]
async fn it_should_archive_a_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::ArchivePlan {
            uuid: BASIC_PLAN,
            at: at(),
        })
        .await
        .then_expect_events(vec![plan_archived(BASIC_PLAN)]);
}

#[tokio::test]
async fn it_should_not_archive_a_plan_twice() {
    TestFramework::<Offering>::with(())
        .given(vec![created(), plan_archived(BASIC_PLAN)])
        .when_async(OfferingCommand::ArchivePlan {
            uuid: BASIC_PLAN,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::PlanAlreadyArchived);
}

#[tokio::test]
async fn it_should_not_archive_an_unknown_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::ArchivePlan {
            uuid: UNKNOWN,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::PlanNotFound);
}

#[tokio::test]
async fn it_should_delete_a_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::DeletePlan {
            uuid: BASIC_PLAN,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanDeleted {
            uuid: BASIC_PLAN,
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_delete_an_archived_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created(), plan_archived(BASIC_PLAN)])
        .when_async(OfferingCommand::DeletePlan {
            uuid: BASIC_PLAN,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanDeleted {
            uuid: BASIC_PLAN,
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_delete_an_unknown_or_already_deleted_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::DeletePlan {
            uuid: UNKNOWN,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::PlanNotFound);
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::PlanDeleted {
                uuid: BASIC_PLAN,
                at: at(),
            },
        ])
        .when_async(OfferingCommand::DeletePlan {
            uuid: BASIC_PLAN,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::PlanNotFound);
}

#[tokio::test]
async fn it_should_apply_plan_additions_updates_archivals_and_deletions() {
    let renamed = Plan {
        name: "Starter".into(),
        ..basic_plan()
    };
    let offering = replay(vec![
        created(),
        OfferingEvent::PlanAdded {
            plan: priced_plan(),
            at: at(),
        },
        OfferingEvent::PlanUpdated {
            plan: renamed.clone(),
            at: at(),
        },
        plan_archived(GOLD_PLAN),
    ]);
    assert_eq!(offering.plan(BASIC_PLAN), Some(&renamed));
    assert!(offering.plan(GOLD_PLAN).unwrap().archived);
    assert!(!offering.plan(BASIC_PLAN).unwrap().archived);

    let offering = replay(vec![
        created(),
        OfferingEvent::PlanDeleted {
            uuid: BASIC_PLAN,
            at: at(),
        },
    ]);
    assert!(offering.plans.is_empty());
}

// ---------------------------------------------------------------------------------------
// Plan prices and quotas
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_set_plan_prices_and_reset_unnamed_components_to_zero() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::SetPlanPrices {
            uuid: BASIC_PLAN,
            prices: BTreeMap::from([("cpu".to_string(), Decimal::new(15, 1))]),
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanPricesSet {
            uuid: BASIC_PLAN,
            prices: BTreeMap::from([
                ("cpu".to_string(), Decimal::new(15, 1)),
                ("storage".to_string(), Decimal::ZERO),
            ]),
            future_prices: BTreeMap::new(),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_replace_earlier_prices_of_a_plan_without_resources() {
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::PlanAdded {
                plan: priced_plan(),
                at: at(),
            },
        ])
        .when_async(OfferingCommand::SetPlanPrices {
            uuid: GOLD_PLAN,
            prices: BTreeMap::from([("storage".to_string(), Decimal::new(3, 2))]),
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanPricesSet {
            uuid: GOLD_PLAN,
            prices: BTreeMap::from([
                ("cpu".to_string(), Decimal::ZERO),
                ("storage".to_string(), Decimal::new(3, 2)),
            ]),
            future_prices: BTreeMap::new(),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_refuse_prices_for_unknown_component_types_sorted() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::SetPlanPrices {
            uuid: BASIC_PLAN,
            prices: BTreeMap::from([
                ("zeta".to_string(), Decimal::ONE),
                ("cpu".to_string(), Decimal::ONE),
                ("alpha".to_string(), Decimal::ONE),
            ]),
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::InvalidComponents(vec![
            "alpha".into(),
            "zeta".into(),
        ]));
}

#[tokio::test]
async fn it_should_set_future_prices_and_keep_current_ones_for_a_plan_with_resources() {
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::PlanAdded {
                plan: priced_plan(),
                at: at(),
            },
        ])
        .when_async(OfferingCommand::SetPlanPrices {
            uuid: GOLD_PLAN,
            prices: BTreeMap::from([("cpu".to_string(), Decimal::new(2, 0))]),
            has_resources: true,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanPricesSet {
            uuid: GOLD_PLAN,
            prices: priced_plan().prices,
            future_prices: BTreeMap::from([
                ("cpu".to_string(), Decimal::new(2, 0)),
                ("storage".to_string(), Decimal::ZERO),
            ]),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_keep_future_prices_when_setting_current_prices_without_resources() {
    let with_future = Plan {
        future_prices: BTreeMap::from([("cpu".to_string(), Decimal::new(2, 0))]),
        ..priced_plan()
    };
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::PlanAdded {
                plan: with_future.clone(),
                at: at(),
            },
        ])
        .when_async(OfferingCommand::SetPlanPrices {
            uuid: GOLD_PLAN,
            prices: BTreeMap::new(),
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanPricesSet {
            uuid: GOLD_PLAN,
            prices: BTreeMap::from([
                ("cpu".to_string(), Decimal::ZERO),
                ("storage".to_string(), Decimal::ZERO),
            ]),
            future_prices: with_future.future_prices,
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_set_prices_of_an_unknown_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::SetPlanPrices {
            uuid: UNKNOWN,
            prices: BTreeMap::new(),
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::PlanNotFound);
}

#[tokio::test]
async fn it_should_not_set_prices_on_a_remote_offering() {
    TestFramework::<Offering>::with(())
        .given(vec![remote_created()])
        .when_async(OfferingCommand::SetPlanPrices {
            uuid: BASIC_PLAN,
            prices: BTreeMap::new(),
            has_resources: false,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::NotManageable);
}

#[tokio::test]
async fn it_should_apply_plan_prices_and_sum_them_by_billing_type() {
    let offering = replay(vec![
        created(),
        OfferingEvent::OfferingComponentAdded {
            component: licence(),
            at: at(),
        },
        OfferingEvent::OfferingComponentAdded {
            component: component(Uuid::from_u128(120), "setup", BillingType::One),
            at: at(),
        },
        OfferingEvent::PlanPricesSet {
            uuid: BASIC_PLAN,
            prices: BTreeMap::from([
                ("cpu".to_string(), Decimal::new(15, 1)),
                ("storage".to_string(), Decimal::new(2, 2)),
                ("licence".to_string(), Decimal::new(100, 0)),
                ("setup".to_string(), Decimal::new(2550, 2)),
            ]),
            future_prices: BTreeMap::from([("cpu".to_string(), Decimal::new(2, 0))]),
            at: at(),
        },
    ]);
    let plan = offering.plan(BASIC_PLAN).unwrap();
    assert_eq!(plan.prices.len(), 4);
    assert_eq!(
        plan.future_prices,
        BTreeMap::from([("cpu".to_string(), Decimal::new(2, 0))])
    );
    assert_eq!(
        offering.plan_price_of(plan, BillingType::One),
        Some(Decimal::new(12550, 2))
    );
    assert_eq!(
        offering.plan_price_of(plan, BillingType::Fixed),
        Some(Decimal::new(15, 1))
    );
    assert_eq!(
        offering.plan_price_of(plan, BillingType::Usage),
        Some(Decimal::new(2, 2))
    );
    assert_eq!(
        offering.plan_price_of(plan, BillingType::Few),
        Some(Decimal::ZERO)
    );
    assert_eq!(
        offering.plan_price_of(plan, BillingType::Limit),
        Some(Decimal::ZERO)
    );
}

#[tokio::test]
async fn it_should_ignore_prices_of_removed_components_when_summing() {
    let offering = replay(vec![
        created(),
        OfferingEvent::PlanAdded {
            plan: priced_plan(),
            at: at(),
        },
        OfferingEvent::OfferingComponentRemoved {
            uuid: CPU,
            at: at(),
        },
    ]);
    let plan = offering.plan(GOLD_PLAN).unwrap();
    assert_eq!(
        offering.plan_price_of(plan, BillingType::Fixed),
        Some(Decimal::ZERO)
    );
    assert_eq!(
        offering.plan_price_of(plan, BillingType::Usage),
        Some(Decimal::new(2, 2))
    );
}

#[tokio::test]
async fn it_should_set_quotas_of_fixed_components_and_reset_unnamed_ones_to_zero() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::SetPlanQuotas {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::from([("cpu".to_string(), 4)]),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanQuotasSet {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::from([("cpu".to_string(), 4), ("storage".to_string(), 0)]),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_reset_every_quota_when_none_are_given() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::SetPlanQuotas {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::new(),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanQuotasSet {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::from([("cpu".to_string(), 0), ("storage".to_string(), 0)]),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_set_quotas_of_components_that_are_not_fixed() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::SetPlanQuotas {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::from([("cpu".to_string(), 4), ("storage".to_string(), 100)]),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::InvalidComponents(vec!["storage".into()]));
}

#[tokio::test]
async fn it_should_list_unknown_and_unfixed_quota_components_sorted() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::SetPlanQuotas {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::from([
                ("storage".to_string(), 1),
                ("gpu".to_string(), 1),
                ("cpu".to_string(), 1),
            ]),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::InvalidComponents(vec![
            "gpu".into(),
            "storage".into(),
        ]));
}

#[tokio::test]
async fn it_should_not_set_quotas_of_an_unknown_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::SetPlanQuotas {
            uuid: UNKNOWN,
            quotas: BTreeMap::new(),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::PlanNotFound);
}

#[tokio::test]
async fn it_should_not_set_quotas_on_a_remote_offering() {
    TestFramework::<Offering>::with(())
        .given(vec![remote_created()])
        .when_async(OfferingCommand::SetPlanQuotas {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::new(),
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::NotManageable);
}

#[tokio::test]
async fn it_should_apply_plan_quotas() {
    let quotas = BTreeMap::from([("cpu".to_string(), 8), ("storage".to_string(), 0)]);
    let offering = replay(vec![
        created(),
        OfferingEvent::PlanQuotasSet {
            uuid: BASIC_PLAN,
            quotas: quotas.clone(),
            at: at(),
        },
    ]);
    assert_eq!(offering.plan(BASIC_PLAN).unwrap().quotas, quotas);
}

// ---------------------------------------------------------------------------------------
// Billing mode
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_not_switch_the_billing_mode_without_builtin_components() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::SwitchBillingMode {
            mode: BillingMode::Usage,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::NoBuiltinComponents);
}

#[tokio::test]
async fn it_should_not_switch_the_billing_mode_of_a_tenant_without_components() {
    TestFramework::<Offering>::with(())
        .given(vec![created_as("OpenStack.Tenant", vec![], vec![])])
        .when_async(OfferingCommand::SwitchBillingMode {
            mode: BillingMode::Usage,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::NoBuiltinComponents);
}

#[tokio::test]
async fn it_should_switch_builtin_components_to_usage_billing() {
    let expected = tenant_components()
        .into_iter()
        .map(|c| OfferingEvent::OfferingComponentUpdated {
            component: Component {
                billing_type: BillingType::Usage,
                ..c
            },
            at: at(),
        })
        .collect();
    TestFramework::<Offering>::with(())
        .given(vec![tenant_created()])
        .when_async(OfferingCommand::SwitchBillingMode {
            mode: BillingMode::Usage,
            at: at(),
        })
        .await
        .then_expect_events(expected);
}

#[tokio::test]
async fn it_should_switch_builtin_components_to_prepaid_billing() {
    let expected = tenant_components()
        .into_iter()
        .map(|c| OfferingEvent::OfferingComponentUpdated {
            component: Component {
                billing_type: BillingType::One,
                ..c
            },
            at: at(),
        })
        .collect();
    TestFramework::<Offering>::with(())
        .given(vec![tenant_created()])
        .when_async(OfferingCommand::SwitchBillingMode {
            mode: BillingMode::Prepaid,
            at: at(),
        })
        .await
        .then_expect_events(expected);
}

#[tokio::test]
async fn it_should_emit_nothing_when_builtin_components_already_bill_monthly() {
    TestFramework::<Offering>::with(())
        .given(vec![tenant_created()])
        .when_async(OfferingCommand::SwitchBillingMode {
            mode: BillingMode::Monthly,
            at: at(),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn it_should_update_only_builtin_components_whose_billing_type_changes() {
    let components = vec![
        builtin_component(CORES, "cores", BillingType::Usage),
        builtin_component(RAM, "ram", BillingType::Limit),
        builtin_component(DISK, "storage", BillingType::One),
    ];
    TestFramework::<Offering>::with(())
        .given(vec![created_as("OpenStack.Tenant", components, vec![])])
        .when_async(OfferingCommand::SwitchBillingMode {
            mode: BillingMode::Monthly,
            at: at(),
        })
        .await
        .then_expect_events(vec![
            OfferingEvent::OfferingComponentUpdated {
                component: builtin_component(CORES, "cores", BillingType::Limit),
                at: at(),
            },
            OfferingEvent::OfferingComponentUpdated {
                component: builtin_component(DISK, "storage", BillingType::Limit),
                at: at(),
            },
        ]);
}

#[tokio::test]
async fn it_should_leave_components_that_are_not_builtin_out_of_a_billing_switch() {
    // A custom component next to builtin ones keeps its billing type.
    TestFramework::<Offering>::with(())
        .given(vec![
            created_as(
                "VMware.VirtualMachine",
                vec![
                    builtin_component(CORES, "cpu", BillingType::Usage),
                    builtin_component(RAM, "ram", BillingType::Limit),
                ],
                vec![],
            ),
            OfferingEvent::OfferingComponentAdded {
                component: component(LICENCE, "licence", BillingType::Fixed),
                at: at(),
            },
        ])
        .when_async(OfferingCommand::SwitchBillingMode {
            mode: BillingMode::Monthly,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingComponentUpdated {
            component: builtin_component(CORES, "cpu", BillingType::Limit),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_apply_a_billing_switch_to_the_components() {
    let offering = replay(vec![
        tenant_created(),
        OfferingEvent::OfferingComponentUpdated {
            component: builtin_component(RAM, "ram", BillingType::Usage),
            at: at(),
        },
    ]);
    assert_eq!(
        offering.component(RAM).unwrap().billing_type,
        BillingType::Usage
    );
    assert_eq!(
        offering.component(CORES).unwrap().billing_type,
        BillingType::Limit
    );
}

// ---------------------------------------------------------------------------------------
// Move
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_move_an_offering_to_another_customer() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::Move {
            customer_uuid: OTHER_CUSTOMER,
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingMoved {
            customer_uuid: OTHER_CUSTOMER,
            at: at(),
        }]);
    let offering = replay(vec![
        created(),
        OfferingEvent::OfferingMoved {
            customer_uuid: OTHER_CUSTOMER,
            at: at(),
        },
    ]);
    assert_eq!(offering.customer_uuid, OTHER_CUSTOMER);
}

#[tokio::test]
async fn it_should_not_move_an_offering_to_its_own_customer() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::Move {
            customer_uuid: CUSTOMER,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::SameCustomer);
}

#[tokio::test]
async fn it_should_not_move_an_offering_back_to_the_customer_it_was_moved_to() {
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            OfferingEvent::OfferingMoved {
                customer_uuid: OTHER_CUSTOMER,
                at: at(),
            },
        ])
        .when_async(OfferingCommand::Move {
            customer_uuid: OTHER_CUSTOMER,
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::SameCustomer);
}

// ---------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_import_content_over_an_offering() {
    TestFramework::<Offering>::with(())
        .given(in_state(OfferingState::Active))
        .when_async(OfferingCommand::Import {
            content: imported_content(),
            at: at(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingImported {
            content: imported_content(),
            at: at(),
        }]);
}

#[tokio::test]
async fn it_should_not_import_content_of_an_unknown_type() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::Import {
            content: ImportedContent {
                offering_type: "Nope.Nothing".into(),
                ..imported_content()
            },
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::UnknownType("Nope.Nothing".into()));
}

#[tokio::test]
async fn it_should_not_import_extra_components_into_a_type_with_builtin_ones() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::Import {
            content: ImportedContent {
                offering_type: "OpenStack.Tenant".into(),
                components: vec![
                    builtin_component(RAM, "ram", BillingType::Limit),
                    component(LICENCE, "licence", BillingType::One),
                ],
                ..imported_content()
            },
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::ExtraComponents);
}

#[tokio::test]
async fn it_should_not_import_duplicate_component_types() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::Import {
            content: ImportedContent {
                components: vec![cpu(), component(LICENCE, "cpu", BillingType::Usage)],
                ..imported_content()
            },
            at: at(),
        })
        .await
        .then_expect_error(OfferingError::DuplicateComponent("cpu".into()));
}

#[tokio::test]
async fn it_should_replace_the_content_and_return_to_draft_on_import() {
    for state in OfferingState::ALL {
        let mut events = in_state(state);
        events.extend(partitions_added());
        events.push(OfferingEvent::OfferingImported {
            content: imported_content(),
            at: later(),
        });
        let offering = replay(events);
        let content = imported_content();
        assert_eq!(offering.state, OfferingState::Draft, "from {state:?}");
        assert_eq!(offering.details, content.details);
        assert_eq!(offering.settings, content.settings);
        assert_eq!(offering.offering_type, "Marketplace.Slurm");
        assert_eq!(offering.components, content.components);
        assert_eq!(offering.plans, content.plans);
        assert_eq!(offering.endpoints, content.endpoints);
        // Identity, ownership and partitions are not part of the imported content.
        assert_eq!(offering.uuid, Some(OFFERING));
        assert_eq!(offering.customer_uuid, CUSTOMER);
        assert_eq!(offering.category_uuid, CATEGORY);
        assert_eq!(offering.slug, "cloud-1");
        assert_eq!(offering.partitions.len(), 2);
        assert_eq!(offering.created, Some(at()));
        assert_eq!(offering.modified, Some(later()));
    }
}

#[tokio::test]
async fn it_should_need_a_plan_again_to_activate_after_an_import_without_plans() {
    let mut given = in_state(OfferingState::Active);
    given.push(OfferingEvent::OfferingImported {
        content: ImportedContent {
            plans: vec![],
            ..imported_content()
        },
        at: at(),
    });
    TestFramework::<Offering>::with(())
        .given(given)
        .when_async(transition(Lifecycle::Activate))
        .await
        .then_expect_error(OfferingError::NoPlans);
}

// ---------------------------------------------------------------------------------------
// Delete
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_delete_an_offering() {
    for state in OfferingState::ALL {
        TestFramework::<Offering>::with(())
            .given(in_state(state))
            .when_async(OfferingCommand::Delete { at: at() })
            .await
            .then_expect_events(vec![deleted()]);
    }
}

#[tokio::test]
async fn it_should_refuse_every_command_on_a_deleted_offering() {
    for command in every_command_but_create() {
        let result = outcome(vec![created(), deleted()], command.clone()).await;
        assert_eq!(result, Err(OfferingError::NotFound), "{command:?}");
    }
}

#[tokio::test]
async fn it_should_mark_a_deleted_offering_and_keep_its_content() {
    let offering = replay(vec![created(), activated(), deleted()]);
    assert!(offering.deleted);
    assert_eq!(offering.uuid, Some(OFFERING));
    assert_eq!(offering.state, OfferingState::Active);
    assert_eq!(offering.plans, vec![basic_plan()]);
}

// ---------------------------------------------------------------------------------------
// Sanity of the command fixtures and timestamps
// ---------------------------------------------------------------------------------------

/// Every command of `every_command_but_create` is accepted on a live offering, so the
/// NotFound loops above fail only because the offering is missing or deleted.
#[tokio::test]
async fn it_should_accept_each_fixture_command_on_a_live_offering() {
    let mut given = vec![created()];
    given.push(OfferingEvent::OfferingPartitionAdded {
        partition: partition(BATCH, "batch", json!({})),
        at: at(),
    });
    for command in every_command_but_create() {
        let command = match command {
            // Switching billing needs builtin components; run it on a tenant instead.
            OfferingCommand::SwitchBillingMode { .. } => {
                let result = outcome(vec![tenant_created()], command.clone()).await;
                assert!(result.is_ok(), "{command:?}: {result:?}");
                continue;
            }
            // The partition fixture is added by the given events; add another one here.
            OfferingCommand::AddPartition { at, .. } => OfferingCommand::AddPartition {
                partition: partition(GPU_PARTITION, "gpu", json!({})),
                at,
            },
            other => other,
        };
        let result = outcome(given.clone(), command.clone()).await;
        assert!(
            matches!(&result, Ok(events) if !events.is_empty()),
            "{command:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn it_should_follow_the_time_of_the_latest_event_in_modified() {
    let offering = replay(vec![
        created(),
        OfferingEvent::OfferingDetailsUpdated {
            details: details(),
            at: later(),
        },
    ]);
    assert_eq!(offering.created, Some(at()));
    assert_eq!(offering.modified, Some(later()));

    let third: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
    let events = vec![
        OfferingEvent::OfferingActivated { at: later() },
        OfferingEvent::OfferingPaused {
            paused_reason: "x".into(),
            at: later(),
        },
        OfferingEvent::OfferingUnpaused { at: later() },
        OfferingEvent::OfferingArchived { at: later() },
        OfferingEvent::OfferingReturnedToDraft { at: later() },
        OfferingEvent::OfferingMadeUnavailable { at: later() },
        OfferingEvent::OfferingMadeAvailable { at: later() },
        OfferingEvent::OfferingSettingsUpdated {
            settings: settings(),
            at: later(),
        },
        OfferingEvent::OfferingCategoryChanged {
            category_uuid: OTHER_CATEGORY,
            at: later(),
        },
        OfferingEvent::OfferingEndpointAdded {
            endpoint: endpoint(API, "API"),
            at: later(),
        },
        OfferingEvent::OfferingEndpointRemoved {
            uuid: API,
            at: later(),
        },
        OfferingEvent::OfferingComponentAdded {
            component: licence(),
            at: later(),
        },
        OfferingEvent::OfferingComponentUpdated {
            component: licence(),
            at: later(),
        },
        OfferingEvent::OfferingComponentRemoved {
            uuid: LICENCE,
            at: later(),
        },
        OfferingEvent::OfferingPartitionAdded {
            partition: partition(BATCH, "batch", json!({})),
            at: later(),
        },
        OfferingEvent::OfferingPartitionUpdated {
            partition: partition(BATCH, "batch", json!({})),
            at: later(),
        },
        OfferingEvent::OfferingPartitionRemoved {
            uuid: BATCH,
            at: later(),
        },
        OfferingEvent::PlanAdded {
            plan: priced_plan(),
            at: later(),
        },
        OfferingEvent::PlanUpdated {
            plan: priced_plan(),
            at: later(),
        },
        OfferingEvent::PlanArchived {
            uuid: GOLD_PLAN,
            at: later(),
        },
        OfferingEvent::PlanPricesSet {
            uuid: BASIC_PLAN,
            prices: BTreeMap::new(),
            future_prices: BTreeMap::new(),
            at: later(),
        },
        OfferingEvent::PlanQuotasSet {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::new(),
            at: later(),
        },
        OfferingEvent::PlanDeleted {
            uuid: GOLD_PLAN,
            at: later(),
        },
        OfferingEvent::OfferingMoved {
            customer_uuid: OTHER_CUSTOMER,
            at: later(),
        },
        OfferingEvent::OfferingImported {
            content: imported_content(),
            at: later(),
        },
        OfferingEvent::OfferingDeleted { at: later() },
    ];
    for event in events {
        let offering = replay(vec![created(), event.clone()]);
        assert_eq!(offering.modified, Some(later()), "{event:?}");
        assert_eq!(offering.created, Some(at()), "{event:?}");
        let offering = replay(vec![
            created(),
            event.clone(),
            OfferingEvent::OfferingActivated { at: third },
        ]);
        assert_eq!(offering.modified, Some(third), "after {event:?}");
    }
}

#[tokio::test]
async fn it_should_name_every_event_by_its_variant() {
    use cqrs_es::DomainEvent;
    assert_eq!(created().event_type(), "OfferingCreated");
    assert_eq!(created().event_version(), "1");
    assert_eq!(plan_archived(BASIC_PLAN).event_type(), "PlanArchived");
    assert_eq!(deleted().event_type(), "OfferingDeleted");
}

#[tokio::test]
async fn it_should_not_let_an_update_change_a_components_identity_or_builtin_flag() {
    TestFramework::<Offering>::with(())
        .given(vec![created()])
        .when_async(OfferingCommand::UpdateComponent {
            uuid: CPU,
            changes: changes(
                json!({"uuid": UNKNOWN.to_string(), "is_builtin": true, "name": "Cores"}),
            ),
            at: later(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::OfferingComponentUpdated {
            component: Component {
                name: "Cores".into(),
                ..cpu()
            },
            at: later(),
        }]);
}

#[tokio::test]
async fn it_should_not_add_custom_components_to_a_type_with_builtin_ones() {
    TestFramework::<Offering>::with(())
        .given(vec![tenant_created()])
        .when_async(OfferingCommand::AddComponent {
            component: licence(),
            at: later(),
        })
        .await
        .then_expect_error(OfferingError::ExtraComponents);
}

#[tokio::test]
async fn it_should_keep_prices_quotas_and_archiving_out_of_plan_updates() {
    TestFramework::<Offering>::with(())
        .given(vec![created_as(
            "Marketplace.Basic",
            vec![cpu(), storage()],
            vec![priced_plan()],
        )])
        .when_async(OfferingCommand::UpdatePlan {
            uuid: GOLD_PLAN,
            changes: changes(json!({"name": "Platinum", "archived": true, "prices": {}})),
            has_resources: false,
            at: later(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanUpdated {
            plan: Plan {
                name: "Platinum".into(),
                ..priced_plan()
            },
            at: later(),
        }]);
}

#[tokio::test]
async fn it_should_not_change_plans_of_an_archived_or_remote_offering() {
    TestFramework::<Offering>::with(())
        .given(vec![created(), archived()])
        .when_async(OfferingCommand::SetPlanQuotas {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::new(),
            at: later(),
        })
        .await
        .then_expect_error(OfferingError::Archived);
    TestFramework::<Offering>::with(())
        .given(vec![remote_created()])
        .when_async(OfferingCommand::SetPlanQuotas {
            uuid: BASIC_PLAN,
            quotas: BTreeMap::new(),
            at: later(),
        })
        .await
        .then_expect_error(OfferingError::NotManageable);
}

#[tokio::test]
async fn it_should_keep_the_names_of_remote_plans_but_archive_them_on_request() {
    TestFramework::<Offering>::with(())
        .given(vec![remote_created()])
        .when_async(OfferingCommand::UpdatePlan {
            uuid: BASIC_PLAN,
            changes: changes(json!({"name": "Renamed", "max_amount": 5})),
            has_resources: false,
            at: later(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanUpdated {
            plan: Plan {
                max_amount: Some(5),
                ..basic_plan()
            },
            at: later(),
        }]);
    TestFramework::<Offering>::with(())
        .given(vec![remote_created()])
        .when_async(OfferingCommand::ArchivePlan {
            uuid: BASIC_PLAN,
            at: later(),
        })
        .await
        .then_expect_events(vec![OfferingEvent::PlanArchived {
            uuid: BASIC_PLAN,
            at: later(),
        }]);
}

#[tokio::test]
async fn it_should_not_make_an_offering_available_without_an_active_plan() {
    TestFramework::<Offering>::with(())
        .given(vec![
            created(),
            activated(),
            made_unavailable(),
            plan_archived(BASIC_PLAN),
        ])
        .when_async(transition(Lifecycle::MakeAvailable))
        .await
        .then_expect_error(OfferingError::NoPlans);
}
