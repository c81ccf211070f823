//! What Arrow says one license of one resource consumed in one month. The application
//! names each record by its key (resource, license, month), so two syncs of the same month
//! meet on the same aggregate. Figures that did not change append nothing.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain_event;

/// Where consumption record ids come from: a name-based uuid of the record's key.
const NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_3c2e_8b4d_4e5f_9a0b_1c2d_3e4f_5a6b);

/// The id of the record of `resource`, `license` and the month starting on `period`.
pub fn record_uuid(resource: Uuid, license: &str, period: NaiveDate) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("{}:{license}:{period}", resource.simple()).as_bytes(),
    )
}

/// The figures of one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Consumed {
    pub sell: Decimal,
    pub buy: Decimal,
    /// What else the sync learnt (`consumption_lines_count`, the source of the figures).
    pub raw_data: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ArrowConsumptionRecord {
    pub uuid: Option<Uuid>,
    pub resource_uuid: Uuid,
    pub license_reference: String,
    pub billing_period: Option<NaiveDate>,
    pub consumed_sell: Decimal,
    pub consumed_buy: Decimal,
    pub final_sell: Option<Decimal>,
    pub final_buy: Option<Decimal>,
    pub raw_data: Map<String, Value>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub reconciled_at: Option<DateTime<Utc>>,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub enum ConsumptionCommand {
    /// Records the month's figures; the same figures again append nothing. A finalized
    /// record changes only when `force` is set.
    Record {
        uuid: Uuid,
        resource_uuid: Uuid,
        license_reference: String,
        billing_period: NaiveDate,
        consumed: Consumed,
        force: bool,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ConsumptionEvent {
    ArrowConsumptionRecorded {
        uuid: Uuid,
        resource_uuid: Uuid,
        license_reference: String,
        billing_period: NaiveDate,
        consumed: Consumed,
        at: DateTime<Utc>,
    },
}

domain_event!(ConsumptionEvent, version = "1", {
    ArrowConsumptionRecorded => "ArrowConsumptionRecorded",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsumptionError {
    #[error("the consumption of this period is finalized")]
    Finalized,
    #[error("a consumption record keeps its resource, license and period")]
    OtherKey,
}

impl ArrowConsumptionRecord {
    pub fn is_finalized(&self) -> bool {
        self.finalized_at.is_some()
    }

    /// Whether the record already says `consumed`.
    pub fn says(&self, consumed: &Consumed) -> bool {
        self.uuid.is_some()
            && self.consumed_sell == consumed.sell
            && self.consumed_buy == consumed.buy
            && self.raw_data == consumed.raw_data
    }
}

impl Aggregate for ArrowConsumptionRecord {
    const TYPE: &'static str = "arrow_consumption_record";
    type Command = ConsumptionCommand;
    type Event = ConsumptionEvent;
    type Error = ConsumptionError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let ConsumptionCommand::Record {
            uuid,
            resource_uuid,
            license_reference,
            billing_period,
            consumed,
            force,
            at,
        } = command;
        if self.uuid.is_some()
            && (self.resource_uuid != resource_uuid
                || self.license_reference != license_reference
                || self.billing_period != Some(billing_period))
        {
            return Err(ConsumptionError::OtherKey);
        }
        if self.is_finalized() && !force {
            return Err(ConsumptionError::Finalized);
        }
        if self.says(&consumed) {
            return Ok(());
        }
        sink.write(
            ConsumptionEvent::ArrowConsumptionRecorded {
                uuid,
                resource_uuid,
                license_reference,
                billing_period,
                consumed,
                at,
            },
            self,
        )
        .await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let ConsumptionEvent::ArrowConsumptionRecorded {
            uuid,
            resource_uuid,
            license_reference,
            billing_period,
            consumed,
            at,
        } = event;
        self.uuid = Some(uuid);
        self.resource_uuid = resource_uuid;
        self.license_reference = license_reference;
        self.billing_period = Some(billing_period);
        self.consumed_sell = consumed.sell;
        self.consumed_buy = consumed.buy;
        self.raw_data = consumed.raw_data;
        self.last_sync_at = Some(at);
        self.created.get_or_insert(at);
        self.modified = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    type Given = TestFramework<ArrowConsumptionRecord>;

    fn at() -> DateTime<Utc> {
        "2026-01-05T00:00:00Z".parse().unwrap()
    }

    fn period() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
    }

    fn consumed(sell: Decimal) -> Consumed {
        let mut raw_data = Map::new();
        raw_data.insert("consumption_lines_count".into(), 2.into());
        Consumed {
            sell,
            buy: d("10"),
            raw_data,
        }
    }

    fn record(sell: Decimal) -> ConsumptionCommand {
        ConsumptionCommand::Record {
            uuid: record_uuid(Uuid::from_u128(1), "XSP1", period()),
            resource_uuid: Uuid::from_u128(1),
            license_reference: "XSP1".into(),
            billing_period: period(),
            consumed: consumed(sell),
            force: false,
            at: at(),
        }
    }

    fn recorded(sell: Decimal) -> ConsumptionEvent {
        ConsumptionEvent::ArrowConsumptionRecorded {
            uuid: record_uuid(Uuid::from_u128(1), "XSP1", period()),
            resource_uuid: Uuid::from_u128(1),
            license_reference: "XSP1".into(),
            billing_period: period(),
            consumed: consumed(sell),
            at: at(),
        }
    }

    #[test]
    fn the_first_figures_are_recorded() {
        Given::with(())
            .given_no_previous_events()
            .when(record(d("12.50")))
            .then_expect_events(vec![recorded(d("12.50"))]);
    }

    #[test]
    fn the_same_figures_again_append_nothing() {
        Given::with(())
            .given(vec![recorded(d("12.50"))])
            .when(record(d("12.5000")))
            .then_expect_events(vec![]);
    }

    #[test]
    fn new_figures_are_recorded() {
        Given::with(())
            .given(vec![recorded(d("12.50"))])
            .when(record(d("13")))
            .then_expect_events(vec![recorded(d("13"))]);
    }

    #[test]
    fn the_key_of_a_record_is_fixed() {
        let other = ConsumptionCommand::Record {
            uuid: record_uuid(Uuid::from_u128(1), "XSP1", period()),
            resource_uuid: Uuid::from_u128(2),
            license_reference: "XSP1".into(),
            billing_period: period(),
            consumed: consumed(d("1")),
            force: false,
            at: at(),
        };
        Given::with(())
            .given(vec![recorded(d("12.50"))])
            .when(other)
            .then_expect_error(ConsumptionError::OtherKey);
    }

    #[test]
    fn record_ids_follow_their_key() {
        let a = record_uuid(Uuid::from_u128(1), "XSP1", period());
        assert_eq!(a, record_uuid(Uuid::from_u128(1), "XSP1", period()));
        assert_ne!(a, record_uuid(Uuid::from_u128(1), "XSP2", period()));
        assert_ne!(
            a,
            record_uuid(Uuid::from_u128(1), "XSP1", period().succ_opt().unwrap())
        );
    }
}
