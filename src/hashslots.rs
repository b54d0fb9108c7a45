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
//! Waiting processes form one queue per kind, not one per slot: a process
//! that finds every slot busy takes the kind's queue file (an exclusive
//! `flock`, so the waiters line up behind it), and only the head of that
//! queue looks for a free slot, every millisecond, until one frees. With a
//! queue per slot (how it was first done), a slot whose queue had run dry
//! stood idle while the other slot's queue still held processes: the last
//! seconds of a storm ran on one core. One queue keeps every core hashing
//! until the last waiter, and a process that arrives later does not pass
//! those already waiting.
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
        // Read once: each call reads the cgroup's CPU quota files.
        static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let cores =
            *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
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
    let open = |name: String| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(dir.join(name))
            .ok()
    };
    let mut files: Vec<Option<File>> = (0..slots).map(|i| open(format!("{prefix}-{i}"))).collect();
    if files.iter().all(Option::is_none) {
        return None;
    }
    // From a different start in each process, so that processes arriving
    // together try different slots first.
    let start = std::process::id() as usize % slots;
    let free = |files: &mut Vec<Option<File>>| {
        (0..slots).map(|i| (start + i) % slots).find_map(|k| {
            let f = files[k].as_ref()?;
            flock(f, libc::LOCK_EX | libc::LOCK_NB).then(|| files[k].take())?
        })
    };
    // Nobody waiting and a slot free: take it.
    let queue = open(format!("{prefix}-queue"));
    let waiting = match &queue {
        Some(q) => !flock(q, libc::LOCK_EX | libc::LOCK_NB),
        None => false,
    };
    if !waiting && let Some(f) = free(&mut files) {
        return Some(Slot { _file: f });
    }
    // Else wait in line (the queue file), then, at its head, for the first
    // slot to free. Closing the queue file (when this returns) lets the
    // next in line move up.
    match &queue {
        Some(q) if waiting && !flock(q, libc::LOCK_EX) => return None,
        Some(_) => {}
        // No queue file: queue on one slot, as without a queue.
        None => {
            let f = files[start]
                .take()
                .or_else(|| files.iter_mut().find_map(Option::take))?;
            return flock(&f, libc::LOCK_EX).then_some(Slot { _file: f });
        }
    }
    loop {
        if let Some(f) = free(&mut files) {
            return Some(Slot { _file: f });
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
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

    /// Two slots, both held, and a waiter: it gets whichever slot is given
    /// back first, the one it tries first or the other.
    #[test]
    fn a_waiter_takes_the_first_slot_to_free() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let wait_for = |path: &PathBuf| {
            let (tx, rx) = std::sync::mpsc::channel();
            let p = path.clone();
            let waiter = std::thread::spawn(move || {
                let s = take_in(p, "t", 2);
                tx.send(()).unwrap();
                s
            });
            (waiter, rx)
        };
        // `a` has the slot this process tries first, `b` the other.
        let a = take_in(path.clone(), "t", 2).expect("a slot");
        let b = take_in(path.clone(), "t", 2).expect("a slot");
        let (waiter, rx) = wait_for(&path);
        let patience = std::time::Duration::from_millis(300);
        assert!(rx.recv_timeout(patience).is_err(), "both held: it waits");
        drop(a);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the slot it tries first, freed, is taken");
        let c = waiter.join().unwrap().expect("a slot");
        // Now `c` holds the first-tried slot and `b` the other; free `b`.
        let (waiter, rx) = wait_for(&path);
        assert!(rx.recv_timeout(patience).is_err(), "both held: it waits");
        drop(b);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the other slot, freed, is taken too");
        assert!(waiter.join().unwrap().is_some());
        drop(c);
    }
}
