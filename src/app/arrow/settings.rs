//! Arrow settings: create, change and delete them (with their key in the secrets table and
//! the partner Arrow names), check credentials, preview a setup and save one with its
//! customer mappings.

use serde_json::Value;
use uuid::Uuid;

use super::{ArrowAppError, SECRET_OWNER, client, mappings, settings_client};
use crate::app::Ledger;
use crate::app::error::AppError;
use crate::clients::arrow::{ArrowClient, validate_api_url};
use crate::domain::arrow::mapping::MappingFields;
use crate::domain::arrow::settings::{
    ArrowSettings, ArrowSettingsCommand, SettingsChanges, SettingsFields,
};
use crate::read::arrow as read;
use crate::store::metadata::CommandContext;

/// Who the Arrow account belongs to, from `whoami`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerInfo {
    pub reference: String,
    pub company_name: String,
    pub email: String,
    pub city: String,
    pub country_code: String,
}

/// Reads `whoami`: Waldur treats any top-level status but 200 as invalid credentials.
pub fn partner_info(whoami: &Value) -> Result<PartnerInfo, String> {
    if whoami.get("status").and_then(Value::as_i64) != Some(200) {
        return Err("Unexpected response status".to_string());
    }
    let data = whoami.get("data").cloned().unwrap_or(Value::Null);
    let text = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Ok(PartnerInfo {
        reference: text("reference"),
        company_name: text("companyName"),
        email: text("emailContact"),
        city: text("city"),
        country_code: text("countryCode"),
    })
}

async fn whoami(client: &ArrowClient) -> Result<PartnerInfo, String> {
    let body = client.whoami().await.map_err(|e| e.to_string())?;
    partner_info(&body)
}

fn checked_url(api_url: &str) -> Result<String, ArrowAppError> {
    validate_api_url(api_url)
        .map_err(|err| ArrowAppError::App(AppError::field("api_url", err.to_string())))
}

async fn found(ledger: &Ledger, uuid: Uuid) -> Result<ArrowSettings, ArrowAppError> {
    read::settings(&ledger.pool, uuid)
        .await?
        .ok_or(ArrowAppError::App(AppError::NotFound("ArrowSettings")))
}

/// Creates settings, then asks Arrow who the partner is (an Arrow failure leaves the
/// partner empty).
pub async fn create(
    ledger: &Ledger,
    mut fields: SettingsFields,
    api_key: &str,
    ctx: &CommandContext,
) -> Result<Uuid, ArrowAppError> {
    fields.api_url = checked_url(&fields.api_url)?;
    let uuid = Uuid::new_v4();
    let key = ledger.secrets.store(SECRET_OWNER, uuid, api_key).await?;
    let command = ArrowSettingsCommand::Create {
        uuid,
        fields,
        api_key: key.clone(),
        at: ctx.now,
    };
    if let Err(err) = ledger
        .execute::<ArrowSettings>(&uuid.simple().to_string(), command, ctx)
        .await
    {
        ledger.secrets.delete(key.id).await?;
        return Err(err.into());
    }
    refresh_partner(ledger, uuid, ctx).await?;
    Ok(uuid)
}

/// Changes settings: only what differs becomes an event. A new key replaces the stored
/// one; no key keeps it. Then asks Arrow who the partner is.
pub async fn update(
    ledger: &Ledger,
    uuid: Uuid,
    mut changes: SettingsChanges,
    api_key: Option<&str>,
    ctx: &CommandContext,
) -> Result<(), ArrowAppError> {
    let current = found(ledger, uuid).await?;
    if let Some(url) = &changes.api_url {
        changes.api_url = Some(checked_url(url)?);
    }
    let new_key = match api_key {
        Some(key) => {
            let fingerprint = ledger.secrets.fingerprint(key)?;
            (current.api_key.as_ref().map(|k| &k.fingerprint) != Some(&fingerprint)).then_some(key)
        }
        None => None,
    };
    changes.api_key = match new_key {
        Some(key) => Some(ledger.secrets.store(SECRET_OWNER, uuid, key).await?),
        None => None,
    };
    let stored = changes.api_key.clone();
    let command = ArrowSettingsCommand::Change {
        changes,
        at: ctx.now,
    };
    match ledger
        .execute::<ArrowSettings>(&uuid.simple().to_string(), command, ctx)
        .await
    {
        Ok(()) => {
            if let Some(stored) = stored {
                ledger
                    .secrets
                    .delete_others(SECRET_OWNER, uuid, Some(stored.id))
                    .await?;
            }
        }
        Err(err) => {
            if let Some(stored) = stored {
                ledger.secrets.delete(stored.id).await?;
            }
            return Err(err.into());
        }
    }
    refresh_partner(ledger, uuid, ctx).await
}

/// Records what Arrow's `whoami` says about the partner; an Arrow failure changes nothing.
async fn refresh_partner(
    ledger: &Ledger,
    uuid: Uuid,
    ctx: &CommandContext,
) -> Result<(), ArrowAppError> {
    let settings = found(ledger, uuid).await?;
    let partner = match settings_client(ledger, &settings).await {
        Ok(client) => whoami(&client).await,
        Err(err) => Err(err),
    };
    let partner = match partner {
        Ok(partner) => partner,
        Err(err) => {
            tracing::info!(settings = %uuid, error = %err, "Arrow did not say who the partner is");
            return Ok(());
        }
    };
    let command = ArrowSettingsCommand::Change {
        changes: SettingsChanges {
            partner_reference: Some(partner.reference),
            partner_name: Some(partner.company_name),
            ..Default::default()
        },
        at: ctx.now,
    };
    ledger
        .execute::<ArrowSettings>(&uuid.simple().to_string(), command, ctx)
        .await?;
    Ok(())
}

/// Deletes settings with their mappings and their key.
pub async fn delete(
    ledger: &Ledger,
    uuid: Uuid,
    ctx: &CommandContext,
) -> Result<(), ArrowAppError> {
    found(ledger, uuid).await?;
    for mapping in read::mappings_of_settings(&ledger.pool, uuid).await? {
        mappings::delete(ledger, mapping, ctx).await?;
    }
    ledger
        .execute::<ArrowSettings>(
            &uuid.simple().to_string(),
            ArrowSettingsCommand::Delete { at: ctx.now },
            ctx,
        )
        .await?;
    ledger
        .secrets
        .delete_others(SECRET_OWNER, uuid, None)
        .await?;
    Ok(())
}

/// The outcome of checking credentials: always an answer, never a failure.
#[derive(Debug, Clone)]
pub enum Validation {
    Valid {
        partner: PartnerInfo,
        /// Arrow's export types as received (an empty list when they could not be read).
        export_types: Value,
    },
    Invalid(String),
}

pub async fn validate_credentials(ledger: &Ledger, api_url: &str, api_key: &str) -> Validation {
    let client = match client(ledger, api_url, api_key) {
        Ok(client) => client,
        Err(err) => return Validation::Invalid(err),
    };
    match whoami(&client).await {
        Ok(partner) => Validation::Valid {
            partner,
            export_types: client
                .export_types()
                .await
                .unwrap_or_else(|_| Value::Array(Vec::new())),
        },
        Err(err) => Validation::Invalid(err),
    }
}

/// A setup as `preview_settings` and `save_settings` take it.
#[derive(Debug, Clone)]
pub struct Setup {
    pub api_url: String,
    pub api_key: String,
    pub export_type_reference: String,
    pub classification_filter: String,
    pub sync_enabled: bool,
}

/// Asks Arrow who the partner is; stores nothing.
pub async fn preview(
    ledger: &Ledger,
    setup: &Setup,
) -> Result<(PartnerInfo, ArrowClient), ArrowAppError> {
    let client = client(ledger, &setup.api_url, &setup.api_key).map_err(ArrowAppError::Refused)?;
    let partner = whoami(&client).await.map_err(ArrowAppError::Refused)?;
    Ok((partner, client))
}

/// Saves a setup: every active settings is deactivated, new active settings are created,
/// and each mapping whose customer exists and whose reference is new is created with the
/// company name Arrow gives. Answers the new settings and how many mappings were created.
pub async fn save(
    ledger: &Ledger,
    setup: Setup,
    customer_mappings: Vec<(String, Uuid)>,
    ctx: &CommandContext,
) -> Result<(Uuid, usize), ArrowAppError> {
    let (partner, client) = preview(ledger, &setup).await?;
    for active in read::active_settings_uuids(&ledger.pool).await? {
        let command = ArrowSettingsCommand::Change {
            changes: SettingsChanges {
                is_active: Some(false),
                ..Default::default()
            },
            at: ctx.now,
        };
        ledger
            .execute::<ArrowSettings>(&active.simple().to_string(), command, ctx)
            .await?;
    }
    let fields = SettingsFields {
        api_url: setup.api_url,
        export_type_reference: setup.export_type_reference,
        classification_filter: setup.classification_filter,
        sync_enabled: setup.sync_enabled,
        is_active: true,
        ..Default::default()
    };
    let url = checked_url(&fields.api_url)?;
    let uuid = Uuid::new_v4();
    let key = ledger
        .secrets
        .store(SECRET_OWNER, uuid, &setup.api_key)
        .await?;
    let command = ArrowSettingsCommand::Create {
        uuid,
        fields: SettingsFields {
            api_url: url,
            ..fields
        },
        api_key: key.clone(),
        at: ctx.now,
    };
    if let Err(err) = ledger
        .execute::<ArrowSettings>(&uuid.simple().to_string(), command, ctx)
        .await
    {
        ledger.secrets.delete(key.id).await?;
        return Err(err.into());
    }
    let partner_command = ArrowSettingsCommand::Change {
        changes: SettingsChanges {
            partner_reference: Some(partner.reference),
            partner_name: Some(partner.company_name),
            ..Default::default()
        },
        at: ctx.now,
    };
    ledger
        .execute::<ArrowSettings>(&uuid.simple().to_string(), partner_command, ctx)
        .await?;

    let mut created = 0;
    for (reference, customer) in customer_mappings {
        if read::customer(&ledger.pool, customer).await?.is_none() {
            continue;
        }
        let company_name = match client.customer(&reference).await {
            Ok(Some(found)) => found.company_name,
            _ => String::new(),
        };
        let fields = MappingFields {
            settings_uuid: uuid,
            arrow_reference: reference,
            arrow_company_name: company_name,
            waldur_customer_uuid: customer,
            is_active: true,
        };
        match mappings::create(ledger, fields, ctx).await {
            Ok(_) => created += 1,
            Err(ArrowAppError::App(AppError::Fields(_))) => continue,
            Err(err) => return Err(err),
        }
    }
    Ok((uuid, created))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whoami_with_another_status_is_not_valid() {
        let body = json!({"status": 401, "data": {}});
        assert_eq!(
            partner_info(&body).unwrap_err(),
            "Unexpected response status"
        );
    }

    #[test]
    fn whoami_names_the_partner() {
        let body = json!({"status": 200, "data": {"reference": "XSP1", "companyName": "P Oy",
            "emailContact": "a@p.example", "city": "Espoo", "countryCode": "FI"}});
        let partner = partner_info(&body).unwrap();
        assert_eq!(partner.reference, "XSP1");
        assert_eq!(partner.company_name, "P Oy");
        assert_eq!(partner.email, "a@p.example");
        assert_eq!(partner.country_code, "FI");
    }
}
