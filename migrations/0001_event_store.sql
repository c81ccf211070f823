-- The event store: the only source of truth. postgres-es writes this table with explicit
-- column lists, so the extra columns below are filled by their defaults.
--   position        global, gap-tolerant order of appends (bigserial)
--   recorded_at     when the row was written
--   transaction_id  the writing transaction; readers that follow the log stay below the
--                   oldest transaction still in flight so that no late commit is skipped
-- This file is never edited: later changes come as new migrations.
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        jsonb                        NOT NULL,
    metadata       jsonb                        NOT NULL,
    position       bigserial                    NOT NULL,
    recorded_at    timestamptz                  NOT NULL DEFAULT now(),
    transaction_id xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE UNIQUE INDEX events_position_idx ON events (position);
CREATE INDEX events_transaction_position_idx ON events (transaction_id, position);

-- Where each log follower (projector) stands. A follower reads events ordered by
-- (transaction_id, position) strictly after its checkpoint.
CREATE TABLE projection_checkpoints
(
    name            text        PRIMARY KEY,
    last_xid        xid8        NOT NULL DEFAULT '0'::xid8,
    last_position   bigint      NOT NULL DEFAULT 0,
    schema_hash     text        NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now()
);
