//! Order and resource rows: each aggregate's state is folded with its own `apply` and
//! stored whole as the row's document, beside the columns lists filter on (see
//! [`super::documents`]).

use anyhow::Context;

use super::documents::{Document, Row, time, time_opt, value};
use crate::domain::order::Order;
use crate::domain::resource::Resource;

impl Document for Order {
    const TABLE: &'static str = "orders";
    // An order's placement never changes: only its progress is rewritten.
    const KEEP: &'static [&'static str] = &[
        "resource_uuid",
        "offering_uuid",
        "project_uuid",
        "customer_uuid",
        "provider_customer_uuid",
        "plan_uuid",
        "type",
        "created_by",
        "slug",
        "created",
    ];

    fn row(&self) -> anyhow::Result<Option<Row>> {
        if self.deleted {
            return Ok(None);
        }
        let spec = self
            .spec
            .as_ref()
            .context("an order event before its placement")?;
        let created = self.created.context("an order without a creation time")?;
        let mut row = Row::new();
        row.insert("resource_uuid".into(), value(spec.resource_uuid));
        row.insert("offering_uuid".into(), value(spec.offering_uuid));
        row.insert("project_uuid".into(), value(spec.project_uuid));
        row.insert("customer_uuid".into(), value(spec.customer_uuid));
        row.insert(
            "provider_customer_uuid".into(),
            value(spec.provider_customer_uuid),
        );
        row.insert("plan_uuid".into(), value(spec.plan_uuid));
        row.insert("type".into(), value(spec.order_type.as_str()));
        row.insert("state".into(), value(self.state.as_str()));
        row.insert("cost".into(), value(spec.cost));
        row.insert("created_by".into(), value(spec.created_by));
        row.insert(
            "consumer_reviewed_at".into(),
            time_opt(self.consumer_reviewed_at),
        );
        row.insert(
            "consumer_reviewed_by".into(),
            value(self.consumer_reviewed_by),
        );
        row.insert(
            "provider_reviewed_by".into(),
            value(self.provider_reviewed_by),
        );
        row.insert("start_date".into(), value(spec.start_date));
        row.insert("slug".into(), value(&spec.slug));
        row.insert("created".into(), time(created));
        row.insert("modified".into(), time(self.modified.unwrap_or(created)));
        row.insert("name".into(), value(attributes_name(&spec.attributes)));
        Ok(Some(row))
    }
}

/// `attributes.name` as text: what the list's `query` filter searches besides the project.
fn attributes_name(attributes: &serde_json::Map<String, serde_json::Value>) -> String {
    match attributes.get("name") {
        Some(serde_json::Value::String(name)) => name.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

impl Document for Resource {
    const TABLE: &'static str = "resources";
    const KEEP: &'static [&'static str] = &[
        "offering_uuid",
        "project_uuid",
        "customer_uuid",
        "name",
        "created",
    ];

    fn row(&self) -> anyhow::Result<Option<Row>> {
        let spec = self
            .spec
            .as_ref()
            .context("a resource event before its creation")?;
        let created = self.created.context("a resource without a creation time")?;
        let mut row = Row::new();
        row.insert("offering_uuid".into(), value(spec.offering_uuid));
        row.insert("plan_uuid".into(), value(self.plan_uuid));
        row.insert("project_uuid".into(), value(spec.project_uuid));
        row.insert("customer_uuid".into(), value(spec.customer_uuid));
        row.insert("name".into(), value(&spec.name));
        row.insert("backend_id".into(), value(&self.backend_id));
        row.insert("state".into(), value(self.state.as_str()));
        row.insert("end_date".into(), value(self.end_date));
        row.insert("created".into(), time(created));
        row.insert("modified".into(), time(self.modified.unwrap_or(created)));
        Ok(Some(row))
    }
}
