//! The trail vouches for the state: the audit trail replayed, so that what
//! the tables say can be checked against what the trail recorded.
//!
//! Each set's fate follows from the events that name it: `codes-issued`
//! (live at once; unless `preserve_existing`, it ends the user's live sets
//! and older pending ones, rule 6), `codes-pending`, `codes-delivered`
//! (live; `ended` lists what it ended), `delivery-failed`, `revoke` and
//! `device-removed` (ended). A set's uses are bounded by `count * uses`
//! at issue, less one per `verify-accepted`. A user is locked from a
//! `lockout` to the next `unlock`.
//!
//! `audit verify` replays the whole trail against every set and user
//! ([`Replay::first_disagreement`]); `verify` replays one user's lifecycle
//! events ([`LIFECYCLE`], one indexed query) and accepts only codes of sets
//! the trail says are live, whatever their row says. Neither hashes a code.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// What a set was issued with, as the trail commits to it: SHA-256 (hex)
/// over its code alphabet and length, salt, Argon2id parameters
/// (memory, iterations, parallelism), uses per code, expiry and every
/// code hash in id order. Each variable-length field is preceded by its
/// length and every integer is 8 bytes big-endian, so no two sets encode
/// alike. The PostgreSQL function `codedesk_set_digest` (schema
/// `0008_integrity.sql`) computes the same bytes on the server, for roles
/// that may not read code hashes. Uses left are not covered: spending
/// changes them, and the replay bounds them.
pub fn set_digest<'a>(
    alphabet: &str,
    length: i64,
    salt: &[u8],
    cost: [i64; 3],
    uses: i64,
    expires_at: Option<i64>,
    hashes: impl IntoIterator<Item = &'a [u8]>,
) -> String {
    let mut h = Sha256::new();
    h.update(b"codedesk-set-v1");
    field(&mut h, alphabet.as_bytes());
    h.update(length.to_be_bytes());
    field(&mut h, salt);
    for c in cost {
        h.update(c.to_be_bytes());
    }
    h.update(uses.to_be_bytes());
    match expires_at {
        None => h.update([0u8]),
        Some(t) => {
            h.update([1u8]);
            h.update(t.to_be_bytes());
        }
    }
    for hash in hashes {
        field(&mut h, hash);
    }
    hex(&h.finalize())
}

fn field(h: &mut Sha256, b: &[u8]) {
    h.update((b.len() as i64).to_be_bytes());
    h.update(b);
}

/// A notice's reference as the trail holds it: SHA-256 (hex) of the
/// reference. The reference itself stays out of the trail, which more
/// roles read than may dispute in the user's name.
pub fn reference_digest(reference: &str) -> String {
    hex(&Sha256::digest(reference.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The actions that decide a set's fate, as an SQL list (the partial
/// index `audit_lifecycle` of schema 0004 has the same predicate).
pub const LIFECYCLE: &str = "('codes-issued', 'codes-pending', 'codes-delivered', 'delivery-failed', 'revoke', 'device-removed')";

/// What the trail says became of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Pending,
    Live,
    Ended,
    Failed,
}

/// One set as the trail tells it.
#[derive(Debug, Clone)]
pub struct SetTrail {
    pub user: String,
    pub fate: Fate,
    /// The event that decided the fate last.
    pub event: i64,
    /// Uses per code, and codes, at issue.
    pub uses: i64,
    pub count: i64,
    /// Codes accepted from it.
    pub spent: i64,
    /// What the set was issued with ([`set_digest`]), when the event
    /// carries it (sets issued before it did are not covered).
    pub digest: Option<String>,
}

impl SetTrail {
    /// The most uses the set may still hold.
    pub fn allowed(&self) -> i64 {
        (self.count.saturating_mul(self.uses) - self.spent).max(0)
    }
}

/// The trail replayed so far.
#[derive(Debug, Default)]
pub struct Replay {
    pub sets: BTreeMap<i64, SetTrail>,
    /// Per user: the `lockout` event in force, if any.
    pub locks: HashMap<String, Option<i64>>,
    pub events: u64,
}

/// A set as the store holds it.
#[derive(Debug, Clone)]
pub struct SetState {
    pub id: i64,
    pub user: String,
    pub state: String,
    /// Uses left across its codes, and on its fullest code.
    pub uses_left: i64,
    pub max_left: i64,
}

fn ids(v: Option<&Value>) -> Vec<i64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

impl Replay {
    /// Takes in one event, in trail order.
    pub fn step(&mut self, id: i64, action: &str, user: Option<&str>, details: &str) {
        self.events += 1;
        let Some(user) = user else { return };
        let Ok(d) = serde_json::from_str::<Value>(details) else {
            return;
        };
        let set = d.get("set").and_then(Value::as_i64);
        match (action, set) {
            ("codes-issued" | "codes-pending", Some(s)) => {
                let live = action == "codes-issued";
                if live && !d["preserve_existing"].as_bool().unwrap_or(false) {
                    let ended: Vec<i64> = self
                        .sets
                        .iter()
                        .filter(|(k, t)| {
                            t.user == user
                                && (t.fate == Fate::Live || (t.fate == Fate::Pending && **k < s))
                        })
                        .map(|(k, _)| *k)
                        .collect();
                    self.end(&ended, Fate::Ended, id);
                }
                self.sets.insert(
                    s,
                    SetTrail {
                        user: user.to_string(),
                        fate: if live { Fate::Live } else { Fate::Pending },
                        event: id,
                        uses: d["uses"].as_i64().unwrap_or(0),
                        count: d["count"].as_i64().unwrap_or(0),
                        spent: 0,
                        digest: d["digest"].as_str().map(str::to_string),
                    },
                );
            }
            ("codes-delivered", Some(s)) => {
                self.end(&ids(d.get("ended")), Fate::Ended, id);
                self.end(&[s], Fate::Live, id);
            }
            ("delivery-failed", Some(s)) => self.end(&[s], Fate::Failed, id),
            ("verify-accepted", Some(s)) => {
                if let Some(t) = self.sets.get_mut(&s) {
                    t.spent += 1;
                }
            }
            ("revoke", _) => self.end(&ids(d.get("sets")), Fate::Ended, id),
            ("device-removed", _) => self.end(&ids(d.get("revoked_sets")), Fate::Ended, id),
            ("lockout", _) => {
                self.locks.insert(user.to_string(), Some(id));
            }
            ("unlock", _) => {
                self.locks.insert(user.to_string(), None);
            }
            _ => {}
        }
    }

    fn end(&mut self, sets: &[i64], fate: Fate, id: i64) {
        for s in sets {
            if let Some(t) = self.sets.get_mut(s) {
                t.fate = fate;
                t.event = id;
            }
        }
    }

    /// The sets of `user` the trail says are live.
    pub fn live_sets(&self, user: &str) -> Vec<i64> {
        self.live_digests(user)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// The sets of `user` the trail says are live, with the digest each
    /// was issued with (if its event carries one).
    pub fn live_digests(&self, user: &str) -> Vec<(i64, Option<String>)> {
        self.sets
            .iter()
            .filter(|(_, t)| t.user == user && t.fate == Fate::Live)
            .map(|(k, t)| (*k, t.digest.clone()))
            .collect()
    }

    /// The first way the store disagrees with the trail, if any: an empty
    /// trail over a non-empty store; a set active in the store that the
    /// trail never issued, never delivered or ended; more uses left than
    /// the trail allows; a lockout cleared without an unlock. `sets` in id
    /// order; `users` as `(name, locked)`.
    pub fn first_disagreement(
        &self,
        sets: &[SetState],
        users: &[(String, bool)],
    ) -> Option<String> {
        if self.events == 0 && (!users.is_empty() || !sets.is_empty()) {
            return Some(format!(
                "the trail is empty, but the store holds {} user(s) and {} code set(s)",
                users.len(),
                sets.len()
            ));
        }
        for s in sets {
            let t = self.sets.get(&s.id);
            if s.state == "active" {
                let why = match t {
                    None => Some("the trail never issued it".to_string()),
                    Some(t) if t.fate == Fate::Pending => {
                        Some(format!("the trail never delivered it (event {})", t.event))
                    }
                    Some(t) if t.fate != Fate::Live => {
                        Some(format!("the trail ended it at event {}", t.event))
                    }
                    Some(_) => None,
                };
                if let Some(why) = why {
                    return Some(format!(
                        "set {} of {} is active in the store, but {why}",
                        s.id, s.user
                    ));
                }
            }
            if let Some(t) = t
                && (s.uses_left > t.allowed() || s.max_left > t.uses)
            {
                return Some(format!(
                    "set {} of {} has {} use(s) left in the store, but the trail allows at most {} ({} per code)",
                    s.id,
                    s.user,
                    s.uses_left,
                    t.allowed(),
                    t.uses
                ));
            }
        }
        for (name, locked) in users {
            if let (false, Some(Some(e))) = (*locked, self.locks.get(name)) {
                return Some(format!(
                    "the lockout of {name} (event {e}) was cleared without an unlock"
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: i64, state: &str, left: i64) -> SetState {
        SetState {
            id,
            user: "a".into(),
            state: state.into(),
            uses_left: left,
            max_left: left.min(1),
        }
    }

    #[test]
    fn a_new_set_ends_the_old_and_uses_are_counted() {
        let mut r = Replay::default();
        r.step(
            1,
            "codes-issued",
            Some("a"),
            r#"{"set":1,"count":3,"uses":1}"#,
        );
        r.step(2, "verify-accepted", Some("a"), r#"{"set":1}"#);
        assert_eq!(r.live_sets("a"), vec![1]);
        assert_eq!(r.first_disagreement(&[state(1, "active", 2)], &[]), None);
        let up = r.first_disagreement(&[state(1, "active", 3)], &[]).unwrap();
        assert!(up.contains("set 1 of a has 3 use(s)"), "{up}");
        r.step(
            3,
            "codes-pending",
            Some("a"),
            r#"{"set":2,"count":3,"uses":1}"#,
        );
        r.step(4, "codes-delivered", Some("a"), r#"{"set":2,"ended":[1]}"#);
        assert_eq!(r.live_sets("a"), vec![2]);
        let dead = r.first_disagreement(&[state(1, "active", 2)], &[]).unwrap();
        assert!(dead.contains("ended it at event 4"), "{dead}");
        r.step(
            5,
            "codes-issued",
            Some("a"),
            r#"{"set":3,"count":1,"uses":1,"preserve_existing":true}"#,
        );
        assert_eq!(r.live_sets("a"), vec![2, 3]);
        r.step(6, "revoke", Some("a"), r#"{"sets":[2,3]}"#);
        assert!(r.live_sets("a").is_empty());
    }

    #[test]
    fn locks_and_empty_trails() {
        let mut r = Replay::default();
        let users = [("a".to_string(), false)];
        assert!(r.first_disagreement(&[], &users).unwrap().contains("empty"));
        r.step(1, "lockout", Some("a"), "{}");
        assert!(
            r.first_disagreement(&[], &users)
                .unwrap()
                .contains("cleared without an unlock")
        );
        r.step(2, "unlock", Some("a"), "{}");
        assert_eq!(r.first_disagreement(&[], &users), None);
    }
}
