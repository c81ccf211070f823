//! The remote sync figure: a second ledger imports `count` offerings from a first one, both
//! running here on databases of their own, as two Waldurs would; then an unchanged re-run.

use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Figure, call, recreate, uuid_of};
use crate::app::offerings::{new_component, new_plan};
use crate::app::{Ledger, LedgerOptions};
use crate::config::{DatabaseConfig, ServerConfig};
use crate::domain::offering::model::{OfferingDetails, OfferingSettings};
use crate::domain::offering::{Lifecycle, Offering, OfferingCommand};
use crate::server::Application;
use crate::store::metadata::{Actor, CommandContext, Source};
use crate::store::secrets::SecretKey;

/// A started ledger: its address, staff token and the ledger itself.
struct Started {
    base: String,
    token: String,
    ledger: std::sync::Arc<Ledger>,
}

async fn start(url: &str, key: &SecretKey) -> anyhow::Result<Started> {
    let name = url::Url::parse(url)?
        .path()
        .trim_start_matches('/')
        .to_string();
    recreate(url, &name).await?;
    let mut server = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("a valid address"),
        catch_up_interval_ms: 0,
        remote_sync_interval_seconds: 0,
        ..ServerConfig::default()
    };
    server.remote.allow_private = true;
    let options = LedgerOptions {
        secret_key: Some(key.clone()),
        ..LedgerOptions::default()
    };
    let app = Application::build(&DatabaseConfig::new(url), &server, options).await?;
    let token = app
        .admin_token
        .clone()
        .context("a fresh database has no admin token")?;
    let base = format!("http://{}", app.address());
    let ledger = app.ledger();
    tokio::spawn(app.run_until(std::future::pending()));
    Ok(Started {
        base,
        token,
        ledger,
    })
}

async fn post(
    client: &reqwest::Client,
    at: &Started,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let url = format!("{}{path}", at.base);
    call(client, reqwest::Method::POST, &url, &at.token, Some(body)).await
}

/// Measures a first run importing `count` offerings and an unchanged second run. The
/// databases are `<bench database>_remote` and `<bench database>_local`, dropped first.
pub async fn measure(database: &DatabaseConfig, count: usize) -> anyhow::Result<Vec<Figure>> {
    let key = SecretKey::generate();
    let remote = start(&format!("{}_remote", database.database_url), &key).await?;
    let local = start(&format!("{}_local", database.database_url), &key).await?;
    let client = reqwest::Client::new();

    // The remote: an organization publishing `count` active shared offerings in a category.
    let organization = post(
        &client,
        &remote,
        "/api/customers/",
        json!({"name": "Remote Org"}),
    )
    .await?;
    post(
        &client,
        &remote,
        "/api/marketplace-service-providers/",
        json!({"customer": organization["url"]}),
    )
    .await?;
    let category = post(
        &client,
        &remote,
        "/api/marketplace-categories/",
        json!({"title": "HPC"}),
    )
    .await?;
    let organization_uuid = uuid_of(&organization)?;
    let category_uuid = uuid_of(&category)?;
    let ctx = CommandContext::new(Actor::System, Source::Cli, "bench");
    for n in 0..count {
        let uuid = Uuid::new_v4();
        let id = uuid.simple().to_string();
        let create = OfferingCommand::Create {
            uuid,
            customer_uuid: organization_uuid,
            category_uuid,
            project_uuid: None,
            offering_type: "Marketplace.Basic".into(),
            slug: format!("remote-{n}"),
            details: OfferingDetails {
                name: format!("Remote offering {n:04}"),
                description: "Imported by the benchmark".into(),
                shared: true,
                billable: true,
                ..OfferingDetails::default()
            },
            settings: OfferingSettings::default(),
            components: vec![new_component(
                json!({"type": "cpu", "name": "CPU", "billing_type": "usage",
                       "measured_unit": "hours"})
                .as_object()
                .expect("an object"),
                Uuid::new_v4(),
            )],
            plans: vec![new_plan(
                json!({"name": "Default", "unit": "month", "unit_price": "1",
                       "prices": {"cpu": "0.5"}})
                .as_object()
                .expect("an object"),
                Uuid::new_v4(),
            )],
            endpoints: Vec::new(),
            at: ctx.now,
        };
        remote
            .ledger
            .execute_unprojected::<Offering>(&id, create, &ctx)
            .await?;
        let activate = OfferingCommand::Transition {
            action: Lifecycle::Activate,
            paused_reason: None,
            at: ctx.now,
        };
        remote
            .ledger
            .execute_unprojected::<Offering>(&id, activate, &ctx)
            .await?;
    }
    remote.ledger.projector.catch_up().await?;

    // The local ledger: a provider to publish what it imports, and the sync.
    let provider = post(
        &client,
        &local,
        "/api/customers/",
        json!({"name": "Local Provider"}),
    )
    .await?;
    let service_provider = post(
        &client,
        &local,
        "/api/marketplace-service-providers/",
        json!({"customer": provider["url"]}),
    )
    .await?;
    let local_category = post(
        &client,
        &local,
        "/api/marketplace-categories/",
        json!({"title": "Local HPC"}),
    )
    .await?;
    let sync = post(
        &client,
        &local,
        "/api/marketplace-remote-synchronisations/",
        json!({
            "api_url": format!("{}/api/", remote.base),
            "token": remote.token,
            "remote_organization_uuid": organization_uuid.to_string(),
            "remote_organization_name": "Remote Org",
            "local_service_provider": service_provider["url"],
            "remotelocalcategory_set": [{
                "local_category": local_category["url"],
                "remote_category": category_uuid.to_string(),
            }],
        }),
    )
    .await?;
    let run_url = format!(
        "/api/marketplace-remote-synchronisations/{}/run_synchronisation/",
        uuid_of(&sync)?.simple()
    );

    let mut figures = Vec::new();
    for label in ["first run, every offering created", "unchanged re-run"] {
        let started = Instant::now();
        let answer = post(&client, &local, &run_url, json!({})).await?;
        let seconds = started.elapsed().as_secs_f64();
        if answer["get_state_display"] != "OK" {
            anyhow::bail!("the benchmark sync erred: {}", answer["error_message"]);
        }
        figures.push(Figure {
            name: format!("remote sync of {count} offerings from a second ledger, {label}"),
            value: format!("{seconds:.2} s"),
        });
    }
    let imported: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projection.offerings WHERE type = 'Waldur.RemoteOffering'",
    )
    .fetch_one(&local.ledger.pool)
    .await?;
    if imported as usize != count {
        anyhow::bail!("the benchmark sync imported {imported} of {count} offerings");
    }
    Ok(figures)
}
