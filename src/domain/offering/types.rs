//! The registry of offering types: which components each type brings with it, whether its
//! orders wait for the provider, and which order actions it supports.

use uuid::Uuid;

use super::model::{BillingType, Component, LimitPeriod};

/// A component every offering of a type has.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinComponent {
    pub component_type: &'static str,
    pub name: &'static str,
    pub measured_unit: &'static str,
    pub billing_type: BillingType,
    pub limit_period: Option<LimitPeriod>,
    pub factor: i64,
}

/// Whether orders of a type need the provider's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderReview {
    /// Always reviewed by the provider (Basic, Slurm).
    Always,
    /// Never reviewed.
    Never,
    /// Reviewed unless `plugin_options.auto_approve_marketplace_script` (default true).
    ScriptOption,
    /// Reviewed unless `plugin_options.auto_approve_remote_orders` or the approver works
    /// for the provider.
    RemoteOption,
}

/// Order actions a type supports (others answer 405).
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderActions {
    pub cancel: bool,
    pub set_state_executing: bool,
    pub set_state_done: bool,
    pub set_state_erred: bool,
    pub retry: bool,
}

/// One registered offering type.
#[derive(Debug, Clone, Copy)]
pub struct OfferingType {
    pub name: &'static str,
    pub builtin_components: &'static [BuiltinComponent],
    pub provider_review: ProviderReview,
    pub order_actions: OrderActions,
    /// Whether providers may add, change and remove components and plans.
    pub manages_components: bool,
    /// Whether its orders complete as soon as they execute (Waldur's synchronous
    /// processors), with no agent to report back.
    pub completes_at_once: bool,
}

impl OfferingType {
    pub fn is_builtin(&self, component_type: &str) -> bool {
        self.builtin_components
            .iter()
            .any(|c| c.component_type == component_type)
    }

    pub fn builtin(&self, component_type: &str) -> Option<&'static BuiltinComponent> {
        self.builtin_components
            .iter()
            .find(|c| c.component_type == component_type)
    }
}

impl BuiltinComponent {
    /// A fresh component of this built-in type, with the uuid the application gives it:
    /// the type's name, unit, billing and factor, no limits and no descriptive text.
    pub fn component(&self, uuid: Uuid) -> Component {
        Component {
            uuid,
            component_type: self.component_type.to_string(),
            name: self.name.to_string(),
            description: String::new(),
            billing_type: self.billing_type,
            measured_unit: self.measured_unit.to_string(),
            limit_period: self.limit_period,
            limit_amount: None,
            article_code: String::new(),
            min_value: None,
            max_value: None,
            max_available_limit: None,
            is_boolean: false,
            default_limit: None,
            factor: Some(self.factor),
            is_builtin: true,
            backend_id: String::new(),
        }
    }
}

const fn limit(
    component_type: &'static str,
    name: &'static str,
    measured_unit: &'static str,
    factor: i64,
) -> BuiltinComponent {
    BuiltinComponent {
        component_type,
        name,
        measured_unit,
        billing_type: BillingType::Limit,
        limit_period: Some(LimitPeriod::Month),
        factor,
    }
}

const fn usage(
    component_type: &'static str,
    name: &'static str,
    measured_unit: &'static str,
) -> BuiltinComponent {
    BuiltinComponent {
        component_type,
        name,
        measured_unit,
        billing_type: BillingType::Usage,
        limit_period: Some(LimitPeriod::Total),
        factor: 1,
    }
}

const NO_ACTIONS: OrderActions = OrderActions {
    cancel: false,
    set_state_executing: false,
    set_state_done: false,
    set_state_erred: false,
    retry: false,
};

/// Every offering type the ledger knows.
pub const TYPES: &[OfferingType] = &[
    OfferingType {
        name: "Marketplace.Basic",
        builtin_components: &[],
        provider_review: ProviderReview::Always,
        order_actions: OrderActions {
            cancel: true,
            set_state_done: true,
            retry: true,
            ..NO_ACTIONS
        },
        manages_components: true,
        completes_at_once: true,
    },
    // The site agent's type: components are defined per offering, usage reported by the agent.
    OfferingType {
        name: "Marketplace.Slurm",
        builtin_components: &[],
        provider_review: ProviderReview::Always,
        order_actions: OrderActions {
            set_state_executing: true,
            set_state_done: true,
            set_state_erred: true,
            retry: true,
            ..NO_ACTIONS
        },
        manages_components: true,
        completes_at_once: false,
    },
    OfferingType {
        name: "Marketplace.Script",
        builtin_components: &[],
        provider_review: ProviderReview::ScriptOption,
        order_actions: NO_ACTIONS,
        manages_components: true,
        completes_at_once: false,
    },
    OfferingType {
        name: "Support.OfferingTemplate",
        builtin_components: &[],
        provider_review: ProviderReview::Never,
        order_actions: OrderActions {
            cancel: true,
            set_state_done: true,
            ..NO_ACTIONS
        },
        manages_components: true,
        completes_at_once: true,
    },
    OfferingType {
        name: "Waldur.RemoteOffering",
        builtin_components: &[],
        provider_review: ProviderReview::RemoteOption,
        order_actions: NO_ACTIONS,
        manages_components: false,
        completes_at_once: false,
    },
    // The SLURM allocation package: CPU, GPU and RAM hours are builtin.
    OfferingType {
        name: "SlurmInvoices.SlurmPackage",
        builtin_components: &[
            usage("cpu", "CPU", "hours"),
            usage("gpu", "GPU", "hours"),
            usage("ram", "RAM", "GB-hours"),
        ],
        provider_review: ProviderReview::Never,
        order_actions: NO_ACTIONS,
        manages_components: true,
        completes_at_once: false,
    },
    OfferingType {
        name: "OpenStack.Tenant",
        builtin_components: &[
            limit("cores", "Cores", "cores", 1),
            limit("ram", "RAM", "GB", 1024),
            limit("storage", "Storage", "GB", 1024),
        ],
        provider_review: ProviderReview::Never,
        order_actions: NO_ACTIONS,
        manages_components: true,
        completes_at_once: false,
    },
    OfferingType {
        name: "OpenStack.Instance",
        builtin_components: &[],
        provider_review: ProviderReview::Never,
        order_actions: NO_ACTIONS,
        manages_components: true,
        completes_at_once: false,
    },
    OfferingType {
        name: "OpenStack.Volume",
        builtin_components: &[],
        provider_review: ProviderReview::Never,
        order_actions: NO_ACTIONS,
        manages_components: true,
        completes_at_once: false,
    },
    OfferingType {
        name: "VMware.VirtualMachine",
        builtin_components: &[
            limit("cpu", "CPU", "vCPU", 1),
            limit("ram", "RAM", "GB", 1024),
            limit("disk", "Disk", "GB", 1024),
        ],
        provider_review: ProviderReview::Never,
        order_actions: NO_ACTIONS,
        manages_components: true,
        completes_at_once: false,
    },
    OfferingType {
        name: "Marketplace.Rancher",
        builtin_components: &[BuiltinComponent {
            component_type: "node",
            name: "K8S node",
            measured_unit: "nodes",
            billing_type: BillingType::Usage,
            limit_period: None,
            factor: 1,
        }],
        provider_review: ProviderReview::Never,
        order_actions: NO_ACTIONS,
        manages_components: true,
        completes_at_once: false,
    },
    OfferingType {
        name: "Marketplace.Booking",
        builtin_components: &[],
        provider_review: ProviderReview::Never,
        order_actions: NO_ACTIONS,
        manages_components: true,
        completes_at_once: false,
    },
];

/// The registered type of this name.
pub fn lookup(name: &str) -> Option<&'static OfferingType> {
    TYPES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_types_are_registered_with_their_order_rules() {
        let basic = lookup("Marketplace.Basic").unwrap();
        assert!(basic.builtin_components.is_empty());
        assert_eq!(basic.provider_review, ProviderReview::Always);
        assert!(basic.order_actions.cancel);
        let slurm = lookup("Marketplace.Slurm").unwrap();
        assert!(slurm.order_actions.set_state_executing);
        assert!(!slurm.order_actions.cancel);
        assert!(lookup("Marketplace.Script").is_some());
        assert!(lookup("Support.OfferingTemplate").is_some());
        assert!(!lookup("Waldur.RemoteOffering").unwrap().manages_components);
        assert!(lookup("Nope.Nothing").is_none());
    }

    #[test]
    fn builtin_components_are_known_by_type() {
        let tenant = lookup("OpenStack.Tenant").unwrap();
        assert!(tenant.is_builtin("ram"));
        assert_eq!(tenant.builtin("ram").unwrap().factor, 1024);
        let package = lookup("SlurmInvoices.SlurmPackage").unwrap();
        assert_eq!(
            package
                .builtin_components
                .iter()
                .map(|c| c.component_type)
                .collect::<Vec<_>>(),
            vec!["cpu", "gpu", "ram"]
        );
    }

    #[test]
    fn a_builtin_component_is_made_with_its_types_unit_billing_and_factor() {
        let tenant = lookup("OpenStack.Tenant").unwrap();
        let ram = tenant.builtin("ram").unwrap().component(Uuid::from_u128(7));
        assert_eq!(ram.uuid, Uuid::from_u128(7));
        assert_eq!(ram.component_type, "ram");
        assert_eq!(ram.name, "RAM");
        assert_eq!(ram.measured_unit, "GB");
        assert_eq!(ram.billing_type, BillingType::Limit);
        assert_eq!(ram.limit_period, Some(LimitPeriod::Month));
        assert_eq!(ram.factor, Some(1024));
        assert!(ram.is_builtin);
        assert_eq!(
            (ram.min_value, ram.max_value, ram.max_available_limit),
            (None, None, None)
        );
        assert!(ram.description.is_empty() && ram.article_code.is_empty());
    }
}
