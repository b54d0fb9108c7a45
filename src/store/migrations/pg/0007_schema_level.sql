-- codedesk schema for PostgreSQL: the store's two levels, the same table as
-- ../0007_schema_level.sql (src/store/upgrade.rs). Additive only: a
-- codedesk at schema 6 keeps verifying against a store that has it, which
-- is why MAX(schema_version.version) stays at 6 ("compatible back to").
CREATE TABLE schema_level (
    one                INTEGER PRIMARY KEY CHECK (one = 1),
    applied            BIGINT  NOT NULL,
    compatible_back_to BIGINT  NOT NULL,
    applied_at         BIGINT  NOT NULL
);
-- Two numbers, no secret: every role that may use the schema reads them
-- (a login server whose roles were set up before this migration included).
GRANT SELECT ON schema_level TO PUBLIC;
