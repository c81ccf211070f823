//! What a [`super::FakeArrow`] serves when it starts: the partner, five customers (one
//! without licenses, one known only by its contact's e-mail), eight licenses, monthly
//! consumption for the previous and the current UTC month (cells mixing JSON numbers and
//! numeric strings), predictions, two export types (one compatible, one not) and export
//! lines for some companies. Amounts are written as text so that tests can compare them
//! as decimals.

use chrono::{Datelike, Months, NaiveDate, Utc};
use serde_json::{Value, json};

use Cell::{Null, Number, Text};

/// The partner `whoami` describes.
pub const PARTNER_REFERENCE: &str = "XSP10001";
pub const PARTNER_NAME: &str = "Waldur Test Partner Oy";

pub struct CustomerFixture {
    pub reference: &'static str,
    pub company_name: &'static str,
    /// `EmailContact`; "" when the customer has none and its contact's e-mail is read.
    pub email_contact: &'static str,
    pub contact_email: &'static str,
    pub city: &'static str,
    pub country_code: &'static str,
    /// `Ref`.
    pub short_ref: &'static str,
    pub internal_reference: &'static str,
}

impl CustomerFixture {
    /// The e-mail the ledger reads: `EmailContact`, else `Contact.Email`.
    pub fn email(&self) -> &'static str {
        if self.email_contact.is_empty() {
            self.contact_email
        } else {
            self.email_contact
        }
    }

    /// The customer as `customers` lists it (PascalCase; no `EmailContact` when empty).
    pub fn to_value(&self) -> Value {
        let mut value = json!({
            "Reference": self.reference,
            "CompanyName": self.company_name,
            "AddressLine1": "Innovation Street 1",
            "Zip": "02150",
            "City": self.city,
            "CountryCode": self.country_code,
            "Ref": self.short_ref,
            "InternalReference": self.internal_reference,
            "Contact": {
                "FirstName": "Alex",
                "LastName": "Example",
                "Email": self.contact_email,
                "Phone": "+358 40 000 0000"
            }
        });
        if !self.email_contact.is_empty() {
            value["EmailContact"] = json!(self.email_contact);
        }
        value
    }
}

pub const NORDIC: CustomerFixture = CustomerFixture {
    reference: "XSP661245",
    company_name: "Nordic Research Labs Oy",
    email_contact: "it@nordiclabs.example.com",
    contact_email: "aino.virtanen@nordiclabs.example.com",
    city: "Espoo",
    country_code: "FI",
    short_ref: "NORDICLABS",
    internal_reference: "NRL-001",
};

/// Has no `EmailContact`: its e-mail is its contact's.
pub const BALTIC: CustomerFixture = CustomerFixture {
    reference: "XSP772301",
    company_name: "Baltic Bioinformatics OÜ",
    email_contact: "",
    contact_email: "maris.tamm@balticbio.example.ee",
    city: "Tallinn",
    country_code: "EE",
    short_ref: "BALTICBIO",
    internal_reference: "BB-2024",
};

pub const QUANTUM: CustomerFixture = CustomerFixture {
    reference: "XSP883412",
    company_name: "Helsinki Quantum Computing Ltd",
    email_contact: "ops@hqc.example.fi",
    contact_email: "ville.korhonen@hqc.example.fi",
    city: "Helsinki",
    country_code: "FI",
    short_ref: "HQC",
    internal_reference: "",
};

/// Has no licenses.
pub const TARTU: CustomerFixture = CustomerFixture {
    reference: "XSP994523",
    company_name: "Tartu Data Observatory",
    email_contact: "admin@tartudata.example.ee",
    contact_email: "kadri.kask@tartudata.example.ee",
    city: "Tartu",
    country_code: "EE",
    short_ref: "TARTUDATA",
    internal_reference: "TDO-7",
};

pub const UPPSALA: CustomerFixture = CustomerFixture {
    reference: "XSP105634",
    company_name: "Uppsala Climate Modelling AB",
    email_contact: "",
    contact_email: "erik.lind@uppsalaclimate.example.se",
    city: "Uppsala",
    country_code: "SE",
    short_ref: "UPPCLIM",
    internal_reference: "UCM-42",
};

/// In the order `customers` lists them.
pub const CUSTOMERS: &[CustomerFixture] = &[NORDIC, BALTIC, QUANTUM, TARTU, UPPSALA];

pub struct LicenseFixture {
    pub license_id: &'static str,
    pub customer_ref: &'static str,
    pub service_ref: &'static str,
    pub name: &'static str,
    pub sku: &'static str,
    pub friendly_name: &'static str,
    pub classification: &'static str,
}

impl LicenseFixture {
    /// The license as `licenses` lists it.
    pub fn to_value(&self) -> Value {
        json!({
            "license_id": self.license_id,
            "customer_ref": self.customer_ref,
            "service_ref": self.service_ref,
            "name": self.name,
            "sku": self.sku,
            "friendlyName": self.friendly_name,
            "state": "active",
            "classification": self.classification,
            "seats": 1,
            "vendor_license_id": format!("vendor-{}", self.license_id.to_lowercase()),
            "price": {"unit": {"buy": 0, "sell": 0}, "currency": "EUR"}
        })
    }
}

const fn azure(
    license_id: &'static str,
    customer: &CustomerFixture,
    friendly_name: &'static str,
) -> LicenseFixture {
    LicenseFixture {
        license_id,
        customer_ref: customer.reference,
        service_ref: "MS-AZR-0145P",
        name: "Microsoft Azure Plan",
        sku: "DZH318Z0BPS6:0001",
        friendly_name,
        classification: "IaaS",
    }
}

pub const NORDIC_AZURE: LicenseFixture = azure("XSP12345", &NORDIC, "Nordic Labs Azure Research");
pub const NORDIC_M365: LicenseFixture = LicenseFixture {
    license_id: "XSP12346",
    customer_ref: NORDIC.reference,
    service_ref: "MS-0B-O365-ENTERPRIS",
    name: "Microsoft 365 E3",
    sku: "CFQ7TTC0LFLZ:0002",
    friendly_name: "Nordic Labs Office",
    classification: "SaaS",
};
pub const BALTIC_AZURE: LicenseFixture = azure("XSP22001", &BALTIC, "Baltic Bio Genome Pipeline");
/// Has no consumption.
pub const BALTIC_BACKUP: LicenseFixture = LicenseFixture {
    license_id: "XSP22002",
    customer_ref: BALTIC.reference,
    service_ref: "ACRONIS-CPC",
    name: "Acronis Cyber Protect Cloud",
    sku: "ACR-CPC-100GB",
    friendly_name: "Baltic Bio Backups",
    classification: "SaaS",
};
pub const QUANTUM_AZURE: LicenseFixture = azure("XSP33001", &QUANTUM, "HQC Simulation Cluster");
/// Has no consumption.
pub const QUANTUM_GPU: LicenseFixture = LicenseFixture {
    license_id: "XSP33002",
    customer_ref: QUANTUM.reference,
    service_ref: "AWS-MP-001",
    name: "AWS Marketplace",
    sku: "AWS-EC2-G5",
    friendly_name: "HQC GPU Nodes",
    classification: "IaaS",
};
pub const UPPSALA_AZURE: LicenseFixture = azure("XSP55001", &UPPSALA, "Uppsala Climate Runs");
/// Has no consumption.
pub const UPPSALA_M365: LicenseFixture = LicenseFixture {
    license_id: "XSP55002",
    customer_ref: UPPSALA.reference,
    service_ref: "MS-0B-O365-BUSINESS",
    name: "Microsoft 365 Business Premium",
    sku: "CFQ7TTC0LCHC:0002",
    friendly_name: "Uppsala Office",
    classification: "SaaS",
};

/// In the order `licenses` lists them.
pub const LICENSES: &[LicenseFixture] = &[
    NORDIC_AZURE,
    NORDIC_M365,
    BALTIC_AZURE,
    BALTIC_BACKUP,
    QUANTUM_AZURE,
    QUANTUM_GPU,
    UPPSALA_AZURE,
    UPPSALA_M365,
];

/// A month relative to now (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Month {
    Previous,
    Current,
}

/// The month as `YYYY-MM`.
pub fn period(month: Month) -> String {
    let first = first_of_this_month();
    let date = match month {
        Month::Current => first,
        Month::Previous => first - Months::new(1),
    };
    date.format("%Y-%m").to_string()
}

fn first_of_this_month() -> NaiveDate {
    let today = Utc::now().date_naive();
    NaiveDate::from_ymd_opt(today.year(), today.month(), 1).expect("the first of a month")
}

/// A cell as Arrow may send it.
#[derive(Debug, Clone, Copy)]
pub enum Cell {
    /// A JSON number, written as its text.
    Number(&'static str),
    /// A string.
    Text(&'static str),
    Null,
}

impl Cell {
    pub fn to_value(self) -> Value {
        match self {
            Cell::Number(text) => serde_json::from_str(text).expect("a number"),
            Cell::Text(text) => json!(text),
            Cell::Null => Value::Null,
        }
    }
}

/// The headers of a monthly consumption report, in the order of its cells.
pub const CONSUMPTION_HEADERS: &[&str] = &[
    "Report Period",
    "Vendor Billing Start Date",
    "Vendor Billing End Date",
    "Vendor Product Name",
    "Vendor Meter Category",
    "UOM",
    "Level Chargeable Quantity",
    "Country currency code",
    "Total buy price",
    "Total sell price",
];

pub struct LineFixture {
    pub product: &'static str,
    pub category: &'static str,
    pub uom: &'static str,
    pub quantity: Cell,
    pub buy: Cell,
    pub sell: Cell,
}

impl LineFixture {
    /// The line's cells in [`CONSUMPTION_HEADERS`] order for `period` (`YYYY-MM`).
    pub fn row(&self, period: &str) -> Vec<Value> {
        vec![
            json!(period),
            json!(format!("{period}-01")),
            json!(format!("{period}-28")),
            json!(self.product),
            json!(self.category),
            json!(self.uom),
            self.quantity.to_value(),
            json!("EUR"),
            self.buy.to_value(),
            self.sell.to_value(),
        ]
    }
}

/// A license's monthly report and the totals it sums to.
pub struct ConsumptionFixture {
    pub license: &'static str,
    pub month: Month,
    pub lines: &'static [LineFixture],
    pub sell: &'static str,
    pub buy: &'static str,
}

const fn line(
    product: &'static str,
    category: &'static str,
    uom: &'static str,
    quantity: Cell,
    buy: Cell,
    sell: Cell,
) -> LineFixture {
    LineFixture {
        product,
        category,
        uom,
        quantity,
        buy,
        sell,
    }
}

#[rustfmt::skip]
pub const CONSUMPTION: &[ConsumptionFixture] = &[
    ConsumptionFixture {
        license: NORDIC_AZURE.license_id,
        month: Month::Current,
        lines: &[
            line("Virtual Machines Dsv5 Series", "Virtual Machines", "1 Hour",
                 Number("744"), Number("690.54"), Text("812.40")),
            line("Storage - Premium SSD", "Storage", "1/Month",
                 Number("4"), Number("38.34"), Text("45.10")),
        ],
        sell: "857.50",
        buy: "728.88",
    },
    ConsumptionFixture {
        license: NORDIC_AZURE.license_id,
        month: Month::Previous,
        lines: &[
            line("Virtual Machines Dsv5 Series", "Virtual Machines", "1 Hour",
                 Number("672"), Text("623.70"), Number("733.76")),
            line("Storage - Premium SSD", "Storage", "1/Month",
                 Number("4"), Text("38.34"), Text("45.10")),
        ],
        sell: "778.86",
        buy: "662.04",
    },
    ConsumptionFixture {
        license: NORDIC_M365.license_id,
        month: Month::Current,
        lines: &[line("Microsoft 365 E3", "Licenses", "1 User/Month",
                      Text("25"), Number("750"), Text("900.00"))],
        sell: "900.00",
        buy: "750",
    },
    ConsumptionFixture {
        license: NORDIC_M365.license_id,
        month: Month::Previous,
        lines: &[line("Microsoft 365 E3", "Licenses", "1 User/Month",
                      Text("25"), Number("750"), Text("900.00"))],
        sell: "900.00",
        buy: "750",
    },
    ConsumptionFixture {
        license: BALTIC_AZURE.license_id,
        month: Month::Current,
        lines: &[
            line("Azure Kubernetes Service", "Containers", "1 Hour",
                 Number("1488"), Number("1204.16"), Text("1416.66")),
            line("Bandwidth - Data Transfer Out", "Networking", "1 GB",
                 Number("310.5"), Text("24.84"), Number("29.22")),
        ],
        sell: "1445.88",
        buy: "1229.00",
    },
    ConsumptionFixture {
        license: BALTIC_AZURE.license_id,
        month: Month::Previous,
        lines: &[line("Azure Kubernetes Service", "Containers", "1 Hour",
                      Number("1440"), Text("1165.32"), Text("1370.96"))],
        sell: "1370.96",
        buy: "1165.32",
    },
    ConsumptionFixture {
        license: QUANTUM_AZURE.license_id,
        month: Month::Current,
        lines: &[line("Virtual Machines NCasT4 v3 Series", "Virtual Machines", "1 Hour",
                      Number("300"), Number("378.90"), Number("445.76"))],
        sell: "445.76",
        buy: "378.90",
    },
    ConsumptionFixture {
        license: QUANTUM_AZURE.license_id,
        month: Month::Previous,
        lines: &[line("Virtual Machines NCasT4 v3 Series", "Virtual Machines", "1 Hour",
                      Number("420"), Text("530.46"), Number("624.07"))],
        sell: "624.07",
        buy: "530.46",
    },
    ConsumptionFixture {
        license: UPPSALA_AZURE.license_id,
        month: Month::Current,
        lines: &[
            line("Azure Blob Storage - Hot LRS", "Storage", "1 GB/Month",
                 Number("20480"), Number("368.64"), Text("433.69")),
            // a line with no price: "" and null count as 0
            line("Reservation adjustment", "Reservations", "1/Month",
                 Number("1"), Null, Text("")),
        ],
        sell: "433.69",
        buy: "368.64",
    },
    ConsumptionFixture {
        license: UPPSALA_AZURE.license_id,
        month: Month::Previous,
        lines: &[line("Azure Blob Storage - Hot LRS", "Storage", "1 GB/Month",
                      Number("19000"), Number("342.00"), Text("402.35"))],
        sell: "402.35",
        buy: "342.00",
    },
];

/// The monthly report of a license for a month, if it has one.
pub fn consumption(license: &str, month: Month) -> Option<&'static ConsumptionFixture> {
    CONSUMPTION
        .iter()
        .find(|c| c.license == license && c.month == month)
}

/// What A.7 says a license consumed so far this month.
pub struct PredictionFixture {
    pub license: &'static str,
    pub sell: Cell,
    pub buy: Cell,
}

#[rustfmt::skip]
pub const PREDICTIONS: &[PredictionFixture] = &[
    PredictionFixture { license: NORDIC_AZURE.license_id, sell: Number("428.75"), buy: Number("364.44") },
    PredictionFixture { license: BALTIC_AZURE.license_id, sell: Text("702.10"), buy: Number("596.79") },
    PredictionFixture { license: QUANTUM_AZURE.license_id, sell: Number("221.40"), buy: Text("188.19") },
    PredictionFixture { license: UPPSALA_AZURE.license_id, sell: Text("210.00"), buy: Text("178.50") },
];

/// An export type with the headers its lines have.
pub struct ExportTypeFixture {
    pub reference: &'static str,
    pub name: &'static str,
    pub headers: &'static [&'static str],
}

/// Has every required column and most important ones: compatible and recommended.
#[rustfmt::skip]
pub const MSP_EXTENDED: ExportTypeFixture = ExportTypeFixture {
    reference: "E1-2-b2f08942207fbd6838ba332a98387c69",
    name: "MSP (Extended)",
    headers: &[
        "Sequence", "Report Period", "Classification", "Vendor Name", "Vendor Subscription ID",
        "ARS Subscription ID", "End User Company Name", "End User Company ID",
        "End User Country Code", "Arrow SKU", "Vendor SKU", "Offer Name", "Friendly Name",
        "Service Name", "Billing Cycle", "Qty", "Customer Unit Price", "Customer Total Price",
        "Total Wholesale Price", "Bill From", "Bill To", "Order Id", "Description",
    ],
};

/// Lacks required columns (`Classification`, `Vendor Subscription ID`, …): not compatible.
#[rustfmt::skip]
pub const BASIC_EXPORT: ExportTypeFixture = ExportTypeFixture {
    reference: "E1-1-5c1a0d2e9b7f4a3c8d6e2f1a0b9c8d7e",
    name: "Basic",
    headers: &["Sequence", "Report Period", "Vendor Name", "Offer Name", "Qty", "Customer Total Price"],
};

pub const EXPORT_TYPES: &[ExportTypeFixture] = &[MSP_EXTENDED, BASIC_EXPORT];

/// One billing export line (its cells by header are built by [`ExportLineFixture::cells`]).
pub struct ExportLineFixture {
    pub month: Month,
    pub customer: &'static CustomerFixture,
    pub license: &'static LicenseFixture,
    pub classification: &'static str,
    pub vendor: &'static str,
    pub vendor_subscription_id: &'static str,
    pub quantity: &'static str,
    pub sell: Cell,
    pub buy: Cell,
}

impl ExportLineFixture {
    /// Header → cell for every header either export type has; `sequence` numbers the line
    /// within its month.
    pub fn cells(&self, sequence: usize) -> Vec<(&'static str, Value)> {
        let period = period(self.month);
        vec![
            (
                "Sequence",
                json!(format!("MIM{}-{sequence:04}", period.replace('-', ""))),
            ),
            ("Report Period", json!(period)),
            ("Classification", json!(self.classification)),
            ("Vendor Name", json!(self.vendor)),
            ("Vendor Subscription ID", json!(self.vendor_subscription_id)),
            ("ARS Subscription ID", json!(self.license.license_id)),
            ("End User Company Name", json!(self.customer.company_name)),
            ("End User Company ID", json!(self.customer.reference)),
            ("End User Country Code", json!(self.customer.country_code)),
            ("Arrow SKU", json!(self.license.sku)),
            ("Vendor SKU", json!(self.license.sku)),
            ("Offer Name", json!(self.license.name)),
            ("Friendly Name", json!(self.license.friendly_name)),
            ("Service Name", json!(self.license.service_ref)),
            ("Billing Cycle", json!("Monthly")),
            ("Qty", json!(self.quantity)),
            ("Customer Unit Price", Value::Null),
            ("Customer Total Price", self.sell.to_value()),
            ("Total Wholesale Price", self.buy.to_value()),
            ("Bill From", json!(format!("{period}-01"))),
            ("Bill To", json!(format!("{period}-28"))),
            (
                "Order Id",
                json!(format!("ORD-{}", self.license.license_id)),
            ),
            ("Description", json!(self.license.name)),
        ]
    }
}

/// The lines of both export types: five this month (Nordic ×2, Baltic ×2, Uppsala), two
/// last month; Helsinki Quantum and Tartu have none.
#[rustfmt::skip]
pub const EXPORT_LINES: &[ExportLineFixture] = &[
    ExportLineFixture { month: Month::Current, customer: &NORDIC, license: &NORDIC_AZURE,
        classification: "IAAS", vendor: "Microsoft",
        vendor_subscription_id: "3f1c2b9e-7d4a-4e8b-9c1f-2a6b5d8e0f13", quantity: "1",
        sell: Text("871.25"), buy: Text("740.57") },
    ExportLineFixture { month: Month::Current, customer: &NORDIC, license: &NORDIC_M365,
        classification: "SAAS", vendor: "Microsoft",
        vendor_subscription_id: "8a2d4c6e-1b3f-4a5c-9e7d-0f2b4d6a8c1e", quantity: "25",
        sell: Text("900.00"), buy: Text("750.00") },
    ExportLineFixture { month: Month::Current, customer: &BALTIC, license: &BALTIC_AZURE,
        classification: "IAAS", vendor: "Microsoft",
        vendor_subscription_id: "c4e6a8b0-2d4f-4b6a-8c0e-1a3c5e7b9d2f", quantity: "1",
        sell: Text("1445.88"), buy: Number("1229.00") },
    ExportLineFixture { month: Month::Current, customer: &BALTIC, license: &BALTIC_BACKUP,
        classification: "SAAS", vendor: "Acronis",
        vendor_subscription_id: "acr-5521-0098", quantity: "100",
        sell: Text("120.00"), buy: Text("96.00") },
    ExportLineFixture { month: Month::Current, customer: &UPPSALA, license: &UPPSALA_AZURE,
        classification: "IAAS", vendor: "Microsoft",
        vendor_subscription_id: "e1f3a5c7-9b2d-4f6a-8e0c-3b5d7f9a1c4e", quantity: "1",
        sell: Text("433.69"), buy: Text("368.64") },
    ExportLineFixture { month: Month::Previous, customer: &NORDIC, license: &NORDIC_AZURE,
        classification: "IAAS", vendor: "Microsoft",
        vendor_subscription_id: "3f1c2b9e-7d4a-4e8b-9c1f-2a6b5d8e0f13", quantity: "1",
        sell: Text("778.86"), buy: Text("662.04") },
    ExportLineFixture { month: Month::Previous, customer: &BALTIC, license: &BALTIC_AZURE,
        classification: "IAAS", vendor: "Microsoft",
        vendor_subscription_id: "c4e6a8b0-2d4f-4b6a-8c0e-1a3c5e7b9d2f", quantity: "1",
        sell: Text("1370.96"), buy: Text("1165.32") },
];
