//! Applying order and resource events: each aggregate's state is folded with its own
//! `apply` and stored whole as the row's document, beside the columns lists filter on.
//! Consecutive events of one aggregate (one command's events, as a rule) are folded together
//! and written once.

use anyhow::Context;
use cqrs_es::Aggregate;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::order::{Order, OrderEvent};
use crate::domain::resource::{Resource, ResourceEvent};
use crate::store::log::StoredEvent;

/// Loads a row's document and folds into it the events of `run` it does not hold yet;
/// `None` when it holds them all already. Returns the sequence of the last event applied.
pub(super) async fn fold<T: Aggregate>(
    conn: &mut PgConnection,
    table: &str,
    uuid: Uuid,
    run: Vec<(&StoredEvent, T::Event)>,
) -> anyhow::Result<Option<(T, i64)>> {
    let current: Option<(serde_json::Value, i64)> = sqlx::query_as(&format!(
        "SELECT document, last_seq FROM projection.{table} WHERE uuid = $1 FOR UPDATE"
    ))
    .bind(uuid)
    .fetch_optional(&mut *conn)
    .await?;
    let (mut state, held) = match current {
        Some((document, last_seq)) => (
            serde_json::from_value(document).with_context(|| format!("decoding a {table} row"))?,
            last_seq,
        ),
        None => (T::default(), 0),
    };
    let mut last = None;
    for (stored, event) in run {
        if stored.sequence > held {
            state.apply(event);
            last = Some(stored.sequence);
        }
    }
    Ok(last.map(|sequence| (state, sequence)))
}

pub(super) fn aggregate_uuid(stored: &StoredEvent) -> anyhow::Result<Uuid> {
    Uuid::parse_str(&stored.aggregate_id)
        .with_context(|| format!("aggregate id {} is not a uuid", stored.aggregate_id))
}

/// Applies consecutive events of one order.
pub async fn apply_order(
    conn: &mut PgConnection,
    run: Vec<(&StoredEvent, OrderEvent)>,
) -> anyhow::Result<()> {
    let Some((first, _)) = run.first() else {
        return Ok(());
    };
    let uuid = aggregate_uuid(first)?;
    let Some((order, sequence)) = fold::<Order>(conn, "orders", uuid, run).await? else {
        return Ok(());
    };
    if order.deleted {
        sqlx::query("DELETE FROM projection.orders WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    let spec = order
        .spec
        .as_ref()
        .context("an order event before its placement")?;
    let created = order.created.context("an order without a creation time")?;
    sqlx::query(
        "INSERT INTO projection.orders (uuid, resource_uuid, offering_uuid, project_uuid, \
         customer_uuid, provider_customer_uuid, plan_uuid, type, state, cost, created_by, \
         consumer_reviewed_at, slug, created, modified, last_seq, document, name, start_date, \
         consumer_reviewed_by, provider_reviewed_by) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21) \
         ON CONFLICT (uuid) DO UPDATE SET state = EXCLUDED.state, cost = EXCLUDED.cost, \
         name = EXCLUDED.name, start_date = EXCLUDED.start_date, \
         consumer_reviewed_at = EXCLUDED.consumer_reviewed_at, \
         consumer_reviewed_by = EXCLUDED.consumer_reviewed_by, \
         provider_reviewed_by = EXCLUDED.provider_reviewed_by, modified = EXCLUDED.modified, \
         last_seq = EXCLUDED.last_seq, document = EXCLUDED.document",
    )
    .bind(uuid)
    .bind(spec.resource_uuid)
    .bind(spec.offering_uuid)
    .bind(spec.project_uuid)
    .bind(spec.customer_uuid)
    .bind(spec.provider_customer_uuid)
    .bind(spec.plan_uuid)
    .bind(spec.order_type.as_str())
    .bind(order.state.as_str())
    .bind(spec.cost)
    .bind(spec.created_by)
    .bind(order.consumer_reviewed_at)
    .bind(&spec.slug)
    .bind(created)
    .bind(order.modified.unwrap_or(created))
    .bind(sequence)
    .bind(serde_json::to_value(&order).context("encoding the order document")?)
    .bind(attributes_name(&spec.attributes))
    .bind(spec.start_date)
    .bind(order.consumer_reviewed_by)
    .bind(order.provider_reviewed_by)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `attributes.name` as text: what the list's `query` filter searches besides the project.
fn attributes_name(attributes: &serde_json::Map<String, serde_json::Value>) -> String {
    match attributes.get("name") {
        Some(serde_json::Value::String(name)) => name.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Applies consecutive events of one resource.
pub async fn apply_resource(
    conn: &mut PgConnection,
    run: Vec<(&StoredEvent, ResourceEvent)>,
) -> anyhow::Result<()> {
    let Some((first, _)) = run.first() else {
        return Ok(());
    };
    let uuid = aggregate_uuid(first)?;
    let Some((resource, sequence)) = fold::<Resource>(conn, "resources", uuid, run).await? else {
        return Ok(());
    };
    let spec = resource
        .spec
        .as_ref()
        .context("a resource event before its creation")?;
    let created = resource
        .created
        .context("a resource without a creation time")?;
    sqlx::query(
        "INSERT INTO projection.resources (uuid, offering_uuid, plan_uuid, project_uuid, \
         customer_uuid, name, backend_id, state, created, modified, last_seq, document, \
         end_date) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) \
         ON CONFLICT (uuid) DO UPDATE SET plan_uuid = EXCLUDED.plan_uuid, \
         backend_id = EXCLUDED.backend_id, state = EXCLUDED.state, \
         end_date = EXCLUDED.end_date, \
         modified = EXCLUDED.modified, last_seq = EXCLUDED.last_seq, \
         document = EXCLUDED.document",
    )
    .bind(uuid)
    .bind(spec.offering_uuid)
    .bind(resource.plan_uuid)
    .bind(spec.project_uuid)
    .bind(spec.customer_uuid)
    .bind(&spec.name)
    .bind(&resource.backend_id)
    .bind(resource.state.as_str())
    .bind(created)
    .bind(resource.modified.unwrap_or(created))
    .bind(sequence)
    .bind(serde_json::to_value(&resource).context("encoding the resource document")?)
    .bind(resource.end_date)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
