//! Arrow licenses as local resources: importing a license creates a running resource and
//! its audit order in one transaction (no approval flow, reviewed by the caller); linking
//! makes an existing resource the license's. Neither calls Arrow.

use std::collections::BTreeMap;

use serde_json::Map;
use uuid::Uuid;

use super::ArrowAppError;
use crate::app::Ledger;
use crate::app::error::AppError;
use crate::domain::offering::Offering;
use crate::domain::offering::pricing::order_prices;
use crate::domain::order::{Order, OrderCommand, OrderSpec, OrderType};
use crate::domain::resource::{Resource, ResourceCommand, ResourceSpec};
use crate::read::arrow::{self as read, MappingRow};
use crate::store::locks::KeyLock;
use crate::store::metadata::CommandContext;
use crate::store::together::PairError;

/// A license to import.
#[derive(Debug, Clone)]
pub struct Import {
    pub license_reference: String,
    pub offering_uuid: Uuid,
    pub project_uuid: Uuid,
    /// The resource's name; the reference when not given.
    pub license_name: Option<String>,
}

/// What an import created.
#[derive(Debug, Clone)]
pub struct Imported {
    pub resource_uuid: Uuid,
    pub order_uuid: Uuid,
    pub resource_name: String,
    pub offering_name: String,
    pub project_name: String,
}

/// What a link changed.
#[derive(Debug, Clone)]
pub struct Linked {
    pub resource_name: String,
    pub previous_backend_id: String,
}

pub async fn mapping(ledger: &Ledger, uuid: Uuid) -> Result<MappingRow, ArrowAppError> {
    read::mapping(&ledger.pool, uuid)
        .await?
        .ok_or(ArrowAppError::App(AppError::NotFound(
            "ArrowCustomerMapping",
        )))
}

/// Imports a license of the mapped customer as a running resource of the offering in the
/// project, with a done Create order reviewed by `caller`. A license already imported
/// under the offering (a resource of it has the reference as its backend id) is refused,
/// also when two imports run at once.
pub async fn import(
    ledger: &Ledger,
    mapping_uuid: Uuid,
    import: Import,
    caller: Uuid,
    ctx: &CommandContext,
) -> Result<Imported, ArrowAppError> {
    let mapping = mapping(ledger, mapping_uuid).await?.mapping;
    let offering_row = crate::read::offerings::find(&ledger.pool, import.offering_uuid)
        .await?
        .ok_or_else(|| {
            ArrowAppError::Missing(format!("Offering {} not found", import.offering_uuid))
        })?;
    let offering: Offering = serde_json::from_value(offering_row.document)
        .map_err(|e| AppError::Store(anyhow::Error::new(e).context("an offering document")))?;
    if offering.deleted {
        return Err(ArrowAppError::Missing(format!(
            "Offering {} not found",
            import.offering_uuid
        )));
    }
    let project = read::project(&ledger.pool, import.project_uuid)
        .await?
        .filter(|p| p.customer_uuid == mapping.fields.waldur_customer_uuid)
        .ok_or_else(|| {
            ArrowAppError::Missing(format!(
                "Project {} not found for this customer",
                import.project_uuid
            ))
        })?;

    let reference = import.license_reference;
    let lock = KeyLock::acquire(
        &ledger.pool,
        &format!("arrow-import:{}:{reference}", import.offering_uuid.simple()),
    )
    .await?;
    if read::backend_id_taken(&ledger.pool, import.offering_uuid, &reference).await? {
        lock.release().await;
        return Err(ArrowAppError::Refused(format!(
            "License {reference} has already been imported"
        )));
    }

    let plan = offering.plans.iter().find(|p| !p.archived);
    let limits = BTreeMap::new();
    let prices = order_prices(&offering, plan, &limits, OrderType::Create).map_err(|_| {
        ArrowAppError::Refused("The offering's plan prices cannot be applied.".to_string())
    })?;
    let name = import
        .license_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| reference.clone());
    let slug = crate::read::slugs::base(&name);
    let resource_uuid = Uuid::new_v4();
    let order_uuid = Uuid::new_v4();
    let resource = ResourceCommand::Create {
        spec: Box::new(ResourceSpec {
            uuid: resource_uuid,
            offering_uuid: import.offering_uuid,
            project_uuid: project.uuid,
            customer_uuid: project.customer_uuid,
            plan_uuid: plan.map(|p| p.uuid),
            name: name.clone(),
            limits: limits.clone(),
            attributes: Map::new(),
            end_date: None,
            end_date_requested_by: None,
            slug: slug.clone(),
        }),
        backend_id: reference.clone(),
        running: true,
        at: ctx.now,
    };
    let spec = OrderSpec {
        uuid: order_uuid,
        order_type: OrderType::Create,
        resource_uuid,
        offering_uuid: import.offering_uuid,
        project_uuid: project.uuid,
        customer_uuid: project.customer_uuid,
        provider_customer_uuid: offering.customer_uuid,
        plan_uuid: plan.map(|p| p.uuid),
        old_plan_uuid: None,
        limits: limits.clone(),
        old_limits: BTreeMap::new(),
        attributes: Map::new(),
        cost: prices.cost,
        fixed_price: prices.fixed_price,
        activation_price: prices.activation_price,
        created_by: caller,
        callback_url: None,
        request_comment: String::new(),
        start_date: None,
        slug,
    };
    let record = |_: &Resource, _: &[_]| {
        Some(OrderCommand::RecordImport {
            spec: Box::new(spec.clone()),
            reviewer: caller,
            at: ctx.now,
        })
    };
    let outcome = ledger
        .execute_pair::<Resource, Order>(
            (&resource_uuid.simple().to_string(), resource),
            &order_uuid.simple().to_string(),
            record,
            ctx,
        )
        .await;
    lock.release().await;
    outcome.map_err(|err| match err {
        PairError::Conflict => ArrowAppError::App(AppError::Conflict),
        PairError::Codec(codec) => ArrowAppError::App(AppError::Unstorable(codec)),
        other => ArrowAppError::App(AppError::Store(anyhow::anyhow!(
            "importing a license: {other}"
        ))),
    })?;
    Ok(Imported {
        resource_uuid,
        order_uuid,
        resource_name: name,
        offering_name: offering.details.name,
        project_name: project.name,
    })
}

/// Makes a resource of the mapped customer the license's; the resource's event records
/// its previous backend id. No state or uniqueness is checked, as in Waldur.
pub async fn link(
    ledger: &Ledger,
    mapping_uuid: Uuid,
    resource_uuid: Uuid,
    license_reference: String,
    ctx: &CommandContext,
) -> Result<Linked, ArrowAppError> {
    let mapping = mapping(ledger, mapping_uuid).await?.mapping;
    let resource = read::resource(&ledger.pool, resource_uuid)
        .await?
        .filter(|r| r.customer_uuid == mapping.fields.waldur_customer_uuid)
        .ok_or_else(|| {
            ArrowAppError::Missing(format!(
                "Resource {resource_uuid} not found for this customer"
            ))
        })?;
    ledger
        .execute::<Resource>(
            &resource_uuid.simple().to_string(),
            ResourceCommand::LinkLicense {
                license_reference,
                at: ctx.now,
            },
            ctx,
        )
        .await?;
    Ok(Linked {
        resource_name: resource.name,
        previous_backend_id: resource.backend_id,
    })
}
