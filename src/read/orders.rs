//! Questions asked of the orders read model outside a request.

use anyhow::Context;
use chrono::NaiveDate;
use serde_json::Value;
use sqlx::PgPool;

use crate::domain::offering::Offering;
use crate::domain::order::Order;

/// An order waiting for its start date, with the offering it was placed for.
pub struct DueOrder {
    pub order: Order,
    pub offering: Offering,
}

/// Orders in pending-start-date whose start date is on or before `today`, oldest first.
pub async fn due_for_start(pool: &PgPool, today: NaiveDate) -> anyhow::Result<Vec<DueOrder>> {
    let rows: Vec<(Value, Option<Value>)> = sqlx::query_as(
        "SELECT o.document, f.document FROM projection.orders o \
         LEFT JOIN projection.offerings f ON f.uuid = o.offering_uuid \
         WHERE o.state = 'pending-start-date' AND o.start_date <= $1 \
         ORDER BY o.created, o.uuid",
    )
    .bind(today)
    .fetch_all(pool)
    .await
    .context("finding orders whose start date has come")?;
    rows.into_iter()
        .map(|(order, offering)| {
            Ok(DueOrder {
                order: serde_json::from_value(order).context("decoding an order")?,
                offering: match offering {
                    Some(doc) => serde_json::from_value(doc).context("decoding an offering")?,
                    None => Offering::default(),
                },
            })
        })
        .collect()
}
