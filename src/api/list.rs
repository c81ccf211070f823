//! Waldur's list conventions: a plain JSON array, `X-Result-Count` and `Link` headers,
//! `page`/`page_size` (10 by default, at most 300), `o=` ordering over declared keys and
//! `field=` selection of the rendered keys.
//!
//! This module reads those parameters and the filter values from the query string and
//! renders the answer; the SQL they become (ordering, paging, counting, filter fragments)
//! is [`crate::read::list`]'s, and each list's typed filter is its read model's.

use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use uuid::Uuid;

use crate::api::error::ApiError;
use crate::api::links::Links;
use crate::read::list::{InvalidPage, LAST_PAGE, Ordering, Sort};

pub use crate::read::list::{OrderKey, Paging};

pub const DEFAULT_PAGE_SIZE: i64 = 10;
pub const MAX_PAGE_SIZE: i64 = 300;

/// The query string of a request as ordered key/value pairs (keys may repeat).
#[derive(Debug, Clone, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// The first value of `key`, if given and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// The `o=` terms of a request: `o=a,-b` and repeated `o=a&o=-b` (as Waldur's client sends
/// it) both work.
pub fn sorts(params: &QueryParams) -> Vec<Sort> {
    params
        .all("o")
        .join(",")
        .split(',')
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .map(Sort::parse)
        .collect()
}

/// The `o=` parameter resolved against a list's keys into an `ORDER BY` clause.
pub fn order_by(
    params: &QueryParams,
    keys: &[OrderKey],
    default: &str,
    tiebreak: &str,
) -> Result<String, ApiError> {
    Ok(Ordering::resolve(keys, &sorts(params), default, tiebreak)?.into_sql())
}

impl Paging {
    /// `page` and `page_size` of a request, validated (`page=last` is the last page).
    pub fn from_params(params: &QueryParams) -> Result<Self, ApiError> {
        let page_size = params
            .get("page_size")
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|n| *n > 0)
            .map(|n| n.min(MAX_PAGE_SIZE))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let page = match params.get("page") {
            None => 1,
            Some("last") => LAST_PAGE,
            Some(raw) => match raw.trim().parse::<i64>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(InvalidPage.into()),
            },
        };
        Ok(Self { page, page_size })
    }
}

/// Keeps only the keys named by `field=` (all keys when none of them is known).
pub fn select_fields(item: Value, params: &QueryParams) -> Value {
    let wanted = params.all("field");
    if wanted.is_empty() {
        return item;
    }
    match item {
        Value::Object(map) => {
            if !wanted.iter().any(|f| map.contains_key(*f)) {
                return Value::Object(map);
            }
            Value::Object(
                map.into_iter()
                    .filter(|(k, _)| wanted.contains(&k.as_str()))
                    .collect(),
            )
        }
        other => other,
    }
}

/// A list answer: the page's items plus the paging headers.
pub fn page_response(
    links: &Links,
    path: &str,
    params: &QueryParams,
    paging: Paging,
    total: i64,
    items: Vec<Value>,
) -> Response {
    let items: Vec<Value> = items
        .into_iter()
        .map(|item| select_fields(item, params))
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert("X-Result-Count", HeaderValue::from(total));
    let link = link_header(links, path, params, paging, total);
    if let Ok(value) = HeaderValue::from_str(&link) {
        headers.insert("Link", value);
    }
    (headers, axum::Json(Value::Array(items))).into_response()
}

fn link_header(
    links: &Links,
    path: &str,
    params: &QueryParams,
    paging: Paging,
    total: i64,
) -> String {
    let last = paging.last_page(total);
    let url_for = |page: i64| {
        let mut pairs: Vec<(String, String)> = params
            .pairs()
            .iter()
            .filter(|(k, _)| k != "page")
            .cloned()
            .collect();
        if page > 1 {
            pairs.push(("page".to_string(), page.to_string()));
        }
        // Python's `urlencode(sorted(query.items()), doseq=True)`: sorted by key only, the
        // values of a repeated key keep their order.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut url = links.absolute(path);
        if !pairs.is_empty() {
            let query: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
                .collect();
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    };
    let mut parts = vec![format!("<{}>; rel=\"first\"", url_for(1))];
    if paging.page > 1 {
        parts.push(format!("<{}>; rel=\"prev\"", url_for(paging.page - 1)));
    }
    if paging.page < last {
        parts.push(format!("<{}>; rel=\"next\"", url_for(paging.page + 1)));
    }
    parts.push(format!("<{}>; rel=\"last\"", url_for(last)));
    parts.join(", ")
}

/// Python's `urllib.parse.quote_plus`: only `A-Za-z0-9_.-~` stay as they are, a space
/// becomes `+`, every other byte is `%XX`.
fn quote_plus(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// DRF's boolean filter spellings.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A uuid filter value; one that does not parse is the nil uuid, which matches nothing.
pub fn filter_uuid(value: &str) -> Uuid {
    Uuid::parse_str(value.trim()).unwrap_or(Uuid::nil())
}

/// Every non-empty value of the repeated text filter `key`, owned.
pub fn strings(params: &QueryParams, key: &str) -> Vec<String> {
    params.all(key).into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(q: &str) -> QueryParams {
        QueryParams::parse(Some(q))
    }

    #[test]
    fn page_size_defaults_to_ten_and_is_clamped_to_three_hundred() {
        assert_eq!(Paging::from_params(&params("")).unwrap().page_size, 10);
        assert_eq!(
            Paging::from_params(&params("page_size=5000"))
                .unwrap()
                .page_size,
            300
        );
        assert_eq!(
            Paging::from_params(&params("page_size=abc"))
                .unwrap()
                .page_size,
            10
        );
    }

    #[test]
    fn a_bad_page_is_refused() {
        assert!(Paging::from_params(&params("page=0")).is_err());
        assert!(Paging::from_params(&params("page=x")).is_err());
        let paging = Paging::from_params(&params("page=3")).unwrap();
        assert!(paging.resolve(20).is_err());
        assert!(paging.resolve(21).is_ok());
        assert!(Paging::from_params(&params("")).unwrap().resolve(0).is_ok());
    }

    #[test]
    fn ordering_accepts_declared_keys_only() {
        let keys = [OrderKey {
            name: "name",
            sql: "c.name",
        }];
        assert_eq!(
            order_by(&params("o=-name"), &keys, "c.created", "c.uuid").unwrap(),
            "c.name DESC, c.uuid"
        );
        assert!(order_by(&params("o=secret"), &keys, "c.created", "c.uuid").is_err());
        let repeated = [
            OrderKey {
                name: "name",
                sql: "c.name",
            },
            OrderKey {
                name: "created",
                sql: "c.created",
            },
        ];
        assert_eq!(
            order_by(
                &params("o=-name&o=created"),
                &repeated,
                "c.created",
                "c.uuid"
            )
            .unwrap(),
            "c.name DESC, c.created ASC, c.uuid"
        );
    }

    #[test]
    fn links_sort_the_query_and_drop_page_one() {
        let links = Links::new("http://h");
        let p = params("page_size=2&page=2");
        let paging = Paging::from_params(&p).unwrap();
        let header = link_header(&links, "/api/x/", &p, paging, 5);
        assert_eq!(
            header,
            "<http://h/api/x/?page_size=2>; rel=\"first\", \
             <http://h/api/x/?page_size=2>; rel=\"prev\", \
             <http://h/api/x/?page=3&page_size=2>; rel=\"next\", \
             <http://h/api/x/?page=3&page_size=2>; rel=\"last\""
        );
    }

    #[test]
    fn links_keep_the_order_of_repeated_keys_and_quote_like_python() {
        let links = Links::new("http://h");
        let p = params("page=2&field=uuid&field=name&name=a~b*c%20d%2F");
        let paging = Paging::from_params(&p).unwrap();
        let header = link_header(&links, "/x/", &p, paging, 25);
        assert!(
            header.starts_with(
                "<http://h/x/?field=uuid&field=name&name=a~b%2Ac+d%2F>; rel=\"first\""
            ),
            "{header}"
        );
    }

    #[test]
    fn field_selection_keeps_known_fields_only() {
        let item = json!({"uuid": "u", "name": "n", "url": "x"});
        assert_eq!(
            select_fields(item.clone(), &params("field=uuid&field=nope")),
            json!({"uuid": "u"})
        );
        assert_eq!(select_fields(item.clone(), &params("field=nope")), item);
    }
}
