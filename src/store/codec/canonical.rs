//! The canonical form of a stored event, and the hash that chains it to the previous event of
//! its aggregate.
//!
//! The hash must come out the same from the value a writer is about to store and from what
//! PostgreSQL gives back later, and jsonb changes the text: it reorders object keys (shortest
//! first) and reprints numbers as `numeric` (no exponent, the scale as written: `1e16` comes
//! back as `10000000000000000`, `1.0` as `1.0`, `-0.0` as `0.0`). So the canonical form is
//! compact JSON with object keys sorted by their bytes at every level and every number
//! printed from its value: integers as integers, other numbers in Rust's shortest plain
//! decimal form that reads back as the same `f64` (`1.0` and `1` both print `1`, `1e16`
//! prints `10000000000000000`, `-0.0` prints `0`). serde_json parses numbers with correct
//! rounding, and what the codec stores always reads back as itself (see [`super::check`]),
//! so both sides agree.
//!
//! An event's hash is SHA-256 over a fixed tag and the canonical JSON array
//! `[aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata,
//! previous]`, where `previous` is the hex hash of the event before it in its aggregate
//! (`null` for the first). It names its aggregate, so an event moved to another aggregate no
//! longer matches its hash.

use std::io::Write;

use serde_json::{Number, Value};
use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Prefixed to every event's canonical form, so that the hash of an event can never be the
/// hash of anything else the ledger hashes.
const EVENT_TAG: &[u8] = b"marketplace-ledger event v1\n";

/// The parts of an event row its hash covers.
#[derive(Debug, Clone, Copy)]
pub struct EventRow<'a> {
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub sequence: i64,
    pub event_type: &'a str,
    pub event_version: &'a str,
    pub payload: &'a Value,
    pub metadata: &'a Value,
}

/// The hash of an event chained to `previous`, the hash of the event before it in its
/// aggregate (none for the first event, or when that one has no hash).
pub fn event_hash(row: &EventRow<'_>, previous: Option<&[u8]>) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(EVENT_TAG);
    hasher.update(b"[");
    string(&mut hasher, row.aggregate_type);
    hasher.update(b",");
    string(&mut hasher, row.aggregate_id);
    hasher.update(b",");
    hasher.update(row.sequence.to_string().as_bytes());
    hasher.update(b",");
    string(&mut hasher, row.event_type);
    hasher.update(b",");
    string(&mut hasher, row.event_version);
    hasher.update(b",");
    write_canonical(&mut hasher, row.payload);
    hasher.update(b",");
    write_canonical(&mut hasher, row.metadata);
    hasher.update(b",");
    match previous {
        Some(hash) => string(&mut hasher, &hex::encode(hash)),
        None => hasher.update(b"null"),
    }
    hasher.update(b"]");
    hasher.finalize().into()
}

/// The canonical text of a value (tests and diagnostics; hashing streams it).
pub fn canonical(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(&mut out, value);
    String::from_utf8(out).expect("canonical JSON is UTF-8")
}

fn write_canonical(out: &mut impl Write, value: &Value) {
    // Writing into a hasher or a Vec cannot fail.
    let _ = match value {
        Value::Null => out.write_all(b"null"),
        Value::Bool(true) => out.write_all(b"true"),
        Value::Bool(false) => out.write_all(b"false"),
        Value::Number(n) => out.write_all(number(n).as_bytes()),
        Value::String(s) => {
            string(out, s);
            Ok(())
        }
        Value::Array(items) => {
            let _ = out.write_all(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    let _ = out.write_all(b",");
                }
                write_canonical(out, item);
            }
            out.write_all(b"]")
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            let _ = out.write_all(b"{");
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    let _ = out.write_all(b",");
                }
                string(out, key);
                let _ = out.write_all(b":");
                write_canonical(out, item);
            }
            out.write_all(b"}")
        }
    };
}

fn string(out: &mut impl Write, s: &str) {
    let _ = serde_json::to_writer(out, s);
}

/// A number printed from its value, the same whether it was written as an integer or a
/// float and whichever notation jsonb gave it back in.
fn number(n: &Number) -> String {
    if let Some(u) = n.as_u64() {
        u.to_string()
    } else if let Some(i) = n.as_i64() {
        i.to_string()
    } else {
        match n.as_f64() {
            // numeric has no negative zero (the pattern matches -0.0 too).
            Some(0.0) => "0".to_string(),
            // Shortest digits that read back as `f`, in plain decimal notation.
            Some(f) => format!("{f}"),
            None => n.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn keys_are_sorted_at_every_level() {
        let a = parse(r#"{"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": null}}"#);
        let b = parse(r#"{"a": {"x": null, "y": [1, {"c": 3, "d": 2}]}, "b": 1}"#);
        assert_eq!(canonical(&a), canonical(&b));
        assert_eq!(
            canonical(&a),
            r#"{"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1}"#
        );
    }

    #[test]
    fn numbers_print_the_same_whichever_way_jsonb_gives_them_back() {
        // (what a writer holds, what PostgreSQL prints for it)
        let cases = [
            (json!(1.0), "1.0"),
            (json!(-0.0), "0.0"),
            (json!(1e16), "10000000000000000"),
            (json!(1e20), "100000000000000000000"),
            (
                json!(f64::MAX),
                &format!("17976931348623157{}", "0".repeat(292)),
            ),
            (json!(1e-7), "0.0000001"),
            (json!(0.1), "0.1"),
            (json!(9.223372036854776e18), "9223372036854776000"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(i64::MIN), "-9223372036854775808"),
            (json!(-5.0), "-5.0"),
        ];
        for (written, printed) in cases {
            assert_eq!(
                canonical(&written),
                canonical(&parse(printed)),
                "{written} against {printed}"
            );
        }
    }

    #[test]
    fn an_event_hash_names_its_aggregate_and_its_predecessor() {
        let payload = json!({"Noted": {"text": "x"}});
        let metadata = json!({"actor": "alice"});
        let row = EventRow {
            aggregate_type: "note",
            aggregate_id: "a",
            sequence: 2,
            event_type: "Noted",
            event_version: "1",
            payload: &payload,
            metadata: &metadata,
        };
        let first = event_hash(&row, Some(&[1; 32]));
        assert_eq!(first, event_hash(&row, Some(&[1; 32])));
        assert_ne!(first, event_hash(&row, Some(&[2; 32])));
        assert_ne!(first, event_hash(&row, None));
        let moved = EventRow {
            aggregate_id: "b",
            ..row
        };
        assert_ne!(first, event_hash(&moved, Some(&[1; 32])));
        let renumbered = EventRow { sequence: 3, ..row };
        assert_ne!(first, event_hash(&renumbered, Some(&[1; 32])));
    }
}
