//! Offerings imported from another Waldur by remote sync: type `Waldur.RemoteOffering`,
//! `backend_id` the remote offering's uuid, and `secret_options` naming the remote (its
//! address, the organization that orders there, and the sync whose token reaches it).

use uuid::Uuid;

use super::Offering;

/// The type of an offering another Waldur serves.
pub const REMOTE_OFFERING_TYPE: &str = "Waldur.RemoteOffering";

impl Offering {
    /// The remote organization an imported offering came from.
    pub fn remote_organization_uuid(&self) -> Option<Uuid> {
        if self.offering_type != REMOTE_OFFERING_TYPE {
            return None;
        }
        self.settings
            .secret_options
            .get("customer_uuid")
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// Whether a detail field of this offering is kept equal to its remote by sync, and so
    /// left alone by local edits (Waldur makes these fields read-only there).
    pub fn is_synced_field(&self, field: &str) -> bool {
        self.offering_type == REMOTE_OFFERING_TYPE && super::sync::SYNCED_DETAILS.contains(&field)
    }

    /// The remote offering an imported one mirrors (its `backend_id`).
    pub fn remote_uuid(&self) -> Option<Uuid> {
        if self.offering_type != REMOTE_OFFERING_TYPE {
            return None;
        }
        Uuid::parse_str(&self.details.backend_id).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_remote_offerings_name_a_remote_organization() {
        let organization = Uuid::new_v4();
        let mut offering = Offering {
            offering_type: REMOTE_OFFERING_TYPE.into(),
            ..Offering::default()
        };
        offering.settings.secret_options.insert(
            "customer_uuid".into(),
            json!(organization.simple().to_string()),
        );
        offering.details.backend_id = organization.simple().to_string();
        assert_eq!(offering.remote_organization_uuid(), Some(organization));
        assert_eq!(offering.remote_uuid(), Some(organization));
        assert!(offering.is_synced_field("name"));
        assert!(!offering.is_synced_field("latitude"));
        offering.offering_type = "Marketplace.Basic".into();
        assert_eq!(offering.remote_organization_uuid(), None);
        assert_eq!(offering.remote_uuid(), None);
        assert!(!offering.is_synced_field("name"));
    }
}
