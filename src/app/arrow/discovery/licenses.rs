//! `discover_licenses`: the mapped customer's Arrow licenses beside the resources of its
//! projects, and for each resource not yet linked the license whose name is most alike.
//! Arrow failures are reported beside what could be read, never as a refusal.

use uuid::Uuid;

use super::mapping_settings;
use crate::app::Ledger;
use crate::app::arrow::similarity::{ratio, round2};
use crate::app::arrow::{ArrowAppError, settings_client};
use crate::clients::arrow::{ArrowCustomer, ArrowLicense};
use crate::read::arrow::{self as read, CustomerResource, MappingRow};

/// A license is suggested only when its name is more alike than this.
const THRESHOLD: f64 = 0.4;

/// A resource with the license it may be.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseSuggestion {
    pub resource_uuid: Uuid,
    pub resource_name: String,
    pub license_reference: String,
    /// The friendly name, else the offer name.
    pub license_name: String,
    /// How alike, 2 places.
    pub confidence: f64,
}

/// What `discover_licenses` found.
#[derive(Debug, Clone)]
pub struct LicenseDiscovery {
    /// The Arrow customer's reference when it was found, else the mapping's.
    pub arrow_reference: String,
    pub arrow_licenses: Vec<ArrowLicense>,
    /// Every resource of the customer's projects, in any state.
    pub waldur_resources: Vec<CustomerResource>,
    pub suggestions: Vec<LicenseSuggestion>,
    /// Why Arrow could not be read.
    pub error: Option<String>,
}

/// The Arrow customer a mapping means: the first whose `Reference` is the mapping's
/// reference, or whose `Ref` is, or whose `Reference` is it with "XSP" before it, or
/// whose `InternalReference` is it ignoring case, or whose company name is the local
/// customer's ignoring case.
pub fn resolve<'c>(
    reference: &str,
    customer_name: &str,
    customers: &'c [ArrowCustomer],
) -> Option<&'c ArrowCustomer> {
    let prefixed = format!("XSP{reference}");
    customers.iter().find(|c| {
        c.reference == reference
            || c.short_ref == reference
            || c.reference == prefixed
            || c.internal_reference.to_uppercase() == reference.to_uppercase()
            || c.company_name.to_lowercase() == customer_name.to_lowercase()
    })
}

/// For each resource without a backend id, the license (not already a resource's backend
/// id) whose friendly or offer name is strictly the most alike its name, above the
/// threshold.
pub fn suggest(
    resources: &[CustomerResource],
    licenses: &[ArrowLicense],
) -> Vec<LicenseSuggestion> {
    let linked: Vec<&str> = resources
        .iter()
        .filter(|r| !r.backend_id.is_empty())
        .map(|r| r.backend_id.as_str())
        .collect();
    let free: Vec<&ArrowLicense> = licenses
        .iter()
        .filter(|l| !linked.contains(&l.license_id.as_str()))
        .collect();
    let mut suggestions = Vec::new();
    for resource in resources.iter().filter(|r| r.backend_id.is_empty()) {
        let mut best: Option<(&ArrowLicense, f64)> = None;
        for license in &free {
            for name in [&license.friendly_name, &license.name] {
                if name.is_empty() {
                    continue;
                }
                let score = ratio(&resource.name, name);
                if score > THRESHOLD && best.is_none_or(|(_, top)| score > top) {
                    best = Some((license, score));
                }
            }
        }
        if let Some((license, score)) = best {
            let license_name = if license.friendly_name.is_empty() {
                license.name.clone()
            } else {
                license.friendly_name.clone()
            };
            suggestions.push(LicenseSuggestion {
                resource_uuid: resource.uuid,
                resource_name: resource.name.clone(),
                license_reference: license.license_id.clone(),
                license_name,
                confidence: round2(score),
            });
        }
    }
    suggestions
}

/// Reads Arrow's customers to find the mapped one, then its licenses; each failure is
/// reported in `error` (the first one only).
pub async fn discover(
    ledger: &Ledger,
    row: &MappingRow,
) -> Result<LicenseDiscovery, ArrowAppError> {
    let mapping = &row.mapping.fields;
    let settings = mapping_settings(ledger, mapping.settings_uuid).await?;
    let waldur_resources =
        read::customer_resources(&ledger.pool, mapping.waldur_customer_uuid).await?;
    let mut error = None;
    let mut resolved = None;
    let mut arrow_licenses = Vec::new();
    match settings_client(ledger, &settings).await {
        Err(err) => error = Some(format!("Failed to fetch Arrow customers: {err}")),
        Ok(client) => {
            match client.customers().await {
                Ok(customers) => {
                    resolved = resolve(&mapping.arrow_reference, &row.customer_name, &customers)
                        .map(|c| c.reference.clone());
                }
                Err(err) => error = Some(format!("Failed to fetch Arrow customers: {err}")),
            }
            if let Some(reference) = &resolved {
                match client.licenses().await {
                    Ok(all) => {
                        arrow_licenses = all
                            .into_iter()
                            .filter(|l| &l.customer_ref == reference)
                            .collect();
                    }
                    Err(err) => {
                        error.get_or_insert(format!("Failed to fetch licenses: {err}"));
                    }
                }
            }
        }
    }
    let suggestions = suggest(&waldur_resources, &arrow_licenses);
    Ok(LicenseDiscovery {
        arrow_reference: resolved.unwrap_or_else(|| mapping.arrow_reference.clone()),
        arrow_licenses,
        waldur_resources,
        suggestions,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(reference: &str, short: &str, internal: &str, name: &str) -> ArrowCustomer {
        ArrowCustomer {
            reference: reference.into(),
            short_ref: short.into(),
            internal_reference: internal.into(),
            company_name: name.into(),
            ..Default::default()
        }
    }

    fn resource(name: &str, backend_id: &str) -> CustomerResource {
        CustomerResource {
            uuid: Uuid::new_v4(),
            name: name.into(),
            backend_id: backend_id.into(),
            state: "OK".into(),
            offering_uuid: Uuid::nil(),
            offering_name: String::new(),
            project_uuid: Uuid::nil(),
            project_name: String::new(),
            customer_uuid: Uuid::nil(),
        }
    }

    fn license(id: &str, name: &str, friendly: &str) -> ArrowLicense {
        ArrowLicense {
            license_id: id.into(),
            name: name.into(),
            friendly_name: friendly.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_customer_is_found_by_any_of_its_references_or_its_name() {
        let customers = [
            customer("XSP1", "ONE", "INT-1", "One Oy"),
            customer("XSP2", "TWO", "int-2", "Two Oy"),
        ];
        let found = |reference: &str, name: &str| {
            resolve(reference, name, &customers).map(|c| c.reference.as_str())
        };
        assert_eq!(found("XSP2", ""), Some("XSP2"));
        assert_eq!(found("TWO", ""), Some("XSP2"));
        assert_eq!(found("2", ""), Some("XSP2"));
        assert_eq!(found("INT-2", ""), Some("XSP2"));
        assert_eq!(found("nothing", "two oy"), Some("XSP2"));
        assert_eq!(found("nothing", "Three Oy"), None);
    }

    #[test]
    fn each_free_resource_is_suggested_its_most_alike_license() {
        let resources = [
            resource("Nordic Labs Azure Research", ""),
            resource("Office", ""),
            resource("Linked", "XSP3"),
        ];
        let licenses = [
            license("XSP1", "Microsoft Azure Plan", "Nordic Labs Azure Research"),
            license("XSP2", "Microsoft 365 E3", "Nordic Labs Office"),
            license("XSP3", "Office", "Office"),
        ];
        let suggestions = suggest(&resources, &licenses);
        assert_eq!(suggestions.len(), 2);
        assert_eq!(suggestions[0].license_reference, "XSP1");
        assert_eq!(suggestions[0].confidence, 1.0);
        assert_eq!(suggestions[0].license_name, "Nordic Labs Azure Research");
        // XSP3 is already a resource's backend id
        assert_eq!(suggestions[1].license_reference, "XSP2");
    }

    #[test]
    fn the_offer_name_is_compared_when_it_is_more_alike() {
        let suggestions = suggest(
            &[resource("Microsoft Azure Plan", "")],
            &[license("XSP1", "Microsoft Azure Plan", "Zq")],
        );
        assert_eq!(suggestions[0].confidence, 1.0);
        assert_eq!(suggestions[0].license_name, "Zq");
    }

    #[test]
    fn an_unrelated_resource_gets_no_suggestion() {
        let suggestions = suggest(
            &[resource("qqqq", "")],
            &[license("XSP1", "Microsoft Azure Plan", "Nordic")],
        );
        assert!(suggestions.is_empty());
    }
}
