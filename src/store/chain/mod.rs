//! Tamper evidence over the whole log: the per-aggregate hash chain (written by the codec,
//! see [`crate::store::codec::canonical`]), a digest of the ledger that commits to every
//! event, and the audit that checks both.
//!
//! - [`digest`]: the running root over the events in position order, up to a position.
//!   `root_0` is 32 zero bytes and `root_n = SHA-256(tag ‖ root_{n-1} ‖ position_n ‖
//!   hash_n)`, where `hash_n` is the event's chain hash (which names its aggregate, its
//!   sequence and its predecessor). A digest is `{position, event_count, root_hash,
//!   computed_at}`; appending later events leaves every earlier digest provable, since
//!   proving one is folding the same events again up to its position.
//! - [`verify`]: recomputes every event's hash against its stored one, checks every
//!   aggregate's chain (no gap, positions in sequence order), and folds the root; with a
//!   kept digest it also checks that the ledger up to that position still folds to it.
//! - [`backfill`]: chains the rows written before the chain existed, once.
//!
//! The chain alone catches an edited, moved, reordered or inserted event and a removed one
//! with later events in its aggregate; it cannot see an aggregate's newest events removed,
//! a whole aggregate removed, or history rewritten with recomputed hashes. A digest kept
//! outside the database catches those, for everything up to its position.

pub mod backfill;
pub mod digest;
pub mod verify;

use sha2::{Digest as _, Sha256};

pub use digest::{Digest, DigestError, digest};
pub use verify::{Finding, Problem, Progress, Verification, verify};

/// The root of an empty ledger.
pub const EMPTY_ROOT: [u8; 32] = [0; 32];

/// Prefixed to every step of the running root.
const ROOT_TAG: &[u8] = b"marketplace-ledger root v1\n";

/// The running root after the event at `position` whose chain hash is `event_hash`.
pub fn next_root(root: &[u8; 32], position: i64, event_hash: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(ROOT_TAG);
    hasher.update(root);
    hasher.update(position.to_be_bytes());
    hasher.update(event_hash);
    hasher.finalize().into()
}
