-- Trigram matching for the read models' free-text filters (`query` on orders: project name,
-- order name and slug contain the text). The extension is the database's, not the read
-- models', so a rebuild that drops the `projection` schema keeps it; the indexes that use it
-- live with their tables in projections/.
-- This file is never edited: later changes come as new migrations.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
