-- codedesk schema for PostgreSQL, version 3: as ../0003_audit_principal.sql,
-- but the server writes the principal: a trigger sets it to the login role
-- (session_user) on every insert, whatever the client sent, so a client
-- cannot record another name. Events written before keep NULL.
-- Shipped migrations are never edited; add 0004_*.sql instead.

ALTER TABLE audit ADD COLUMN principal TEXT;

CREATE FUNCTION codedesk_audit_principal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.principal := session_user;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_principal BEFORE INSERT ON audit
    FOR EACH ROW EXECUTE FUNCTION codedesk_audit_principal();
