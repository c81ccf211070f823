-- Read models of remote offering syncs and their runs (the `remote_sync` projection). Each
-- row carries the aggregate's state as `document` beside the columns lists filter and sort
-- on. A sync's state, last execution and output are those of its newest run.

CREATE TABLE projection.remote_syncs
(
    uuid                        uuid PRIMARY KEY,
    local_service_provider_uuid uuid        NOT NULL,
    remote_organization_uuid    uuid        NOT NULL,
    is_active                   boolean     NOT NULL,
    -- the newest run, if any
    last_run_uuid               uuid,
    created                     timestamptz NOT NULL,
    modified                    timestamptz NOT NULL,
    last_seq                    bigint      NOT NULL,
    document                    jsonb       NOT NULL
);
CREATE INDEX remote_syncs_created_idx ON projection.remote_syncs (created, uuid);
CREATE INDEX remote_syncs_provider_idx
    ON projection.remote_syncs (local_service_provider_uuid, remote_organization_uuid);

CREATE TABLE projection.sync_runs
(
    uuid      uuid PRIMARY KEY,
    sync_uuid uuid        NOT NULL,
    state     text        NOT NULL,
    started   timestamptz NOT NULL,
    finished  timestamptz,
    last_seq  bigint      NOT NULL,
    document  jsonb       NOT NULL
);
-- `runs/` lists a sync's runs newest first.
CREATE INDEX sync_runs_sync_idx ON projection.sync_runs (sync_uuid, started DESC, uuid);
CREATE INDEX sync_runs_processing_idx ON projection.sync_runs (sync_uuid) WHERE state = 'Processing';
