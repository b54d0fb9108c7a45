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
