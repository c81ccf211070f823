//! What the log tells about one object, for auditors and for Waldur clients:
//! - `…/{uuid}/history/` and `…/{uuid}/history/at/?timestamp=`: Waldur's `VersionHistory`
//!   (the object after each change, who made it and when), for provider offerings, plans,
//!   resources (both sides), customers and users (staff, support and auditors), and for
//!   orders (whoever sees the order);
//! - `…/{uuid}/events/`: every event of an order, offering or resource as recorded;
//! - `/api/ledger/events/?after=&limit=`: the whole log, for staff and auditors.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::form::parse_datetime;
use crate::api::links::{Links, hex, parse_path_uuid, timestamp};
use crate::api::list::{QueryParams, page_response};
use crate::app::history::{self, Version};
use crate::domain::customer::Customer;
use crate::domain::offering::Offering;
use crate::domain::order::Order;
use crate::domain::resource::Resource;
use crate::domain::user::User;
use crate::read::list::Paging;
use crate::read::resources::Side;
use crate::store::log::StoredEvent;

/// Events a page of `/api/ledger/events/` holds unless told otherwise, and at most.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// What a history route shows: the object's kind and how a version of it looks.
#[derive(Clone, Copy)]
enum Kind {
    Order,
    Offering,
    Plan,
    Resource(Side),
    Customer,
    User,
}

pub fn router() -> Router<Arc<ApiState>> {
    let histories = [
        ("marketplace-orders", Kind::Order),
        ("marketplace-provider-offerings", Kind::Offering),
        ("marketplace-plans", Kind::Plan),
        ("marketplace-resources", Kind::Resource(Side::Consumer)),
        (
            "marketplace-provider-resources",
            Kind::Resource(Side::Provider),
        ),
        ("customers", Kind::Customer),
        ("users", Kind::User),
    ];
    let mut router = Router::new().route("/api/ledger/events/", get(ledger_events));
    for (collection, kind) in histories {
        let base = format!("/api/{collection}/{{uuid}}/history");
        router = router
            .route(
                &format!("{base}/"),
                get(
                    move |state: State<Arc<ApiState>>,
                          caller: Caller,
                          path: Path<String>,
                          query: RawQuery,
                          links: Links| {
                        list_versions(state, caller, path, query, links, kind)
                    },
                ),
            )
            .route(
                &format!("{base}/at/"),
                get(
                    move |state: State<Arc<ApiState>>,
                          caller: Caller,
                          path: Path<String>,
                          query: RawQuery| {
                        version_at(state, caller, path, query, kind)
                    },
                ),
            );
    }
    for (collection, kind) in [
        ("marketplace-orders", Kind::Order),
        ("marketplace-provider-offerings", Kind::Offering),
        ("marketplace-resources", Kind::Resource(Side::Consumer)),
        (
            "marketplace-provider-resources",
            Kind::Resource(Side::Provider),
        ),
    ] {
        router = router.route(
            &format!("/api/{collection}/{{uuid}}/events/"),
            get(
                move |state: State<Arc<ApiState>>,
                      caller: Caller,
                      path: Path<String>,
                      query: RawQuery,
                      links: Links| {
                    object_events(state, caller, path, query, links, kind)
                },
            ),
        );
    }
    router
}

impl Kind {
    fn model(self) -> &'static str {
        match self {
            Kind::Order => "Order",
            Kind::Offering => "Offering",
            Kind::Plan => "Plan",
            Kind::Resource(_) => "Resource",
            Kind::Customer => "Customer",
            Kind::User => "User",
        }
    }

    fn aggregate_type(self) -> &'static str {
        match self {
            Kind::Order => Order::TYPE,
            Kind::Offering | Kind::Plan => Offering::TYPE,
            Kind::Resource(_) => Resource::TYPE,
            Kind::Customer => Customer::TYPE,
            Kind::User => User::TYPE,
        }
    }

    /// The aggregate that holds the object (a plan lives in its offering), after the
    /// checks: unknown or unseen → 404; then, except for orders, only staff, support and
    /// auditors read histories → 403.
    async fn holder(self, state: &ApiState, caller: &Caller, uuid: Uuid) -> Result<Uuid, ApiError> {
        let pool = &state.ledger.pool;
        let viewer = caller.viewer();
        let found = match self {
            Kind::Order => crate::read::orders::find_visible(pool, &viewer, uuid)
                .await?
                .map(|_| uuid),
            Kind::Offering => crate::read::offerings::find(pool, uuid)
                .await?
                .map(|_| uuid),
            Kind::Plan => crate::read::offerings::plan_offering(pool, uuid).await?,
            Kind::Resource(side) => crate::read::resources::find_visible(pool, &viewer, side, uuid)
                .await?
                .map(|_| uuid),
            Kind::Customer => crate::read::customers::exists(pool, uuid)
                .await?
                .then_some(uuid),
            Kind::User => crate::read::users::exists(pool, uuid)
                .await?
                .then_some(uuid),
        };
        let holder = found.ok_or(ApiError::NotFound(self.model()))?;
        if !matches!(self, Kind::Order) && !caller.sees_all() {
            return Err(ApiError::PermissionDenied);
        }
        Ok(holder)
    }

    /// Every version of the object, oldest first.
    async fn versions(
        self,
        state: &ApiState,
        holder: Uuid,
        object: Uuid,
    ) -> Result<Vec<Version<Value>>, ApiError> {
        let pool = &state.ledger.pool;
        let id = hex(holder);
        let found = match self {
            Kind::Order => history::versions::<Order>(pool, &id, to_value).await,
            Kind::Offering => history::versions::<Offering>(pool, &id, to_value).await,
            Kind::Plan => {
                history::versions::<Offering>(pool, &id, |o| {
                    o.plans
                        .iter()
                        .find(|p| p.uuid == object)
                        .map(to_value)
                        .unwrap_or(Value::Null)
                })
                .await
            }
            Kind::Resource(_) => history::versions::<Resource>(pool, &id, to_value).await,
            Kind::Customer => history::versions::<Customer>(pool, &id, Customer::serialized).await,
            Kind::User => history::versions::<User>(pool, &id, User::serialized).await,
        }
        .map_err(ApiError::Internal)?;
        // A plan has no versions before it was added to its offering.
        Ok(found.into_iter().filter(|v| !v.state.is_null()).collect())
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `OrderApprovedByProvider` → `Order approved by provider`.
fn describe(event_type: &str) -> String {
    let mut words = String::with_capacity(event_type.len() + 8);
    for (i, c) in event_type.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
            words.extend(c.to_lowercase());
        } else {
            words.push(c);
        }
    }
    words
}

/// The users named as actors, by uuid: `(username, full_name)`.
async fn actors(
    state: &ApiState,
    versions: &[&Version<Value>],
) -> Result<HashMap<Uuid, (String, String)>, ApiError> {
    let wanted: Vec<Uuid> = versions.iter().filter_map(|v| v.actor).collect();
    Ok(crate::read::users::names(&state.ledger.pool, &wanted).await?)
}

fn render(version: &Version<Value>, actors: &HashMap<Uuid, (String, String)>) -> Value {
    let revision_user = version.actor.map(|uuid| {
        let (username, full_name) = actors
            .get(&uuid)
            .cloned()
            .unwrap_or_else(|| (version.actor_name.clone(), String::new()));
        json!({"uuid": hex(uuid), "username": username, "full_name": full_name})
    });
    json!({
        "id": version.position,
        "revision_date": timestamp(version.recorded_at),
        "revision_user": revision_user,
        "revision_comment": describe(&version.event_type),
        "serialized_data": version.state,
    })
}

/// A time filter: RFC 3339 or a date (its midnight, UTC).
fn time_param(params: &QueryParams, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    match params.get(key) {
        None => Ok(None),
        Some(text) => parse_datetime(text.trim())
            .map(Some)
            .ok_or_else(|| ApiError::field(key, "Enter a valid date/time.")),
    }
}

async fn list_versions(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
    links: Links,
    kind: Kind,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, kind.model())?;
    let holder = kind.holder(&state, &caller, uuid).await?;
    let params = QueryParams::parse(raw.as_deref());
    let before = time_param(&params, "created_before")?;
    let after = time_param(&params, "created_after")?;
    let versions = kind.versions(&state, holder, uuid).await?;
    // Newest first.
    let kept: Vec<&Version<Value>> = versions
        .iter()
        .rev()
        .filter(|v| before.is_none_or(|b| v.recorded_at <= b))
        .filter(|v| after.is_none_or(|a| v.recorded_at >= a))
        .collect();
    let total = kept.len() as i64;
    let paging = Paging::from_params(&params)?.resolve(total)?;
    let shown: Vec<&Version<Value>> = kept
        .into_iter()
        .skip(paging.offset() as usize)
        .take(paging.limit() as usize)
        .collect();
    let names = actors(&state, &shown).await?;
    let items = shown.iter().map(|v| render(v, &names)).collect();
    let path = format!("/api/{}/{}/history/", collection_of(kind), hex(uuid));
    Ok(page_response(&links, &path, &params, paging, total, items))
}

fn collection_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Order => "marketplace-orders",
        Kind::Offering => "marketplace-provider-offerings",
        Kind::Plan => "marketplace-plans",
        Kind::Resource(Side::Consumer) => "marketplace-resources",
        Kind::Resource(Side::Provider) => "marketplace-provider-resources",
        Kind::Customer => "customers",
        Kind::User => "users",
    }
}

async fn version_at(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
    kind: Kind,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, kind.model())?;
    let holder = kind.holder(&state, &caller, uuid).await?;
    let params = QueryParams::parse(raw.as_deref());
    let Some(text) = params.get("timestamp") else {
        return Err(ApiError::InvalidBody(
            json!({"timestamp": "This parameter is required."}),
        ));
    };
    let at = parse_datetime(text.trim())
        .ok_or_else(|| ApiError::InvalidBody(json!({"timestamp": "Invalid timestamp format."})))?;
    let versions = kind.versions(&state, holder, uuid).await?;
    let Some(version) = versions.iter().rev().find(|v| v.recorded_at <= at) else {
        return Err(ApiError::NotFoundDetail(
            "No version found before the specified timestamp.".to_string(),
        ));
    };
    let names = actors(&state, &[version]).await?;
    let mut body = render(version, &names);
    body["queried_at"] = json!(timestamp(at));
    Ok(Json(body))
}

/// `?as_of=<RFC 3339>` of a point-in-time read, if given.
pub fn as_of(params: &QueryParams) -> Result<Option<DateTime<Utc>>, ApiError> {
    match params.get("as_of") {
        None => Ok(None),
        Some(text) => parse_datetime(text.trim())
            .map(Some)
            .ok_or_else(|| ApiError::field("as_of", "Invalid timestamp format.")),
    }
}

/// Aggregate `uuid` of `A` as it was at `at`, or the 404 of `model` when it did not exist
/// yet.
pub async fn state_at<A: Aggregate>(
    state: &ApiState,
    uuid: Uuid,
    at: DateTime<Utc>,
    model: &'static str,
) -> Result<A, ApiError> {
    history::state_at::<A>(&state.ledger.pool, &hex(uuid), at)
        .await
        .map_err(ApiError::Internal)?
        .ok_or(ApiError::NotFound(model))
}

/// One event as recorded.
pub fn render_event(event: &StoredEvent) -> Value {
    let meta = |key: &str| event.meta(key).to_string();
    json!({
        "position": event.position,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "sequence": event.sequence,
        "type": event.event_type,
        "version": event.event_version,
        "recorded_at": timestamp(event.recorded_at),
        "actor": meta("actor"),
        "actor_uuid": Uuid::parse_str(event.meta("actor_uuid")).ok().map(hex),
        "request_id": meta("request_id"),
        "source": meta("source"),
        "payload": event.payload,
    })
}

/// Every event of an order, offering or resource the caller sees, in order.
async fn object_events(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(raw_uuid): Path<String>,
    RawQuery(raw): RawQuery,
    links: Links,
    kind: Kind,
) -> Result<Response, ApiError> {
    let uuid = parse_path_uuid(&raw_uuid, kind.model())?;
    let pool = &state.ledger.pool;
    let viewer = caller.viewer();
    let visible = match kind {
        Kind::Order => crate::read::orders::find_visible(pool, &viewer, uuid)
            .await?
            .is_some(),
        Kind::Offering => crate::read::offerings::find_visible(
            pool,
            crate::read::offerings::Audience::Provider(&viewer),
            uuid,
        )
        .await?
        .is_some(),
        Kind::Resource(side) => crate::read::resources::find_visible(pool, &viewer, side, uuid)
            .await?
            .is_some(),
        _ => false,
    };
    if !visible {
        return Err(ApiError::NotFound(kind.model()));
    }
    let events =
        crate::store::log::aggregate_events(pool, kind.aggregate_type(), &hex(uuid)).await?;
    let params = QueryParams::parse(raw.as_deref());
    let total = events.len() as i64;
    let paging = Paging::from_params(&params)?.resolve(total)?;
    let items = events
        .iter()
        .skip(paging.offset() as usize)
        .take(paging.limit() as usize)
        .map(render_event)
        .collect();
    let path = format!("/api/{}/{}/events/", collection_of(kind), hex(uuid));
    Ok(page_response(&links, &path, &params, paging, total, items))
}

/// The whole log after the event at position `after`, for staff and auditors: a plain
/// list in the order a log follower reads it (by transaction, then position), never past
/// an event a transaction still in flight may yet commit. The next page starts after the
/// last position of this one.
async fn ledger_events(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    crate::api::access::require_audit_access(&caller)?;
    let params = QueryParams::parse(raw.as_deref());
    let number = |key: &str, default: i64| -> Result<i64, ApiError> {
        match params.get(key) {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::field(key, "A valid integer is required.")),
        }
    };
    let after = number("after", 0)?;
    let limit = number("limit", DEFAULT_LIMIT)?.clamp(1, MAX_LIMIT);
    let events = crate::store::log::page_after(&state.ledger.pool, after, limit).await?;
    Ok(Json(Value::Array(
        events.iter().map(render_event).collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn event_types_read_as_words() {
        assert_eq!(
            describe("OrderApprovedByProvider"),
            "Order approved by provider"
        );
        assert_eq!(describe("TokenIssued"), "Token issued");
    }
}
