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

    /// How often (seconds) each active remote offering sync runs; the next run is due this
    /// long after the last one started.
    #[arg(
        long = "remote-sync-interval-seconds",
        env = "LEDGER_REMOTE_SYNC_INTERVAL_SECONDS",
        default_value_t = 86_400
    )]
    pub remote_sync_interval_seconds: u64,

    #[command(flatten)]
    pub secrets: SecretConfig,

    #[command(flatten)]
    pub remote: RemoteConfig,
}

/// Where the key that encrypts stored secrets comes from.
#[derive(Debug, Clone, Default, Args)]
pub struct SecretConfig {
    /// The key that encrypts stored secrets (remote tokens), 64 hexadecimal digits. When
    /// unset, the key is read from the key file, which is created on first start.
    #[arg(long = "secret-key", env = "LEDGER_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Where the key is kept when `LEDGER_SECRET_KEY` is unset (default:
    /// `$XDG_DATA_HOME/marketplace-ledger/secret.key`).
    #[arg(long = "secret-key-file", env = "LEDGER_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
}

impl SecretConfig {
    /// The key, creating the key file when neither key nor file exists yet.
    pub fn load(&self) -> anyhow::Result<crate::store::secrets::SecretKey> {
        use crate::store::secrets::{SecretKey, default_key_file};
        let file = self
            .secret_key_file
            .clone()
            .unwrap_or_else(default_key_file);
        let (key, created) = SecretKey::load_or_create(self.secret_key.as_deref(), &file)?;
        if let Some(path) = created {
            tracing::warn!(
                path = %path.display(),
                "generated a new secret key for stored secrets; it is kept in this file \
                 (set LEDGER_SECRET_KEY or LEDGER_SECRET_KEY_FILE to choose another)"
            );
            eprintln!(
                "Generated a secret key for stored secrets in {}; keep it with the database.",
                path.display()
            );
        }
        Ok(key)
    }
}

/// How the ledger talks to other Waldurs.
#[derive(Debug, Clone, Args)]
pub struct RemoteConfig {
    /// Allow requests to private, loopback and link-local addresses (tests, two ledgers on
    /// one host). Refused by default.
    #[arg(long = "remote-allow-private", env = "LEDGER_REMOTE_ALLOW_PRIVATE")]
    pub allow_private: bool,

    /// How long (seconds) one request to a remote Waldur may take.
    #[arg(
        long = "remote-timeout-seconds",
        env = "LEDGER_REMOTE_TIMEOUT_SECONDS",
        default_value_t = 30
    )]
    pub timeout_seconds: u64,

    /// How long (seconds) one request to the Arrow API may take.
    #[arg(
        long = "arrow-timeout-seconds",
        env = "ARROW_TIMEOUT_SECONDS",
        default_value_t = 30
    )]
    pub arrow_timeout_seconds: u64,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout_seconds: 30,
            arrow_timeout_seconds: 30,
        }
    }
}

impl RemoteConfig {
    pub fn options(&self) -> crate::clients::waldur::RemoteOptions {
        crate::clients::waldur::RemoteOptions {
            allow_internal: self.allow_private,
            timeout: std::time::Duration::from_secs(self.timeout_seconds.max(1)),
            arrow_timeout: std::time::Duration::from_secs(self.arrow_timeout_seconds.max(1)),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            public_url: None,
            permissions_file: None,
            allow_provider_offering_management: false,
            catch_up_interval_ms: 1000,
            remote_sync_interval_seconds: 86_400,
            secrets: SecretConfig::default(),
            remote: RemoteConfig::default(),
        }
    }
}
