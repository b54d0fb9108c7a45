//! OpenSSH end to end: a real `sshd` on loopback asks for a backup code
//! through PAM after a public key, and the real `ssh` client (driven by
//! `sshpass`) logs in with one. The configuration is the shipped one:
//!
//! - sshd reads its own sshd_config (port, host key, PID file) followed by
//!   `examples/sshd_config.d/codedesk.conf` verbatim
//!   (`AuthenticationMethods publickey,keyboard-interactive`, ...).
//!   The group variant, `examples/sshd_config.d/codedesk-group.conf`, is
//!   read the same way with its group replaced by a unique one made with
//!   `groupadd` (removed at the end).
//! - PAM: sshd takes its PAM service name from the name it was started
//!   under, so it is started through a symlink named
//!   `codedesk-test-sshd-PID-NANOS` and its service file is
//!   `/etc/pam.d/<that name>`: the system's `/etc/pam.d/sshd` with its
//!   `@include common-auth` line replaced by `@include <that name>-codedesk`,
//!   exactly as docs/ssh.md tells an administrator to edit /etc/pam.d/sshd.
//!   `/etc/pam.d/<that name>-codedesk` holds `examples/pam.d/codedesk` with
//!   two substitutions only (tests/pam_common: `/usr/bin/codedesk` becomes
//!   this test build, `/etc/codedesk/config.toml` the test's config, whose
//!   `store.db` names the test's store).
//! - A local user made with `useradd` (a unique name, removed with its
//!   home at the end) with a key made by `ssh-keygen` in its
//!   authorized_keys; `sshpass` answers PAM's "Password:" prompt
//!   (keyboard-interactive) with the code, from its environment, never argv.
//!
//! Needs root (useradd, /etc/pam.d, sshd), openssh-server, openssh-client,
//! sshpass and pam_exec.so: `.ci/run` installs them and starts nothing
//! (each test starts and stops its own sshd). Elsewhere the tests say loudly
//! that they skipped; under CI (`CI` set) a missing prerequisite fails them.
//! Every wait is bounded.

use crate::common;
use crate::pam_common;

use common::Env;
use pam_common::{PamFile, pam_exec_missing, stanza, unique_name, which, write_pam_file};
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD_CONFIG_FRAGMENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/sshd_config.d/codedesk.conf"
);
/// The variant that asks only the members of one group for a code.
const SSHD_GROUP_FRAGMENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/sshd_config.d/codedesk-group.conf"
);
/// The group SSHD_GROUP_FRAGMENT names (replaced by a unique one here).
const SHIPPED_GROUP_MATCH: &str = "Match Group codedesk-ssh\n";
const PAM_STANZA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pam.d/codedesk");
/// What the remote command prints: proof of a shell as the user.
const MARK: &str = "codedesk-ssh-ok:";
/// The bound on a login, a key generation, a user's creation.
const STEP: Duration = Duration::from_secs(60);

/// Why the sshd tests cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    if let Some(why) = pam_exec_missing() {
        return Some(why);
    }
    for (prog, package) in [
        ("sshd", "openssh-server"),
        ("ssh", "openssh-client"),
        ("ssh-keygen", "openssh-client"),
        ("sshpass", "sshpass"),
        ("useradd", "passwd"),
        ("userdel", "passwd"),
    ] {
        if which(prog).is_none() {
            return Some(format!(
                "{prog} is not installed (apt-get install {package})"
            ));
        }
    }
    if !Path::new("/etc/pam.d/sshd").is_file() {
        return Some("/etc/pam.d/sshd is missing (apt-get install openssh-server)".into());
    }
    for f in ["/run/nologin", "/etc/nologin"] {
        if Path::new(f).exists() {
            return Some(format!(
                "{f} exists: pam_nologin refuses every login but root's (the system is still booting?)"
            ));
        }
    }
    None
}

fn can_run(test: &str) -> bool {
    pam_common::can_run(test, "sshd", missing_prerequisite())
}

/// Runs `cmd` to its end within `limit` (killed and a panic past it);
/// (success, stdout, stderr).
fn run_bounded(cmd: &mut Command, limit: Duration) -> (bool, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.success(),
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    )
}

fn must(cmd: &mut Command) -> String {
    let (ok, out, err) = run_bounded(cmd, STEP);
    assert!(ok, "{cmd:?} failed: {err}");
    out
}

/// A local user with `key`'s public half authorized, deleted with its
/// home when dropped.
struct UnixUser {
    name: String,
}

impl UnixUser {
    fn create(tag: &str, key: &Path) -> UnixUser {
        UnixUser::create_in(tag, key, None)
    }

    /// A user with `key` authorized, a member of `group` if given.
    fn create_in(tag: &str, key: &Path, group: Option<&UnixGroup>) -> UnixUser {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // Short (useradd allows 32), and a valid codedesk user name.
        let name = format!(
            "cdt{tag}{}x{}",
            std::process::id() % 100_000,
            nanos % 100_000
        );
        let mut useradd = Command::new("useradd");
        useradd.args(["-m", "-s", "/bin/sh"]);
        if let Some(g) = group {
            useradd.args(["-G", &g.name]);
        }
        must(useradd.arg(&name));
        let user = UnixUser { name };
        let passwd = must(Command::new("getent").args(["passwd", &user.name]));
        let home = PathBuf::from(passwd.trim().split(':').nth(5).expect("a home"));
        let ssh = home.join(".ssh");
        std::fs::create_dir_all(&ssh).expect("mkdir ~/.ssh");
        std::fs::copy(key.with_extension("pub"), ssh.join("authorized_keys"))
            .expect("authorize the key");
        must(
            Command::new("chown")
                .args(["-R", &format!("{0}:{0}", user.name)])
                .arg(&ssh),
        );
        must(Command::new("chmod").args(["-R", "go-rwx"]).arg(&ssh));
        user
    }
}

impl Drop for UnixUser {
    fn drop(&mut self) {
        // -f: even if a session of it is still closing.
        let _ = run_bounded(Command::new("userdel").args(["-r", "-f", &self.name]), STEP);
    }
}

/// A local group with a unique name, deleted when dropped (drop its
/// members first).
struct UnixGroup {
    name: String,
}

impl UnixGroup {
    fn create() -> UnixGroup {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("cdg{}x{}", std::process::id() % 100_000, nanos % 100_000);
        must(Command::new("groupadd").arg(&name));
        UnixGroup { name }
    }
}

impl Drop for UnixGroup {
    fn drop(&mut self) {
        let _ = run_bounded(Command::new("groupdel").arg(&self.name), STEP);
    }
}

/// A free loopback port (another process may take it before sshd binds
/// it: `Sshd::start` then tries another).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `ssh-keygen` an ed25519 key without a passphrase at `path`.
fn keygen(path: &Path) {
    must(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "codedesk-test", "-f"])
            .arg(path),
    );
}

/// A running `sshd -D` on 127.0.0.1, killed when dropped; its PAM service
/// files and folder removed after it.
struct Sshd {
    child: Child,
    port: u16,
    /// The PAM service name (PAM_SERVICE, recorded by verify).
    service: String,
    log: PathBuf,
    client_key: PathBuf,
    known_hosts: PathBuf,
    _pam: [PamFile; 2],
    dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sshd {
    /// sshd for `env`'s store (its config must name the store), with the
    /// shipped examples/sshd_config.d/codedesk.conf.
    fn start(env: &Env) -> Sshd {
        let fragment = std::fs::read_to_string(SSHD_CONFIG_FRAGMENT).expect("read the fragment");
        Sshd::start_with(env, &fragment)
    }

    /// sshd for `env`'s store, its own settings followed by `fragment`.
    fn start_with(env: &Env, fragment: &str) -> Sshd {
        let dir = tempfile::tempdir().expect("tempdir");
        let host_key = dir.path().join("host_key");
        let client_key = dir.path().join("client_key");
        keygen(&host_key);
        keygen(&client_key);

        let service = unique_name("sshd");
        let codedesk_pam = write_pam_file(&format!("{service}-codedesk"), &stanza(&env.config));
        let system = std::fs::read_to_string("/etc/pam.d/sshd").expect("read /etc/pam.d/sshd");
        let include = "@include common-auth";
        assert_eq!(
            system.lines().filter(|l| l.trim() == include).count(),
            1,
            "/etc/pam.d/sshd has one `{include}` line to replace: {system}"
        );
        let text: String = system
            .lines()
            .map(|l| {
                if l.trim() == include {
                    format!("@include {}\n", codedesk_pam.name)
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let sshd_pam = write_pam_file(&service, &text);

        // sshd re-executes itself by the absolute path it was started as,
        // and names its PAM service after that file's name.
        let link = dir.path().join(&service);
        std::os::unix::fs::symlink(which("sshd").expect("sshd"), &link).expect("symlink sshd");
        // The privilege separation directory (systemd's unit makes it at boot).
        std::fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
        let host_pub = std::fs::read_to_string(host_key.with_extension("pub")).expect("host key");
        let pid_file = dir.path().join("sshd.pid");
        let log = dir.path().join("sshd.log");
        let config = dir.path().join("sshd_config");
        let known_hosts = dir.path().join("known_hosts");
        let mut why = String::new();
        for _ in 0..5 {
            let port = free_port();
            std::fs::write(
                &config,
                format!(
                    "# tests/suite/sshd.rs: this sshd's own settings, then an examples/sshd_config.d/ file\n\
                     Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\n\
                     LogLevel VERBOSE\nPermitRootLogin no\nPrintMotd no\nPrintLastLog no\n\
                     X11Forwarding no\nAllowTcpForwarding no\n\n{fragment}",
                    host_key.display(),
                    pid_file.display(),
                ),
            )
            .expect("write sshd_config");
            std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_pub}"))
                .expect("write known_hosts");
            let log_file = std::fs::File::create(&log).expect("create the sshd log");
            let mut child = Command::new(&link)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .expect("start sshd");
            if listening(&mut child, port, Duration::from_secs(20)) {
                let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
                let sshd = Sshd {
                    child,
                    port,
                    service,
                    log,
                    client_key,
                    known_hosts,
                    _pam: [sshd_pam, codedesk_pam],
                    dir,
                };
                assert_eq!(pid.trim(), sshd.child.id().to_string(), "sshd's PID file");
                return sshd;
            }
            // It exited (the port was taken meanwhile?) or hung: another port.
            let _ = child.kill();
            let _ = child.wait();
            why = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("sshd did not start in 5 tries: {why}");
    }

    /// The sshd log so far (for failure messages and the leak check).
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Logs in as `user` with the key and then `code` at PAM's prompt, and
    /// runs a command. Some(the command's output) if a shell ran it.
    fn login(&self, user: &str, code: &str) -> Option<String> {
        self.login_by(user, code, true)
    }

    /// As `login`, without offering the key: keyboard-interactive (the
    /// code) alone.
    fn login_code_only(&self, user: &str, code: &str) -> Option<String> {
        self.login_by(user, code, false)
    }

    fn login_by(&self, user: &str, code: &str, with_key: bool) -> Option<String> {
        let (pubkey, preferred) = if with_key {
            ("yes", "publickey,keyboard-interactive")
        } else {
            ("no", "keyboard-interactive")
        };
        let mut cmd = Command::new(which("sshpass").expect("sshpass"));
        // -e: the code from SSHPASS, never argv. -P: PAM's prompt (pam_exec
        // asks through pam_get_authtok: "Password: "; ssh shows it as
        // "(user@host) Password: ").
        cmd.args(["-e", "-P", "Password:"])
            .arg(which("ssh").expect("ssh"))
            .args(["-F", "/dev/null", "-p", &self.port.to_string(), "-i"])
            .arg(&self.client_key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "IdentityAgent=none",
                "-o",
                &format!("PubkeyAuthentication={pubkey}"),
                "-o",
                &format!("PreferredAuthentications={preferred}"),
                // One answer per login: a refused code is not asked again.
                "-o",
                "NumberOfPasswordPrompts=1",
                "-o",
                "ConnectTimeout=20",
                "-o",
                "LogLevel=ERROR",
                "-l",
                user,
                "127.0.0.1",
                "--",
                &format!("echo {MARK}$(id -un)"),
            ])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", self.dir.path())
            .env("SSHPASS", code);
        let (ok, out, err) = run_bounded(&mut cmd, STEP);
        if ok {
            Some(out)
        } else {
            assert!(
                !out.contains(MARK),
                "a failed login ran the command: {out} {err}"
            );
            assert!(
                err.contains("Permission denied"),
                "refused by authentication, not for another reason: {err}\nsshd: {}",
                self.log()
            );
            None
        }
    }
}

/// True once sshd answers with its banner on `port`; false if it exits
/// or `limit` passes first.
fn listening(child: &mut Child, port: u16, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return false;
        }
        if let Ok(mut s) =
            TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(2))
        {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut banner = [0u8; 4];
            if s.read_exact(&mut banner).is_ok() && &banner == b"SSH-" {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Use counts left over all of `user`'s codes, read from the store.
fn uses_left(env: &Env, user: &str) -> i64 {
    env.sql_i64(&format!(
        "SELECT COALESCE(SUM(c.uses_left), 0) FROM codes c \
         JOIN code_sets s ON s.id = c.set_id JOIN users u ON u.id = s.user_id \
         WHERE u.name = '{user}'"
    ))
}

/// `user`'s verify events (action, details), oldest first.
fn verify_events(env: &Env, user: &str) -> Vec<(String, serde_json::Value)> {
    env.ok(&["audit", "--user", user, "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("an audit line"))
        .filter(|e| {
            e["action"]
                .as_str()
                .unwrap_or_default()
                .starts_with("verify")
        })
        .map(|e| {
            assert_eq!(e["operator"], "pam", "{e}");
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["details"].clone(),
            )
        })
        .collect()
}

/// A store whose config names it (as /etc/codedesk/config.toml must).
fn store(threshold: u32) -> Env {
    let env = Env::with_config(&format!("[lockout]\nthreshold = {threshold}\n"));
    pam_common::config_names_store(&env);
    env
}

/// Enrols `user` (a landline) and issues `n` helpdesk codes.
fn codes_for(env: &Env, user: &str, n: &str) -> Vec<String> {
    env.enroll_landline(user, "507-222-0000");
    env.issue_helpdesk(user, &["--count", n])
}

/// Neither the sshd log nor the audit trail holds any spelling of a code.
fn assert_no_code_leaked(env: &Env, sshd: &Sshd, codes: &[String]) {
    let log = sshd.log();
    let trail = env.ok(&["audit", "--format", "json"]);
    for code in codes {
        for s in common::spellings(code) {
            assert!(!log.contains(&s), "a code in sshd's log: {log}");
            assert!(!trail.contains(&s), "a code in the audit trail");
        }
    }
}

#[test]
fn a_backup_code_after_a_public_key_gets_a_shell_once() {
    if !can_run("a_backup_code_after_a_public_key_gets_a_shell_once") {
        return;
    }
    let env = store(10);
    let sshd = Sshd::start(&env);
    let user = UnixUser::create("a", &sshd.client_key);
    let u = user.name.as_str();
    let codes = codes_for(&env, u, "3");
    let theirs = codes_for(&env, "someone.else", "1");
    let mut expected: Vec<&str> = Vec::new();

    // A valid code: a shell as the user runs the command; one use spent.
    let before = uses_left(&env, u);
    let out = sshd
        .login(u, &codes[0])
        .unwrap_or_else(|| panic!("a valid code was refused; sshd: {}", sshd.log()));
    assert_eq!(out.trim(), format!("{MARK}{u}"));
    assert_eq!(uses_left(&env, u), before - 1, "one login, one use");
    expected.push("verify-accepted");

    // Refused, each costing one rejection and no use.
    let wrong = "0000-0000-0000-0000";
    for (what, code) in [
        ("the same code again", codes[0].as_str()),
        ("a wrong code", wrong),
        ("another user's code", theirs[0].as_str()),
    ] {
        assert_eq!(sshd.login(u, code), None, "{what}");
        expected.push("verify-rejected");
    }
    assert_eq!(uses_left(&env, u), before - 1, "refusals spend nothing");
    assert_eq!(uses_left(&env, "someone.else"), 1, "their code unspent");

    // A new set replaces the old one: its codes no longer log in.
    let fresh = env.issue_helpdesk(u, &["--count", "2"]);
    assert_eq!(sshd.login(u, &codes[1]), None, "a code of a replaced set");
    expected.push("verify-rejected");
    let before = uses_left(&env, u);
    let out = sshd.login(u, &fresh[0]).expect("a code of the new set");
    assert_eq!(out.trim(), format!("{MARK}{u}"));
    assert_eq!(uses_left(&env, u), before - 1, "one login, one use");
    expected.push("verify-accepted");

    // Exactly one verify per login attempt, each naming the PAM service.
    let events = verify_events(&env, u);
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, expected, "{events:?}");
    for (_, details) in &events {
        assert_eq!(details["service"], sshd.service.as_str(), "{details}");
    }
    // The other user's code was never checked against their account.
    assert!(verify_events(&env, "someone.else").is_empty());
    assert_eq!(env.verify("someone.else", &theirs[0]), 0, "still theirs");

    env.ok(&["audit", "verify"]);
    let mut all = codes.clone();
    all.extend(theirs);
    all.extend(fresh);
    assert_no_code_leaked(&env, &sshd, &all);
}

#[test]
fn a_locked_user_is_refused_even_with_a_valid_code() {
    if !can_run("a_locked_user_is_refused_even_with_a_valid_code") {
        return;
    }
    let env = store(2);
    let sshd = Sshd::start(&env);
    let user = UnixUser::create("l", &sshd.client_key);
    let u = user.name.as_str();
    let codes = codes_for(&env, u, "2");

    for _ in 0..2 {
        assert_eq!(sshd.login(u, "0000-0000-0000-0000"), None, "a wrong code");
    }
    let before = uses_left(&env, u);
    assert_eq!(sshd.login(u, &codes[0]), None, "a valid code while locked");
    assert_eq!(uses_left(&env, u), before, "nothing spent while locked");
    let actions: Vec<String> = verify_events(&env, u).into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        actions,
        ["verify-rejected", "verify-rejected", "verify-locked"],
        "the second wrong code locked the user"
    );

    env.ok(&["unlock", u]);
    let out = sshd
        .login(u, &codes[0])
        .expect("the same code once unlocked: the lockout refused it");
    assert_eq!(out.trim(), format!("{MARK}{u}"));
    assert_eq!(uses_left(&env, u), before - 1);
    assert_no_code_leaked(&env, &sshd, &codes);
}

#[test]
fn the_docs_quote_the_shipped_files_verbatim() {
    // No root needed. The administrator copies from the docs; the tests
    // and the package use the files: they must be the same text.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ssh_md = std::fs::read_to_string(root.join("docs/ssh.md")).expect("docs/ssh.md");
    let pam_md = std::fs::read_to_string(root.join("docs/pam.md")).expect("docs/pam.md");
    for file in [PAM_STANZA, SSHD_CONFIG_FRAGMENT, SSHD_GROUP_FRAGMENT] {
        let text = std::fs::read_to_string(file).expect("read");
        assert!(
            ssh_md.contains(&format!("```\n{text}```\n")),
            "docs/ssh.md does not quote {file} verbatim in a block"
        );
    }
    let stanza = std::fs::read_to_string(PAM_STANZA).expect("read");
    assert!(
        pam_md.contains(&format!("```\n{stanza}```\n")),
        "docs/pam.md does not quote examples/pam.d/codedesk verbatim"
    );
}

/// `sshd -T` (the effective configuration) of the machine's own
/// /etc/ssh/sshd_config, its Include pointed at a folder holding only
/// `fragment` as codedesk.conf; for the connection `conn` (`sshd -T -C`:
/// "user=NAME,host=...,addr=...") if given.
fn effective_config(fragment: &str, conn: Option<&str>) -> String {
    let system = std::fs::read_to_string("/etc/ssh/sshd_config").expect("/etc/ssh/sshd_config");
    let include = "Include /etc/ssh/sshd_config.d/*.conf";
    assert_eq!(
        system.lines().filter(|l| l.trim() == include).count(),
        1,
        "Debian's sshd_config includes the drop-in folder: {system}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let drop_in = dir.path().join("sshd_config.d");
    std::fs::create_dir(&drop_in).expect("mkdir");
    std::fs::write(drop_in.join("codedesk.conf"), fragment).expect("write the fragment");
    let config = dir.path().join("sshd_config");
    std::fs::write(
        &config,
        system.replace(include, &format!("Include {}/*.conf", drop_in.display())),
    )
    .expect("write sshd_config");
    let host_key = dir.path().join("host_key");
    keygen(&host_key);
    let sshd = which("sshd").expect("sshd");
    // `sshd -t`, as docs/ssh.md has the administrator run it.
    must(
        Command::new(&sshd)
            .arg("-t")
            .arg("-f")
            .arg(&config)
            .arg("-o")
            .arg(format!("HostKey={}", host_key.display())),
    );
    let mut cmd = Command::new(&sshd);
    cmd.arg("-T")
        .arg("-f")
        .arg(&config)
        .arg("-o")
        .arg(format!("HostKey={}", host_key.display()));
    if let Some(c) = conn {
        cmd.args(["-C", c]);
    }
    must(&mut cmd)
}

fn assert_settings(out: &str, want: &[&str], who: &str) {
    for w in want {
        assert!(out.lines().any(|l| l == *w), "{who}: {w} in: {out}");
    }
}

#[test]
fn the_fragment_wins_over_debians_own_sshd_config() {
    // docs/ssh.md: installed as /etc/ssh/sshd_config.d/codedesk.conf, the
    // fragment's values are the ones sshd uses, although Debian's
    // /etc/ssh/sshd_config says `KbdInteractiveAuthentication no`: it
    // includes that folder first, and sshd keeps a keyword's first value.
    if !can_run("the_fragment_wins_over_debians_own_sshd_config") {
        return;
    }
    let fragment = std::fs::read_to_string(SSHD_CONFIG_FRAGMENT).expect("read");
    let out = effective_config(&fragment, None);
    assert_settings(
        &out,
        &[
            "authenticationmethods publickey,keyboard-interactive",
            "kbdinteractiveauthentication yes",
            "usepam yes",
            "passwordauthentication no",
        ],
        "everyone",
    );
}

/// examples/sshd_config.d/codedesk-group.conf with its group replaced by
/// `group`.
fn group_fragment(group: &str) -> String {
    let text = std::fs::read_to_string(SSHD_GROUP_FRAGMENT).expect("read the group fragment");
    assert_eq!(
        text.matches(SHIPPED_GROUP_MATCH).count(),
        1,
        "one `{SHIPPED_GROUP_MATCH}` line to replace: {text}"
    );
    text.replace(SHIPPED_GROUP_MATCH, &format!("Match Group {group}\n"))
}

#[test]
fn the_group_fragment_asks_only_its_members_for_a_code() {
    // Installed over Debian's own sshd_config (`sshd -t` passes), the
    // group fragment gives a member publickey then keyboard-interactive,
    // and everyone else no keyboard-interactive at all (so no way to PAM's
    // auth stack, which asks for a code) and no password.
    if !can_run("the_group_fragment_asks_only_its_members_for_a_code") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("key");
    keygen(&key);
    let group = UnixGroup::create();
    let member = UnixUser::create_in("gm", &key, Some(&group));
    let outsider = UnixUser::create("go", &key);
    let fragment = group_fragment(&group.name);
    let conn = |u: &str| format!("user={u},host=localhost,addr=127.0.0.1");
    let out = effective_config(&fragment, Some(&conn(&member.name)));
    assert_settings(
        &out,
        &[
            "authenticationmethods publickey,keyboard-interactive",
            "kbdinteractiveauthentication yes",
            "usepam yes",
            "passwordauthentication no",
        ],
        "a member",
    );
    let out = effective_config(&fragment, Some(&conn(&outsider.name)));
    assert_settings(
        &out,
        &[
            "authenticationmethods any",
            "kbdinteractiveauthentication no",
            "usepam yes",
            "passwordauthentication no",
        ],
        "an outsider",
    );
}

#[test]
fn with_the_group_fragment_no_one_logs_in_with_a_code_alone() {
    // A real sshd with examples/sshd_config.d/codedesk-group.conf (its
    // group replaced by a unique one): a member logs in with the key then
    // a code, and not with a code alone; a user outside the group logs in
    // with the key alone, is never asked for a code, and cannot log in
    // with a code alone (which would be one factor, and a way for a
    // stranger to spend attempts and lock users out).
    if !can_run("with_the_group_fragment_no_one_logs_in_with_a_code_alone") {
        return;
    }
    let env = store(10);
    let group = UnixGroup::create();
    let sshd = Sshd::start_with(&env, &group_fragment(&group.name));
    let member = UnixUser::create_in("m", &sshd.client_key, Some(&group));
    let outsider = UnixUser::create("o", &sshd.client_key);
    let (m, o) = (member.name.as_str(), outsider.name.as_str());
    let mcodes = codes_for(&env, m, "2");
    let ocodes = codes_for(&env, o, "2");
    let (m_before, o_before) = (uses_left(&env, m), uses_left(&env, o));

    // A code alone, no key: refused to both, before PAM (verify never ran).
    assert_eq!(
        sshd.login_code_only(o, &ocodes[0]),
        None,
        "an outsider with a valid code and no key"
    );
    assert_eq!(
        sshd.login_code_only(m, &mcodes[0]),
        None,
        "a member with a valid code and no key"
    );
    assert_eq!(uses_left(&env, m), m_before, "nothing spent");
    assert_eq!(uses_left(&env, o), o_before, "nothing spent");
    assert!(verify_events(&env, m).is_empty(), "verify never ran");
    assert!(verify_events(&env, o).is_empty(), "verify never ran");

    // A member: the key, then a code: a shell, one use.
    let out = sshd
        .login(m, &mcodes[0])
        .unwrap_or_else(|| panic!("a member's key and valid code were refused: {}", sshd.log()));
    assert_eq!(out.trim(), format!("{MARK}{m}"));
    assert_eq!(uses_left(&env, m), m_before - 1, "one login, one use");
    // The key and a wrong code: refused.
    assert_eq!(sshd.login(m, "0000-0000-0000-0000"), None, "a wrong code");
    let events = verify_events(&env, m);
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        ["verify-accepted", "verify-rejected"],
        "{events:?}"
    );
    for (_, details) in &events {
        assert_eq!(details["service"], sshd.service.as_str(), "{details}");
    }

    // An outsider: the key alone logs in; no code is asked for or spent.
    let out = sshd
        .login(o, "never-asked")
        .unwrap_or_else(|| panic!("an outsider's key was refused: {}", sshd.log()));
    assert_eq!(out.trim(), format!("{MARK}{o}"));
    assert_eq!(uses_left(&env, o), o_before, "nothing spent");
    assert!(verify_events(&env, o).is_empty(), "verify never ran");

    let mut all = mcodes.clone();
    all.extend(ocodes);
    assert_no_code_leaked(&env, &sshd, &all);
    drop(sshd);
    drop(member);
    drop(outsider);
}

#[test]
fn the_advice_the_group_fragment_replaces_let_a_code_alone_in() {
    // The control for the test above: docs/ssh.md once said to put the
    // AuthenticationMethods line in a `Match Group` block, leaving
    // keyboard-interactive on for everyone. With that configuration a user
    // outside the group logs in with a code alone. So the refusal above is
    // the group fragment's doing, not the harness's.
    if !can_run("the_advice_the_group_fragment_replaces_let_a_code_alone_in") {
        return;
    }
    let line = "AuthenticationMethods publickey,keyboard-interactive\n";
    let fragment = std::fs::read_to_string(SSHD_CONFIG_FRAGMENT).expect("read");
    assert_eq!(fragment.matches(line).count(), 1, "{fragment}");
    let env = store(10);
    let group = UnixGroup::create();
    let flawed = format!(
        "{}\nMatch Group {}\n\t{line}",
        fragment.replace(line, ""),
        group.name
    );
    let sshd = Sshd::start_with(&env, &flawed);
    let outsider = UnixUser::create("c", &sshd.client_key);
    let o = outsider.name.as_str();
    let codes = codes_for(&env, o, "1");
    let out = sshd
        .login_code_only(o, &codes[0])
        .unwrap_or_else(|| panic!("the flawed advice refused a code alone: {}", sshd.log()));
    assert_eq!(out.trim(), format!("{MARK}{o}"));
    drop(sshd);
    drop(outsider);
}
