//! An offering's whole life through HTTP, from creation to archive, with an export and an
//! import into another provider on the way.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, spawn_app};

const OFFERINGS: &str = "/api/marketplace-provider-offerings/";

async fn action(app: &TestApp, offering: &str, name: &str, body: Value) -> Reply {
    app.post(
        &format!("{OFFERINGS}{offering}/{name}/"),
        &app.admin_token,
        body,
    )
    .await
}

async fn retrieve(app: &TestApp, offering: &str) -> Reply {
    let reply = app
        .get(&format!("{OFFERINGS}{offering}/"), &app.admin_token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply
}

fn types_of(offering: &Reply) -> Vec<String> {
    offering.body["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_offering_is_built_activated_exported_imported_paused_and_archived() {
    let app = spawn_app().await;
    let provider = app.create_provider("Ref Provider Org").await;
    let other = app.create_provider("Other Provider Org").await;
    let category = app.create_category("HPC").await;
    let offering = app
        .create_offering(
            &provider.url(),
            &category.url(),
            "Marketplace.Slurm",
            json!({"name": "Cluster", "components": [
                {"type": "cpu", "name": "CPU", "measured_unit": "hours", "billing_type": "usage"}
            ]}),
        )
        .await;
    let uuid = offering.uuid();

    let component = action(
        &app,
        &uuid,
        "create_offering_component",
        json!({"type": "gpu", "name": "GPU", "measured_unit": "hours", "billing_type": "usage"}),
    )
    .await;
    assert_eq!(component.status, StatusCode::CREATED, "{}", component.text);
    let plan = app
        .post(
            "/api/marketplace-plans/",
            &app.admin_token,
            json!({"name": "Default", "offering": offering.url(), "unit": "month"}),
        )
        .await;
    assert_eq!(plan.status, StatusCode::CREATED, "{}", plan.text);
    let priced = app
        .post(
            &format!("/api/marketplace-plans/{}/update_prices/", plan.uuid()),
            &app.admin_token,
            json!({"prices": {"cpu": "0.5", "gpu": "2"}}),
        )
        .await;
    assert_eq!(priced.status, StatusCode::OK, "{}", priced.text);
    let activated = action(&app, &uuid, "activate", json!({})).await;
    assert_eq!(activated.body["state"], "Active", "{}", activated.text);

    let exported = action(&app, &uuid, "export_offering", json!({})).await;
    assert_eq!(exported.status, StatusCode::OK, "{}", exported.text);
    let imported = app
        .post(
            &format!("{OFFERINGS}import_offering/"),
            &app.admin_token,
            json!({
                "offering_data": exported.body["export_data"],
                "customer": other.uuid(),
                "category": "HPC",
            }),
        )
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text);
    let copy_uuid = imported.body["imported_offering_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let copy = retrieve(&app, &copy_uuid).await;
    let source = retrieve(&app, &uuid).await;
    assert_eq!(copy.body["state"], "Draft");
    assert_eq!(copy.body["customer_uuid"], other.uuid());
    assert_eq!(copy.body["name"], "Cluster");
    assert_eq!(types_of(&copy), types_of(&source));
    assert_eq!(copy.body["plans"][0]["name"], "Default");
    assert_eq!(
        copy.body["plans"][0]["prices"],
        json!({"cpu": 0.5, "gpu": 2.0})
    );
    assert_ne!(
        copy.body["plans"][0]["uuid"],
        source.body["plans"][0]["uuid"]
    );

    let paused = action(&app, &uuid, "pause", json!({"paused_reason": "upgrade"})).await;
    assert_eq!(paused.body["state"], "Paused", "{}", paused.text);
    let archived = action(&app, &uuid, "archive", json!({})).await;
    assert_eq!(archived.body["state"], "Archived", "{}", archived.text);
    let refused = action(&app, &uuid, "update_overview", json!({"name": "Late"})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.body,
        json!(["It is not possible to update archived offering."])
    );
    assert_eq!(retrieve(&app, &copy_uuid).await.body["state"], "Draft");
}
