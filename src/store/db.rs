//! Connecting to PostgreSQL, creating the ledger database when it is missing and applying the
//! append-only migrations (and the one-time chaining of events older than the hash chain).

use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres};

use crate::config::DatabaseConfig;
use crate::store::chain;

/// Creates the database named in the URL if it does not exist yet.
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    let exists = Postgres::database_exists(url)
        .await
        .with_context(|| format!("checking whether the database at {} exists", redact(url)))?;
    if !exists {
        match Postgres::create_database(url).await {
            Ok(()) => tracing::info!(database = %redact(url), "created database"),
            // Another process may have created it between the check and the create.
            Err(err) if Postgres::database_exists(url).await.unwrap_or(false) => {
                tracing::debug!(%err, "database appeared concurrently");
            }
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("creating the database at {}", redact(url)));
            }
        }
    }
    Ok(())
}

/// Opens a connection pool (creating the database first if needed).
pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<PgPool> {
    create_database_if_missing(&config.database_url).await?;
    let options: PgConnectOptions = config
        .database_url
        .parse::<PgConnectOptions>()
        .context("parsing DATABASE_URL")?
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .with_context(|| format!("connecting to {}", redact(&config.database_url)))
}

/// Applies every migration in `migrations/` that the database has not seen yet, then chains
/// the events written before the hash chain existed (once; see [`chain::backfill`]).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .context("applying migrations")?;
    chain::backfill::backfill(pool).await?;
    Ok(())
}

/// The URL with any password replaced, for logs and error messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
