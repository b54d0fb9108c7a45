//! Who runs codedesk, as the operating system vouches for it, and whether
//! it runs with privileges its caller lacks (under sudo, set-user-id).
//! Unlike `--operator`, nothing here is a claim the caller makes: the real
//! user id is the kernel's, and `SUDO_UID` is believed only when the real
//! user id is 0 (only root, or sudo acting for someone, runs as root).

use std::sync::OnceLock;

/// The principal of this process on a SQLite store: the account name of the
/// real user id; when that is root and `SUDO_UID` names another account,
/// that account (the one who ran `sudo codedesk`). An id without a name
/// is recorded as `uid:N`.
pub fn local() -> &'static str {
    static LOCAL: OnceLock<String> = OnceLock::new();
    LOCAL.get_or_init(|| {
        // SAFETY: getuid cannot fail and has no preconditions.
        let ruid = unsafe { libc::getuid() };
        let uid = if ruid == 0 {
            sudo_uid().unwrap_or(0)
        } else {
            ruid
        };
        account_name(uid).unwrap_or_else(|| format!("uid:{uid}"))
    })
}

thread_local! {
    /// The second account `codedesk demo` plays on its throwaway store
    /// (issue 13's approval needs two principals); set only by
    /// [`demo_as`], which only the demo calls.
    static DEMO_ACCOUNT: std::cell::Cell<Option<&'static str>> =
        const { std::cell::Cell::new(None) };
}

/// The principal a SQLite store records: [`local`], except inside
/// `codedesk demo`'s [`demo_as`].
pub fn on_sqlite() -> String {
    DEMO_ACCOUNT
        .with(|a| a.get())
        .unwrap_or_else(local)
        .to_string()
}

/// Runs `f` as if another account ran it, on the SQLite store the demo
/// made in its own temporary folder: how `codedesk demo` shows a second
/// principal approving a request without a second login.
pub(crate) fn demo_as<T>(account: &'static str, f: impl FnOnce() -> T) -> T {
    DEMO_ACCOUNT.with(|a| a.set(Some(account)));
    let r = f();
    DEMO_ACCOUNT.with(|a| a.set(None));
    r
}

/// `SUDO_UID`, when it names an account other than root.
fn sudo_uid() -> Option<u32> {
    std::env::var("SUDO_UID")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|u| *u != 0)
}

/// Why this process has privileges its caller lacks, if it has: then only
/// the system configuration applies (see `docs/configuration.md`).
pub fn elevated() -> Option<String> {
    // SAFETY: these calls cannot fail and have no preconditions.
    let (ruid, euid, rgid, egid) = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    };
    if ruid != euid {
        return Some(format!(
            "codedesk runs set-user-id (real uid {ruid}, effective uid {euid})"
        ));
    }
    if rgid != egid {
        return Some(format!(
            "codedesk runs set-group-id (real gid {rgid}, effective gid {egid})"
        ));
    }
    if ruid == 0
        && let Some(u) = sudo_uid()
    {
        return Some(format!(
            "codedesk runs as root under sudo for {}",
            account_name(u).unwrap_or_else(|| format!("uid:{u}"))
        ));
    }
    if let Some(caller) = std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty())
        && account_name(ruid).as_deref() != Some(caller.as_str())
    {
        return Some(format!(
            "codedesk runs as {} under sudo for {}",
            account_name(ruid).unwrap_or_else(|| format!("uid:{ruid}")),
            caller
                .chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        ));
    }
    None
}

/// The account name of `uid` (from the password database), if it has one.
pub fn account_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: a zeroed passwd is a valid out-parameter; buf outlives
        // the call and its length is passed; the result is read only when
        // getpwuid_r reports success and a non-null entry.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut found)
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || found.is_null() || pw.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name points into buf, NUL-terminated by getpwuid_r.
        let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) };
        return Some(name.to_string_lossy().into_owned());
    }
}

/// The id of the group named `name`, if there is one.
pub fn group_id(name: &str) -> Option<u32> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: as in `account_name`, for getgrnam_r.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        let rc = unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                &mut gr,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || found.is_null() {
            return None;
        }
        return Some(gr.gr_gid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_a_name_and_a_group_has_an_id() {
        assert_eq!(account_name(0).as_deref(), Some("root"));
        assert_eq!(group_id("root"), Some(0));
        assert_eq!(group_id("no-such-group-codedesk-x"), None);
        assert_eq!(group_id("a\0b"), None);
    }
}
