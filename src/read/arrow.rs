//! The Arrow read models: settings, customer mappings (with their customer's name),
//! consumption records (with their resource, project and customer), billing syncs, and the
//! facts about local customers and resources the Arrow actions read.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::list::{self, ListError, Page, Paging, push_contains, push_equals};
use crate::domain::arrow::consumption::ArrowConsumptionRecord;
use crate::domain::arrow::mapping::ArrowCustomerMapping;
use crate::domain::arrow::settings::ArrowSettings;

fn decode<T: serde::de::DeserializeOwned>(document: Value, what: &str) -> sqlx::Result<T> {
    serde_json::from_value(document)
        .map_err(|e| sqlx::Error::Decode(format!("decoding an Arrow {what} document: {e}").into()))
}

// ---------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------

/// What a settings list keeps.
#[derive(Debug, Default, Clone)]
pub struct SettingsFilter {
    pub is_active: Option<bool>,
    pub sync_enabled: Option<bool>,
}

impl SettingsFilter {
    fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        qb.push(" WHERE true");
        push_equals(qb, "s.is_active", self.is_active);
        push_equals(qb, "s.sync_enabled", self.sync_enabled);
    }
}

#[derive(FromRow)]
struct Document {
    document: Value,
}

/// One page of settings, newest first.
pub async fn settings_page(
    pool: &PgPool,
    filter: &SettingsFilter,
    paging: Paging,
) -> Result<Page<ArrowSettings>, ListError> {
    let page: Page<Document> = list::fetch_page(
        pool,
        "s.document",
        "projection.arrow_settings s",
        |qb| filter.push(qb),
        "s.created DESC, s.uuid",
        paging,
    )
    .await?;
    let rows = page
        .rows
        .into_iter()
        .map(|row| decode(row.document, "settings"))
        .collect::<sqlx::Result<_>>()?;
    Ok(Page {
        total: page.total,
        rows,
        paging: page.paging,
    })
}

pub async fn settings(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<ArrowSettings>> {
    let document: Option<Value> =
        sqlx::query_scalar("SELECT document FROM projection.arrow_settings WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(pool)
            .await?;
    document.map(|d| decode(d, "settings")).transpose()
}

/// The active settings: the earliest created of those that are active.
pub async fn active_settings(pool: &PgPool) -> sqlx::Result<Option<ArrowSettings>> {
    let document: Option<Value> = sqlx::query_scalar(
        "SELECT document FROM projection.arrow_settings WHERE is_active \
         ORDER BY created, uuid LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    document.map(|d| decode(d, "settings")).transpose()
}

/// Every active settings.
pub async fn active_settings_uuids(pool: &PgPool) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT uuid FROM projection.arrow_settings WHERE is_active ORDER BY created, uuid",
    )
    .fetch_all(pool)
    .await
}

// ---------------------------------------------------------------------------------------
// Customer mappings
// ---------------------------------------------------------------------------------------

/// A mapping with the name of its local customer.
#[derive(Debug, Clone)]
pub struct MappingRow {
    pub mapping: ArrowCustomerMapping,
    pub customer_name: String,
}

#[derive(FromRow)]
struct RawMapping {
    document: Value,
    customer_name: Option<String>,
}

impl RawMapping {
    fn decode(self) -> sqlx::Result<MappingRow> {
        Ok(MappingRow {
            mapping: decode(self.document, "mapping")?,
            customer_name: self.customer_name.unwrap_or_default(),
        })
    }
}

const MAPPINGS: &str = "projection.arrow_customer_mappings m \
    LEFT JOIN projection.customers c ON c.uuid = m.waldur_customer_uuid";

/// What a mapping list keeps.
#[derive(Debug, Default, Clone)]
pub struct MappingFilter {
    pub settings: Option<Uuid>,
    /// Contains, ignoring case.
    pub arrow_reference: Option<String>,
    /// Contains, ignoring case.
    pub arrow_company_name: Option<String>,
    pub waldur_customer: Option<Uuid>,
    pub is_active: Option<bool>,
}

impl MappingFilter {
    fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        qb.push(" WHERE true");
        push_equals(qb, "m.settings_uuid", self.settings);
        push_contains(qb, "m.arrow_reference", self.arrow_reference.as_deref());
        push_contains(
            qb,
            "m.arrow_company_name",
            self.arrow_company_name.as_deref(),
        );
        push_equals(qb, "m.waldur_customer_uuid", self.waldur_customer);
        push_equals(qb, "m.is_active", self.is_active);
    }
}

/// One page of mappings, newest first.
pub async fn mappings_page(
    pool: &PgPool,
    filter: &MappingFilter,
    paging: Paging,
) -> Result<Page<MappingRow>, ListError> {
    let page: Page<RawMapping> = list::fetch_page(
        pool,
        "m.document, c.name AS customer_name",
        MAPPINGS,
        |qb| filter.push(qb),
        "m.created DESC, m.uuid",
        paging,
    )
    .await?;
    let rows = page
        .rows
        .into_iter()
        .map(RawMapping::decode)
        .collect::<sqlx::Result<_>>()?;
    Ok(Page {
        total: page.total,
        rows,
        paging: page.paging,
    })
}

pub async fn mapping(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<MappingRow>> {
    let raw: Option<RawMapping> = sqlx::query_as(&format!(
        "SELECT m.document, c.name AS customer_name FROM {MAPPINGS} WHERE m.uuid = $1"
    ))
    .bind(uuid)
    .fetch_optional(pool)
    .await?;
    raw.map(RawMapping::decode).transpose()
}

/// Whether another mapping of `settings` has `reference`.
pub async fn reference_taken(
    pool: &PgPool,
    settings: Uuid,
    reference: &str,
    except: Option<Uuid>,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM projection.arrow_customer_mappings \
         WHERE settings_uuid = $1 AND arrow_reference = $2 AND uuid IS DISTINCT FROM $3)",
    )
    .bind(settings)
    .bind(reference)
    .bind(except)
    .fetch_one(pool)
    .await
}

/// The Arrow references of every mapping, of any settings, active or not.
pub async fn mapped_references(pool: &PgPool) -> sqlx::Result<HashSet<String>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT arrow_reference FROM projection.arrow_customer_mappings",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The active mappings of `settings`, oldest first.
pub async fn active_mappings(
    pool: &PgPool,
    settings: Uuid,
) -> sqlx::Result<Vec<ArrowCustomerMapping>> {
    let documents: Vec<Value> = sqlx::query_scalar(
        "SELECT document FROM projection.arrow_customer_mappings \
         WHERE settings_uuid = $1 AND is_active ORDER BY created, uuid",
    )
    .bind(settings)
    .fetch_all(pool)
    .await?;
    documents
        .into_iter()
        .map(|d| decode(d, "mapping"))
        .collect()
}

/// Every mapping of `settings`.
pub async fn mappings_of_settings(pool: &PgPool, settings: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT uuid FROM projection.arrow_customer_mappings WHERE settings_uuid = $1 \
         ORDER BY created, uuid",
    )
    .bind(settings)
    .fetch_all(pool)
    .await
}

// ---------------------------------------------------------------------------------------
// Local customers and resources
// ---------------------------------------------------------------------------------------

/// A local customer as Arrow suggestions show it.
#[derive(Debug, Clone, FromRow)]
pub struct CustomerBrief {
    pub uuid: Uuid,
    pub name: String,
    pub abbreviation: String,
}

/// Every local customer, by name.
pub async fn customers(pool: &PgPool) -> sqlx::Result<Vec<CustomerBrief>> {
    sqlx::query_as("SELECT uuid, name, abbreviation FROM projection.customers ORDER BY name, uuid")
        .fetch_all(pool)
        .await
}

pub async fn customer(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<CustomerBrief>> {
    sqlx::query_as("SELECT uuid, name, abbreviation FROM projection.customers WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(pool)
        .await
}

/// A resource in one of a customer's projects.
#[derive(Debug, Clone, FromRow)]
pub struct CustomerResource {
    pub uuid: Uuid,
    pub name: String,
    pub backend_id: String,
    pub state: String,
    pub offering_uuid: Uuid,
    pub offering_name: String,
    pub project_uuid: Uuid,
    pub project_name: String,
    pub customer_uuid: Uuid,
}

const CUSTOMER_RESOURCES: &str = "SELECT r.uuid, r.name, r.backend_id, r.state, \
    r.offering_uuid, COALESCE(f.name, '') AS offering_name, p.uuid AS project_uuid, \
    p.name AS project_name, p.customer_uuid \
    FROM projection.resources r \
    JOIN projection.projects p ON p.uuid = r.project_uuid \
    LEFT JOIN projection.offerings f ON f.uuid = r.offering_uuid";

/// The resources of the customer's projects, in any state, oldest first.
pub async fn customer_resources(
    pool: &PgPool,
    customer: Uuid,
) -> sqlx::Result<Vec<CustomerResource>> {
    sqlx::query_as(&format!(
        "{CUSTOMER_RESOURCES} WHERE p.customer_uuid = $1 ORDER BY r.created, r.uuid"
    ))
    .bind(customer)
    .fetch_all(pool)
    .await
}

/// The resource, with its project's customer.
pub async fn resource(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<CustomerResource>> {
    sqlx::query_as(&format!("{CUSTOMER_RESOURCES} WHERE r.uuid = $1"))
        .bind(uuid)
        .fetch_optional(pool)
        .await
}

/// Whether a resource of the offering has the backend id.
pub async fn backend_id_taken(
    pool: &PgPool,
    offering: Uuid,
    backend_id: &str,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM projection.resources \
         WHERE offering_uuid = $1 AND backend_id = $2)",
    )
    .bind(offering)
    .bind(backend_id)
    .fetch_one(pool)
    .await
}

/// A project with its customer.
#[derive(Debug, Clone, FromRow)]
pub struct ProjectBrief {
    pub uuid: Uuid,
    pub name: String,
    pub customer_uuid: Uuid,
}

pub async fn project(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<ProjectBrief>> {
    sqlx::query_as("SELECT uuid, name, customer_uuid FROM projection.projects WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(pool)
        .await
}

// ---------------------------------------------------------------------------------------
// Consumption records
// ---------------------------------------------------------------------------------------

/// A record with its resource, project and customer.
#[derive(Debug, Clone)]
pub struct RecordRow {
    pub record: ArrowConsumptionRecord,
    pub resource_name: String,
    pub project_uuid: Option<Uuid>,
    pub project_name: String,
    pub customer_uuid: Option<Uuid>,
    pub customer_name: String,
}

#[derive(FromRow)]
struct RawRecord {
    document: Value,
    resource_name: Option<String>,
    project_uuid: Option<Uuid>,
    project_name: Option<String>,
    customer_uuid: Option<Uuid>,
    customer_name: Option<String>,
}

impl RawRecord {
    fn decode(self) -> sqlx::Result<RecordRow> {
        Ok(RecordRow {
            record: decode(self.document, "consumption record")?,
            resource_name: self.resource_name.unwrap_or_default(),
            project_uuid: self.project_uuid,
            project_name: self.project_name.unwrap_or_default(),
            customer_uuid: self.customer_uuid,
            customer_name: self.customer_name.unwrap_or_default(),
        })
    }
}

const RECORD_SELECT: &str = "a.document, r.name AS resource_name, p.uuid AS project_uuid, \
    p.name AS project_name, c.uuid AS customer_uuid, c.name AS customer_name";

const RECORDS: &str = "projection.arrow_consumption_records a \
    LEFT JOIN projection.resources r ON r.uuid = a.resource_uuid \
    LEFT JOIN projection.projects p ON p.uuid = r.project_uuid \
    LEFT JOIN projection.customers c ON c.uuid = p.customer_uuid";

const RECORD_ORDER: &str = "a.billing_period DESC, a.created DESC, a.uuid";

/// What a consumption record list keeps.
#[derive(Debug, Default, Clone)]
pub struct RecordFilter {
    pub resource: Option<Uuid>,
    pub project: Option<Uuid>,
    pub customer: Option<Uuid>,
    /// Contains, ignoring case.
    pub license_reference: Option<String>,
    pub billing_period: Option<NaiveDate>,
    pub billing_period_from: Option<NaiveDate>,
    pub billing_period_to: Option<NaiveDate>,
    pub is_finalized: Option<bool>,
    pub is_reconciled: Option<bool>,
}

impl RecordFilter {
    fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        qb.push(" WHERE true");
        push_equals(qb, "a.resource_uuid", self.resource);
        push_equals(qb, "p.uuid", self.project);
        push_equals(qb, "p.customer_uuid", self.customer);
        push_contains(qb, "a.license_reference", self.license_reference.as_deref());
        push_equals(qb, "a.billing_period", self.billing_period);
        if let Some(from) = self.billing_period_from {
            qb.push(" AND a.billing_period >= ");
            qb.push_bind(from);
        }
        if let Some(to) = self.billing_period_to {
            qb.push(" AND a.billing_period <= ");
            qb.push_bind(to);
        }
        if let Some(finalized) = self.is_finalized {
            qb.push(if finalized {
                " AND a.finalized_at IS NOT NULL"
            } else {
                " AND a.finalized_at IS NULL"
            });
        }
        if let Some(reconciled) = self.is_reconciled {
            qb.push(if reconciled {
                " AND a.reconciled_at IS NOT NULL"
            } else {
                " AND a.reconciled_at IS NULL"
            });
        }
    }
}

/// One page of consumption records, newest period first.
pub async fn records_page(
    pool: &PgPool,
    filter: &RecordFilter,
    paging: Paging,
) -> Result<Page<RecordRow>, ListError> {
    let page: Page<RawRecord> = list::fetch_page(
        pool,
        RECORD_SELECT,
        RECORDS,
        |qb| filter.push(qb),
        RECORD_ORDER,
        paging,
    )
    .await?;
    let rows = page
        .rows
        .into_iter()
        .map(RawRecord::decode)
        .collect::<sqlx::Result<_>>()?;
    Ok(Page {
        total: page.total,
        rows,
        paging: page.paging,
    })
}

pub async fn record(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<RecordRow>> {
    let raw: Option<RawRecord> = sqlx::query_as(&format!(
        "SELECT {RECORD_SELECT} FROM {RECORDS} WHERE a.uuid = $1"
    ))
    .bind(uuid)
    .fetch_optional(pool)
    .await?;
    raw.map(RawRecord::decode).transpose()
}

/// The records of a resource, by period.
pub async fn resource_records(
    pool: &PgPool,
    resource: Uuid,
) -> sqlx::Result<Vec<ArrowConsumptionRecord>> {
    let documents: Vec<Value> = sqlx::query_scalar(
        "SELECT document FROM projection.arrow_consumption_records WHERE resource_uuid = $1 \
         ORDER BY billing_period",
    )
    .bind(resource)
    .fetch_all(pool)
    .await?;
    documents
        .into_iter()
        .map(|d| decode(d, "consumption record"))
        .collect()
}

/// The consumption of a customer's resources, summed.
#[derive(Debug, Clone, FromRow)]
pub struct ConsumptionTotals {
    pub records: i64,
    pub consumed_sell: Decimal,
    pub final_sell: Option<Decimal>,
    pub finalized: i64,
    pub reconciled: i64,
}

pub async fn customer_totals(pool: &PgPool, customer: Uuid) -> sqlx::Result<ConsumptionTotals> {
    sqlx::query_as(&format!(
        "SELECT count(*) AS records, COALESCE(sum(a.consumed_sell), 0) AS consumed_sell, \
         sum(a.final_sell) AS final_sell, \
         count(*) FILTER (WHERE a.finalized_at IS NOT NULL) AS finalized, \
         count(*) FILTER (WHERE a.reconciled_at IS NOT NULL) AS reconciled \
         FROM {RECORDS} WHERE p.customer_uuid = $1"
    ))
    .bind(customer)
    .fetch_one(pool)
    .await
}

/// The customer's newest records (at most `limit`).
pub async fn customer_recent_records(
    pool: &PgPool,
    customer: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<RecordRow>> {
    let raw: Vec<RawRecord> = sqlx::query_as(&format!(
        "SELECT {RECORD_SELECT} FROM {RECORDS} WHERE p.customer_uuid = $1 \
         ORDER BY {RECORD_ORDER} LIMIT $2"
    ))
    .bind(customer)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    raw.into_iter().map(RawRecord::decode).collect()
}

// ---------------------------------------------------------------------------------------
// Billing syncs
// ---------------------------------------------------------------------------------------

/// A statement read from Arrow's billing export.
#[derive(Debug, Clone, FromRow)]
pub struct BillingSyncRow {
    pub uuid: Uuid,
    pub settings_uuid: Uuid,
    pub customer_mapping_uuid: Uuid,
    pub statement_reference: String,
    pub report_period: String,
    pub state: i16,
    pub sell_total: Option<Decimal>,
    pub buy_total: Option<Decimal>,
    pub items_count: i32,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

const SYNC_SELECT: &str = "b.uuid, b.settings_uuid, b.customer_mapping_uuid, \
    b.statement_reference, b.report_period, b.state, b.sell_total, b.buy_total, b.items_count, \
    b.created, b.modified";

const SYNC_ORDER: &str = "b.report_period DESC, b.created DESC, b.uuid";

/// What a billing sync list keeps.
#[derive(Debug, Default, Clone)]
pub struct BillingSyncFilter {
    pub customer_mapping: Option<Uuid>,
    pub settings: Option<Uuid>,
    pub report_period: Option<String>,
    pub state: Option<i16>,
}

impl BillingSyncFilter {
    fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        qb.push(" WHERE true");
        push_equals(qb, "b.customer_mapping_uuid", self.customer_mapping);
        push_equals(qb, "b.settings_uuid", self.settings);
        push_equals(qb, "b.report_period", self.report_period.clone());
        push_equals(qb, "b.state", self.state);
    }
}

pub async fn billing_syncs_page(
    pool: &PgPool,
    filter: &BillingSyncFilter,
    paging: Paging,
) -> Result<Page<BillingSyncRow>, ListError> {
    list::fetch_page(
        pool,
        SYNC_SELECT,
        "projection.arrow_billing_syncs b",
        |qb| filter.push(qb),
        SYNC_ORDER,
        paging,
    )
    .await
}

pub async fn billing_sync(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<BillingSyncRow>> {
    sqlx::query_as(&format!(
        "SELECT {SYNC_SELECT} FROM projection.arrow_billing_syncs b WHERE b.uuid = $1"
    ))
    .bind(uuid)
    .fetch_optional(pool)
    .await
}

/// A mapping's billing syncs: how many, their sell total (none without syncs), and the
/// newest `limit`.
pub async fn mapping_billing_syncs(
    pool: &PgPool,
    mapping: Uuid,
    limit: i64,
) -> sqlx::Result<(i64, Option<Decimal>, Vec<BillingSyncRow>)> {
    let (count, total): (i64, Option<Decimal>) = sqlx::query_as(
        "SELECT count(*), sum(sell_total) FROM projection.arrow_billing_syncs \
         WHERE customer_mapping_uuid = $1",
    )
    .bind(mapping)
    .fetch_one(pool)
    .await?;
    let recent = sqlx::query_as(&format!(
        "SELECT {SYNC_SELECT} FROM projection.arrow_billing_syncs b \
         WHERE b.customer_mapping_uuid = $1 ORDER BY {SYNC_ORDER} LIMIT $2"
    ))
    .bind(mapping)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok((count, total, recent))
}
