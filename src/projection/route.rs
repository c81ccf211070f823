//! Routing stored events to the functions that write them into the read model tables.
//!
//! The directory takes its events one by one. The other projections fold each aggregate's
//! events into its row and write all the rows of a batch at once ([`Mode::Batched`]); a
//! failed multi-row statement cannot name its event, so the projector then applies the same
//! events again one run (consecutive events of one aggregate) at a time
//! ([`Mode::RunByRun`]), where a failed write is the run's first event. Either way a
//! failure names the event it belongs to, so that the projector can keep everything before
//! it and mark its projection stuck at exactly that event.

use cqrs_es::Aggregate;
use sqlx::PgConnection;

use super::documents::{self, Document, Item, WriteError};
use super::{Projection, directory, offerings, remote_sync};
use crate::domain::arrow::{
    consumption::ArrowConsumptionRecord, mapping::ArrowCustomerMapping, settings::ArrowSettings,
};
use crate::domain::{
    category, customer, offering, order, project, remote_sync as sync, resource, service_provider,
    sync_run, user, username,
};
use crate::store::log::StoredEvent;

/// How the rows of a share are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Every aggregate type's rows in one statement per table.
    Batched,
    /// One run of consecutive events of one aggregate after the other.
    RunByRun,
}

/// Why a share could not be applied.
pub(super) enum Failure {
    /// The event at this index in the share cannot be applied.
    At(usize, anyhow::Error),
    /// A multi-row statement failed: apply the share again run by run to find the event.
    Unplaced(anyhow::Error),
}

/// Applies the events of `events` that concern `projection`.
pub(super) async fn apply_events(
    conn: &mut PgConnection,
    projection: &Projection,
    events: &[StoredEvent],
    mode: Mode,
) -> Result<(), Failure> {
    let ours: Vec<(usize, &StoredEvent)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| projection.concerns(e))
        .collect();
    if mode == Mode::RunByRun || projection.name == "directory" {
        for run in ours.chunk_by(|(_, a), (_, b)| {
            a.aggregate_type == b.aggregate_type && a.aggregate_id == b.aggregate_id
        }) {
            apply_group(conn, run).await.map_err(|error| match error {
                WriteError::At(index, error) => Failure::At(index, error),
                WriteError::Statement(error) => Failure::At(run[0].0, error),
            })?;
        }
        return Ok(());
    }
    // Aggregate types of one projection write tables of their own, so their order does
    // not matter; the runs of one type keep theirs.
    let mut types: Vec<&str> = ours
        .iter()
        .map(|(_, e)| e.aggregate_type.as_str())
        .collect();
    types.sort_unstable();
    types.dedup();
    for kind in types {
        let group: Vec<(usize, &StoredEvent)> = ours
            .iter()
            .filter(|(_, e)| e.aggregate_type == kind)
            .copied()
            .collect();
        apply_group(conn, &group)
            .await
            .map_err(|error| match error {
                WriteError::At(index, error) => Failure::At(index, error),
                WriteError::Statement(error) => Failure::Unplaced(error),
            })?;
    }
    Ok(())
}

/// Applies events of one aggregate type (one run, or all of a batch), with their indexes.
async fn apply_group(
    conn: &mut PgConnection,
    group: &[(usize, &StoredEvent)],
) -> Result<(), WriteError> {
    let Some((_, first)) = group.first() else {
        return Ok(());
    };
    match first.aggregate_type.as_str() {
        order::Order::TYPE => fold_and_write::<order::Order>(conn, group).await.map(drop),
        resource::Resource::TYPE => fold_and_write::<resource::Resource>(conn, group)
            .await
            .map(drop),
        sync::RemoteSync::TYPE => {
            let written = fold_and_write::<sync::RemoteSync>(conn, group).await?;
            remote_sync::syncs_written(conn, &written).await
        }
        sync_run::SyncRun::TYPE => {
            let written = fold_and_write::<sync_run::SyncRun>(conn, group).await?;
            remote_sync::runs_written(conn, &written).await
        }
        ArrowSettings::TYPE => fold_and_write::<ArrowSettings>(conn, group).await.map(drop),
        ArrowCustomerMapping::TYPE => fold_and_write::<ArrowCustomerMapping>(conn, group)
            .await
            .map(drop),
        ArrowConsumptionRecord::TYPE => fold_and_write::<ArrowConsumptionRecord>(conn, group)
            .await
            .map(drop),
        offering::Offering::TYPE => {
            offerings::apply(conn, decoded::<offering::Offering>(group)?).await
        }
        _ => {
            for (index, event) in group {
                apply(conn, event)
                    .await
                    .map_err(|error| WriteError::At(*index, error))?;
            }
            Ok(())
        }
    }
}

/// Folds and writes the rows of one document type; returns the uuids of the rows written.
async fn fold_and_write<A: Document>(
    conn: &mut PgConnection,
    group: &[(usize, &StoredEvent)],
) -> Result<Vec<uuid::Uuid>, WriteError> {
    let items = decoded::<A>(group)?;
    let folded = documents::fold::<A>(conn, items, |_| {}).await?;
    documents::write(conn, &folded).await
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

/// Decodes every event of a group, naming the first one that does not decode.
fn decoded<'e, A: Aggregate>(
    group: &[(usize, &'e StoredEvent)],
) -> Result<Vec<Item<'e, A>>, WriteError> {
    group
        .iter()
        .map(|(index, event)| {
            decode::<A>(event)
                .map(|decoded| (*index, *event, decoded))
                .map_err(|error| WriteError::At(*index, error))
        })
        .collect()
}

/// Routes one stored event of the directory to its read model.
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
        // Username claims only guard uniqueness; the users table carries the name.
        username::Username::TYPE => Ok(()),
        other => anyhow::bail!("no read model applies {other} events"),
    }
}
