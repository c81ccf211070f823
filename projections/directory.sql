-- Read models of the directory: users and their tokens, customers, projects, role grants,
-- categories and service providers. Everything here is disposable: the projector drops the
-- `projection` schema and rebuilds it from the event log whenever these definitions change
-- or a table is missing. `last_seq` is the aggregate sequence last applied to a row; every
-- update is guarded by it so that applying an event twice changes nothing.

CREATE TABLE projection.users
(
    uuid         uuid PRIMARY KEY,
    username     text        NOT NULL,
    slug         text        NOT NULL DEFAULT '',
    email        text        NOT NULL DEFAULT '',
    first_name   text        NOT NULL DEFAULT '',
    last_name    text        NOT NULL DEFAULT '',
    full_name    text        NOT NULL DEFAULT '',
    organization text        NOT NULL DEFAULT '',
    job_title    text        NOT NULL DEFAULT '',
    phone_number text        NOT NULL DEFAULT '',
    description  text        NOT NULL DEFAULT '',
    is_staff     boolean     NOT NULL DEFAULT false,
    is_support   boolean     NOT NULL DEFAULT false,
    is_active    boolean     NOT NULL DEFAULT true,
    -- reads everything, the log included, and changes nothing
    is_auditor   boolean     NOT NULL DEFAULT false,
    date_joined  timestamptz NOT NULL,
    modified     timestamptz NOT NULL,
    last_seq     bigint      NOT NULL
);
CREATE UNIQUE INDEX users_username_idx ON projection.users (lower(username));

CREATE TABLE projection.user_tokens
(
    token_hash text PRIMARY KEY,
    user_uuid  uuid        NOT NULL,
    created    timestamptz NOT NULL
);
CREATE INDEX user_tokens_user_idx ON projection.user_tokens (user_uuid);

CREATE TABLE projection.customers
(
    uuid                 uuid PRIMARY KEY,
    slug                 text        NOT NULL,
    name                 text        NOT NULL,
    native_name          text        NOT NULL DEFAULT '',
    abbreviation         text        NOT NULL DEFAULT '',
    contact_details      text        NOT NULL DEFAULT '',
    agreement_number     text        NOT NULL DEFAULT '',
    email                text        NOT NULL DEFAULT '',
    phone_number         text        NOT NULL DEFAULT '',
    access_subnets       text        NOT NULL DEFAULT '',
    registration_code    text        NOT NULL DEFAULT '',
    homepage             text        NOT NULL DEFAULT '',
    domain               text        NOT NULL DEFAULT '',
    vat_code             text        NOT NULL DEFAULT '',
    postal               text        NOT NULL DEFAULT '',
    address              text        NOT NULL DEFAULT '',
    bank_name            text        NOT NULL DEFAULT '',
    bank_account         text        NOT NULL DEFAULT '',
    country              text        NOT NULL DEFAULT '',
    backend_id           text        NOT NULL DEFAULT '',
    latitude             double precision,
    longitude            double precision,
    blocked              boolean     NOT NULL DEFAULT false,
    archived             boolean     NOT NULL DEFAULT false,
    service_provider_uuid uuid,
    created              timestamptz NOT NULL,
    modified             timestamptz NOT NULL,
    last_seq             bigint      NOT NULL
);
CREATE INDEX customers_name_idx ON projection.customers (name);
CREATE INDEX customers_created_idx ON projection.customers (created);

CREATE TABLE projection.projects
(
    uuid                  uuid PRIMARY KEY,
    customer_uuid         uuid        NOT NULL,
    slug                  text        NOT NULL,
    name                  text        NOT NULL,
    description           text        NOT NULL DEFAULT '',
    backend_id            text        NOT NULL DEFAULT '',
    start_date            date,
    end_date              date,
    end_date_requested_by uuid,
    oecd_fos_2007_code    text,
    is_industry           boolean     NOT NULL DEFAULT false,
    created               timestamptz NOT NULL,
    modified              timestamptz NOT NULL,
    last_seq              bigint      NOT NULL
);
CREATE INDEX projects_customer_idx ON projection.projects (customer_uuid);
CREATE INDEX projects_created_idx ON projection.projects (created);
CREATE INDEX projects_name_trgm_idx ON projection.projects USING gin (name public.gin_trgm_ops);

-- Role grants in customers ('customer') and projects ('project').
CREATE TABLE projection.user_roles
(
    scope_type      text        NOT NULL,
    scope_uuid      uuid        NOT NULL,
    user_uuid       uuid        NOT NULL,
    role            text        NOT NULL,
    expiration_time timestamptz,
    created         timestamptz NOT NULL,
    created_by      uuid,
    PRIMARY KEY (scope_type, scope_uuid, user_uuid, role)
);
CREATE INDEX user_roles_user_idx ON projection.user_roles (user_uuid);

CREATE TABLE projection.categories
(
    uuid                    uuid PRIMARY KEY,
    title                   text        NOT NULL,
    description             text        NOT NULL DEFAULT '',
    default_vm_category     boolean     NOT NULL DEFAULT false,
    default_volume_category boolean     NOT NULL DEFAULT false,
    default_tenant_category boolean     NOT NULL DEFAULT false,
    created                 timestamptz NOT NULL,
    modified                timestamptz NOT NULL,
    last_seq                bigint      NOT NULL
);

CREATE TABLE projection.service_providers
(
    uuid                 uuid PRIMARY KEY,
    customer_uuid        uuid        NOT NULL UNIQUE,
    description          text        NOT NULL DEFAULT '',
    enable_notifications boolean     NOT NULL DEFAULT true,
    created              timestamptz NOT NULL,
    modified             timestamptz NOT NULL,
    last_seq             bigint      NOT NULL
);

-- Every slug ever given, per kind ('users', 'customers', 'projects'): deleted objects keep
-- their slugs taken, as Waldur counts soft-deleted rows.
CREATE TABLE projection.slugs
(
    kind text NOT NULL,
    slug text NOT NULL,
    PRIMARY KEY (kind, slug)
);
