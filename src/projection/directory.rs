//! Applying directory events (users, customers, projects, categories, service providers) to
//! the tables of `projections/directory.sql`, one statement per event. Table names are
//! unqualified: the projector's transaction chooses the schema through its `search_path`.

use anyhow::Context;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::category::CategoryEvent;
use crate::domain::customer::{CustomerDetails, CustomerEvent};
use crate::domain::project::{ProjectDetails, ProjectEvent};
use crate::domain::service_provider::ServiceProviderEvent;
use crate::domain::user::UserEvent;
use crate::store::log::StoredEvent;

/// Records a slug as taken for good.
async fn take_slug(conn: &mut PgConnection, kind: &str, slug: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO slugs (kind, slug) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(kind)
        .bind(slug)
        .execute(conn)
        .await?;
    Ok(())
}

/// The uuid an aggregate id stands for, and the creator named in the event metadata.
fn ids(event: &StoredEvent) -> anyhow::Result<(Uuid, Option<Uuid>)> {
    let id = Uuid::parse_str(&event.aggregate_id)
        .with_context(|| format!("aggregate id {} is not a uuid", event.aggregate_id))?;
    let actor = Uuid::parse_str(event.meta("actor_uuid")).ok();
    Ok((id, actor))
}

pub async fn apply_user(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    event: UserEvent,
) -> anyhow::Result<()> {
    let (id, _) = ids(stored)?;
    match event {
        UserEvent::UserCreated {
            username,
            slug,
            profile,
            is_staff,
            is_support,
            at,
            ..
        } => {
            sqlx::query(
                "INSERT INTO users (uuid, username, email, first_name, last_name, \
                 full_name, organization, job_title, phone_number, description, is_staff, \
                 is_support, is_active, date_joined, modified, last_seq, slug) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,true,$13,$13,$14,$15) \
                 ON CONFLICT (uuid) DO NOTHING",
            )
            .bind(id)
            .bind(&username)
            .bind(&profile.email)
            .bind(&profile.first_name)
            .bind(&profile.last_name)
            .bind(profile.full_name())
            .bind(&profile.organization)
            .bind(&profile.job_title)
            .bind(&profile.phone_number)
            .bind(&profile.description)
            .bind(is_staff)
            .bind(is_support)
            .bind(at)
            .bind(stored.sequence)
            .bind(&slug)
            .execute(&mut *conn)
            .await?;
            take_slug(conn, "users", &slug).await?;
        }
        UserEvent::UserUpdated {
            profile,
            is_staff,
            is_support,
            is_active,
            at,
        } => {
            sqlx::query(
                "UPDATE users SET email=$2, first_name=$3, last_name=$4, \
                 full_name=$5, organization=$6, job_title=$7, phone_number=$8, \
                 description=$9, is_staff=$10, is_support=$11, is_active=$12, modified=$13, \
                 last_seq=$14 WHERE uuid=$1 AND last_seq < $14",
            )
            .bind(id)
            .bind(&profile.email)
            .bind(&profile.first_name)
            .bind(&profile.last_name)
            .bind(profile.full_name())
            .bind(&profile.organization)
            .bind(&profile.job_title)
            .bind(&profile.phone_number)
            .bind(&profile.description)
            .bind(is_staff)
            .bind(is_support)
            .bind(is_active)
            .bind(at)
            .bind(stored.sequence)
            .execute(&mut *conn)
            .await?;
        }
        UserEvent::AuditorRoleGranted { .. } => {
            sqlx::query(
                "UPDATE users SET is_auditor = true, last_seq = $2 \
                 WHERE uuid = $1 AND last_seq < $2",
            )
            .bind(id)
            .bind(stored.sequence)
            .execute(&mut *conn)
            .await?;
        }
        UserEvent::TokenIssued { token_hash, at } => {
            sqlx::query(
                "INSERT INTO user_tokens (token_hash, user_uuid, created) \
                 VALUES ($1, $2, $3) ON CONFLICT (token_hash) DO NOTHING",
            )
            .bind(&token_hash)
            .bind(id)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

const CUSTOMER_DETAIL_COLUMNS: &str = "name, native_name, abbreviation, contact_details, \
    agreement_number, email, phone_number, access_subnets, registration_code, homepage, \
    domain, vat_code, postal, address, bank_name, bank_account, country, backend_id, \
    latitude, longitude";

/// Binds the twenty detail columns, in `CUSTOMER_DETAIL_COLUMNS` order.
fn bind_customer_details<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    d: &'q CustomerDetails,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(&d.name)
        .bind(&d.native_name)
        .bind(&d.abbreviation)
        .bind(&d.contact_details)
        .bind(&d.agreement_number)
        .bind(&d.email)
        .bind(&d.phone_number)
        .bind(&d.access_subnets)
        .bind(&d.registration_code)
        .bind(&d.homepage)
        .bind(&d.domain)
        .bind(&d.vat_code)
        .bind(&d.postal)
        .bind(&d.address)
        .bind(&d.bank_name)
        .bind(&d.bank_account)
        .bind(&d.country)
        .bind(&d.backend_id)
        .bind(d.latitude)
        .bind(d.longitude)
}

/// Sets one column of a customer row, guarded by the row's last applied sequence.
async fn set_customer_flag(
    conn: &mut PgConnection,
    id: Uuid,
    seq: i64,
    column: &str,
    value: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<()> {
    let sql = format!(
        "UPDATE customers SET {column}=$2, modified=$3, last_seq=$4 \
         WHERE uuid=$1 AND last_seq < $4"
    );
    sqlx::query(&sql)
        .bind(id)
        .bind(value)
        .bind(at)
        .bind(seq)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn apply_customer(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    event: CustomerEvent,
) -> anyhow::Result<()> {
    let (id, actor) = ids(stored)?;
    let seq = stored.sequence;
    match event {
        CustomerEvent::CustomerCreated {
            slug, details, at, ..
        } => {
            let sql = format!(
                "INSERT INTO customers (uuid, slug, created, modified, last_seq, \
                 {CUSTOMER_DETAIL_COLUMNS}) VALUES ($1,$2,$3,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,\
                 $13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24) ON CONFLICT (uuid) DO NOTHING"
            );
            let query = sqlx::query(&sql).bind(id).bind(&slug).bind(at).bind(seq);
            bind_customer_details(query, &details)
                .execute(&mut *conn)
                .await?;
            take_slug(conn, "customers", &slug).await?;
        }
        CustomerEvent::CustomerUpdated { details, at } => {
            let assignments: Vec<String> = CUSTOMER_DETAIL_COLUMNS
                .split(',')
                .map(str::trim)
                .enumerate()
                .map(|(i, column)| format!("{column}=${}", i + 4))
                .collect();
            let sql = format!(
                "UPDATE customers SET modified=$2, last_seq=$3, {} \
                 WHERE uuid=$1 AND last_seq < $3",
                assignments.join(", ")
            );
            let query = sqlx::query(&sql).bind(id).bind(at).bind(seq);
            bind_customer_details(query, &details)
                .execute(&mut *conn)
                .await?;
        }
        CustomerEvent::CustomerBlocked { at } => {
            set_customer_flag(conn, id, seq, "blocked", true, at).await?
        }
        CustomerEvent::CustomerUnblocked { at } => {
            set_customer_flag(conn, id, seq, "blocked", false, at).await?
        }
        CustomerEvent::CustomerArchived { at } => {
            set_customer_flag(conn, id, seq, "archived", true, at).await?
        }
        CustomerEvent::CustomerUnarchived { at } => {
            set_customer_flag(conn, id, seq, "archived", false, at).await?
        }
        CustomerEvent::CustomerRoleGranted {
            user_uuid,
            role,
            expiration_time,
            granted_by,
            at,
        } => {
            grant_role(
                conn,
                "customer",
                id,
                user_uuid,
                &role,
                expiration_time,
                at,
                granted_by,
            )
            .await?
        }
        CustomerEvent::CustomerRoleUpdated {
            user_uuid,
            role,
            expiration_time,
            at,
        } => {
            grant_role(
                conn,
                "customer",
                id,
                user_uuid,
                &role,
                expiration_time,
                at,
                actor,
            )
            .await?
        }
        CustomerEvent::CustomerRoleRevoked {
            user_uuid, role, ..
        } => revoke_role(conn, "customer", id, user_uuid, &role).await?,
        CustomerEvent::CustomerRegisteredAsServiceProvider {
            service_provider_uuid,
            at,
        } => {
            sqlx::query(
                "UPDATE customers SET service_provider_uuid=$2, modified=$3, \
                 last_seq=$4 WHERE uuid=$1 AND last_seq < $4",
            )
            .bind(id)
            .bind(service_provider_uuid)
            .bind(at)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        }
        CustomerEvent::CustomerDeleted { .. } => {
            sqlx::query("DELETE FROM customers WHERE uuid=$1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM user_roles WHERE scope_type='customer' AND scope_uuid=$1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Records a role grant (or a new expiry of an existing one); idempotent.
#[allow(clippy::too_many_arguments)]
async fn grant_role(
    conn: &mut PgConnection,
    scope_type: &str,
    scope_uuid: Uuid,
    user_uuid: Uuid,
    role: &str,
    expiration_time: Option<chrono::DateTime<chrono::Utc>>,
    at: chrono::DateTime<chrono::Utc>,
    created_by: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO user_roles (scope_type, scope_uuid, user_uuid, role, \
         expiration_time, created, created_by) VALUES ($1,$2,$3,$4,$5,$6,$7) \
         ON CONFLICT (scope_type, scope_uuid, user_uuid, role) \
         DO UPDATE SET expiration_time = EXCLUDED.expiration_time",
    )
    .bind(scope_type)
    .bind(scope_uuid)
    .bind(user_uuid)
    .bind(role)
    .bind(expiration_time)
    .bind(at)
    .bind(created_by)
    .execute(conn)
    .await?;
    Ok(())
}

async fn revoke_role(
    conn: &mut PgConnection,
    scope_type: &str,
    scope_uuid: Uuid,
    user_uuid: Uuid,
    role: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM user_roles \
         WHERE scope_type=$1 AND scope_uuid=$2 AND user_uuid=$3 AND role=$4",
    )
    .bind(scope_type)
    .bind(scope_uuid)
    .bind(user_uuid)
    .bind(role)
    .execute(conn)
    .await?;
    Ok(())
}

fn bind_project_details<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    d: &'q ProjectDetails,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.backend_id)
        .bind(d.start_date)
        .bind(&d.oecd_fos_2007_code)
        .bind(d.is_industry)
}

pub async fn apply_project(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    event: ProjectEvent,
) -> anyhow::Result<()> {
    let (id, actor) = ids(stored)?;
    let seq = stored.sequence;
    match event {
        ProjectEvent::ProjectCreated {
            customer_uuid,
            slug,
            details,
            end_date,
            at,
            ..
        } => {
            let query = sqlx::query(
                "INSERT INTO projects (uuid, customer_uuid, slug, end_date, created, \
                 modified, last_seq, name, description, backend_id, start_date, \
                 oecd_fos_2007_code, is_industry) \
                 VALUES ($1,$2,$3,$4,$5,$5,$6,$7,$8,$9,$10,$11,$12) \
                 ON CONFLICT (uuid) DO NOTHING",
            )
            .bind(id)
            .bind(customer_uuid)
            .bind(&slug)
            .bind(end_date)
            .bind(at)
            .bind(seq);
            bind_project_details(query, &details)
                .execute(&mut *conn)
                .await?;
            take_slug(conn, "projects", &slug).await?;
        }
        ProjectEvent::ProjectUpdated { details, at } => {
            let query = sqlx::query(
                "UPDATE projects SET modified=$2, last_seq=$3, name=$4, \
                 description=$5, backend_id=$6, start_date=$7, oecd_fos_2007_code=$8, \
                 is_industry=$9 WHERE uuid=$1 AND last_seq < $3",
            )
            .bind(id)
            .bind(at)
            .bind(seq);
            bind_project_details(query, &details)
                .execute(&mut *conn)
                .await?;
        }
        ProjectEvent::ProjectEndDateSet {
            end_date,
            requested_by,
            at,
        } => {
            sqlx::query(
                "UPDATE projects SET end_date=$2, end_date_requested_by=$3, \
                 modified=$4, last_seq=$5 WHERE uuid=$1 AND last_seq < $5",
            )
            .bind(id)
            .bind(end_date)
            .bind(requested_by)
            .bind(at)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::ProjectRoleGranted {
            user_uuid,
            role,
            expiration_time,
            granted_by,
            at,
        } => {
            grant_role(
                conn,
                "project",
                id,
                user_uuid,
                &role,
                expiration_time,
                at,
                granted_by,
            )
            .await?
        }
        ProjectEvent::ProjectRoleUpdated {
            user_uuid,
            role,
            expiration_time,
            at,
        } => {
            grant_role(
                conn,
                "project",
                id,
                user_uuid,
                &role,
                expiration_time,
                at,
                actor,
            )
            .await?
        }
        ProjectEvent::ProjectRoleRevoked {
            user_uuid, role, ..
        } => revoke_role(conn, "project", id, user_uuid, &role).await?,
        ProjectEvent::ProjectDeleted { .. } => {
            sqlx::query("DELETE FROM projects WHERE uuid=$1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM user_roles WHERE scope_type='project' AND scope_uuid=$1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

pub async fn apply_category(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    event: CategoryEvent,
) -> anyhow::Result<()> {
    let (id, _) = ids(stored)?;
    let seq = stored.sequence;
    match event {
        CategoryEvent::CategoryCreated { details, at, .. } => {
            sqlx::query(
                "INSERT INTO categories (uuid, title, description, \
                 default_vm_category, default_volume_category, default_tenant_category, \
                 created, modified, last_seq) VALUES ($1,$2,$3,$4,$5,$6,$7,$7,$8) \
                 ON CONFLICT (uuid) DO NOTHING",
            )
            .bind(id)
            .bind(&details.title)
            .bind(&details.description)
            .bind(details.default_vm_category)
            .bind(details.default_volume_category)
            .bind(details.default_tenant_category)
            .bind(at)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        }
        CategoryEvent::CategoryUpdated { details, at } => {
            sqlx::query(
                "UPDATE categories SET title=$2, description=$3, \
                 default_vm_category=$4, default_volume_category=$5, \
                 default_tenant_category=$6, modified=$7, last_seq=$8 \
                 WHERE uuid=$1 AND last_seq < $8",
            )
            .bind(id)
            .bind(&details.title)
            .bind(&details.description)
            .bind(details.default_vm_category)
            .bind(details.default_volume_category)
            .bind(details.default_tenant_category)
            .bind(at)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        }
        CategoryEvent::CategoryDeleted { .. } => {
            sqlx::query("DELETE FROM categories WHERE uuid=$1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

pub async fn apply_service_provider(
    conn: &mut PgConnection,
    stored: &StoredEvent,
    event: ServiceProviderEvent,
) -> anyhow::Result<()> {
    let (id, _) = ids(stored)?;
    let seq = stored.sequence;
    match event {
        ServiceProviderEvent::ServiceProviderRegistered {
            customer_uuid,
            description,
            enable_notifications,
            at,
            ..
        } => {
            sqlx::query(
                "INSERT INTO service_providers (uuid, customer_uuid, description, \
                 enable_notifications, created, modified, last_seq) \
                 VALUES ($1,$2,$3,$4,$5,$5,$6) ON CONFLICT (uuid) DO NOTHING",
            )
            .bind(id)
            .bind(customer_uuid)
            .bind(&description)
            .bind(enable_notifications)
            .bind(at)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        }
        ServiceProviderEvent::ServiceProviderUpdated {
            description,
            enable_notifications,
            at,
        } => {
            sqlx::query(
                "UPDATE service_providers SET description=$2, \
                 enable_notifications=$3, modified=$4, last_seq=$5 \
                 WHERE uuid=$1 AND last_seq < $5",
            )
            .bind(id)
            .bind(&description)
            .bind(enable_notifications)
            .bind(at)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}
