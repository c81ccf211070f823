//! How alike two names are, as Waldur's suggestions measure it: the ratio `2·M / T` of
//! matching characters over the characters of both (Python's
//! `difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()`), 1.0 for identical
//! names and 0.0 for names with nothing in common.

use similar::TextDiff;

/// The similarity of two names, ignoring case.
pub fn ratio(a: &str, b: &str) -> f64 {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    f64::from(TextDiff::from_chars(a.as_str(), b.as_str()).ratio())
}

/// `value` rounded to 2 decimal places, as suggestions show confidence.
pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_names_match_fully_whatever_their_case() {
        assert_eq!(
            ratio("Nordic Research Labs Oy", "nordic research labs oy"),
            1.0
        );
    }

    #[test]
    fn unrelated_names_match_little() {
        assert!(ratio("Nordic Research Labs Oy", "Zzyzx") < 0.2);
        assert_eq!(ratio("abc", "xyz"), 0.0);
    }

    #[test]
    fn similar_names_match_closely() {
        let r = ratio("Nordic Research Labs", "Nordic Research Labs Oy");
        assert!(r > 0.9 && r < 1.0, "{r}");
        // difflib: 2·3 / 8
        assert_eq!(ratio("abcd", "abce"), 0.75);
    }

    #[test]
    fn confidence_has_two_places() {
        assert_eq!(round2(0.934_56), 0.93);
        assert_eq!(round2(1.0), 1.0);
    }
}
