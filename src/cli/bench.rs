//! `ledger bench`: measure the ledger on this machine.

use clap::Args;

use crate::bench::{BenchOptions, run};
use crate::config::DatabaseConfig;

#[derive(Debug, Args)]
pub struct Opts {
    /// The benchmark's own database; its name must contain "bench" (dropped on every run).
    #[arg(
        long = "database-url",
        env = "LEDGER_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/ledger_bench"
    )]
    database_url: String,
    /// Orders written before measuring.
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    /// Order commands per concurrency level.
    #[arg(long, default_value_t = 2_000)]
    commands: usize,
    /// Order list pages fetched for the latency figures.
    #[arg(long, default_value_t = 500)]
    list_requests: usize,
    /// Offerings a second ledger imports by remote sync from a first (0: skip).
    #[arg(long, default_value_t = 1_000)]
    remote_offerings: usize,
}

pub async fn run_bench(opts: Opts) -> anyhow::Result<()> {
    let database = DatabaseConfig {
        database_url: opts.database_url,
        max_connections: 40,
    };
    let options = BenchOptions {
        orders: opts.orders,
        commands: opts.commands,
        list_requests: opts.list_requests,
        remote_offerings: opts.remote_offerings,
    };
    let figures = run(&database, &options).await?;
    println!("| measure | result |");
    println!("|---|---|");
    for figure in figures {
        println!("| {} | {} |", figure.name, figure.value);
    }
    Ok(())
}
