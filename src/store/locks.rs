//! Named locks across requests and ledger processes: a transaction-scoped advisory lock,
//! held for as long as the guard lives. A rule that reads the read models and then writes
//! (a uniqueness check) runs under the lock of the key it checks, so two requests that
//! would both pass the check take turns instead.

use sqlx::{PgPool, Postgres, Transaction};

/// A held lock; dropping it (or [`KeyLock::release`]) lets the next holder in.
pub struct KeyLock {
    tx: Transaction<'static, Postgres>,
}

impl KeyLock {
    /// Waits for the lock named `key`.
    pub async fn acquire(pool: &PgPool, key: &str) -> sqlx::Result<Self> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        Ok(Self { tx })
    }

    /// Releases the lock now.
    pub async fn release(self) {
        // Ending the transaction releases its advisory locks; a failure ends it too.
        let _ = self.tx.rollback().await;
    }
}
