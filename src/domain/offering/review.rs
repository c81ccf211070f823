//! Whether the provider reviews an order of an offering (Waldur's
//! `order_should_not_be_reviewed_by_provider`, negated). The rule is the offering's; the one
//! fact it may need from outside, whether an approver owns the provider's organization, is
//! read by the application and passed in.

use serde_json::Value;

use super::Offering;
use super::types::ProviderReview;

impl Offering {
    /// Whether the answer of [`Offering::provider_reviews`] depends on who approves, so the
    /// caller knows whether to read the approvers' roles at all.
    pub fn provider_review_depends_on_approver(&self) -> bool {
        self.kind()
            .is_some_and(|k| k.provider_review == ProviderReview::RemoteOption)
            && !self.plugin_option_is("auto_approve_remote_orders", true)
    }

    /// Whether an order of this offering waits for the provider's approval once the
    /// consumer side approved it. `approver_owns_provider`: an approver (the consumer
    /// reviewer or the order's creator) is an owner of the provider's organization.
    pub fn provider_reviews(&self, approver_owns_provider: bool) -> bool {
        let Some(kind) = self.kind() else {
            return false;
        };
        match kind.provider_review {
            ProviderReview::Always => true,
            ProviderReview::Never => false,
            // Approved automatically unless the option is explicitly off.
            ProviderReview::ScriptOption => {
                self.plugin_option_is("auto_approve_marketplace_script", false)
            }
            ProviderReview::RemoteOption => {
                !(self.plugin_option_is("auto_approve_remote_orders", true)
                    || approver_owns_provider)
            }
        }
    }

    fn plugin_option_is(&self, key: &str, expected: bool) -> bool {
        self.settings
            .plugin_options
            .get(key)
            .and_then(Value::as_bool)
            == Some(expected)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn offering(kind: &str, options: serde_json::Value) -> Offering {
        let mut offering = Offering {
            offering_type: kind.to_string(),
            ..Offering::default()
        };
        offering.settings.plugin_options = options.as_object().unwrap().clone();
        offering
    }

    #[test]
    fn basic_and_slurm_orders_are_always_reviewed_and_support_orders_never() {
        assert!(offering("Marketplace.Basic", json!({})).provider_reviews(true));
        assert!(offering("Marketplace.Slurm", json!({})).provider_reviews(false));
        assert!(!offering("Support.OfferingTemplate", json!({})).provider_reviews(false));
    }

    #[test]
    fn script_orders_are_reviewed_only_when_auto_approval_is_switched_off() {
        assert!(!offering("Marketplace.Script", json!({})).provider_reviews(false));
        let off = json!({"auto_approve_marketplace_script": false});
        assert!(offering("Marketplace.Script", off).provider_reviews(true));
        let odd = json!({"auto_approve_marketplace_script": "false"});
        assert!(!offering("Marketplace.Script", odd).provider_reviews(false));
    }

    #[test]
    fn remote_orders_skip_review_when_auto_approved_or_approved_by_a_provider_owner() {
        let remote = offering("Waldur.RemoteOffering", json!({}));
        assert!(remote.provider_reviews(false));
        assert!(!remote.provider_reviews(true));
        assert!(remote.provider_review_depends_on_approver());
        let auto = offering(
            "Waldur.RemoteOffering",
            json!({"auto_approve_remote_orders": true}),
        );
        assert!(!auto.provider_reviews(false));
        assert!(!auto.provider_review_depends_on_approver());
    }

    #[test]
    fn an_offering_of_an_unknown_type_is_not_reviewed() {
        assert!(!offering("Unknown.Type", json!({})).provider_reviews(false));
    }
}
