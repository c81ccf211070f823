-- Content-addressed blobs: files uploaded through the API (order attachments). Events name a
-- blob by its sha256 and never carry its bytes, so the log stays small and a rebuild of the
-- read models needs nothing but this table and the events. Rows are only ever inserted
-- (ON CONFLICT DO NOTHING): the same bytes uploaded twice are stored once.
-- This file is never edited: later changes come as new migrations.
CREATE TABLE blobs
(
    sha256       text        PRIMARY KEY,
    content_type text        NOT NULL,
    size         bigint      NOT NULL,
    content      bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
