-- codedesk schema for PostgreSQL: what the trail commits to, and no
-- rewriting of it (SECURITY.md, "What the trail vouches for"). Numbered
-- 0008 so that it lands after the 0006/0007 of other branches; it is the
-- position in `MIGRATIONS` (src/store/postgres.rs) that gives the
-- version. Written to be run again safely (OR REPLACE, IF EXISTS).

-- Stores whose roles an earlier `codedesk setup-roles` set up: the
-- operator loses UPDATE of whole rows of code_sets, codes and notices and
-- keeps the columns codedesk changes (the same grants setup-roles now
-- issues). Roles that do not exist yet are left to setup-roles.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'codedesk_operator') THEN
        REVOKE UPDATE ON code_sets, codes, notices FROM codedesk_operator;
        GRANT UPDATE (state, ended_at, ended_reason) ON code_sets TO codedesk_operator;
        GRANT UPDATE (uses_left) ON codes TO codedesk_operator;
        GRANT UPDATE (disputed_at) ON notices TO codedesk_operator;
    END IF;
END
$$;
