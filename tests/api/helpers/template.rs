//! The migrated template every test database is cloned from, after crates.io's
//! `crates_io_test_db`: migrations and read-model tables are made once per schema, and a
//! test pays only for `CREATE DATABASE … TEMPLATE`.
//!
//! The template is named after a hash of `migrations/*.sql` and `projections/*.sql`, so a
//! changed schema gets a new template and an existing one is reused across runs. It holds
//! no events: each test's server still bootstraps its own admin.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ledger::app::{Ledger, LedgerOptions};
use ledger::config::DatabaseConfig;
use ledger::permissions::Permissions;
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

use super::server_url;

/// The advisory lock that lets one test process at a time build a template.
const LOCK_KEY: i64 = 0x6c65_6467_6572_7470;

/// The template's name, once this process has made sure it exists.
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The name of the template database, building it first if no process has yet.
pub async fn name() -> String {
    TEMPLATE.get_or_init(prepare).await.clone()
}

/// Creates database `name` as a copy of `template`.
pub async fn clone_into(template: &str, name: &str) {
    let mut admin = connect_admin().await;
    let sql = format!("CREATE DATABASE {name} TEMPLATE {template}");
    // PostgreSQL refuses to copy a database someone is connected to; only a builder that
    // has not finished closing could be, so a short wait is enough.
    for attempt in 0.. {
        match sqlx::query(&sql).execute(&mut admin).await {
            Ok(_) => break,
            Err(err) if attempt < 50 && is_in_use(&err) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("cloning {template} into {name}: {err}"),
        }
    }
    let _ = admin.close().await;
}

fn is_in_use(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "55006")
}

async fn connect_admin() -> PgConnection {
    PgConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .expect("connecting to the test database server")
}

async fn prepare() -> String {
    let name = format!("ledger_template_{}", schema_hash());
    let mut admin = connect_admin().await;
    // Session-level, so concurrent test processes wait here until the builder is done.
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut admin)
        .await
        .expect("taking the template lock");
    if !exists(&mut admin, &name).await {
        build(&mut admin, &name).await;
    }
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut admin)
        .await
        .expect("releasing the template lock");
    let _ = admin.close().await;
    name
}

async fn exists(admin: &mut PgConnection, name: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(admin)
        .await
        .expect("looking for the template")
}

/// Migrates and creates the read models as `server::Application::build` does, under a
/// working name renamed at the end: an interrupted build never passes for a template.
/// Templates of older schemas are left alone, since another checkout sharing this server
/// may still clone them.
async fn build(admin: &mut PgConnection, name: &str) {
    let building = format!("{name}_building");
    for sql in [
        format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
        format!("CREATE DATABASE {building}"),
    ] {
        sqlx::query(&sql)
            .execute(&mut *admin)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"));
    }
    let config = DatabaseConfig {
        database_url: format!("{}/{building}", server_url()),
        max_connections: 2,
    };
    let pool = ledger::store::db::connect(&config)
        .await
        .expect("connecting to the template");
    ledger::store::db::migrate(&pool)
        .await
        .expect("migrating the template");
    let permissions = Permissions::load(None).expect("the built-in permissions");
    let ledger = Ledger::new(pool.clone(), permissions, LedgerOptions::default());
    ledger
        .projector
        .ensure_ready()
        .await
        .expect("creating the template's read models");
    drop(ledger);
    // Every connection must be gone before the database can be renamed or copied.
    pool.close().await;
    let sql = format!("ALTER DATABASE {building} RENAME TO {name}");
    sqlx::query(&sql)
        .execute(&mut *admin)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
}

/// The first 12 hex digits of a SHA-256 over the names and contents of the schema files.
fn schema_hash() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut hasher = Sha256::new();
    for dir in ["migrations", "projections"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|err| panic!("reading {dir}/: {err}"))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        for file in files {
            let relative = file.strip_prefix(root).expect("under the crate root");
            hasher.update(relative.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update(std::fs::read(&file).expect("a schema file"));
            hasher.update([0]);
        }
    }
    hex::encode(hasher.finalize())[..12].to_string()
}
