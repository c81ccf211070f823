-- Read model of orders. Each row carries the order aggregate's state as `document` plus the
-- columns that lists filter and sort on; the indexes serve the filtered, paged lists that
-- consumers, providers and the site agent ask for.

CREATE TABLE projection.orders
(
    uuid                   uuid PRIMARY KEY,
    resource_uuid          uuid          NOT NULL,
    offering_uuid          uuid          NOT NULL,
    project_uuid           uuid          NOT NULL,
    customer_uuid          uuid          NOT NULL,
    provider_customer_uuid uuid          NOT NULL,
    plan_uuid              uuid,
    type                   text          NOT NULL,
    state                  text          NOT NULL,
    cost                   numeric(22, 10),
    created_by             uuid          NOT NULL,
    consumer_reviewed_at   timestamptz,
    slug                   text          NOT NULL DEFAULT '',
    created                timestamptz   NOT NULL,
    modified               timestamptz   NOT NULL,
    last_seq               bigint        NOT NULL,
    document               jsonb         NOT NULL,
    -- attributes.name, searched by the `query` filter
    name                   text          NOT NULL DEFAULT ''
);
-- Every list index ends in (created, uuid): the default order, so a page is read in index
-- order and stops after its rows.
CREATE INDEX orders_created_idx ON projection.orders (created, uuid);
CREATE INDEX orders_state_idx ON projection.orders (state, created, uuid);
CREATE INDEX orders_offering_idx ON projection.orders (offering_uuid, state, created, uuid);
CREATE INDEX orders_project_idx ON projection.orders (project_uuid, created, uuid);
CREATE INDEX orders_customer_idx ON projection.orders (customer_uuid, created, uuid);
CREATE INDEX orders_provider_idx ON projection.orders (provider_customer_uuid, state, created, uuid);
CREATE INDEX orders_resource_idx ON projection.orders (resource_uuid);
CREATE INDEX orders_modified_idx ON projection.orders (modified, uuid);
CREATE INDEX orders_slug_idx ON projection.orders (slug);
-- `query` looks for the text inside the order's name and slug (and its project's name).
CREATE INDEX orders_name_trgm_idx ON projection.orders USING gin (name public.gin_trgm_ops);
CREATE INDEX orders_slug_trgm_idx ON projection.orders USING gin (slug public.gin_trgm_ops);
