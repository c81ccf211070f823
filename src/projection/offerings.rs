//! Applying offering events: the offering's state is folded with the aggregate's own `apply`
//! and stored whole as the row's document, with its plans in rows of their own.

use anyhow::Context;
use cqrs_es::Aggregate;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::offering::model::BillingType;
use crate::domain::offering::{Offering, OfferingEvent};
use crate::store::log::StoredEvent;

pub async fn apply_offering(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    event: OfferingEvent,
) -> anyhow::Result<()> {
    let uuid = Uuid::parse_str(&stored.aggregate_id)
        .with_context(|| format!("offering id {} is not a uuid", stored.aggregate_id))?;
    let current: Option<(serde_json::Value, i64)> = sqlx::query_as(
        "SELECT document, last_seq FROM projection.offerings WHERE uuid = $1 FOR UPDATE",
    )
    .bind(uuid)
    .fetch_optional(&mut *conn)
    .await?;
    let mut offering = match current {
        Some((_, last_seq)) if last_seq >= stored.sequence => return Ok(()),
        Some((document, _)) => {
            serde_json::from_value(document).context("decoding the offering document")?
        }
        None => Offering::default(),
    };
    let created_now = matches!(event, OfferingEvent::OfferingCreated { .. });
    offering.apply(event);
    if created_now {
        sqlx::query(
            "INSERT INTO projection.offering_slugs (slug) VALUES ($1) ON CONFLICT DO NOTHING",
        )
        .bind(&offering.slug)
        .execute(&mut *conn)
        .await?;
    }

    sqlx::query("DELETE FROM projection.plans WHERE offering_uuid = $1")
        .bind(uuid)
        .execute(&mut *conn)
        .await?;
    if offering.deleted {
        sqlx::query("DELETE FROM projection.offerings WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    let created = offering
        .created
        .context("an offering event before its creation")?;
    let modified = offering.modified.unwrap_or(created);
    sqlx::query(
        "INSERT INTO projection.offerings (uuid, customer_uuid, category_uuid, project_uuid, \
         type, state, name, slug, description, shared, billable, backend_id, created, modified, \
         last_seq, document, billing_types, remote_organization_uuid) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) \
         ON CONFLICT (uuid) DO UPDATE SET customer_uuid = EXCLUDED.customer_uuid, \
         category_uuid = EXCLUDED.category_uuid, project_uuid = EXCLUDED.project_uuid, \
         type = EXCLUDED.type, state = EXCLUDED.state, name = EXCLUDED.name, \
         slug = EXCLUDED.slug, description = EXCLUDED.description, shared = EXCLUDED.shared, \
         billable = EXCLUDED.billable, backend_id = EXCLUDED.backend_id, \
         modified = EXCLUDED.modified, last_seq = EXCLUDED.last_seq, \
         document = EXCLUDED.document, billing_types = EXCLUDED.billing_types, \
         remote_organization_uuid = EXCLUDED.remote_organization_uuid",
    )
    .bind(uuid)
    .bind(offering.customer_uuid)
    .bind(offering.category_uuid)
    .bind(offering.project_uuid)
    .bind(&offering.offering_type)
    .bind(offering.state.as_str())
    .bind(&offering.details.name)
    .bind(&offering.slug)
    .bind(&offering.details.description)
    .bind(offering.details.shared)
    .bind(offering.details.billable)
    .bind(&offering.details.backend_id)
    .bind(created)
    .bind(modified)
    .bind(stored.sequence)
    .bind(serde_json::to_value(&offering).context("encoding the offering document")?)
    .bind(billing_types(&offering))
    .bind(offering.remote_organization_uuid())
    .execute(&mut *conn)
    .await?;
    for plan in &offering.plans {
        sqlx::query(
            "INSERT INTO projection.plans (uuid, offering_uuid, name, archived, last_seq, document) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(plan.uuid)
        .bind(uuid)
        .bind(&plan.name)
        .bind(plan.archived)
        .bind(stored.sequence)
        .bind(serde_json::to_value(plan).context("encoding a plan")?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The distinct billing types of the offering's components, in the order of
/// [`BillingType::ALL`].
fn billing_types(offering: &Offering) -> Vec<&'static str> {
    BillingType::ALL
        .into_iter()
        .filter(|t| offering.components.iter().any(|c| c.billing_type == *t))
        .map(BillingType::as_str)
        .collect()
}
