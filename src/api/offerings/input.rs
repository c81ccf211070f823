//! Reading offering request bodies: components, plans, options and plugin options, with
//! DRF's messages (nested per item for lists, as DRF renders list serializer errors).

use std::collections::BTreeMap;

use crate::api::body::{expected_dict, python_type_name};
use crate::api::form::{Form, NOT_NULL, REQUIRED};
use crate::api::number::{self, DecimalField, IntegerError, IntegerField};
use crate::app::offerings::ComponentLimits;
use crate::domain::offering::model::{BillingType, LimitPeriod, PlanUnit};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

/// ISO 3166 alpha-2 codes (and Waldur's `EU`), the only countries clients accept.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ \
BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ \
DK DM DO DZ EC EE EG EH ER ES ET EU FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS \
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW \
KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW \
MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO \
RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM \
TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Reads `country`: blank or a known code.
pub fn read_country(form: &mut Form) -> Option<String> {
    // A choice field: a long value is an invalid choice, not a too long string.
    let value = form.optional_str("country", 1000)?;
    if value.is_empty() || COUNTRIES.split_whitespace().any(|c| c == value) {
        Some(value)
    } else {
        form.error("country", format!("\"{value}\" is not a valid choice."));
        None
    }
}

/// Keys of `plugin_options` that Waldur's clients read as enumerations.
const PLUGIN_OPTION_CHOICES: &[(&str, &[&str])] = &[
    ("account_scope", &["offering", "provider", ""]),
    (
        "username_generation_policy",
        &[
            "anonymized",
            "freeipa",
            "full_name",
            "identity_claim",
            "service_provider",
            "waldur_username",
            "",
        ],
    ),
    ("storage_mode", &["dynamic", "fixed"]),
    ("billing_source", &["placement", "quota"]),
    ("uid_source", &["pool", "user_attribute"]),
    ("gid_source", &["pool", "user_attribute"]),
    ("deployment_mode", &["managed", "self_managed"]),
];

/// A JSON object field (`attributes`, `plugin_options`…): `Dictionary is expected.`
/// otherwise.
pub fn read_object(form: &mut Form, field: &str) -> Option<Map<String, Value>> {
    match form.raw(field)? {
        Value::Object(map) => Some(map.clone()),
        _ => {
            form.error(field, "Dictionary is expected.");
            None
        }
    }
}

/// `plugin_options`, with the enumerated keys checked.
pub fn read_plugin_options(form: &mut Form) -> Option<Map<String, Value>> {
    let options = read_object(form, "plugin_options")?;
    for (key, choices) in PLUGIN_OPTION_CHOICES {
        if let Some(value) = options.get(*key) {
            let valid = value.as_str().is_some_and(|v| choices.contains(&v));
            if !valid {
                form.error(
                    "plugin_options",
                    format!("{value} is not a valid choice for {key}."),
                );
                return None;
            }
        }
    }
    for key in ["resource_role_map", "resource_project_role_map"] {
        if options.get(key).is_some_and(|v| !v.is_object()) {
            form.error("plugin_options", format!("{key} must be a dictionary."));
            return None;
        }
    }
    Some(options)
}

/// Option field types Waldur's `OptionFieldSerializer` accepts.
const OPTION_FIELD_TYPES: &[&str] = &[
    "boolean",
    "integer",
    "money",
    "string",
    "text",
    "html_text",
    "select_string",
    "select_string_multi",
    "select_openstack_tenant",
    "select_multiple_openstack_tenants",
    "select_openstack_instance",
    "select_multiple_openstack_instances",
    "date",
    "time",
];

/// `options`/`resource_options`: `{"options": {name: option field}, "order": [name…]}`,
/// validated and cleaned as Waldur's `OfferingOptionsSerializer` does (DRF's nested error
/// shapes; only the declared option keys are kept, `required` defaults to false). Clients
/// parse every option field strictly, so nothing else may be stored.
pub fn read_options(form: &mut Form, field: &str) -> Option<Value> {
    let value = form.raw(field)?.clone();
    match clean_options(&value) {
        Ok(clean) => Some(clean),
        Err(errors) => {
            form.error_value(field, errors);
            None
        }
    }
}

fn not_a_dictionary(value: &Value) -> Value {
    json!({"non_field_errors": [format!(
        "Invalid data. Expected a dictionary, but got {}.",
        python_type_name(value)
    )]})
}

fn clean_options(value: &Value) -> Result<Value, Value> {
    let map = match value {
        Value::Object(map) => map,
        Value::Null => return Err(json!([NOT_NULL])),
        other => return Err(not_a_dictionary(other)),
    };
    let mut errors = Map::new();
    let order = match map.get("order") {
        None => Err(json!([REQUIRED])),
        Some(value) => clean_string_list(value),
    };
    let options = match map.get("options") {
        None => Err(json!([REQUIRED])),
        Some(Value::Null) => Err(json!([NOT_NULL])),
        Some(Value::Object(fields)) => {
            let mut clean = Map::new();
            let mut field_errors = Map::new();
            for (name, option) in fields {
                match clean_option_field(option) {
                    Ok(option) => {
                        clean.insert(name.clone(), option);
                    }
                    Err(error) => {
                        field_errors.insert(name.clone(), error);
                    }
                }
            }
            if field_errors.is_empty() {
                Ok(Value::Object(clean))
            } else {
                Err(Value::Object(field_errors))
            }
        }
        Some(other) => Err(json!([expected_dict(other)])),
    };
    let (order, options) = match (order, options) {
        (Ok(order), Ok(options)) => (order, options),
        (order, options) => {
            if let Err(error) = order {
                errors.insert("order".into(), error);
            }
            if let Err(error) = options {
                errors.insert("options".into(), error);
            }
            return Err(Value::Object(errors));
        }
    };
    Ok(json!({"options": options, "order": order}))
}

/// A DRF `CharField` value: strings (trimmed, not blank) and numbers.
fn clean_char(value: &Value) -> Result<String, &'static str> {
    match value {
        Value::String(s) if s.trim().is_empty() => Err(crate::api::form::NOT_BLANK),
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Null => Err(NOT_NULL),
        _ => Err("Not a valid string."),
    }
}

/// A DRF `ListField(child=CharField())` value.
fn clean_string_list(value: &Value) -> Result<Value, Value> {
    let items = match value {
        Value::Array(items) => items,
        Value::Null => return Err(json!([NOT_NULL])),
        other => {
            return Err(json!([format!(
                "Expected a list of items but got type \"{}\".",
                python_type_name(other)
            )]));
        }
    };
    let mut clean = Vec::with_capacity(items.len());
    let mut errors = Map::new();
    for (index, item) in items.iter().enumerate() {
        match clean_char(item) {
            Ok(text) => clean.push(json!(text)),
            Err(message) => {
                errors.insert(index.to_string(), json!([message]));
            }
        }
    }
    if errors.is_empty() {
        Ok(Value::Array(clean))
    } else {
        Err(Value::Object(errors))
    }
}

/// One option field (`OptionFieldSerializer`).
fn clean_option_field(value: &Value) -> Result<Value, Value> {
    let map = match value {
        Value::Object(map) => map,
        other => return Err(not_a_dictionary(other)),
    };
    let mut clean = Map::new();
    let mut errors = Map::new();
    match map.get("type") {
        None => {
            errors.insert("type".into(), json!([REQUIRED]));
        }
        Some(Value::Null) => {
            errors.insert("type".into(), json!([NOT_NULL]));
        }
        Some(Value::String(t)) if OPTION_FIELD_TYPES.contains(&t.as_str()) => {
            clean.insert("type".into(), json!(t));
        }
        Some(other) => {
            let text = other
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| other.to_string());
            errors.insert(
                "type".into(),
                json!([format!("\"{text}\" is not a valid choice.")]),
            );
        }
    }
    for (key, required) in [("label", true), ("help_text", false)] {
        match map.get(key) {
            None if required => {
                errors.insert(key.into(), json!([REQUIRED]));
            }
            None => {}
            Some(value) => match clean_char(value) {
                Ok(text) => {
                    clean.insert(key.into(), json!(text));
                }
                Err(message) => {
                    errors.insert(key.into(), json!([message]));
                }
            },
        }
    }
    let required = match map.get("required") {
        None => Some(false),
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Some(true),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Some(false),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" | "y" => Some(true),
            "false" | "off" | "0" | "no" | "n" => Some(false),
            _ => None,
        },
        Some(_) => None,
    };
    match required {
        Some(required) => {
            clean.insert("required".into(), json!(required));
        }
        None => {
            errors.insert("required".into(), json!(["Must be a valid boolean."]));
        }
    }
    if let Some(choices) = map.get("choices") {
        match clean_string_list(choices) {
            Ok(choices) => {
                clean.insert("choices".into(), choices);
            }
            Err(error) => {
                errors.insert("choices".into(), error);
            }
        }
    }
    if let Some(default) = map.get("default") {
        clean.insert("default".into(), default.clone());
    }
    for key in ["min", "max"] {
        let Some(value) = map.get(key) else {
            continue;
        };
        let parsed = match value {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match (value, parsed) {
            (Value::Null, _) => {
                errors.insert(key.into(), json!([NOT_NULL]));
            }
            (_, Some(number)) => {
                clean.insert(key.into(), json!(number));
            }
            (_, None) => {
                errors.insert(key.into(), json!(["A valid integer is required."]));
            }
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(clean))
    } else {
        Err(Value::Object(errors))
    }
}

/// `secret_options`, with the keys clients parse strictly checked: `node_disk_driver` is
/// `sd` or `vd`; `environ` and `ipv4_external_ip_mapping` are lists of objects.
pub fn read_secret_options(form: &mut Form) -> Option<Map<String, Value>> {
    let options = read_object(form, "secret_options")?;
    if let Some(value) = options.get("node_disk_driver")
        && !value.as_str().is_some_and(|v| ["sd", "vd"].contains(&v))
    {
        form.error(
            "secret_options",
            format!("{value} is not a valid choice for node_disk_driver."),
        );
        return None;
    }
    for key in ["environ", "ipv4_external_ip_mapping"] {
        let valid = match options.get(key) {
            None | Some(Value::Null) => true,
            Some(Value::Array(items)) => items.iter().all(Value::is_object),
            Some(_) => false,
        };
        if !valid {
            form.error(
                "secret_options",
                format!("{key} must be a list of dictionaries."),
            );
            return None;
        }
    }
    Some(options)
}

/// Reads the settings fields present in `form` into changes for the offering settings.
pub fn read_settings(form: &mut Form) -> Map<String, Value> {
    let mut changes = Map::new();
    for field in ["attributes", "service_attributes", "backend_id_rules"] {
        if let Some(value) = read_object(form, field) {
            changes.insert(field.into(), Value::Object(value));
        }
    }
    if let Some(value) = read_secret_options(form) {
        changes.insert("secret_options".into(), Value::Object(value));
    }
    if let Some(value) = read_plugin_options(form) {
        changes.insert("plugin_options".into(), Value::Object(value));
    }
    for field in ["options", "resource_options"] {
        if let Some(value) = read_options(form, field) {
            changes.insert(field.into(), value);
        }
    }
    changes
}

fn is_valid_component_type(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 50
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/:".contains(c))
}

/// An optional integer field within `bounds` (`Some(None)` for null).
pub fn nullable_int(form: &mut Form, field: &str, bounds: IntegerField) -> Option<Option<i64>> {
    match form.raw(field)? {
        Value::Null => Some(None),
        value => match bounds.parse(value) {
            Ok(n) => Some(Some(n)),
            Err(err) => {
                form.error(field, err.to_string());
                None
            }
        },
    }
}

/// An optional decimal field read as `field` reads it (digits, decimal places, minimum).
pub fn decimal(form: &mut Form, field: &str, bounds: DecimalField) -> Option<Decimal> {
    match form.raw(field)? {
        Value::Null => {
            form.error(field, NOT_NULL);
            None
        }
        value => match bounds.parse(value) {
            Ok(d) => Some(d),
            Err(message) => {
                form.error(field, message);
                None
            }
        },
    }
}

fn choice<T>(form: &mut Form, field: &str, parse: impl Fn(&str) -> Option<T>) -> Option<Option<T>> {
    match form.raw(field)? {
        Value::Null => Some(None),
        Value::String(s) if s.is_empty() => Some(None),
        Value::String(s) => match parse(s) {
            Some(v) => Some(Some(v)),
            None => {
                form.error(field, format!("\"{s}\" is not a valid choice."));
                None
            }
        },
        other => {
            form.error(field, format!("\"{other}\" is not a valid choice."));
            None
        }
    }
}

/// Reads a component body. `partial` reads only what is present (updates).
pub fn read_component(form: &mut Form, partial: bool) -> Map<String, Value> {
    let mut changes = Map::new();
    if let Some(component_type) = form.required_str("type", 50) {
        if is_valid_component_type(&component_type) {
            changes.insert("type".into(), json!(component_type));
        } else {
            form.error("type", "Enter a valid value.");
        }
    }
    if let Some(name) = form.required_str("name", 150) {
        changes.insert("name".into(), json!(name));
    }
    match choice(form, "billing_type", BillingType::parse) {
        Some(Some(billing_type)) => {
            changes.insert("billing_type".into(), json!(billing_type));
        }
        Some(None) => form.error("billing_type", crate::api::form::NOT_BLANK),
        None if !partial && !form.is_present("billing_type") => {
            form.error("billing_type", REQUIRED)
        }
        None => {}
    }
    for (field, max_len) in [
        ("description", 2000),
        ("measured_unit", 30),
        ("article_code", 30),
    ] {
        if let Some(value) = form.optional_str(field, max_len) {
            changes.insert(field.into(), json!(value));
        }
    }
    if let Some(period) = choice(form, "limit_period", LimitPeriod::parse) {
        changes.insert("limit_period".into(), json!(period));
    }
    for field in [
        "limit_amount",
        "min_value",
        "max_value",
        "max_available_limit",
        "default_limit",
    ] {
        if let Some(value) = nullable_int(form, field, number::INTEGER) {
            changes.insert(field.into(), json!(value));
        }
    }
    if let Some(flag) = form.bool("is_boolean") {
        changes.insert("is_boolean".into(), json!(flag));
        if flag {
            // A boolean component is an on/off monthly limit.
            changes.insert("min_value".into(), json!(0));
            changes.insert("max_value".into(), json!(1));
            changes.insert("limit_period".into(), json!(LimitPeriod::Month));
            changes.insert("limit_amount".into(), Value::Null);
        }
    }
    changes
}

/// `Plan.max_amount`: a `PositiveSmallIntegerField` with `MinValueValidator(1)`.
const MAX_AMOUNT: IntegerField = IntegerField {
    min_value: 1,
    max_value: 32_767,
};

/// Reads a plan body (offering-create `plans[]` items and `/api/marketplace-plans/`).
pub fn read_plan(form: &mut Form) -> Map<String, Value> {
    let mut changes = Map::new();
    if let Some(name) = form.required_str("name", 150) {
        changes.insert("name".into(), json!(name));
    }
    for (field, max_len) in [
        ("description", 2000),
        ("article_code", 30),
        ("backend_id", 255),
    ] {
        if let Some(value) = form.optional_str(field, max_len) {
            changes.insert(field.into(), json!(value));
        }
    }
    if let Some(max_amount) = nullable_int(form, "max_amount", MAX_AMOUNT) {
        changes.insert("max_amount".into(), json!(max_amount));
    }
    if let Some(archived) = form.bool("archived") {
        changes.insert("archived".into(), json!(archived));
    }
    if let Some(unit_price) = decimal(form, "unit_price", number::PRICE) {
        changes.insert("unit_price".into(), json!(unit_price));
    }
    if let Some(unit) = choice(form, "unit", PlanUnit::parse) {
        changes.insert("unit".into(), json!(unit.unwrap_or_default()));
    }
    changes
}

/// `{type: price}`: every value a price (`PlanComponent.price`).
pub fn read_prices(form: &mut Form, field: &str) -> Option<BTreeMap<String, Decimal>> {
    let map = read_object(form, field)?;
    let mut prices = BTreeMap::new();
    let mut errors = Map::new();
    for (key, value) in map {
        match number::PRICE.parse(&value) {
            Ok(price) => {
                prices.insert(key, price);
            }
            Err(message) => {
                errors.insert(key, json!([message]));
            }
        }
    }
    if errors.is_empty() {
        Some(prices)
    } else {
        form.error_value(field, Value::Object(errors));
        None
    }
}

/// `{type: amount}`: every value an amount (`PlanComponent.amount`).
pub fn read_quotas(form: &mut Form, field: &str) -> Option<BTreeMap<String, i64>> {
    let map = read_object(form, field)?;
    let mut quotas = BTreeMap::new();
    for (key, value) in map {
        match number::POSITIVE_INTEGER.parse(&value) {
            Ok(amount) => {
                quotas.insert(key, amount);
            }
            Err(err @ IntegerError::AboveMax(_)) => {
                form.error(field, format!("{key}: {err}"));
                return None;
            }
            Err(_) => {
                form.error(field, format!("{key}: a non-negative integer is required."));
                return None;
            }
        }
    }
    Some(quotas)
}

/// Offering-create `limits`: `{type: {min, max, max_available_limit}}`, each value present
/// an integer from 0 (Waldur's `OfferingComponentLimitSerializer`) that the component's
/// integer column holds.
pub fn read_component_limits(form: &mut Form) -> BTreeMap<String, ComponentLimits> {
    const BOUNDS: IntegerField = number::POSITIVE_INTEGER;
    let limits = read_object(form, "limits").unwrap_or_default();
    let mut errors = Map::new();
    for (component_type, limit) in &limits {
        let Value::Object(limit) = limit else {
            continue;
        };
        let mut limit_errors = Map::new();
        for key in ["min", "max", "max_available_limit"] {
            if let Some(Err(err)) = limit.get(key).map(|value| BOUNDS.parse(value)) {
                limit_errors.insert(key.into(), json!([err.to_string()]));
            }
        }
        if !limit_errors.is_empty() {
            errors.insert(component_type.clone(), Value::Object(limit_errors));
        }
    }
    if !errors.is_empty() {
        form.error_value("limits", Value::Object(errors));
    }
    limits
        .iter()
        .map(|(component_type, limit)| {
            let int = |key: &str| limit.get(key).and_then(Value::as_i64);
            let limits = ComponentLimits {
                min: int("min"),
                max: int("max"),
                max_available_limit: int("max_available_limit"),
            };
            (component_type.clone(), limits)
        })
        .collect()
}

/// Reads a list of nested objects with `read`, collecting DRF-style per-item errors.
pub fn read_list<T>(
    form: &mut Form,
    field: &str,
    mut read: impl FnMut(&mut Form) -> T,
) -> Option<Vec<T>> {
    let items = match form.raw(field)? {
        Value::Array(items) => items.clone(),
        Value::Null => return Some(Vec::new()),
        _ => {
            form.error(field, "Expected a list of items.");
            return None;
        }
    };
    let mut results = Vec::with_capacity(items.len());
    let mut errors = Vec::with_capacity(items.len());
    let mut failed = false;
    for item in items {
        let Value::Object(map) = item else {
            failed = true;
            errors.push(json!({"non_field_errors": ["Invalid data. Expected a dictionary."]}));
            continue;
        };
        let mut nested = Form::new(map);
        let result = read(&mut nested);
        match nested.into_error_value() {
            None => errors.push(json!({})),
            Some(item_errors) => {
                failed = true;
                errors.push(item_errors);
            }
        }
        results.push(result);
    }
    if failed {
        form.error_value(field, Value::Array(errors));
        None
    } else {
        Some(results)
    }
}
