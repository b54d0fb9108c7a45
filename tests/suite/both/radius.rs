// The VPN path: backup codes checked by a real FreeRADIUS (Debian's
// `freeradius` 3.2) through codedesk, asked by the real `radclient`.
//
// Each test copies Debian's /etc/freeradius/3.0 to a temporary folder and
// runs docs/radius.md's install block into it (the files of
// examples/freeradius, exactly as a sysadmin installs them), then points
// the copy at this test's store, a free loopback port and a random shared
// secret, and starts `freeradius -f -d COPY`, killed when the test ends:
// as root (the copy's `user`/`group = freerad` commented out, so it
// reaches the test's store in a root-owned temporary folder), or, in the
// test of the production layout, as freerad on a store that belongs to
// freerad.
//
// The tests need root, `freeradius` and `radclient` (`apt-get install
// freeradius freeradius-utils`; .ci/run installs them). Elsewhere they say
// loudly that they were skipped; under CI (`CI` set) a missing
// prerequisite is a failure.

use crate::common;
use common::{BIN, Env, spellings};
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const DEBIAN_RADDB: &str = "/etc/freeradius/3.0";
/// The first line of docs/radius.md's install block: the two folders the
/// tests point at their copy.
const INSTALL_FIRST_LINE: &str = "raddb=/etc/freeradius/3.0 libexec=/usr/local/libexec";

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// Why the RADIUS tests cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some(
            "not running as root (Debian's /etc/freeradius/3.0 is readable by root and freerad only)"
                .into(),
        );
    }
    if which("freeradius").is_none() {
        return Some("freeradius is not installed (apt-get install freeradius)".into());
    }
    if which("radclient").is_none() {
        return Some("radclient is not installed (apt-get install freeradius-utils)".into());
    }
    if !Path::new(DEBIAN_RADDB).join("radiusd.conf").is_file() {
        return Some(format!("{DEBIAN_RADDB}/radiusd.conf does not exist"));
    }
    let group = Command::new("getent").args(["group", "freerad"]).output();
    if !group.map(|o| o.status.success()).unwrap_or(false) {
        return Some("there is no group freerad (Debian's freeradius package makes it)".into());
    }
    None
}

/// True when the test may go on; false (after saying so) when it must skip.
fn can_run(test: &str) -> bool {
    match missing_prerequisite() {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: the RADIUS test must run in CI, but {why}")
        }
        Some(why) => {
            eprintln!("\n*** SKIPPED {test}: {why} ***\n");
            false
        }
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("read /dev/urandom");
    b
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// docs/radius.md's install block, as written there.
fn install_block() -> String {
    let doc = std::fs::read_to_string(Path::new(REPO).join("docs/radius.md"))
        .expect("read docs/radius.md");
    let marker = doc
        .find("<!-- radius-install")
        .expect("docs/radius.md marks its install block");
    let rest = &doc[marker..];
    let start = rest.find("```sh\n").expect("the install block") + "```sh\n".len();
    let end = rest[start..]
        .find("```")
        .expect("the end of the install block");
    rest[start..start + end].to_string()
}

/// Replaces every `from` in the file with `to`; each must be there, so
/// a change to the example (or to Debian's file) fails loudly here.
fn edit(path: &Path, subs: &[(&str, &str)]) {
    let mut text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    for (from, to) in subs {
        assert!(
            text.contains(from),
            "{} no longer holds {from:?}",
            path.display()
        );
        text = text.replace(from, to);
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// The exec module splits its program line on spaces.
fn no_space(p: &Path) -> String {
    let s = p.display().to_string();
    assert!(
        !s.contains(char::is_whitespace),
        "the exec module's program line cannot hold the path {s:?}"
    );
    s
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Reply {
    Accept,
    Reject,
    Nothing,
}

/// A FreeRADIUS of its own, on a copy of Debian's configuration with the
/// repository's files installed; killed when dropped.
struct Radiusd {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    secret: String,
    secret_file: PathBuf,
}

impl Drop for Radiusd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Radiusd {
    /// Starts one for `env`'s store and config (`db`: another `--db`),
    /// as root.
    fn start(env: &Env, db: &Path) -> Radiusd {
        Radiusd::start_as(env, db, false)
    }

    /// Like `start`, with the exec module's `timeout` (10 s in the
    /// shipped file) lowered to `secs`, to keep a test of it short.
    fn start_with_exec_timeout(env: &Env, db: &Path, secs: u32) -> Radiusd {
        Radiusd::start_full(env, db, false, Some(secs))
    }

    /// Like `start`; with `freerad`, radiusd drops to user freerad as
    /// Debian configures it, and runs a copy of codedesk that freerad can
    /// reach (the build's folder may be closed to it).
    fn start_as(env: &Env, db: &Path, freerad: bool) -> Radiusd {
        Radiusd::start_full(env, db, freerad, None)
    }

    fn start_full(env: &Env, db: &Path, freerad: bool, exec_timeout: Option<u32>) -> Radiusd {
        let db = &radius_store(env, db);
        let mut last = String::new();
        for _ in 0..5 {
            match Radiusd::try_start(env, db, freerad, exec_timeout) {
                Ok(r) => return r,
                // Another process took the free port first: another one.
                Err(why) => last = why,
            }
        }
        panic!("freeradius would not start on a free port: {last}");
    }

    fn try_start(
        env: &Env,
        db: &Path,
        freerad: bool,
        exec_timeout: Option<u32>,
    ) -> Result<Radiusd, String> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = if freerad {
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))
                .expect("chmod the folder");
            let copy = dir.path().join("codedesk");
            std::fs::copy(BIN, &copy).expect("copy codedesk");
            copy
        } else {
            PathBuf::from(BIN)
        };
        let raddb = dir.path().join("raddb");
        let libexec = dir.path().join("libexec");
        let status = Command::new("cp")
            .arg("-a")
            .arg(DEBIAN_RADDB)
            .arg(&raddb)
            .status()
            .expect("cp");
        assert!(status.success(), "copy {DEBIAN_RADDB}");

        // The install block of docs/radius.md, into the copy.
        let block = install_block();
        assert!(
            block.starts_with(&format!("{INSTALL_FIRST_LINE}\n")),
            "docs/radius.md's install block starts with {INSTALL_FIRST_LINE:?}:\n{block}"
        );
        let script = block.replacen(
            INSTALL_FIRST_LINE,
            &format!(
                "raddb='{}' libexec='{}'",
                raddb.display(),
                libexec.display()
            ),
            1,
        );
        let out = Command::new("sh")
            .args(["-e", "-c", &script])
            .current_dir(REPO)
            .output()
            .expect("sh");
        assert!(
            out.status.success(),
            "the install block failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        // This test's paths, port and secret.
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free port")
            .port();
        let secret = hex(&random_bytes::<16>());
        edit(
            &raddb.join("mods-available/codedesk"),
            &[
                (
                    "/usr/local/libexec/codedesk-radius",
                    &no_space(&libexec.join("codedesk-radius")),
                ),
                ("/usr/bin/codedesk", &no_space(&bin)),
                ("/var/lib/codedesk/codedesk.db", &no_space(db)),
                ("/etc/codedesk/config.toml", &no_space(&env.config)),
            ],
        );
        if let Some(secs) = exec_timeout {
            edit(
                &raddb.join("mods-available/codedesk"),
                &[("timeout = 10", &format!("timeout = {secs}"))],
            );
        }
        edit(
            &raddb.join("sites-available/codedesk"),
            &[
                ("ipaddr = *", "ipaddr = 127.0.0.1"),
                ("port = 1812", &format!("port = {port}")),
            ],
        );
        edit(
            &raddb.join("clients.conf"),
            &[
                ("ipaddr = 192.0.2.10", "ipaddr = 127.0.0.1"),
                ("CHANGE-ME-to-a-long-random-secret", &secret),
            ],
        );
        let logdir = dir.path().join("log");
        let rundir = dir.path().join("run");
        std::fs::create_dir(&logdir).expect("mkdir log");
        std::fs::create_dir(&rundir).expect("mkdir run");
        if freerad {
            chown_freerad(&[&logdir, &rundir]);
        }
        edit(
            &raddb.join("radiusd.conf"),
            &[
                (
                    "logdir = /var/log/freeradius",
                    &format!("logdir = {}", logdir.display()),
                ),
                (
                    "run_dir = ${localstatedir}/run/${name}",
                    &format!("run_dir = {}", rundir.display()),
                ),
                // Log every Login OK / Login incorrect (never the password).
                ("\tauth = no", "\tauth = yes"),
            ],
        );
        if !freerad {
            edit(
                &raddb.join("radiusd.conf"),
                &[
                    ("\tuser = freerad", "\t#user = freerad"),
                    ("\tgroup = freerad", "\t#group = freerad"),
                ],
            );
        }
        let secret_file = dir.path().join("secret");
        std::fs::write(&secret_file, format!("{secret}\n")).expect("write the secret file");

        let console = std::fs::File::create(dir.path().join("console.log")).expect("console log");
        let child = Command::new(which("freeradius").expect("freeradius"))
            .arg("-f")
            .arg("-d")
            .arg(&raddb)
            .arg("-l")
            .arg(dir.path().join("radiusd.log"))
            .stdin(Stdio::null())
            .stdout(console.try_clone().expect("dup"))
            .stderr(console)
            .spawn()
            .expect("start freeradius");
        let mut r = Radiusd {
            child,
            dir,
            port,
            secret,
            secret_file,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let logs = r.logs();
            if logs.contains("Ready to process requests") {
                return Ok(r);
            }
            if let Ok(Some(status)) = r.child.try_wait() {
                if logs.contains("Address already in use") {
                    return Err(logs);
                }
                panic!("freeradius ended ({status}) before it was ready:\n{logs}");
            }
            if Instant::now() > deadline {
                panic!("freeradius not ready after 30 s:\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Everything radiusd wrote: its log and its standard output and error.
    fn logs(&self) -> String {
        ["radiusd.log", "console.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `radclient` sends `user` and `password` (PAP) with a
    /// Message-Authenticator, the secret read from a file.
    fn radclient(&self, user: &str, password: &str) -> Reply {
        self.radclient_x(user, password).0
    }

    /// `radclient -x`: the reply and what radclient printed of it (the
    /// attributes received).
    fn radclient_x(&self, user: &str, password: &str) -> (Reply, String) {
        let mut child = Command::new(which("radclient").expect("radclient"))
            .args(["-x", "-r", "1", "-t", "20", "-S"])
            .arg(&self.secret_file)
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("auth")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run radclient");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(
                format!(
                    "User-Name = \"{user}\"\nUser-Password = \"{password}\"\nMessage-Authenticator = 0x00\n"
                )
                .as_bytes(),
            )
            .expect("write the request");
        let out = child.wait_with_output().expect("radclient");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let reply = if text.contains("Received Access-Accept") {
            Reply::Accept
        } else if text.contains("Received Access-Reject") {
            Reply::Reject
        } else {
            Reply::Nothing
        };
        (reply, text)
    }

    /// An Access-Request built here, byte by byte (RFC 2865 PAP hiding,
    /// RFC 3579 Message-Authenticator when `with_ma`), whatever a given
    /// radclient version adds on its own; `Nothing` after `wait`.
    fn raw(&self, user: &str, password: &str, with_ma: bool, wait: Duration) -> Reply {
        let secret = self.secret.as_bytes();
        let id = random_bytes::<1>()[0];
        let authenticator = random_bytes::<16>();
        let mut attrs = vec![1u8, (2 + user.len()) as u8];
        attrs.extend_from_slice(user.as_bytes());
        let mut padded = password.as_bytes().to_vec();
        padded.resize(password.len().div_ceil(16).max(1) * 16, 0);
        let mut hidden = Vec::new();
        let mut prev: Vec<u8> = authenticator.to_vec();
        for chunk in padded.chunks(16) {
            let mut h = Md5::new();
            h.update(secret);
            h.update(&prev);
            let b = h.finalize();
            let c: Vec<u8> = chunk.iter().zip(b.iter()).map(|(p, k)| p ^ k).collect();
            hidden.extend_from_slice(&c);
            prev = c;
        }
        attrs.extend_from_slice(&[2, (2 + hidden.len()) as u8]);
        attrs.extend_from_slice(&hidden);
        let ma_at = attrs.len() + 20 + 2;
        if with_ma {
            attrs.extend_from_slice(&[80, 18]);
            attrs.extend_from_slice(&[0; 16]);
        }
        let len = (20 + attrs.len()) as u16;
        let mut pkt = vec![1u8, id];
        pkt.extend_from_slice(&len.to_be_bytes());
        pkt.extend_from_slice(&authenticator);
        pkt.extend_from_slice(&attrs);
        if with_ma {
            let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(secret).expect("HMAC key");
            mac.update(&pkt);
            let tag = mac.finalize().into_bytes();
            pkt[ma_at..ma_at + 16].copy_from_slice(&tag);
        }
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.send_to(&pkt, ("127.0.0.1", self.port)).expect("send");
        sock.set_read_timeout(Some(wait)).expect("timeout");
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            match sock.recv(&mut buf) {
                Ok(n) if n >= 20 && buf[1] == id => {
                    assert_reply_authenticated(&buf[..n], &authenticator, secret);
                    return match buf[0] {
                        2 => Reply::Accept,
                        3 => Reply::Reject,
                        other => panic!("unexpected RADIUS code {other}"),
                    };
                }
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        Reply::Nothing
    }
}

/// The reply's Response Authenticator (RFC 2865) is right, and it carries
/// a right Message-Authenticator (RFC 3579; BlastRADIUS): HMAC-MD5 with the
/// secret over the reply, its authenticator field holding the request's.
fn assert_reply_authenticated(reply: &[u8], request_auth: &[u8; 16], secret: &[u8]) {
    let len = u16::from_be_bytes([reply[2], reply[3]]) as usize;
    assert_eq!(len, reply.len(), "the reply's length field");
    let mut h = Md5::new();
    h.update(&reply[..4]);
    h.update(request_auth);
    h.update(&reply[20..]);
    h.update(secret);
    assert_eq!(
        h.finalize().as_slice(),
        &reply[4..20],
        "the reply's Response Authenticator"
    );
    let mut at = None;
    let mut i = 20;
    while i < reply.len() {
        assert!(i + 2 <= reply.len(), "a truncated attribute in the reply");
        let (kind, l) = (reply[i], reply[i + 1] as usize);
        assert!(l >= 2 && i + l <= reply.len(), "a malformed attribute");
        if kind == 80 {
            assert_eq!(l, 18, "Message-Authenticator's length");
            at = Some(i + 2);
        }
        i += l;
    }
    let at = at.unwrap_or_else(|| {
        panic!(
            "the reply (code {}, {} bytes) carries no Message-Authenticator",
            reply[0],
            reply.len()
        )
    });
    let mut zeroed = reply.to_vec();
    zeroed[4..20].copy_from_slice(request_auth);
    zeroed[at..at + 16].fill(0);
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(secret).expect("HMAC key");
    mac.update(&zeroed);
    assert_eq!(
        mac.finalize().into_bytes().as_slice(),
        &reply[at..at + 16],
        "the reply's Message-Authenticator"
    );
}

/// What a notify command saw: its arguments and environment, and the
/// command line of every process alive while it ran (the bridge and
/// codedesk among them, as codedesk waits for it).
struct Hook {
    env_log: PathBuf,
    argv_log: PathBuf,
}

impl Hook {
    fn env_seen(&self) -> String {
        std::fs::read_to_string(&self.env_log).expect("the notify command ran")
    }

    fn argv_seen(&self) -> String {
        std::fs::read_to_string(&self.argv_log).expect("the notify command ran")
    }

    /// The code reached neither the hook's environment nor any process's
    /// command line, and the hook ran under FreeRADIUS's exec module.
    fn assert_clean(&self, codes: &[String]) {
        let env = self.env_seen();
        assert!(
            env.contains("USER_NAME="),
            "the hook ran under FreeRADIUS's exec module: {env}"
        );
        assert!(!env.contains("USER_PASSWORD"), "{env}");
        assert_secrets_absent("the notify command's environment", &env, codes, None);
        let argv = self.argv_seen();
        assert!(
            argv.contains("codedesk-radius") && argv.contains("--service radius"),
            "the bridge and codedesk were alive while the hook ran: {argv}"
        );
        assert_secrets_absent("a command line", &argv, codes, None);
    }
}

/// The store as the exec module's program line names it: a SQLite path as
/// it is; in a PostgreSQL run (`.ci/run`'s PostgreSQL pass), the Env's URL
/// without its password, which goes to a root-only file that the Env's
/// config names in `store.password_file`, as docs/radius.md says for a
/// shared store: never on a command line.
fn radius_store(env: &Env, db: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let url = db.to_string_lossy().into_owned();
    if !env.is_postgres() || db != env.db.as_path() {
        return db.to_path_buf();
    }
    let Some(pw) = common::password_of(&url) else {
        return db.to_path_buf();
    };
    let file = env.path().join("pg.pass");
    std::fs::write(&file, format!("{pw}\n")).expect("write the password file");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
        .expect("chmod the password file");
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&env.config)
        .expect("open config");
    write!(
        config,
        "\n[store]\npassword_file = {:?}\n",
        file.display().to_string()
    )
    .expect("write config");
    let bare = url.replacen(&format!(":{pw}@"), "@", 1);
    assert!(common::password_of(&bare).is_none(), "{bare}");
    PathBuf::from(bare)
}

/// `chown freerad:freerad` on each path.
fn chown_freerad(paths: &[&Path]) {
    let status = Command::new("chown")
        .arg("freerad:freerad")
        .args(paths)
        .status()
        .expect("chown");
    assert!(status.success(), "chown freerad {paths:?}");
}

/// `env` with a notify command that records what it saw ([`Hook`]);
/// `extra` is more config.
fn env_with_notify(extra: &str) -> (Env, Hook) {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::with_config(extra);
    let script = env.path().join("notify.sh");
    let hook = Hook {
        env_log: env.path().join("notify-env.log"),
        argv_log: env.path().join("notify-argv.log"),
    };
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             {{ echo \"ARGS $*\"; env; echo; }} >> '{}'\n\
             {{ echo \"ARGV at $*\"; for f in /proc/[0-9]*/cmdline; do tr '\\000' ' ' < \"$f\"; echo; done; }} 2>/dev/null >> '{}'\n",
            hook.env_log.display(),
            hook.argv_log.display()
        ),
    )
    .expect("write the notify script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("chmod the notify script");
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&env.config)
        .expect("open config");
    write!(
        config,
        "\n[notify]\ncommand = {:?}\n",
        script.display().to_string()
    )
    .expect("write config");
    (env, hook)
}

/// A user whose only device is a landline, with `n` helpdesk codes.
fn user_with_codes(env: &Env, user: &str, n: &str) -> Vec<String> {
    env.enroll_landline(user, "507-222-0000");
    env.issue_helpdesk(user, &["--count", n])
}

/// The user's audit events from `codedesk audit --format json`.
fn events(env: &Env, user: &str) -> Vec<serde_json::Value> {
    env.ok(&["audit", "--user", user, "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
        .collect()
}

/// The actions of the verify events that came through FreeRADIUS
/// (operator `radius`), each checked to record the service `radius`.
fn verifies_by_radius(env: &Env, user: &str) -> Vec<String> {
    events(env, user)
        .into_iter()
        .filter(|e| e["action"].as_str().unwrap_or("").starts_with("verify-"))
        .filter(|e| e["operator"] == "radius")
        .map(|e| {
            assert_eq!(e["details"]["service"], "radius", "{e}");
            e["action"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

fn remaining(env: &Env, user: &str) -> i64 {
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["list", user, "--format", "json"])).expect("list json");
    v["codes_remaining"].as_i64().expect("codes_remaining")
}

/// No spelling of any of `codes`, nor the shared secret, in `text`.
fn assert_secrets_absent(what: &str, text: &str, codes: &[String], secret: Option<&str>) {
    for code in codes {
        for s in spellings(code) {
            assert!(
                !text.contains(&s),
                "{what} holds {s:?} (of a code):\n{text}"
            );
        }
    }
    if let Some(secret) = secret {
        assert!(!text.contains(secret), "{what} holds the shared secret");
    }
}

#[test]
fn a_code_is_accepted_once_and_wrong_ones_rejected_through_freeradius() {
    if !can_run("a_code_is_accepted_once_and_wrong_ones_rejected_through_freeradius") {
        return;
    }
    let (env, hook) = env_with_notify("");
    let codes = user_with_codes(&env, "vpn.user", "3");
    let other = user_with_codes(&env, "other.user", "1");
    let radiusd = Radiusd::start(&env, &env.db);

    assert_eq!(radiusd.radclient("vpn.user", &codes[0]), Reply::Accept);
    assert_eq!(
        radiusd.radclient("vpn.user", &codes[0]),
        Reply::Reject,
        "the same code again (spent)"
    );
    assert_eq!(
        radiusd.radclient("vpn.user", "0000-0000-0000-0000"),
        Reply::Reject,
        "a wrong code"
    );
    assert_eq!(
        radiusd.radclient("vpn.user", &other[0]),
        Reply::Reject,
        "another user's code"
    );
    // Typed the forgiving way: lower case, no dashes.
    let sloppy = codes[1].replace('-', "").to_lowercase();
    assert_eq!(radiusd.radclient("vpn.user", &sloppy), Reply::Accept);
    assert_eq!(
        radiusd.radclient("nobody", &codes[2]),
        Reply::Reject,
        "an unknown user"
    );
    assert_eq!(
        radiusd.radclient("vpn.user", ""),
        Reply::Reject,
        "an empty password"
    );
    assert_eq!(
        radiusd.radclient("Bad Name", &codes[2]),
        Reply::Reject,
        "not a user name"
    );

    assert_eq!(remaining(&env, "vpn.user"), 1, "two codes spent, no more");
    assert_eq!(remaining(&env, "other.user"), 1, "not spent by vpn.user");
    assert_eq!(
        env.verify("other.user", &other[0]),
        0,
        "another user's code still works for its owner"
    );

    let acts = verifies_by_radius(&env, "vpn.user");
    assert_eq!(
        acts.iter().filter(|a| *a == "verify-accepted").count(),
        2,
        "{acts:?}"
    );
    assert_eq!(acts.first().map(String::as_str), Some("verify-accepted"));
    assert_eq!(acts.get(1).map(String::as_str), Some("verify-rejected"));

    // The bridge's explicit mapping, as FreeRADIUS saw it: 1 reject
    // (codedesk 1), 7 notfound (codedesk 4), 5 invalid (codedesk 2, the
    // bad user name; an empty password is refused before the module).
    let logs = radiusd.logs();
    for n in [1, 7, 5] {
        assert!(
            logs.contains(&format!("Program returned code ({n})")),
            "no 'Program returned code ({n})' in:\n{logs}"
        );
    }
    assert!(logs.contains("Login OK: [vpn.user]"), "{logs}");
    assert!(logs.contains("Login incorrect"), "{logs}");

    let mut all = codes.clone();
    all.extend(other);
    assert_secrets_absent("radiusd's log", &logs, &all, Some(&radiusd.secret));

    // notify.command ran (code-used) under FreeRADIUS, without the code.
    assert!(
        hook.env_seen().contains("ARGS code-used vpn.user"),
        "{}",
        hook.env_seen()
    );
    hook.assert_clean(&all);
}

#[test]
fn a_locked_user_is_refused_through_freeradius() {
    if !can_run("a_locked_user_is_refused_through_freeradius") {
        return;
    }
    let (env, hook) = env_with_notify("[lockout]\nthreshold = 1\n");
    let codes = user_with_codes(&env, "locked.user", "2");
    let radiusd = Radiusd::start(&env, &env.db);

    assert_eq!(
        radiusd.radclient("locked.user", "0000-0000-0000-0000"),
        Reply::Reject,
        "a wrong code (locks the user out)"
    );
    assert_eq!(
        radiusd.radclient("locked.user", &codes[0]),
        Reply::Reject,
        "a valid code while locked out"
    );
    assert_eq!(
        env.verify("locked.user", &codes[0]),
        5,
        "locked, not rejected: the code is still good"
    );
    let logs = radiusd.logs();
    assert!(
        logs.contains("Program returned code (6)"),
        "codedesk 5 is userlock: {logs}"
    );
    let acts = verifies_by_radius(&env, "locked.user");
    assert!(acts.iter().any(|a| a == "verify-locked"), "{acts:?}");
    assert!(
        hook.env_seen().contains("ARGS lockout locked.user"),
        "{}",
        hook.env_seen()
    );
    hook.assert_clean(&codes);

    env.ok(&["unlock", "locked.user"]);
    assert_eq!(
        radiusd.radclient("locked.user", &codes[0]),
        Reply::Accept,
        "the same code once unlocked: it was the lockout that refused it"
    );
    assert_secrets_absent(
        "radiusd's log",
        &radiusd.logs(),
        &codes,
        Some(&radiusd.secret),
    );
}

#[test]
fn a_request_without_message_authenticator_is_dropped() {
    if !can_run("a_request_without_message_authenticator_is_dropped") {
        return;
    }
    let env = Env::new();
    let codes = user_with_codes(&env, "ma.user", "2");
    let radiusd = Radiusd::start(&env, &env.db);

    assert_eq!(
        radiusd.raw("ma.user", &codes[0], false, Duration::from_secs(3)),
        Reply::Nothing,
        "a valid code without Message-Authenticator gets no answer"
    );
    assert_eq!(
        verifies_by_radius(&env, "ma.user"),
        Vec::<String>::new(),
        "nothing was verified"
    );
    // The same packet with a Message-Authenticator: accepted, so the one
    // above was well formed, and it did not spend the code.
    assert_eq!(
        radiusd.raw("ma.user", &codes[0], true, Duration::from_secs(20)),
        Reply::Accept
    );
    assert_eq!(
        radiusd.raw("ma.user", &codes[0], true, Duration::from_secs(20)),
        Reply::Reject,
        "spent"
    );
    assert_eq!(remaining(&env, "ma.user"), 1);
    assert_secrets_absent(
        "radiusd's log",
        &radiusd.logs(),
        &codes,
        Some(&radiusd.secret),
    );
}

#[test]
fn a_store_problem_fails_closed_through_freeradius() {
    if !can_run("a_store_problem_fails_closed_through_freeradius") {
        return;
    }
    let env = Env::new();
    let codes = user_with_codes(&env, "store.user", "1");
    // Not a codedesk store: verify exits 7.
    let garbage = env.path().join("garbage.db");
    std::fs::write(&garbage, random_bytes::<4096>()).expect("write");
    let radiusd = Radiusd::start(&env, &garbage);

    assert_eq!(radiusd.radclient("store.user", &codes[0]), Reply::Reject);
    let logs = radiusd.logs();
    assert!(
        logs.contains("Program returned code (2)"),
        "codedesk 7 is fail: {logs}"
    );
    assert_secrets_absent("radiusd's log", &logs, &codes, Some(&radiusd.secret));
    assert_eq!(
        env.verify("store.user", &codes[0]),
        0,
        "the code is unspent"
    );
}

/// The uid of user freerad.
fn freerad_uid() -> u32 {
    let out = Command::new("id")
        .args(["-u", "freerad"])
        .output()
        .expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("freerad's uid")
}

#[test]
fn freeradius_as_freerad_verifies_on_a_store_that_belongs_to_freerad() {
    if common::sqlite_only("the store is a file that belongs to freerad") {
        return;
    }
    if !can_run("freeradius_as_freerad_verifies_on_a_store_that_belongs_to_freerad") {
        return;
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = Env::new();
    let codes = user_with_codes(&env, "prod.user", "3");
    // docs/radius.md's production layout: the store's folder and files
    // belong to freerad, the configuration is 0640 root:freerad (and the
    // folder above the store is open to all, as /var/lib is).
    let store_dir = env.db.parent().expect("the store's folder").to_path_buf();
    let store_files = || -> Vec<PathBuf> {
        std::fs::read_dir(&store_dir)
            .expect("read the store's folder")
            .map(|e| e.expect("entry").path())
            .collect()
    };
    let mut owned = vec![store_dir.clone()];
    owned.extend(store_files());
    chown_freerad(&owned.iter().map(PathBuf::as_path).collect::<Vec<_>>());
    // Root (the helpdesk) trusts a store that freerad owns only when the
    // configuration names its group (docs/radius.md).
    let mut text = std::fs::read_to_string(&env.config).expect("read the config");
    text.push_str("\n[store]\ngroup = \"freerad\"\n");
    std::fs::write(&env.config, text).expect("write the config");
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o711)).expect("chmod");
    let status = Command::new("chgrp")
        .arg("freerad")
        .arg(&env.config)
        .status()
        .expect("chgrp");
    assert!(status.success());
    std::fs::set_permissions(&env.config, std::fs::Permissions::from_mode(0o640))
        .expect("chmod the config");

    let radiusd = Radiusd::start_as(&env, &env.db, true);
    let uid = freerad_uid();
    let status = std::fs::read_to_string(format!("/proc/{}/status", radiusd.child.id()))
        .expect("radiusd's status");
    let uids = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .expect("Uid line");
    assert!(
        uids.split_whitespace()
            .skip(1)
            .all(|u| u == uid.to_string()),
        "radiusd runs as freerad: {uids}"
    );

    assert_eq!(radiusd.radclient("prod.user", &codes[0]), Reply::Accept);
    // The helpdesk, as root, writes to the store in between.
    user_with_codes(&env, "root.wrote", "1");
    assert_eq!(radiusd.radclient("prod.user", &codes[1]), Reply::Accept);
    assert_eq!(
        radiusd.radclient("prod.user", &codes[1]),
        Reply::Reject,
        "spent"
    );
    assert_eq!(remaining(&env, "prod.user"), 1);
    for f in store_files() {
        let meta = std::fs::metadata(&f).expect("stat");
        assert_eq!(meta.uid(), uid, "{} still belongs to freerad", f.display());
    }
    assert_secrets_absent(
        "radiusd's log",
        &radiusd.logs(),
        &codes,
        Some(&radiusd.secret),
    );
}

/// The pids of the `codedesk verify` processes still running with the
/// configuration `config` (each test's own).
fn verifies_running_with(config: &Path) -> Vec<u32> {
    let config = config.display().to_string();
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = argv.split(|b| *b == 0).collect();
            args.contains(&b"verify".as_slice())
                && args.contains(&config.as_bytes())
                && !args.iter().any(|a| a.ends_with(b"codedesk-radius"))
        })
        .collect()
}

/// The store's write lock, held by another writer until released: SQLite's
/// (BEGIN EXCLUSIVE; readers go on in WAL mode), or on PostgreSQL the
/// advisory lock every codedesk write transaction takes.
enum WriteLock {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

fn hold_write_lock(env: &Env) -> WriteLock {
    if env.is_postgres() {
        let url = env.db.to_str().expect("a URL");
        let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
        c.execute(
            "SELECT pg_advisory_lock($1)",
            &[&codedesk::store::postgres::WRITE_LOCK],
        )
        .expect("take the write lock");
        WriteLock::Postgres(c)
    } else {
        let c = rusqlite::Connection::open(&env.db).expect("open the store");
        c.execute_batch("BEGIN EXCLUSIVE;")
            .expect("take the write lock");
        WriteLock::Sqlite(c)
    }
}

impl WriteLock {
    fn release(self) {
        match self {
            WriteLock::Sqlite(c) => c.execute_batch("COMMIT;").expect("release"),
            WriteLock::Postgres(mut c) => {
                c.execute(
                    "SELECT pg_advisory_unlock($1)",
                    &[&codedesk::store::postgres::WRITE_LOCK],
                )
                .expect("release");
            }
        }
    }
}

#[test]
fn a_verify_past_the_exec_timeout_dies_and_spends_no_code() {
    if !can_run("a_verify_past_the_exec_timeout_dies_and_spends_no_code") {
        return;
    }
    let env = Env::new();
    let codes = user_with_codes(&env, "slow.user", "2");
    let before = remaining(&env, "slow.user");
    // The shipped timeout (10 s), lowered to 3 s for a short test.
    let radiusd = Radiusd::start_with_exec_timeout(&env, &env.db, 3);

    // Another writer holds the store's write lock longer than the exec
    // module waits (verify waits up to 15 s for it): verify reads, hashes,
    // and waits to spend the code while FreeRADIUS gives up on it.
    let lock = hold_write_lock(&env);
    let started = Instant::now();
    assert_eq!(
        radiusd.radclient("slow.user", &codes[0]),
        Reply::Reject,
        "the exec module timed out: Access-Reject"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "the reply came after the exec timeout, not before: {:?}",
        started.elapsed()
    );
    // Hold the lock a while past the Reject (as a 13 s lock outlives the
    // shipped 10 s timeout), then let go: a verify that outlived its caller
    // would now take the lock and spend the code.
    std::thread::sleep(Duration::from_secs(2));
    lock.release();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !verifies_running_with(&env.config).is_empty() {
        assert!(
            Instant::now() < deadline,
            "a verify outlived FreeRADIUS's timeout: {:?}",
            verifies_running_with(&env.config)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));

    assert_eq!(
        remaining(&env, "slow.user"),
        before,
        "no code was spent for a login FreeRADIUS refused"
    );
    assert_eq!(
        verifies_by_radius(&env, "slow.user"),
        Vec::<String>::new(),
        "nothing in the trail for a verify that was killed before it committed"
    );
    assert_eq!(
        env.verify("slow.user", &codes[0]),
        0,
        "the code is still good"
    );
    let logs = radiusd.logs();
    assert_secrets_absent("radiusd's log", &logs, &codes, Some(&radiusd.secret));
}

/// Whether radclient -x printed a Message-Authenticator among the
/// attributes it received.
fn received_message_authenticator(radclient_out: &str) -> bool {
    let Some(at) = radclient_out.find("Received Access-") else {
        return false;
    };
    radclient_out[at..].contains("Message-Authenticator")
}

#[test]
fn every_reply_carries_a_message_authenticator() {
    if !can_run("every_reply_carries_a_message_authenticator") {
        return;
    }
    let env = Env::new();
    let codes = user_with_codes(&env, "reply.user", "2");
    let radiusd = Radiusd::start(&env, &env.db);
    for (what, user, code, want) in [
        (
            "a valid code",
            "reply.user",
            codes[0].as_str(),
            Reply::Accept,
        ),
        (
            "the same code, spent",
            "reply.user",
            codes[0].as_str(),
            Reply::Reject,
        ),
        (
            "a wrong code",
            "reply.user",
            "0000-0000-0000-0000",
            Reply::Reject,
        ),
        (
            "an unknown user",
            "nobody",
            "0000-0000-0000-0000",
            Reply::Reject,
        ),
        ("an empty password", "reply.user", "", Reply::Reject),
    ] {
        let (reply, out) = radiusd.radclient_x(user, code);
        assert_eq!(reply, want, "{what}:\n{out}");
        assert!(
            received_message_authenticator(&out),
            "{what}: the {want:?} carries no Message-Authenticator:\n{out}"
        );
    }
    // The same, checked byte by byte here (`raw` asserts the reply's
    // Message-Authenticator and Response Authenticator).
    let wait = Duration::from_secs(20);
    assert_eq!(
        radiusd.raw("reply.user", &codes[1], true, wait),
        Reply::Accept
    );
    assert_eq!(
        radiusd.raw("reply.user", &codes[1], true, wait),
        Reply::Reject
    );
    assert_eq!(radiusd.raw("nobody", "", true, wait), Reply::Reject);
}
