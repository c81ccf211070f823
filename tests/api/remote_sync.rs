//! Remote offering sync: two ledgers (B syncs from A), a stand-in for a real Waldur, the
//! staff-only API with Waldur's refusals, the results of runs, and the token kept out of
//! the log.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fake_waldur::FakeWaldur;
use crate::helpers::{Reply, TestApp, spawn_app};
use crate::world::{Names, World, cpu_priced_10};

const SYNCS: &str = "/api/marketplace-remote-synchronisations";

/// The local side: a provider that publishes what it imports, and a category to map into.
struct Local {
    app: TestApp,
    provider_customer: Reply,
    service_provider_url: String,
    category: Reply,
}

impl Local {
    async fn new(app: TestApp) -> Self {
        let provider_customer = app.create_provider("Local Provider").await;
        let category = app.create_category("Local Compute").await;
        let service_provider_url = service_provider_url(&app, &provider_customer).await;
        Self {
            app,
            provider_customer,
            service_provider_url,
            category,
        }
    }

    async fn create_sync(&self, body: Value) -> Reply {
        self.app
            .post(&format!("{SYNCS}/"), &self.app.admin_token, body)
            .await
    }

    async fn run(&self, sync: &str) -> Reply {
        let reply = self
            .app
            .post(
                &format!("{SYNCS}/{sync}/run_synchronisation/"),
                &self.app.admin_token,
                json!({}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply
    }

    async fn last_run(&self, sync: &str) -> Value {
        let reply = self
            .app
            .get(&format!("{SYNCS}/{sync}/last_run/"), &self.app.admin_token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    /// The provider's imported offerings, by name.
    async fn imported(&self) -> Vec<Value> {
        imported_of(&self.app, &self.provider_customer.uuid()).await
    }

    /// Events other than the runs' own accounts.
    async fn other_events(&self) -> i64 {
        self.app
            .scalar_i64("SELECT count(*) FROM events WHERE aggregate_type <> 'sync_run'")
            .await
    }
}

/// The imported offerings of a provider organization, by name.
async fn imported_of(app: &TestApp, customer: &str) -> Vec<Value> {
    let reply = app
        .get(
            &format!(
                "/api/marketplace-provider-offerings/?customer_uuid={customer}\
                 &type=Waldur.RemoteOffering&o=name"
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body.as_array().unwrap().clone()
}

async fn service_provider_url(app: &TestApp, customer: &Reply) -> String {
    let reply = app
        .get(
            &format!(
                "/api/marketplace-service-providers/?customer_uuid={}",
                customer.uuid()
            ),
            &app.admin_token,
        )
        .await;
    reply.body[0]["url"].as_str().unwrap().to_string()
}

fn dashed(hex: &str) -> String {
    Uuid::parse_str(hex).unwrap().to_string()
}

/// A: a ledger whose provider organization publishes one active shared offering in its
/// category.
struct RemoteLedger {
    world: World,
    offering: Reply,
}

impl RemoteLedger {
    async fn new() -> Self {
        let world = World::new(Names::PLAIN).await;
        let mut extra = cpu_priced_10();
        extra["shared"] = json!(true);
        extra["name"] = json!("Remote HPC");
        let offering = world.active_offering("Marketplace.Basic", extra).await;
        Self { world, offering }
    }

    fn api_url(&self) -> String {
        format!("{}/api/", self.world.app.address)
    }

    fn mapping(&self, local: &Local) -> Value {
        json!({
            "local_category": local.category.url(),
            "remote_category": dashed(&self.world.category.uuid()),
        })
    }

    fn sync_body(&self, local: &Local) -> Value {
        json!({
            "api_url": self.api_url(),
            "token": self.world.app.admin_token,
            "remote_organization_uuid": dashed(&self.world.provider.uuid()),
            "remote_organization_name": "Provider Org",
            "local_service_provider": local.service_provider_url,
            "remotelocalcategory_set": [self.mapping(local)],
        })
    }

    async fn patch_offering(&self, offering: &str, path: &str, body: Value) {
        let reply = self
            .world
            .app
            .post(
                &format!("/api/marketplace-provider-offerings/{offering}/{path}/"),
                &self.world.app.admin_token,
                body,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
}

#[tokio::test]
async fn a_second_ledger_imports_renames_archives_and_extends_from_the_first() {
    // Arrange
    let a = RemoteLedger::new().await;
    let b = Local::new(spawn_app().await).await;
    let created = b.create_sync(a.sync_body(&b)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["get_state_display"], "Scheduled");
    let sync = created.uuid();

    // Act: the first run imports the offering
    let first = b.run(&sync).await;

    // Assert
    assert_eq!(first.body["get_state_display"], "OK", "{}", first.text);
    assert!(first.body["last_execution"].is_string());
    let imported = b.imported().await;
    assert_eq!(imported.len(), 1, "{imported:?}");
    assert_eq!(imported[0]["name"], "Remote HPC");
    assert_eq!(imported[0]["backend_id"], a.offering.uuid());
    assert_eq!(imported[0]["state"], "Active");
    assert_eq!(imported[0]["category_uuid"], b.category.uuid());
    assert_eq!(imported[0]["plans"][0]["prices"]["cpu"], 10.0);
    let last = b.last_run(&sync).await;
    assert_eq!(last["state"], "OK");
    assert_eq!(last["counts"]["created"], 1);
    assert_eq!(
        last["offerings_created"][0]["remote_uuid"],
        a.offering.uuid()
    );
    assert_eq!(last["offerings_created"][0]["name"], "Remote HPC");
    assert!(
        last["log"]
            .as_str()
            .unwrap()
            .contains("Processing remote category Compute")
    );

    // Act: a re-run with nothing new appends nothing but the run's own account
    let before = b.other_events().await;
    b.run(&sync).await;

    // Assert
    assert_eq!(b.other_events().await, before);
    let last = b.last_run(&sync).await;
    assert_eq!(last["counts"]["created"], 0);
    assert_eq!(last["counts"]["updated"], 0);

    // Act: renamed on A
    a.patch_offering(
        &a.offering.uuid(),
        "update_overview",
        json!({"name": "Remote HPC 2"}),
    )
    .await;
    b.run(&sync).await;

    // Assert
    assert_eq!(b.imported().await[0]["name"], "Remote HPC 2");
    let last = b.last_run(&sync).await;
    assert_eq!(
        last["offerings_updated"][0]["changed_fields"],
        json!(["name"])
    );
    let events: Vec<(String, String)> = sqlx::query_as(
        "SELECT metadata->>'source', metadata->>'sync_run' FROM events \
         WHERE aggregate_type = 'offering' AND event_type = 'OfferingSyncedFromRemote' \
         ORDER BY position DESC LIMIT 1",
    )
    .fetch_all(&b.app.ledger.pool)
    .await
    .unwrap();
    assert_eq!(events[0].0, "sync");
    assert_eq!(events[0].1, last["uuid"].as_str().unwrap());

    // Act: a new mapping brings its category's offerings
    let second_category = a.world.app.create_category("Storage").await;
    let mut extra = cpu_priced_10();
    extra["shared"] = json!(true);
    extra["name"] = json!("Remote Storage");
    let storage = a
        .world
        .app
        .create_offering(
            &a.world.provider.url(),
            &second_category.url(),
            "Marketplace.Basic",
            extra,
        )
        .await;
    a.patch_offering(&storage.uuid(), "activate", json!({}))
        .await;
    let local_storage = b.app.create_category("Local Storage").await;
    let patched = b
        .app
        .patch(
            &format!("{SYNCS}/{sync}/"),
            &b.app.admin_token,
            json!({"remotelocalcategory_set": [
                a.mapping(&b),
                {"local_category": local_storage.url(),
                 "remote_category": dashed(&second_category.uuid())},
            ]}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(
        patched.body["remotelocalcategory_set"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    b.run(&sync).await;

    // Assert
    let names: Vec<String> = b
        .imported()
        .await
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Remote HPC 2", "Remote Storage"]);

    // Act: archived on A
    a.patch_offering(&a.offering.uuid(), "archive", json!({}))
        .await;
    b.run(&sync).await;

    // Assert
    let imported = b.imported().await;
    assert_eq!(imported[0]["state"], "Archived");
    assert_eq!(imported[1]["state"], "Active");
    let last = b.last_run(&sync).await;
    assert_eq!(last["offerings_archived"][0]["name"], "Remote HPC 2");

    // Assert: runs/ lists every run, newest first
    let runs = b
        .app
        .get(&format!("{SYNCS}/{sync}/runs/"), &b.app.admin_token)
        .await;
    assert_eq!(runs.status, StatusCode::OK);
    assert_eq!(runs.count(), 5);
    assert_eq!(runs.body[0]["uuid"], last["uuid"]);
    assert_eq!(runs.body[4]["counts"]["created"], 1);
}

#[tokio::test]
async fn a_failing_remote_leaves_the_run_erred_with_its_message_and_nothing_changed() {
    // Arrange
    let fake = FakeWaldur::start().await;
    let category = fake.add_category("HPC");
    let first = fake.add_offering(category, "Alpha", 0.5);
    let b = Local::new(spawn_app().await).await;
    let created = b
        .create_sync(json!({
            "api_url": fake.address,
            "token": fake.token,
            "remote_organization_uuid": fake.organization.to_string(),
            "remote_organization_name": "Fake Remote Org",
            "local_service_provider": b.service_provider_url,
            "remotelocalcategory_set": [{
                "local_category": b.category.url(),
                "remote_category": category.to_string(),
            }],
        }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let sync = created.uuid();
    b.run(&sync).await;
    fake.set(first, "name", json!("Alpha renamed"));
    let before = b.other_events().await;

    // Act
    fake.fail(true);
    let run = b.run(&sync).await;

    // Assert
    assert_eq!(run.body["get_state_display"], "Erred");
    assert_eq!(run.body["error_message"], "Internal Server Error");
    assert_eq!(b.other_events().await, before);
    assert_eq!(b.imported().await[0]["name"], "Alpha");
    let last = b.last_run(&sync).await;
    assert_eq!(last["state"], "Erred");
    assert_eq!(last["errors"], json!(["Internal Server Error"]));

    // Act: the remote is back, but the token has expired
    fake.fail(false);
    fake.expire_token();
    let run = b.run(&sync).await;

    // Assert
    assert_eq!(run.body["get_state_display"], "Erred");
    assert_eq!(run.body["error_message"], "Token has expired.");
}

#[tokio::test]
async fn a_real_waldur_is_read_page_by_page_and_matched_by_uuid() {
    // Arrange: five offerings over three pages, ordered by name on the remote
    let fake = FakeWaldur::start().await;
    let category = fake.add_category("HPC");
    let uuids: Vec<Uuid> = ["Echo", "Delta", "Charlie", "Bravo", "Alpha"]
        .iter()
        .map(|name| fake.add_offering(category, name, 0.25))
        .collect();
    let b = Local::new(spawn_app().await).await;
    let created = b
        .create_sync(json!({
            "api_url": format!("{}/api", fake.address),
            "token": fake.token,
            "remote_organization_uuid": fake.organization.simple().to_string(),
            "remote_organization_name": "Fake Remote Org",
            "local_service_provider": b.service_provider_url,
            "remotelocalcategory_set": [{
                "local_category": b.category.url(),
                "remote_category": category.to_string(),
                "remote_category_name": "Old name",
            }],
        }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let sync = created.uuid();

    // Act
    b.run(&sync).await;
    // a rename moves "Echo" to the front of the remote's order
    fake.set(uuids[0], "name", json!("Aardvark"));
    b.run(&sync).await;

    // Assert
    let imported = b.imported().await;
    assert_eq!(imported.len(), 5);
    let aardvark = imported.iter().find(|o| o["name"] == "Aardvark").unwrap();
    assert_eq!(aardvark["backend_id"], uuids[0].simple().to_string());
    assert_eq!(aardvark["plans"][0]["prices"]["cpu"], 0.25);
    assert!(
        fake.asked()
            .iter()
            .any(|q| q.contains("page=3") && q.contains("category_uuid")),
        "{:?}",
        fake.asked()
    );
    let asked = fake.asked();
    let listing = asked
        .iter()
        .find(|q| q.starts_with("marketplace-public-offerings/"))
        .unwrap();
    for part in [
        "shared=true",
        "allowed_customer_uuid=",
        "type=Marketplace.Basic",
        "type=Support.OfferingTemplate",
        "type=Marketplace.Slurm",
    ] {
        assert!(listing.contains(part), "{listing}");
    }
    assert!(!listing.contains("Waldur.RemoteOffering"));
    let sync_now = b
        .app
        .get(&format!("{SYNCS}/{sync}/"), &b.app.admin_token)
        .await;
    assert_eq!(
        sync_now.body["remotelocalcategory_set"][0]["remote_category_name"],
        "HPC"
    );
    let runs = b
        .app
        .get(&format!("{SYNCS}/{sync}/runs/"), &b.app.admin_token)
        .await;
    assert!(
        runs.body[1]["log"]
            .as_str()
            .unwrap()
            .contains("Remote category name has changed, updating. New name: HPC")
    );
    assert!(
        !runs.body[0]["log"]
            .as_str()
            .unwrap()
            .contains("Remote category name has changed")
    );
}

/// A sync of the fake remote's one category into the local category.
fn fake_sync_body(fake: &FakeWaldur, local: &Local, category: Uuid) -> Value {
    json!({
        "api_url": fake.address,
        "token": fake.token,
        "remote_organization_uuid": fake.organization.to_string(),
        "remote_organization_name": "Fake Remote Org",
        "local_service_provider": local.service_provider_url,
        "remotelocalcategory_set": [{
            "local_category": local.category.url(),
            "remote_category": category.to_string(),
        }],
    })
}

#[tokio::test]
async fn an_archived_offering_in_another_category_comes_back_active_in_the_mapped_one() {
    // Arrange: imported into one category, then gone from the remote (archived here)
    let fake = FakeWaldur::start().await;
    let category = fake.add_category("HPC");
    let offering = fake.add_offering(category, "Alpha", 1.0);
    let b = Local::new(spawn_app().await).await;
    let sync = b
        .create_sync(fake_sync_body(&fake, &b, category))
        .await
        .uuid();
    b.run(&sync).await;
    fake.hide(offering, true);
    b.run(&sync).await;
    assert_eq!(b.imported().await[0]["state"], "Archived");
    let elsewhere = b.app.create_category("Elsewhere").await;
    let remapped = b
        .app
        .patch(
            &format!("{SYNCS}/{sync}/"),
            &b.app.admin_token,
            json!({"remotelocalcategory_set": [{
                "local_category": elsewhere.url(),
                "remote_category": category.to_string(),
            }]}),
        )
        .await;
    assert_eq!(remapped.status, StatusCode::OK, "{}", remapped.text);

    // Act: the remote lists it again
    fake.hide(offering, false);
    b.run(&sync).await;

    // Assert
    let imported = b.imported().await;
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0]["state"], "Active");
    assert_eq!(imported[0]["category_uuid"], elsewhere.uuid());
    let last = b.last_run(&sync).await;
    let changed = last["offerings_updated"][0]["changed_fields"].clone();
    assert_eq!(changed, json!(["category", "state"]));
}

#[tokio::test]
async fn update_overview_leaves_the_synced_fields_of_an_imported_offering_alone() {
    // Arrange
    let fake = FakeWaldur::start().await;
    let category = fake.add_category("HPC");
    fake.add_offering(category, "Alpha", 1.0);
    let b = Local::new(spawn_app().await).await;
    let sync = b
        .create_sync(fake_sync_body(&fake, &b, category))
        .await
        .uuid();
    b.run(&sync).await;
    let local = b.imported().await[0]["uuid"].as_str().unwrap().to_string();

    // Act
    let reply = b
        .app
        .post(
            &format!("/api/marketplace-provider-offerings/{local}/update_overview/"),
            &b.app.admin_token,
            json!({"name": "Renamed here", "description": "Local words",
                   "access_url": "https://portal.example.org"}),
        )
        .await;

    // Assert
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let offering = &b.imported().await[0];
    assert_eq!(offering["name"], "Alpha");
    assert_eq!(offering["description"], "Alpha, remotely");
    assert_eq!(offering["access_url"], "https://portal.example.org");
}

#[tokio::test]
async fn a_remote_archived_or_emptied_archives_the_local_offerings() {
    // Arrange
    let fake = FakeWaldur::start().await;
    let category = fake.add_category("HPC");
    let first = fake.add_offering(category, "Alpha", 1.0);
    let second = fake.add_offering(category, "Beta", 1.0);
    let b = Local::new(spawn_app().await).await;
    let sync = b
        .create_sync(fake_sync_body(&fake, &b, category))
        .await
        .uuid();
    b.run(&sync).await;

    // Act: one is archived on the remote (it still lists it), then the remote empties
    fake.set(first, "state", json!("Archived"));
    b.run(&sync).await;
    let after_archive = b.imported().await;
    fake.hide(first, true);
    fake.hide(second, true);
    b.run(&sync).await;

    // Assert
    assert_eq!(after_archive[0]["state"], "Archived");
    assert_eq!(after_archive[1]["state"], "Active");
    let imported = b.imported().await;
    assert!(
        imported.iter().all(|o| o["state"] == "Archived"),
        "{imported:?}"
    );
    let last = b.last_run(&sync).await;
    assert_eq!(last["counts"]["archived"], 1);
    assert!(
        last["log"]
            .as_str()
            .unwrap()
            .contains("The offering Beta has been archived as it no longer exists in remote.")
    );
}

#[tokio::test]
async fn two_providers_syncing_one_remote_organization_get_an_offering_each() {
    // Arrange
    let fake = FakeWaldur::start().await;
    let category = fake.add_category("HPC");
    fake.add_offering(category, "Alpha", 1.0);
    let first = Local::new(spawn_app().await).await;
    let other = first.app.create_provider("Second Provider").await;
    let mut body = fake_sync_body(&fake, &first, category);
    body["local_service_provider"] = json!(service_provider_url(&first.app, &other).await);
    let one = first
        .create_sync(fake_sync_body(&fake, &first, category))
        .await
        .uuid();
    let two = first.create_sync(body).await.uuid();

    // Act
    first.run(&one).await;
    first.run(&two).await;

    // Assert
    let mine = first.imported().await;
    let theirs = imported_of(&first.app, &other.uuid()).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(theirs.len(), 1);
    assert_ne!(mine[0]["uuid"], theirs[0]["uuid"]);
}
