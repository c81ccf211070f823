//! Username claims: one aggregate per (lower-cased) username, so that two users can never
//! hold the same name even when created concurrently — the event store's optimistic lock
//! lets only one claim win.

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain_event;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Username {
    owner: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub enum UsernameCommand {
    Claim { user_uuid: Uuid },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UsernameEvent {
    UsernameClaimed { user_uuid: Uuid },
}

domain_event!(UsernameEvent, version = "1", { UsernameClaimed => "UsernameClaimed" });

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("username is already taken")]
    Taken,
}

/// The aggregate id of a username claim: names compare case-insensitively.
pub fn claim_id(username: &str) -> String {
    username.to_lowercase()
}

impl Aggregate for Username {
    const TYPE: &'static str = "username";
    type Command = UsernameCommand;
    type Event = UsernameEvent;
    type Error = UsernameError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            UsernameCommand::Claim { user_uuid } => {
                if self.owner.is_some() {
                    return Err(UsernameError::Taken);
                }
                sink.write(UsernameEvent::UsernameClaimed { user_uuid }, self)
                    .await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            UsernameEvent::UsernameClaimed { user_uuid } => self.owner = Some(user_uuid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    #[tokio::test]
    async fn it_should_claim_a_free_username() {
        let user_uuid = Uuid::new_v4();
        TestFramework::<Username>::with(())
            .given_no_previous_events()
            .when_async(UsernameCommand::Claim { user_uuid })
            .await
            .then_expect_events(vec![UsernameEvent::UsernameClaimed { user_uuid }]);
    }

    #[tokio::test]
    async fn it_should_not_claim_a_taken_username() {
        TestFramework::<Username>::with(())
            .given(vec![UsernameEvent::UsernameClaimed {
                user_uuid: Uuid::new_v4(),
            }])
            .when_async(UsernameCommand::Claim {
                user_uuid: Uuid::new_v4(),
            })
            .await
            .then_expect_error(UsernameError::Taken);
    }
}
