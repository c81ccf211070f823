//! A customer (organization): its details, the blocked/archived flags that orders check, the
//! roles users hold in it, and its registration as a service provider.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::roles::{RoleError, RoleGrants};
use crate::domain_event;

/// The editable details of a customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerDetails {
    pub name: String,
    pub native_name: String,
    pub abbreviation: String,
    pub contact_details: String,
    pub agreement_number: String,
    pub email: String,
    pub phone_number: String,
    pub access_subnets: String,
    pub registration_code: String,
    pub homepage: String,
    pub domain: String,
    pub vat_code: String,
    pub postal: String,
    pub address: String,
    pub bank_name: String,
    pub bank_account: String,
    pub country: String,
    pub backend_id: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Customer {
    uuid: Option<Uuid>,
    details: CustomerDetails,
    deleted: bool,
    blocked: bool,
    archived: bool,
    service_provider: Option<Uuid>,
    roles: RoleGrants,
}

// Commands live for one request; boxing the details would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum CustomerCommand {
    Create {
        uuid: Uuid,
        slug: String,
        details: CustomerDetails,
        at: DateTime<Utc>,
    },
    /// Changes to some detail fields (validated by the caller), merged into the current ones.
    Update {
        changes: serde_json::Map<String, serde_json::Value>,
        at: DateTime<Utc>,
    },
    Block {
        at: DateTime<Utc>,
    },
    Unblock {
        at: DateTime<Utc>,
    },
    Archive {
        at: DateTime<Utc>,
    },
    Unarchive {
        at: DateTime<Utc>,
    },
    GrantRole {
        user_uuid: Uuid,
        role: String,
        expiration_time: Option<DateTime<Utc>>,
        /// The user granting it; none when the ledger itself does.
        granted_by: Option<Uuid>,
        at: DateTime<Utc>,
    },
    UpdateRole {
        user_uuid: Uuid,
        role: String,
        expiration_time: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    },
    RevokeRole {
        user_uuid: Uuid,
        role: String,
        at: DateTime<Utc>,
    },
    RegisterServiceProvider {
        service_provider_uuid: Uuid,
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CustomerEvent {
    CustomerCreated {
        uuid: Uuid,
        slug: String,
        details: CustomerDetails,
        at: DateTime<Utc>,
    },
    CustomerUpdated {
        details: CustomerDetails,
        at: DateTime<Utc>,
    },
    CustomerBlocked {
        at: DateTime<Utc>,
    },
    CustomerUnblocked {
        at: DateTime<Utc>,
    },
    CustomerArchived {
        at: DateTime<Utc>,
    },
    CustomerUnarchived {
        at: DateTime<Utc>,
    },
    /// Version 2 names who granted the role (version 1 left it to the metadata; see
    /// `store::codec::upcast`).
    CustomerRoleGranted {
        user_uuid: Uuid,
        role: String,
        expiration_time: Option<DateTime<Utc>>,
        granted_by: Option<Uuid>,
        at: DateTime<Utc>,
    },
    CustomerRoleUpdated {
        user_uuid: Uuid,
        role: String,
        expiration_time: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    },
    CustomerRoleRevoked {
        user_uuid: Uuid,
        role: String,
        at: DateTime<Utc>,
    },
    CustomerRegisteredAsServiceProvider {
        service_provider_uuid: Uuid,
        at: DateTime<Utc>,
    },
    CustomerDeleted {
        at: DateTime<Utc>,
    },
}

domain_event!(CustomerEvent, version = "1", {
    CustomerCreated => "CustomerCreated",
    CustomerUpdated => "CustomerUpdated",
    CustomerBlocked => "CustomerBlocked",
    CustomerUnblocked => "CustomerUnblocked",
    CustomerArchived => "CustomerArchived",
    CustomerUnarchived => "CustomerUnarchived",
    CustomerRoleGranted => "CustomerRoleGranted" @ "2",
    CustomerRoleUpdated => "CustomerRoleUpdated",
    CustomerRoleRevoked => "CustomerRoleRevoked",
    CustomerRegisteredAsServiceProvider => "CustomerRegisteredAsServiceProvider",
    CustomerDeleted => "CustomerDeleted",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerError {
    #[error("customer already exists")]
    AlreadyExists,
    #[error("customer does not exist")]
    NotFound,
    #[error("customer name may not be blank")]
    BlankName,
    #[error("customer is already blocked")]
    AlreadyBlocked,
    #[error("customer is not blocked")]
    NotBlocked,
    #[error("customer is already archived")]
    AlreadyArchived,
    #[error("customer is not archived")]
    NotArchived,
    #[error("customer is blocked")]
    Blocked,
    #[error("customer is archived")]
    Archived,
    #[error("invalid changes: {0}")]
    InvalidChanges(String),
    #[error("customer is already a service provider")]
    AlreadyServiceProvider,
    #[error(transparent)]
    Role(#[from] RoleError),
}

impl Aggregate for Customer {
    const TYPE: &'static str = "customer";
    type Command = CustomerCommand;
    type Event = CustomerEvent;
    type Error = CustomerError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = self.decide(command)?;
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        use CustomerEvent::*;
        match event {
            CustomerCreated { uuid, details, .. } => {
                self.uuid = Some(uuid);
                self.details = details;
            }
            CustomerUpdated { details, .. } => self.details = details,
            CustomerBlocked { .. } => self.blocked = true,
            CustomerUnblocked { .. } => self.blocked = false,
            CustomerArchived { .. } => self.archived = true,
            CustomerUnarchived { .. } => self.archived = false,
            CustomerRoleGranted {
                user_uuid,
                role,
                expiration_time,
                ..
            }
            | CustomerRoleUpdated {
                user_uuid,
                role,
                expiration_time,
                ..
            } => self.roles.grant(user_uuid, &role, expiration_time),
            CustomerRoleRevoked {
                user_uuid, role, ..
            } => self.roles.revoke(user_uuid, &role),
            CustomerRegisteredAsServiceProvider {
                service_provider_uuid,
                ..
            } => self.service_provider = Some(service_provider_uuid),
            CustomerDeleted { .. } => self.deleted = true,
        }
    }
}

impl Customer {
    /// The customer's fields as its history shows them.
    pub fn serialized(&self) -> serde_json::Value {
        let mut shown = serde_json::to_value(&self.details).unwrap_or_default();
        if let Some(object) = shown.as_object_mut() {
            object.insert(
                "uuid".into(),
                serde_json::json!(self.uuid.map(|u| u.simple().to_string())),
            );
            object.insert("blocked".into(), self.blocked.into());
            object.insert("archived".into(), self.archived.into());
            object.insert(
                "service_provider_uuid".into(),
                serde_json::json!(self.service_provider.map(|u| u.simple().to_string())),
            );
        }
        shown
    }

    /// Blocked and archived customers refuse changes (Waldur's "not available" rule).
    fn require_available(&self) -> Result<(), CustomerError> {
        if self.blocked {
            Err(CustomerError::Blocked)
        } else if self.archived {
            Err(CustomerError::Archived)
        } else {
            Ok(())
        }
    }

    /// The single event a command produces, or the rule it breaks.
    fn decide(&self, command: CustomerCommand) -> Result<CustomerEvent, CustomerError> {
        use CustomerCommand as C;
        use CustomerEvent as E;
        if let C::Create {
            uuid,
            slug,
            details,
            at,
        } = command
        {
            if self.uuid.is_some() {
                return Err(CustomerError::AlreadyExists);
            }
            if details.name.trim().is_empty() {
                return Err(CustomerError::BlankName);
            }
            return Ok(E::CustomerCreated {
                uuid,
                slug,
                details,
                at,
            });
        }
        if self.uuid.is_none() || self.deleted {
            return Err(CustomerError::NotFound);
        }
        Ok(match command {
            C::Create { .. } => unreachable!("handled above"),
            C::Update { changes, at } => {
                self.require_available()?;
                let details = crate::domain::merge_changes(&self.details, &changes)
                    .map_err(CustomerError::InvalidChanges)?;
                if details.name.trim().is_empty() {
                    return Err(CustomerError::BlankName);
                }
                E::CustomerUpdated { details, at }
            }
            C::Block { at } if !self.blocked => E::CustomerBlocked { at },
            C::Block { .. } => return Err(CustomerError::AlreadyBlocked),
            C::Unblock { at } if self.blocked => E::CustomerUnblocked { at },
            C::Unblock { .. } => return Err(CustomerError::NotBlocked),
            C::Archive { at } if !self.archived => E::CustomerArchived { at },
            C::Archive { .. } => return Err(CustomerError::AlreadyArchived),
            C::Unarchive { at } if self.archived => E::CustomerUnarchived { at },
            C::Unarchive { .. } => return Err(CustomerError::NotArchived),
            C::GrantRole {
                user_uuid,
                role,
                expiration_time,
                granted_by,
                at,
            } => {
                self.roles
                    .check_grant(user_uuid, &role, expiration_time, at)?;
                E::CustomerRoleGranted {
                    user_uuid,
                    role,
                    expiration_time,
                    granted_by,
                    at,
                }
            }
            C::UpdateRole {
                user_uuid,
                role,
                expiration_time,
                at,
            } => {
                self.roles.check_change(user_uuid, &role, at)?;
                E::CustomerRoleUpdated {
                    user_uuid,
                    role,
                    expiration_time,
                    at,
                }
            }
            C::RevokeRole {
                user_uuid,
                role,
                at,
            } => {
                self.roles.check_change(user_uuid, &role, at)?;
                E::CustomerRoleRevoked {
                    user_uuid,
                    role,
                    at,
                }
            }
            C::RegisterServiceProvider {
                service_provider_uuid,
                at,
            } => {
                if self.service_provider.is_some() {
                    return Err(CustomerError::AlreadyServiceProvider);
                }
                E::CustomerRegisteredAsServiceProvider {
                    service_provider_uuid,
                    at,
                }
            }
            C::Delete { at } => {
                self.require_available()?;
                E::CustomerDeleted { at }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn at() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn created() -> CustomerEvent {
        CustomerEvent::CustomerCreated {
            uuid: Uuid::nil(),
            slug: "acme-1".into(),
            details: CustomerDetails {
                name: "Acme".into(),
                ..Default::default()
            },
            at: at(),
        }
    }

    #[tokio::test]
    async fn it_should_create_a_named_customer() {
        TestFramework::<Customer>::with(())
            .given_no_previous_events()
            .when_async(CustomerCommand::Create {
                uuid: Uuid::nil(),
                slug: "acme-1".into(),
                details: CustomerDetails {
                    name: "Acme".into(),
                    ..Default::default()
                },
                at: at(),
            })
            .await
            .then_expect_events(vec![created()]);
    }

    #[tokio::test]
    async fn it_should_not_create_a_customer_without_a_name() {
        TestFramework::<Customer>::with(())
            .given_no_previous_events()
            .when_async(CustomerCommand::Create {
                uuid: Uuid::nil(),
                slug: "x".into(),
                details: CustomerDetails::default(),
                at: at(),
            })
            .await
            .then_expect_error(CustomerError::BlankName);
    }

    #[tokio::test]
    async fn it_should_not_update_a_customer_that_does_not_exist() {
        TestFramework::<Customer>::with(())
            .given_no_previous_events()
            .when_async(CustomerCommand::Block { at: at() })
            .await
            .then_expect_error(CustomerError::NotFound);
    }

    #[tokio::test]
    async fn it_should_block_and_not_block_twice() {
        TestFramework::<Customer>::with(())
            .given(vec![created()])
            .when_async(CustomerCommand::Block { at: at() })
            .await
            .then_expect_events(vec![CustomerEvent::CustomerBlocked { at: at() }]);
        TestFramework::<Customer>::with(())
            .given(vec![created(), CustomerEvent::CustomerBlocked { at: at() }])
            .when_async(CustomerCommand::Block { at: at() })
            .await
            .then_expect_error(CustomerError::AlreadyBlocked);
    }

    #[tokio::test]
    async fn it_should_merge_changes_into_the_current_details() {
        let changes = serde_json::json!({"email": "new@example.com"});
        TestFramework::<Customer>::with(())
            .given(vec![created()])
            .when_async(CustomerCommand::Update {
                changes: changes.as_object().unwrap().clone(),
                at: at(),
            })
            .await
            .then_expect_events(vec![CustomerEvent::CustomerUpdated {
                details: CustomerDetails {
                    name: "Acme".into(),
                    email: "new@example.com".into(),
                    ..Default::default()
                },
                at: at(),
            }]);
    }

    #[tokio::test]
    async fn it_should_not_update_a_blocked_customer() {
        let changes = serde_json::json!({"email": "new@example.com"});
        TestFramework::<Customer>::with(())
            .given(vec![created(), CustomerEvent::CustomerBlocked { at: at() }])
            .when_async(CustomerCommand::Update {
                changes: changes.as_object().unwrap().clone(),
                at: at(),
            })
            .await
            .then_expect_error(CustomerError::Blocked);
    }

    #[tokio::test]
    async fn it_should_archive_and_unarchive() {
        TestFramework::<Customer>::with(())
            .given(vec![
                created(),
                CustomerEvent::CustomerArchived { at: at() },
            ])
            .when_async(CustomerCommand::Unarchive { at: at() })
            .await
            .then_expect_events(vec![CustomerEvent::CustomerUnarchived { at: at() }]);
        TestFramework::<Customer>::with(())
            .given(vec![created()])
            .when_async(CustomerCommand::Unarchive { at: at() })
            .await
            .then_expect_error(CustomerError::NotArchived);
    }

    #[tokio::test]
    async fn it_should_not_grant_the_same_role_twice() {
        let user_uuid = Uuid::new_v4();
        let granted = CustomerEvent::CustomerRoleGranted {
            user_uuid,
            role: "CUSTOMER.OWNER".into(),
            expiration_time: None,
            granted_by: None,
            at: at(),
        };
        TestFramework::<Customer>::with(())
            .given(vec![created(), granted])
            .when_async(CustomerCommand::GrantRole {
                user_uuid,
                role: "CUSTOMER.OWNER".into(),
                expiration_time: None,
                granted_by: None,
                at: at(),
            })
            .await
            .then_expect_error(CustomerError::Role(RoleError::AlreadyGranted));
    }

    #[tokio::test]
    async fn it_should_not_revoke_a_role_that_was_never_granted() {
        TestFramework::<Customer>::with(())
            .given(vec![created()])
            .when_async(CustomerCommand::RevokeRole {
                user_uuid: Uuid::new_v4(),
                role: "CUSTOMER.OWNER".into(),
                at: at(),
            })
            .await
            .then_expect_error(CustomerError::Role(RoleError::NotGranted));
    }

    #[tokio::test]
    async fn it_should_register_as_service_provider_only_once() {
        let sp = Uuid::new_v4();
        TestFramework::<Customer>::with(())
            .given(vec![
                created(),
                CustomerEvent::CustomerRegisteredAsServiceProvider {
                    service_provider_uuid: sp,
                    at: at(),
                },
            ])
            .when_async(CustomerCommand::RegisterServiceProvider {
                service_provider_uuid: Uuid::new_v4(),
                at: at(),
            })
            .await
            .then_expect_error(CustomerError::AlreadyServiceProvider);
    }
}
