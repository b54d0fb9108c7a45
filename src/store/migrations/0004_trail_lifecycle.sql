-- codedesk schema, version 4 (numbered after 0003 of the principals work):
-- a set's lifecycle events by user, so that verify can ask the trail
-- whether a set is live (src/trail.rs) with one indexed query. The
-- predicate is trail::LIFECYCLE's. Shipped migrations are never edited;
-- add 0005_*.sql instead.

CREATE INDEX IF NOT EXISTS audit_lifecycle ON audit (user, id)
    WHERE action IN ('codes-issued', 'codes-pending', 'codes-delivered', 'delivery-failed', 'revoke', 'device-removed');
