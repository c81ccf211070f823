//! Recording a resource's monthly consumption from Arrow: for each month of a range, the
//! license's consumption report (the prediction for the current month when the report
//! fails), recorded on the month's consumption record. Figures that did not change append
//! nothing; a finalized month is left alone unless forced.

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{ArrowAppError, settings_client};
use crate::app::Ledger;
use crate::clients::arrow::Consumption;
use crate::domain::arrow::consumption::{
    ArrowConsumptionRecord, Consumed, ConsumptionCommand, record_uuid,
};
use crate::read::arrow as read;
use crate::store::metadata::CommandContext;

/// How many months a sync covers by default (this one and the eleven before it).
const DEFAULT_MONTHS: u32 = 12;

/// The largest amount a record keeps (22 digits, 10 of them decimals).
fn storable(amount: Decimal) -> bool {
    amount.abs() < Decimal::from(1_000_000_000_000_i64)
}

/// What to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    pub resource_uuid: Uuid,
    /// The first month (its first day); eleven months before `period_to` by default.
    pub period_from: Option<NaiveDate>,
    /// The last month; the current one by default.
    pub period_to: Option<NaiveDate>,
    /// Record finalized months too.
    pub force: bool,
    /// Read Arrow and report, store nothing.
    pub dry_run: bool,
}

/// One month as a dry run would record it.
#[derive(Debug, Clone)]
pub struct PreviewPeriod {
    pub period: String,
    /// `would_sync`, `no_data`, `skipped` or `error`.
    pub status: &'static str,
    pub row_count: usize,
    pub consumed_sell: Decimal,
    pub consumed_buy: Decimal,
    pub has_existing: bool,
}

/// What a sync did.
#[derive(Debug, Clone, Default)]
pub struct SyncOutcome {
    pub resource_uuid: Uuid,
    pub resource_name: String,
    pub periods_synced: usize,
    pub periods_skipped: usize,
    pub periods_no_data: usize,
    /// `(period, message)`.
    pub errors: Vec<(String, String)>,
    pub dry_run: bool,
    pub preview_periods: Vec<PreviewPeriod>,
}

/// The first day of the month of `date`.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// `YYYY-MM` as the first day of that month.
pub fn parse_period(text: &str) -> Option<NaiveDate> {
    let (year, month) = text.trim().split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

fn period_text(month: NaiveDate) -> String {
    month.format("%Y-%m").to_string()
}

/// Reads one month from Arrow: the consumption report, or for the current month the
/// prediction when the report fails.
async fn read_month(
    client: &crate::clients::arrow::ArrowClient,
    license: &str,
    month: NaiveDate,
    current: NaiveDate,
) -> Result<(Consumption, &'static str), String> {
    match client
        .monthly_consumption(license, &period_text(month))
        .await
    {
        Ok(consumption) => Ok((consumption, "consumption")),
        Err(report) if month == current => match client.prediction(license).await {
            Ok(prediction) => Ok((prediction, "prediction")),
            Err(predicted) => Err(format!("{report}; prediction: {predicted}")),
        },
        Err(report) => Err(report.to_string()),
    }
}

/// Syncs the resource's consumption month by month (see the module docs).
pub async fn sync_resource(
    ledger: &Ledger,
    request: SyncRequest,
    ctx: &CommandContext,
) -> Result<SyncOutcome, ArrowAppError> {
    let resource = read::resource(&ledger.pool, request.resource_uuid)
        .await?
        .ok_or_else(|| {
            ArrowAppError::Missing(format!("Resource {} not found", request.resource_uuid))
        })?;
    if resource.backend_id.is_empty() {
        return Err(ArrowAppError::Refused(
            "Resource does not have a backend_id (Arrow license reference)".to_string(),
        ));
    }
    let settings = read::active_settings(&ledger.pool)
        .await?
        .ok_or_else(|| ArrowAppError::Refused("No active Arrow settings found".to_string()))?;
    let current = month_start(ctx.now.date_naive());
    let to = request.period_to.map(month_start).unwrap_or(current);
    let from = request
        .period_from
        .map(month_start)
        .unwrap_or_else(|| to - Months::new(DEFAULT_MONTHS - 1));
    let license = resource.backend_id.clone();
    let existing: Vec<ArrowConsumptionRecord> =
        read::resource_records(&ledger.pool, resource.uuid).await?;
    let mut outcome = SyncOutcome {
        resource_uuid: resource.uuid,
        resource_name: resource.name.clone(),
        dry_run: request.dry_run,
        ..Default::default()
    };
    let client = settings_client(ledger, &settings).await;

    let mut month = from;
    while month <= to {
        let period = period_text(month);
        let record = existing
            .iter()
            .find(|r| r.billing_period == Some(month) && r.license_reference == license);
        let preview = |status, row_count, sell, buy| PreviewPeriod {
            period: period.clone(),
            status,
            row_count,
            consumed_sell: sell,
            consumed_buy: buy,
            has_existing: record.is_some(),
        };
        if record.is_some_and(ArrowConsumptionRecord::is_finalized) && !request.force {
            outcome.periods_skipped += 1;
            if request.dry_run {
                outcome
                    .preview_periods
                    .push(preview("skipped", 0, Decimal::ZERO, Decimal::ZERO));
            }
            month = month + Months::new(1);
            continue;
        }
        let read = match &client {
            Ok(client) => read_month(client, &license, month, current).await,
            Err(err) => Err(err.clone()),
        };
        match read {
            Err(message) => {
                if request.dry_run {
                    outcome
                        .preview_periods
                        .push(preview("error", 0, Decimal::ZERO, Decimal::ZERO));
                }
                outcome.errors.push((period.clone(), message));
            }
            Ok((figures, _)) if figures.sell.is_zero() && figures.buy.is_zero() => {
                outcome.periods_no_data += 1;
                if request.dry_run {
                    outcome.preview_periods.push(preview(
                        "no_data",
                        figures.lines,
                        Decimal::ZERO,
                        Decimal::ZERO,
                    ));
                }
            }
            Ok((figures, _)) if !storable(figures.sell) || !storable(figures.buy) => {
                outcome.errors.push((
                    period.clone(),
                    "Arrow reported an amount too large to record".to_string(),
                ));
            }
            Ok((figures, source)) => {
                if request.dry_run {
                    outcome.preview_periods.push(preview(
                        "would_sync",
                        figures.lines,
                        figures.sell,
                        figures.buy,
                    ));
                } else {
                    let mut raw_data = Map::new();
                    raw_data.insert("consumption_lines_count".into(), Value::from(figures.lines));
                    raw_data.insert("source".into(), Value::from(source));
                    let uuid = record_uuid(resource.uuid, &license, month);
                    let command = ConsumptionCommand::Record {
                        uuid,
                        resource_uuid: resource.uuid,
                        license_reference: license.clone(),
                        billing_period: month,
                        consumed: Consumed {
                            sell: figures.sell,
                            buy: figures.buy,
                            raw_data,
                        },
                        force: request.force,
                        at: ctx.now,
                    };
                    ledger
                        .execute::<ArrowConsumptionRecord>(&uuid.simple().to_string(), command, ctx)
                        .await?;
                }
                outcome.periods_synced += 1;
            }
        }
        month = month + Months::new(1);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_year_and_month() {
        assert_eq!(parse_period("2024-01"), NaiveDate::from_ymd_opt(2024, 1, 1));
        assert_eq!(parse_period("2024-13"), None);
        assert_eq!(parse_period("2024-1"), None);
        assert_eq!(parse_period("24-01"), None);
        assert_eq!(parse_period("January"), None);
    }

    #[test]
    fn amounts_beyond_the_columns_are_not_storable() {
        assert!(storable(Decimal::new(99_999_999_999_999, 2)));
        assert!(!storable(Decimal::from(1_000_000_000_000_i64)));
    }
}
