//! Building and running the HTTP server: connect, migrate, make the read models ready,
//! bootstrap the first admin, then serve until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::api::{self, ApiState};
use crate::app::directory;
use crate::app::{Ledger, LedgerOptions};
use crate::config::{DatabaseConfig, ServerConfig};
use crate::jobs;
use crate::permissions::Permissions;
use crate::store::db;
use crate::store::metadata::{CommandContext, Source};

/// A ledger server bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    ledger: Arc<Ledger>,
    router: axum::Router,
    /// The timer running [`jobs`], stopped when serving ends.
    jobs: JoinHandle<()>,
    /// The remote sync schedule, stopped when serving ends.
    syncs: JoinHandle<()>,
    /// The token of the `admin` user, when this start created it.
    pub admin_token: Option<String>,
}

impl Application {
    /// Prepares the database and binds the listener (port 0 picks a free port).
    pub async fn build(
        database: &DatabaseConfig,
        server: &ServerConfig,
        options: LedgerOptions,
    ) -> anyhow::Result<Self> {
        let pool = db::connect(database).await?;
        db::migrate(&pool).await?;
        let permissions = Permissions::load(server.permissions_file.as_deref())?;
        let options = LedgerOptions {
            secret_key: match options.secret_key {
                Some(key) => Some(key),
                None => Some(server.secrets.load()?),
            },
            remote: server.remote.options(),
            ..options
        };
        let ledger = Ledger::new(pool, permissions, options);
        ledger
            .projector
            .ensure_ready()
            .await
            .context("preparing the read models")?;
        let admin_token =
            directory::bootstrap_admin(&ledger, &CommandContext::system(Source::Cli)).await?;
        let jobs = jobs::spawn(&ledger, Duration::from_millis(server.catch_up_interval_ms));
        let syncs = jobs::remote_sync::spawn(
            &ledger,
            Duration::from_secs(server.remote_sync_interval_seconds),
        );
        let listener = TcpListener::bind(server.listen)
            .await
            .with_context(|| format!("binding {}", server.listen))?;
        let address = listener.local_addr()?;
        let state = Arc::new(ApiState {
            ledger: Arc::clone(&ledger),
            public_url: server.public_url.clone(),
            listen: address,
            allow_provider_offering_management: server.allow_provider_offering_management,
        });
        Ok(Self {
            listener,
            address,
            router: api::router(state),
            ledger,
            jobs,
            syncs,
            admin_token,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn ledger(&self) -> Arc<Ledger> {
        Arc::clone(&self.ledger)
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP");
        self.jobs.abort();
        self.syncs.abort();
        result
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
