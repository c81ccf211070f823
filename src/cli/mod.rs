//! The `ledger` subcommands. Each parses its options, calls the library and prints.

mod audit;
mod bench;
mod migrate;
mod projections;
mod serve;
mod sync;
mod token;

use clap::{Parser, Subcommand};

/// Marketplace Ledger: an event-sourced order and offering ledger with Waldur's API.
#[derive(Debug, Parser)]
#[command(name = "ledger", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (creates and migrates the database on first start).
    Serve(serve::Opts),
    /// Create the database if needed and apply migrations.
    Migrate(migrate::Opts),
    /// Manage API tokens.
    Token(token::Opts),
    /// Inspect or rebuild the read models.
    Projections(projections::Opts),
    /// List remote offering syncs or run one now.
    Sync(sync::Opts),
    /// Check the ledger for tampering, or print its digest.
    Audit(audit::Opts),
    /// Seed a benchmark database with orders and measure commands and list latency.
    Bench(bench::Opts),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(opts) => serve::run(opts).await,
            Command::Migrate(opts) => migrate::run(opts).await,
            Command::Token(opts) => token::run(opts).await,
            Command::Projections(opts) => projections::run(opts).await,
            Command::Sync(opts) => sync::run(opts).await,
            Command::Audit(opts) => audit::run(opts).await,
            Command::Bench(opts) => bench::run_bench(opts).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
