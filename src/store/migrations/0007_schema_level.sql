-- codedesk schema: the store's two levels (src/store/upgrade.rs). Additive
-- only: a codedesk at schema 6 keeps verifying against a store that has
-- it, which is why PRAGMA user_version stays at 6 ("compatible back to").
-- Shipped migrations are never edited.
CREATE TABLE schema_level (
    one                INTEGER PRIMARY KEY CHECK (one = 1),
    applied            INTEGER NOT NULL, -- the last migration the store holds
    compatible_back_to INTEGER NOT NULL, -- the oldest schema whose codedesk may verify and read
    applied_at         INTEGER NOT NULL
);
