//! Idempotency keys: the first response to a POST that carried an `Idempotency-Key`, kept
//! for [`KEY_LIFETIME_HOURS`] so that a retry gets it again instead of running again.
//! A key belongs to the API token that sent it. Claiming a key is one insert, so of two
//! requests with the same key only one runs; the other sees it in progress.

use sqlx::PgPool;

/// How long a key holds its response.
pub const KEY_LIFETIME_HOURS: i32 = 24;

/// A response kept for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// What a key says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or expired): this request runs and its response is kept.
    Fresh,
    /// The same request was answered before: answer it again.
    Answered(Kept),
    /// The same request is still running.
    InProgress,
    /// The key was used with another request.
    Mismatch,
}

/// Claims `key` of `token_hash` for the request hashed as `request_hash`.
pub async fn claim(
    pool: &PgPool,
    token_hash: &str,
    key: &str,
    request_hash: &str,
) -> sqlx::Result<Claim> {
    // An expired key is as good as none.
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE token_hash = $1 AND key = $2 \
         AND created_at < now() - make_interval(hours => $3)",
    )
    .bind(token_hash)
    .bind(key)
    .bind(KEY_LIFETIME_HOURS)
    .execute(pool)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (token_hash, key, request_hash) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(token_hash)
    .bind(key)
    .bind(request_hash)
    .execute(pool)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    type Row = (
        String,
        Option<i16>,
        Option<String>,
        Option<String>,
        Option<Vec<u8>>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT request_hash, status, content_type, location, body FROM idempotency_keys \
         WHERE token_hash = $1 AND key = $2",
    )
    .bind(token_hash)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        // Released in the meantime: try once more.
        None => Box::pin(claim(pool, token_hash, key, request_hash)).await?,
        Some((hash, _, _, _, _)) if hash != request_hash => Claim::Mismatch,
        Some((_, None, _, _, _)) => Claim::InProgress,
        Some((_, Some(status), content_type, location, body)) => Claim::Answered(Kept {
            status: u16::try_from(status).unwrap_or(500),
            content_type,
            location,
            body: body.unwrap_or_default(),
        }),
    })
}

/// Keeps the response of a claimed key.
pub async fn keep(pool: &PgPool, token_hash: &str, key: &str, kept: &Kept) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $3, content_type = $4, location = $5, body = $6 \
         WHERE token_hash = $1 AND key = $2",
    )
    .bind(token_hash)
    .bind(key)
    .bind(i16::try_from(kept.status).unwrap_or(500))
    .bind(&kept.content_type)
    .bind(&kept.location)
    .bind(&kept.body)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives a claimed key up (the request failed in a way a retry may fix).
pub async fn release(pool: &PgPool, token_hash: &str, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE token_hash = $1 AND key = $2")
        .bind(token_hash)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets expired keys; answers how many.
pub async fn purge_expired(pool: &PgPool) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
    )
    .bind(KEY_LIFETIME_HOURS)
    .execute(pool)
    .await?
    .rows_affected())
}
