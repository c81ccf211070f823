//! The remote synchronisation API's rules: staff only, Waldur's refusals (local checks
//! before any call to the remote), failing remotes as clear 400s, internal addresses
//! refused, the token kept out of the log, and runs that never overlap.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use uuid::Uuid;

use crate::fake_waldur::FakeWaldur;
use crate::helpers::{Reply, TestApp, spawn_app, spawn_app_with_config};

const SYNCS: &str = "/api/marketplace-remote-synchronisations";

struct Setup {
    app: TestApp,
    fake: FakeWaldur,
    remote_category: Uuid,
    provider: Reply,
    provider_url: String,
    category: Reply,
}

impl Setup {
    async fn on(app: TestApp) -> Self {
        let fake = FakeWaldur::start().await;
        let remote_category = fake.add_category("HPC");
        fake.add_offering(remote_category, "Alpha", 1.0);
        let provider = app.create_provider("Local Provider").await;
        let category = app.create_category("Local Compute").await;
        let reply = app
            .get(
                &format!(
                    "/api/marketplace-service-providers/?customer_uuid={}",
                    provider.uuid()
                ),
                &app.admin_token,
            )
            .await;
        let provider_url = reply.body[0]["url"].as_str().unwrap().to_string();
        Self {
            app,
            fake,
            remote_category,
            provider,
            provider_url,
            category,
        }
    }

    async fn new() -> Self {
        Self::on(spawn_app().await).await
    }

    fn body(&self) -> Value {
        json!({
            "api_url": format!("{}/api/", self.fake.address),
            "token": self.fake.token,
            "remote_organization_uuid": self.fake.organization.to_string(),
            "remote_organization_name": "Fake Remote Org",
            "local_service_provider": self.provider_url,
            "remotelocalcategory_set": [{
                "local_category": self.category.url(),
                "remote_category": self.remote_category.to_string(),
            }],
        })
    }

    async fn create(&self, body: Value) -> Reply {
        self.app
            .post(&format!("{SYNCS}/"), &self.app.admin_token, body)
            .await
    }

    async fn events(&self) -> i64 {
        self.app.scalar_i64("SELECT count(*) FROM events").await
    }
}

#[tokio::test]
async fn staff_manage_syncs_and_everyone_else_is_refused() {
    // Arrange
    let s = Setup::new().await;
    let owner = s.app.create_user("provider-owner").await;
    s.app
        .grant("customers", &s.provider.uuid(), &owner, "CUSTOMER.OWNER")
        .await;
    let plain = s.app.create_user("plain-user").await;

    // Act
    let created = s.create(s.body()).await;
    let uuid = created.uuid();
    let item = format!("{SYNCS}/{uuid}/");

    // Assert
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["token"], s.fake.token);
    assert_eq!(created.body["api_url"], format!("{}/api/", s.fake.address));
    assert_eq!(
        created.body["remote_organization_uuid"],
        s.fake.organization.to_string()
    );
    assert_eq!(
        created.body["local_service_provider_name"],
        "Local Provider"
    );
    assert_eq!(created.body["is_active"], true);
    assert_eq!(created.body["last_execution"], Value::Null);
    assert_eq!(
        created.body["remotelocalcategory_set"][0]["remote_category_name"],
        "Unknown"
    );
    assert_eq!(
        created.body["remotelocalcategory_set"][0]["local_category_name"],
        "Local Compute"
    );
    for user in [&owner, &plain] {
        let token = &user.token;
        assert_eq!(
            s.app.get(&format!("{SYNCS}/"), token).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(s.app.get(&item, token).await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            s.app
                .post(&format!("{SYNCS}/"), token, s.body())
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            s.app
                .patch(&item, token, json!({"is_active": false}))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            s.app.delete(&item, token).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            s.app
                .post(&format!("{item}run_synchronisation/"), token, json!({}))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
    let listed = s.app.get(&format!("{SYNCS}/"), &s.app.admin_token).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.count(), 1);
    assert_eq!(
        s.app.get(&item, &s.app.admin_token).await.status,
        StatusCode::OK
    );
    let disabled = s
        .app
        .patch(&item, &s.app.admin_token, json!({"is_active": false}))
        .await;
    assert_eq!(disabled.status, StatusCode::OK);
    assert_eq!(disabled.body["is_active"], false);
    assert_eq!(
        s.app.delete(&item, &s.app.admin_token).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.app.get(&item, &s.app.admin_token).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn waldurs_refusals_come_before_any_call_to_the_remote() {
    // Arrange
    let s = Setup::new().await;
    let local_customer = s.app.create_customer("Our Own Org").await;
    let mut same_instance = s.body();
    same_instance["remote_organization_uuid"] = json!(local_customer.uuid());
    let mut empty = s.body();
    empty["remotelocalcategory_set"] = json!([]);
    let mut duplicate = s.body();
    let mapping = duplicate["remotelocalcategory_set"][0].clone();
    duplicate["remotelocalcategory_set"] = json!([mapping.clone(), mapping]);
    let asked_before = s.fake.asked().len();

    // Act
    let same_instance = s.create(same_instance).await;
    let empty = s.create(empty).await;
    let duplicate = s.create(duplicate).await;

    // Assert
    assert_eq!(same_instance.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        same_instance.body,
        json!({"non_field_errors": ["Synchronization cannot reference the same Waldur instance."]})
    );
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        empty.body,
        json!(["At least one category must be specified."])
    );
    assert_eq!(duplicate.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        duplicate.body,
        json!(["Duplicate remote categories are not allowed."])
    );
    assert_eq!(s.fake.asked().len(), asked_before, "the remote was asked");
    assert_eq!(
        s.app.scalar_i64("SELECT count(*) FROM secrets").await,
        0,
        "a refused sync leaves no secret"
    );
}

#[tokio::test]
async fn a_failing_remote_is_a_400_that_names_what_failed() {
    // Arrange
    let s = Setup::new().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut unreachable = s.body();
    unreachable["api_url"] = json!(format!("http://{closed}/api/"));
    let mut bad_token = s.body();
    bad_token["token"] = json!("not-the-token");
    let mut unknown_org = s.body();
    unknown_org["remote_organization_uuid"] = json!(Uuid::new_v4().to_string());
    let mut not_a_url = s.body();
    not_a_url["api_url"] = json!("ftp://example.org/api/");

    // Act
    let unreachable = s.create(unreachable).await;
    let bad_token = s.create(bad_token).await;
    let unknown_org = s.create(unknown_org).await;
    let not_a_url = s.create(not_a_url).await;
    s.fake.fail(true);
    let failing = s.create(s.body()).await;

    // Assert
    assert_eq!(unreachable.status, StatusCode::BAD_REQUEST);
    assert!(
        unreachable.body["api_url"][0]
            .as_str()
            .unwrap()
            .contains("Unable to reach"),
        "{}",
        unreachable.text
    );
    assert_eq!(bad_token.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_token.body["token"][0]
            .as_str()
            .unwrap()
            .contains("Invalid token."),
        "{}",
        bad_token.text
    );
    assert_eq!(unknown_org.status, StatusCode::BAD_REQUEST);
    assert!(unknown_org.body["remote_organization_uuid"][0].is_string());
    assert_eq!(not_a_url.status, StatusCode::BAD_REQUEST);
    assert!(not_a_url.body["api_url"][0].is_string());
    assert_eq!(failing.status, StatusCode::BAD_REQUEST);
    assert!(
        failing.body["api_url"][0]
            .as_str()
            .unwrap()
            .contains("Internal Server Error"),
        "{}",
        failing.text
    );
    assert_eq!(s.app.scalar_i64("SELECT count(*) FROM secrets").await, 0);
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_allowed() {
    // Arrange: a ledger with the default outbound rules
    let app = spawn_app_with_config(|server| server.remote.allow_private = false).await;
    let s = Setup::on(app).await;

    // Act
    let refused = s.create(s.body()).await;
    let customers = s
        .app
        .post(
            "/api/remote-waldur-api/remote_customers/",
            &s.app.admin_token,
            json!({"api_url": "http://169.254.169.254/api/", "token": "t"}),
        )
        .await;

    // Assert
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(
        refused.body["api_url"][0]
            .as_str()
            .unwrap()
            .contains("internal address"),
        "{}",
        refused.text
    );
    assert!(s.fake.asked().is_empty());
    assert_eq!(customers.status, StatusCode::BAD_REQUEST);
    assert!(
        customers.text.contains("internal address"),
        "{}",
        customers.text
    );
}

#[tokio::test]
async fn the_four_spellings_of_an_api_url_name_the_same_remote() {
    // Arrange
    let s = Setup::new().await;
    let created = s.create(s.body()).await;
    let item = format!("{SYNCS}/{}/", created.uuid());
    let base = s.fake.address.clone();

    for spelling in [
        base.clone(),
        format!("{base}/"),
        format!("{base}/api"),
        format!("{base}/api/"),
    ] {
        // Act
        let before = s.events().await;
        let reply = s
            .app
            .patch(&item, &s.app.admin_token, json!({"api_url": spelling}))
            .await;

        // Assert
        assert_eq!(reply.status, StatusCode::OK, "{spelling}: {}", reply.text);
        assert_eq!(reply.body["api_url"], format!("{base}/api/"));
        assert_eq!(s.events().await, before, "{spelling} changed the sync");
    }
}

#[tokio::test]
async fn the_token_never_enters_the_log_and_goes_with_its_sync() {
    // Arrange
    let s = Setup::new().await;
    let created = s.create(s.body()).await;
    let uuid = created.uuid();
    let item = format!("{SYNCS}/{uuid}/");
    s.app
        .post(
            &format!("{item}run_synchronisation/"),
            &s.app.admin_token,
            json!({}),
        )
        .await;

    // Act: the same body again (token included) changes nothing; a PUT naming another
    // remote organization leaves it as it was
    let before = s.events().await;
    let mut put = s.body();
    put["remote_organization_uuid"] = json!(Uuid::new_v4().to_string());
    let same = s
        .app
        .request(
            reqwest::Method::PUT,
            &item,
            Some(&s.app.admin_token),
            Some(put),
        )
        .await;
    let unchanged_events = s.events().await;
    let mut new_token = s.body();
    new_token["token"] = json!("a-new-token-that-the-remote-refuses");
    let refused = s.app.patch(&item, &s.app.admin_token, new_token).await;

    // Assert
    assert_eq!(same.status, StatusCode::OK, "{}", same.text);
    assert_eq!(
        same.body["remote_organization_uuid"],
        s.fake.organization.to_string()
    );
    assert_eq!(unchanged_events, before);
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let leaked = s
        .app
        .scalar_i64(&format!(
            "SELECT count(*) FROM events WHERE payload::text LIKE '%{}%' \
             OR metadata::text LIKE '%{}%'",
            s.fake.token, s.fake.token
        ))
        .await;
    assert_eq!(leaked, 0);
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT ciphertext FROM secrets")
        .fetch_all(&s.app.ledger.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !String::from_utf8_lossy(&stored[0]).contains(&s.fake.token),
        "the token is stored in clear"
    );

    // Act
    s.app.delete(&item, &s.app.admin_token).await;

    // Assert
    assert_eq!(s.app.scalar_i64("SELECT count(*) FROM secrets").await, 0);
}

#[tokio::test]
async fn the_add_dialog_lists_the_remote_organizations_and_categories() {
    // Arrange
    let s = Setup::new().await;
    let credentials = json!({"api_url": s.fake.address, "token": s.fake.token});

    // Act
    let customers = s
        .app
        .post(
            "/api/remote-waldur-api/remote_customers/",
            &s.app.admin_token,
            credentials.clone(),
        )
        .await;
    let categories = s
        .app
        .post(
            "/api/remote-waldur-api/remote_categories/",
            &s.app.admin_token,
            credentials,
        )
        .await;
    let refused = s
        .app
        .post(
            "/api/remote-waldur-api/remote_categories/",
            &s.app.admin_token,
            json!({"api_url": s.fake.address, "token": "wrong"}),
        )
        .await;

    // Assert
    assert_eq!(customers.status, StatusCode::OK, "{}", customers.text);
    assert_eq!(customers.body[0]["name"], "Fake Remote Org");
    assert_eq!(
        customers.body[0]["uuid"],
        s.fake.organization.simple().to_string()
    );
    assert!(
        s.fake
            .asked()
            .iter()
            .any(|q| q.contains("owned_by_current_user=true"))
    );
    assert_eq!(categories.status, StatusCode::OK);
    assert_eq!(categories.body[0]["title"], "HPC");
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text.contains("Invalid token."), "{}", refused.text);
}

#[tokio::test]
async fn two_runs_of_one_sync_never_overlap_and_an_interrupted_run_is_closed() {
    // Arrange
    let s = Setup::new().await;
    let uuid = s.create(s.body()).await.uuid();
    let sync = Uuid::parse_str(&uuid).unwrap();
    let mut holder = sqlx::PgConnection::connect(&s.app.db.url).await.unwrap();
    let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
        .bind(format!("remote-sync:{sync}"))
        .fetch_one(&mut holder)
        .await
        .unwrap();
    assert!(held);
    let run_path = format!("{SYNCS}/{uuid}/run_synchronisation/");

    // Act: another process holds the sync's run
    let busy = s.app.post(&run_path, &s.app.admin_token, json!({})).await;
    drop(holder);
    // a run that a crash left Processing
    let stale = Uuid::new_v4();
    let ctx = ledger::store::metadata::CommandContext::for_sync_run(
        ledger::store::metadata::Actor::System,
        stale,
    );
    s.app
        .ledger
        .execute::<ledger::domain::sync_run::SyncRun>(
            &stale.simple().to_string(),
            ledger::domain::sync_run::SyncRunCommand::Start {
                uuid: stale,
                sync_uuid: sync,
                at: ctx.now - chrono::Duration::hours(3),
            },
            &ctx,
        )
        .await
        .unwrap();
    let run = s.app.post(&run_path, &s.app.admin_token, json!({})).await;

    // Assert
    assert_eq!(busy.status, StatusCode::CONFLICT, "{}", busy.text);
    assert_eq!(run.status, StatusCode::OK, "{}", run.text);
    assert_eq!(run.body["get_state_display"], "OK");
    let runs = s
        .app
        .get(&format!("{SYNCS}/{uuid}/runs/"), &s.app.admin_token)
        .await;
    assert_eq!(runs.count(), 2);
    assert_eq!(runs.body[1]["state"], "Erred");
    assert_eq!(
        runs.body[1]["error_message"],
        "The run was interrupted before it finished."
    );
}

#[tokio::test]
async fn a_sync_is_due_an_interval_after_its_last_run_started() {
    // Arrange
    let s = Setup::new().await;
    let uuid = Uuid::parse_str(&s.create(s.body()).await.uuid()).unwrap();
    let day = chrono::Duration::days(1);
    let now = chrono::Utc::now();
    let due = |at: chrono::DateTime<chrono::Utc>| {
        let pool = s.app.ledger.pool.clone();
        async move {
            ledger::read::remote_sync::due(&pool, at, day)
                .await
                .unwrap()
        }
    };

    // Act / Assert: not before a day after its creation
    assert!(due(now).await.is_empty());
    assert_eq!(due(now + day + chrono::Duration::minutes(1)).await, [uuid]);
    s.app
        .post(
            &format!("{SYNCS}/{uuid}/run_synchronisation/"),
            &s.app.admin_token,
            json!({}),
        )
        .await;
    let ran = chrono::Utc::now();
    assert!(
        due(ran + day - chrono::Duration::minutes(1))
            .await
            .is_empty()
    );
    assert_eq!(due(ran + day + chrono::Duration::minutes(1)).await, [uuid]);
    s.app
        .patch(
            &format!("{SYNCS}/{uuid}/"),
            &s.app.admin_token,
            json!({"is_active": false}),
        )
        .await;
    assert!(due(ran + day * 7).await.is_empty(), "a disabled sync ran");
}

#[tokio::test]
async fn the_server_runs_due_syncs_on_its_own() {
    // Arrange: a one-second interval
    let app = spawn_app_with_config(|server| server.remote_sync_interval_seconds = 1).await;
    let s = Setup::on(app).await;
    let uuid = s.create(s.body()).await.uuid();

    // Act
    let mut runs = 0;
    for _ in 0..100 {
        runs = s
            .app
            .scalar_i64(
                "SELECT count(*) FROM events WHERE event_type = 'RunFinished' \
                 AND metadata->>'actor' = 'scheduler'",
            )
            .await;
        if runs > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Assert
    assert!(runs > 0, "no scheduled run within ten seconds");
    let sync = s
        .app
        .get(&format!("{SYNCS}/{uuid}/"), &s.app.admin_token)
        .await;
    assert!(sync.body["last_execution"].is_string());
}

// The remote is served by this test's runtime while the command line runs: two workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_lists_and_runs_syncs() {
    // Arrange
    let s = Setup::new().await;
    let uuid = s.create(s.body()).await.uuid();
    let ledger_cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
            .args(["sync", "--database-url", &s.app.db.url])
            .args(args)
            .env("LEDGER_SECRET_KEY", crate::helpers::TEST_SECRET_KEY)
            .env("LEDGER_REMOTE_ALLOW_PRIVATE", "true")
            .env("RUST_LOG", "error")
            .output()
            .expect("the ledger binary runs")
    };

    // Act
    let ran = ledger_cli(&["run", &uuid]);
    let listed = ledger_cli(&["list"]);

    // Assert
    let ran_out = String::from_utf8_lossy(&ran.stdout);
    assert!(ran.status.success(), "{ran:?}");
    assert!(ran_out.contains("HPC: 1 offerings, 1 created"), "{ran_out}");
    assert!(
        ran_out.contains("OK: 1 created, 0 updated, 0 archived, 0 errors"),
        "{ran_out}"
    );
    let listed_out = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{listed:?}");
    assert!(listed_out.contains(&uuid), "{listed_out}");
    assert!(listed_out.contains("OK"), "{listed_out}");
    assert!(!listed_out.contains(&s.fake.token));
}

#[tokio::test]
async fn a_token_that_cannot_be_decrypted_is_an_erred_run_not_a_server_error() {
    // Arrange: the stored token was written under another key
    let s = Setup::new().await;
    let uuid = s.create(s.body()).await.uuid();
    sqlx::query("UPDATE secrets SET ciphertext = '\\x00010203'::bytea")
        .execute(&s.app.ledger.pool)
        .await
        .unwrap();

    // Act
    let shown = s
        .app
        .get(&format!("{SYNCS}/{uuid}/"), &s.app.admin_token)
        .await;
    let run = s
        .app
        .post(
            &format!("{SYNCS}/{uuid}/run_synchronisation/"),
            &s.app.admin_token,
            json!({}),
        )
        .await;

    // Assert
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.body["token"], "");
    assert_eq!(run.status, StatusCode::OK, "{}", run.text);
    assert_eq!(run.body["get_state_display"], "Erred");
    assert!(
        run.body["error_message"]
            .as_str()
            .unwrap()
            .contains("cannot be decrypted"),
        "{}",
        run.text
    );
}
