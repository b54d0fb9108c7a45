//! Ctrl-C (SIGINT), in one place. A process has one handler (the `ctrlc`
//! crate installs it once); what it does depends on what codedesk is doing
//! at that moment, so the code in progress registers an action here: the
//! identity prompt records the aborted check, the hidden code prompt puts
//! the terminal back, SMS delivery stops the gateway, the demo removes its
//! folder. With no action registered, Ctrl-C ends codedesk with exit 130,
//! as the default SIGINT would end it.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once};

type Action = Arc<dyn Fn() + Send + Sync>;

static ACTION: Mutex<Option<Action>> = Mutex::new(None);
static INSTALL: Once = Once::new();

/// The registered action, run on the handler's thread.
fn handle() {
    let action = ACTION.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match action {
        Some(act) => act(),
        None => std::process::exit(130),
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
/// next `set`). The action may return, in which case the run goes on.
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
/// The termination signal received, 0 before any.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
static ARM_TERMINATION: Once = Once::new();

/// The termination signal that woke the handler (`SIGHUP`, `SIGTERM`), if
/// one did: the registered action may word its message by it.
pub fn termination_signal() -> Option<i32> {
    Some(RECEIVED.load(Ordering::SeqCst)).filter(|s| *s != 0)
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

/// From now on SIGHUP (the terminal was closed) and SIGTERM run the
/// registered action too, on a thread of their own, so that a step that
/// records an interrupted check (the identity prompt) records these as
/// well. With no action registered the signal does what it did before:
/// it ends codedesk, by that signal.
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

/// The handler thread: the registered action, as for Ctrl-C (which may
/// return, and the run goes on: the step under way finishes, as it does
/// after Ctrl-C); with none, the signal's default action.
fn on_termination_thread() {
    let action = ACTION.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(act) = action {
        act();
        return;
    }
    let sig = RECEIVED.load(Ordering::SeqCst);
    // SAFETY: restores the default action for this signal and raises it.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
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
    }
}
