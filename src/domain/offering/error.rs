//! The rules an offering command can break.

/// The rule a command breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferingError {
    #[error("offering already exists")]
    AlreadyExists,
    #[error("offering does not exist")]
    NotFound,
    #[error("unknown offering type {0}")]
    UnknownType(String),
    #[error("the offering state does not allow this transition")]
    InvalidState,
    #[error("the offering has no billing plans")]
    NoPlans,
    #[error("archived offerings cannot be changed")]
    Archived,
    #[error("components outside the type's builtin ones")]
    ExtraComponents,
    #[error("component {0} already exists")]
    DuplicateComponent(String),
    #[error("component type {0} is builtin and cannot be created")]
    BuiltinComponentCreate(String),
    #[error("component {0} is builtin and cannot be removed")]
    BuiltinComponentRemove(String),
    #[error("component {0} is used by resources")]
    ComponentInUse(String),
    #[error("component not found")]
    ComponentNotFound,
    #[error("partition not found")]
    PartitionNotFound,
    #[error("partition {0} already exists")]
    DuplicatePartition(String),
    #[error("plan not found")]
    PlanNotFound,
    #[error("plan is already archived")]
    PlanAlreadyArchived,
    #[error("plan is used by resources")]
    PlanInUse,
    #[error("components or plans of this offering type are managed by its source")]
    NotManageable,
    #[error("invalid components {}", .0.join(", "))]
    InvalidComponents(Vec<String>),
    #[error("the offering type has no builtin components")]
    NoBuiltinComponents,
    #[error("the offering already belongs to this customer")]
    SameCustomer,
    #[error("invalid changes: {0}")]
    InvalidChanges(String),
}
