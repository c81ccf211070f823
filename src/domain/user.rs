//! A user of the ledger: identity, staff/support/auditor flags and API tokens. Only a SHA-256
//! hash of each token is ever recorded. An auditor reads everything and changes nothing.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain_event;

/// The profile fields a user has besides its username.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub organization: String,
    #[serde(default)]
    pub job_title: String,
    #[serde(default)]
    pub phone_number: String,
    #[serde(default)]
    pub description: String,
}

impl UserProfile {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct User {
    uuid: Option<Uuid>,
    #[serde(default)]
    username: String,
    profile: UserProfile,
    is_staff: bool,
    is_support: bool,
    is_active: bool,
    #[serde(default)]
    is_auditor: bool,
    token_hashes: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum UserCommand {
    Create {
        uuid: Uuid,
        username: String,
        slug: String,
        profile: UserProfile,
        is_staff: bool,
        is_support: bool,
        at: DateTime<Utc>,
    },
    /// Changes to some profile fields (validated by the caller) and, optionally, the flags.
    Update {
        changes: serde_json::Map<String, serde_json::Value>,
        is_staff: Option<bool>,
        is_support: Option<bool>,
        is_active: Option<bool>,
        at: DateTime<Utc>,
    },
    IssueToken {
        token_hash: String,
        at: DateTime<Utc>,
    },
    /// The user may read everything, the log included, and change nothing.
    GrantAuditor { at: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UserEvent {
    UserCreated {
        uuid: Uuid,
        username: String,
        slug: String,
        profile: UserProfile,
        is_staff: bool,
        is_support: bool,
        at: DateTime<Utc>,
    },
    UserUpdated {
        profile: UserProfile,
        is_staff: bool,
        is_support: bool,
        is_active: bool,
        at: DateTime<Utc>,
    },
    TokenIssued {
        token_hash: String,
        at: DateTime<Utc>,
    },
    AuditorRoleGranted {
        at: DateTime<Utc>,
    },
}

domain_event!(UserEvent, version = "1", {
    UserCreated => "UserCreated",
    UserUpdated => "UserUpdated",
    TokenIssued => "TokenIssued",
    AuditorRoleGranted => "AuditorRoleGranted",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("user already exists")]
    AlreadyExists,
    #[error("user does not exist")]
    NotFound,
    #[error("username may not be blank")]
    BlankUsername,
    #[error("token was issued before")]
    DuplicateToken,
    #[error("invalid changes: {0}")]
    InvalidChanges(String),
}

impl Aggregate for User {
    const TYPE: &'static str = "user";
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            UserCommand::Create {
                uuid,
                username,
                slug,
                profile,
                is_staff,
                is_support,
                at,
            } => {
                if self.uuid.is_some() {
                    return Err(UserError::AlreadyExists);
                }
                if username.trim().is_empty() {
                    return Err(UserError::BlankUsername);
                }
                let event = UserEvent::UserCreated {
                    uuid,
                    username,
                    slug,
                    profile,
                    is_staff,
                    is_support,
                    at,
                };
                sink.write(event, self).await;
            }
            UserCommand::Update {
                changes,
                is_staff,
                is_support,
                is_active,
                at,
            } => {
                self.require_exists()?;
                let profile = crate::domain::merge_changes(&self.profile, &changes)
                    .map_err(UserError::InvalidChanges)?;
                let event = UserEvent::UserUpdated {
                    profile,
                    is_staff: is_staff.unwrap_or(self.is_staff),
                    is_support: is_support.unwrap_or(self.is_support),
                    is_active: is_active.unwrap_or(self.is_active),
                    at,
                };
                sink.write(event, self).await;
            }
            UserCommand::IssueToken { token_hash, at } => {
                self.require_exists()?;
                if self.token_hashes.contains(&token_hash) {
                    return Err(UserError::DuplicateToken);
                }
                sink.write(UserEvent::TokenIssued { token_hash, at }, self)
                    .await;
            }
            UserCommand::GrantAuditor { at } => {
                self.require_exists()?;
                if !self.is_auditor {
                    sink.write(UserEvent::AuditorRoleGranted { at }, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            UserEvent::UserCreated {
                uuid,
                username,
                profile,
                is_staff,
                is_support,
                ..
            } => {
                self.uuid = Some(uuid);
                self.username = username;
                self.profile = profile;
                self.is_staff = is_staff;
                self.is_support = is_support;
                self.is_active = true;
            }
            UserEvent::UserUpdated {
                profile,
                is_staff,
                is_support,
                is_active,
                ..
            } => {
                self.profile = profile;
                self.is_staff = is_staff;
                self.is_support = is_support;
                self.is_active = is_active;
            }
            UserEvent::TokenIssued { token_hash, .. } => self.token_hashes.push(token_hash),
            UserEvent::AuditorRoleGranted { .. } => self.is_auditor = true,
        }
    }
}

impl User {
    /// The user's fields as its history shows them: never a token or its hash.
    pub fn serialized(&self) -> serde_json::Value {
        let p = &self.profile;
        serde_json::json!({
            "uuid": self.uuid.map(|u| u.simple().to_string()),
            "username": self.username,
            "email": p.email,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "full_name": p.full_name(),
            "organization": p.organization,
            "job_title": p.job_title,
            "phone_number": p.phone_number,
            "description": p.description,
            "is_staff": self.is_staff,
            "is_support": self.is_support,
            "is_active": self.is_active,
            "is_auditor": self.is_auditor,
        })
    }

    fn require_exists(&self) -> Result<(), UserError> {
        self.uuid.map(|_| ()).ok_or(UserError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn created(uuid: Uuid) -> UserEvent {
        UserEvent::UserCreated {
            uuid,
            username: "alice".into(),
            slug: "alice-1".into(),
            profile: UserProfile::default(),
            is_staff: false,
            is_support: false,
            at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn an_auditor_is_granted_once_and_a_history_shows_no_token() {
        let uuid = Uuid::new_v4();
        let at = Utc::now();
        TestFramework::<User>::with(())
            .given(vec![created(uuid)])
            .when_async(UserCommand::GrantAuditor { at })
            .await
            .then_expect_events(vec![UserEvent::AuditorRoleGranted { at }]);
        TestFramework::<User>::with(())
            .given(vec![created(uuid), UserEvent::AuditorRoleGranted { at }])
            .when_async(UserCommand::GrantAuditor { at })
            .await
            .then_expect_events(vec![]);
        let mut user = User::default();
        user.apply(created(uuid));
        user.apply(UserEvent::TokenIssued {
            token_hash: "secret-hash".into(),
            at,
        });
        let shown = user.serialized().to_string();
        assert!(!shown.contains("secret-hash"));
        assert!(shown.contains("\"username\":\"alice\""));
    }

    #[tokio::test]
    async fn it_should_create_a_user() {
        let uuid = Uuid::new_v4();
        let event = created(uuid);
        let UserEvent::UserCreated { at, .. } = event.clone() else {
            unreachable!()
        };
        TestFramework::<User>::with(())
            .given_no_previous_events()
            .when_async(UserCommand::Create {
                uuid,
                username: "alice".into(),
                slug: "alice-1".into(),
                profile: UserProfile::default(),
                is_staff: false,
                is_support: false,
                at,
            })
            .await
            .then_expect_events(vec![event]);
    }

    #[tokio::test]
    async fn it_should_not_create_a_user_twice() {
        let uuid = Uuid::new_v4();
        TestFramework::<User>::with(())
            .given(vec![created(uuid)])
            .when_async(UserCommand::Create {
                uuid,
                username: "alice".into(),
                slug: "alice-1".into(),
                profile: UserProfile::default(),
                is_staff: false,
                is_support: false,
                at: Utc::now(),
            })
            .await
            .then_expect_error(UserError::AlreadyExists);
    }

    #[tokio::test]
    async fn it_should_not_create_a_user_with_a_blank_username() {
        TestFramework::<User>::with(())
            .given_no_previous_events()
            .when_async(UserCommand::Create {
                uuid: Uuid::new_v4(),
                username: " ".into(),
                slug: "-1".into(),
                profile: UserProfile::default(),
                is_staff: false,
                is_support: false,
                at: Utc::now(),
            })
            .await
            .then_expect_error(UserError::BlankUsername);
    }

    #[tokio::test]
    async fn it_should_issue_a_token_to_an_existing_user_only() {
        let at = Utc::now();
        TestFramework::<User>::with(())
            .given_no_previous_events()
            .when_async(UserCommand::IssueToken {
                token_hash: "h".into(),
                at,
            })
            .await
            .then_expect_error(UserError::NotFound);
        let uuid = Uuid::new_v4();
        TestFramework::<User>::with(())
            .given(vec![created(uuid)])
            .when_async(UserCommand::IssueToken {
                token_hash: "h".into(),
                at,
            })
            .await
            .then_expect_events(vec![UserEvent::TokenIssued {
                token_hash: "h".into(),
                at,
            }]);
    }

    #[tokio::test]
    async fn it_should_keep_unchanged_profile_fields_and_flags_on_update() {
        let uuid = Uuid::new_v4();
        let at = Utc::now();
        TestFramework::<User>::with(())
            .given(vec![created(uuid)])
            .when_async(UserCommand::Update {
                changes: serde_json::json!({"email": "a@example.com"})
                    .as_object()
                    .unwrap()
                    .clone(),
                is_staff: None,
                is_support: Some(true),
                is_active: None,
                at,
            })
            .await
            .then_expect_events(vec![UserEvent::UserUpdated {
                profile: UserProfile {
                    email: "a@example.com".into(),
                    ..Default::default()
                },
                is_staff: false,
                is_support: true,
                is_active: true,
                at,
            }]);
    }

    #[tokio::test]
    async fn it_should_not_issue_the_same_token_twice() {
        let uuid = Uuid::new_v4();
        let at = Utc::now();
        TestFramework::<User>::with(())
            .given(vec![
                created(uuid),
                UserEvent::TokenIssued {
                    token_hash: "h".into(),
                    at,
                },
            ])
            .when_async(UserCommand::IssueToken {
                token_hash: "h".into(),
                at,
            })
            .await
            .then_expect_error(UserError::DuplicateToken);
    }
}
