//! How many `verify` processes hash, and use the store, at once on this
//! host: at most one hash per core, and four store sessions per core.
//!
//! Each Argon2id evaluation needs its `hash.memory_kib` of working memory
//! while it runs. A storm of logins (hundreds of `verify` processes started
//! by PAM or RADIUS at once) would otherwise hash all together: no faster
//! on a few cores, and that many times the hash memory at once. A process
//! takes one of N slots before it hashes and gives it back right after;
//! N is the number of cores, so the cores stay busy and the memory stays
//! `N x hash.memory_kib` plus what the waiting processes hold.
//!
//! The store sessions (connect and read; connect and write) are bounded
//! the same way, to four per core: a storm of hundreds of processes all
//! connecting, querying and retrying at once leaves each of them a
//! sliver of the CPU, and the one holding the store's write lock then
//! takes seconds to finish its few statements while every other writer
//! queues behind it (a convoy that ended in "busy" before). Waiting in a
//! slot queue costs no CPU. Across hosts, the server's own limit
//! (max_connections) and verify's retries, or a pooler, take over.
//!
//! A slot is an exclusive `flock` on one of N files in a private runtime
//! folder: `$XDG_RUNTIME_DIR/codedesk-slots`, else `/run/codedesk-slots` for
//! root, else `/tmp/codedesk-slots-UID`; created mode 0700 and used only if
//! it is a real folder owned by this user. The kernel frees a slot when
//! its process ends, however it ends. Processes of different users count
//! apart (each has its own folder). Where no folder can be had, hashing
//! goes ahead unthrottled: the slots bound resources, they guard nothing.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

/// A held slot; dropping it (closing the file) gives it back.
pub struct Slot {
    _file: File,
}

/// The folder of the slot files, made if missing; `None` if it cannot be
/// had safely.
fn folder() -> Option<PathBuf> {
    let uid = unsafe { libc::geteuid() };
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("codedesk-slots"),
        None if uid == 0 => PathBuf::from("/run/codedesk-slots"),
        None => std::env::temp_dir().join(format!("codedesk-slots-{uid}")),
    };
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let m = std::fs::symlink_metadata(&dir).ok()?;
    (m.is_dir() && m.uid() == uid && m.mode() & 0o022 == 0).then_some(dir)
}

fn flock(f: &File, flags: libc::c_int) -> bool {
    loop {
        if unsafe { libc::flock(f.as_raw_fd(), flags) } == 0 {
            return true;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
}

/// What a slot is for.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// One Argon2id evaluation: one per core.
    Hash,
    /// A store session (connect, then read or write): four per core.
    Store,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Hash => "hash",
            Kind::Store => "store",
        }
    }

    /// The slots of this host.
    pub fn per_host(self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        match self {
            Kind::Hash => cores,
            Kind::Store => 4 * cores,
        }
    }
}

/// Waits for a free slot of `kind` and takes it; `None` (go ahead
/// unthrottled) if the slot files cannot be used.
pub fn take(kind: Kind) -> Option<Slot> {
    take_in(folder()?, kind.prefix(), kind.per_host())
}

fn take_in(dir: PathBuf, prefix: &str, slots: usize) -> Option<Slot> {
    let slots = slots.max(1);
    let files: Vec<File> = (0..slots)
        .filter_map(|i| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(dir.join(format!("{prefix}-{i}")))
                .ok()
        })
        .collect();
    if files.is_empty() {
        return None;
    }
    // A free one if there is (from a different start in each process) ...
    let start = std::process::id() as usize % files.len();
    for i in 0..files.len() {
        let k = (start + i) % files.len();
        if flock(&files[k], libc::LOCK_EX | libc::LOCK_NB) {
            return Some(Slot {
                _file: files.into_iter().nth(k)?,
            });
        }
    }
    // ... else queue on one: with every slot busy, each has its queue.
    let file = files.into_iter().nth(start)?;
    flock(&file, libc::LOCK_EX).then_some(Slot { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let a = take_in(dir.path().to_path_buf(), "t", 1).expect("a slot");
        let f = File::open(dir.path().join("t-0")).unwrap();
        assert!(!flock(&f, libc::LOCK_EX | libc::LOCK_NB), "held by `a`");
        drop(a);
        assert!(flock(&f, libc::LOCK_EX | libc::LOCK_NB), "given back");
    }
}
