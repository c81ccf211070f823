//! Listing offerings on the provider side and reading one, with the filters the public
//! catalogue shares and the provider body of an offering.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::COLLECTION;
use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::links::{Links, parse_path_uuid};
use crate::api::list::{
    OrderKey, Paging, QueryParams, contains_pattern, order_by, page_response, push_bools,
    push_contains, push_exact, push_uuid, select_fields,
};
use crate::api::offerings::{
    OfferingRecord, OfferingView, RECORD_FROM, RECORD_SELECT, plan_resource_counts,
    provider_record, push_provider_visibility, render_offering, sees_secrets,
};
use crate::domain::offering::model::OfferingState;

const ORDER_KEYS: &[OrderKey] = &[
    OrderKey {
        name: "name",
        sql: "o.name",
    },
    OrderKey {
        name: "created",
        sql: "o.created",
    },
    OrderKey {
        name: "type",
        sql: "o.type",
    },
    // Waldur sorts by the stored state number, not by its name.
    OrderKey {
        name: "state",
        sql: "CASE o.state WHEN 'Draft' THEN 1 WHEN 'Active' THEN 2 WHEN 'Paused' THEN 3 \
              WHEN 'Archived' THEN 4 ELSE 5 END",
    },
    OrderKey {
        name: "total_customers",
        sql: "o.created",
    },
    OrderKey {
        name: "total_cost",
        sql: "o.created",
    },
    OrderKey {
        name: "total_cost_estimated",
        sql: "o.created",
    },
];

/// Validates repeated `state=` values.
pub fn states_filter(params: &QueryParams) -> Result<Vec<String>, ApiError> {
    params
        .all("state")
        .into_iter()
        .map(|state| {
            OfferingState::parse(state)
                .map(|s| s.as_str().to_string())
                .ok_or_else(|| {
                    ApiError::field(
                        "state",
                        format!(
                            "Select a valid choice. {state} is not one of the available choices."
                        ),
                    )
                })
        })
        .collect()
}

/// The filters shared by the provider and public offering lists.
pub fn push_offering_filters(
    qb: &mut QueryBuilder<'_, Postgres>,
    params: &QueryParams,
    states: &[String],
) {
    push_contains(
        qb,
        params,
        &[("name", "o.name"), ("description", "o.description")],
    );
    push_exact(
        qb,
        params,
        &[
            ("name_exact", "o.name"),
            ("slug", "o.slug"),
            ("backend_id", "o.backend_id"),
        ],
    );
    push_bools(
        qb,
        params,
        &[("shared", "o.shared"), ("billable", "o.billable")],
    );
    push_uuid(qb, params, "customer_uuid", "o.customer_uuid");
    push_uuid(qb, params, "category_uuid", "o.category_uuid");
    if let Some(url) = params.get("customer") {
        let uuid = crate::api::form::parse_hyperlink(url, "customers").unwrap_or(Uuid::nil());
        qb.push(" AND o.customer_uuid = ");
        qb.push_bind(uuid);
    }
    if !states.is_empty() {
        qb.push(" AND o.state = ANY(");
        qb.push_bind(states.to_vec());
        qb.push(")");
    }
    let types: Vec<String> = params.all("type").into_iter().map(str::to_string).collect();
    if !types.is_empty() {
        qb.push(" AND o.type = ANY(");
        qb.push_bind(types);
        qb.push(")");
    }
    if let Some(keyword) = params.get("keyword") {
        let pattern = contains_pattern(keyword);
        qb.push(" AND (o.name ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR o.description ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR c.name ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR c.abbreviation ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR c.native_name ILIKE ");
        qb.push_bind(pattern);
        qb.push(")");
    }
    if let Some(query) = params.get("query") {
        let pattern = contains_pattern(query);
        qb.push(" AND (o.name ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR o.slug ILIKE ");
        qb.push_bind(pattern.clone());
        qb.push(" OR o.description ILIKE ");
        qb.push_bind(pattern);
        if let Ok(uuid) = Uuid::parse_str(query.trim()) {
            qb.push(" OR o.uuid = ");
            qb.push_bind(uuid);
        }
        qb.push(")");
    }
    if let Some(raw) = params.get("allowed_customer_uuid") {
        let uuid = Uuid::parse_str(raw.trim()).unwrap_or(Uuid::nil());
        qb.push(" AND (o.shared OR o.customer_uuid = ");
        qb.push_bind(uuid);
        qb.push(")");
    }
    if let Some(raw) = params.get("project_uuid") {
        let uuid = Uuid::parse_str(raw.trim()).unwrap_or(Uuid::nil());
        qb.push(" AND (o.shared OR o.project_uuid = ");
        qb.push_bind(uuid);
        qb.push(")");
    }
    if let Some(raw) = params.get("uuid_list") {
        let uuids: Vec<Uuid> = raw
            .split(',')
            .filter_map(|u| Uuid::parse_str(u.trim()).ok())
            .collect();
        qb.push(" AND o.uuid = ANY(");
        qb.push_bind(uuids);
        qb.push(")");
    }
}

pub(super) async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_params(&params)?;
    let order = order_by(&params, ORDER_KEYS, "o.name", "o.uuid")?;
    let states = states_filter(&params)?;
    let filters = |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push(" WHERE");
        push_provider_visibility(qb, &caller);
        push_offering_filters(qb, &params, &states);
    };
    let mut count = QueryBuilder::new(format!("SELECT count(*) FROM {RECORD_FROM}"));
    filters(&mut count);
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(&state.ledger.pool)
        .await?;
    let paging = paging.resolve(total)?;
    let mut page = QueryBuilder::new(format!("SELECT {RECORD_SELECT} FROM {RECORD_FROM}"));
    filters(&mut page);
    page.push(format!(" ORDER BY {order} LIMIT "));
    page.push_bind(paging.limit());
    page.push(" OFFSET ");
    page.push_bind(paging.offset());
    let rows: Vec<crate::api::offerings::RecordRow> =
        page.build_query_as().fetch_all(&state.ledger.pool).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let record = OfferingRecord::try_from(row)?;
        items.push(render_provider(&state, &caller, &links, &record, false).await?);
    }
    Ok(page_response(
        &links, COLLECTION, &params, paging, total, items,
    ))
}

/// The provider body of an offering for this caller.
pub async fn render_provider(
    state: &ApiState,
    caller: &Caller,
    links: &Links,
    record: &OfferingRecord,
    detail: bool,
) -> Result<Value, ApiError> {
    let secrets = sees_secrets(state, caller, &record.offering).await?;
    let counts = plan_resource_counts(state, record.uuid).await?;
    let plans: Vec<_> = record.offering.plans.iter().collect();
    let mut item = render_offering(
        record,
        links,
        OfferingView::Provider { secrets },
        &counts,
        &plans,
    );
    if !detail {
        // Lists leave out the totals that only a single offering computes.
        let object = item.as_object_mut().expect("object");
        for key in ["total_customers", "total_cost", "total_cost_estimated"] {
            object.remove(key);
        }
    }
    Ok(item)
}

pub(super) async fn retrieve(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    links: Links,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, "Offering")?;
    let params = QueryParams::parse(raw.as_deref());
    let record = provider_record(&state, &caller, uuid).await?;
    let item = render_provider(&state, &caller, &links, &record, true).await?;
    Ok(Json(select_fields(item, &params)))
}
