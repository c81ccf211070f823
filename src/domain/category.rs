//! A marketplace category that offerings are filed under.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain_event;

/// The editable details of a category.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CategoryDetails {
    pub title: String,
    pub description: String,
    pub default_vm_category: bool,
    pub default_volume_category: bool,
    pub default_tenant_category: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Category {
    uuid: Option<Uuid>,
    details: CategoryDetails,
    deleted: bool,
}

#[derive(Debug, Clone)]
pub enum CategoryCommand {
    Create {
        uuid: Uuid,
        details: CategoryDetails,
        at: DateTime<Utc>,
    },
    /// Changes to some detail fields (validated by the caller), merged into the current ones.
    Update {
        changes: serde_json::Map<String, serde_json::Value>,
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CategoryEvent {
    CategoryCreated {
        uuid: Uuid,
        details: CategoryDetails,
        at: DateTime<Utc>,
    },
    CategoryUpdated {
        details: CategoryDetails,
        at: DateTime<Utc>,
    },
    CategoryDeleted {
        at: DateTime<Utc>,
    },
}

domain_event!(CategoryEvent, version = "1", {
    CategoryCreated => "CategoryCreated",
    CategoryUpdated => "CategoryUpdated",
    CategoryDeleted => "CategoryDeleted",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryError {
    #[error("category already exists")]
    AlreadyExists,
    #[error("category does not exist")]
    NotFound,
    #[error("category title may not be blank")]
    BlankTitle,
    #[error("invalid changes: {0}")]
    InvalidChanges(String),
}

impl Aggregate for Category {
    const TYPE: &'static str = "category";
    type Command = CategoryCommand;
    type Event = CategoryEvent;
    type Error = CategoryError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            CategoryCommand::Create { .. } if self.uuid.is_some() => {
                return Err(CategoryError::AlreadyExists);
            }
            CategoryCommand::Create { details, .. } if details.title.trim().is_empty() => {
                return Err(CategoryError::BlankTitle);
            }
            CategoryCommand::Create { uuid, details, at } => {
                CategoryEvent::CategoryCreated { uuid, details, at }
            }
            _ if self.uuid.is_none() || self.deleted => return Err(CategoryError::NotFound),
            CategoryCommand::Update { changes, at } => {
                let details = crate::domain::merge_changes(&self.details, &changes)
                    .map_err(CategoryError::InvalidChanges)?;
                if details.title.trim().is_empty() {
                    return Err(CategoryError::BlankTitle);
                }
                CategoryEvent::CategoryUpdated { details, at }
            }
            CategoryCommand::Delete { at } => CategoryEvent::CategoryDeleted { at },
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CategoryEvent::CategoryCreated { uuid, details, .. } => {
                self.uuid = Some(uuid);
                self.details = details;
            }
            CategoryEvent::CategoryUpdated { details, .. } => self.details = details,
            CategoryEvent::CategoryDeleted { .. } => self.deleted = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn at() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn details(title: &str) -> CategoryDetails {
        CategoryDetails {
            title: title.into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn it_should_create_a_titled_category() {
        TestFramework::<Category>::with(())
            .given_no_previous_events()
            .when_async(CategoryCommand::Create {
                uuid: Uuid::nil(),
                details: details("HPC"),
                at: at(),
            })
            .await
            .then_expect_events(vec![CategoryEvent::CategoryCreated {
                uuid: Uuid::nil(),
                details: details("HPC"),
                at: at(),
            }]);
    }

    #[tokio::test]
    async fn it_should_not_create_a_category_without_a_title() {
        TestFramework::<Category>::with(())
            .given_no_previous_events()
            .when_async(CategoryCommand::Create {
                uuid: Uuid::nil(),
                details: details(""),
                at: at(),
            })
            .await
            .then_expect_error(CategoryError::BlankTitle);
    }

    #[tokio::test]
    async fn it_should_not_update_a_deleted_category() {
        TestFramework::<Category>::with(())
            .given(vec![
                CategoryEvent::CategoryCreated {
                    uuid: Uuid::nil(),
                    details: details("HPC"),
                    at: at(),
                },
                CategoryEvent::CategoryDeleted { at: at() },
            ])
            .when_async(CategoryCommand::Update {
                changes: serde_json::json!({"title": "Cloud"})
                    .as_object()
                    .unwrap()
                    .clone(),
                at: at(),
            })
            .await
            .then_expect_error(CategoryError::NotFound);
    }
}
