//! Arrow customers beside local ones: `discover_customers` (for credentials being set up,
//! with the export types checked), `available_customers` (those the active settings have
//! not mapped yet) and `sync_from_arrow` (mappings take the company names Arrow gives).
//! Each Arrow customer is suggested the local customer whose name is most alike.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::export_types::{self, ExportTypeCheck};
use super::{NO_SETTINGS, mapping_settings};
use crate::app::Ledger;
use crate::app::arrow::similarity::{ratio, round2};
use crate::app::arrow::{ArrowAppError, client, mappings, settings_client};
use crate::app::error::AppError;
use crate::clients::arrow::{ArrowClient, ArrowCustomer, validate_api_url};
use crate::domain::arrow::mapping::MappingChanges;
use crate::read::arrow::{self as read, CustomerBrief};
use crate::store::metadata::CommandContext;

/// A local customer is suggested only when its name is more alike than this.
const THRESHOLD: f64 = 0.5;

/// Waldur's answer when `available_customers` has no settings to read Arrow with.
pub const NO_ACTIVE_SETTINGS: &str = "No active Arrow settings configured";

/// An Arrow customer with the local customer it may be.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub arrow_customer: ArrowCustomer,
    /// The most alike local customer, if any is alike enough (never for a mapped one).
    pub suggested: Option<CustomerBrief>,
    /// How alike, 2 places; 0.0 without a suggestion.
    pub confidence: f64,
    /// Some mapping (of any settings) already has the customer's reference.
    pub existing_mapping: bool,
}

/// The first local customer whose name is strictly the most alike `company_name`, above
/// the threshold, with how alike it is.
pub fn best_match<'c>(
    company_name: &str,
    customers: &'c [CustomerBrief],
) -> Option<(&'c CustomerBrief, f64)> {
    let mut best: Option<(&CustomerBrief, f64)> = None;
    for customer in customers {
        let score = ratio(company_name, &customer.name);
        if score > THRESHOLD && best.is_none_or(|(_, top)| score > top) {
            best = Some((customer, score));
        }
    }
    best
}

fn suggest(
    arrow_customer: &ArrowCustomer,
    customers: &[CustomerBrief],
    mapped: bool,
) -> Suggestion {
    let found = if mapped {
        None
    } else {
        best_match(&arrow_customer.company_name, customers)
    };
    Suggestion {
        arrow_customer: arrow_customer.clone(),
        confidence: found.map_or(0.0, |(_, score)| round2(score)),
        suggested: found.map(|(customer, _)| customer.clone()),
        existing_mapping: mapped,
    }
}

/// Every customer Arrow has under some credentials, beside the local ones.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub arrow_customers: Vec<ArrowCustomer>,
    pub waldur_customers: Vec<CustomerBrief>,
    pub suggestions: Vec<Suggestion>,
    /// Empty when Arrow would not list them.
    pub export_types: Vec<ExportTypeCheck>,
}

/// A client for credentials typed in a request: a bad URL is the field's fault.
fn credentials_client(
    ledger: &Ledger,
    api_url: &str,
    api_key: &str,
) -> Result<ArrowClient, ArrowAppError> {
    let api_url = validate_api_url(api_url)
        .map_err(|err| ArrowAppError::App(AppError::field("api_url", err.to_string())))?;
    client(ledger, &api_url, api_key).map_err(ArrowAppError::Refused)
}

/// Reads every Arrow customer (refused when Arrow fails) and checks the export types
/// (none when Arrow fails); `whoami` is not asked.
pub async fn discover(
    ledger: &Ledger,
    api_url: &str,
    api_key: &str,
) -> Result<Discovery, ArrowAppError> {
    let client = credentials_client(ledger, api_url, api_key)?;
    let arrow_customers = client
        .customers()
        .await
        .map_err(|err| ArrowAppError::Refused(err.to_string()))?;
    let export_types = export_types::check_all(&client).await;
    let waldur_customers = read::customers(&ledger.pool).await?;
    let mapped = read::mapped_references(&ledger.pool).await?;
    let suggestions = arrow_customers
        .iter()
        .map(|c| suggest(c, &waldur_customers, mapped.contains(&c.reference)))
        .collect();
    Ok(Discovery {
        arrow_customers,
        waldur_customers,
        suggestions,
        export_types,
    })
}

/// The Arrow customers the active settings have no active mapping of.
#[derive(Debug, Clone)]
pub struct Available {
    pub settings_uuid: Uuid,
    pub arrow_customers: Vec<ArrowCustomer>,
    pub waldur_customers: Vec<CustomerBrief>,
    pub suggestions: Vec<Suggestion>,
}

/// Refused without active settings and when Arrow fails.
pub async fn available(ledger: &Ledger) -> Result<Available, ArrowAppError> {
    let settings = read::active_settings(&ledger.pool)
        .await?
        .ok_or_else(|| ArrowAppError::Refused(NO_ACTIVE_SETTINGS.to_string()))?;
    let settings_uuid = settings.uuid.unwrap_or_default();
    let client = settings_client(ledger, &settings)
        .await
        .map_err(ArrowAppError::Refused)?;
    let all = client
        .customers()
        .await
        .map_err(|err| ArrowAppError::Refused(err.to_string()))?;
    let mapped: HashSet<String> = read::active_mappings(&ledger.pool, settings_uuid)
        .await?
        .into_iter()
        .map(|m| m.fields.arrow_reference)
        .collect();
    let arrow_customers: Vec<ArrowCustomer> = all
        .into_iter()
        .filter(|c| !mapped.contains(&c.reference))
        .collect();
    let waldur_customers = read::customers(&ledger.pool).await?;
    let suggestions = arrow_customers
        .iter()
        .map(|c| suggest(c, &waldur_customers, false))
        .collect();
    Ok(Available {
        settings_uuid,
        arrow_customers,
        waldur_customers,
        suggestions,
    })
}

/// Gives every active mapping of the settings (the active ones when none are named) the
/// company name Arrow has for its reference; answers how many changed. Refused without
/// settings and when Arrow fails.
pub async fn sync_from_arrow(
    ledger: &Ledger,
    settings_uuid: Option<Uuid>,
    ctx: &CommandContext,
) -> Result<usize, ArrowAppError> {
    let settings = match settings_uuid {
        Some(uuid) => mapping_settings(ledger, uuid).await?,
        None => read::active_settings(&ledger.pool)
            .await?
            .ok_or_else(|| ArrowAppError::Refused(NO_SETTINGS.to_string()))?,
    };
    let client = settings_client(ledger, &settings)
        .await
        .map_err(ArrowAppError::Refused)?;
    let customers = client
        .customers()
        .await
        .map_err(|err| ArrowAppError::Refused(err.to_string()))?;
    // A reference listed twice takes its last name, as Waldur's map does.
    let names: HashMap<&str, &str> = customers
        .iter()
        .filter(|c| !c.reference.is_empty())
        .map(|c| (c.reference.as_str(), c.company_name.as_str()))
        .collect();
    let mut updated = 0;
    for mapping in read::active_mappings(&ledger.pool, settings.uuid.unwrap_or_default()).await? {
        let Some(name) = names.get(mapping.fields.arrow_reference.as_str()) else {
            continue;
        };
        if mapping.fields.arrow_company_name == *name {
            continue;
        }
        let changes = MappingChanges {
            arrow_company_name: Some((*name).to_string()),
            ..Default::default()
        };
        mappings::update(ledger, mapping.uuid.unwrap_or_default(), changes, ctx).await?;
        updated += 1;
    }
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(name: &str) -> CustomerBrief {
        CustomerBrief {
            uuid: Uuid::new_v4(),
            name: name.to_string(),
            abbreviation: String::new(),
        }
    }

    #[test]
    fn an_identical_name_matches_with_full_confidence() {
        let customers = [customer("Tartu Data"), customer("nordic research labs oy")];
        let arrow = ArrowCustomer {
            reference: "XSP1".into(),
            company_name: "Nordic Research Labs Oy".into(),
            ..Default::default()
        };
        let suggestion = suggest(&arrow, &customers, false);
        assert_eq!(suggestion.confidence, 1.0);
        assert_eq!(
            suggestion.suggested.map(|c| c.name).as_deref(),
            Some("nordic research labs oy")
        );
    }

    #[test]
    fn an_unrelated_name_gets_no_suggestion() {
        let arrow = ArrowCustomer {
            company_name: "Baltic Bioinformatics OÜ".into(),
            ..Default::default()
        };
        let suggestion = suggest(&arrow, &[customer("Zzyzx Qwv")], false);
        assert!(suggestion.suggested.is_none());
        assert_eq!(suggestion.confidence, 0.0);
    }

    #[test]
    fn the_first_of_equally_alike_customers_is_suggested() {
        let customers = [customer("Acme Oy"), customer("acme oy")];
        let (found, _) = best_match("ACME OY", &customers).unwrap();
        assert_eq!(found.name, "Acme Oy");
    }

    #[test]
    fn a_mapped_customer_gets_no_suggestion() {
        let arrow = ArrowCustomer {
            company_name: "Acme Oy".into(),
            ..Default::default()
        };
        let suggestion = suggest(&arrow, &[customer("Acme Oy")], true);
        assert!(suggestion.existing_mapping);
        assert!(suggestion.suggested.is_none());
        assert_eq!(suggestion.confidence, 0.0);
    }
}
