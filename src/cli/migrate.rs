//! `ledger migrate`: create the database and apply migrations.

use clap::Args;

use crate::config::DatabaseConfig;
use crate::store::db;

#[derive(Debug, Args)]
pub struct Opts {
    #[command(flatten)]
    database: DatabaseConfig,
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    let pool = db::connect(&opts.database).await?;
    db::migrate(&pool).await?;
    println!(
        "Database {} is migrated.",
        db::redact(&opts.database.database_url)
    );
    Ok(())
}
