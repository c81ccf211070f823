-- Tamper evidence. Each event row carries `hash`: SHA-256 over its canonical form (aggregate
-- type and id, sequence, event type and version, payload, metadata) and the hash of the
-- event before it in its aggregate, so the events of an aggregate form a chain. The ledger
-- computes it on every append (src/store/codec/); a row written by anything else has none,
-- and `ledger audit verify` reports it.
--
-- Rows written before this migration have no hash yet. `event_chain` records how far they
-- go (`legacy_through`, the highest position at this migration); the next `ledger migrate`
-- or start chains exactly those rows, aggregate by aggregate in sequence order, in one
-- transaction, and stamps `backfilled_at`. Rows after that position never get a hash that
-- the ledger did not compute when it wrote them.
-- This file is never edited: later changes come as new migrations.
ALTER TABLE events ADD COLUMN hash bytea;

CREATE TABLE event_chain
(
    -- one row only
    id             boolean     PRIMARY KEY DEFAULT true CHECK (id),
    legacy_through bigint      NOT NULL,
    backfilled_at  timestamptz
);

INSERT INTO event_chain (legacy_through, backfilled_at)
SELECT coalesce(max(position), 0),
       CASE WHEN max(position) IS NULL THEN now() END
FROM events;
