//! The provider offering catalogue.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn staff_creates_a_draft_slurm_offering_with_its_components_and_plan() {
    let app = spawn_app().await;
    let provider = app.create_provider("Ref Provider Org").await;
    let category = app.create_category("Ref Category").await;

    let reply = app
        .create_offering(
            &provider.url(),
            &category.url(),
            "Marketplace.Slurm",
            json!({
                "name": "Ref Slurm Offering",
                "components": [
                    {"type": "cpu", "name": "CPU", "measured_unit": "hours", "billing_type": "usage"},
                    {"type": "storage", "name": "Storage", "measured_unit": "GB",
                     "billing_type": "limit", "limit_period": "total"}
                ],
                "plans": [{"name": "Default", "unit": "month", "prices": {"cpu": 0.5, "storage": 0.1}}]
            }),
        )
        .await;

    assert_eq!(reply.body["state"], "Draft");
    assert_eq!(reply.body["slug"], "ref-slur-1");
    assert_eq!(reply.body["customer_uuid"], provider.uuid());
    assert_eq!(reply.body["components"][0]["type"], "cpu");
    assert_eq!(reply.body["components"][1]["limit_period"], "total");
    let plan = &reply.body["plans"][0];
    assert_eq!(plan["unit"], "month");
    assert_eq!(plan["unit_price"], "0.0000000000");
    assert_eq!(plan["prices"], json!({"cpu": 0.5, "storage": 0.1}));
    assert_eq!(plan["quotas"], json!({"cpu": 0, "storage": 0}));
    assert!(
        plan["url"]
            .as_str()
            .unwrap()
            .contains("/api/marketplace-plans/")
    );
    assert_eq!(reply.header("location"), Some(reply.url().as_str()));

    let activated = app
        .post(
            &format!(
                "/api/marketplace-provider-offerings/{}/activate/",
                reply.uuid()
            ),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.text);
    assert_eq!(
        activated.body,
        json!({"detail": "Offering state updated.", "state": "Active"})
    );
}
