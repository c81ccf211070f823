//! The application: one value that owns the pool, a command framework per aggregate, the
//! projector and the permission table. The HTTP layer, the CLI and the background jobs all
//! drive it.
//!
//! Beside it, the rules every caller shares, each taking typed inputs and a command context
//! and answering with an [`error::AppError`] (no HTTP types below this line):
//! - [`directory`]: users, tokens and the first admin.
//! - [`offerings`]: creating offerings (from a provider, an import or another Waldur),
//!   their lifecycle and the edits of their parts.
//! - [`orders`]: order rules shared by the API and the scheduler.
//! - [`arrow`]: Arrow settings, customer mappings, license imports and consumption.
//! - [`history`]: an object's versions, its state at a time and its events, from the log.
//! - [`error`]: why a rule or a command did not go through.

pub mod arrow;
pub mod directory;
pub mod error;
pub mod history;
pub mod offerings;
pub mod orders;
pub mod remote_sync;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cqrs_es::{Aggregate, AggregateError};
use sqlx::PgPool;

use crate::clients::waldur::RemoteOptions;
use crate::domain::arrow::consumption::ArrowConsumptionRecord;
use crate::domain::arrow::mapping::ArrowCustomerMapping;
use crate::domain::arrow::settings::ArrowSettings;
use crate::domain::category::Category;
use crate::domain::customer::Customer;
use crate::domain::offering::Offering;
use crate::domain::order::Order;
use crate::domain::project::Project;
use crate::domain::remote_sync::RemoteSync;
use crate::domain::resource::Resource;
use crate::domain::service_provider::ServiceProvider;
use crate::domain::sync_run::SyncRun;
use crate::domain::user::User;
use crate::domain::username::Username;
use crate::permissions::Permissions;
use crate::projection::Projector;
use crate::store::codec::{Framework, framework};
use crate::store::log::{self, LogPoint};
use crate::store::metadata::CommandContext;
use crate::store::secrets::{SecretKey, Secrets};
use crate::store::together::{self, PairError};

/// How long a request waits for its own event to reach the read models.
const READ_YOUR_WRITES_TIMEOUT: Duration = Duration::from_secs(5);

/// Options that change how the ledger runs (tests switch the inline projection off).
#[derive(Debug, Clone)]
pub struct LedgerOptions {
    /// Apply a command's events to the read models before answering.
    pub inline_projection: bool,
    /// The key that encrypts stored secrets; without one, nothing that needs a secret
    /// (remote sync) can be created or run.
    pub secret_key: Option<SecretKey>,
    /// How requests to other Waldurs behave.
    pub remote: RemoteOptions,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        Self {
            inline_projection: true,
            secret_key: None,
            remote: RemoteOptions::default(),
        }
    }
}

/// The ledger: commands in, read models out.
pub struct Ledger {
    pub pool: PgPool,
    pub projector: Projector,
    pub permissions: Permissions,
    pub secrets: Secrets,
    options: LedgerOptions,
    users: Framework<User>,
    usernames: Framework<Username>,
    customers: Framework<Customer>,
    projects: Framework<Project>,
    categories: Framework<Category>,
    service_providers: Framework<ServiceProvider>,
    offerings: Framework<Offering>,
    orders: Framework<Order>,
    resources: Framework<Resource>,
    remote_syncs: Framework<RemoteSync>,
    sync_runs: Framework<SyncRun>,
    arrow_settings: Framework<ArrowSettings>,
    arrow_mappings: Framework<ArrowCustomerMapping>,
    arrow_consumption: Framework<ArrowConsumptionRecord>,
}

/// An aggregate the ledger can run commands on.
pub trait Routed: Aggregate<Command: Clone> {
    fn framework(ledger: &Ledger) -> &Framework<Self>;
}

macro_rules! routed {
    ($($aggregate:ty => $field:ident),+ $(,)?) => {
        $(impl Routed for $aggregate {
            fn framework(ledger: &Ledger) -> &Framework<Self> {
                &ledger.$field
            }
        })+
    };
}

routed!(
    User => users,
    Username => usernames,
    Customer => customers,
    Project => projects,
    Category => categories,
    ServiceProvider => service_providers,
    Offering => offerings,
    Order => orders,
    Resource => resources,
    RemoteSync => remote_syncs,
    SyncRun => sync_runs,
    ArrowSettings => arrow_settings,
    ArrowCustomerMapping => arrow_mappings,
    ArrowConsumptionRecord => arrow_consumption,
);

impl Ledger {
    /// Wires the frameworks on an already migrated database.
    pub fn new(pool: PgPool, permissions: Permissions, options: LedgerOptions) -> Arc<Self> {
        Arc::new(Self {
            projector: Projector::new(pool.clone()),
            permissions,
            secrets: Secrets::new(pool.clone(), options.secret_key.clone()),
            options,
            users: framework(pool.clone()),
            usernames: framework(pool.clone()),
            customers: framework(pool.clone()),
            projects: framework(pool.clone()),
            categories: framework(pool.clone()),
            service_providers: framework(pool.clone()),
            offerings: framework(pool.clone()),
            orders: framework(pool.clone()),
            resources: framework(pool.clone()),
            remote_syncs: framework(pool.clone()),
            sync_runs: framework(pool.clone()),
            arrow_settings: framework(pool.clone()),
            arrow_mappings: framework(pool.clone()),
            arrow_consumption: framework(pool.clone()),
            pool,
        })
    }

    /// Runs a command on aggregate `id` and, when inline projection is on, waits until its
    /// events are visible in the read models.
    pub async fn execute<A: Routed>(
        &self,
        id: &str,
        command: A::Command,
        ctx: &CommandContext,
    ) -> Result<(), AggregateError<A::Error>> {
        crate::store::commands::execute(A::framework(self), id, command, ctx).await?;
        if self.options.inline_projection
            && let Err(err) = self.project_through::<A>(id).await
        {
            // The event is committed; the periodic catch-up will apply it.
            tracing::error!(error = ?err, aggregate = A::TYPE, id, "inline projection failed");
        }
        Ok(())
    }

    /// Runs a command without waiting for the read models: for batches (a sync run) that
    /// wait once at their end.
    pub async fn execute_unprojected<A: Routed>(
        &self,
        id: &str,
        command: A::Command,
        ctx: &CommandContext,
    ) -> Result<(), AggregateError<A::Error>> {
        crate::store::commands::execute(A::framework(self), id, command, ctx).await
    }

    /// Runs `first` on aggregate `first_id` and the command `then` derives from its new
    /// state on `second_id`, committing the events of both in one transaction (see
    /// [`crate::store::together`]); then waits for the read models like [`Ledger::execute`].
    pub async fn execute_pair<A: Routed<Services = ()>, B: Routed<Services = ()>>(
        &self,
        first: (&str, A::Command),
        second_id: &str,
        then: impl Fn(&A, &[A::Event]) -> Option<B::Command>,
        ctx: &CommandContext,
    ) -> Result<(), PairError<A::Error, B::Error>> {
        let first_id = first.0;
        let written =
            together::execute_pair::<A, B>(&self.pool, first, second_id, then, &ctx.metadata())
                .await?;
        if self.options.inline_projection
            && let Some(point) = written
            && let Err(err) = self.project_to(point).await
        {
            tracing::error!(error = ?err, first_id, second_id, "inline projection failed");
        }
        Ok(())
    }

    /// How requests to other Waldurs behave.
    pub fn remote_options(&self) -> &RemoteOptions {
        &self.options.remote
    }

    /// Waits until the newest event of one aggregate is in the read models.
    async fn project_through<A: Aggregate>(&self, id: &str) -> anyhow::Result<()> {
        let point = log::last_point_of(&self.pool, A::TYPE, id)
            .await
            .with_context(|| format!("locating the last event of {} {id}", A::TYPE))?;
        match point {
            Some(point) => self.project_to(point).await,
            None => Ok(()),
        }
    }

    /// Waits until the event at `point` is in the read models.
    async fn project_to(&self, point: LogPoint) -> anyhow::Result<()> {
        if !self
            .projector
            .wait_for(point, READ_YOUR_WRITES_TIMEOUT)
            .await?
        {
            tracing::warn!(?point, "read models lag behind the log");
        }
        Ok(())
    }
}
