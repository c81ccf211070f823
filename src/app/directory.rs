//! Application services of the directory that both the API and the CLI use: creating users
//! (with their username claim), issuing tokens and bootstrapping the first admin.

use anyhow::Context;
use cqrs_es::AggregateError;
use sqlx::PgPool;
use uuid::Uuid;

use crate::app::Ledger;
use crate::domain::user::{User, UserCommand, UserError, UserProfile};
use crate::domain::username::{Username, UsernameCommand, UsernameError, claim_id};
use crate::read::slugs;
use crate::store::log;
use crate::store::metadata::CommandContext;
use crate::store::tokens::{new_token, token_hash};

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("username is already taken")]
    UsernameTaken,
    #[error(transparent)]
    User(#[from] AggregateError<UserError>),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// A new user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub slug: String,
    pub profile: UserProfile,
    pub is_staff: bool,
    pub is_support: bool,
}

/// How old a claim without a user must be before it counts as an interrupted creation
/// rather than one still in progress in another request.
const ABANDONED_CLAIM_AGE: chrono::Duration = chrono::Duration::seconds(60);

/// Claims the username, then creates the user. A claim left behind by an interrupted
/// creation (claimed long ago, but no user) is completed instead of refused.
pub async fn create_user(
    ledger: &Ledger,
    ctx: &CommandContext,
    new: NewUser,
) -> Result<Uuid, CreateUserError> {
    let claim = claim_id(&new.username);
    let mut uuid = Uuid::new_v4();
    match ledger
        .execute::<Username>(&claim, UsernameCommand::Claim { user_uuid: uuid }, ctx)
        .await
    {
        Ok(()) => {}
        Err(AggregateError::UserError(UsernameError::Taken)) => {
            match claimed_by(&ledger.pool, &claim).await? {
                Some((owner, claimed_at))
                    if ctx.now - claimed_at > ABANDONED_CLAIM_AGE
                        && !user_exists(&ledger.pool, owner).await? =>
                {
                    uuid = owner
                }
                _ => return Err(CreateUserError::UsernameTaken),
            }
        }
        Err(AggregateError::AggregateConflict) => return Err(CreateUserError::UsernameTaken),
        Err(other) => return Err(anyhow::anyhow!("claiming username: {other}").into()),
    }
    let command = UserCommand::Create {
        uuid,
        username: new.username,
        slug: new.slug,
        profile: new.profile,
        is_staff: new.is_staff,
        is_support: new.is_support,
        at: ctx.now,
    };
    ledger
        .execute::<User>(&uuid.simple().to_string(), command, ctx)
        .await?;
    Ok(uuid)
}

/// The user a username was claimed for, and when.
async fn claimed_by(
    pool: &PgPool,
    claim: &str,
) -> anyhow::Result<Option<(Uuid, chrono::DateTime<chrono::Utc>)>> {
    let events = log::aggregate_events(pool, "username", claim)
        .await
        .context("reading the username claim")?;
    Ok(events.first().and_then(|event| {
        let uuid = event
            .payload
            .pointer("/UsernameClaimed/user_uuid")
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())?;
        Some((uuid, event.recorded_at))
    }))
}

async fn user_exists(pool: &PgPool, uuid: Uuid) -> anyhow::Result<bool> {
    let events = log::aggregate_events(pool, "user", &uuid.simple().to_string())
        .await
        .context("reading the user's events")?;
    Ok(!events.is_empty())
}

/// The uuid of the user with this username (case-insensitive), from the read model.
pub async fn find_user(pool: &PgPool, username: &str) -> anyhow::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT uuid FROM projection.users WHERE lower(username) = lower($1)")
        .bind(username)
        .fetch_optional(pool)
        .await
        .context("looking up a user by username")
}

/// Issues a new API token for a user and returns it; only its hash is recorded.
pub async fn issue_token(
    ledger: &Ledger,
    ctx: &CommandContext,
    user: Uuid,
) -> anyhow::Result<String> {
    let token = new_token();
    let command = UserCommand::IssueToken {
        token_hash: token_hash(&token),
        at: ctx.now,
    };
    ledger
        .execute::<User>(&user.simple().to_string(), command, ctx)
        .await
        .map_err(|e| anyhow::anyhow!("issuing a token: {e}"))?;
    Ok(token)
}

/// Makes a user an auditor: it reads everything, the log included, and changes nothing.
pub async fn grant_auditor(
    ledger: &Ledger,
    ctx: &CommandContext,
    user: Uuid,
) -> anyhow::Result<()> {
    ledger
        .execute::<User>(
            &user.simple().to_string(),
            UserCommand::GrantAuditor { at: ctx.now },
            ctx,
        )
        .await
        .map_err(|e| anyhow::anyhow!("granting the auditor role: {e}"))
}

/// Finds or creates a user by username and issues a token for it (`ledger token create`).
pub async fn token_for(
    ledger: &Ledger,
    ctx: &CommandContext,
    username: &str,
    staff: bool,
) -> anyhow::Result<(Uuid, String)> {
    let uuid = match find_user(&ledger.pool, username).await? {
        Some(uuid) => uuid,
        None => {
            let new = NewUser {
                username: username.to_string(),
                slug: slugs::next(&ledger.pool, "users", username).await?,
                profile: UserProfile::default(),
                is_staff: staff,
                is_support: false,
            };
            create_user(ledger, ctx, new)
                .await
                .map_err(|e| anyhow::anyhow!("creating user {username}: {e}"))?
        }
    };
    let token = issue_token(ledger, ctx, uuid).await?;
    Ok((uuid, token))
}

/// On a ledger without any user, creates the staff user `admin` and returns its token.
/// Several processes starting at once create it once: the username claim decides.
pub async fn bootstrap_admin(
    ledger: &Ledger,
    ctx: &CommandContext,
) -> anyhow::Result<Option<String>> {
    let any_user: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM events WHERE aggregate_type = 'user' LIMIT 1")
            .fetch_optional(&ledger.pool)
            .await
            .context("checking for existing users")?;
    if any_user.is_some() {
        return Ok(None);
    }
    let new = NewUser {
        username: "admin".to_string(),
        slug: "admin-1".to_string(),
        profile: UserProfile::default(),
        is_staff: true,
        is_support: false,
    };
    match create_user(ledger, ctx, new).await {
        Ok(uuid) => Ok(Some(issue_token(ledger, ctx, uuid).await?)),
        Err(CreateUserError::UsernameTaken) => Ok(None),
        Err(err) => Err(anyhow::anyhow!("creating the admin user: {err}")),
    }
}
