-- codedesk schema for PostgreSQL, version 4 (numbered after 0003 of the
-- principals work): least privilege (docs/roles.md) and the trail's
-- lifecycle index. Shipped migrations are never edited; add 0005_*.sql.
--
-- `codedesk setup-roles` creates the roles and grants them these objects;
-- nothing here names a role, so a store migrates the same wherever it is.
-- Written to be run again safely (IF NOT EXISTS, OR REPLACE).

-- A set's lifecycle events by user (src/trail.rs; the predicate is
-- trail::LIFECYCLE's).
CREATE INDEX IF NOT EXISTS audit_lifecycle ON audit ("user", id)
    WHERE action IN ('codes-issued', 'codes-pending', 'codes-delivered', 'delivery-failed', 'revoke', 'device-removed');

-- The audit trail is append-only, for every role, the owner included: an
-- UPDATE, DELETE or TRUNCATE is refused here as well as by privileges.
-- Only the owner can lift it (ALTER TABLE audit DISABLE TRIGGER), a
-- schema change that `audit verify` then catches by its chain and replay.
CREATE OR REPLACE FUNCTION codedesk_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS audit_append_only ON audit;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION codedesk_audit_append_only();
DROP TRIGGER IF EXISTS audit_no_truncate ON audit;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION codedesk_audit_append_only();

-- Spending a code, for a role that may neither read code hashes nor
-- update codes (codedesk_verifier): the caller gives, per live set, the
-- Argon2id tag of the typed code under that set's salt; the server finds
-- the matching code with a use left, spends one use, clears the user's
-- failure count. Outcome 'accepted' (with the set and the uses left across
-- the user's live sets), 'locked', or 'stale' (nothing matched). The
-- caller holds the write lock and appends the audit event.
CREATE OR REPLACE FUNCTION codedesk_spend(p_user BIGINT, p_sets BIGINT[], p_tags BYTEA[], p_now BIGINT)
RETURNS TABLE (o_outcome TEXT, o_set BIGINT, o_remaining BIGINT)
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_locked BIGINT;
    v_code BIGINT;
    v_set BIGINT;
BEGIN
    SELECT u.locked_at INTO v_locked FROM users u WHERE u.id = p_user;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'stale'::TEXT, NULL::BIGINT, 0::BIGINT;
        RETURN;
    END IF;
    IF v_locked IS NOT NULL THEN
        RETURN QUERY SELECT 'locked'::TEXT, NULL::BIGINT, 0::BIGINT;
        RETURN;
    END IF;
    SELECT c.id, c.set_id INTO v_code, v_set
      FROM codes c
      JOIN code_sets s ON s.id = c.set_id
      JOIN unnest(p_sets, p_tags) AS t(sid, tag) ON t.sid = c.set_id AND t.tag = c.hash
     WHERE s.user_id = p_user AND s.state = 'active'
       AND (s.expires_at IS NULL OR s.expires_at > p_now) AND c.uses_left > 0
     ORDER BY c.set_id, c.id
     LIMIT 1;
    IF v_code IS NULL THEN
        RETURN QUERY SELECT 'stale'::TEXT, NULL::BIGINT, 0::BIGINT;
        RETURN;
    END IF;
    UPDATE codes SET uses_left = uses_left - 1 WHERE id = v_code;
    UPDATE users SET failed_attempts = 0 WHERE id = p_user;
    RETURN QUERY
        SELECT 'accepted'::TEXT, v_set, CAST(COALESCE(SUM(c.uses_left), 0) AS BIGINT)
          FROM codes c JOIN code_sets s ON s.id = c.set_id
         WHERE s.user_id = p_user AND s.state = 'active'
           AND (s.expires_at IS NULL OR s.expires_at > p_now);
END
$$;

-- One more rejection (store::after_rejection): the count, and the lock at
-- the threshold. The caller appends the events.
CREATE OR REPLACE FUNCTION codedesk_reject(p_user BIGINT, p_threshold BIGINT, p_now BIGINT)
RETURNS TABLE (o_attempts BIGINT, o_locked_now BOOLEAN, o_already_locked BOOLEAN)
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_attempts BIGINT;
    v_locked BIGINT;
    v_now_locked BOOLEAN;
BEGIN
    SELECT u.failed_attempts, u.locked_at INTO STRICT v_attempts, v_locked
      FROM users u WHERE u.id = p_user;
    v_attempts := v_attempts + 1;
    v_now_locked := v_locked IS NULL AND v_attempts >= p_threshold;
    UPDATE users SET failed_attempts = v_attempts,
           locked_at = CASE WHEN v_now_locked THEN p_now ELSE locked_at END
     WHERE id = p_user;
    RETURN QUERY SELECT v_attempts, v_now_locked, v_locked IS NOT NULL;
END
$$;

-- `lockout.auto_unlock`: clears a lock at least p_after seconds old.
CREATE OR REPLACE FUNCTION codedesk_auto_unlock(p_user BIGINT, p_after BIGINT, p_now BIGINT)
RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    UPDATE users SET locked_at = NULL, failed_attempts = 0
     WHERE id = p_user AND locked_at IS NOT NULL AND p_now >= locked_at + p_after;
    RETURN FOUND;
END
$$;

-- One user's lifecycle events, for a role that may not read the trail's
-- details (codedesk_verifier): what verify asks the trail.
CREATE OR REPLACE FUNCTION codedesk_set_events(p_user TEXT)
RETURNS TABLE (o_id BIGINT, o_action TEXT, o_details TEXT)
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT a.id, a.action, a.details FROM audit a
     WHERE a."user" = p_user
       AND a.action IN ('codes-issued', 'codes-pending', 'codes-delivered', 'delivery-failed', 'revoke', 'device-removed')
     ORDER BY a.id
$$;

-- A SECURITY DEFINER function runs with a fixed search path (this
-- schema, then pg_temp last), and only for the roles setup-roles grants.
DO $$
DECLARE
    f TEXT;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'codedesk_spend(BIGINT, BIGINT[], BYTEA[], BIGINT)',
        'codedesk_reject(BIGINT, BIGINT, BIGINT)',
        'codedesk_auto_unlock(BIGINT, BIGINT, BIGINT)',
        'codedesk_set_events(TEXT)'
    ] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
