//! The event store and everything that reads the log directly.
//!
//! - [`blobs`]: content-addressed blobs (order attachments), stored once per sha256.
//! - [`chain`]: tamper evidence: the digest of the ledger, the audit, the chain backfill.
//! - [`codec`]: what an event becomes in the log, checked to read back as itself, hashed
//!   into its aggregate's chain on the way in and upcast on the way out.
//! - [`db`]: connecting, creating the database on first start, applying `migrations/`.
//! - [`metadata`]: who/what/when stamped on every event.
//! - [`log`]: reading the global log in a gap-free order, for projectors and auditors.
//! - [`commands`]: running a command on an aggregate with conflict retries.
//! - [`together`]: an order and its resource changed in one transaction.
//! - [`idempotency`]: the first response to a POST with an `Idempotency-Key`, for 24 h.
//! - [`locks`]: named locks for check-then-write rules (uniqueness).
//! - [`secrets`]: remote tokens and API keys, encrypted, outside the log.
//! - [`tokens`]: API tokens and the hash that is all the ledger stores of them.

pub mod blobs;
pub mod chain;
pub mod codec;
pub mod commands;
pub mod db;
pub mod idempotency;
pub mod locks;
pub mod log;
pub mod metadata;
pub mod secrets;
pub mod together;
pub mod tokens;
