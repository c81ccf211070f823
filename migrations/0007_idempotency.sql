-- Responses to POST requests that carried an `Idempotency-Key`, kept for 24 hours so that a
-- retry with the same key and body gets the first response again instead of running twice.
-- Keys belong to the API token that sent them (by its hash). `status` is null while the
-- first request still runs. This table is not a read model: rebuilds leave it alone.
-- This file is never edited: later changes come as new migrations.
CREATE TABLE idempotency_keys
(
    token_hash   text        NOT NULL,
    key          text        NOT NULL,
    -- sha256 of the method, the path with its query and the body
    request_hash text        NOT NULL,
    status       smallint,
    content_type text,
    location     text,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_hash, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
