//! Marketplace Ledger: an event-sourced order and offering ledger that speaks Waldur's
//! marketplace REST API.
//!
//! Crate map:
//! - [`domain`]: the aggregates (pure deciders: state, commands, events, errors, tests).
//! - [`store`]: the PostgreSQL event store, the event codec (hash chain, upcasters), event
//!   metadata, the global log reader and the tamper-evidence audit.
//! - [`projection`]: read models fed from the log, rebuildable at any time.
//! - [`read`]: typed queries over the read models, one module per read model (orders,
//!   resources, users, customers, projects, roles, remote syncs, …), the list machinery and
//!   visibility.
//! - [`app`]: the [`app::Ledger`] that runs commands and keeps read models current, and the
//!   rules every caller shares, answering with [`app::error::AppError`]:
//!   [`app::directory`] (user creation, tokens and the first admin), [`app::offerings`]
//!   (creating, importing, moving and editing offerings), [`app::orders`] and
//!   [`app::remote_sync`] (syncs and their runs).
//! - [`clients`]: outbound HTTP clients (another Waldur, ArrowSphere).
//! - [`jobs`]: what the ledger does on a timer (projector catch-up, starting due orders).
//! - [`api`]: the HTTP API in Waldur's wire format.
//! - [`permissions`]: the role → permission table.
//! - [`server`], [`cli`]: running the server and the `ledger` subcommands.
//! - [`bench`]: the `ledger bench` measurements.
//! - [`config`]: the typed configuration.

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod bench;
pub mod cli;
pub mod clients;
pub mod config;
pub mod domain;
pub mod jobs;
pub mod permissions;
pub mod projection;
pub mod read;
pub mod server;
pub mod store;
pub mod web;
