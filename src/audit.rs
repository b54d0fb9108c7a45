//! The tamper-evident audit trail: each event's hash is SHA-256 over the
//! previous event's hash and this event's fields, so editing, inserting or
//! deleting any event (but the newest, which is why `audit verify` prints
//! the head hash to record elsewhere) breaks the chain.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash that the first event links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event, as stored and as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who the system vouches for: on SQLite the OS account that ran
    /// codedesk (the invoking account under sudo), on PostgreSQL the login
    /// role, written by the server. None for events from before it was kept.
    pub principal: Option<String>,
    /// The display name given with `--operator` (a note, not vouched for).
    pub operator: String,
    pub action: String,
    pub user: Option<String>,
    /// A JSON object; never holds a code.
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// An event to append to the trail (an [`Event`] is one as stored): its
/// action is the tag, its fields the details. Every event codedesk writes
/// is one of these; the store turns it into the stored action and details
/// text ([`AuditEvent::action_and_details`]), which is what the chain
/// hashes. Details are a JSON object with its keys in sorted order (as
/// `serde_json` writes a map); a field that is `None` is `null` unless it
/// is marked as left out, as it was before the event had a type.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", content = "details", rename_all = "kebab-case")]
pub enum AuditEvent<'a> {
    DeviceEnrolled {
        device: i64,
        kind: &'a str,
        sms: bool,
        /// Masked.
        phone: Option<String>,
        primary: bool,
        new_user: bool,
        check: Option<i64>,
        shared_with: &'a [String],
        method: Option<&'a str>,
        ticket: Option<&'a str>,
        /// What the directory said (`phone_on_file`, `privileged`), when
        /// one is configured.
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        directory: Option<crate::directory::DirectoryNote>,
    },
    DeviceRemoved {
        device: i64,
        reason: Option<&'a str>,
        new_primary: Option<i64>,
        revoked_sets: &'a [i64],
    },
    IdentityCheck {
        /// `null` for an attempt that was refused before any check row.
        check: Option<i64>,
        outcome: &'a str,
        method: Option<&'a str>,
        ticket: Option<&'a str>,
        /// Only for a first device whose number is not on file.
        #[serde(skip_serializing_if = "Option::is_none")]
        phone_on_file: Option<bool>,
        /// Only for a check made for an approval request that waits for a
        /// second principal (docs/approvals.md); left out otherwise, as
        /// before it was kept, so older events hash as they did.
        #[serde(skip_serializing_if = "Option::is_none")]
        request: Option<i64>,
    },
    /// A set stored live.
    CodesIssued(SetStored),
    /// A set stored to go live once delivered.
    CodesPending(SetStored),
    CodesDelivered {
        set: i64,
        ended: &'a [i64],
    },
    /// Three callers, three payloads, kept as they were: a set that could
    /// not be sent (`set`), a challenge that could not be sent
    /// (`challenge`), and no SMS delivery configured at all (neither).
    DeliveryFailed {
        #[serde(skip_serializing_if = "Option::is_none")]
        set: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        challenge: Option<i64>,
        reason: &'a str,
    },
    VerifyAccepted {
        set: i64,
        remaining: i64,
        /// The service that asked, when one is known.
        #[serde(skip_serializing_if = "Option::is_none")]
        service: Option<&'a str>,
    },
    VerifyRejected {
        reason: &'a str,
        consecutive: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        service: Option<&'a str>,
    },
    /// An attempt on a locked user (never counted towards a lockout).
    VerifyLocked {
        #[serde(skip_serializing_if = "Option::is_none")]
        service: Option<&'a str>,
        /// Set by the store on the last such event it records in a row.
        #[serde(skip_serializing_if = "Option::is_none")]
        more_unrecorded: Option<bool>,
    },
    /// Input that is not a code (never counted towards a lockout).
    VerifyTypo {
        #[serde(skip_serializing_if = "Option::is_none")]
        service: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        more_unrecorded: Option<bool>,
    },
    Lockout {
        consecutive: i64,
        threshold: u32,
    },
    Unlock {
        was_locked: bool,
        auto: bool,
    },
    Revoke {
        sets: &'a [i64],
        reason: Option<&'a str>,
    },
    StoreMigrated {
        from: &'a str,
        users: usize,
        devices: usize,
        identity_checks: usize,
        sets: usize,
        codes: usize,
        events: usize,
    },
    /// `codedesk upgrade-store` applied migrations (src/store/upgrade.rs).
    StoreUpgraded {
        from: i64,
        to: i64,
        compatible_back_to: i64,
    },
    NotifyFailed {
        event: &'a str,
        reason: &'a str,
    },
    /// The user's numbers shown to the operator (masked here).
    CallbackNumberShown {
        numbers: &'a [String],
    },
    EmailSet {
        /// Masked.
        email: &'a str,
        replaced: bool,
    },
    ChallengeSent {
        challenge: i64,
        contact: &'a str,
        device: Option<i64>,
        expires_at: i64,
    },
    ChallengePassed {
        challenge: i64,
        contact: &'a str,
    },
    /// A wrong read-back (`tries_left`), or one of a challenge already
    /// spent (`spent`) or expired (`expired`).
    ChallengeWrong {
        challenge: i64,
        contact: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        tries_left: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        spent: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expired: Option<bool>,
    },
    UserNotified {
        about: &'a str,
        event: Option<i64>,
        sent: &'a [String],
        failed: &'a [String],
        /// SHA-256 (hex) of the notice's reference (`trail::reference_digest`),
        /// never the reference: `audit verify` checks the notice against it.
        #[serde(skip_serializing_if = "Option::is_none")]
        ref_sha256: Option<String>,
    },
    Dispute {
        about: &'a str,
        event: Option<i64>,
        revoked_sets: &'a [i64],
        locked: bool,
        again: bool,
        reason: Option<&'a str>,
    },
    DirectorySync {
        users: u64,
        privileged: &'a std::collections::BTreeSet<String>,
        left: &'a [&'a str],
        numbers_changed: &'a [&'a str],
        became_privileged: &'a [&'a str],
        directory: &'a str,
    },
    // Issue 13 (docs/approvals.md): privileged users and approvals.
    PrivilegedOn {},
    PrivilegedOff {},
    /// Issuance refused by `helpdesk.max_sets_per_operator`.
    QuotaRefused {
        stored: i64,
        max: u32,
        window_secs: i64,
    },
    RequestRecorded {
        request: i64,
        what: &'a str,
        reason: &'a str,
        method: Option<&'a str>,
        ticket: Option<&'a str>,
        expires_at: i64,
        /// The identity check recorded with the request (its own
        /// `identity-check` event), which spending the request reuses;
        /// left out when none, as before it was kept.
        #[serde(skip_serializing_if = "Option::is_none")]
        check: Option<i64>,
    },
    RequestApproved(Decision<'a>),
    RequestDenied(Decision<'a>),
    RequestUsed {
        request: i64,
        what: &'a str,
    },
}

/// The details of `request-approved` and `request-denied`.
#[derive(Debug, Clone, Serialize)]
pub struct Decision<'a> {
    pub request: i64,
    pub what: &'a str,
    pub reason: &'a str,
    pub requested_by: &'a str,
    /// The decider's `--reason`.
    pub why: Option<&'a str>,
}

/// The details of `codes-issued` and `codes-pending`.
#[derive(Debug, Clone, Serialize)]
pub struct SetStored {
    pub set: i64,
    pub via: &'static str,
    pub count: usize,
    pub device: Option<i64>,
    pub check: Option<i64>,
    pub expires_at: Option<i64>,
    pub uses: u32,
    pub preserve_existing: bool,
    /// What the set was issued with (`trail::set_digest`), which `audit
    /// verify` and `verify` check the stored set against. Absent from
    /// events written before it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl AuditEvent<'_> {
    /// The stored action (`device-enrolled`, ...) and details (a JSON
    /// object as text): exactly what is written and hashed.
    pub fn action_and_details(&self) -> anyhow::Result<(String, String)> {
        let mut v = serde_json::to_value(self)?;
        let mut take = |k: &str| v.as_object_mut().and_then(|m| m.remove(k));
        match (take("action"), take("details")) {
            (Some(serde_json::Value::String(action)), Some(details)) => {
                Ok((action, details.to_string()))
            }
            _ => Err(anyhow::anyhow!("an audit event without action or details")),
        }
    }

    /// Marks an uncounted attempt as the last one recorded in a row.
    pub fn mark_more_unrecorded(&mut self) {
        if let AuditEvent::VerifyLocked {
            more_unrecorded, ..
        }
        | AuditEvent::VerifyTypo {
            more_unrecorded, ..
        } = self
        {
            *more_unrecorded = Some(true);
        }
    }
}

/// The chain hash of an event: SHA-256 over a canonical JSON array of its
/// fields and the previous hash. `details` is hashed as stored (text), so
/// re-serialising cannot change the result. An event with a principal
/// (every event written since schema 3) appends it as an eighth element;
/// one without (written before) has the seven of the original recipe.
/// Blanking a principal therefore changes the recipe, and the hash.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    prev_hash: &str,
    id: i64,
    at: i64,
    operator: &str,
    action: &str,
    user: Option<&str>,
    details: &str,
    principal: Option<&str>,
) -> String {
    let canonical = match principal {
        None => serde_json::json!([prev_hash, id, at, operator, action, user, details]),
        Some(p) => serde_json::json!([prev_hash, id, at, operator, action, user, details, p]),
    };
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    hex(&digest)
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Intact; `head` is the newest event's hash, `count` the events.
    Intact { head: String, count: u64 },
    /// The first event that does not fit, and why.
    Broken { id: i64, why: String },
}

/// Walks events in id order and checks every link.
#[derive(Debug)]
pub struct ChainWalker {
    prev_hash: String,
    prev_id: i64,
    count: u64,
}

impl Default for ChainWalker {
    fn default() -> Self {
        ChainWalker {
            prev_hash: GENESIS.to_string(),
            prev_id: 0,
            count: 0,
        }
    }
}

impl ChainWalker {
    /// Feeds the next stored event; returns `Err` with the first problem.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        id: i64,
        at: i64,
        operator: &str,
        action: &str,
        user: Option<&str>,
        details: &str,
        principal: Option<&str>,
        prev_hash: &str,
        hash: &str,
    ) -> Result<(), ChainCheck> {
        if id != self.prev_id + 1 {
            return Err(ChainCheck::Broken {
                id: self.prev_id + 1,
                why: format!(
                    "event {} is missing (next stored event is {id})",
                    self.prev_id + 1
                ),
            });
        }
        if prev_hash != self.prev_hash {
            return Err(ChainCheck::Broken {
                id,
                why: format!("event {id} does not link to event {}", self.prev_id),
            });
        }
        if event_hash(
            prev_hash, id, at, operator, action, user, details, principal,
        ) != hash
        {
            return Err(ChainCheck::Broken {
                id,
                why: format!("event {id} was altered (its hash does not match its fields)"),
            });
        }
        self.prev_hash = hash.to_string();
        self.prev_id = id;
        self.count += 1;
        Ok(())
    }

    pub fn finish(self) -> ChainCheck {
        ChainCheck::Intact {
            head: self.prev_hash,
            count: self.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each typed event writes the action and the details text that the
    /// ad-hoc `json!` payloads wrote before it had a type (the right-hand
    /// sides below are those payloads, as they were): stored trails keep
    /// verifying and `audit` shows the same.
    #[test]
    fn typed_events_write_the_bytes_the_untyped_payloads_wrote() {
        use crate::directory::DirectoryNote;
        use serde_json::json;
        let same = |e: AuditEvent, action: &str, details: serde_json::Value| {
            let (a, d) = e.action_and_details().unwrap();
            assert_eq!((a.as_str(), d), (action, details.to_string()));
        };
        let (shared, sets) = (vec!["bob".to_string()], vec![4_i64, 5]);
        let enrolled = |directory| AuditEvent::DeviceEnrolled {
            device: 3,
            kind: "mobile",
            sms: true,
            phone: Some("+*******5999".into()),
            primary: false,
            new_user: false,
            check: Some(7),
            shared_with: &shared,
            method: Some("callback"),
            ticket: Some("T-1"),
            directory,
        };
        let base = json!({"device": 3, "kind": "mobile", "sms": true,
            "phone": "+*******5999", "primary": false, "new_user": false, "check": 7,
            "shared_with": ["bob"], "method": "callback", "ticket": "T-1"});
        same(enrolled(None), "device-enrolled", base.clone());
        let mut with_dir = base;
        with_dir["phone_on_file"] = json!(null);
        with_dir["privileged"] = json!(true);
        let note = DirectoryNote {
            phone_on_file: None,
            privileged: true,
        };
        same(enrolled(Some(note)), "device-enrolled", with_dir);
        same(
            AuditEvent::DeviceRemoved {
                device: 2,
                reason: None,
                new_primary: Some(1),
                revoked_sets: &sets,
            },
            "device-removed",
            json!({"device": 2, "reason": null, "new_primary": 1, "revoked_sets": [4, 5]}),
        );
        same(
            AuditEvent::IdentityCheck {
                check: Some(9),
                outcome: "failed",
                method: None,
                ticket: Some("T"),
                phone_on_file: None,
                request: None,
            },
            "identity-check",
            json!({"check": 9, "outcome": "failed", "method": null, "ticket": "T"}),
        );
        same(
            AuditEvent::IdentityCheck {
                check: None,
                outcome: "not-attested",
                method: Some("callback"),
                ticket: None,
                phone_on_file: Some(false),
                request: None,
            },
            "identity-check",
            json!({"check": null, "outcome": "not-attested", "method": "callback",
                   "ticket": null, "phone_on_file": false}),
        );
        same(
            AuditEvent::IdentityCheck {
                check: Some(4),
                outcome: "passed",
                method: Some("in-person"),
                ticket: Some("T"),
                phone_on_file: None,
                request: Some(2),
            },
            "identity-check",
            json!({"check": 4, "outcome": "passed", "method": "in-person",
                   "ticket": "T", "request": 2}),
        );
        let stored = SetStored {
            set: 8,
            via: "sms",
            count: 10,
            device: Some(3),
            check: None,
            expires_at: None,
            uses: 1,
            preserve_existing: false,
            digest: None,
        };
        let stored_json = json!({"set": 8, "via": "sms", "count": 10, "device": 3,
            "check": null, "expires_at": null, "uses": 1, "preserve_existing": false});
        same(
            AuditEvent::CodesIssued(stored.clone()),
            "codes-issued",
            stored_json.clone(),
        );
        same(
            AuditEvent::CodesPending(stored),
            "codes-pending",
            stored_json,
        );
        same(
            AuditEvent::CodesDelivered {
                set: 8,
                ended: &sets,
            },
            "codes-delivered",
            json!({"set": 8, "ended": [4, 5]}),
        );
        let failed = |set, challenge| AuditEvent::DeliveryFailed {
            set,
            challenge,
            reason: "exit 1",
        };
        same(
            failed(Some(8), None),
            "delivery-failed",
            json!({"set": 8, "reason": "exit 1"}),
        );
        same(
            failed(None, Some(2)),
            "delivery-failed",
            json!({"challenge": 2, "reason": "exit 1"}),
        );
        same(
            failed(None, None),
            "delivery-failed",
            json!({"reason": "exit 1"}),
        );
        for service in [None, Some("sshd")] {
            let with = |mut v: serde_json::Value| {
                if let Some(s) = service {
                    v["service"] = json!(s);
                }
                v
            };
            same(
                AuditEvent::VerifyAccepted {
                    set: 8,
                    remaining: 9,
                    service,
                },
                "verify-accepted",
                with(json!({"set": 8, "remaining": 9})),
            );
            same(
                AuditEvent::VerifyRejected {
                    reason: "wrong code",
                    consecutive: 2,
                    service,
                },
                "verify-rejected",
                with(json!({"reason": "wrong code", "consecutive": 2})),
            );
            let mut locked = AuditEvent::VerifyLocked {
                service,
                more_unrecorded: None,
            };
            same(locked.clone(), "verify-locked", with(json!({})));
            locked.mark_more_unrecorded();
            let mut more = with(json!({}));
            more["more_unrecorded"] = json!(true);
            same(locked, "verify-locked", more);
            same(
                AuditEvent::VerifyTypo {
                    service,
                    more_unrecorded: None,
                },
                "verify-typo",
                with(json!({})),
            );
        }
        same(
            AuditEvent::Lockout {
                consecutive: 5,
                threshold: 5,
            },
            "lockout",
            json!({"consecutive": 5, "threshold": 5}),
        );
        same(
            AuditEvent::Unlock {
                was_locked: true,
                auto: false,
            },
            "unlock",
            json!({"was_locked": true, "auto": false}),
        );
        same(
            AuditEvent::Revoke {
                sets: &sets,
                reason: Some("lost"),
            },
            "revoke",
            json!({"sets": [4, 5], "reason": "lost"}),
        );
        same(
            AuditEvent::StoreMigrated {
                from: "sqlite:/x.db",
                users: 1,
                devices: 2,
                identity_checks: 3,
                sets: 4,
                codes: 5,
                events: 6,
            },
            "store-migrated",
            json!({"from": "sqlite:/x.db", "users": 1, "devices": 2, "identity_checks": 3,
                   "sets": 4, "codes": 5, "events": 6}),
        );
        same(
            AuditEvent::StoreUpgraded {
                from: 5,
                to: 6,
                compatible_back_to: 5,
            },
            "store-upgraded",
            json!({"from": 5, "to": 6, "compatible_back_to": 5}),
        );
        same(
            AuditEvent::NotifyFailed {
                event: "codes-issued",
                reason: "exit 2",
            },
            "notify-failed",
            json!({"event": "codes-issued", "reason": "exit 2"}),
        );
        same(
            AuditEvent::CallbackNumberShown { numbers: &shared },
            "callback-number-shown",
            json!({"numbers": ["bob"]}),
        );
        same(
            AuditEvent::EmailSet {
                email: "a***@x.org",
                replaced: true,
            },
            "email-set",
            json!({"email": "a***@x.org", "replaced": true}),
        );
        same(
            AuditEvent::ChallengeSent {
                challenge: 2,
                contact: "device 3",
                device: None,
                expires_at: 99,
            },
            "challenge-sent",
            json!({"challenge": 2, "contact": "device 3", "device": null, "expires_at": 99}),
        );
        same(
            AuditEvent::ChallengePassed {
                challenge: 2,
                contact: "device 3",
            },
            "challenge-passed",
            json!({"challenge": 2, "contact": "device 3"}),
        );
        let wrong = |tries_left, spent, expired| AuditEvent::ChallengeWrong {
            challenge: 2,
            contact: "c",
            tries_left,
            spent,
            expired,
        };
        same(
            wrong(Some(1), None, None),
            "challenge-wrong",
            json!({"challenge": 2, "contact": "c", "tries_left": 1}),
        );
        same(
            wrong(None, Some(true), None),
            "challenge-wrong",
            json!({"challenge": 2, "contact": "c", "spent": true}),
        );
        same(
            wrong(None, None, Some(true)),
            "challenge-wrong",
            json!({"challenge": 2, "contact": "c", "expired": true}),
        );
        same(
            AuditEvent::UserNotified {
                about: "codes-issued",
                event: Some(12),
                sent: &shared,
                failed: &[],
                ref_sha256: None,
            },
            "user-notified",
            json!({"about": "codes-issued", "event": 12, "sent": ["bob"], "failed": []}),
        );
        same(
            AuditEvent::Dispute {
                about: "codes-issued",
                event: None,
                revoked_sets: &sets,
                locked: true,
                again: false,
                reason: None,
            },
            "dispute",
            json!({"about": "codes-issued", "event": null, "revoked_sets": [4, 5],
                   "locked": true, "again": false, "reason": null}),
        );
        let privileged: std::collections::BTreeSet<String> =
            ["zed", "amy"].map(String::from).into();
        same(
            AuditEvent::DirectorySync {
                users: 40,
                privileged: &privileged,
                left: &["bob"],
                numbers_changed: &[],
                became_privileged: &["amy"],
                directory: "ldap://dir",
            },
            "directory-sync",
            json!({"users": 40, "privileged": privileged, "left": ["bob"],
                   "numbers_changed": [], "became_privileged": ["amy"],
                   "directory": "ldap://dir"}),
        );
    }

    fn chain(n: i64) -> Vec<(i64, String, String, String)> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|id| {
                let d = format!("{{\"n\":{id}}}");
                let h = event_hash(
                    &prev,
                    id,
                    100 + id,
                    "op",
                    "enroll",
                    Some("u"),
                    &d,
                    Some("root"),
                );
                let row = (id, d, prev.clone(), h.clone());
                prev = h;
                row
            })
            .collect()
    }

    fn walk(rows: &[(i64, String, String, String)]) -> ChainCheck {
        let mut w = ChainWalker::default();
        for (id, d, p, h) in rows {
            if let Err(e) = w.step(
                *id,
                100 + id,
                "op",
                "enroll",
                Some("u"),
                d,
                Some("root"),
                p,
                h,
            ) {
                return e;
            }
        }
        w.finish()
    }

    #[test]
    fn intact_chain_verifies() {
        let rows = chain(5);
        assert_eq!(
            walk(&rows),
            ChainCheck::Intact {
                head: rows[4].3.clone(),
                count: 5
            }
        );
    }

    #[test]
    fn edited_event_is_found() {
        let mut rows = chain(5);
        rows[2].1 = "{\"n\":99}".into();
        assert!(matches!(walk(&rows), ChainCheck::Broken { id: 3, .. }));
    }

    #[test]
    fn a_blanked_or_renamed_principal_is_found() {
        let rows = chain(3);
        let mut w = ChainWalker::default();
        let (id, d, p, h) = &rows[0];
        assert!(
            w.step(*id, 101, "op", "enroll", Some("u"), d, None, p, h)
                .is_err()
        );
        let mut w = ChainWalker::default();
        assert!(
            w.step(
                *id,
                101,
                "op",
                "enroll",
                Some("u"),
                d,
                Some("mallory"),
                p,
                h
            )
            .is_err()
        );
        // An event from before principals were kept keeps the old recipe.
        let old = event_hash(GENESIS, 1, 101, "op", "enroll", Some("u"), d, None);
        let mut w = ChainWalker::default();
        assert!(
            w.step(1, 101, "op", "enroll", Some("u"), d, None, GENESIS, &old)
                .is_ok()
        );
    }

    #[test]
    fn deleted_event_is_found() {
        let mut rows = chain(5);
        rows.remove(1);
        assert!(matches!(walk(&rows), ChainCheck::Broken { id: 2, .. }));
    }
}
