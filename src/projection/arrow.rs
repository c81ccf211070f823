//! Applying Arrow events to the tables of `projections/arrow.sql`. Each run of consecutive
//! events of one aggregate is folded into the row's document and written once.

use anyhow::Context;
use sqlx::PgConnection;

use super::orders::{aggregate_uuid, fold};
use crate::domain::arrow::consumption::{ArrowConsumptionRecord, ConsumptionEvent};
use crate::domain::arrow::mapping::{ArrowCustomerMapping, MappingEvent};
use crate::domain::arrow::settings::{ArrowSettings, ArrowSettingsEvent};
use crate::store::log::StoredEvent;

/// Applies consecutive events of one settings.
pub async fn apply_settings(
    conn: &mut PgConnection,
    run: Vec<(&StoredEvent, ArrowSettingsEvent)>,
) -> anyhow::Result<()> {
    let Some((first, _)) = run.first() else {
        return Ok(());
    };
    let uuid = aggregate_uuid(first)?;
    let Some((settings, sequence)) =
        fold::<ArrowSettings>(conn, "arrow_settings", uuid, run).await?
    else {
        return Ok(());
    };
    if settings.deleted {
        sqlx::query("DELETE FROM projection.arrow_settings WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    let created = settings
        .created
        .context("settings without a creation time")?;
    sqlx::query(
        "INSERT INTO projection.arrow_settings (uuid, is_active, sync_enabled, created, \
         modified, last_seq, document) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (uuid) DO UPDATE SET is_active = EXCLUDED.is_active, \
         sync_enabled = EXCLUDED.sync_enabled, modified = EXCLUDED.modified, \
         last_seq = EXCLUDED.last_seq, document = EXCLUDED.document",
    )
    .bind(uuid)
    .bind(settings.fields.is_active)
    .bind(settings.fields.sync_enabled)
    .bind(created)
    .bind(settings.modified.unwrap_or(created))
    .bind(sequence)
    .bind(serde_json::to_value(&settings).context("encoding the settings document")?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies consecutive events of one customer mapping.
pub async fn apply_mapping(
    conn: &mut PgConnection,
    run: Vec<(&StoredEvent, MappingEvent)>,
) -> anyhow::Result<()> {
    let Some((first, _)) = run.first() else {
        return Ok(());
    };
    let uuid = aggregate_uuid(first)?;
    let Some((mapping, sequence)) =
        fold::<ArrowCustomerMapping>(conn, "arrow_customer_mappings", uuid, run).await?
    else {
        return Ok(());
    };
    if mapping.deleted {
        sqlx::query("DELETE FROM projection.arrow_customer_mappings WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    let created = mapping
        .created
        .context("a mapping without a creation time")?;
    let f = &mapping.fields;
    sqlx::query(
        "INSERT INTO projection.arrow_customer_mappings (uuid, settings_uuid, arrow_reference, \
         arrow_company_name, waldur_customer_uuid, is_active, created, modified, last_seq, \
         document) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (uuid) DO UPDATE SET settings_uuid = EXCLUDED.settings_uuid, \
         arrow_reference = EXCLUDED.arrow_reference, \
         arrow_company_name = EXCLUDED.arrow_company_name, \
         waldur_customer_uuid = EXCLUDED.waldur_customer_uuid, \
         is_active = EXCLUDED.is_active, modified = EXCLUDED.modified, \
         last_seq = EXCLUDED.last_seq, document = EXCLUDED.document",
    )
    .bind(uuid)
    .bind(f.settings_uuid)
    .bind(&f.arrow_reference)
    .bind(&f.arrow_company_name)
    .bind(f.waldur_customer_uuid)
    .bind(f.is_active)
    .bind(created)
    .bind(mapping.modified.unwrap_or(created))
    .bind(sequence)
    .bind(serde_json::to_value(&mapping).context("encoding the mapping document")?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies consecutive events of one consumption record.
pub async fn apply_consumption(
    conn: &mut PgConnection,
    run: Vec<(&StoredEvent, ConsumptionEvent)>,
) -> anyhow::Result<()> {
    let Some((first, _)) = run.first() else {
        return Ok(());
    };
    let uuid = aggregate_uuid(first)?;
    let Some((record, sequence)) =
        fold::<ArrowConsumptionRecord>(conn, "arrow_consumption_records", uuid, run).await?
    else {
        return Ok(());
    };
    let created = record.created.context("a record without a creation time")?;
    let period = record.billing_period.context("a record without a period")?;
    sqlx::query(
        "INSERT INTO projection.arrow_consumption_records (uuid, resource_uuid, \
         license_reference, billing_period, consumed_sell, consumed_buy, final_sell, final_buy, \
         last_sync_at, finalized_at, reconciled_at, created, modified, last_seq, document) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (uuid) DO UPDATE SET consumed_sell = EXCLUDED.consumed_sell, \
         consumed_buy = EXCLUDED.consumed_buy, final_sell = EXCLUDED.final_sell, \
         final_buy = EXCLUDED.final_buy, last_sync_at = EXCLUDED.last_sync_at, \
         finalized_at = EXCLUDED.finalized_at, reconciled_at = EXCLUDED.reconciled_at, \
         modified = EXCLUDED.modified, last_seq = EXCLUDED.last_seq, \
         document = EXCLUDED.document",
    )
    .bind(uuid)
    .bind(record.resource_uuid)
    .bind(&record.license_reference)
    .bind(period)
    .bind(record.consumed_sell)
    .bind(record.consumed_buy)
    .bind(record.final_sell)
    .bind(record.final_buy)
    .bind(record.last_sync_at)
    .bind(record.finalized_at)
    .bind(record.reconciled_at)
    .bind(created)
    .bind(record.modified.unwrap_or(created))
    .bind(sequence)
    .bind(serde_json::to_value(&record).context("encoding the record document")?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
