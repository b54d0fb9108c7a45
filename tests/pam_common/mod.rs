//! Shared by tests/suite/both/pam.rs (on either backend) and tests/suite/sshd.rs:
//! the stanza of `examples/pam.d/codedesk` (the one copy the docs quote
//! and the package installs) pointed at this test build and a test
//! config, and PAM service files in /etc/pam.d removed when dropped.
#![allow(dead_code)]

use crate::common::{BIN, Env};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The stanza as shipped.
pub const STANZA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pam.d/codedesk");
/// Where the package installs the binary; the stanza names it.
pub const INSTALLED_BIN: &str = "/usr/bin/codedesk";
/// The system config file; the stanza names it (its `store.db` names the store).
pub const INSTALLED_CONFIG: &str = "/etc/codedesk/config.toml";

/// The shipped stanza with exactly two substitutions: `/usr/bin/codedesk`
/// becomes this test build (`BIN`) and `/etc/codedesk/config.toml` the
/// test's config; every other byte is the file's. Each path must occur
/// once, so a stanza edited out of shape fails here rather than testing
/// something else.
pub fn stanza(config: &Path) -> String {
    let text = std::fs::read_to_string(STANZA_FILE).expect("read examples/pam.d/codedesk");
    for p in [INSTALLED_BIN, INSTALLED_CONFIG] {
        assert_eq!(
            text.matches(p).count(),
            1,
            "examples/pam.d/codedesk names {p} once"
        );
    }
    text.replace(INSTALLED_BIN, &pam_arg(Path::new(BIN)))
        .replace(INSTALLED_CONFIG, &pam_arg(config))
}

/// Makes `env`'s config name its store (`store.db`), as the system config
/// must: pam_exec's environment is empty and the stanza gives no `--db`.
pub fn config_names_store(env: &Env) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&env.config)
        .expect("open the config");
    // A TOML basic string: Debug quoting matches it for a path or URL.
    writeln!(f, "\n[store]\ndb = {:?}", env.db.display().to_string()).expect("write the config");
}

/// A PAM configuration argument; brackets keep one with spaces whole.
pub fn pam_arg(p: &Path) -> String {
    let s = p.display().to_string();
    if s.contains(char::is_whitespace) {
        format!("[{}]", s.replace(']', "\\]"))
    } else {
        s
    }
}

/// A file in /etc/pam.d, removed when dropped (even on panic).
pub struct PamFile {
    pub name: String,
    pub path: PathBuf,
}

impl Drop for PamFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A name no other test (or run) uses: `codedesk-test-TAG-PID-NANOS`.
pub fn unique_name(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("codedesk-test-{tag}-{}-{nanos}", std::process::id())
}

/// Writes /etc/pam.d/NAME (mode 0600: in the PostgreSQL twin the config
/// it names holds the database password, and the file its path).
pub fn write_pam_file(name: &str, text: &str) -> PamFile {
    use std::os::unix::fs::PermissionsExt;
    let path = Path::new("/etc/pam.d").join(name);
    let file = PamFile {
        name: name.to_string(),
        path,
    };
    std::fs::write(&file.path, text).expect("write the PAM service file");
    std::fs::set_permissions(&file.path, std::fs::Permissions::from_mode(0o600))
        .expect("chmod the PAM service file");
    file
}

pub fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// Why PAM service files cannot be tested here (root, /etc/pam.d,
/// pam_exec.so), if they cannot.
pub fn pam_exec_missing() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not running as root (a service file must go into /etc/pam.d)".into());
    }
    if !Path::new("/etc/pam.d").is_dir() {
        return Some("/etc/pam.d does not exist".into());
    }
    let dirs = [
        "/lib/x86_64-linux-gnu/security",
        "/usr/lib/x86_64-linux-gnu/security",
        "/lib/aarch64-linux-gnu/security",
        "/usr/lib/aarch64-linux-gnu/security",
        "/lib/security",
        "/usr/lib/security",
        "/lib64/security",
        "/usr/lib64/security",
    ];
    if !dirs
        .iter()
        .any(|d| Path::new(d).join("pam_exec.so").exists())
    {
        return Some("pam_exec.so not found (apt-get install libpam-modules)".into());
    }
    None
}

/// True when the test may go on; false (after saying so loudly) when it
/// must skip. Under CI (`CI` set) a missing prerequisite is a failure.
pub fn can_run(test: &str, what: &str, missing: Option<String>) -> bool {
    match missing {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: the {what} test must run in CI, but {why}")
        }
        Some(why) => {
            eprintln!("\n*** SKIPPED {test}: {why} ***\n");
            false
        }
    }
}
