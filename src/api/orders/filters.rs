//! The order list's query parameters (Waldur's `OrderFilter`) read into a
//! [`OrderFilter`]: ids, states and types, slugs, resources, service managers, time
//! ranges, approvability and the free-text `query`. Values are parsed before any SQL is
//! built, so a bad date is a 400, not a query error.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use uuid::Uuid;

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::form::parse_hyperlink;
use crate::api::list::{QueryParams, filter_uuid, strings};
use crate::domain::order::{OrderState, OrderType};
use crate::read::orders::{Approvable, Approver, OrderFilter};

/// django-filter's `BooleanFilter` values; anything else leaves the filter unapplied.
pub fn filter_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A `DateTimeFilter` value: an ISO 8601 date-time (`T` or a space, optional seconds,
/// fraction and offset; naive times are UTC), Django's month-first forms, or a bare date
/// (midnight).
pub fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    let text = raw.trim();
    let mut normalized = text.replacen(' ', "T", 1);
    if let Some(stripped) = normalized.strip_suffix(['Z', 'z']) {
        normalized = format!("{stripped}+00:00");
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
    ] {
        if let Ok(at) = DateTime::parse_from_str(&normalized, format) {
            return Some(at.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(&normalized, format) {
            return Some(at.and_utc());
        }
    }
    // Django's other DATETIME_INPUT_FORMATS (US month-first forms). Two-digit years first:
    // chrono's %Y would read "24" as the year 24.
    for format in [
        "%m/%d/%y %H:%M:%S%.f",
        "%m/%d/%y %H:%M",
        "%m/%d/%Y %H:%M:%S%.f",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Some(at.and_utc());
        }
    }
    ["%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y"]
        .into_iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
}

fn datetime(params: &QueryParams, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    params
        .get(key)
        .map(|raw| {
            parse_datetime(raw).ok_or_else(|| ApiError::field(key, "Enter a valid date/time."))
        })
        .transpose()
}

/// Every value of the repeatable choice `key`; one that is not a choice is a 400.
fn choices<T>(
    params: &QueryParams,
    key: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, ApiError> {
    params
        .all(key)
        .into_iter()
        .map(|value| {
            parse(value).ok_or_else(|| {
                ApiError::field(
                    key,
                    format!("Select a valid choice. {value} is not one of the available choices."),
                )
            })
        })
        .collect()
}

/// The filters of one list request. `state` and `type` are repeatable; uuids that do not
/// parse match nothing.
pub fn parse(
    params: &QueryParams,
    caller: &Caller,
    state: &ApiState,
) -> Result<OrderFilter, ApiError> {
    let states = choices(params, "state", OrderState::parse)?;
    let types = choices(params, "type", OrderType::parse)?;
    let approver = || {
        (!caller.is_staff).then(|| Approver {
            user: caller.uuid,
            roles: state.ledger.permissions.roles_granting("ORDER.APPROVE"),
        })
    };
    let mut approvable = Vec::new();
    for (key, forced) in [
        ("can_approve_as_consumer", OrderState::PendingConsumer),
        ("can_approve_as_provider", OrderState::PendingProvider),
    ] {
        if let Some(value) = params.get(key).and_then(filter_bool) {
            approvable.push(Approvable {
                state: forced,
                approver: if value { approver() } else { None },
            });
        }
    }
    let resources = [
        params.get("resource_uuid").map(filter_uuid),
        params
            .get("resource")
            .map(|url| parse_hyperlink(url, "marketplace-resources").unwrap_or(Uuid::nil())),
    ];
    Ok(OrderFilter {
        states,
        types,
        // An "in" filter in newest Waldur: comma-separated uuids.
        offering_uuids: params
            .get("offering_uuid")
            .map(|raw| raw.split(',').map(filter_uuid).collect())
            .unwrap_or_default(),
        project: params.get("project_uuid").map(filter_uuid),
        customer: params.get("customer_uuid").map(filter_uuid),
        provider: params.get("provider_uuid").map(filter_uuid),
        resources: resources.into_iter().flatten().collect(),
        // Waldur links the provider offering here; orders show the public one: take either.
        offering: params.get("offering").map(|url| {
            parse_hyperlink(url, "marketplace-public-offerings")
                .or_else(|_| parse_hyperlink(url, "marketplace-provider-offerings"))
                .unwrap_or(Uuid::nil())
        }),
        offering_types: strings(params, "offering_type"),
        category: params.get("category_uuid").map(filter_uuid),
        // Repeated, or comma-separated as django-filter's `CharInFilter` reads them.
        offering_slugs: params
            .all("offering_slug")
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect(),
        child_offerings_only: params.get("parent_offering_uuid").is_some(),
        resource_name: params.get("resource_name").map(str::to_string),
        service_manager: params.get("service_manager_uuid").map(filter_uuid),
        slug: params.get("slug").map(str::to_string),
        created_from: datetime(params, "created")?,
        created_before: datetime(params, "created_before")?,
        modified_from: datetime(params, "modified")?,
        modified_before: datetime(params, "modified_before")?,
        approvable,
        query: params
            .get("query")
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty()),
        auto_approved_only: params.get("was_auto_approved").and_then(filter_bool) == Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_date_times_parse_as_django_accepts_them() {
        let noon = "2024-05-01T12:30:00Z".parse::<DateTime<Utc>>().unwrap();
        for text in [
            "2024-05-01T12:30:00Z",
            "2024-05-01T12:30:00",
            "2024-05-01 12:30:00",
            "2024-05-01 12:30",
            "2024-05-01T14:30:00+02:00",
            "2024-05-01T12:30:00.000000Z",
        ] {
            assert_eq!(parse_datetime(text), Some(noon), "{text}");
        }
        assert_eq!(parse_datetime("05/01/2024 12:30"), Some(noon));
        assert_eq!(parse_datetime("05/01/24 12:30:00"), Some(noon));
        let midnight = "2024-05-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        for text in ["2024-05-01", "05/01/2024", "05/01/24"] {
            assert_eq!(parse_datetime(text), Some(midnight), "{text}");
        }
        for bad in ["yesterday", "2024-13-01", "2024-05-01T25:00"] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn boolean_filters_read_true_false_and_digits_in_any_case() {
        assert_eq!(filter_bool("True"), Some(true));
        assert_eq!(filter_bool("1"), Some(true));
        assert_eq!(filter_bool("false"), Some(false));
        assert_eq!(filter_bool("0"), Some(false));
        assert_eq!(filter_bool("maybe"), None);
    }
}
