//! `ledger serve`: run the API.

use clap::Args;

use crate::app::LedgerOptions;
use crate::config::{DatabaseConfig, ServerConfig};
use crate::server::{Application, shutdown_signal};

#[derive(Debug, Args)]
pub struct Opts {
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    server: ServerConfig,
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    let app = Application::build(&opts.database, &opts.server, LedgerOptions::default()).await?;
    if let Some(token) = &app.admin_token {
        println!("Created staff user 'admin'. Its API token (shown only this once):");
        println!("{token}");
    }
    println!("Listening on http://{}", app.address());
    app.run_until(shutdown_signal()).await
}
