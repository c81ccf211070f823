//! The ArrowSphere client against the fake Arrow: headers, paging, exact amounts, and
//! every kind of failure in Waldur's words, without the key and without hanging.

use std::str::FromStr;
use std::time::{Duration, Instant};

use ledger::clients::arrow::{
    ArrowClient, ArrowError, ArrowOptions, BUY_HEADER, SELL_HEADER, decimal_cell, export_type_list,
};
use rust_decimal::Decimal;
use serde_json::json;

use crate::fake_arrow::FakeArrow;
use crate::fake_arrow::fixtures::{
    self, BALTIC, BALTIC_AZURE, BASIC_EXPORT, CUSTOMERS, LICENSES, MSP_EXTENDED, Month, NORDIC,
    NORDIC_AZURE, period,
};

fn open() -> ArrowOptions {
    ArrowOptions {
        allow_internal: true,
        ..ArrowOptions::default()
    }
}

fn client(fake: &FakeArrow) -> ArrowClient {
    ArrowClient::new(&fake.url(), &fake.key(), &open()).unwrap()
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

#[tokio::test]
async fn the_api_key_and_json_headers_are_sent_under_the_base_path() {
    let fake = FakeArrow::start().await;

    let body = client(&fake).whoami().await.unwrap();

    assert_eq!(body["status"], 200);
    assert_eq!(body["data"]["reference"], fixtures::PARTNER_REFERENCE);
    assert_eq!(body["data"]["companyName"], fixtures::PARTNER_NAME);
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.endpoint, "whoami");
    assert_eq!(request.header("apiKey"), Some(fake.key().as_str()));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn a_base_without_its_trailing_slash_reaches_the_same_endpoints() {
    let fake = FakeArrow::start().await;
    let base = fake.url().trim_end_matches('/').to_string();
    let client = ArrowClient::new(&base, &fake.key(), &open()).unwrap();

    client.whoami().await.unwrap();

    assert_eq!(fake.requests()[0].endpoint, "whoami");
}

#[tokio::test]
async fn whoami_passes_on_a_status_other_than_200() {
    let fake = FakeArrow::start().await;
    fake.whoami_status(403);

    let body = client(&fake).whoami().await.unwrap();

    assert_eq!(body["status"], 403);
}

#[tokio::test]
async fn a_wrong_key_is_an_http_401_error_with_arrows_body() {
    let fake = FakeArrow::start().await;
    let client = ArrowClient::new(&fake.url(), "wrong-key", &open()).unwrap();

    let err = client.whoami().await.unwrap_err();

    assert_eq!(err.status(), Some(401));
    assert_eq!(
        err.to_string(),
        r#"Arrow API whoami returned HTTP 401: {"status":401,"error":"Unauthorized","messages":"Invalid or missing API key"}"#
    );
}

#[tokio::test]
async fn customers_are_read_from_every_page_until_total_page() {
    let fake = FakeArrow::start().await;

    let customers = client(&fake).customers().await.unwrap();

    let references: Vec<&str> = customers.iter().map(|c| c.reference.as_str()).collect();
    let expected: Vec<&str> = CUSTOMERS.iter().map(|c| c.reference).collect();
    assert_eq!(references, expected);
    let asked = fake.requests_to("customers");
    let pages: Vec<&str> = asked.iter().filter_map(|r| r.param("page")).collect();
    assert_eq!(pages, ["1", "2", "3"]);
    assert!(asked.iter().all(|r| r.param("per_page") == Some("100")));
    let baltic = customers
        .iter()
        .find(|c| c.reference == BALTIC.reference)
        .unwrap();
    assert_eq!(baltic.email, BALTIC.contact_email);
    assert_eq!(baltic.short_ref, BALTIC.short_ref);
    assert_eq!(baltic.internal_reference, BALTIC.internal_reference);
    let nordic = customers
        .iter()
        .find(|c| c.reference == NORDIC.reference)
        .unwrap();
    assert_eq!(nordic.email, NORDIC.email_contact);
    assert_eq!(nordic.company_name, NORDIC.company_name);
}

#[tokio::test]
async fn a_page_count_given_as_total_pages_is_followed_too() {
    let fake = FakeArrow::start().await;
    fake.camel_pagination(true);

    let customers = client(&fake).customers().await.unwrap();

    assert_eq!(customers.len(), CUSTOMERS.len());
    assert_eq!(fake.requests_to("customers").len(), 3);
}

#[tokio::test]
async fn an_empty_first_page_is_an_empty_list() {
    let fake = FakeArrow::start().await;
    for customer in CUSTOMERS {
        fake.remove_customer(customer.reference);
    }

    let customers = client(&fake).customers().await.unwrap();

    assert!(customers.is_empty());
    assert_eq!(fake.requests_to("customers").len(), 1);
}

#[tokio::test]
async fn one_customer_is_read_and_an_unknown_one_is_none() {
    let fake = FakeArrow::start().await;
    let client = client(&fake);

    let baltic = client.customer(BALTIC.reference).await.unwrap().unwrap();
    let unknown = client.customer("XSP000000").await.unwrap();

    assert_eq!(baltic.company_name, BALTIC.company_name);
    assert_eq!(baltic.email, BALTIC.email());
    assert_eq!(unknown, None);
    assert_eq!(
        fake.requests()[0].endpoint,
        format!("customers/{}", BALTIC.reference)
    );
}

#[tokio::test]
async fn licenses_are_read_from_every_page() {
    let fake = FakeArrow::start().await;

    let licenses = client(&fake).licenses().await.unwrap();

    let ids: Vec<&str> = licenses.iter().map(|l| l.license_id.as_str()).collect();
    let expected: Vec<&str> = LICENSES.iter().map(|l| l.license_id).collect();
    assert_eq!(ids, expected);
    let pages: Vec<String> = fake
        .requests_to("licenses")
        .iter()
        .filter_map(|r| r.param("page").map(str::to_string))
        .collect();
    assert_eq!(pages, ["1", "2", "3", "4"]);
    let azure = &licenses[0];
    assert_eq!(azure.customer_ref, NORDIC.reference);
    assert_eq!(azure.service_ref, NORDIC_AZURE.service_ref);
    assert_eq!(azure.name, NORDIC_AZURE.name);
    assert_eq!(azure.sku, NORDIC_AZURE.sku);
    assert_eq!(azure.friendly_name, NORDIC_AZURE.friendly_name);
    assert_eq!(azure.raw["state"], "active");
}

#[tokio::test]
async fn licenses_are_read_from_fifty_pages_at_most() {
    let fake = FakeArrow::start().await;
    for n in 0..60 {
        fake.put_license(json!({"license_id": format!("XSP9{n:04}"), "customer_ref": "XSP1"}));
    }
    fake.per_page(1);

    let licenses = client(&fake).licenses().await.unwrap();

    assert_eq!(licenses.len(), 50);
    assert_eq!(fake.requests_to("licenses").len(), 50);
}

#[tokio::test]
async fn customers_and_licenses_changed_at_runtime_are_served() {
    let fake = FakeArrow::start().await;
    let client = client(&fake);
    let mut renamed = NORDIC.to_value();
    renamed["CompanyName"] = json!("Nordic Research Labs Abp");
    fake.put_customer(renamed);
    fake.put_customer(json!({
        "reference": "XSP200001",
        "companyName": "Camel Case Oy",
        "emailContact": "camel@example.com"
    }));
    fake.remove_license(NORDIC_AZURE.license_id);
    client.whoami().await.unwrap();
    fake.clear_requests();

    let customers = client.customers().await.unwrap();
    let licenses = client.licenses().await.unwrap();

    assert_eq!(customers.len(), CUSTOMERS.len() + 1);
    assert_eq!(customers[0].company_name, "Nordic Research Labs Abp");
    let camel = customers.last().unwrap();
    assert_eq!(camel.company_name, "Camel Case Oy");
    assert_eq!(camel.email, "camel@example.com");
    assert_eq!(licenses.len(), LICENSES.len() - 1);
    assert!(
        licenses
            .iter()
            .all(|l| l.license_id != NORDIC_AZURE.license_id)
    );
    assert!(fake.requests_to("whoami").is_empty());
}

#[tokio::test]
async fn a_license_is_read_whole_and_an_unknown_one_is_a_404() {
    let fake = FakeArrow::start().await;
    let client = client(&fake);

    let license = client.license(NORDIC_AZURE.license_id).await.unwrap();
    let err = client.license("XSP000").await.unwrap_err();

    assert_eq!(license["friendlyName"], NORDIC_AZURE.friendly_name);
    assert_eq!(err.status(), Some(404));
    assert!(
        err.to_string()
            .starts_with("Arrow API licenses/XSP000 returned HTTP 404: {"),
        "{err}"
    );
}

#[tokio::test]
async fn monthly_amounts_are_summed_as_exact_decimals() {
    let fake = FakeArrow::start().await;
    let current = period(Month::Current);

    let consumption = client(&fake)
        .monthly_consumption(NORDIC_AZURE.license_id, &current)
        .await
        .unwrap();

    // "812.40" + "45.10" as strings; 690.54 + 38.34 as JSON numbers
    assert_eq!(consumption.sell, d("857.50"));
    assert_eq!(consumption.buy, d("728.88"));
    let fixture = fixtures::consumption(NORDIC_AZURE.license_id, Month::Current).unwrap();
    assert_eq!((fixture.sell, fixture.buy), ("857.50", "728.88"));
    assert_eq!(consumption.lines, 2);
    let request = &fake.requests()[0];
    assert_eq!(
        request.endpoint,
        format!("consumption/monthly/license/{}", NORDIC_AZURE.license_id)
    );
    assert_eq!(request.param("reportPeriodStart"), Some(current.as_str()));
    assert_eq!(request.param("reportPeriodEnd"), Some(current.as_str()));
}

#[tokio::test]
async fn every_consumption_fixture_sums_to_its_totals() {
    let fake = FakeArrow::start().await;
    let client = client(&fake);

    for report in fixtures::CONSUMPTION {
        let consumption = client
            .monthly_consumption(report.license, &period(report.month))
            .await
            .unwrap();

        assert_eq!(consumption.sell, d(report.sell), "{}", report.license);
        assert_eq!(consumption.buy, d(report.buy), "{}", report.license);
        assert_eq!(consumption.lines, report.lines.len());
    }
}

#[tokio::test]
async fn a_month_without_data_consumed_nothing() {
    let fake = FakeArrow::start().await;

    let consumption = client(&fake)
        .monthly_consumption(NORDIC_AZURE.license_id, "2019-01")
        .await
        .unwrap();

    assert_eq!(consumption.sell, Decimal::ZERO);
    assert_eq!(consumption.buy, Decimal::ZERO);
    assert_eq!(consumption.lines, 0);
}

#[tokio::test]
async fn a_license_whose_monthly_report_fails_still_has_a_prediction() {
    let fake = FakeArrow::start().await;
    fake.fail_consumption(BALTIC_AZURE.license_id, Some(404));
    let client = client(&fake);

    let err = client
        .monthly_consumption(BALTIC_AZURE.license_id, &period(Month::Current))
        .await
        .unwrap_err();
    let predicted = client.prediction(BALTIC_AZURE.license_id).await.unwrap();

    assert!(
        err.to_string()
            .starts_with("Arrow API consumption/monthly/license/XSP22001 returned HTTP 404: {"),
        "{err}"
    );
    assert_eq!(predicted.sell, d("702.10"));
    assert_eq!(predicted.buy, d("596.79"));
    assert_eq!(predicted.lines, 1);
    let asked = fake.requests_to("consumption/license/XSP22001/prediction");
    assert_eq!(asked[0].param("granularity"), Some("monthly"));
}

#[tokio::test]
async fn a_prediction_set_at_runtime_or_failing_is_served() {
    let fake = FakeArrow::start().await;
    let client = client(&fake);
    fake.set_prediction(
        NORDIC_AZURE.license_id,
        &[(json!("1.10"), json!(1)), (json!(2.25), json!(""))],
    );

    let predicted = client.prediction(NORDIC_AZURE.license_id).await.unwrap();
    fake.fail_prediction(NORDIC_AZURE.license_id, Some(503));
    let failed = client
        .prediction(NORDIC_AZURE.license_id)
        .await
        .unwrap_err();
    fake.fail_prediction(NORDIC_AZURE.license_id, None);

    assert_eq!(predicted.sell, d("3.35"));
    assert_eq!(predicted.buy, d("1"));
    assert_eq!(predicted.lines, 2);
    assert_eq!(failed.status(), Some(503));
    assert!(client.prediction(NORDIC_AZURE.license_id).await.is_ok());
}

#[tokio::test]
async fn consumption_set_at_runtime_is_served() {
    let fake = FakeArrow::start().await;
    fake.set_consumption(
        NORDIC_AZURE.license_id,
        "2024-11",
        &[(json!("0.10"), json!(0.07)), (json!(0.2), json!("null"))],
    );

    let consumption = client(&fake)
        .monthly_consumption(NORDIC_AZURE.license_id, "2024-11")
        .await
        .unwrap();

    assert_eq!(consumption.sell, d("0.30"));
    assert_eq!(consumption.buy, d("0.07"));
}

#[tokio::test]
async fn export_types_come_as_received_in_either_form() {
    let fake = FakeArrow::start().await;
    let client = client(&fake);
    let expected = vec![
        (
            MSP_EXTENDED.reference.to_string(),
            MSP_EXTENDED.name.to_string(),
        ),
        (
            BASIC_EXPORT.reference.to_string(),
            BASIC_EXPORT.name.to_string(),
        ),
    ];

    let map = client.export_types().await.unwrap();
    fake.export_types_as_list(true);
    let list = client.export_types().await.unwrap();

    assert!(map.is_object());
    assert!(list.is_array());
    assert_eq!(export_type_list(&map), expected);
    assert_eq!(export_type_list(&list), expected);
}

#[tokio::test]
async fn export_lines_are_read_across_pages() {
    let fake = FakeArrow::start().await;
    let current = period(Month::Current);

    let lines = client(&fake)
        .export_lines(MSP_EXTENDED.reference, &current, &current)
        .await
        .unwrap();

    assert_eq!(lines.len(), 5);
    let nordic: Decimal = lines
        .iter()
        .filter(|l| l.get("End User Company Name") == Some(&json!(NORDIC.company_name)))
        .map(|l| decimal_cell(&l["Customer Total Price"]))
        .sum();
    assert_eq!(nordic, d("1771.25"));
    let asked = fake.requests_to("billing/erp/exports/sync");
    let pages: Vec<u64> = asked
        .iter()
        .filter_map(|r| r.json()["page"].as_u64())
        .collect();
    assert_eq!(pages, [1, 2, 3]);
    assert_eq!(asked[0].method, "POST");
    assert_eq!(
        asked[0].json(),
        json!({
            "exportTypeReference": MSP_EXTENDED.reference,
            "filters": {"reportPeriod": {"from": current, "to": current}},
            "page": 1
        })
    );
}

#[tokio::test]
async fn export_lines_added_at_runtime_are_served() {
    let fake = FakeArrow::start().await;
    fake.clear_export_lines(MSP_EXTENDED.reference);
    fake.add_export_line(
        MSP_EXTENDED.reference,
        &[
            ("Report Period", json!("2025-01")),
            ("End User Company Name", json!(BALTIC.company_name)),
            ("Customer Total Price", json!("10.00")),
        ],
    );

    let client = client(&fake);
    let lines = client
        .export_lines(MSP_EXTENDED.reference, "2025-01", "2025-01")
        .await
        .unwrap();
    let current = period(Month::Current);
    let none = client
        .export_lines(MSP_EXTENDED.reference, &current, &current)
        .await
        .unwrap();

    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["End User Company Name"], BALTIC.company_name);
    assert_eq!(lines[0]["Classification"], "");
    assert_eq!(lines[0].len(), MSP_EXTENDED.headers.len());
    assert!(none.is_empty());
}

#[tokio::test]
async fn one_export_page_carries_its_headers_and_page_size() {
    let fake = FakeArrow::start().await;
    let current = period(Month::Current);

    let page = client(&fake)
        .export_page(BASIC_EXPORT.reference, &current, &current, 3)
        .await
        .unwrap();

    assert_eq!(page.headers, BASIC_EXPORT.headers);
    assert_eq!(page.per_page, 2);
    assert_eq!(page.values.len(), 1);
}

#[tokio::test]
async fn an_unknown_export_type_is_a_404() {
    let fake = FakeArrow::start().await;

    let err = client(&fake)
        .export_lines("E0-unknown", "2025-01", "2025-01")
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(404));
    assert!(
        err.to_string()
            .starts_with("Arrow API billing/erp/exports/sync returned HTTP 404"),
        "{err}"
    );
}

#[tokio::test]
async fn a_failing_arrow_is_an_http_error_quoting_its_body() {
    let fake = FakeArrow::start().await;
    fake.fail(true);

    let err = client(&fake).customers().await.unwrap_err();

    assert_eq!(
        err.to_string(),
        "Arrow API customers returned HTTP 500: \
         Internal Server Error: the ArrowSphere backend is unavailable"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_invalid_json() {
    let fake = FakeArrow::start().await;
    fake.non_json(true);

    let err = client(&fake).whoami().await.unwrap_err();

    assert!(matches!(err, ArrowError::InvalidJson { status: 200, .. }));
    assert!(
        err.to_string()
            .starts_with("Arrow API whoami returned invalid JSON (status 200): <!DOCTYPE html>"),
        "{err}"
    );
}

#[tokio::test]
async fn a_slow_arrow_times_out_instead_of_hanging() {
    let fake = FakeArrow::start().await;
    fake.slow(Duration::from_secs(20));
    let options = ArrowOptions {
        allow_internal: true,
        timeout: Duration::from_secs(1),
    };
    let client = ArrowClient::new(&fake.url(), &fake.key(), &options).unwrap();
    let started = Instant::now();

    let err = tokio::time::timeout(Duration::from_secs(10), client.customers())
        .await
        .expect("the client gives up by itself")
        .unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        err.to_string(),
        "Arrow API request to customers failed: timed out after 1 second"
    );
}

#[tokio::test]
async fn an_internal_address_is_refused_unless_allowed() {
    let fake = FakeArrow::start().await;
    let strict = ArrowOptions::default();
    let by_name = fake.url().replace("127.0.0.1", "localhost");

    let literal = ArrowClient::new(&fake.url(), &fake.key(), &strict)
        .unwrap()
        .whoami()
        .await
        .unwrap_err();
    let named = ArrowClient::new(&by_name, &fake.key(), &strict)
        .unwrap()
        .whoami()
        .await
        .unwrap_err();

    assert!(
        literal
            .to_string()
            .starts_with("Arrow API request to whoami failed: 127.0.0.1 is an internal address"),
        "{literal}"
    );
    assert!(
        named
            .to_string()
            .starts_with("Arrow API request to whoami failed: localhost resolves to"),
        "{named}"
    );
    assert!(fake.requests().is_empty());
    client(&fake).whoami().await.unwrap();
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn an_address_nobody_listens_on_is_a_failed_request() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = ArrowClient::new(&format!("http://{address}/api/"), "k", &open()).unwrap();

    let err = client.whoami().await.unwrap_err();

    assert!(matches!(err, ArrowError::Request { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("Arrow API request to whoami failed: "),
        "{err}"
    );
}

#[tokio::test]
async fn the_key_appears_in_no_error_and_no_debug_output() {
    let fake = FakeArrow::start().await;
    let key = fake.key();
    let client = client(&fake);
    let quick = ArrowClient::new(
        &fake.url(),
        &key,
        &ArrowOptions {
            allow_internal: true,
            timeout: Duration::from_millis(300),
        },
    )
    .unwrap();
    let strict = ArrowClient::new(&fake.url(), &key, &ArrowOptions::default()).unwrap();
    let mut errors = Vec::new();

    fake.fail(true);
    errors.push(client.whoami().await.unwrap_err());
    fake.fail(false);
    fake.non_json(true);
    errors.push(client.licenses().await.unwrap_err());
    fake.non_json(false);
    errors.push(strict.customers().await.unwrap_err());
    errors.push(client.license("XSP000").await.unwrap_err());
    fake.slow(Duration::from_secs(5));
    errors.push(quick.prediction(NORDIC_AZURE.license_id).await.unwrap_err());

    for err in &errors {
        assert!(!err.to_string().contains(&key), "{err}");
        assert!(!format!("{err:?}").contains(&key), "{err:?}");
    }
    for client in [&client, &quick, &strict] {
        assert!(!format!("{client:?}").contains(&key));
    }
}

#[test]
fn the_consumption_columns_are_the_ones_the_fake_serves() {
    assert!(fixtures::CONSUMPTION_HEADERS.contains(&SELL_HEADER));
    assert!(fixtures::CONSUMPTION_HEADERS.contains(&BUY_HEADER));
}
