//! Tamper evidence: each kind of tampering done with SQL is caught by the audit
//! (`store::chain::verify`), by the chain alone or by a digest kept before it; an untouched
//! ledger passes, and so do events appended after a kept digest.

use std::process::Command;

use ledger::app::LedgerOptions;
use ledger::store::chain::{self, Digest, Problem, Verification};
use ledger::store::codec::canonical::{EventRow, event_hash};
use ledger::store::codec::write;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::order_fixture::{World, world};

const DIGEST: &str = "/api/ledger/digest/";

/// A world with an order placed (an order and its resource appended together) and a
/// customer with three events: created, renamed, renamed again. Returns the customer's id.
async fn ledger_with_history() -> (World, String) {
    let w = world().await;
    w.place(&w.manager, json!({})).await;
    let customer = w.app.create_customer("Tamper Org").await.uuid();
    for name in ["Tamper Org Two", "Tamper Org Three"] {
        let reply = w
            .app
            .patch(
                &format!("/api/customers/{customer}/"),
                &w.app.admin_token,
                json!({ "name": name }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    (w, customer)
}

async fn audit(app: &TestApp) -> Verification {
    chain::verify(&app.ledger.pool, None, &mut |_| {})
        .await
        .expect("the audit runs")
}

async fn audit_against(app: &TestApp, kept: &Digest) -> Verification {
    chain::verify(&app.ledger.pool, Some(kept), &mut |_| {})
        .await
        .expect("the audit runs")
}

/// The digest as staff reads it from the API.
async fn kept_digest(app: &TestApp) -> Digest {
    let reply = app.get(DIGEST, &app.admin_token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    serde_json::from_value(reply.body).expect("a digest")
}

/// The (position, sequence) of each event of the customer, in sequence order.
async fn customer_events(app: &TestApp, customer: &str) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT position, sequence FROM events \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 ORDER BY sequence",
    )
    .bind(customer)
    .fetch_all(&app.ledger.pool)
    .await
    .expect("the customer's events")
}

async fn run(app: &TestApp, sql: &str, customer: &str) -> u64 {
    sqlx::query(sql)
        .bind(customer)
        .execute(&app.ledger.pool)
        .await
        .expect("the tampering runs")
        .rows_affected()
}

/// The single finding of an audit: (position, sequence, problem).
fn only_finding(verification: &Verification) -> (i64, i64, Problem) {
    assert_eq!(
        verification.findings.len(),
        1,
        "{:#?}",
        verification.findings
    );
    let finding = &verification.findings[0];
    (finding.position, finding.sequence, finding.problem.clone())
}

#[tokio::test]
async fn an_untouched_ledger_passes_and_its_digest_is_the_audits_root() {
    // Arrange
    let (w, _) = ledger_with_history().await;

    // Act
    let kept = kept_digest(&w.app).await;
    let verification = audit_against(&w.app, &kept).await;

    // Assert
    assert!(verification.is_intact(), "{verification:#?}");
    assert!(verification.events > 20, "{}", verification.events);
    assert_eq!(verification.events as i64, kept.event_count);
    assert!(verification.digest.same_ledger(&kept), "{verification:#?}");
    assert_eq!(kept.root_hash.len(), 64);
}

#[tokio::test]
async fn a_payload_edited_by_one_byte_is_caught_as_that_event_altered() {
    // Arrange
    let (w, customer) = ledger_with_history().await;
    let (position, _) = customer_events(&w.app, &customer).await[1];

    // Act
    let edited = run(
        &w.app,
        "UPDATE events SET payload = replace(payload::text, 'Org Two', 'Org Twp')::jsonb \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = 2",
        &customer,
    )
    .await;
    let verification = audit(&w.app).await;

    // Assert
    assert_eq!(edited, 1);
    assert_eq!(only_finding(&verification), (position, 2, Problem::Altered));
    assert_eq!(verification.first().unwrap().aggregate_id, customer);
}

#[tokio::test]
async fn an_actor_edited_in_the_metadata_is_caught_as_that_event_altered() {
    // Arrange
    let (w, customer) = ledger_with_history().await;
    let (position, _) = customer_events(&w.app, &customer).await[2];

    // Act
    run(
        &w.app,
        "UPDATE events SET metadata = jsonb_set(metadata, '{actor}', '\"mallory\"') \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = 3",
        &customer,
    )
    .await;
    let verification = audit(&w.app).await;

    // Assert
    assert_eq!(only_finding(&verification), (position, 3, Problem::Altered));
}

#[tokio::test]
async fn a_middle_event_deleted_is_caught_as_removed() {
    // Arrange
    let (w, customer) = ledger_with_history().await;
    let (after_it, _) = customer_events(&w.app, &customer).await[2];

    // Act
    run(
        &w.app,
        "DELETE FROM events \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = 2",
        &customer,
    )
    .await;
    let verification = audit(&w.app).await;

    // Assert
    assert_eq!(
        only_finding(&verification),
        (after_it, 3, Problem::Removed { first: 2, last: 2 })
    );
    assert!(
        verification
            .first()
            .unwrap()
            .to_string()
            .contains("removed"),
        "{}",
        verification.first().unwrap()
    );
}

#[tokio::test]
async fn two_events_swapped_are_caught_as_reordered() {
    // Arrange
    let (w, customer) = ledger_with_history().await;
    let events = customer_events(&w.app, &customer).await;

    // Act: the second and third events exchange their places in the aggregate.
    for sql in [
        "UPDATE events SET sequence = 1000 \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = 2",
        "UPDATE events SET sequence = 2 \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = 3",
        "UPDATE events SET sequence = 3 \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = 1000",
    ] {
        run(&w.app, sql, &customer).await;
    }
    let verification = audit(&w.app).await;

    // Assert: the event now second is the one that was third.
    assert_eq!(
        only_finding(&verification),
        (events[2].0, 2, Problem::Reordered)
    );
}

#[tokio::test]
async fn a_forged_event_is_caught_as_inserted_and_the_ledger_still_starts() {
    // Arrange
    let (w, customer) = ledger_with_history().await;

    // Act: a copy of the customer's last event appended after it, as SQL would.
    let forged: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
         event_version, payload, metadata) \
         SELECT aggregate_type, aggregate_id, sequence + 1, event_type, event_version, \
                payload, metadata \
         FROM events WHERE aggregate_type = 'customer' AND aggregate_id = $1 \
         ORDER BY sequence DESC LIMIT 1 RETURNING position",
    )
    .bind(&customer)
    .fetch_one(&w.app.ledger.pool)
    .await
    .unwrap();
    let verification = audit(&w.app).await;
    let restarted = w.app.restart(LedgerOptions::default(), 0).await;
    let customer_view = restarted
        .get(
            &format!("/api/customers/{customer}/"),
            &restarted.admin_token,
        )
        .await;

    // Assert
    assert_eq!(only_finding(&verification), (forged, 4, Problem::Inserted));
    assert_eq!(
        customer_view.status,
        StatusCode::OK,
        "{}",
        customer_view.text
    );
}

#[tokio::test]
async fn a_forged_event_with_a_made_up_hash_is_caught_as_altered() {
    // Arrange
    let (w, customer) = ledger_with_history().await;

    // Act
    let forged: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
         event_version, payload, metadata, hash) \
         SELECT aggregate_type, aggregate_id, sequence + 1, event_type, event_version, \
                payload, metadata, sha256('forged'::bytea) \
         FROM events WHERE aggregate_type = 'customer' AND aggregate_id = $1 \
         ORDER BY sequence DESC LIMIT 1 RETURNING position",
    )
    .bind(&customer)
    .fetch_one(&w.app.ledger.pool)
    .await
    .unwrap();
    let verification = audit(&w.app).await;

    // Assert
    assert_eq!(only_finding(&verification), (forged, 4, Problem::Altered));
}

#[tokio::test]
async fn the_newest_event_deleted_passes_the_chain_but_not_the_kept_digest() {
    // Arrange
    let (w, _) = ledger_with_history().await;
    let kept = kept_digest(&w.app).await;

    // Act
    let deleted = sqlx::query("DELETE FROM events WHERE position = $1")
        .bind(kept.position)
        .execute(&w.app.ledger.pool)
        .await
        .unwrap()
        .rows_affected();
    let alone = audit(&w.app).await;
    let against_kept = audit_against(&w.app, &kept).await;

    // Assert
    assert_eq!(deleted, 1);
    assert!(alone.is_intact(), "{alone:#?}");
    assert!(against_kept.findings.is_empty());
    let mismatch = against_kept
        .digest_mismatch
        .expect("the digest no longer matches");
    assert_eq!(mismatch.found.event_count, kept.event_count - 1);
    assert!(
        mismatch
            .to_string()
            .contains("1 events up to it were removed"),
        "{mismatch}"
    );
}

#[tokio::test]
async fn a_whole_aggregate_deleted_before_the_digest_is_caught_by_the_digest() {
    // Arrange
    let (w, customer) = ledger_with_history().await;
    let kept = kept_digest(&w.app).await;

    // Act
    let deleted = run(
        &w.app,
        "DELETE FROM events WHERE aggregate_type = 'customer' AND aggregate_id = $1",
        &customer,
    )
    .await;
    let alone = audit(&w.app).await;
    let against_kept = audit_against(&w.app, &kept).await;

    // Assert
    assert_eq!(deleted, 3);
    assert!(alone.is_intact(), "{alone:#?}");
    let mismatch = against_kept
        .digest_mismatch
        .expect("the digest no longer matches");
    assert_eq!(mismatch.found.event_count, kept.event_count - 3);
}

#[tokio::test]
async fn history_rewritten_with_recomputed_hashes_is_caught_by_the_digest() {
    // Arrange
    let (w, customer) = ledger_with_history().await;
    let kept = kept_digest(&w.app).await;

    // Act: the last event renamed, and its hash recomputed as the ledger would.
    run(
        &w.app,
        "UPDATE events SET payload = replace(payload::text, 'Org Three', 'Org Evil')::jsonb \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = 3",
        &customer,
    )
    .await;
    rehash_customer_event(&w.app, &customer, 3).await;
    let alone = audit(&w.app).await;
    let against_kept = audit_against(&w.app, &kept).await;

    // Assert
    assert!(alone.is_intact(), "{alone:#?}");
    let mismatch = against_kept
        .digest_mismatch
        .expect("the digest no longer matches");
    assert_eq!(mismatch.found.event_count, kept.event_count);
    assert_ne!(mismatch.found.root_hash, kept.root_hash);
    assert!(mismatch.to_string().contains("rewritten"), "{mismatch}");
}

/// Stores the hash the ledger would compute for the customer's event `sequence` as it
/// stands now.
async fn rehash_customer_event(app: &TestApp, customer: &str, sequence: i64) {
    let (event_type, event_version, payload, metadata): (String, String, Value, Value) =
        sqlx::query_as(
            "SELECT event_type, event_version, payload, metadata FROM events \
             WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = $2",
        )
        .bind(customer)
        .bind(sequence)
        .fetch_one(&app.ledger.pool)
        .await
        .unwrap();
    let previous: Vec<u8> = sqlx::query_scalar(
        "SELECT hash FROM events \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = $2",
    )
    .bind(customer)
    .bind(sequence - 1)
    .fetch_one(&app.ledger.pool)
    .await
    .unwrap();
    let row = EventRow {
        aggregate_type: "customer",
        aggregate_id: customer,
        sequence,
        event_type: &event_type,
        event_version: &event_version,
        payload: &payload,
        metadata: &metadata,
    };
    sqlx::query(
        "UPDATE events SET hash = $3 \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = $2",
    )
    .bind(customer)
    .bind(sequence)
    .bind(&event_hash(&row, Some(&previous))[..])
    .execute(&app.ledger.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn events_appended_after_a_digest_still_pass_with_it_and_it_can_be_asked_again() {
    // Arrange
    let (w, customer) = ledger_with_history().await;
    let kept = kept_digest(&w.app).await;

    // Act
    w.place(&w.manager, json!({})).await;
    w.app.create_customer("Later Org").await;
    w.app
        .patch(
            &format!("/api/customers/{customer}/"),
            &w.app.admin_token,
            json!({ "name": "Tamper Org Four" }),
        )
        .await;
    let verification = audit_against(&w.app, &kept).await;
    let again = w
        .app
        .get(
            &format!("{DIGEST}?position={}", kept.position),
            &w.app.admin_token,
        )
        .await;
    let now = kept_digest(&w.app).await;

    // Assert
    assert!(verification.is_intact(), "{verification:#?}");
    assert!(verification.events as i64 > kept.event_count);
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let again: Digest = serde_json::from_value(again.body).unwrap();
    assert!(again.same_ledger(&kept), "{again:?} against {kept:?}");
    assert!(now.position > kept.position);
    assert_ne!(now.root_hash, kept.root_hash);
}

#[tokio::test]
async fn the_digest_is_for_staff_and_its_position_is_checked() {
    // Arrange
    let (w, _) = ledger_with_history().await;
    let end = kept_digest(&w.app).await.position;

    // Act
    let anonymous = w
        .app
        .request(reqwest::Method::GET, DIGEST, None, None)
        .await;
    let owner = w.app.get(DIGEST, &w.consumer_owner.token).await;
    let not_a_number = w
        .app
        .get(&format!("{DIGEST}?position=ten"), &w.app.admin_token)
        .await;
    let negative = w
        .app
        .get(&format!("{DIGEST}?position=-1"), &w.app.admin_token)
        .await;
    let beyond = w
        .app
        .get(
            &format!("{DIGEST}?position={}", end + 1000),
            &w.app.admin_token,
        )
        .await;
    let start = w
        .app
        .get(&format!("{DIGEST}?position=0"), &w.app.admin_token)
        .await;

    // Assert
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(owner.status, StatusCode::FORBIDDEN);
    assert_eq!(not_a_number.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        not_a_number.body,
        json!({"position": ["A valid integer is required."]})
    );
    assert_eq!(negative.status, StatusCode::BAD_REQUEST);
    assert_eq!(beyond.status, StatusCode::BAD_REQUEST, "{}", beyond.text);
    assert_eq!(start.status, StatusCode::OK);
    assert_eq!(start.body["event_count"], 0);
    assert_eq!(start.body["root_hash"], hex_of(&chain::EMPTY_ROOT));
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn the_audit_command_exits_0_on_an_intact_ledger_and_1_naming_what_changed() {
    // Arrange
    let (w, customer) = ledger_with_history().await;
    let ledger_cli = |args: &[&str]| {
        let mut all = vec!["audit", "--database-url", &w.app.db.url];
        all.extend_from_slice(args);
        Command::new(env!("CARGO_BIN_EXE_ledger"))
            .args(all)
            .env("RUST_LOG", "error")
            .output()
            .expect("the ledger binary runs")
    };
    let digest = ledger_cli(&["digest"]);
    assert!(digest.status.success(), "{digest:?}");
    let file = std::env::temp_dir().join(format!("digest-{}.json", Uuid::new_v4()));
    std::fs::write(&file, &digest.stdout).unwrap();
    let file = file.to_str().unwrap().to_string();

    // Act
    let intact = ledger_cli(&["verify", "--digest", &file]);
    run(
        &w.app,
        "UPDATE events SET payload = replace(payload::text, 'Org Two', 'Org Twp')::jsonb \
         WHERE aggregate_type = 'customer' AND aggregate_id = $1 AND sequence = 2",
        &customer,
    )
    .await;
    let altered = ledger_cli(&["verify"]);
    run(
        &w.app,
        "DELETE FROM events WHERE aggregate_type = 'customer' AND aggregate_id = $1",
        &customer,
    )
    .await;
    let chain_only = ledger_cli(&["verify"]);
    let truncated = ledger_cli(&["verify", "--digest", &file]);
    let _ = std::fs::remove_file(&file);

    // Assert
    let kept: Digest = serde_json::from_slice(&digest.stdout).expect("the digest is JSON");
    assert!(kept.event_count > 0);
    assert_eq!(intact.status.code(), Some(0), "{intact:?}");
    assert!(String::from_utf8_lossy(&intact.stdout).contains("intact"));
    assert_eq!(altered.status.code(), Some(1), "{altered:?}");
    let stderr = String::from_utf8_lossy(&altered.stderr);
    assert!(
        stderr.contains(&format!("event 2 of customer {customer}")) && stderr.contains("altered"),
        "{stderr}"
    );
    assert_eq!(chain_only.status.code(), Some(0), "{chain_only:?}");
    assert_eq!(truncated.status.code(), Some(1), "{truncated:?}");
    assert!(
        String::from_utf8_lossy(&truncated.stderr).contains("no longer matches the digest"),
        "{truncated:?}"
    );
}

#[tokio::test]
async fn events_written_before_the_chain_are_chained_once_by_migrate() {
    // Arrange: a ledger as an older version left it, then a row written by SQL after the
    // upgrade.
    let (w, _) = ledger_with_history().await;
    let pool = &w.app.ledger.pool;
    sqlx::query("UPDATE events SET hash = NULL")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE event_chain SET backfilled_at = NULL, \
         legacy_through = (SELECT max(position) FROM events)",
    )
    .execute(pool)
    .await
    .unwrap();
    let legacy = w.app.scalar_i64("SELECT count(*) FROM events").await as u64;
    let raw: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
         event_version, payload, metadata) VALUES ('probe', 'raw', 1, 'Probed', '1', '{}', \
         '{}') RETURNING position",
    )
    .fetch_one(pool)
    .await
    .unwrap();

    // Act
    ledger::store::db::migrate(pool).await.unwrap();
    let chained = w
        .app
        .scalar_i64("SELECT count(*) FROM events WHERE hash IS NOT NULL")
        .await as u64;
    let again = ledger::store::chain::backfill::backfill(pool)
        .await
        .unwrap();
    let verification = audit(&w.app).await;

    // Assert
    assert_eq!(chained, legacy);
    assert_eq!(again, 0);
    assert_eq!(only_finding(&verification), (raw, 1, Problem::Inserted));
}

#[tokio::test]
async fn the_hash_is_the_same_from_what_is_written_and_from_what_jsonb_gives_back() {
    // Arrange
    let app = crate::helpers::spawn_app().await;
    let id = Uuid::new_v4().simple().to_string();
    let payloads = [
        json!({"Probed": {"numbers": [1.0, -0.0, 1e16, 1e20, f64::MAX, 5e-324, 0.1, 1e-7,
                                      u64::MAX, i64::MIN, -5.0, 9.223372036854776e18]}}),
        json!({"Probed": {"zz": 1, "a": "é😀\"\\\n", "long key": null, "b": {"y": [], "x": {}}}}),
    ];
    let metadata = json!({"actor": "system", "recorded_at": "2024-01-01T00:00:00.000000Z"});
    let rows: Vec<EventRow<'_>> = payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| EventRow {
            aggregate_type: "probe",
            aggregate_id: &id,
            sequence: i as i64 + 1,
            event_type: "Probed",
            event_version: "1",
            payload,
            metadata: &metadata,
        })
        .collect();

    // Act
    let mut tx = app.ledger.pool.begin().await.unwrap();
    write::append(&mut tx, &rows).await.unwrap();
    tx.commit().await.unwrap();
    let verification = audit(&app).await;

    // Assert
    assert!(verification.is_intact(), "{verification:#?}");
}
