//! Routing stored events to the functions that write them into the read model tables.
//!
//! A failure names the event it belongs to (its offset in the run), so that the projector
//! can keep everything before it and mark its projection stuck at exactly that event.

use cqrs_es::Aggregate;
use sqlx::PgConnection;

use super::{arrow, directory, offerings, orders, remote_sync};
use crate::domain::arrow::{
    consumption::ArrowConsumptionRecord, mapping::ArrowCustomerMapping, settings::ArrowSettings,
};
use crate::domain::{
    category, customer, offering, order, project, remote_sync as sync, resource, service_provider,
    sync_run, user, username,
};
use crate::store::log::StoredEvent;

/// An event that could not be applied: its offset in the run, and why.
pub(super) struct RunFailure {
    pub offset: usize,
    pub error: anyhow::Error,
}

impl RunFailure {
    fn at(offset: usize) -> impl FnOnce(anyhow::Error) -> Self {
        move |error| Self { offset, error }
    }
}

/// Decodes a stored event into the aggregate's event type (older versions upcast).
fn decode<A: Aggregate>(event: &StoredEvent) -> anyhow::Result<A::Event> {
    use anyhow::Context;
    crate::store::codec::decode(
        &event.event_type,
        &event.event_version,
        event.payload.clone(),
        &event.metadata,
    )
    .with_context(|| {
        format!(
            "decoding {} v{} of {}",
            event.event_type,
            event.event_version,
            A::TYPE
        )
    })
}

/// Decodes every event of a run, naming the first one that does not decode.
fn decoded<'e, A: Aggregate>(
    run: &[&'e StoredEvent],
) -> Result<Vec<(&'e StoredEvent, A::Event)>, RunFailure> {
    run.iter()
        .enumerate()
        .map(|(offset, event)| {
            decode::<A>(event)
                .map(|decoded| (*event, decoded))
                .map_err(RunFailure::at(offset))
        })
        .collect()
}

/// Applies consecutive events of one aggregate: orders, resources, syncs and runs fold the whole run
/// into one row write (a failed write is the run's first event), the other read models
/// take the events one by one.
pub(super) async fn apply_run(
    conn: &mut PgConnection,
    run: &[&StoredEvent],
) -> Result<(), RunFailure> {
    match run[0].aggregate_type.as_str() {
        order::Order::TYPE => {
            let events = decoded::<order::Order>(run)?;
            orders::apply_order(conn, events)
                .await
                .map_err(RunFailure::at(0))
        }
        resource::Resource::TYPE => {
            let events = decoded::<resource::Resource>(run)?;
            orders::apply_resource(conn, events)
                .await
                .map_err(RunFailure::at(0))
        }
        sync::RemoteSync::TYPE => {
            let events = decoded::<sync::RemoteSync>(run)?;
            remote_sync::apply_sync(conn, events)
                .await
                .map_err(RunFailure::at(0))
        }
        sync_run::SyncRun::TYPE => {
            let events = decoded::<sync_run::SyncRun>(run)?;
            remote_sync::apply_run(conn, events)
                .await
                .map_err(RunFailure::at(0))
        }
        ArrowSettings::TYPE => {
            let events = decoded::<ArrowSettings>(run)?;
            arrow::apply_settings(conn, events)
                .await
                .map_err(RunFailure::at(0))
        }
        ArrowCustomerMapping::TYPE => {
            let events = decoded::<ArrowCustomerMapping>(run)?;
            arrow::apply_mapping(conn, events)
                .await
                .map_err(RunFailure::at(0))
        }
        ArrowConsumptionRecord::TYPE => {
            let events = decoded::<ArrowConsumptionRecord>(run)?;
            arrow::apply_consumption(conn, events)
                .await
                .map_err(RunFailure::at(0))
        }
        _ => {
            for (offset, event) in run.iter().enumerate() {
                apply(conn, event).await.map_err(RunFailure::at(offset))?;
            }
            Ok(())
        }
    }
}

/// Routes one stored event of the directory or the offerings to its read model.
async fn apply(conn: &mut PgConnection, event: &StoredEvent) -> anyhow::Result<()> {
    match event.aggregate_type.as_str() {
        user::User::TYPE => directory::apply_user(conn, event, decode::<user::User>(event)?).await,
        customer::Customer::TYPE => {
            directory::apply_customer(conn, event, decode::<customer::Customer>(event)?).await
        }
        project::Project::TYPE => {
            directory::apply_project(conn, event, decode::<project::Project>(event)?).await
        }
        category::Category::TYPE => {
            directory::apply_category(conn, event, decode::<category::Category>(event)?).await
        }
        service_provider::ServiceProvider::TYPE => {
            let decoded = decode::<service_provider::ServiceProvider>(event)?;
            directory::apply_service_provider(conn, event, decoded).await
        }
        offering::Offering::TYPE => {
            offerings::apply_offering(conn, event, decode::<offering::Offering>(event)?).await
        }
        // Username claims only guard uniqueness; the users table carries the name.
        username::Username::TYPE => Ok(()),
        other => anyhow::bail!("no read model applies {other} events"),
    }
}
