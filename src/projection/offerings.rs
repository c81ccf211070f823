//! Offering rows: the offering's state is folded with the aggregate's own `apply` and
//! stored whole as the row's document (see [`super::documents`]), with its plans in rows of
//! their own and every slug ever given in `offering_slugs`.

use anyhow::Context;
use std::collections::HashSet;

use sqlx::PgConnection;
use uuid::Uuid;

use super::documents::{self, Document, Folded, Row, Rows, WriteError, time, value};
use crate::domain::offering::model::BillingType;
use crate::domain::offering::{Offering, OfferingEvent};

impl Document for Offering {
    const TABLE: &'static str = "offerings";
    const KEEP: &'static [&'static str] = &["created"];

    fn row(&self) -> anyhow::Result<Option<Row>> {
        if self.deleted {
            return Ok(None);
        }
        let created = self
            .created
            .context("an offering event before its creation")?;
        let mut row = Row::new();
        row.insert("customer_uuid".into(), value(self.customer_uuid));
        row.insert("category_uuid".into(), value(self.category_uuid));
        row.insert("project_uuid".into(), value(self.project_uuid));
        row.insert("type".into(), value(&self.offering_type));
        row.insert("state".into(), value(self.state.as_str()));
        row.insert("name".into(), value(&self.details.name));
        row.insert("slug".into(), value(&self.slug));
        row.insert("description".into(), value(&self.details.description));
        row.insert("shared".into(), value(self.details.shared));
        row.insert("billable".into(), value(self.details.billable));
        row.insert("backend_id".into(), value(&self.details.backend_id));
        row.insert("billing_types".into(), value(billing_types(self)));
        row.insert(
            "remote_organization_uuid".into(),
            value(self.remote_organization_uuid()),
        );
        row.insert("created".into(), time(created));
        row.insert("modified".into(), time(self.modified.unwrap_or(created)));
        Ok(Some(row))
    }
}

/// Applies the events of some offerings: their rows, their plans (written anew) and the
/// slugs of the offerings created.
pub(super) async fn apply(
    conn: &mut PgConnection,
    items: Vec<documents::Item<'_, Offering>>,
) -> Result<(), WriteError> {
    let mut slugs = Rows::default();
    let folded = documents::fold::<Offering>(conn, items, |event| {
        if let OfferingEvent::OfferingCreated { slug, .. } = event {
            let mut row = Row::new();
            row.insert("slug".into(), value(slug));
            slugs.push(row, None);
        }
    })
    .await?;
    slugs
        .insert(conn, "offering_slugs", "ON CONFLICT DO NOTHING")
        .await?;
    let changed: Vec<&Folded<Offering>> = folded.iter().filter(|f| f.last_seq.is_some()).collect();
    let touched: Vec<Uuid> = changed.iter().map(|f| f.uuid).collect();
    if !touched.is_empty() {
        sqlx::query("DELETE FROM plans WHERE offering_uuid = ANY($1)")
            .bind(&touched)
            .execute(&mut *conn)
            .await?;
    }
    let written: HashSet<Uuid> = documents::write(conn, &folded).await?.into_iter().collect();
    let mut plans = Rows::default();
    for offering in changed.iter().filter(|f| written.contains(&f.uuid)) {
        for plan in &offering.state.plans {
            let mut row = Row::new();
            row.insert("uuid".into(), value(plan.uuid));
            row.insert("offering_uuid".into(), value(offering.uuid));
            row.insert("name".into(), value(&plan.name));
            row.insert("archived".into(), value(plan.archived));
            row.insert("last_seq".into(), value(offering.last_seq));
            let document = serde_json::to_string(plan)
                .context("encoding a plan")
                .map_err(|e| WriteError::At(offering.first, e))?;
            plans.push(row, Some(&document));
        }
    }
    plans.insert(conn, "plans", "").await?;
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
