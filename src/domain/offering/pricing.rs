//! What an order costs under a plan (Waldur's `Plan.get_estimate` and `Order.init_cost`),
//! in checked arithmetic: a cost that cannot be represented is an error naming its cause,
//! never a panic and never a value the order's `cost` (`DecimalField(22, 10)`) cannot hold.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use super::Offering;
use super::model::{BillingType, Plan};
use crate::domain::order::OrderType;

/// Digits of the order's `cost` after the decimal point (`decimal_places=10`).
pub const COST_DECIMAL_PLACES: u32 = 10;
/// Digits of the order's `cost` before the decimal point (`max_digits=22` less 10).
pub const COST_WHOLE_DIGITS: u32 = 12;

/// A cost beyond what an order can hold, and what put it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CostOverflow {
    /// The plan's own prices (unit, init or switch price) already exceed it.
    #[error("the plan's prices exceed the largest order cost")]
    Plan,
    /// The requested limits, priced by the plan, exceed it.
    #[error("the limits priced by the plan exceed the largest order cost")]
    Limits,
}

/// An order's cost (`None` without a plan), fixed price and activation price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderPrices {
    pub cost: Option<Decimal>,
    pub fixed_price: Decimal,
    pub activation_price: Decimal,
}

/// Whether `value` fits the order's `cost` once rounded to its decimal places, as the
/// database rounds it.
pub fn is_representable_cost(value: Decimal) -> bool {
    let rounded =
        value.round_dp_with_strategy(COST_DECIMAL_PLACES, RoundingStrategy::MidpointAwayFromZero);
    rounded.abs() < Decimal::from(10_i64.pow(COST_WHOLE_DIGITS))
}

fn checked_sum(values: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    values
        .into_iter()
        .try_fold(Decimal::ZERO, |sum, value| sum.checked_add(value))
}

/// Sum of the plan's prices for components of one billing type (init/switch prices);
/// `None` when it overflows a `Decimal`.
pub fn plan_price_of(
    offering: &Offering,
    plan: &Plan,
    billing_type: BillingType,
) -> Option<Decimal> {
    checked_sum(
        offering
            .components
            .iter()
            .filter(|c| c.billing_type == billing_type)
            .filter_map(|c| plan.prices.get(&c.component_type).copied()),
    )
}

/// For each limit-billed component, its price in the plan times the limit over the
/// component's factor (missing price or limit: 0; factor from the builtin component, 1
/// by default).
fn usage(offering: &Offering, plan: &Plan, limits: &BTreeMap<String, i64>) -> Option<Decimal> {
    let kind = offering.kind();
    let parts = offering
        .components
        .iter()
        .filter(|c| c.billing_type == BillingType::Limit)
        .map(|c| {
            let price = plan.price_of(&c.component_type);
            let amount = Decimal::from(limits.get(&c.component_type).copied().unwrap_or(0));
            let factor = kind
                .and_then(|k| k.builtin(&c.component_type))
                .map(|b| b.factor)
                .filter(|f| *f > 0)
                .unwrap_or(1);
            price
                .checked_mul(amount)?
                .checked_div(Decimal::from(factor))
        })
        .collect::<Option<Vec<_>>>()?;
    checked_sum(parts)
}

/// `fixed + usage`, checked and within the order's cost, blaming the plan when `fixed`
/// alone is out of range and the limits otherwise.
fn total(fixed: Option<Decimal>, usage: Option<Decimal>) -> Result<Decimal, CostOverflow> {
    let fixed = fixed
        .filter(|f| is_representable_cost(*f))
        .ok_or(CostOverflow::Plan)?;
    usage
        .and_then(|u| fixed.checked_add(u))
        .filter(|t| is_representable_cost(*t))
        .ok_or(CostOverflow::Limits)
}

/// `Plan.get_estimate`: the plan's unit price plus the price of the limits.
pub fn plan_estimate(
    offering: &Offering,
    plan: &Plan,
    limits: &BTreeMap<String, i64>,
) -> Result<Decimal, CostOverflow> {
    total(Some(plan.unit_price), usage(offering, plan, limits))
}

/// `Order.init_cost`: the estimate plus the plan's init price (`one` components) for
/// Create, its switch price (`few`) for Update.
pub fn order_prices(
    offering: &Offering,
    plan: Option<&Plan>,
    limits: &BTreeMap<String, i64>,
    order_type: OrderType,
) -> Result<OrderPrices, CostOverflow> {
    let Some(plan) = plan else {
        return Ok(OrderPrices {
            cost: None,
            fixed_price: Decimal::ZERO,
            activation_price: Decimal::ZERO,
        });
    };
    let price_of = |billing_type| plan_price_of(offering, plan, billing_type);
    let (fixed_price, activation_price) = match order_type {
        OrderType::Create => (
            price_of(BillingType::Fixed).ok_or(CostOverflow::Plan)?,
            price_of(BillingType::One).ok_or(CostOverflow::Plan)?,
        ),
        OrderType::Update => (
            Decimal::ZERO,
            price_of(BillingType::Few).ok_or(CostOverflow::Plan)?,
        ),
        OrderType::Terminate | OrderType::Restore => (Decimal::ZERO, Decimal::ZERO),
    };
    let cost = total(
        plan.unit_price.checked_add(activation_price),
        usage(offering, plan, limits),
    )?;
    Ok(OrderPrices {
        cost: Some(cost),
        fixed_price,
        activation_price,
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use uuid::Uuid;

    use super::*;
    use crate::domain::offering::model::{Component, PlanUnit};

    fn component(component_type: &str, billing_type: BillingType) -> Component {
        Component {
            uuid: Uuid::new_v4(),
            component_type: component_type.into(),
            name: component_type.into(),
            description: String::new(),
            billing_type,
            measured_unit: String::new(),
            limit_period: None,
            limit_amount: None,
            article_code: String::new(),
            min_value: None,
            max_value: None,
            max_available_limit: None,
            is_boolean: false,
            default_limit: None,
            factor: None,
            is_builtin: false,
            backend_id: String::new(),
        }
    }

    fn offering_and_plan(unit_price: &str, prices: &[(&str, &str)]) -> (Offering, Plan) {
        let offering = Offering {
            offering_type: "Marketplace.Basic".into(),
            components: vec![
                component("cpu", BillingType::Limit),
                component("ram", BillingType::Limit),
                component("setup", BillingType::One),
                component("switch", BillingType::Few),
            ],
            ..Offering::default()
        };
        let plan = Plan {
            uuid: Uuid::new_v4(),
            name: "plan".into(),
            description: String::new(),
            article_code: String::new(),
            max_amount: None,
            archived: false,
            unit_price: Decimal::from_str(unit_price).unwrap(),
            unit: PlanUnit::default(),
            backend_id: String::new(),
            prices: prices
                .iter()
                .map(|(k, v)| (k.to_string(), Decimal::from_str(v).unwrap()))
                .collect(),
            future_prices: BTreeMap::new(),
            quotas: BTreeMap::new(),
        };
        (offering, plan)
    }

    fn limits(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn it_should_price_a_create_order_exactly() {
        let (offering, plan) = offering_and_plan(
            "1.5",
            &[
                ("cpu", "10"),
                ("ram", "0.25"),
                ("setup", "100"),
                ("switch", "7"),
            ],
        );
        let prices = order_prices(
            &offering,
            Some(&plan),
            &limits(&[("cpu", 3), ("ram", 4)]),
            OrderType::Create,
        );
        assert_eq!(
            prices,
            Ok(OrderPrices {
                cost: Some(Decimal::from_str("132.5").unwrap()),
                fixed_price: Decimal::ZERO,
                activation_price: Decimal::from(100),
            })
        );
    }

    #[test]
    fn it_should_add_the_switch_price_to_an_update_order() {
        let (offering, plan) = offering_and_plan("0", &[("cpu", "10"), ("switch", "7")]);
        let prices = order_prices(
            &offering,
            Some(&plan),
            &limits(&[("cpu", 2)]),
            OrderType::Update,
        );
        assert_eq!(prices.map(|p| p.cost), Ok(Some(Decimal::from(27))));
    }

    #[test]
    fn it_should_accept_a_cost_exactly_at_the_largest_representable_value() {
        let (offering, plan) = offering_and_plan("0", &[("cpu", "999999999999.9999999999")]);
        let estimate = plan_estimate(&offering, &plan, &limits(&[("cpu", 1)]));
        assert_eq!(
            estimate,
            Ok(Decimal::from_str("999999999999.9999999999").unwrap())
        );
    }

    #[test]
    fn it_should_refuse_limits_whose_cost_exceeds_twelve_whole_digits() {
        let (offering, plan) = offering_and_plan("0", &[("cpu", "10")]);
        let prices = order_prices(
            &offering,
            Some(&plan),
            &limits(&[("cpu", 100_000_000_000)]),
            OrderType::Create,
        );
        assert_eq!(prices, Err(CostOverflow::Limits));
    }

    #[test]
    fn it_should_refuse_a_product_that_overflows_a_decimal_without_panicking() {
        let (offering, plan) = offering_and_plan("0", &[("cpu", "79228162514264337593543950335")]);
        let estimate = plan_estimate(&offering, &plan, &limits(&[("cpu", 2)]));
        assert_eq!(estimate, Err(CostOverflow::Limits));
    }

    #[test]
    fn it_should_blame_the_plan_when_its_own_prices_overflow() {
        let (offering, plan) = offering_and_plan(
            "999999999999",
            &[("setup", "79228162514264337593543950335")],
        );
        let prices = order_prices(&offering, Some(&plan), &limits(&[]), OrderType::Create);
        assert_eq!(prices, Err(CostOverflow::Plan));
    }

    #[test]
    fn a_cost_that_rounds_up_past_the_bound_is_not_representable() {
        assert!(is_representable_cost(
            Decimal::from_str("-999999999999.9999999999").unwrap()
        ));
        assert!(!is_representable_cost(
            Decimal::from_str("999999999999.99999999995").unwrap()
        ));
    }
}
