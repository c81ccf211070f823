//! Outbound HTTP clients: what the ledger asks of other systems.
//!
//! - [`arrow`]: the ArrowSphere xSP API (partner, customers, licenses, consumption,
//!   billing export).
//! - [`guard`]: the address rules every outbound request obeys (no private, loopback or
//!   link-local address unless allowed).
//! - [`waldur`]: another Waldur's REST API (remote offering sync).

pub mod arrow;
pub mod guard;
pub mod waldur;
