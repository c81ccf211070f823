//! One typed configuration for every subcommand: where the database is, where to listen and
//! how hyperlinks are built. Each value is a flag and an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Default PostgreSQL location used when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/ledger";

/// Database settings shared by every subcommand that touches the ledger.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL connection string; the database is created if it does not exist.
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Largest number of pooled connections.
    #[arg(
        long = "db-max-connections",
        env = "LEDGER_DB_MAX_CONNECTIONS",
        default_value_t = 20
    )]
    pub max_connections: u32,
}

impl DatabaseConfig {
    /// A configuration for the given URL with default pool settings.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            max_connections: 20,
        }
    }
}

/// Settings of the HTTP server (`ledger serve`).
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Address and port to listen on; port 0 picks a free port.
    #[arg(
        long = "listen",
        env = "LEDGER_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    /// Base URL for hyperlinks (for example `https://ledger.example.org`); when unset,
    /// hyperlinks are built from the request's Host header.
    #[arg(long = "public-url", env = "LEDGER_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Role → permission table (JSON, see `src/permissions.json`); built-in defaults when unset.
    #[arg(long = "permissions-file", env = "LEDGER_PERMISSIONS_FILE")]
    pub permissions_file: Option<PathBuf>,

    /// Let service providers (not only staff) activate, pause, archive and delete their own
    /// offerings.
    #[arg(
        long = "allow-provider-offering-management",
        env = "LEDGER_ALLOW_PROVIDER_OFFERING_MANAGEMENT"
    )]
    pub allow_provider_offering_management: bool,

    /// How often (milliseconds) the background projector polls the event log; 0 turns the
    /// periodic catch-up off.
    #[arg(
        long = "catch-up-interval-ms",
        env = "LEDGER_CATCH_UP_INTERVAL_MS",
        default_value_t = 1000
    )]
    pub catch_up_interval_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            public_url: None,
            permissions_file: None,
            allow_provider_offering_management: false,
            catch_up_interval_ms: 1000,
        }
    }
}
