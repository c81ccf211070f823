//! Token authentication as Waldur does it: `Authorization: Token <key>` (keyword in any case)
//! or the `x-auth-token` query parameter. Tokens are looked up by their SHA-256 hash
//! ([`crate::store::tokens`], [`crate::read::users::token_holder`]).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::error::ApiError;
use crate::read::users::token_holder;
use crate::read::visibility::Viewer;
use crate::store::metadata::{Actor, CommandContext, Source};
use crate::store::tokens::token_hash;

/// The authenticated user making a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub uuid: Uuid,
    pub username: String,
    pub is_staff: bool,
    pub is_support: bool,
    /// Reads everything, the log included; refused on every write.
    pub is_auditor: bool,
    /// The token the request presented (shown back in `/api/users/me/`).
    pub token: String,
    pub request_id: String,
}

impl Caller {
    /// Staff, global support and auditors read everything.
    pub fn sees_all(&self) -> bool {
        self.is_staff || self.is_support || self.is_auditor
    }

    /// Staff and auditors read the event log and the ledger's digest.
    pub fn reads_the_log(&self) -> bool {
        self.is_staff || self.is_auditor
    }

    /// The caller as the read models' visibility rules know it.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            uuid: self.uuid,
            sees_all: self.sees_all(),
        }
    }

    /// The command context for changes this request makes.
    pub fn ctx(&self) -> CommandContext {
        CommandContext::new(
            Actor::User {
                uuid: self.uuid,
                username: self.username.clone(),
            },
            Source::Api,
            self.request_id.clone(),
        )
    }
}

/// The caller, if the request carries credentials (bad credentials are still a 401).
pub struct MaybeCaller(pub Option<Caller>);

pub(crate) fn presented_token(parts: &Parts) -> Result<Option<String>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let text = value
            .to_str()
            .map_err(|_| ApiError::Unauthenticated("Invalid token header."))?;
        let words: Vec<&str> = text.split_whitespace().collect();
        if words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("token"))
        {
            return match words.len() {
                1 => Err(ApiError::Unauthenticated(
                    "Invalid token header. No credentials provided.",
                )),
                2 => Ok(Some(words[1].to_string())),
                _ => Err(ApiError::Unauthenticated(
                    "Invalid token header. Token string should not contain spaces.",
                )),
            };
        }
    }
    let from_query = parts.uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "x-auth-token")
            .map(|(_, v)| v.into_owned())
    });
    Ok(from_query.filter(|t| !t.is_empty()))
}

fn request_id(parts: &Parts) -> String {
    parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::new_v4().simple().to_string())
}

async fn authenticate(parts: &Parts, state: &ApiState) -> Result<Option<Caller>, ApiError> {
    let Some(token) = presented_token(parts)? else {
        return Ok(None);
    };
    let holder = token_holder(&state.ledger.pool, &token_hash(&token)).await?;
    let Some(holder) = holder else {
        return Err(ApiError::Unauthenticated("Invalid token."));
    };
    if !holder.is_active {
        return Err(ApiError::Unauthenticated("User inactive or deleted."));
    }
    Ok(Some(Caller {
        uuid: holder.uuid,
        username: holder.username,
        is_staff: holder.is_staff,
        is_support: holder.is_support,
        is_auditor: holder.is_auditor,
        token,
        request_id: request_id(parts),
    }))
}

impl FromRequestParts<Arc<ApiState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = authenticate(parts, state)
            .await?
            .ok_or(ApiError::Unauthenticated(
                "Authentication credentials were not provided.",
            ))?;
        // An auditor reads and never writes, whatever the route.
        if caller.is_auditor && !caller.is_staff && !parts.method.is_safe() {
            return Err(ApiError::PermissionDenied);
        }
        Ok(caller)
    }
}

impl FromRequestParts<Arc<ApiState>> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(authenticate(parts, state).await?))
    }
}
