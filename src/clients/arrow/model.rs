//! What the ledger reads out of ArrowSphere's answers: customers, licenses, consumption
//! sums and billing export lines. Every reader is lenient, as Arrow's field spelling and
//! cell types vary: a missing field is empty, a cell that is not a number counts as 0.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The header of the sell amount in a monthly consumption report (A.6).
pub const SELL_HEADER: &str = "Total sell price";
/// The header of the buy amount in a monthly consumption report (A.6).
pub const BUY_HEADER: &str = "Total buy price";

/// A cell as a decimal: a JSON number or a numeric string, read from its text (never
/// through a float). `""`, `null`, `"null"` and anything else that is not a number are 0.
pub fn decimal_cell(cell: &Value) -> Decimal {
    let text = match cell {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.trim().to_string(),
        _ => return Decimal::ZERO,
    };
    if text.is_empty() || text.eq_ignore_ascii_case("null") {
        return Decimal::ZERO;
    }
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .unwrap_or(Decimal::ZERO)
}

/// A cell as text: strings as they are, numbers and booleans written out, `null` and
/// containers as "".
pub fn text_cell(cell: &Value) -> String {
    match cell {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        _ => String::new(),
    }
}

/// The first of `keys` that `value` holds with a non-empty text.
fn first_text(value: &Value, keys: &[&str]) -> String {
    keys.iter()
        .map(|key| value.get(*key).map(text_cell).unwrap_or_default())
        .find(|text| !text.is_empty())
        .unwrap_or_default()
}

/// The export types of A.8 as `(reference, name)` pairs, in the order received: the map
/// form `{"<reference>":"<name>"}` or the list form `[{"reference","name"}]`. Entries
/// without a reference are left out.
pub fn export_type_list(types: &Value) -> Vec<(String, String)> {
    match types {
        Value::Object(map) => map
            .iter()
            .filter(|(reference, _)| !reference.is_empty())
            .map(|(reference, name)| (reference.clone(), text_cell(name)))
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                (
                    first_text(item, &["reference"]),
                    first_text(item, &["name"]),
                )
            })
            .filter(|(reference, _)| !reference.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// A customer of the partner (A.2, A.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArrowCustomer {
    /// `Reference`, the "XSP…" identifier.
    pub reference: String,
    pub company_name: String,
    /// `EmailContact`, else `Contact.Email`, else "".
    pub email: String,
    pub city: String,
    pub country_code: String,
    /// `Ref`, the partner's short reference.
    pub short_ref: String,
    pub internal_reference: String,
}

impl ArrowCustomer {
    /// Reads Arrow's PascalCase fields, with the camelCase spelling as a fallback.
    pub fn from_value(value: &Value) -> Self {
        let contact = value
            .get("Contact")
            .or_else(|| value.get("contact"))
            .cloned()
            .unwrap_or(Value::Null);
        let mut email = first_text(value, &["EmailContact", "emailContact"]);
        if email.is_empty() {
            email = first_text(&contact, &["Email", "email"]);
        }
        Self {
            reference: first_text(value, &["Reference", "reference"]),
            company_name: first_text(value, &["CompanyName", "companyName"]),
            email,
            city: first_text(value, &["City", "city"]),
            country_code: first_text(value, &["CountryCode", "countryCode"]),
            short_ref: first_text(value, &["Ref", "ref"]),
            internal_reference: first_text(value, &["InternalReference", "internalReference"]),
        }
    }

    /// The customer as Waldur shows it: `reference`, `companyName`, `email`, `city`,
    /// `countryCode`.
    pub fn to_json(&self) -> Value {
        json!({
            "reference": self.reference,
            "companyName": self.company_name,
            "email": self.email,
            "city": self.city,
            "countryCode": self.country_code,
        })
    }
}

/// A license of the partner (A.4), with the whole object kept in `raw`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArrowLicense {
    /// `license_id`, the "XSP…" license reference.
    pub license_id: String,
    pub customer_ref: String,
    pub service_ref: String,
    pub name: String,
    pub sku: String,
    pub friendly_name: String,
    pub raw: Value,
}

impl ArrowLicense {
    pub fn from_value(value: &Value) -> Self {
        Self {
            license_id: first_text(value, &["license_id", "licenseId"]),
            customer_ref: first_text(value, &["customer_ref", "customerRef"]),
            service_ref: first_text(value, &["service_ref", "serviceRef"]),
            name: first_text(value, &["name"]),
            sku: first_text(value, &["sku"]),
            friendly_name: first_text(value, &["friendlyName", "friendly_name"]),
            raw: value.clone(),
        }
    }
}

/// What a license consumed in a period: sell and buy totals and how many lines (A.6) or
/// values (A.7) they were summed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consumption {
    pub sell: Decimal,
    pub buy: Decimal,
    pub lines: usize,
}

impl Consumption {
    /// Sums `Total sell price` and `Total buy price` over `data.lines` of a monthly
    /// report, the columns found by `data.headers`. A missing column adds nothing.
    pub fn from_monthly(data: &Value) -> Self {
        let headers: Vec<String> = data
            .get("headers")
            .and_then(Value::as_array)
            .map(|headers| headers.iter().map(text_cell).collect())
            .unwrap_or_default();
        let column = |name: &str| {
            headers
                .iter()
                .position(|header| header.trim().eq_ignore_ascii_case(name))
        };
        let (sell_at, buy_at) = (column(SELL_HEADER), column(BUY_HEADER));
        let lines = data
            .get("lines")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let cell = |line: &Value, at: Option<usize>| {
            at.and_then(|at| line.get(at))
                .map(decimal_cell)
                .unwrap_or_default()
        };
        Self {
            sell: lines.iter().map(|line| cell(line, sell_at)).sum(),
            buy: lines.iter().map(|line| cell(line, buy_at)).sum(),
            lines: lines.len(),
        }
    }

    /// Sums `data.values[].consumed.sell` and `.buy` of a prediction.
    pub fn from_prediction(data: &Value) -> Self {
        let values = data
            .get("values")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let amount = |value: &Value, key: &str| {
            value
                .get("consumed")
                .and_then(|consumed| consumed.get(key))
                .map(decimal_cell)
                .unwrap_or_default()
        };
        Self {
            sell: values.iter().map(|value| amount(value, "sell")).sum(),
            buy: values.iter().map(|value| amount(value, "buy")).sum(),
            lines: values.len(),
        }
    }
}

/// One line of a billing export: header → cell. A row shorter than the headers has no
/// entry for the missing cells.
pub type ExportLine = BTreeMap<String, Value>;

/// Arrow's page size for billing exports when the answer does not say.
pub const EXPORT_PER_PAGE: usize = 1000;

/// One page of a billing export (A.9).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportPage {
    pub headers: Vec<String>,
    pub values: Vec<Vec<Value>>,
    /// `pagination.perPage`, else [`EXPORT_PER_PAGE`].
    pub per_page: usize,
}

impl ExportPage {
    /// Reads `data.headers`, `data.values` and `pagination.perPage` of an A.9 answer.
    pub fn from_body(body: &Value) -> Self {
        let data = body.get("data").unwrap_or(&Value::Null);
        let headers = data
            .get("headers")
            .and_then(Value::as_array)
            .map(|headers| headers.iter().map(text_cell).collect())
            .unwrap_or_default();
        let values = data
            .get("values")
            .and_then(Value::as_array)
            .map(|rows| {
                rows.iter()
                    .map(|row| row.as_array().cloned().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default();
        let per_page = pagination(body)
            .and_then(|p| p.get("perPage"))
            .and_then(count)
            .filter(|n| *n > 0)
            .map_or(EXPORT_PER_PAGE, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            });
        Self {
            headers,
            values,
            per_page,
        }
    }

    /// The rows as header → cell maps.
    pub fn lines(&self) -> Vec<ExportLine> {
        self.values
            .iter()
            .map(|row| {
                self.headers
                    .iter()
                    .cloned()
                    .zip(row.iter().cloned())
                    .collect()
            })
            .collect()
    }
}

/// The `pagination` object of an answer: top level, else inside `data`.
pub(super) fn pagination(body: &Value) -> Option<&Value> {
    body.get("pagination")
        .or_else(|| body.get("data").and_then(|data| data.get("pagination")))
}

/// The number of pages a legacy list says it has: `total_page`, else `totalPages`.
pub(super) fn total_pages(body: &Value) -> Option<u64> {
    let pagination = pagination(body)?;
    pagination
        .get("total_page")
        .and_then(count)
        .or_else(|| pagination.get("totalPages").and_then(count))
}

/// A count written as a number or as a numeric string.
fn count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn cells_are_read_as_decimal_text() {
        assert_eq!(decimal_cell(&json!("812.40")), d("812.40"));
        assert_eq!(decimal_cell(&json!(690.54)), d("690.54"));
        assert_eq!(decimal_cell(&json!(744)), d("744"));
        assert_eq!(decimal_cell(&json!(" 45.10 ")), d("45.10"));
        assert_eq!(decimal_cell(&json!("-3.5")), d("-3.5"));
        assert_eq!(decimal_cell(&json!("1e3")), d("1000"));
        // 0.1 + 0.2 through f64 would be 0.30000000000000004
        assert_eq!(
            decimal_cell(&json!(0.1)) + decimal_cell(&json!("0.2")),
            d("0.3")
        );
    }

    #[test]
    fn cells_that_are_not_numbers_count_as_zero() {
        for cell in [
            json!(""),
            json!(null),
            json!("null"),
            json!("NULL"),
            json!("n/a"),
            json!("12,50"),
            json!(true),
            json!([1]),
            json!({"sell": 1}),
        ] {
            assert_eq!(decimal_cell(&cell), Decimal::ZERO, "{cell}");
        }
    }

    #[test]
    fn export_types_are_read_from_the_map_and_the_list_form() {
        let map = json!({"E1-2-b2f0": "MSP (Extended)", "E1-1-aa": "Basic"});
        assert_eq!(
            export_type_list(&map),
            vec![
                ("E1-2-b2f0".to_string(), "MSP (Extended)".to_string()),
                ("E1-1-aa".to_string(), "Basic".to_string()),
            ]
        );
        let list = json!([
            {"reference": "E1-2-b2f0", "name": "MSP (Extended)"},
            {"name": "no reference"},
            {"reference": "E1-1-aa"}
        ]);
        assert_eq!(
            export_type_list(&list),
            vec![
                ("E1-2-b2f0".to_string(), "MSP (Extended)".to_string()),
                ("E1-1-aa".to_string(), String::new()),
            ]
        );
        assert!(export_type_list(&json!(null)).is_empty());
        assert!(export_type_list(&json!("MSP")).is_empty());
    }

    #[test]
    fn a_customer_is_read_from_pascal_case_with_the_contact_email_as_fallback() {
        let customer = ArrowCustomer::from_value(&json!({
            "Reference": "XSP772301",
            "CompanyName": "Baltic Bioinformatics OÜ",
            "City": "Tallinn",
            "CountryCode": "EE",
            "Ref": "BALTICBIO",
            "InternalReference": "BB-2024",
            "Contact": {"FirstName": "Maris", "Email": "maris@balticbio.example.ee"}
        }));
        assert_eq!(
            customer,
            ArrowCustomer {
                reference: "XSP772301".into(),
                company_name: "Baltic Bioinformatics OÜ".into(),
                email: "maris@balticbio.example.ee".into(),
                city: "Tallinn".into(),
                country_code: "EE".into(),
                short_ref: "BALTICBIO".into(),
                internal_reference: "BB-2024".into(),
            }
        );
        assert_eq!(
            customer.to_json(),
            json!({
                "reference": "XSP772301",
                "companyName": "Baltic Bioinformatics OÜ",
                "email": "maris@balticbio.example.ee",
                "city": "Tallinn",
                "countryCode": "EE"
            })
        );
    }

    #[test]
    fn a_customer_prefers_email_contact_and_falls_back_to_camel_case() {
        let customer = ArrowCustomer::from_value(&json!({
            "reference": "XSP1",
            "companyName": "Camel Oy",
            "EmailContact": "it@camel.example.com",
            "Contact": {"Email": "person@camel.example.com"},
            "countryCode": "FI"
        }));
        assert_eq!(customer.reference, "XSP1");
        assert_eq!(customer.company_name, "Camel Oy");
        assert_eq!(customer.email, "it@camel.example.com");
        assert_eq!(customer.country_code, "FI");
        assert_eq!(customer.city, "");

        let bare = ArrowCustomer::from_value(&json!({"Reference": "XSP2", "Contact": null}));
        assert_eq!(bare.email, "");
        assert_eq!(
            ArrowCustomer::from_value(&json!("junk")),
            ArrowCustomer::default()
        );
    }

    #[test]
    fn a_license_keeps_its_raw_object() {
        let raw = json!({
            "license_id": "XSP12345",
            "customer_ref": "XSP661245",
            "service_ref": "MS-AZR-0145P",
            "name": "Microsoft Azure Plan",
            "sku": "DZH318Z0BPS6:0001",
            "friendlyName": "Nordic Labs Azure Research",
            "seats": 1
        });
        let license = ArrowLicense::from_value(&raw);
        assert_eq!(license.license_id, "XSP12345");
        assert_eq!(license.customer_ref, "XSP661245");
        assert_eq!(license.service_ref, "MS-AZR-0145P");
        assert_eq!(license.friendly_name, "Nordic Labs Azure Research");
        assert_eq!(license.raw, raw);
    }

    #[test]
    fn monthly_consumption_sums_the_sell_and_buy_columns() {
        let data = json!({
            "headers": ["Report Period", "UOM", "Total buy price", "Total sell price"],
            "lines": [
                ["2025-01", "1 Hour", 690.54, "812.40"],
                ["2025-01", "1/Month", "38.34", "45.10"],
                ["2025-01", "1/Month", null, ""]
            ]
        });
        assert_eq!(
            Consumption::from_monthly(&data),
            Consumption {
                sell: d("857.50"),
                buy: d("728.88"),
                lines: 3
            }
        );
        assert_eq!(
            Consumption::from_monthly(&json!({"headers": [], "lines": []})),
            Consumption::default()
        );
    }

    #[test]
    fn a_prediction_sums_what_was_consumed() {
        let data = json!({"values": [
            {"consumed": {"sell": 428.75, "buy": "364.44"}, "estimatedMax": {"sell": 900}},
            {"consumed": {"sell": "1.25"}}
        ]});
        assert_eq!(
            Consumption::from_prediction(&data),
            Consumption {
                sell: d("430.00"),
                buy: d("364.44"),
                lines: 2
            }
        );
    }

    #[test]
    fn an_export_page_pairs_headers_with_cells() {
        let page = ExportPage::from_body(&json!({
            "data": {"headers": ["Sequence", "Qty", "Customer Total Price"],
                     "values": [["S1", "1", "871.25"], ["S2"]]},
            "pagination": {"perPage": 2, "currentPage": 1}
        }));
        assert_eq!(page.per_page, 2);
        let lines = page.lines();
        assert_eq!(lines[0].get("Customer Total Price"), Some(&json!("871.25")));
        assert_eq!(lines[1].get("Sequence"), Some(&json!("S2")));
        assert_eq!(lines[1].get("Qty"), None);
        assert_eq!(ExportPage::from_body(&json!({})).per_page, EXPORT_PER_PAGE);
    }

    #[test]
    fn the_page_count_is_total_page_else_total_pages() {
        assert_eq!(
            total_pages(&json!({"pagination": {"total_page": 3, "totalPages": 9}})),
            Some(3)
        );
        assert_eq!(
            total_pages(&json!({"pagination": {"totalPages": "4"}})),
            Some(4)
        );
        assert_eq!(total_pages(&json!({"data": {}})), None);
    }
}
