//! Numbers in request bodies, bounded as Waldur's storage bounds them: decimals read like
//! DRF's `DecimalField(max_digits, decimal_places)` and integers like a serializer field
//! built from a Django integer column, each with DRF's messages.
//!
//! Digits are counted on the text of the value, so a number far beyond what
//! [`Decimal`] holds is refused for its digits, as DRF refuses it, and never overflows.

use rust_decimal::Decimal;
use serde_json::Value;

pub const INVALID_NUMBER: &str = "A valid number is required.";

/// A `DecimalField(max_digits, decimal_places, min_value)`.
#[derive(Debug, Clone, Copy)]
pub struct DecimalField {
    pub max_digits: u32,
    pub decimal_places: u32,
    pub min_value: Option<i64>,
}

/// Prices: Waldur's `PRICE_MAX_DIGITS = 22`, `PRICE_DECIMAL_PLACES = 10` with a
/// `MinValueValidator(0)` (`common/mixins.py` `UnitPriceMixin.unit_price`,
/// `marketplace/models.py` `PlanComponent.price` and `future_price`).
pub const PRICE: DecimalField = DecimalField {
    max_digits: 22,
    decimal_places: 10,
    min_value: Some(0),
};

/// Order `cost` (`CostEstimateMixin.cost`, `DecimalField(max_digits=22, decimal_places=10)`),
/// the column `projection.orders.cost numeric(22, 10)` mirrors.
pub const COST: DecimalField = DecimalField {
    max_digits: 22,
    decimal_places: 10,
    min_value: None,
};

impl DecimalField {
    /// Digits allowed before the decimal point.
    pub const fn max_whole_digits(&self) -> u32 {
        self.max_digits - self.decimal_places
    }

    /// DRF's message for a value with more whole digits than the field holds.
    pub fn whole_digits_message(&self) -> String {
        format!(
            "Ensure that there are no more than {} digits before the decimal point.",
            self.max_whole_digits()
        )
    }

    /// Reads a JSON number or numeric string, in DRF's order: a number at all, then its
    /// digits (total, decimal places, whole), then the minimum.
    pub fn parse(&self, value: &Value) -> Result<Decimal, String> {
        let text = match value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_string(),
            _ => return Err(INVALID_NUMBER.into()),
        };
        let number = DecimalText::parse(&text).ok_or(INVALID_NUMBER)?;
        let (total, places) = number.digits();
        let whole = total - places;
        if total > u64::from(self.max_digits) {
            return Err(format!(
                "Ensure that there are no more than {} digits in total.",
                self.max_digits
            ));
        }
        if places > u64::from(self.decimal_places) {
            return Err(format!(
                "Ensure that there are no more than {} decimal places.",
                self.decimal_places
            ));
        }
        if whole > u64::from(self.max_whole_digits()) {
            return Err(self.whole_digits_message());
        }
        // Within the bounds checked, the value fits a `Decimal` (28 digits) exactly.
        let value = number.to_decimal().ok_or(INVALID_NUMBER)?;
        if let Some(min) = self.min_value
            && value < Decimal::from(min)
        {
            return Err(format!(
                "Ensure this value is greater than or equal to {min}."
            ));
        }
        Ok(value)
    }

    /// Whether a computed value can be stored in the field: no more whole digits than it
    /// holds once rounded to its decimal places, as PostgreSQL rounds on the way in.
    pub fn holds(&self, value: Decimal) -> bool {
        let rounded = value.round_dp_with_strategy(
            self.decimal_places,
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        );
        let limit = Decimal::from_i128_with_scale(10_i128.pow(self.max_whole_digits()), 0);
        rounded.abs() < limit
    }
}

/// A decimal written as text, normalized: `digits × 10^exponent` with neither leading nor
/// trailing zeros in `digits` (empty for zero).
#[derive(Debug, PartialEq)]
struct DecimalText {
    negative: bool,
    digits: String,
    exponent: i64,
}

impl DecimalText {
    /// Python's `Decimal(text)` for finite values: a sign, digits with an optional point,
    /// an optional exponent.
    fn parse(text: &str) -> Option<Self> {
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], rest[at + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        let mut exponent = exponent.checked_sub(i64::try_from(fraction.len()).ok()?)?;
        let joined = format!("{whole}{fraction}");
        let significant = joined.trim_start_matches('0');
        let digits = significant.trim_end_matches('0');
        exponent = exponent.checked_add(i64::try_from(significant.len() - digits.len()).ok()?)?;
        Some(Self {
            negative,
            digits: digits.to_string(),
            exponent,
        })
    }

    /// `(total digits, decimal places)` as DRF counts them (`validate_precision`) on the
    /// normalized value; the leading zeros of a pure fraction count as decimal places.
    fn digits(&self) -> (u64, u64) {
        let len = self.digits.len() as u64;
        if self.digits.is_empty() {
            return (1, 0);
        }
        let exponent = self.exponent.unsigned_abs();
        if self.exponent >= 0 {
            (len.saturating_add(exponent), 0)
        } else if len > exponent {
            (len, exponent)
        } else {
            (exponent, exponent)
        }
    }

    fn to_decimal(&self) -> Option<Decimal> {
        if self.digits.is_empty() {
            return Some(Decimal::ZERO);
        }
        let mut mantissa: i128 = self.digits.parse().ok()?;
        let mut scale = 0;
        if self.exponent >= 0 {
            let power = 10_i128.checked_pow(u32::try_from(self.exponent).ok()?)?;
            mantissa = mantissa.checked_mul(power)?;
        } else {
            scale = u32::try_from(self.exponent.unsigned_abs()).ok()?;
        }
        if self.negative {
            mantissa = -mantissa;
        }
        Decimal::try_from_i128_with_scale(mantissa, scale).ok()
    }
}

/// Why an integer was refused; `Display` is DRF's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegerError {
    #[error("A valid integer is required.")]
    Invalid,
    #[error("Ensure this value is less than or equal to {0}.")]
    AboveMax(i64),
    #[error("Ensure this value is greater than or equal to {0}.")]
    BelowMin(i64),
}

/// Bounds of an integer field.
#[derive(Debug, Clone, Copy)]
pub struct IntegerField {
    pub min_value: i64,
    pub max_value: i64,
}

/// Django's `IntegerField` on PostgreSQL (`integer`), which Waldur uses for the component
/// limits `limit_amount`, `min_value`, `max_value`, `max_available_limit` and
/// `default_limit`; a serializer built from the model bounds them by the column.
pub const INTEGER: IntegerField = IntegerField {
    min_value: -2_147_483_648,
    max_value: 2_147_483_647,
};

/// Django's `PositiveIntegerField` (`PlanComponent.amount`, a plan's quotas).
pub const POSITIVE_INTEGER: IntegerField = IntegerField {
    min_value: 0,
    max_value: 2_147_483_647,
};

/// Requested limits of an order or resource. Waldur reads them with an unbounded
/// `IntegerField(min_value=0)` into a JSON column; here they are bounded by the 64-bit
/// integer the aggregates hold them in, and their cost by [`COST`].
pub const LIMIT: IntegerField = IntegerField {
    min_value: 0,
    max_value: i64::MAX,
};

impl IntegerField {
    /// Reads a JSON integer or integer string within the bounds, with DRF's messages.
    pub fn parse(&self, value: &Value) -> Result<i64, IntegerError> {
        let parsed: Option<i128> = match value {
            Value::Number(n) => n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from))
                // `as` saturates: a huge whole number is still out of bounds, not invalid.
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i128)),
            Value::String(s) => {
                let s = s.trim();
                let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    Some(s.parse::<i128>().unwrap_or(if s.starts_with('-') {
                        i128::MIN
                    } else {
                        i128::MAX
                    }))
                }
            }
            _ => None,
        };
        let value = parsed.ok_or(IntegerError::Invalid)?;
        if value > i128::from(self.max_value) {
            return Err(IntegerError::AboveMax(self.max_value));
        }
        if value < i128::from(self.min_value) {
            return Err(IntegerError::BelowMin(self.min_value));
        }
        Ok(value as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::str::FromStr;

    fn price(value: Value) -> Result<Decimal, String> {
        PRICE.parse(&value)
    }

    #[test]
    fn a_price_within_the_bounds_is_read_exactly() {
        assert_eq!(
            price(json!("999999999999.9999999999")),
            Ok(Decimal::from_str("999999999999.9999999999").unwrap())
        );
        assert_eq!(price(json!(10)), Ok(Decimal::TEN));
        assert_eq!(price(json!("0.5")), Ok(Decimal::new(5, 1)));
    }

    #[test]
    fn trailing_and_leading_zeros_do_not_count() {
        assert_eq!(price(json!("0001.50000000000000")), Ok(Decimal::new(15, 1)));
        assert_eq!(price(json!("0.0000000001")), Ok(Decimal::new(1, 10)));
    }

    #[test]
    fn too_many_digits_are_refused_with_drfs_messages() {
        assert_eq!(
            price(json!("79228162514264337593543950335")),
            Err("Ensure that there are no more than 22 digits in total.".into())
        );
        assert_eq!(
            price(json!("1.00000000001")),
            Err("Ensure that there are no more than 10 decimal places.".into())
        );
        assert_eq!(
            price(json!("0.00000000001")),
            Err("Ensure that there are no more than 10 decimal places.".into())
        );
        assert_eq!(
            price(json!("1000000000000")),
            Err("Ensure that there are no more than 12 digits before the decimal point.".into())
        );
        assert_eq!(
            price(json!(1e30)),
            Err("Ensure that there are no more than 22 digits in total.".into())
        );
    }

    #[test]
    fn a_negative_price_and_text_are_refused() {
        assert_eq!(
            price(json!("-1")),
            Err("Ensure this value is greater than or equal to 0.".into())
        );
        for bad in [
            json!("abc"),
            json!(""),
            json!("."),
            json!("1e"),
            json!(true),
        ] {
            assert_eq!(price(bad), Err(INVALID_NUMBER.into()));
        }
    }

    #[test]
    fn a_cost_is_held_up_to_twelve_whole_digits_after_rounding() {
        let max = Decimal::from_str("999999999999.9999999999").unwrap();
        assert!(COST.holds(max));
        assert!(!COST.holds(Decimal::from_str("999999999999.99999999995").unwrap()));
        assert!(!COST.holds(Decimal::from(1_000_000_000_000_i64)));
        assert!(COST.holds(-max));
    }

    #[test]
    fn integers_are_bounded_with_drfs_messages() {
        assert_eq!(INTEGER.parse(&json!(2_147_483_647)), Ok(2_147_483_647));
        assert_eq!(
            INTEGER.parse(&json!(2_147_483_648_i64)),
            Err(IntegerError::AboveMax(2_147_483_647))
        );
        assert_eq!(
            INTEGER
                .parse(&json!(2_147_483_648_i64))
                .unwrap_err()
                .to_string(),
            "Ensure this value is less than or equal to 2147483647."
        );
        assert_eq!(
            LIMIT.parse(&json!("100000000000000000000000")),
            Err(IntegerError::AboveMax(i64::MAX))
        );
        assert_eq!(
            LIMIT.parse(&json!(1e20)),
            Err(IntegerError::AboveMax(i64::MAX))
        );
        assert_eq!(LIMIT.parse(&json!(-1)), Err(IntegerError::BelowMin(0)));
        assert_eq!(LIMIT.parse(&json!("1.5")), Err(IntegerError::Invalid));
        assert_eq!(LIMIT.parse(&json!(" 12 ")), Ok(12));
    }
}
