//! Signals, in one place: Ctrl-C (SIGINT), and SIGHUP and SIGTERM once a
//! step arms them. A process has one handler (the `ctrlc` crate installs
//! it once); it never ends codedesk itself. It notes the signal, a flag the
//! main flow checks ([`pending`]), and runs the action the code in progress
//! registered, which only puts things back or wakes the main flow: SMS
//! delivery stops the gateway, a prompt's wait wakes and puts the terminal
//! back, the identity gate and the demo rely on the flag alone. The main
//! flow then returns an error carrying the exit status, and `main` exits.
//! With no action registered, the signal does what it does to a process
//! without a handler: it ends codedesk, by that signal (a shell reports
//! Ctrl-C as status 130).

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once};

type Action = Arc<dyn Fn() + Send + Sync>;

static ACTION: Mutex<Option<Action>> = Mutex::new(None);
static INSTALL: Once = Once::new();

/// The first signal noted since the last [`clear`], 0 for none.
static PENDING: AtomicI32 = AtomicI32::new(0);

/// The signal that came since the last [`clear`] (the first, if several
/// did), for the main flow to answer.
pub fn pending() -> Option<i32> {
    Some(PENDING.load(Ordering::SeqCst)).filter(|s| *s != 0)
}

/// Forgets a signal already answered: a step that starts to rely on the
/// flag calls this first.
pub fn clear() {
    PENDING.store(0, Ordering::SeqCst);
}

fn note(sig: i32) {
    let _ = PENDING.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
}

/// The exit status for a run a signal stopped when no status of codedesk's
/// own applies (`demo`): 130, as a shell reports a command Ctrl-C ended.
pub const STOPPED: u8 = 130;

/// The error a run returns when a signal stopped it and none of
/// codedesk's exit statuses applies; `main` exits [`STOPPED`].
#[derive(Debug)]
pub struct Stopped(pub String);

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stopped {}

/// True when `err` is a run stopped by a signal ([`Stopped`]).
pub fn is_stopped(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<Stopped>())
}

/// The signal's own default action: ends the process by that signal.
fn default_action(sig: i32) {
    // SAFETY: restores the default action for this signal and raises it.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Ctrl-C: note it and run the registered action, on the handler's thread.
fn handle() {
    note(libc::SIGINT);
    let action = ACTION.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match action {
        Some(act) => act(),
        None => default_action(libc::SIGINT),
    }
}

fn replace(action: Option<Action>) -> Option<Action> {
    INSTALL.call_once(|| {
        // Fails only if another handler is installed, and none is: every
        // SIGINT handling in codedesk goes through here.
        let _ = ctrlc::set_handler(handle);
    });
    std::mem::replace(
        &mut *ACTION.lock().unwrap_or_else(|e| e.into_inner()),
        action,
    )
}

/// What Ctrl-C does from now on, for the rest of the run (or until the
/// next `set`), besides noting the signal. The action returns, and the
/// run goes on: the main flow answers the signal when it checks
/// [`pending`].
pub fn set(action: impl Fn() + Send + Sync + 'static) {
    replace(Some(Arc::new(action)));
}

/// Runs `body` with Ctrl-C doing `action`, then puts back what it did before.
pub fn during<T>(action: impl Fn() + Send + Sync + 'static, body: impl FnOnce() -> T) -> T {
    struct Restore(Option<Option<Action>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0.take() {
                replace(previous);
            }
        }
    }
    let _restore = Restore(Some(replace(Some(Arc::new(action)))));
    body()
}

// ------------------------------------------------- SIGHUP and SIGTERM

/// The write end of the pipe the termination handler wakes its thread by.
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// The termination signal received last, 0 before any.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
static ARM_TERMINATION: Once = Once::new();

/// A signal in the operator's words, for the message that answers it.
pub fn cause(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "the terminal closed (SIGHUP)",
        libc::SIGTERM => "SIGTERM",
        _ => "Ctrl-C",
    }
}

/// Async-signal-safe: note the signal and wake the thread.
extern "C" fn on_termination(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::SeqCst);
    let fd = WAKE.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is one byte.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// From now on SIGHUP (the terminal was closed) and SIGTERM are noted and
/// run the registered action too, on a thread of their own, so that a
/// step that records an interrupted check (the identity prompt) records
/// these as well. With no action registered the signal does what it did
/// before: it ends codedesk, by that signal.
/// Armed once, by the first step that needs it; without it both signals
/// keep their default action.
pub fn arm_termination() {
    ARM_TERMINATION.call_once(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 fills the two descriptors it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return;
        }
        WAKE.store(fds[1], Ordering::SeqCst);
        let read_fd = fds[0];
        std::thread::spawn(move || {
            loop {
                let mut byte = 0u8;
                // SAFETY: reads one byte into a local buffer.
                let n = unsafe { libc::read(read_fd, (&mut byte as *mut u8).cast(), 1) };
                if n == 1 {
                    on_termination_thread();
                } else if n == 0 {
                    return;
                }
            }
        });
        for sig in [libc::SIGHUP, libc::SIGTERM] {
            // SAFETY: installs a handler that only touches atomics and
            // write(2); the sigaction struct is zeroed, then filled.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_termination as *const () as libc::sighandler_t;
                libc::sigemptyset(&mut sa.sa_mask);
                sa.sa_flags = libc::SA_RESTART;
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    });
}

/// The handler thread: as for Ctrl-C, note the signal and run the
/// registered action; with none, the signal's default action.
fn on_termination_thread() {
    let sig = RECEIVED.load(Ordering::SeqCst);
    note(sig);
    let action = ACTION.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match action {
        Some(act) => act(),
        None => default_action(sig),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn during_puts_the_previous_action_back() {
        static OUTER: AtomicUsize = AtomicUsize::new(0);
        static INNER: AtomicUsize = AtomicUsize::new(0);
        set(|| {
            OUTER.fetch_add(1, Ordering::SeqCst);
        });
        during(
            || {
                INNER.fetch_add(1, Ordering::SeqCst);
            },
            handle,
        );
        handle();
        assert_eq!(INNER.load(Ordering::SeqCst), 1);
        assert_eq!(OUTER.load(Ordering::SeqCst), 1);
        // Each was noted for the main flow, until it is answered.
        assert_eq!(pending(), Some(libc::SIGINT));
        clear();
        assert_eq!(pending(), None);
    }
}
