-- codedesk schema for PostgreSQL: what the trail commits to, and no
-- rewriting of it (SECURITY.md, "What the trail vouches for"). Additive
-- (src/store/upgrade.rs: compatible back to schema 7): functions and
-- narrower grants only. Written to be run again safely (OR REPLACE).

-- A set's digest, the bytes of `trail::set_digest` (src/trail.rs): for
-- `audit verify` and `verify` as roles that may not read code hashes.
-- It reveals nothing the trail does not hold already.
CREATE OR REPLACE FUNCTION codedesk_set_digest(p_set BIGINT)
RETURNS TEXT
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT encode(sha256(
        convert_to('codedesk-set-v1', 'UTF8')
        || int8send(octet_length(convert_to(s.alphabet, 'UTF8'))::BIGINT)
        || convert_to(s.alphabet, 'UTF8')
        || int8send(s.length::BIGINT)
        || int8send(octet_length(s.salt)::BIGINT) || s.salt
        || int8send(s.m_cost::BIGINT) || int8send(s.t_cost::BIGINT) || int8send(s.p_cost::BIGINT)
        || int8send(s.uses::BIGINT)
        || CASE WHEN s.expires_at IS NULL THEN decode('00', 'hex')
                ELSE decode('01', 'hex') || int8send(s.expires_at::BIGINT) END
        || COALESCE((SELECT string_agg(int8send(octet_length(c.hash)::BIGINT) || c.hash, ''::BYTEA
                                       ORDER BY c.id)
                       FROM codes c WHERE c.set_id = s.id), ''::BYTEA)
    ), 'hex')
    FROM code_sets s WHERE s.id = p_set
$$;

-- Every notice as (user, SHA-256 of its reference), for `audit verify` as
-- a role that may not read references (`trail::reference_digest`).
CREATE OR REPLACE FUNCTION codedesk_notice_refs()
RETURNS TABLE (o_user TEXT, o_ref_sha256 TEXT)
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT u.name, encode(sha256(convert_to(n.ref, 'UTF8')), 'hex')
      FROM notices n JOIN users u ON u.id = n.user_id
$$;

DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY['codedesk_set_digest(BIGINT)', 'codedesk_notice_refs()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

-- Stores whose roles an earlier `codedesk setup-roles` set up: the
-- operator loses UPDATE of whole rows of code_sets, codes and notices and
-- keeps the columns codedesk changes (the same grants setup-roles now
-- issues); the new functions go to the roles that check. Roles that do
-- not exist yet are left to setup-roles.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'codedesk_operator') THEN
        REVOKE UPDATE ON code_sets, codes, notices FROM codedesk_operator;
        GRANT UPDATE (state, ended_at, ended_reason) ON code_sets TO codedesk_operator;
        GRANT UPDATE (uses_left) ON codes TO codedesk_operator;
        GRANT UPDATE (disputed_at) ON notices TO codedesk_operator;
        GRANT EXECUTE ON FUNCTION codedesk_set_digest(BIGINT), codedesk_notice_refs()
            TO codedesk_operator;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'codedesk_verifier') THEN
        GRANT EXECUTE ON FUNCTION codedesk_set_digest(BIGINT) TO codedesk_verifier;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'codedesk_auditor') THEN
        GRANT EXECUTE ON FUNCTION codedesk_set_digest(BIGINT), codedesk_notice_refs()
            TO codedesk_auditor;
    END IF;
END
$$;
