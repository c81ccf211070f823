#![recursion_limit = "256"]
//! Integration tests: the real server on port 0 against a fresh PostgreSQL database per test,
//! cloned from a template that is migrated once per schema.

// The test harness: spawning the app, a client with one method per endpoint.
mod helpers;
// The consumer, project, provider and category most marketplace tests start from.
mod world;

// Authentication, `/api/users/` and `ledger token create`.
mod users;
// Customers: CRUD, visibility, blocking and archiving.
mod customers;
// Projects: CRUD, end dates, visibility.
mod projects;
// Team management on customers and projects.
mod roles;
// Marketplace categories and service providers.
mod catalog;
// Waldur list conventions: paging headers, ordering, field selection, HEAD.
mod lists;
// Malformed and hostile input is answered with 4xx in Waldur's format.
mod bad_input;
// Input the log could not give back is refused; old events of that kind still read back.
mod poison;
// A write conflict that outlives its retries is a 409 on every command path.
mod conflicts;
// A generated sweep of hostile input over every route: no 5xx, every event reads back.
mod fuzz;
// The offering catalogue: provider offerings, components, partitions, plans, public views.
mod offerings;
// Offering components and SLURM partitions.
mod offering_components;
// Plans and the public offering catalogue.
mod plans;
// Export, import, move, backend id checks and billing modes of offerings.
mod offering_transfer;
// An offering's whole life through HTTP.
mod offering_flow;
// Offerings created through the library with no HTTP request, then read over HTTP.
mod offering_app;
// Reading orders.
mod orders;
// Placing orders: validation, auto-approval, cost, resources.
mod order_create;
// Order actions: reviews, state changes, cancel, delete, unlink, backend ids.
mod order_actions;
// The world and client methods the resource tests share.
mod resource_world;
// Reading resources from both sides, their filters and backend ids.
mod resources;
// Update and Terminate orders from resource actions.
mod resource_orders;
// Resource end dates, order and resource cost, rebuilds of changed resources.
mod resource_terms;
// The event store and read models: metadata, convergence, rebuilds, the log reader.
mod ledger;
// Tamper evidence: edits, removals, swaps and insertions made with SQL caught by the audit.
mod tamper;
// Old event versions read back as the current one, through the aggregate and a rebuild.
mod event_versions;
// Remote offering sync: two ledgers, a stand-in for a real Waldur, the API and its refusals.
mod remote_sync;
// The remote synchronisation API's refusals, secrets and run exclusion.
mod remote_sync_api;
// A Waldur stand-in that remote sync reads.
mod fake_waldur;
// An ArrowSphere stand-in: fixtures, legacy paging, switches to fail, and a request log.
mod fake_arrow;
// The ArrowSphere client against the stand-in: headers, paging, amounts, failures.
mod arrow_client;
// The Arrow API: settings, mappings, license import and link, consumption.
mod arrow_api;
// Histories, events, point-in-time reads and the auditor.
mod history;
// Idempotency-Key on POST.
mod idempotency;
// The Arrow actions that read Arrow: customers, licenses, this month's figures, summaries.
mod arrow_discovery;
// The Remote Offering Sync page: its files, content types and Content-Security-Policy.
mod web;
// A changed projection schema or document shape rebuilds that projection alone.
mod schema_changes;
// A projection that cannot apply an event stops alone and resumes after a restart.
mod stuck_projections;
// Rebuilds beside the live read models, swapped in at once; verify compares row by row.
mod rebuilds;
// Orders placed over HTTP by a project team: shared by the tests below.
mod order_fixture;
// Order attachments: PDF upload, download and removal.
mod order_attachments;
// The order list: visibility, Waldur's filters, approvability.
mod order_filters;
// Updating a pending-consumer order with PUT/PATCH.
mod order_update;
// Consumer approval and project or order start dates.
mod order_review_dates;
// Prices, limits and order costs at the bounds Waldur's storage sets.
mod bounds;
