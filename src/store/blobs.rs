//! Content-addressed blobs (order attachments): kept once per sha256 beside the event
//! store, so events carry only the hash and a rebuild needs nothing but the events and the
//! blobs.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// A stored blob: its content type and bytes.
#[derive(Debug, sqlx::FromRow)]
pub struct Blob {
    pub content_type: String,
    pub content: Vec<u8>,
}

/// Stores `content` under its sha256 (once; the first content type stays) and returns the
/// hash, hex encoded.
pub async fn put(pool: &PgPool, content_type: &str, content: &[u8]) -> sqlx::Result<String> {
    let sha256 = hex::encode(Sha256::digest(content));
    sqlx::query(
        "INSERT INTO blobs (sha256, content_type, size, content) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(&sha256)
    .bind(content_type)
    .bind(content.len() as i64)
    .bind(content)
    .execute(pool)
    .await?;
    Ok(sha256)
}

/// The blob stored under `sha256`, if any.
pub async fn get(pool: &PgPool, sha256: &str) -> sqlx::Result<Option<Blob>> {
    sqlx::query_as("SELECT content_type, content FROM blobs WHERE sha256 = $1")
        .bind(sha256)
        .fetch_optional(pool)
        .await
}
