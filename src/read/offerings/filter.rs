//! The offering list filters (Waldur's `OfferingFilter`, shared by the provider and the
//! public catalogue) as typed values, and the SQL they become.
//!
//! Every filter reads columns of `projection.offerings o` or of its customer `c`.

use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::offering::model::OfferingState;
use crate::read::list::{contains_pattern, push_any, push_contains, push_equals};

/// What an offering list keeps; the default keeps every offering. Uuids that name nothing
/// (the nil uuid) match nothing.
#[derive(Debug, Default, Clone)]
pub struct OfferingFilter {
    /// The name contains this.
    pub name: Option<String>,
    /// The description contains this.
    pub description: Option<String>,
    /// The name is exactly this.
    pub name_exact: Option<String>,
    pub slug: Option<String>,
    pub backend_id: Option<String>,
    pub shared: Option<bool>,
    pub billable: Option<bool>,
    /// The offering's customer is each of these (two different ones match nothing).
    pub customers: Vec<Uuid>,
    pub category: Option<Uuid>,
    /// One of these states (none: any).
    pub states: Vec<OfferingState>,
    /// One of these types (none: any).
    pub types: Vec<String>,
    /// The name or description, or the customer's name, abbreviation or native name,
    /// contains this.
    pub keyword: Option<String>,
    /// The name, slug or description contains the text, or the uuid is it.
    pub query: Option<String>,
    /// Offerings this organization may order: shared ones and its own.
    pub allowed_customer: Option<Uuid>,
    /// Offerings of this project, and shared ones.
    pub project: Option<Uuid>,
    /// One of these offerings (`Some` of none: nothing).
    pub uuids: Option<Vec<Uuid>>,
}

impl OfferingFilter {
    /// Pushes ` AND …` for each filter set, onto a query over [`super::FROM`]'s aliases.
    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        push_contains(qb, "o.name", self.name.as_deref());
        push_contains(qb, "o.description", self.description.as_deref());
        push_equals(qb, "o.name", self.name_exact.clone());
        push_equals(qb, "o.slug", self.slug.clone());
        push_equals(qb, "o.backend_id", self.backend_id.clone());
        push_equals(qb, "o.shared", self.shared);
        push_equals(qb, "o.billable", self.billable);
        for customer in &self.customers {
            push_equals(qb, "o.customer_uuid", Some(*customer));
        }
        push_equals(qb, "o.category_uuid", self.category);
        let states: Vec<String> = self.states.iter().map(|s| s.as_str().into()).collect();
        push_any(qb, "o.state", &states);
        push_any(qb, "o.type", &self.types);
        if let Some(keyword) = &self.keyword {
            let pattern = contains_pattern(keyword);
            qb.push(" AND (o.name ILIKE ");
            qb.push_bind(pattern.clone());
            for column in ["o.description", "c.name", "c.abbreviation", "c.native_name"] {
                qb.push(format!(" OR {column} ILIKE "));
                qb.push_bind(pattern.clone());
            }
            qb.push(")");
        }
        if let Some(query) = &self.query {
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
        if let Some(customer) = self.allowed_customer {
            qb.push(" AND (o.shared OR o.customer_uuid = ");
            qb.push_bind(customer);
            qb.push(")");
        }
        if let Some(project) = self.project {
            qb.push(" AND (o.shared OR o.project_uuid = ");
            qb.push_bind(project);
            qb.push(")");
        }
        if let Some(uuids) = &self.uuids {
            qb.push(" AND o.uuid = ANY(");
            qb.push_bind(uuids.clone());
            qb.push(")");
        }
    }
}

/// What a plan list keeps; the default keeps every plan.
#[derive(Debug, Default, Clone)]
pub struct PlanFilter {
    /// The plan's offering is each of these (two different ones match nothing).
    pub offerings: Vec<Uuid>,
    /// Offerings with one of these slugs (none: any).
    pub offering_slugs: Vec<String>,
}

impl PlanFilter {
    /// Pushes ` AND …` for each filter set, onto a query over plans `pl` joined with their
    /// offering `o`.
    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        for offering in &self.offerings {
            push_equals(qb, "pl.offering_uuid", Some(*offering));
        }
        crate::read::list::push_one_of(qb, "o.slug", self.offering_slugs.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(filter: &OfferingFilter) -> String {
        let mut qb = QueryBuilder::<Postgres>::new("WHERE true");
        filter.push(&mut qb);
        qb.sql().to_string()
    }

    #[test]
    fn no_filter_adds_nothing() {
        assert_eq!(sql(&OfferingFilter::default()), "WHERE true");
        let mut qb = QueryBuilder::<Postgres>::new("WHERE true");
        PlanFilter::default().push(&mut qb);
        assert_eq!(qb.sql(), "WHERE true");
    }

    #[test]
    fn states_and_types_bind_as_arrays_and_customers_each_bind_an_equality() {
        let text = sql(&OfferingFilter {
            customers: vec![Uuid::nil(), Uuid::max()],
            states: vec![OfferingState::Active],
            types: vec!["Marketplace.Slurm".into()],
            shared: Some(true),
            ..OfferingFilter::default()
        });
        assert_eq!(
            text,
            "WHERE true AND o.shared = $1 AND o.customer_uuid = $2 AND o.customer_uuid = $3 \
             AND o.state = ANY($4) AND o.type = ANY($5)"
        );
    }

    #[test]
    fn a_keyword_also_matches_the_customers_names() {
        let text = sql(&OfferingFilter {
            keyword: Some("hpc".into()),
            ..OfferingFilter::default()
        });
        assert_eq!(
            text,
            "WHERE true AND (o.name ILIKE $1 OR o.description ILIKE $2 OR c.name ILIKE $3 \
             OR c.abbreviation ILIKE $4 OR c.native_name ILIKE $5)"
        );
    }

    #[test]
    fn a_query_matches_the_uuid_only_when_it_is_one() {
        let by_text = sql(&OfferingFilter {
            query: Some("cluster".into()),
            ..OfferingFilter::default()
        });
        assert_eq!(
            by_text,
            "WHERE true AND (o.name ILIKE $1 OR o.slug ILIKE $2 OR o.description ILIKE $3)"
        );
        let by_uuid = sql(&OfferingFilter {
            query: Some(Uuid::nil().to_string()),
            ..OfferingFilter::default()
        });
        assert!(by_uuid.ends_with(" OR o.uuid = $4)"), "{by_uuid}");
    }

    #[test]
    fn shared_offerings_pass_the_customer_and_project_filters_and_a_uuid_list_is_an_array() {
        let text = sql(&OfferingFilter {
            allowed_customer: Some(Uuid::nil()),
            project: Some(Uuid::nil()),
            uuids: Some(vec![]),
            ..OfferingFilter::default()
        });
        assert_eq!(
            text,
            "WHERE true AND (o.shared OR o.customer_uuid = $1) \
             AND (o.shared OR o.project_uuid = $2) AND o.uuid = ANY($3)"
        );
    }

    #[test]
    fn plans_filter_by_offering_and_by_the_offerings_slugs() {
        let mut qb = QueryBuilder::<Postgres>::new("WHERE true");
        PlanFilter {
            offerings: vec![Uuid::nil()],
            offering_slugs: vec!["a".into(), "b".into()],
        }
        .push(&mut qb);
        assert_eq!(
            qb.sql(),
            "WHERE true AND pl.offering_uuid = $1 AND o.slug = ANY($2)"
        );
    }
}
