-- Read models of the offering catalogue. Each offering row carries the whole offering
-- state as `document` (the aggregate's own state, folded from its events) plus the columns
-- that lists filter and sort on. Plans get rows of their own so that `/api/marketplace-plans/`
-- and order validation can find a plan by uuid.

CREATE TABLE projection.offerings
(
    uuid          uuid PRIMARY KEY,
    customer_uuid uuid        NOT NULL,
    category_uuid uuid        NOT NULL,
    project_uuid  uuid,
    type          text        NOT NULL,
    state         text        NOT NULL,
    name          text        NOT NULL,
    slug          text        NOT NULL,
    description   text        NOT NULL,
    shared        boolean     NOT NULL,
    billable      boolean     NOT NULL,
    backend_id    text        NOT NULL,
    -- the billing types of its components ('fixed', 'usage', 'limit', …), for the resource
    -- filters `usage_based` and `limit_based`
    billing_types text[]      NOT NULL DEFAULT '{}',
    -- for offerings imported by remote sync: the remote organization they came from
    -- (`secret_options.customer_uuid`)
    remote_organization_uuid uuid,
    created       timestamptz NOT NULL,
    modified      timestamptz NOT NULL,
    last_seq      bigint      NOT NULL,
    document      jsonb       NOT NULL
);
CREATE INDEX offerings_customer_idx ON projection.offerings (customer_uuid);
CREATE INDEX offerings_category_idx ON projection.offerings (category_uuid);
CREATE INDEX offerings_state_idx ON projection.offerings (state);
CREATE INDEX offerings_name_idx ON projection.offerings (name);
CREATE INDEX offerings_imported_idx
    ON projection.offerings (customer_uuid, remote_organization_uuid)
    WHERE remote_organization_uuid IS NOT NULL;

CREATE TABLE projection.plans
(
    uuid          uuid PRIMARY KEY,
    offering_uuid uuid    NOT NULL,
    name          text    NOT NULL,
    archived      boolean NOT NULL,
    last_seq      bigint  NOT NULL,
    document      jsonb   NOT NULL
);
CREATE INDEX plans_offering_idx ON projection.plans (offering_uuid);

-- Every offering slug ever given: deleted offerings keep theirs taken.
CREATE TABLE projection.offering_slugs
(
    slug text PRIMARY KEY
);
