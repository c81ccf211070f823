//! Importing an exported offering document: a new offering (through
//! [`super::create_offering`]) or, when asked, the document written over the customer's
//! offering of the same name. Components are upserted by type, plans by name and endpoints
//! by name; what cannot be taken is reported as a warning.

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    NewOffering, builtin_components, create_offering, new_component, new_offering_details,
    new_offering_settings, new_plan,
};
use crate::app::Ledger;
use crate::app::error::AppError;
use crate::domain::offering::model::{Component, Endpoint, Plan};
use crate::domain::offering::types::{self, OfferingType};
use crate::domain::offering::{ImportedContent, Offering, OfferingCommand};
use crate::store::metadata::CommandContext;

/// One `plans[].components[]` item: a component's amount and prices in the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanComponentImport {
    pub component_type: String,
    pub amount: i64,
    pub price: Decimal,
    pub future_price: Option<Decimal>,
}

/// A plan of an import document: validated plan fields and its component prices.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanImport {
    pub name: Option<String>,
    pub changes: Map<String, Value>,
    pub components: Vec<PlanComponentImport>,
}

/// An import document, validated. Sections left out (or not asked for) are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferingImport {
    pub name: String,
    pub offering_type: Option<String>,
    pub category_name: Option<String>,
    /// Changes to the offering's details.
    pub details: Map<String, Value>,
    /// Changes to the offering's settings.
    pub settings: Map<String, Value>,
    /// Validated component fields, each with its `type`.
    pub components: Option<Vec<Map<String, Value>>>,
    pub plans: Option<Vec<PlanImport>>,
    /// Endpoint names and URLs.
    pub endpoints: Option<Vec<(String, String)>>,
    /// The terms of service text and link.
    pub terms: Option<(String, String)>,
    /// What reading the document could not take.
    pub warnings: Vec<String>,
}

/// Where and how to import a document. The caller has checked that the actor may create
/// offerings for the customer.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub customer_uuid: Uuid,
    pub project_uuid: Option<Uuid>,
    /// The title of the category asked for; the document's own comes next.
    pub category: Option<String>,
    /// Write over the customer's offering of the same name rather than refuse.
    pub overwrite_existing: bool,
    pub document: OfferingImport,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub uuid: Uuid,
    /// A new offering (else an existing one was written over).
    pub created: bool,
    /// Component types and section names taken from the document.
    pub imported: Vec<String>,
    pub warnings: Vec<String>,
}

/// Imports the document: into a new offering, or over the customer's offering of the same
/// name when the request allows it.
pub async fn import_offering(
    ledger: &Ledger,
    request: ImportRequest,
    ctx: &CommandContext,
) -> Result<Imported, AppError> {
    let import = &request.document;
    let mut warnings = import.warnings.clone();
    let (category_uuid, category_found) = resolve_category(
        &ledger.pool,
        request.category.as_deref(),
        import.category_name.as_deref(),
        &mut warnings,
    )
    .await?;
    let requested_kind = match &import.offering_type {
        Some(name) => {
            Some(types::lookup(name).ok_or_else(|| AppError::field("type", "Invalid value."))?)
        }
        None => None,
    };
    if let Some(project) = request.project_uuid {
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM projection.projects WHERE uuid = $1")
                .bind(project)
                .fetch_optional(&ledger.pool)
                .await?;
        if exists.is_none() {
            return Err(AppError::field(
                "project",
                format!("Invalid pk \"{project}\" - object does not exist."),
            ));
        }
    }
    let existing: Option<Uuid> = sqlx::query_scalar(
        "SELECT uuid FROM projection.offerings WHERE name = $1 AND customer_uuid = $2 \
         ORDER BY created, uuid LIMIT 1",
    )
    .bind(&import.name)
    .bind(request.customer_uuid)
    .fetch_optional(&ledger.pool)
    .await?;
    match existing {
        Some(_) if !request.overwrite_existing => Err(AppError::invalid(format!(
            "Offering '{}' already exists. Set overwrite_existing=True to update it.",
            import.name
        ))),
        Some(uuid) => {
            let offering = load(&ledger.pool, uuid).await?;
            let kind = requested_kind
                .or_else(|| offering.kind())
                .ok_or_else(|| AppError::field("type", "Invalid value."))?;
            let assembled = assemble(
                kind,
                import,
                offering.components.clone(),
                offering.plans.clone(),
                offering.endpoints.clone(),
                &mut warnings,
            )?;
            let content = ImportedContent {
                details: merge(&offering.details, &detail_changes(import))?,
                settings: merge(&offering.settings, &import.settings)?,
                offering_type: kind.name.to_string(),
                components: assembled.components,
                plans: assembled.plans,
                endpoints: assembled.endpoints,
            };
            let command = OfferingCommand::Import {
                content,
                at: ctx.now,
            };
            super::execute(ledger, uuid, command, ctx).await?;
            if category_found && category_uuid != offering.category_uuid {
                let command = OfferingCommand::ChangeCategory {
                    category_uuid,
                    at: ctx.now,
                };
                super::execute(ledger, uuid, command, ctx).await?;
            }
            Ok(Imported {
                uuid,
                created: false,
                imported: assembled.imported,
                warnings,
            })
        }
        None => {
            let kind = requested_kind
                .or_else(|| types::lookup("Marketplace.Basic"))
                .expect("Marketplace.Basic is registered");
            let assembled = assemble(
                kind,
                import,
                builtin_components(kind),
                Vec::new(),
                Vec::new(),
                &mut warnings,
            )?;
            let (builtins, components) = assembled
                .components
                .into_iter()
                .partition(|c| kind.is_builtin(&c.component_type));
            let new = NewOffering {
                customer_uuid: request.customer_uuid,
                category_uuid,
                project_uuid: request.project_uuid,
                offering_type: kind.name.to_string(),
                details: new_offering_details(&detail_changes(import))?,
                settings: new_offering_settings(&import.settings),
                components,
                builtins,
                limits: Default::default(),
                plans: assembled.plans,
                endpoints: assembled.endpoints,
            };
            let uuid = create_offering(ledger, new, ctx).await?;
            Ok(Imported {
                uuid,
                created: true,
                imported: assembled.imported,
                warnings,
            })
        }
    }
}

/// The offering as its read model holds it.
async fn load(pool: &PgPool, uuid: Uuid) -> Result<Offering, AppError> {
    let document: Option<Value> = sqlx::query_scalar(
        "SELECT o.document FROM projection.offerings o \
         JOIN projection.customers c ON c.uuid = o.customer_uuid WHERE o.uuid = $1",
    )
    .bind(uuid)
    .fetch_optional(pool)
    .await?;
    let document = document.ok_or(AppError::NotFound("Offering"))?;
    serde_json::from_value(document)
        .map_err(|e| AppError::Store(anyhow::anyhow!(e).context("offering document")))
}

/// The category by title (the request's, else the document's); unknown or missing titles
/// fall back to the first category with a warning. `true` when the title was found.
async fn resolve_category(
    pool: &PgPool,
    requested: Option<&str>,
    exported: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<(Uuid, bool), AppError> {
    let wanted = requested.or(exported);
    if let Some(title) = wanted {
        let found: Option<Uuid> = sqlx::query_scalar(
            "SELECT uuid FROM projection.categories WHERE title = $1 \
             ORDER BY created, uuid LIMIT 1",
        )
        .bind(title)
        .fetch_optional(pool)
        .await?;
        if let Some(uuid) = found {
            return Ok((uuid, true));
        }
    }
    let first: Option<Uuid> =
        sqlx::query_scalar("SELECT uuid FROM projection.categories ORDER BY title, uuid LIMIT 1")
            .fetch_optional(pool)
            .await?;
    let Some(first) = first else {
        return Err(AppError::invalid("No target category specified or found"));
    };
    warnings.push(match wanted {
        Some(title) => {
            format!("Category with name '{title}' not found, using first available category")
        }
        None => "No category specified or found in export data, using first available category"
            .to_string(),
    });
    Ok((first, false))
}

fn merge<T>(current: &T, changes: &Map<String, Value>) -> Result<T, AppError>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    crate::domain::merge_changes(current, changes)
        .map_err(|e| AppError::Store(anyhow::anyhow!(e).context("merging imported values")))
}

/// What an import writes, assembled over what the offering has (its built-in components
/// only, for a new one).
struct Assembled {
    components: Vec<Component>,
    plans: Vec<Plan>,
    endpoints: Vec<Endpoint>,
    /// Component types and section names taken from the document.
    imported: Vec<String>,
}

/// Upserts components by type, plans by name and endpoints by name.
fn assemble(
    kind: &OfferingType,
    import: &OfferingImport,
    mut components: Vec<Component>,
    mut plans: Vec<Plan>,
    mut endpoints: Vec<Endpoint>,
    warnings: &mut Vec<String>,
) -> Result<Assembled, AppError> {
    let mut imported = Vec::new();
    for changes in import.components.iter().flatten() {
        let component_type = changes
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !kind.builtin_components.is_empty() && !kind.is_builtin(&component_type) {
            warnings.push(format!(
                "Component type '{component_type}' is not allowed for offering type '{}'",
                kind.name
            ));
            continue;
        }
        match components
            .iter_mut()
            .find(|c| c.component_type == component_type)
        {
            Some(existing) => *existing = merge(existing, changes)?,
            None => {
                let mut component = new_component(changes, Uuid::new_v4());
                if component.name.is_empty() {
                    component.name = component_type.clone();
                }
                if let Some(builtin) = kind.builtin(&component_type) {
                    component.is_builtin = true;
                    component.factor = Some(builtin.factor);
                }
                components.push(component);
            }
        }
        if !imported.contains(&component_type) {
            imported.push(component_type);
        }
    }
    if let Some(items) = &import.plans {
        for item in items {
            let name = item.name.clone().unwrap_or_default();
            let index = match plans.iter().position(|p| p.name == name) {
                Some(index) => {
                    plans[index] = merge(&plans[index], &item.changes)?;
                    index
                }
                None => {
                    plans.push(new_plan(&item.changes, Uuid::new_v4()));
                    plans.len() - 1
                }
            };
            let plan = &mut plans[index];
            for pc in &item.components {
                if !components
                    .iter()
                    .any(|c| c.component_type == pc.component_type)
                {
                    warnings.push(format!(
                        "Component type '{}' not found for plan '{name}'",
                        pc.component_type
                    ));
                    continue;
                }
                let key = pc.component_type.clone();
                plan.prices.insert(key.clone(), pc.price);
                plan.quotas.insert(key.clone(), pc.amount);
                match pc.future_price {
                    Some(future) => plan.future_prices.insert(key, future),
                    None => plan.future_prices.remove(&key),
                };
            }
        }
        if !items.is_empty() {
            imported.push("plans".into());
        }
    }
    if let Some(items) = &import.endpoints {
        for (name, url) in items {
            match endpoints.iter_mut().find(|e| &e.name == name) {
                Some(existing) => existing.url = url.clone(),
                None => endpoints.push(Endpoint {
                    uuid: Uuid::new_v4(),
                    name: name.clone(),
                    url: url.clone(),
                }),
            }
        }
        if !items.is_empty() {
            imported.push("endpoints".into());
        }
    }
    if import.terms.is_some() {
        imported.push("terms_of_service".into());
    }
    Ok(Assembled {
        components,
        plans,
        endpoints,
        imported,
    })
}

/// Detail changes including the imported terms of service.
fn detail_changes(import: &OfferingImport) -> Map<String, Value> {
    let mut changes = import.details.clone();
    if let Some((text, link)) = &import.terms {
        changes.insert("terms_of_service".into(), json!(text));
        changes.insert("terms_of_service_link".into(), json!(link));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::offering::model::BillingType;

    fn document(value: Value) -> Map<String, Value> {
        value.as_object().expect("an object").clone()
    }

    fn tenant() -> &'static OfferingType {
        types::lookup("OpenStack.Tenant").unwrap()
    }

    #[test]
    fn a_builtin_component_of_the_document_changes_the_builtin_one() {
        let import = OfferingImport {
            components: Some(vec![document(
                json!({"type": "ram", "name": "Memory", "billing_type": "usage"}),
            )]),
            ..OfferingImport::default()
        };
        let base = builtin_components(tenant());
        let ram = base[1].uuid;
        let mut warnings = Vec::new();

        let assembled = assemble(tenant(), &import, base, vec![], vec![], &mut warnings).unwrap();

        assert_eq!(assembled.components.len(), 3);
        let merged = &assembled.components[1];
        assert_eq!(
            (merged.uuid, merged.name.as_str(), merged.billing_type),
            (ram, "Memory", BillingType::Usage)
        );
        assert!(merged.is_builtin);
        assert_eq!(merged.factor, Some(1024));
        assert_eq!(assembled.imported, ["ram"]);
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_component_outside_a_types_builtins_is_left_out_with_a_warning() {
        let import = OfferingImport {
            components: Some(vec![document(json!({"type": "gpu"}))]),
            ..OfferingImport::default()
        };
        let mut warnings = Vec::new();

        let assembled = assemble(
            tenant(),
            &import,
            builtin_components(tenant()),
            vec![],
            vec![],
            &mut warnings,
        )
        .unwrap();

        assert_eq!(assembled.components.len(), 3);
        assert!(assembled.imported.is_empty());
        assert_eq!(
            warnings,
            ["Component type 'gpu' is not allowed for offering type 'OpenStack.Tenant'"]
        );
    }

    #[test]
    fn plans_and_endpoints_are_upserted_by_name() {
        let basic = types::lookup("Marketplace.Basic").unwrap();
        let import = OfferingImport {
            components: Some(vec![document(json!({"type": "cpu"}))]),
            plans: Some(vec![PlanImport {
                name: Some("Gold".into()),
                changes: document(json!({"name": "Gold", "description": "Shiny"})),
                components: vec![
                    PlanComponentImport {
                        component_type: "cpu".into(),
                        amount: 4,
                        price: Decimal::new(25, 2),
                        future_price: None,
                    },
                    PlanComponentImport {
                        component_type: "disk".into(),
                        amount: 1,
                        price: Decimal::ONE,
                        future_price: None,
                    },
                ],
            }]),
            endpoints: Some(vec![
                ("Portal".into(), "https://new.example.org".into()),
                ("Docs".into(), "https://docs.example.org".into()),
            ]),
            ..OfferingImport::default()
        };
        let gold = new_plan(&document(json!({"name": "Gold"})), Uuid::new_v4());
        let portal = Endpoint {
            uuid: Uuid::from_u128(9),
            name: "Portal".into(),
            url: "https://old.example.org".into(),
        };
        let mut warnings = Vec::new();

        let assembled = assemble(
            basic,
            &import,
            vec![],
            vec![gold.clone()],
            vec![portal],
            &mut warnings,
        )
        .unwrap();

        assert_eq!(assembled.components[0].name, "cpu");
        assert_eq!(assembled.plans.len(), 1);
        assert_eq!(assembled.plans[0].uuid, gold.uuid);
        assert_eq!(assembled.plans[0].description, "Shiny");
        assert_eq!(assembled.plans[0].price_of("cpu"), Decimal::new(25, 2));
        assert_eq!(assembled.plans[0].quotas["cpu"], 4);
        assert_eq!(
            warnings,
            ["Component type 'disk' not found for plan 'Gold'"]
        );
        assert_eq!(assembled.endpoints.len(), 2);
        assert_eq!(assembled.endpoints[0].uuid, Uuid::from_u128(9));
        assert_eq!(assembled.endpoints[0].url, "https://new.example.org");
        assert_eq!(assembled.imported, ["cpu", "plans", "endpoints"]);
    }

    #[test]
    fn imported_terms_of_service_become_detail_changes() {
        let import = OfferingImport {
            details: document(json!({"name": "X"})),
            terms: Some(("Be nice".into(), "https://terms.example.org".into())),
            ..OfferingImport::default()
        };

        let changes = detail_changes(&import);

        assert_eq!(changes["terms_of_service"], "Be nice");
        assert_eq!(
            changes["terms_of_service_link"],
            "https://terms.example.org"
        );
        assert_eq!(changes["name"], "X");
    }
}
