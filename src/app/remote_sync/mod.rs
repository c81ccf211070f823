//! Remote offering sync: adding, changing and deleting syncs (with the checks Waldur makes,
//! local ones before any call to the remote), asking a remote for its organizations and
//! categories, and running a sync ([`runner`]).
//!
//! The token is stored encrypted in the `secrets` table ([`crate::store::secrets`]); the
//! sync's events carry only a reference and a fingerprint.

pub mod remote;
pub mod runner;

use cqrs_es::AggregateError;
use serde_json::Value;
use uuid::Uuid;

use crate::app::Ledger;
use crate::clients::waldur::{RemoteError, RemoteWaldur, normalize_api_url};
use crate::domain::remote_sync::{
    MappingSpec, RemoteSync, RemoteSyncCommand, RemoteSyncError, SettingsChanges, SyncSettings,
};
use crate::domain::sync_run::SyncRunError;
use crate::read::remote_sync as read;
use crate::store::metadata::CommandContext;
use crate::store::secrets::SecretError;

/// What the `secrets` table records as the owner of a sync's token.
pub const SECRET_OWNER: &str = "remote-sync";

/// Waldur's limit on a stored token.
const MAX_TOKEN: usize = 255;

/// Why a sync could not be changed or run.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Messages per field (`non_field_errors` for the object as a whole).
    #[error("invalid: {0:?}")]
    Fields(Vec<(String, String)>),
    /// A refusal of the request as a whole, answered as a bare list.
    #[error("{0}")]
    Refused(String),
    #[error("remote synchronisation not found")]
    NotFound,
    #[error("A synchronisation of this remote is already running.")]
    Busy,
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Command(#[from] AggregateError<RemoteSyncError>),
    #[error(transparent)]
    Run(#[from] AggregateError<SyncRunError>),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl SyncError {
    fn field(name: &str, message: impl Into<String>) -> Self {
        SyncError::Fields(vec![(name.to_string(), message.into())])
    }
}

impl From<sqlx::Error> for SyncError {
    fn from(err: sqlx::Error) -> Self {
        SyncError::Internal(anyhow::Error::new(err).context("reading the read models"))
    }
}

/// A new sync as a client describes it.
#[derive(Debug, Clone)]
pub struct NewSync {
    pub api_url: String,
    pub token: String,
    pub remote_organization_uuid: Uuid,
    pub remote_organization_name: String,
    pub local_service_provider_uuid: Uuid,
    pub mappings: Vec<MappingSpec>,
    pub is_active: bool,
}

/// Changes to a sync; `None` leaves a field as it is. The remote organization cannot
/// change (Waldur protects it on update).
#[derive(Debug, Clone, Default)]
pub struct SyncChanges {
    pub api_url: Option<String>,
    pub token: Option<String>,
    pub remote_organization_name: Option<String>,
    pub local_service_provider_uuid: Option<Uuid>,
    pub mappings: Option<Vec<MappingSpec>>,
    pub is_active: Option<bool>,
}

/// The checks of a mapping list that need no database: Waldur's two messages.
fn check_mappings(mappings: &[MappingSpec]) -> Result<(), SyncError> {
    if mappings.is_empty() {
        return Err(SyncError::Refused(RemoteSyncError::NoMappings.to_string()));
    }
    let mut remote: Vec<Uuid> = mappings.iter().map(|m| m.remote_category_uuid).collect();
    remote.sort_unstable();
    remote.dedup();
    if remote.len() != mappings.len() {
        return Err(SyncError::Refused(
            RemoteSyncError::DuplicateRemoteCategories.to_string(),
        ));
    }
    Ok(())
}

fn check_token(token: &str) -> Result<(), SyncError> {
    if token.trim().is_empty() {
        return Err(SyncError::field("token", "This field may not be blank."));
    }
    if token.chars().count() > MAX_TOKEN {
        return Err(SyncError::field(
            "token",
            format!("Ensure this field has no more than {MAX_TOKEN} characters."),
        ));
    }
    Ok(())
}

fn normalized(api_url: &str) -> Result<String, SyncError> {
    normalize_api_url(api_url).map_err(|err| SyncError::field("api_url", err.to_string()))
}

/// The checks against the local directory: the organization is not one of ours, the
/// provider and the categories exist, and no other sync imports the same organization for
/// the same provider.
async fn check_locally(
    ledger: &Ledger,
    organization: Uuid,
    provider: Uuid,
    mappings: Option<&[MappingSpec]>,
    except: Option<Uuid>,
) -> Result<(), SyncError> {
    if read::is_local_customer(&ledger.pool, organization).await? {
        return Err(SyncError::field(
            "non_field_errors",
            "Synchronization cannot reference the same Waldur instance.",
        ));
    }
    if read::provider_customer(&ledger.pool, provider)
        .await?
        .is_none()
    {
        return Err(SyncError::field(
            "local_service_provider",
            "Invalid hyperlink - Object does not exist.",
        ));
    }
    if let Some(mappings) = mappings {
        let wanted: Vec<Uuid> = mappings.iter().map(|m| m.local_category_uuid).collect();
        let known = read::existing_categories(&ledger.pool, &wanted).await?;
        if wanted.iter().any(|uuid| !known.contains(uuid)) {
            return Err(SyncError::field(
                "remotelocalcategory_set",
                "Invalid hyperlink - Object does not exist.",
            ));
        }
    }
    if read::same_pair(&ledger.pool, provider, organization, except)
        .await?
        .is_some()
    {
        return Err(SyncError::field(
            "non_field_errors",
            "The fields local_service_provider, remote_organization_uuid must make a unique set.",
        ));
    }
    Ok(())
}

/// The field a remote failure is answered on, with a message that names what failed.
fn remote_refusal(err: RemoteError, asking: &str) -> SyncError {
    let field = match err {
        RemoteError::Unauthorized { .. } => "token",
        _ => "api_url",
    };
    SyncError::field(field, err.describe(asking))
}

/// Asks the remote whether the token is good and the organization exists there.
async fn check_remote(
    ledger: &Ledger,
    api_url: &str,
    token: &str,
    organization: Uuid,
) -> Result<(), SyncError> {
    let remote = RemoteWaldur::new(api_url, token, ledger.remote_options())
        .map_err(|err| remote_refusal(err, "connecting"))?;
    match remote.customer(organization).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(SyncError::field(
            "remote_organization_uuid",
            format!(
                "The remote Waldur at {} has no organization {organization} that this token \
                 can see.",
                remote.base()
            ),
        )),
        Err(err) => Err(remote_refusal(err, "looking up the remote organization")),
    }
}

/// Adds a sync. Returns its uuid.
pub async fn create(
    ledger: &Ledger,
    new: NewSync,
    ctx: &CommandContext,
) -> Result<Uuid, SyncError> {
    let api_url = normalized(&new.api_url)?;
    check_token(&new.token)?;
    check_mappings(&new.mappings)?;
    check_locally(
        ledger,
        new.remote_organization_uuid,
        new.local_service_provider_uuid,
        Some(&new.mappings),
        None,
    )
    .await?;
    check_remote(ledger, &api_url, &new.token, new.remote_organization_uuid).await?;

    let uuid = Uuid::new_v4();
    let token = ledger.secrets.store(SECRET_OWNER, uuid, &new.token).await?;
    let mapping_uuids = new.mappings.iter().map(|_| Uuid::new_v4()).collect();
    let command = RemoteSyncCommand::Create {
        uuid,
        settings: SyncSettings {
            api_url,
            token: token.clone(),
            remote_organization_uuid: new.remote_organization_uuid,
            remote_organization_name: new.remote_organization_name,
            local_service_provider_uuid: new.local_service_provider_uuid,
            is_active: new.is_active,
        },
        mappings: new.mappings,
        mapping_uuids,
        at: ctx.now,
    };
    if let Err(err) = ledger
        .execute::<RemoteSync>(&uuid.simple().to_string(), command, ctx)
        .await
    {
        ledger.secrets.delete(token.id).await?;
        return Err(err.into());
    }
    Ok(uuid)
}

/// Changes a sync: only what differs becomes an event, and an unchanged request appends
/// none. A new token replaces the stored one.
pub async fn update(
    ledger: &Ledger,
    uuid: Uuid,
    changes: SyncChanges,
    ctx: &CommandContext,
) -> Result<(), SyncError> {
    let current = read::get(&ledger.pool, uuid)
        .await?
        .ok_or(SyncError::NotFound)?
        .sync;
    let api_url = changes.api_url.as_deref().map(normalized).transpose()?;
    if let Some(token) = &changes.token {
        check_token(token)?;
    }
    if let Some(mappings) = &changes.mappings {
        check_mappings(mappings)?;
    }
    let provider = changes
        .local_service_provider_uuid
        .unwrap_or(current.local_service_provider_uuid);
    check_locally(
        ledger,
        current.remote_organization_uuid,
        provider,
        changes.mappings.as_deref(),
        Some(uuid),
    )
    .await?;

    let new_token = match &changes.token {
        Some(token) => {
            let fingerprint = ledger.secrets.fingerprint(token)?;
            (current.token.as_ref().map(|t| &t.fingerprint) != Some(&fingerprint))
                .then_some(token.as_str())
        }
        None => None,
    };
    let url_changed = api_url.as_ref().is_some_and(|url| *url != current.api_url);
    if url_changed || new_token.is_some() {
        let token = match new_token {
            Some(token) => token.to_string(),
            None => reveal_token(ledger, &current).await?,
        };
        let url = api_url.clone().unwrap_or_else(|| current.api_url.clone());
        check_remote(ledger, &url, &token, current.remote_organization_uuid).await?;
    }

    let stored = match new_token {
        Some(token) => Some(ledger.secrets.store(SECRET_OWNER, uuid, token).await?),
        None => None,
    };
    let new_mapping_uuids = changes
        .mappings
        .as_ref()
        .map(|m| m.iter().map(|_| Uuid::new_v4()).collect())
        .unwrap_or_default();
    let command = RemoteSyncCommand::Update {
        changes: SettingsChanges {
            api_url,
            token: stored.clone(),
            remote_organization_name: changes.remote_organization_name,
            local_service_provider_uuid: changes.local_service_provider_uuid,
            is_active: changes.is_active,
        },
        mappings: changes.mappings,
        new_mapping_uuids,
        at: ctx.now,
    };
    match ledger
        .execute::<RemoteSync>(&uuid.simple().to_string(), command, ctx)
        .await
    {
        Ok(()) => {
            if let Some(stored) = stored {
                ledger
                    .secrets
                    .delete_others(SECRET_OWNER, uuid, Some(stored.id))
                    .await?;
            }
            Ok(())
        }
        Err(err) => {
            if let Some(stored) = stored {
                ledger.secrets.delete(stored.id).await?;
            }
            Err(err.into())
        }
    }
}

/// Deletes a sync and its stored token. The offerings it imported stay as they are.
pub async fn delete(ledger: &Ledger, uuid: Uuid, ctx: &CommandContext) -> Result<(), SyncError> {
    if read::get(&ledger.pool, uuid).await?.is_none() {
        return Err(SyncError::NotFound);
    }
    ledger
        .execute::<RemoteSync>(
            &uuid.simple().to_string(),
            RemoteSyncCommand::Delete { at: ctx.now },
            ctx,
        )
        .await?;
    ledger
        .secrets
        .delete_others(SECRET_OWNER, uuid, None)
        .await?;
    Ok(())
}

/// The sync's token, decrypted.
pub async fn reveal_token(ledger: &Ledger, sync: &RemoteSync) -> Result<String, SyncError> {
    let token = sync
        .token
        .as_ref()
        .ok_or_else(|| SyncError::Internal(anyhow::anyhow!("the sync has no token")))?;
    Ok(ledger.secrets.reveal(token.id).await?)
}

/// A client for a remote named by address and token, refusing what a local check refuses.
fn remote_for(ledger: &Ledger, api_url: &str, token: &str) -> Result<RemoteWaldur, SyncError> {
    let api_url = normalized(api_url)?;
    check_token(token)?;
    RemoteWaldur::new(&api_url, token, ledger.remote_options())
        .map_err(|err| remote_refusal(err, "connecting"))
}

/// The organizations the token's user owns on the remote (the Add dialog offers them).
pub async fn remote_customers(
    ledger: &Ledger,
    api_url: &str,
    token: &str,
) -> Result<Vec<Value>, SyncError> {
    let remote = remote_for(ledger, api_url, token)?;
    remote
        .owned_customers()
        .await
        .map_err(|err| remote_refusal(err, "listing the remote organizations"))
}

/// The remote's marketplace categories, as it answers them.
pub async fn remote_categories(
    ledger: &Ledger,
    api_url: &str,
    token: &str,
) -> Result<Vec<Value>, SyncError> {
    let remote = remote_for(ledger, api_url, token)?;
    remote
        .categories()
        .await
        .map_err(|err| remote_refusal(err, "listing the remote categories"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(local: u128, remote: u128) -> MappingSpec {
        MappingSpec {
            local_category_uuid: Uuid::from_u128(local),
            remote_category_uuid: Uuid::from_u128(remote),
            remote_category_name: None,
        }
    }

    #[test]
    fn mappings_are_checked_with_waldurs_messages() {
        assert!(matches!(
            check_mappings(&[]),
            Err(SyncError::Refused(m)) if m == "At least one category must be specified."
        ));
        assert!(matches!(
            check_mappings(&[spec(1, 2), spec(3, 2)]),
            Err(SyncError::Refused(m)) if m == "Duplicate remote categories are not allowed."
        ));
        assert!(check_mappings(&[spec(1, 2), spec(1, 3)]).is_ok());
    }

    #[test]
    fn a_token_is_required_and_bounded() {
        assert!(check_token("").is_err());
        assert!(check_token(&"t".repeat(256)).is_err());
        assert!(check_token(&"t".repeat(255)).is_ok());
    }

    #[test]
    fn a_remote_refusal_of_the_token_is_answered_on_the_token() {
        let err = remote_refusal(
            RemoteError::Unauthorized {
                status: 401,
                message: "Invalid token.".into(),
            },
            "looking up the remote organization",
        );
        match err {
            SyncError::Fields(fields) => {
                assert_eq!(fields[0].0, "token");
                assert!(fields[0].1.contains("Invalid token."));
            }
            other => panic!("{other:?}"),
        }
    }
}
