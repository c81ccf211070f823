//! Tamper evidence over the whole log. The codec chains each event to the previous event of
//! its aggregate as it writes it (see [`crate::store::codec::canonical`]);
//! [`backfill`] chains the rows written before the chain existed, once.

pub mod backfill;
