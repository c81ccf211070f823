//! A project inside a customer: its details, its end date (orders refuse expired projects)
//! and the roles users hold in it.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::roles::{RoleError, RoleGrants};
use crate::domain_event;

/// The editable details of a project (the end date has a command of its own).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectDetails {
    pub name: String,
    pub description: String,
    pub backend_id: String,
    pub start_date: Option<NaiveDate>,
    pub oecd_fos_2007_code: Option<String>,
    pub is_industry: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Project {
    uuid: Option<Uuid>,
    details: ProjectDetails,
    deleted: bool,
    end_date: Option<NaiveDate>,
    roles: RoleGrants,
}

#[derive(Debug, Clone)]
pub enum ProjectCommand {
    Create {
        uuid: Uuid,
        customer_uuid: Uuid,
        slug: String,
        details: ProjectDetails,
        end_date: Option<NaiveDate>,
        at: DateTime<Utc>,
    },
    /// Changes to some detail fields (validated by the caller), merged into the current ones.
    Update {
        changes: serde_json::Map<String, serde_json::Value>,
        at: DateTime<Utc>,
    },
    SetEndDate {
        end_date: Option<NaiveDate>,
        requested_by: Option<Uuid>,
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
    Delete {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProjectEvent {
    ProjectCreated {
        uuid: Uuid,
        customer_uuid: Uuid,
        slug: String,
        details: ProjectDetails,
        end_date: Option<NaiveDate>,
        at: DateTime<Utc>,
    },
    ProjectUpdated {
        details: ProjectDetails,
        at: DateTime<Utc>,
    },
    ProjectEndDateSet {
        end_date: Option<NaiveDate>,
        requested_by: Option<Uuid>,
        at: DateTime<Utc>,
    },
    /// Version 2 names who granted the role (version 1 left it to the metadata; see
    /// `store::codec::upcast`).
    ProjectRoleGranted {
        user_uuid: Uuid,
        role: String,
        expiration_time: Option<DateTime<Utc>>,
        granted_by: Option<Uuid>,
        at: DateTime<Utc>,
    },
    ProjectRoleUpdated {
        user_uuid: Uuid,
        role: String,
        expiration_time: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    },
    ProjectRoleRevoked {
        user_uuid: Uuid,
        role: String,
        at: DateTime<Utc>,
    },
    ProjectDeleted {
        at: DateTime<Utc>,
    },
}

domain_event!(ProjectEvent, version = "1", {
    ProjectCreated => "ProjectCreated",
    ProjectUpdated => "ProjectUpdated",
    ProjectEndDateSet => "ProjectEndDateSet",
    ProjectRoleGranted => "ProjectRoleGranted" @ "2",
    ProjectRoleUpdated => "ProjectRoleUpdated",
    ProjectRoleRevoked => "ProjectRoleRevoked",
    ProjectDeleted => "ProjectDeleted",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    #[error("project already exists")]
    AlreadyExists,
    #[error("project does not exist")]
    NotFound,
    #[error("project name may not be blank")]
    BlankName,
    #[error("invalid changes: {0}")]
    InvalidChanges(String),
    #[error(transparent)]
    Role(#[from] RoleError),
}

impl Aggregate for Project {
    const TYPE: &'static str = "project";
    type Command = ProjectCommand;
    type Event = ProjectEvent;
    type Error = ProjectError;
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
        use ProjectEvent::*;
        match event {
            ProjectCreated {
                uuid,
                details,
                end_date,
                ..
            } => {
                self.uuid = Some(uuid);
                self.details = details;
                self.end_date = end_date;
            }
            ProjectUpdated { details, .. } => self.details = details,
            ProjectEndDateSet { end_date, .. } => self.end_date = end_date,
            ProjectRoleGranted {
                user_uuid,
                role,
                expiration_time,
                ..
            }
            | ProjectRoleUpdated {
                user_uuid,
                role,
                expiration_time,
                ..
            } => self.roles.grant(user_uuid, &role, expiration_time),
            ProjectRoleRevoked {
                user_uuid, role, ..
            } => self.roles.revoke(user_uuid, &role),
            ProjectDeleted { .. } => self.deleted = true,
        }
    }
}

impl Project {
    fn decide(&self, command: ProjectCommand) -> Result<ProjectEvent, ProjectError> {
        use ProjectCommand as C;
        use ProjectEvent as E;
        if let C::Create {
            uuid,
            customer_uuid,
            slug,
            details,
            end_date,
            at,
        } = command
        {
            if self.uuid.is_some() {
                return Err(ProjectError::AlreadyExists);
            }
            if details.name.trim().is_empty() {
                return Err(ProjectError::BlankName);
            }
            return Ok(E::ProjectCreated {
                uuid,
                customer_uuid,
                slug,
                details,
                end_date,
                at,
            });
        }
        if self.uuid.is_none() || self.deleted {
            return Err(ProjectError::NotFound);
        }
        Ok(match command {
            C::Create { .. } => unreachable!("handled above"),
            C::Update { changes, at } => {
                let details = crate::domain::merge_changes(&self.details, &changes)
                    .map_err(ProjectError::InvalidChanges)?;
                if details.name.trim().is_empty() {
                    return Err(ProjectError::BlankName);
                }
                E::ProjectUpdated { details, at }
            }
            C::SetEndDate {
                end_date,
                requested_by,
                at,
            } => E::ProjectEndDateSet {
                end_date,
                requested_by,
                at,
            },
            C::GrantRole {
                user_uuid,
                role,
                expiration_time,
                granted_by,
                at,
            } => {
                self.roles
                    .check_grant(user_uuid, &role, expiration_time, at)?;
                E::ProjectRoleGranted {
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
                E::ProjectRoleUpdated {
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
                E::ProjectRoleRevoked {
                    user_uuid,
                    role,
                    at,
                }
            }
            C::Delete { at } => E::ProjectDeleted { at },
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

    fn created() -> ProjectEvent {
        ProjectEvent::ProjectCreated {
            uuid: Uuid::nil(),
            customer_uuid: Uuid::nil(),
            slug: "proj-1".into(),
            details: ProjectDetails {
                name: "Proj".into(),
                ..Default::default()
            },
            end_date: None,
            at: at(),
        }
    }

    #[tokio::test]
    async fn it_should_create_a_project_in_a_customer() {
        TestFramework::<Project>::with(())
            .given_no_previous_events()
            .when_async(ProjectCommand::Create {
                uuid: Uuid::nil(),
                customer_uuid: Uuid::nil(),
                slug: "proj-1".into(),
                details: ProjectDetails {
                    name: "Proj".into(),
                    ..Default::default()
                },
                end_date: None,
                at: at(),
            })
            .await
            .then_expect_events(vec![created()]);
    }

    #[tokio::test]
    async fn it_should_set_the_end_date() {
        let end_date = NaiveDate::from_ymd_opt(2020, 1, 1);
        TestFramework::<Project>::with(())
            .given(vec![created()])
            .when_async(ProjectCommand::SetEndDate {
                end_date,
                requested_by: None,
                at: at(),
            })
            .await
            .then_expect_events(vec![ProjectEvent::ProjectEndDateSet {
                end_date,
                requested_by: None,
                at: at(),
            }]);
    }

    #[tokio::test]
    async fn it_should_refuse_commands_on_a_deleted_project() {
        TestFramework::<Project>::with(())
            .given(vec![created(), ProjectEvent::ProjectDeleted { at: at() }])
            .when_async(ProjectCommand::Delete { at: at() })
            .await
            .then_expect_error(ProjectError::NotFound);
    }

    #[tokio::test]
    async fn it_should_grant_a_project_role_once_naming_who_granted_it() {
        let user_uuid = Uuid::new_v4();
        let granter = Uuid::new_v4();
        let granted = ProjectEvent::ProjectRoleGranted {
            user_uuid,
            role: "PROJECT.MANAGER".into(),
            expiration_time: None,
            granted_by: Some(granter),
            at: at(),
        };
        TestFramework::<Project>::with(())
            .given(vec![created()])
            .when_async(ProjectCommand::GrantRole {
                user_uuid,
                role: "PROJECT.MANAGER".into(),
                expiration_time: None,
                granted_by: Some(granter),
                at: at(),
            })
            .await
            .then_expect_events(vec![granted.clone()]);
        TestFramework::<Project>::with(())
            .given(vec![created(), granted])
            .when_async(ProjectCommand::GrantRole {
                user_uuid,
                role: "PROJECT.MANAGER".into(),
                expiration_time: None,
                granted_by: None,
                at: at(),
            })
            .await
            .then_expect_error(ProjectError::Role(RoleError::AlreadyGranted));
    }
}
