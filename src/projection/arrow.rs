//! Arrow rows (`projections/arrow.sql`): settings, customer mappings and consumption
//! records, each aggregate's events folded into the row's document (see
//! [`super::documents`]).

use anyhow::Context;

use super::documents::{Document, Row, time, time_opt, value};
use crate::domain::arrow::consumption::ArrowConsumptionRecord;
use crate::domain::arrow::mapping::ArrowCustomerMapping;
use crate::domain::arrow::settings::ArrowSettings;

impl Document for ArrowSettings {
    const TABLE: &'static str = "arrow_settings";
    const KEEP: &'static [&'static str] = &["created"];

    fn row(&self) -> anyhow::Result<Option<Row>> {
        if self.deleted {
            return Ok(None);
        }
        let created = self.created.context("settings without a creation time")?;
        let mut row = Row::new();
        row.insert("is_active".into(), value(self.fields.is_active));
        row.insert("sync_enabled".into(), value(self.fields.sync_enabled));
        row.insert("created".into(), time(created));
        row.insert("modified".into(), time(self.modified.unwrap_or(created)));
        Ok(Some(row))
    }
}

impl Document for ArrowCustomerMapping {
    const TABLE: &'static str = "arrow_customer_mappings";
    const KEEP: &'static [&'static str] = &["created"];

    fn row(&self) -> anyhow::Result<Option<Row>> {
        if self.deleted {
            return Ok(None);
        }
        let created = self.created.context("a mapping without a creation time")?;
        let f = &self.fields;
        let mut row = Row::new();
        row.insert("settings_uuid".into(), value(f.settings_uuid));
        row.insert("arrow_reference".into(), value(&f.arrow_reference));
        row.insert("arrow_company_name".into(), value(&f.arrow_company_name));
        row.insert("waldur_customer_uuid".into(), value(f.waldur_customer_uuid));
        row.insert("is_active".into(), value(f.is_active));
        row.insert("created".into(), time(created));
        row.insert("modified".into(), time(self.modified.unwrap_or(created)));
        Ok(Some(row))
    }
}

impl Document for ArrowConsumptionRecord {
    const TABLE: &'static str = "arrow_consumption_records";
    const KEEP: &'static [&'static str] = &[
        "resource_uuid",
        "license_reference",
        "billing_period",
        "created",
    ];

    fn row(&self) -> anyhow::Result<Option<Row>> {
        let created = self.created.context("a record without a creation time")?;
        let period = self.billing_period.context("a record without a period")?;
        let mut row = Row::new();
        row.insert("resource_uuid".into(), value(self.resource_uuid));
        row.insert("license_reference".into(), value(&self.license_reference));
        row.insert("billing_period".into(), value(period));
        row.insert("consumed_sell".into(), value(self.consumed_sell));
        row.insert("consumed_buy".into(), value(self.consumed_buy));
        row.insert("final_sell".into(), value(self.final_sell));
        row.insert("final_buy".into(), value(self.final_buy));
        row.insert("last_sync_at".into(), time_opt(self.last_sync_at));
        row.insert("finalized_at".into(), time_opt(self.finalized_at));
        row.insert("reconciled_at".into(), time_opt(self.reconciled_at));
        row.insert("created".into(), time(created));
        row.insert("modified".into(), time(self.modified.unwrap_or(created)));
        Ok(Some(row))
    }
}
