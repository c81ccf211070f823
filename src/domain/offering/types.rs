//! The registry of offering types: which components each type brings with it, whether its
//! orders wait for the provider, and which order actions it supports.

use super::model::{BillingType, LimitPeriod};

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
}
