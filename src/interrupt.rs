//! Ctrl-C (SIGINT), in one place. A process has one handler (the `ctrlc`
//! crate installs it once); what it does depends on what codedesk is doing
//! at that moment, so the code in progress registers an action here: the
//! identity prompt records the aborted check, the hidden code prompt puts
//! the terminal back, SMS delivery stops the gateway, the demo removes its
//! folder. With no action registered, Ctrl-C ends codedesk with exit 130,
//! as the default SIGINT would end it.

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
