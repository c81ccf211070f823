-- Read models of orders and the resources they create (the `orders` projection). Each row
-- carries the aggregate's state as `document` plus the columns that lists filter and sort
-- on; the indexes serve the filtered, paged lists that consumers, providers and the site
-- agent ask for.

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
    -- Unbounded: events recorded before costs were validated may hold larger values, and
    -- the read model must still take them (the API renders the document's cost).
    cost                   numeric,
    created_by             uuid          NOT NULL,
    consumer_reviewed_at   timestamptz,
    -- who approved or rejected it on each side (joined to users for their names)
    consumer_reviewed_by   uuid,
    provider_reviewed_by   uuid,
    -- the day the order is to start executing (pending-start-date), if it names one
    start_date             date,
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
CREATE INDEX orders_due_idx ON projection.orders (start_date) WHERE state = 'pending-start-date';
-- `query` looks for the text inside the order's name and slug (and its project's name).
CREATE INDEX orders_name_trgm_idx ON projection.orders USING gin (name public.gin_trgm_ops);
CREATE INDEX orders_slug_trgm_idx ON projection.orders USING gin (slug public.gin_trgm_ops);

-- Marketplace resources: what orders create. Offering rules consult it ("in use").
CREATE TABLE projection.resources
(
    uuid          uuid PRIMARY KEY,
    offering_uuid uuid        NOT NULL,
    plan_uuid     uuid,
    project_uuid  uuid        NOT NULL,
    customer_uuid uuid        NOT NULL,
    name          text        NOT NULL DEFAULT '',
    backend_id    text        NOT NULL DEFAULT '',
    state         text        NOT NULL,
    -- the day the resource is to be terminated, if one is set
    end_date      date,
    created       timestamptz NOT NULL,
    modified      timestamptz NOT NULL,
    last_seq      bigint      NOT NULL,
    -- The resource aggregate's state (see src/domain/resource.rs).
    document      jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX resources_project_idx ON projection.resources (project_uuid);
CREATE INDEX resources_offering_idx ON projection.resources (offering_uuid);
CREATE INDEX resources_plan_idx ON projection.resources (plan_uuid);
CREATE INDEX resources_backend_id_idx ON projection.resources (backend_id);
-- Resource lists filter by customer and state and page by creation time.
CREATE INDEX resources_customer_idx ON projection.resources (customer_uuid, created);
CREATE INDEX resources_state_idx ON projection.resources (state, created);
CREATE INDEX resources_created_idx ON projection.resources (created, uuid);
CREATE INDEX resources_name_idx ON projection.resources (name);
