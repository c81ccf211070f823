//! Arrow customer mappings: create, change and delete them. `(arrow_reference, settings)`
//! is unique: the check and the write run under a lock of that pair, so two requests for
//! the same pair cannot both pass it.

use uuid::Uuid;

use super::ArrowAppError;
use crate::app::Ledger;
use crate::app::error::AppError;
use crate::domain::arrow::mapping::{
    ArrowCustomerMapping, MappingChanges, MappingCommand, MappingFields,
};
use crate::read::arrow as read;
use crate::store::locks::KeyLock;
use crate::store::metadata::CommandContext;

/// Waldur's answer to a second mapping of one reference under one settings.
pub const NOT_UNIQUE: &str = "The fields arrow_reference, settings must make a unique set.";

fn lock_key(settings: Uuid, reference: &str) -> String {
    format!("arrow-mapping:{}:{reference}", settings.simple())
}

/// Whether the settings and the customer exist; `missing` words the message for a field.
async fn check_references(
    ledger: &Ledger,
    settings: Option<Uuid>,
    customer: Option<Uuid>,
    missing: impl Fn(Uuid) -> String,
) -> Result<(), ArrowAppError> {
    let mut errors = crate::app::error::FieldErrors::new();
    if let Some(settings) = settings
        && read::settings(&ledger.pool, settings).await?.is_none()
    {
        errors.insert("settings".into(), vec![missing(settings)]);
    }
    if let Some(customer) = customer
        && read::customer(&ledger.pool, customer).await?.is_none()
    {
        errors.insert("waldur_customer".into(), vec![missing(customer)]);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ArrowAppError::App(AppError::Fields(errors)))
    }
}

/// The message for an unknown uuid in a create body.
pub fn unknown_uuid(uuid: Uuid) -> String {
    format!("Object with uuid={} does not exist.", uuid.simple())
}

/// The message for an unknown hyperlink in an update body.
pub fn unknown_hyperlink(_: Uuid) -> String {
    "Invalid hyperlink - Object does not exist.".to_string()
}

/// Creates a mapping; a second one of the same reference under the same settings is
/// refused.
pub async fn create(
    ledger: &Ledger,
    fields: MappingFields,
    ctx: &CommandContext,
) -> Result<Uuid, ArrowAppError> {
    check_references(
        ledger,
        Some(fields.settings_uuid),
        Some(fields.waldur_customer_uuid),
        unknown_uuid,
    )
    .await?;
    let lock = KeyLock::acquire(
        &ledger.pool,
        &lock_key(fields.settings_uuid, &fields.arrow_reference),
    )
    .await?;
    if read::reference_taken(
        &ledger.pool,
        fields.settings_uuid,
        &fields.arrow_reference,
        None,
    )
    .await?
    {
        lock.release().await;
        return Err(ArrowAppError::App(AppError::field(
            "non_field_errors",
            NOT_UNIQUE,
        )));
    }
    let uuid = Uuid::new_v4();
    let outcome = ledger
        .execute::<ArrowCustomerMapping>(
            &uuid.simple().to_string(),
            MappingCommand::Create {
                uuid,
                fields,
                at: ctx.now,
            },
            ctx,
        )
        .await;
    lock.release().await;
    outcome?;
    Ok(uuid)
}

/// Changes a mapping: only what differs becomes an event.
pub async fn update(
    ledger: &Ledger,
    uuid: Uuid,
    changes: MappingChanges,
    ctx: &CommandContext,
) -> Result<(), ArrowAppError> {
    let current = read::mapping(&ledger.pool, uuid)
        .await?
        .ok_or(ArrowAppError::App(AppError::NotFound(
            "ArrowCustomerMapping",
        )))?
        .mapping
        .fields;
    check_references(
        ledger,
        changes.settings_uuid,
        changes.waldur_customer_uuid,
        unknown_hyperlink,
    )
    .await?;
    let settings = changes.settings_uuid.unwrap_or(current.settings_uuid);
    let reference = changes
        .arrow_reference
        .clone()
        .unwrap_or(current.arrow_reference);
    let lock = KeyLock::acquire(&ledger.pool, &lock_key(settings, &reference)).await?;
    if read::reference_taken(&ledger.pool, settings, &reference, Some(uuid)).await? {
        lock.release().await;
        return Err(ArrowAppError::App(AppError::field(
            "non_field_errors",
            NOT_UNIQUE,
        )));
    }
    let outcome = ledger
        .execute::<ArrowCustomerMapping>(
            &uuid.simple().to_string(),
            MappingCommand::Change {
                changes,
                at: ctx.now,
            },
            ctx,
        )
        .await;
    lock.release().await;
    outcome?;
    Ok(())
}

pub async fn delete(
    ledger: &Ledger,
    uuid: Uuid,
    ctx: &CommandContext,
) -> Result<(), ArrowAppError> {
    ledger
        .execute::<ArrowCustomerMapping>(
            &uuid.simple().to_string(),
            MappingCommand::Delete { at: ctx.now },
            ctx,
        )
        .await?;
    Ok(())
}
