//! A mapping's figures: `fetch_arrow_data` reads this month from Arrow (the billing
//! export's lines for the company and each linked resource's consumption), and
//! `billing_summary` reads what the ledger recorded, without asking Arrow.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::mapping_settings;
use crate::app::Ledger;
use crate::app::arrow::{ArrowAppError, settings_client};
use crate::clients::arrow::{ArrowClient, ExportLine, decimal_cell, text_cell};
use crate::read::arrow::{
    self as read, BillingSyncRow, ConsumptionTotals, CustomerResource, MappingRow, RecordRow,
};

/// How many consumption reports are asked for at once.
const CONCURRENT_REPORTS: usize = 4;

/// How many records and syncs a summary lists.
pub const RECENT: i64 = 20;

/// The month `at` falls in, as `YYYY-MM`.
pub fn period_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// One line of the billing export for the mapping's company.
#[derive(Debug, Clone, PartialEq)]
pub struct BillingLine {
    pub vendor_name: String,
    pub subscription_reference: String,
    pub license_reference: String,
    pub offer_sku: String,
    pub classification: String,
    /// `Qty`, else `Quantity`; none when neither has a value.
    pub quantity: Option<Decimal>,
    pub sell: Decimal,
    pub buy: Decimal,
}

fn cell(line: &ExportLine, header: &str) -> String {
    line.get(header).map(text_cell).unwrap_or_default()
}

impl BillingLine {
    pub fn from_export(line: &ExportLine) -> Self {
        let quantity = ["Qty", "Quantity"]
            .into_iter()
            .filter_map(|header| line.get(header))
            .find(|value| !text_cell(value).trim().is_empty())
            .map(decimal_cell);
        let amount = |header: &str| line.get(header).map(decimal_cell).unwrap_or_default();
        Self {
            vendor_name: cell(line, "Vendor Name"),
            subscription_reference: cell(line, "Vendor Subscription ID"),
            license_reference: cell(line, "ARS Subscription ID"),
            offer_sku: cell(line, "Arrow SKU"),
            classification: cell(line, "Classification"),
            quantity,
            sell: amount("Customer Total Price"),
            buy: amount("Total Wholesale Price"),
        }
    }
}

/// A linked resource's consumption this month, or why Arrow would not give it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumptionLine {
    pub license_reference: String,
    pub resource_name: String,
    pub resource_uuid: Uuid,
    /// `(sell, buy)`, or Arrow's error.
    pub amounts: Result<(Decimal, Decimal), String>,
}

/// What `fetch_arrow_data` read.
#[derive(Debug, Clone, Default)]
pub struct ArrowFigures {
    pub period: String,
    /// The billing export was read (even with no line for the company).
    pub billing_available: bool,
    pub billing_lines: Vec<BillingLine>,
    pub consumption_lines: Vec<ConsumptionLine>,
    pub total_customer_resources: usize,
    pub resources_with_backend_id: usize,
    /// Why the action as a whole could not read Arrow.
    pub error: Option<String>,
}

impl ArrowFigures {
    /// Sell and buy over the billing lines; none without lines.
    pub fn billing_totals(&self) -> Option<(Decimal, Decimal)> {
        (!self.billing_lines.is_empty()).then(|| {
            self.billing_lines
                .iter()
                .fold((Decimal::ZERO, Decimal::ZERO), |(s, b), l| {
                    (s + l.sell, b + l.buy)
                })
        })
    }

    /// Sell and buy over the lines Arrow answered; none without lines.
    pub fn consumption_totals(&self) -> Option<(Decimal, Decimal)> {
        (!self.consumption_lines.is_empty()).then(|| {
            self.consumption_lines
                .iter()
                .filter_map(|l| l.amounts.as_ref().ok())
                .fold((Decimal::ZERO, Decimal::ZERO), |(s, b), (sell, buy)| {
                    (s + sell, b + buy)
                })
        })
    }

    /// How many resources Arrow gave consumption for.
    pub fn matched_resources(&self) -> usize {
        self.consumption_lines
            .iter()
            .filter(|l| l.amounts.is_ok())
            .count()
    }
}

/// The billing export lines of `period` for the company; `None` when Arrow failed.
async fn billing_lines(
    client: &ArrowClient,
    export_type: &str,
    company_name: &str,
    period: &str,
) -> Option<Vec<BillingLine>> {
    match client.export_lines(export_type, period, period).await {
        Ok(lines) => Some(
            lines
                .iter()
                .filter(|line| cell(line, "End User Company Name") == company_name)
                .map(BillingLine::from_export)
                .collect(),
        ),
        Err(err) => {
            tracing::info!(period, error = %err, "the billing export is not available");
            None
        }
    }
}

async fn consumption_line(
    client: &ArrowClient,
    resource: &CustomerResource,
    period: &str,
) -> ConsumptionLine {
    let amounts = client
        .monthly_consumption(&resource.backend_id, period)
        .await
        .map(|c| (c.sell, c.buy))
        .map_err(|err| err.to_string());
    ConsumptionLine {
        license_reference: resource.backend_id.clone(),
        resource_name: resource.name.clone(),
        resource_uuid: resource.uuid,
        amounts,
    }
}

/// Reads the month of `at` from Arrow: the billing export (when the settings name an
/// export type) and the consumption of every resource of the customer that has a
/// backend id. A failed call shows in its own line.
pub async fn fetch(
    ledger: &Ledger,
    row: &MappingRow,
    at: DateTime<Utc>,
) -> Result<ArrowFigures, ArrowAppError> {
    let mapping = &row.mapping.fields;
    let settings = mapping_settings(ledger, mapping.settings_uuid).await?;
    let resources = read::customer_resources(&ledger.pool, mapping.waldur_customer_uuid).await?;
    let linked: Vec<&CustomerResource> = resources
        .iter()
        .filter(|r| !r.backend_id.is_empty())
        .collect();
    let mut figures = ArrowFigures {
        period: period_of(at),
        total_customer_resources: resources.len(),
        resources_with_backend_id: linked.len(),
        ..Default::default()
    };
    let client = match settings_client(ledger, &settings).await {
        Ok(client) => client,
        Err(err) => {
            figures.error = Some(err);
            return Ok(figures);
        }
    };
    let export_type = &settings.fields.export_type_reference;
    if !export_type.is_empty() {
        let lines = billing_lines(
            &client,
            export_type,
            &mapping.arrow_company_name,
            &figures.period,
        )
        .await;
        figures.billing_available = lines.is_some();
        figures.billing_lines = lines.unwrap_or_default();
    }
    for batch in linked.chunks(CONCURRENT_REPORTS) {
        let asked = batch
            .iter()
            .map(|resource| consumption_line(&client, resource, &figures.period));
        let lines = join_all(asked).await;
        figures.consumption_lines.extend(lines);
    }
    Ok(figures)
}

/// What the ledger recorded for a mapping's customer and the mapping itself.
#[derive(Debug, Clone)]
pub struct BillingSummary {
    pub totals: ConsumptionTotals,
    /// The newest [`RECENT`] records of the customer's resources.
    pub recent_records: Vec<RecordRow>,
    pub billing_syncs: i64,
    /// Sum of the syncs' sell totals; none without syncs.
    pub billing_sell: Option<Decimal>,
    /// The newest [`RECENT`] syncs of the mapping.
    pub recent_syncs: Vec<BillingSyncRow>,
}

impl BillingSummary {
    /// Records not finalized yet.
    pub fn pending_records(&self) -> i64 {
        self.totals.records - self.totals.finalized
    }
}

/// Reads the read models only; Arrow is not asked.
pub async fn billing_summary(
    ledger: &Ledger,
    row: &MappingRow,
) -> Result<BillingSummary, ArrowAppError> {
    let customer = row.mapping.fields.waldur_customer_uuid;
    let mapping = row.mapping.uuid.unwrap_or_default();
    let totals = read::customer_totals(&ledger.pool, customer).await?;
    let recent_records = read::customer_recent_records(&ledger.pool, customer, RECENT).await?;
    let (billing_syncs, billing_sell, recent_syncs) =
        read::mapping_billing_syncs(&ledger.pool, mapping, RECENT).await?;
    Ok(BillingSummary {
        totals,
        recent_records,
        billing_syncs,
        billing_sell,
        recent_syncs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn line(cells: &[(&str, serde_json::Value)]) -> ExportLine {
        cells
            .iter()
            .map(|(h, v)| (h.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_billing_line_reads_its_cells_as_text_and_decimals() {
        let read = BillingLine::from_export(&line(&[
            ("Vendor Name", json!("Microsoft")),
            ("ARS Subscription ID", json!("XSP12345")),
            ("Qty", json!("")),
            ("Quantity", json!(2)),
            ("Customer Total Price", json!("871.25")),
            ("Total Wholesale Price", json!(740.57)),
        ]));
        assert_eq!(read.vendor_name, "Microsoft");
        assert_eq!(read.license_reference, "XSP12345");
        assert_eq!(read.classification, "");
        assert_eq!(read.quantity, Some(d("2")));
        assert_eq!(read.sell, d("871.25"));
        assert_eq!(read.buy, d("740.57"));
        assert_eq!(BillingLine::from_export(&line(&[])).quantity, None);
    }

    #[test]
    fn totals_cover_the_lines_arrow_answered_and_are_none_without_lines() {
        let mut figures = ArrowFigures::default();
        assert_eq!(figures.consumption_totals(), None);
        assert_eq!(figures.billing_totals(), None);
        let consumption = |amounts| ConsumptionLine {
            license_reference: "XSP1".into(),
            resource_name: "vm".into(),
            resource_uuid: Uuid::nil(),
            amounts,
        };
        figures.consumption_lines = vec![
            consumption(Ok((d("1.10"), d("1.00")))),
            consumption(Err("down".into())),
            consumption(Ok((d("2.20"), d("2.00")))),
        ];
        assert_eq!(figures.consumption_totals(), Some((d("3.30"), d("3.00"))));
        assert_eq!(figures.matched_resources(), 2);
        figures.consumption_lines = vec![consumption(Err("down".into()))];
        assert_eq!(
            figures.consumption_totals(),
            Some((Decimal::ZERO, Decimal::ZERO))
        );
    }

    #[test]
    fn the_period_is_the_month() {
        let at = DateTime::parse_from_rfc3339("2026-03-31T23:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(period_of(at), "2026-03");
    }
}
