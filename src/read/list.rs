//! What every list query shares: an ordering resolved against a list's declared keys, a page
//! counted and fetched with the same `WHERE` clause, and the fragments of common filters
//! (contains, equals, one of several values), each taken as a typed value.

use sqlx::postgres::{PgHasArrayType, PgRow};
use sqlx::{Encode, FromRow, PgPool, Postgres, QueryBuilder, Type};
use uuid::Uuid;

use super::like_escape;

/// The page number that stands for the last page, whatever the total.
pub const LAST_PAGE: i64 = i64::MAX;

/// One orderable key of a list: its name in a requested ordering and the SQL it sorts by.
#[derive(Debug, Clone, Copy)]
pub struct OrderKey {
    pub name: &'static str,
    pub sql: &'static str,
}

/// One term of a requested ordering: a key's name, ascending unless `descending`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub key: String,
    pub descending: bool,
}

impl Sort {
    /// `name` or `-name` (descending).
    pub fn parse(term: &str) -> Self {
        match term.strip_prefix('-') {
            Some(key) => Sort {
                key: key.to_string(),
                descending: true,
            },
            None => Sort {
                key: term.to_string(),
                descending: false,
            },
        }
    }

    /// The term as it was requested.
    pub fn term(&self) -> String {
        if self.descending {
            format!("-{}", self.key)
        } else {
            self.key.clone()
        }
    }
}

/// A requested ordering named a key the list does not have; holds the term as requested.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not an ordering of this list")]
pub struct UnknownOrderKey(pub String);

/// An `ORDER BY` clause built from declared keys only, ending in a tiebreak so that pages
/// never overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering(String);

impl Ordering {
    /// `sorts` resolved against `keys`; `default` when nothing is requested.
    pub fn resolve(
        keys: &[OrderKey],
        sorts: &[Sort],
        default: &str,
        tiebreak: &str,
    ) -> Result<Self, UnknownOrderKey> {
        if sorts.is_empty() {
            return Ok(Ordering(format!("{default}, {tiebreak}")));
        }
        let mut clauses = Vec::with_capacity(sorts.len() + 1);
        for sort in sorts {
            let Some(key) = keys.iter().find(|k| k.name == sort.key) else {
                return Err(UnknownOrderKey(sort.term()));
            };
            let direction = if sort.descending { "DESC" } else { "ASC" };
            clauses.push(format!("{} {direction}", key.sql));
        }
        clauses.push(tiebreak.to_string());
        Ok(Ordering(clauses.join(", ")))
    }

    /// The clause, without `ORDER BY`.
    pub fn sql(&self) -> &str {
        &self.0
    }

    pub fn into_sql(self) -> String {
        self.0
    }
}

/// A requested page: `page` counts from 1 ([`LAST_PAGE`] for the last one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub page_size: i64,
}

/// The requested page lies beyond the last one.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the page lies beyond the last one")]
pub struct InvalidPage;

impl Paging {
    pub fn limit(&self) -> i64 {
        self.page_size
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    /// The number of the last page for `total` rows (1 when there are none).
    pub fn last_page(&self, total: i64) -> i64 {
        ((total + self.page_size - 1) / self.page_size).max(1)
    }

    /// Checks the page against the total and resolves [`LAST_PAGE`].
    pub fn resolve(self, total: i64) -> Result<Self, InvalidPage> {
        let pages = self.last_page(total);
        let page = if self.page == LAST_PAGE {
            pages
        } else {
            self.page
        };
        if page > pages {
            return Err(InvalidPage);
        }
        Ok(Self { page, ..self })
    }
}

/// One page of a list: the rows shown, how many match in all, and the page resolved.
#[derive(Debug)]
pub struct Page<T> {
    pub total: i64,
    pub rows: Vec<T>,
    pub paging: Paging,
}

/// Why a page could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    InvalidPage(#[from] InvalidPage),
    #[error("listing: {0}")]
    Database(#[from] sqlx::Error),
}

/// Counts the rows of `FROM {from}` that `filters` (which pushes the `WHERE` clause) keeps.
pub async fn count(
    pool: &PgPool,
    from: &str,
    filters: impl Fn(&mut QueryBuilder<'_, Postgres>),
) -> sqlx::Result<i64> {
    let mut count = QueryBuilder::new(format!("SELECT count(*) FROM {from}"));
    filters(&mut count);
    count.build_query_scalar().fetch_one(pool).await
}

/// Counts the matching rows, checks the page and fetches it. `filters` pushes the `WHERE`
/// clause (visibility and filters) after `FROM {from}`.
pub async fn fetch_page<T>(
    pool: &PgPool,
    select: &str,
    from: &str,
    filters: impl Fn(&mut QueryBuilder<'_, Postgres>),
    order: &str,
    paging: Paging,
) -> Result<Page<T>, ListError>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let total = count(pool, from, &filters).await?;
    let paging = paging.resolve(total)?;
    let mut page = QueryBuilder::new(format!("SELECT {select} FROM {from}"));
    filters(&mut page);
    push_page(&mut page, order, paging);
    let rows = page.build_query_as().fetch_all(pool).await?;
    Ok(Page {
        total,
        rows,
        paging,
    })
}

/// ` ORDER BY {order} LIMIT … OFFSET …` for `paging`.
pub fn push_page(qb: &mut QueryBuilder<'_, Postgres>, order: &str, paging: Paging) {
    qb.push(format!(" ORDER BY {order} LIMIT "));
    qb.push_bind(paging.limit());
    qb.push(" OFFSET ");
    qb.push_bind(paging.offset());
}

/// Whether a `SELECT count(*) …` query finds any row.
pub async fn exists(pool: &PgPool, mut qb: QueryBuilder<'_, Postgres>) -> sqlx::Result<bool> {
    let count: i64 = qb.build_query_scalar().fetch_one(pool).await?;
    Ok(count > 0)
}

/// `%value%` for a case-insensitive "contains" filter.
pub fn contains_pattern(value: &str) -> String {
    format!("%{}%", like_escape(value))
}

/// ` AND {column} ILIKE '%value%'` when a value is given.
pub fn push_contains(qb: &mut QueryBuilder<'_, Postgres>, column: &str, value: Option<&str>) {
    if let Some(value) = value {
        qb.push(format!(" AND {column} ILIKE "));
        qb.push_bind(contains_pattern(value));
    }
}

/// ` AND {column} = value` when a value is given.
pub fn push_equals<'a, T>(qb: &mut QueryBuilder<'a, Postgres>, column: &str, value: Option<T>)
where
    T: 'a + Encode<'a, Postgres> + Type<Postgres>,
{
    if let Some(value) = value {
        qb.push(format!(" AND {column} = "));
        qb.push_bind(value);
    }
}

/// `column = value` for one value, `column = ANY(values)` for several, nothing for none.
/// A single value is bound as itself so that the plan knows it is one: an index on the
/// column then also gives the page its order, where `= ANY` of one would need a sort.
pub fn push_one_of<'a, T>(qb: &mut QueryBuilder<'a, Postgres>, column: &str, mut values: Vec<T>)
where
    T: 'a + Encode<'a, Postgres> + Type<Postgres> + PgHasArrayType,
{
    match values.len() {
        0 => {}
        1 => {
            qb.push(format!(" AND {column} = "));
            qb.push_bind(values.remove(0));
        }
        _ => {
            qb.push(format!(" AND {column} = ANY("));
            qb.push_bind(values);
            qb.push(")");
        }
    }
}

/// ` AND {column} = ANY(values)` when any value is given.
pub fn push_any<'a, T>(qb: &mut QueryBuilder<'a, Postgres>, column: &str, values: &[T])
where
    T: 'a + Clone + Encode<'a, Postgres> + Type<Postgres> + PgHasArrayType,
{
    if !values.is_empty() {
        qb.push(format!(" AND {column} = ANY("));
        qb.push_bind(values.to_vec());
        qb.push(")");
    }
}

/// Pushes `sql` with every `$1` replaced by a bind of `user` (the visibility subqueries of
/// [`super::visibility`]).
pub fn push_with_user(qb: &mut QueryBuilder<'_, Postgres>, sql: &str, user: Uuid) {
    let mut parts = sql.split("$1").peekable();
    while let Some(part) = parts.next() {
        qb.push(part);
        if parts.peek().is_some() {
            qb.push_bind(user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorts(terms: &[&str]) -> Vec<Sort> {
        terms.iter().map(|t| Sort::parse(t)).collect()
    }

    const KEYS: &[OrderKey] = &[
        OrderKey {
            name: "name",
            sql: "c.name",
        },
        OrderKey {
            name: "created",
            sql: "c.created",
        },
    ];

    #[test]
    fn an_ordering_uses_declared_keys_and_ends_in_the_tiebreak() {
        let resolve = |terms: &[&str]| Ordering::resolve(KEYS, &sorts(terms), "c.x", "c.uuid");
        assert_eq!(resolve(&[]).unwrap().sql(), "c.x, c.uuid");
        assert_eq!(resolve(&["-name"]).unwrap().sql(), "c.name DESC, c.uuid");
        assert_eq!(
            resolve(&["-name", "created"]).unwrap().sql(),
            "c.name DESC, c.created ASC, c.uuid"
        );
        let unknown = resolve(&["name", "-secret"]).unwrap_err();
        assert_eq!(unknown.0, "-secret");
    }

    #[test]
    fn the_last_page_resolves_and_pages_beyond_it_are_refused() {
        let paging = |page| Paging {
            page,
            page_size: 10,
        };
        assert_eq!(paging(LAST_PAGE).resolve(25).unwrap().page, 3);
        assert_eq!(paging(LAST_PAGE).resolve(0).unwrap().page, 1);
        assert!(paging(3).resolve(20).is_err());
        assert_eq!(paging(3).resolve(21).unwrap().offset(), 20);
    }

    #[test]
    fn one_value_is_bound_as_itself_and_several_as_an_array() {
        let mut qb = QueryBuilder::<Postgres>::new("WHERE true");
        push_one_of(&mut qb, "o.state", Vec::<String>::new());
        push_one_of(&mut qb, "o.state", vec!["done".to_string()]);
        push_one_of(
            &mut qb,
            "o.type",
            vec!["Create".to_string(), "Update".to_string()],
        );
        assert_eq!(qb.sql(), "WHERE true AND o.state = $1 AND o.type = ANY($2)");
    }

    #[test]
    fn visibility_subqueries_bind_the_user_for_every_placeholder() {
        let mut qb = QueryBuilder::<Postgres>::new("WHERE c.uuid IN (");
        push_with_user(
            &mut qb,
            "SELECT a WHERE u = $1 UNION SELECT b WHERE u = $1",
            Uuid::nil(),
        );
        qb.push(")");
        assert_eq!(
            qb.sql(),
            "WHERE c.uuid IN (SELECT a WHERE u = $1 UNION SELECT b WHERE u = $2)"
        );
    }

    #[test]
    fn contains_patterns_escape_like_wildcards() {
        assert_eq!(contains_pattern("50%_off"), "%50\\%\\_off%");
    }
}
