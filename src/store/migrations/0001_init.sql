-- codedesk schema, version 1. Shipped migrations are never edited; add
-- 0002_*.sql instead.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_at       INTEGER
);

-- position orders a user's devices; the lowest is the primary.
CREATE TABLE devices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT, -- ids of removed devices are never reused
    user_id    INTEGER NOT NULL REFERENCES users(id),
    position   INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('mobile', 'landline', 'tablet', 'token')),
    phone      TEXT,
    sms        INTEGER NOT NULL CHECK (sms IN (0, 1)),
    label      TEXT,
    created_at INTEGER NOT NULL,
    CHECK (sms = 0 OR kind = 'mobile')
);
CREATE INDEX devices_by_user ON devices (user_id, position);

CREATE TABLE identity_checks (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users(id),
    operator TEXT    NOT NULL,
    method   TEXT,
    ticket   TEXT,
    outcome  TEXT    NOT NULL CHECK (outcome IN ('passed', 'refused', 'aborted', 'not-attested')),
    at       INTEGER NOT NULL
);
CREATE INDEX identity_checks_by_user ON identity_checks (user_id);

-- One row per set of codes. The codes share the set's salt and Argon2id
-- parameters so that verify computes one hash per set.
CREATE TABLE code_sets (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users(id),
    via               TEXT    NOT NULL CHECK (via IN ('sms', 'helpdesk')),
    device_id         INTEGER,
    identity_check_id INTEGER REFERENCES identity_checks(id),
    operator          TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER,
    uses              INTEGER NOT NULL,
    alphabet          TEXT    NOT NULL,
    length            INTEGER NOT NULL,
    salt              BLOB    NOT NULL,
    m_cost            INTEGER NOT NULL,
    t_cost            INTEGER NOT NULL,
    p_cost            INTEGER NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'active', 'replaced', 'revoked', 'failed')),
    ended_at          INTEGER,
    ended_reason      TEXT,
    -- no helpdesk-path codes without a passed identity check
    CHECK (via = 'sms' OR identity_check_id IS NOT NULL)
);
CREATE INDEX code_sets_by_user ON code_sets (user_id, state);

CREATE TABLE codes (
    id        INTEGER PRIMARY KEY,
    set_id    INTEGER NOT NULL REFERENCES code_sets(id),
    hash      BLOB    NOT NULL CHECK (length(hash) = 32),
    uses_left INTEGER NOT NULL CHECK (uses_left >= 0)
);
CREATE INDEX codes_by_set ON codes (set_id);

-- Append-only, each event chained to the previous by SHA-256.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    operator  TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    user      TEXT,
    details   TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_by_user ON audit (user, id);
