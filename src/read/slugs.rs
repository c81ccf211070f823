//! Waldur's slugs: the slugified name cut to eight characters, then `-N` with N one more than
//! the highest number already used after that prefix in the same table.

use sqlx::PgPool;

/// `slugify(name)[:8]`: ASCII, lowercase, words joined by `-`.
pub fn base(name: &str) -> String {
    let mut slug = String::new();
    let mut pending_dash = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(c.to_ascii_lowercase());
        } else if c.is_whitespace() || c == '-' {
            pending_dash = true;
        }
    }
    let slug = slug.trim_matches(|c| c == '-' || c == '_');
    slug.chars().take(8).collect()
}

/// The next free slug for `name` among the slugs of `kind` (`users`, `customers`,
/// `projects`, `offerings`) ever given. Offerings keep theirs in the offerings projection,
/// the others in the directory's.
pub async fn next(pool: &PgPool, kind: &str, name: &str) -> sqlx::Result<String> {
    let base = base(name);
    let pattern = format!("{}%", super::like_escape(&base));
    let query = if kind == "offerings" {
        sqlx::query_scalar("SELECT slug FROM projection.offering_slugs WHERE slug LIKE $1")
            .bind(pattern)
    } else {
        sqlx::query_scalar("SELECT slug FROM projection.slugs WHERE kind = $2 AND slug LIKE $1")
            .bind(pattern)
            .bind(kind)
    };
    let existing: Vec<String> = query.fetch_all(pool).await?;
    let highest = existing
        .iter()
        .filter_map(|s| s.rsplit('-').next()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    Ok(format!("{base}-{}", highest + 1))
}

#[cfg(test)]
mod tests {
    use super::base;

    #[test]
    fn slugs_follow_waldurs_examples() {
        assert_eq!(base("Ref Provider Org"), "ref-prov");
        assert_eq!(base("Ref Consumer Org"), "ref-cons");
        assert_eq!(base("Ref Project"), "ref-proj");
        assert_eq!(base("ab cd efgh"), "ab-cd-ef");
        assert_eq!(base("new_user"), "new_user");
    }
}
