-- codedesk schema version 3: who the system vouches for, beside each audit
-- event's display name (`operator`). On SQLite codedesk writes the OS
-- account that ran it (the invoking account under sudo). Events written
-- before keep NULL and the original seven-field chain recipe.
-- Shipped migrations are never edited; add 0004_*.sql instead.

ALTER TABLE audit ADD COLUMN principal TEXT;
