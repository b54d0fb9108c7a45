-- codedesk schema: a second pair of eyes (docs/approvals.md). Additive
-- only: new tables, nothing existing changes. Shipped migrations are
-- never edited.

-- Users marked privileged (`codedesk privileged USER on|off`): helpdesk
-- codes or a new device for them need a second principal's approval. A
-- row present means on. set_by is the principal who set it.
CREATE TABLE privileged_users (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    set_by  TEXT    NOT NULL,
    set_at  INTEGER NOT NULL
);

-- A request waiting for (or given) a second principal's decision.
-- reason: 'privileged' (the two-person rule) or 'quota' (one more set
-- beyond helpdesk.max_sets_per_operator). what: 'codes' or 'device'.
-- method/ticket: the identity check the requester passed (none for an
-- SMS set). state: pending -> approved or denied; an approved request is
-- spent by one issuance or enrolment (used_at). Expired ones stay pending.
CREATE TABLE approval_requests (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    what         TEXT    NOT NULL CHECK (what IN ('codes', 'device')),
    reason       TEXT    NOT NULL CHECK (reason IN ('privileged', 'quota')),
    requested_by TEXT    NOT NULL,
    operator     TEXT    NOT NULL,
    method       TEXT,
    ticket       TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'approved', 'denied')),
    decided_by   TEXT,
    decided_at   INTEGER,
    used_at      INTEGER
);
