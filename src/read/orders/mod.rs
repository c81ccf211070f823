//! The orders read model: orders as their answers show them (joined with offering,
//! resource, project, customers and the users who placed and reviewed them), who sees which
//! order, the list with its filters ([`filter`]) and the orders whose start date has come.

use anyhow::Context;
use chrono::NaiveDate;
use serde_json::Value;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::list::{self, ListError, OrderKey, Ordering, Page, Paging, Sort, UnknownOrderKey};
use super::visibility::Viewer;
use crate::domain::offering::Offering;
use crate::domain::order::Order;

pub mod filter;

pub use filter::{Approvable, Approver, OrderFilter};

/// The states in which an order is still under way: its resource may not change again.
pub const PENDING_STATES: &str = "('pending-consumer', 'pending-provider', 'executing')";

/// An order with everything its answer shows.
#[derive(Debug, FromRow)]
pub struct OrderRow {
    pub order_doc: Value,
    pub offering_doc: Option<Value>,
    pub resource_doc: Option<Value>,
    pub project_name: Option<String>,
    pub project_slug: Option<String>,
    pub project_description: Option<String>,
    pub customer_name: Option<String>,
    pub customer_slug: Option<String>,
    pub provider_name: Option<String>,
    pub category_title: Option<String>,
    pub created_by_username: Option<String>,
    pub created_by_full_name: Option<String>,
    pub consumer_reviewer_username: Option<String>,
    pub consumer_reviewer_full_name: Option<String>,
    pub provider_reviewer_username: Option<String>,
    pub provider_reviewer_full_name: Option<String>,
}

const SELECT: &str = "o.document AS order_doc, f.document AS offering_doc, \
    r.document AS resource_doc, p.name AS project_name, p.slug AS project_slug, \
    p.description AS project_description, c.name AS customer_name, c.slug AS customer_slug, \
    pc.name AS provider_name, k.title AS category_title, \
    cb.username AS created_by_username, cb.full_name AS created_by_full_name, \
    crv.username AS consumer_reviewer_username, crv.full_name AS consumer_reviewer_full_name, \
    prv.username AS provider_reviewer_username, prv.full_name AS provider_reviewer_full_name";

const JOINS: &str = "LEFT JOIN projection.offerings f ON f.uuid = o.offering_uuid \
    LEFT JOIN projection.resources r ON r.uuid = o.resource_uuid \
    LEFT JOIN projection.projects p ON p.uuid = o.project_uuid \
    LEFT JOIN projection.customers c ON c.uuid = o.customer_uuid \
    LEFT JOIN projection.customers pc ON pc.uuid = o.provider_customer_uuid \
    LEFT JOIN projection.categories k ON k.uuid = f.category_uuid \
    LEFT JOIN projection.users cb ON cb.uuid = o.created_by \
    LEFT JOIN projection.users crv ON crv.uuid = o.consumer_reviewed_by \
    LEFT JOIN projection.users prv ON prv.uuid = o.provider_reviewed_by";

/// The keys orders are listed by.
const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "created",
        sql: "o.created",
    },
    OrderKey {
        name: "consumer_reviewed_at",
        sql: "o.consumer_reviewed_at",
    },
    OrderKey {
        name: "cost",
        sql: "o.cost",
    },
    OrderKey {
        name: "state",
        sql: "o.state",
    },
];

/// The order of an order list: `created`, `consumer_reviewed_at`, `cost` or `state`;
/// oldest first by default.
pub fn ordering(sorts: &[Sort]) -> Result<Ordering, UnknownOrderKey> {
    Ordering::resolve(ORDER_KEYS, sorts, "o.created", "o.uuid")
}

/// Limits a query over `projection.orders o` to what `viewer` sees: everything for staff
/// and support; for others the orders of projects and customers they work in, and those
/// placed for offerings of customers they work for.
pub fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, viewer: &Viewer) {
    if viewer.sees_all {
        return;
    }
    // `= ANY(ARRAY(...))` reads the viewer's scopes once and lets each arm use its index
    // (`IN (subquery)` under OR would filter every order row instead).
    let roles = |qb: &mut QueryBuilder<'_, Postgres>, scope: &str| {
        qb.push(format!(
            " = ANY(ARRAY(SELECT r.scope_uuid FROM projection.user_roles r \
             WHERE r.scope_type = '{scope}' \
             AND (r.expiration_time IS NULL OR r.expiration_time > now()) AND r.user_uuid = "
        ));
        qb.push_bind(viewer.uuid);
        qb.push("))");
    };
    qb.push(" AND (o.project_uuid");
    roles(qb, "project");
    qb.push(" OR o.customer_uuid");
    roles(qb, "customer");
    qb.push(" OR o.provider_customer_uuid");
    roles(qb, "customer");
    qb.push(")");
}

impl OrderRow {
    /// A row with no joined names, for an order the read models no longer hold.
    pub fn detached() -> Self {
        Self {
            order_doc: Value::Null,
            offering_doc: None,
            resource_doc: None,
            project_name: None,
            project_slug: None,
            project_description: None,
            customer_name: None,
            customer_slug: None,
            provider_name: None,
            category_title: None,
            created_by_username: None,
            created_by_full_name: None,
            consumer_reviewer_username: None,
            consumer_reviewer_full_name: None,
            provider_reviewer_username: None,
            provider_reviewer_full_name: None,
        }
    }
}

/// Which of these orders `viewer` sees.
pub async fn visible_among(
    pool: &PgPool,
    viewer: &Viewer,
    uuids: &[Uuid],
) -> sqlx::Result<std::collections::HashSet<Uuid>> {
    let mut qb = QueryBuilder::new("SELECT o.uuid FROM projection.orders o WHERE o.uuid = ANY(");
    qb.push_bind(uuids.to_vec());
    qb.push(")");
    push_visibility(&mut qb, viewer);
    let rows: Vec<Uuid> = qb.build_query_scalar().fetch_all(pool).await?;
    Ok(rows.into_iter().collect())
}

/// One page of the orders `viewer` sees that match `filter`.
pub async fn list(
    pool: &PgPool,
    viewer: &Viewer,
    filter: &OrderFilter,
    ordering: &Ordering,
    paging: Paging,
) -> Result<Page<OrderRow>, ListError> {
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE true");
        push_visibility(qb, viewer);
        filter.push(qb);
    };
    let total = list::count(pool, "projection.orders o", &filters).await?;
    let paging = paging.resolve(total)?;
    // Page the narrow table first, then join only the rows shown.
    let mut page = QueryBuilder::new(
        "WITH page AS (SELECT o.uuid, o.created, o.consumer_reviewed_at, o.cost, o.state \
         FROM projection.orders o",
    );
    filters(&mut page);
    list::push_page(&mut page, ordering.sql(), paging);
    page.push(format!(
        ") SELECT {SELECT} FROM page JOIN projection.orders o ON o.uuid = page.uuid {JOINS} \
         ORDER BY {}",
        ordering.sql().replace("o.", "page.")
    ));
    let rows = page.build_query_as().fetch_all(pool).await?;
    Ok(Page {
        total,
        rows,
        paging,
    })
}

/// The order if `viewer` sees it.
pub async fn find_visible(
    pool: &PgPool,
    viewer: &Viewer,
    uuid: Uuid,
) -> sqlx::Result<Option<OrderRow>> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {SELECT} FROM projection.orders o {JOINS} WHERE o.uuid = "
    ));
    qb.push_bind(uuid);
    push_visibility(&mut qb, viewer);
    qb.build_query_as().fetch_optional(pool).await
}

/// The order, whoever asks (an order just placed or changed by the asker).
pub async fn find(pool: &PgPool, uuid: Uuid) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(&format!(
        "SELECT {SELECT} FROM projection.orders o {JOINS} WHERE o.uuid = $1"
    ))
    .bind(uuid)
    .fetch_optional(pool)
    .await
}

/// An order as its actions check it: the order, its offering, and its consumer's
/// organization and project.
#[derive(Debug, FromRow)]
pub struct ActionRow {
    pub order_doc: Value,
    pub offering_doc: Option<Value>,
    pub customer_blocked: Option<bool>,
    pub customer_archived: Option<bool>,
    pub project_name: Option<String>,
    pub project_start_date: Option<NaiveDate>,
    pub project_end_date: Option<NaiveDate>,
}

/// The order as its actions check it, if `viewer` sees it.
pub async fn find_for_action(
    pool: &PgPool,
    viewer: &Viewer,
    uuid: Uuid,
) -> sqlx::Result<Option<ActionRow>> {
    let mut qb = QueryBuilder::new(
        "SELECT o.document AS order_doc, f.document AS offering_doc, \
         c.blocked AS customer_blocked, c.archived AS customer_archived, \
         p.name AS project_name, p.start_date AS project_start_date, \
         p.end_date AS project_end_date \
         FROM projection.orders o \
         LEFT JOIN projection.offerings f ON f.uuid = o.offering_uuid \
         LEFT JOIN projection.customers c ON c.uuid = o.customer_uuid \
         LEFT JOIN projection.projects p ON p.uuid = o.project_uuid \
         WHERE o.uuid = ",
    );
    qb.push_bind(uuid);
    push_visibility(&mut qb, viewer);
    qb.build_query_as().fetch_optional(pool).await
}

/// Whether an order for the resource is still pending or executing.
pub async fn resource_has_pending(pool: &PgPool, resource: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM projection.orders WHERE resource_uuid = $1 \
         AND state IN {PENDING_STATES})"
    ))
    .bind(resource)
    .fetch_one(pool)
    .await
}

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
