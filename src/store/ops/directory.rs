//! What `codedesk sync` writes and reads: its summary events in the trail
//! (the last one is the baseline of the next run), and leavers' codes
//! revoked, all in one transaction.

use super::super::Store;
use super::super::exec::Exec;
use super::{active_set_ids, append_event, require_user, revoke_in};
use crate::audit::AuditEvent;
use anyhow::Result;

/// The audit action of a sync that changed the store.
pub const SYNC_ACTION: &str = "directory-sync";

/// Why leavers' codes were revoked (the sets' `ended_reason`).
pub const LEFT_REASON: &str = "left the directory";

impl Store {
    /// The details of the last `directory-sync` event, if any.
    pub fn last_directory_sync(&self) -> Result<Option<serde_json::Value>> {
        self.read(|db| {
            let text: Option<String> = db.row(
                "SELECT details FROM audit WHERE action = $1 ORDER BY id DESC LIMIT 1",
                &[&SYNC_ACTION],
                |r| r.get(0),
            )?;
            Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
        })
    }

    /// In one transaction: revokes every live set of each of `leavers`
    /// (their devices stay, for the record) with a `revoke` event each,
    /// then appends `event` (the `directory-sync` event). Returns the
    /// revoked set ids per leaver, in the order given.
    pub fn directory_sync(
        &mut self,
        leavers: &[String],
        event: AuditEvent,
        operator: &str,
        now: i64,
    ) -> Result<Vec<Vec<i64>>> {
        self.write(|db: &mut dyn Exec| {
            let mut revoked = Vec::with_capacity(leavers.len());
            for name in leavers {
                let u = require_user(db, name)?;
                let ids = active_set_ids(db, u.id)?;
                if !ids.is_empty() {
                    revoke_in(db, &u.name, &ids, Some(LEFT_REASON), operator, now)?;
                }
                revoked.push(ids);
            }
            append_event(db, now, operator, None, event)?;
            Ok(revoked)
        })
    }
}
