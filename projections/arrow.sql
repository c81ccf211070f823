-- Read models of the Arrow integration (the `arrow` projection): settings, customer
-- mappings, consumption records and billing syncs. Each row carries the aggregate's state
-- as `document` beside the columns lists filter, sort, sum and join on.

CREATE TABLE projection.arrow_settings
(
    uuid         uuid PRIMARY KEY,
    is_active    boolean     NOT NULL,
    sync_enabled boolean     NOT NULL,
    created      timestamptz NOT NULL,
    modified     timestamptz NOT NULL,
    last_seq     bigint      NOT NULL,
    document     jsonb       NOT NULL
);
CREATE INDEX arrow_settings_created_idx ON projection.arrow_settings (created, uuid);

CREATE TABLE projection.arrow_customer_mappings
(
    uuid                 uuid PRIMARY KEY,
    settings_uuid        uuid        NOT NULL,
    arrow_reference      text        NOT NULL,
    arrow_company_name   text        NOT NULL,
    waldur_customer_uuid uuid        NOT NULL,
    is_active            boolean     NOT NULL,
    created              timestamptz NOT NULL,
    modified             timestamptz NOT NULL,
    last_seq             bigint      NOT NULL,
    document             jsonb       NOT NULL
);
CREATE INDEX arrow_customer_mappings_created_idx
    ON projection.arrow_customer_mappings (created, uuid);
CREATE INDEX arrow_customer_mappings_reference_idx
    ON projection.arrow_customer_mappings (settings_uuid, arrow_reference);
CREATE INDEX arrow_customer_mappings_customer_idx
    ON projection.arrow_customer_mappings (waldur_customer_uuid);

CREATE TABLE projection.arrow_consumption_records
(
    uuid              uuid PRIMARY KEY,
    resource_uuid     uuid           NOT NULL,
    license_reference text           NOT NULL,
    billing_period    date           NOT NULL,
    consumed_sell     numeric(22, 10) NOT NULL,
    consumed_buy      numeric(22, 10) NOT NULL,
    final_sell        numeric(22, 10),
    final_buy         numeric(22, 10),
    last_sync_at      timestamptz,
    finalized_at      timestamptz,
    reconciled_at     timestamptz,
    created           timestamptz    NOT NULL,
    modified          timestamptz    NOT NULL,
    last_seq          bigint         NOT NULL,
    document          jsonb          NOT NULL
);
CREATE INDEX arrow_consumption_records_period_idx
    ON projection.arrow_consumption_records (billing_period DESC, created DESC, uuid);
CREATE INDEX arrow_consumption_records_resource_idx
    ON projection.arrow_consumption_records (resource_uuid, billing_period);

-- Statements read from Arrow's billing exports. No command writes them yet: the list is
-- served (and empty) so that clients that read it work.
CREATE TABLE projection.arrow_billing_syncs
(
    uuid                  uuid PRIMARY KEY,
    settings_uuid         uuid           NOT NULL,
    customer_mapping_uuid uuid           NOT NULL,
    statement_reference   text           NOT NULL,
    report_period         text           NOT NULL,
    state                 smallint       NOT NULL,
    sell_total            numeric(22, 10),
    buy_total             numeric(22, 10),
    items_count           integer        NOT NULL,
    created               timestamptz    NOT NULL,
    modified              timestamptz    NOT NULL,
    last_seq              bigint         NOT NULL,
    document              jsonb          NOT NULL
);
CREATE INDEX arrow_billing_syncs_mapping_idx
    ON projection.arrow_billing_syncs (customer_mapping_uuid, report_period DESC, created DESC);
