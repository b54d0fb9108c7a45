//! Files no one else planted: the store (and its `-wal`/`-shm`), the SMS
//! outbox and the configuration are used only when owned by the account
//! codedesk runs as or by root, not writable by others, and writable by
//! their group only when it is the group the configuration names
//! (`[store] group`, the shared-group mode, which trusts every member).
//! They are opened without following a symbolic link.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The group the configuration trusts (`[store] group`): its name and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
}

/// Why the file with metadata `m` (from `fstat` or `lstat`) is not to be
/// trusted, if it is not. `root_only`: the system configuration, which
/// only root may own and nobody else may write.
pub fn distrust(m: &std::fs::Metadata, group: Option<&Group>, root_only: bool) -> Option<String> {
    judge(m, m.mode() & 0o7777, group, root_only)
}

/// As [`distrust`], but a group write is not judged (yet): the owner and
/// others only. For a config, whose group is trusted only if it names it.
pub fn distrust_owner(m: &std::fs::Metadata, root_only: bool) -> Option<String> {
    judge(m, m.mode() & 0o7757, None, root_only)
}

fn judge(
    m: &std::fs::Metadata,
    mode: u32,
    group: Option<&Group>,
    root_only: bool,
) -> Option<String> {
    if m.file_type().is_symlink() {
        return Some("it is a symbolic link".into());
    }
    if !m.file_type().is_file() {
        return Some("it is not a regular file".into());
    }
    // SAFETY: geteuid cannot fail and has no preconditions.
    let me = unsafe { libc::geteuid() };
    let owner = m.uid();
    let shared = group.is_some_and(|g| g.gid == m.gid()) && !root_only;
    let owner_ok = owner == 0 || (!root_only && (owner == me || shared));
    if !owner_ok {
        let who = crate::principal::account_name(owner).unwrap_or_else(|| format!("uid:{owner}"));
        let allowed = if root_only || me == 0 {
            "root".to_string()
        } else {
            let name = crate::principal::account_name(me).unwrap_or_else(|| format!("uid:{me}"));
            format!("{name} or root")
        };
        return Some(format!("it is owned by {who}, not by {allowed}"));
    }
    if mode & 0o002 != 0 {
        return Some(format!("others can write it (mode {mode:o})"));
    }
    if mode & 0o020 != 0 && !shared {
        return Some(match group {
            Some(g) if !root_only => format!(
                "its group can write it (mode {mode:o}) and that group is not {} (store.group)",
                g.name
            ),
            _ => {
                format!("its group can write it (mode {mode:o}); set store.group to trust a group")
            }
        });
    }
    None
}

/// Checks the file at `path` without following a final symbolic link:
/// `Ok(false)` when there is none, `Err(why)` when it is not trusted.
pub fn check_path(path: &Path, group: Option<&Group>) -> Result<bool, String> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => match distrust(&m, group, false) {
            Some(why) => Err(why),
            None => Ok(true),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// Opens `path` to read, refusing a symbolic link (`O_NOFOLLOW`) and never
/// blocking on a FIFO; the caller checks the open file with [`distrust`].
pub fn open_nofollow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// An `open` that failed because the last component is a symbolic link.
pub fn is_symlink_error(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}
