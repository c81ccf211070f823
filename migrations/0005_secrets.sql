-- Secrets the ledger must use again later (remote Waldur tokens, Arrow API keys). They never
-- enter the event log: events name a secret by its id and carry a keyed fingerprint of it,
-- and the value lives here, encrypted with AES-256-GCM under the ledger's secret key
-- (`LEDGER_SECRET_KEY`). This table is not a read model: rebuilds leave it alone. A secret
-- is deleted with the object that owns it.
-- This file is never edited: later changes come as new migrations.
CREATE TABLE secrets
(
    id         uuid        PRIMARY KEY,
    -- what holds it, for operators: 'remote-sync', 'arrow-settings'
    owner_kind text        NOT NULL,
    owner_uuid uuid        NOT NULL,
    nonce      bytea       NOT NULL,
    ciphertext bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX secrets_owner_idx ON secrets (owner_kind, owner_uuid);
