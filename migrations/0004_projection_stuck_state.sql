-- Each read model now follows the log with a checkpoint row of its own (named after the
-- projection: directory, offerings, orders), so one event that cannot be applied stops only
-- its read model. Such a projection is marked stuck at that event: its position, the error
-- with its causes, and when. The start-up catch-up clears the mark and tries again from
-- there. The checkpoint row of the former single projector ("main") is no longer read.
-- This file is never edited: later changes come as new migrations.
ALTER TABLE projection_checkpoints
    ADD COLUMN stuck_position bigint,
    ADD COLUMN stuck_error    text,
    ADD COLUMN stuck_at       timestamptz;
DELETE FROM projection_checkpoints WHERE name = 'main';
