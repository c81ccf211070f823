//! Whether a billing export type suits the ledger: each type Arrow lists (A.8) is asked
//! for one page of January 2025 (A.9, the period Waldur probes) and its headers are
//! compared with the columns billing cannot do without and those it reads when present.

use futures::future::join_all;

use crate::clients::arrow::{ArrowClient, export_type_list};

/// The period every type is probed with, as Waldur probes it.
const PROBE_PERIOD: &str = "2025-01";

/// Columns billing cannot do without.
pub const REQUIRED_FIELDS: [&str; 5] = [
    "Classification",
    "Vendor Subscription ID",
    "End User Company Name",
    "Customer Total Price",
    "Total Wholesale Price",
];

/// Columns read for resources, invoices and reports when an export has them.
pub const IMPORTANT_FIELDS: [&str; 22] = [
    "Friendly Name",
    "Report Period",
    "Vendor Name",
    "Offer Name",
    "Qty",
    "Order Id",
    "Description",
    "Service Name",
    "Arrow SKU",
    "Vendor SKU",
    "Billing Cycle",
    "Customer Unit Price",
    "Bill From",
    "Bill To",
    "End User Company ID",
    "End User E-mail",
    "End User Country Code",
    "End User Address Line1",
    "End User City",
    "End User Post Code",
    "Sequence",
    "ARS Subscription ID",
];

/// What one export type lacks. A type whose probe failed lacks everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTypeCheck {
    pub reference: String,
    pub name: String,
    /// Sorted.
    pub missing_required: Vec<&'static str>,
    /// Sorted.
    pub missing_important: Vec<&'static str>,
}

fn missing(fields: &[&'static str], headers: &[String]) -> Vec<&'static str> {
    let mut missing: Vec<&'static str> = fields
        .iter()
        .copied()
        .filter(|field| !headers.iter().any(|header| header == field))
        .collect();
    missing.sort_unstable();
    missing
}

impl ExportTypeCheck {
    /// The check of a type whose sample page has `headers`.
    pub fn from_headers(reference: String, name: String, headers: &[String]) -> Self {
        Self {
            reference,
            name,
            missing_required: missing(&REQUIRED_FIELDS, headers),
            missing_important: missing(&IMPORTANT_FIELDS, headers),
        }
    }

    /// The check of a type Arrow would not give a sample of.
    pub fn failed(reference: String, name: String) -> Self {
        Self::from_headers(reference, name, &[])
    }

    pub fn required_found(&self) -> usize {
        REQUIRED_FIELDS.len() - self.missing_required.len()
    }

    pub fn important_found(&self) -> usize {
        IMPORTANT_FIELDS.len() - self.missing_important.len()
    }

    /// Has every required column.
    pub fn compatible(&self) -> bool {
        self.missing_required.is_empty()
    }

    /// Compatible, with at least half of the important columns.
    pub fn recommended(&self) -> bool {
        self.compatible() && self.important_found() >= IMPORTANT_FIELDS.len() / 2
    }
}

/// Every export type Arrow lists, checked; none when the list cannot be read.
pub async fn check_all(client: &ArrowClient) -> Vec<ExportTypeCheck> {
    let types = match client.export_types().await {
        Ok(types) => export_type_list(&types),
        Err(err) => {
            tracing::info!(error = %err, "Arrow did not list its export types");
            return Vec::new();
        }
    };
    join_all(types.into_iter().map(|(reference, name)| async move {
        match client
            .export_page(&reference, PROBE_PERIOD, PROBE_PERIOD, 1)
            .await
        {
            Ok(page) => ExportTypeCheck::from_headers(reference, name, &page.headers),
            Err(err) => {
                tracing::info!(export_type = %reference, error = %err, "an export type could not be probed");
                ExportTypeCheck::failed(reference, name)
            }
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_type_with_every_required_and_half_the_important_columns_is_recommended() {
        let mut names: Vec<&str> = REQUIRED_FIELDS.to_vec();
        names.extend(&IMPORTANT_FIELDS[..11]);
        let check = ExportTypeCheck::from_headers("E1".into(), "MSP".into(), &headers(&names));
        assert!(check.compatible());
        assert_eq!(check.required_found(), 5);
        assert_eq!(check.important_found(), 11);
        assert!(check.recommended());
        assert_eq!(check.missing_important.len(), 11);
    }

    #[test]
    fn a_type_with_fewer_important_columns_is_compatible_but_not_recommended() {
        let mut names: Vec<&str> = REQUIRED_FIELDS.to_vec();
        names.extend(&IMPORTANT_FIELDS[..10]);
        let check = ExportTypeCheck::from_headers("E1".into(), "MSP".into(), &headers(&names));
        assert!(check.compatible());
        assert!(!check.recommended());
    }

    #[test]
    fn a_type_missing_a_required_column_is_not_compatible_and_says_which() {
        let check = ExportTypeCheck::from_headers(
            "E2".into(),
            "Basic".into(),
            &headers(&["Customer Total Price", "Sequence", "Qty"]),
        );
        assert!(!check.compatible());
        assert!(!check.recommended());
        assert_eq!(
            check.missing_required,
            vec![
                "Classification",
                "End User Company Name",
                "Total Wholesale Price",
                "Vendor Subscription ID"
            ]
        );
        assert_eq!(check.important_found(), 2);
    }

    #[test]
    fn a_failed_probe_lacks_everything() {
        let check = ExportTypeCheck::failed("E3".into(), "Gone".into());
        assert_eq!(check.required_found(), 0);
        assert_eq!(check.important_found(), 0);
        assert_eq!(check.missing_important.len(), 22);
        assert!(check.missing_important.windows(2).all(|w| w[0] <= w[1]));
        assert!(!check.compatible());
    }
}
