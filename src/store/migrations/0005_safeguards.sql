-- codedesk schema: safeguards (docs/safeguards.md). Additive only: new
-- tables, nothing existing changes. Shipped migrations are never edited.

-- A one-time challenge sent to a contact on file; only its Argon2id hash
-- is kept. state: sent -> passed (spent by one issuance or enrolment) or
-- failed (three wrong read-backs); expired ones simply stay 'sent'.
CREATE TABLE challenges (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    operator   TEXT    NOT NULL,
    contact    TEXT    NOT NULL, -- masked: "device 3 (+*******5999)", "email a***@example.org"
    device_id  INTEGER,
    salt       BLOB    NOT NULL,
    hash       BLOB    NOT NULL,
    m_cost     INTEGER NOT NULL,
    t_cost     INTEGER NOT NULL,
    p_cost     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    tries      INTEGER NOT NULL DEFAULT 0,
    state      TEXT    NOT NULL CHECK (state IN ('sent', 'passed', 'failed'))
);
CREATE INDEX challenges_by_user ON challenges (user_id);

-- The email address on file for a user (notifications, challenges).
CREATE TABLE user_emails (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    email   TEXT    NOT NULL,
    set_at  INTEGER NOT NULL
);

-- One row per notice sent to a user about a sensitive event; ref is the
-- unguessable reference the user quotes ("not me") for `codedesk dispute`.
CREATE TABLE notices (
    ref         TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    action      TEXT    NOT NULL,
    audit_id    INTEGER,
    at          INTEGER NOT NULL,
    disputed_at INTEGER
);
CREATE INDEX notices_by_user ON notices (user_id, action, at);
