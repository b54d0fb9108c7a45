// Operators are who the system says they are (issue 12, items 1-4):
// every audit event records the principal the system vouches for beside
// the `--operator` note; a global option given twice is a usage error;
// under privileges the caller lacks only the system configuration
// applies; files someone else planted are refused. The sudo tests use
// Debian's real `sudo`, a throwaway account and a sudoers drop-in.
// See docs/configuration.md.

use crate::common;

use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

/// The account `nobody` (Debian's uid 65534), the stranger who plants files.
const NOBODY: u32 = 65534;

fn uid() -> u32 {
    // SAFETY: getuid cannot fail and has no preconditions.
    unsafe { libc::getuid() }
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(p: &Path, uid: u32, gid: Option<u32>) {
    std::os::unix::fs::lchown(p, Some(uid), gid).unwrap();
}

/// True (after a loud note) when the test cannot run here because it
/// needs root; under `CI` that is a failure instead.
fn needs_root(why: &str) -> bool {
    if uid() == 0 {
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{why} needs root, and CI is set"
    );
    eprintln!("{SUITE}: SKIPPED (not root): {why}");
    true
}

fn events(env: &Env) -> Vec<Value> {
    env.ok(&["audit", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The login role of a PostgreSQL URL.
fn role_of(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    let userinfo = &rest[..rest.rfind('@').unwrap()];
    userinfo.split(':').next().unwrap().to_string()
}

// ------------------------------------------------------------ principals

#[test]
fn every_event_records_the_principal_beside_the_operator_note() {
    let env = Env::new();
    env.ok(&["enroll-device", "amy", "--kind", "token"]);
    env.issue_helpdesk("amy", &[]);
    let expected = if env.is_postgres() {
        role_of(env.db.to_str().unwrap())
    } else {
        codedesk::principal::account_name(uid()).unwrap()
    };
    let all = events(&env);
    assert!(all.len() >= 3);
    for e in &all {
        assert_eq!(e["principal"], expected.as_str(), "{e}");
        assert_eq!(e["operator"], "tester", "{e}");
    }
    // --operator is only a note: another name changes the note, not the
    // principal (here through CODEDESK_OPERATOR, as Env gives --operator).
    let o = env
        .cmd_without_db()
        .env("CODEDESK_DB", &env.db)
        .args(["unlock", "amy"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let last = events(&env).pop().unwrap();
    assert_eq!(last["principal"], expected.as_str());
    // Table and CSV show the principal too.
    let csv = env.ok(&["audit", "--format", "csv"]);
    assert!(csv.starts_with("id,at,principal,operator,"), "{csv}");
    assert!(csv.contains(&format!(",{expected},tester,")), "{csv}");
}

/// A principal edited in the store breaks the chain: it is hashed.
#[test]
fn an_edited_principal_breaks_the_chain() {
    let env = Env::new();
    env.ok(&["enroll-device", "bea", "--kind", "token"]);
    env.ok(&["audit", "verify"]);
    // On PostgreSQL `sql_execute` lifts the audit triggers as the owner
    // could (the trail is otherwise append-only); the chain still shows it.
    env.sql_execute("UPDATE audit SET principal = 'mallory'");
    let (code, _, err) = env.run(&["audit", "verify"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("event 1 was altered"), "{err}");
}

/// On PostgreSQL the server writes the principal: a client inserting an
/// event in another name gets its own login role recorded.
#[test]
fn postgresql_writes_the_login_role_whatever_the_client_sends() {
    if postgres_only("the server-side principal trigger") {
        return;
    }
    let env = Env::new();
    env.ok(&["enroll-device", "cai", "--kind", "token"]);
    // A plain connection of the login role, triggers in force (not
    // `sql_execute`, which lifts them as the owner could).
    let url = env.db.to_str().unwrap();
    let mut c = url
        .parse::<postgres::Config>()
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap();
    c.execute(
        "INSERT INTO audit (id, at, operator, action, details, prev_hash, hash, principal)
         VALUES (2, 0, 'x', 'forged', '{}', 'p', 'h', 'mallory')",
        &[],
    )
    .unwrap();
    let who = env.sql_column("SELECT principal FROM audit WHERE id = 2");
    assert_eq!(who, vec![role_of(env.db.to_str().unwrap())]);
}

/// Under sudo (real uid 0, `SUDO_UID` set) the principal is the invoking
/// account; `SUDO_UID` is believed only by root. Without the real `sudo`
/// (see `sudo_*` below for that): the variables sudo sets, and a system
/// configuration in the test's place.
#[test]
fn root_with_sudo_uid_records_the_invoking_account() {
    if sqlite_only("the OS account is the SQLite principal") || needs_root("running as root") {
        return;
    }
    let sys = SystemConfig::new("");
    let out = sys
        .cmd()
        .env("SUDO_UID", NOBODY.to_string())
        .env("SUDO_USER", "nobody")
        .args(["enroll-device", "dee", "--kind", "token"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = sys.events_as_root();
    assert_eq!(e[0]["principal"], "nobody");
    assert_eq!(e[0]["operator"], "nobody", "the note is SUDO_USER");
    // Not root: SUDO_UID is not believed (nobody claims root's name).
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o777);
    let db = dir.path().join("n.db");
    let out = StdCommand::new("/usr/sbin/runuser")
        .args(["-u", "nobody", "--"])
        .arg(BIN)
        .env_clear()
        .env("SUDO_UID", "0")
        .env(codedesk::context::TEST_SYSTEM_CONFIG_VAR, NO_SYSTEM_CONFIG)
        .env("HOME", dir.path())
        .arg("--db")
        .arg(&db)
        .args([
            "enroll-device",
            "eve",
            "--kind",
            "token",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let who: String = conn
        .query_row("SELECT principal FROM audit WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(who, "nobody");
}

// ----------------------------------------------------- no silent overrides

#[test]
fn a_global_option_given_twice_is_a_usage_error_naming_it() {
    let env = Env::new();
    let other = env.path().join("other.db");
    let other_cfg = env.path().join("other.toml");
    std::fs::write(&other_cfg, "").unwrap();
    let o = other.to_str().unwrap();
    let c = other_cfg.to_str().unwrap();
    // Env::cmd gives --db, --config and --operator before the subcommand.
    for (args, name) in [
        (vec!["list", "--db", o], "--db"),
        (vec!["list", &format!("--db={o}")], "--db"),
        (vec!["list", "--config", c], "--config"),
        (vec!["list", "--operator", "mallory"], "--operator"),
        (
            vec!["--format", "json", "list", "--format", "csv"],
            "--format",
        ),
        (vec!["-q", "list", "--quiet"], "--quiet"),
        (vec!["audit", "verify", "--db", o], "--db"),
    ] {
        let (code, out, err) = env.run(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(&format!("'{name}'")), "{args:?}: {err}");
        assert!(err.contains("more than once"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(out.is_empty());
    }
    assert!(!other.exists(), "the second store was never opened");
    // Once, after the subcommand, is fine (on a store that exists: `list`
    // creates none).
    assert_eq!(env.run(&["unlock", "nobody"]).0, 4);
    let o = env
        .cmd_without_db()
        .args(["list", "--db"])
        .arg(&env.db)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

// ------------------------------------------------- the system configuration

/// A system configuration in a root-only folder, owned by root and
/// written by nobody else, named through the debug-only test variable.
struct SystemConfig {
    dir: tempfile::TempDir,
    path: PathBuf,
    store: PathBuf,
}

impl SystemConfig {
    fn new(extra: &str) -> SystemConfig {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o755);
        let path = dir.path().join("config.toml");
        let store = dir.path().join("store").join("codedesk.db");
        let outbox = dir.path().join("outbox.txt");
        std::fs::write(
            &path,
            format!(
                "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\noutbox = {:?}\n\n[store]\ndb = {:?}\n{extra}",
                outbox.display().to_string(),
                store.display().to_string()
            ),
        )
        .unwrap();
        chmod(&path, 0o644);
        SystemConfig { dir, path, store }
    }

    /// codedesk with a scrubbed environment, HOME in the folder, and this
    /// file as the system configuration.
    fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(BIN);
        scrub(&mut c);
        c.env("HOME", self.dir.path().join("home"));
        c.env(codedesk::context::TEST_SYSTEM_CONFIG_VAR, &self.path);
        c
    }

    fn events_as_root(&self) -> Vec<Value> {
        let out = self
            .cmd()
            .arg("--db")
            .arg(&self.store)
            .args(["audit", "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn run(c: &mut assert_cmd::Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn config_json(c: &mut assert_cmd::Command) -> Value {
    let (code, out, err) = run(c.args(["config", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn the_system_file_applies_last_and_config_says_which_file_applied() {
    if sqlite_only("file locations") {
        return;
    }
    let sys = SystemConfig::new("[codes]\ncount = 7\n");
    // No --config, no user file: the system file.
    let j = config_json(&mut sys.cmd());
    assert_eq!(j["config"]["value"], sys.path.to_str().unwrap());
    assert_eq!(j["config"]["source"], "system file");
    assert_eq!(j["codes.count"]["value"], "7");
    assert_eq!(j["db"]["value"], sys.store.to_str().unwrap());
    // The user's file comes before it (and alone applies).
    let user = sys.dir.path().join("home/.config/codedesk/config.toml");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::fs::write(&user, "[codes]\ncount = 8\n").unwrap();
    let j = config_json(&mut sys.cmd());
    assert_eq!(j["config"]["value"], user.to_str().unwrap());
    assert_eq!(j["config"]["source"], "user file");
    assert_eq!(j["codes.count"]["value"], "8");
    // CODEDESK_CONFIG before that, --config first.
    let env_file = sys.dir.path().join("env.toml");
    std::fs::write(&env_file, "[codes]\ncount = 9\n").unwrap();
    let j = config_json(sys.cmd().env("CODEDESK_CONFIG", &env_file));
    assert_eq!(j["codes.count"]["value"], "9");
    let flag_file = sys.dir.path().join("flag.toml");
    std::fs::write(&flag_file, "[codes]\ncount = 11\n").unwrap();
    let j = config_json(
        sys.cmd()
            .env("CODEDESK_CONFIG", &env_file)
            .arg("--config")
            .arg(&flag_file),
    );
    assert_eq!(j["codes.count"]["value"], "11");
    assert_eq!(j["config"]["source"], "flag (--config)");
}

/// What sudo sets (real uid 0, SUDO_UID, SUDO_USER) makes codedesk take
/// only the system file: the caller's choices are exit 2 naming why. The
/// same with the real sudo is `sudo_refuses_the_callers_store_and_config`.
#[test]
fn under_sudo_the_callers_db_config_and_environment_are_refused() {
    if sqlite_only("file locations") || needs_root("SUDO_UID is believed from root only") {
        return;
    }
    let sys = SystemConfig::new("");
    let elevated = || {
        let mut c = sys.cmd();
        c.env("SUDO_UID", NOBODY.to_string())
            .env("SUDO_USER", "nobody");
        c
    };
    let mine = sys.dir.path().join("mine.db");
    let cfg = sys.dir.path().join("mine.toml");
    std::fs::write(&cfg, "").unwrap();
    for (mut c, what) in [
        (
            {
                let mut c = elevated();
                c.arg("--db").arg(&mine);
                c
            },
            "--db",
        ),
        (
            {
                let mut c = elevated();
                c.arg("--config").arg(&cfg);
                c
            },
            "--config",
        ),
        (
            {
                let mut c = elevated();
                c.env("CODEDESK_DB", &mine);
                c
            },
            "CODEDESK_DB",
        ),
        (
            {
                let mut c = elevated();
                c.env("CODEDESK_CONFIG", &cfg);
                c
            },
            "CODEDESK_CONFIG",
        ),
        (
            {
                let mut c = elevated();
                c.env("CODEDESK_OPERATOR", "x");
                c
            },
            "CODEDESK_OPERATOR",
        ),
        (
            {
                let mut c = elevated();
                c.env("PGSSLMODE", "disable");
                c
            },
            "PGSSLMODE",
        ),
    ] {
        let (code, out, err) = run(c.args(["list"]));
        assert_eq!(code, 2, "{what}: {out}{err}");
        assert!(err.contains(what) && err.contains("refused"), "{err}");
        assert!(err.contains("under sudo for nobody"), "{err}");
        assert!(err.contains(sys.path.to_str().unwrap()), "{err}");
    }
    assert!(!mine.exists());
    // Commands that name the caller's own files or stores are refused.
    let (code, _, err) = run(elevated().args([
        "migrate",
        "--from",
        sys.store.to_str().unwrap(),
        "--to",
        "postgres://elsewhere.invalid/x",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("migrate is refused"), "{err}");
    let (code, _, err) = run(elevated().args(["generate-artifacts", "--out"]).arg(&mine));
    assert_eq!(code, 2, "{err}");
    assert!(!mine.exists());
    // Without them, the system file's store.
    let (code, _, err) = run(elevated().args(["enroll-device", "fay", "--kind", "token"]));
    assert_eq!(code, 0, "{err}");
    assert!(sys.store.exists());
    let j = config_json(&mut elevated());
    assert!(
        j["config"]["source"]
            .as_str()
            .unwrap()
            .starts_with("system file only (codedesk runs as root under sudo for nobody)"),
        "{j}"
    );
    // sudo -u to a service account: SUDO_USER differs from who runs.
    let (code, _, err) = run(sys
        .cmd()
        .env("SUDO_USER", "nobody")
        .arg("--db")
        .arg(&mine)
        .arg("list"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("codedesk runs as root under sudo for nobody"),
        "{err}"
    );
}

#[test]
fn a_system_file_others_could_write_or_with_a_password_is_refused() {
    if sqlite_only("file modes") || needs_root("chown to another account") {
        return;
    }
    let sys = SystemConfig::new("");
    for (mode, owner, why) in [
        (0o664, 0, "its group can write it"),
        (0o646, 0, "others can write it"),
        (0o644, NOBODY, "owned by nobody"),
    ] {
        chmod(&sys.path, mode);
        chown(&sys.path, owner, None);
        let (code, _, err) = run(sys.cmd().arg("list"));
        assert_eq!(code, 2, "{mode:o} {owner}: {err}");
        assert!(err.contains("not trusted") && err.contains(why), "{err}");
    }
    chmod(&sys.path, 0o644);
    chown(&sys.path, 0, None);
    // (`list` creates no store: `unlock` makes the empty one it reads.)
    assert_eq!(run(sys.cmd().args(["unlock", "nobody"])).0, 4);
    assert_eq!(run(sys.cmd().arg("list")).0, 0);
    // A password in the URL of the system file (often world-readable).
    std::fs::write(
        &sys.path,
        "[store]\ndb = \"postgres://u:secret@127.0.0.1/x\"\n",
    )
    .unwrap();
    let (code, _, err) = run(sys.cmd().arg("list"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("password_file") && !err.contains("secret"),
        "{err}"
    );
    // A password file others can read is refused; its text never shown.
    let pw = sys.dir.path().join("pg.pass");
    std::fs::write(&pw, "hunter2-secret\n").unwrap();
    chmod(&pw, 0o644);
    std::fs::write(
        &sys.path,
        format!(
            "[store]\ndb = \"postgres://u@127.0.0.1:1/x\"\npassword_file = {:?}\n",
            pw.display().to_string()
        ),
    )
    .unwrap();
    let (code, _, err) = run(sys.cmd().arg("list"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("others can read it") && !err.contains("hunter2"),
        "{err}"
    );
    chmod(&pw, 0o600);
    let (code, _, err) = run(sys.cmd().arg("list"));
    assert_eq!(code, 7, "read, then the (absent) server: {err}");
    assert!(!err.contains("hunter2"), "{err}");
}

/// `store.password_file` gives the PostgreSQL password: the URL has none,
/// and PGPASSWORD is not set.
#[test]
fn the_postgresql_password_comes_from_the_password_file() {
    if postgres_only("a password") {
        return;
    }
    let env = Env::new();
    let url = env.db.to_str().unwrap().to_string();
    let Some(pw) = password_of(&url) else {
        eprintln!("{SUITE}: the test server's URL has no password; nothing to test");
        return;
    };
    let bare_url = url.replacen(&format!(":{pw}@"), "@", 1);
    let pw_file = env.path().join("pg.pass");
    std::fs::write(&pw_file, format!("{pw}\n")).unwrap();
    chmod(&pw_file, 0o600);
    let cfg = env.path().join("pw.toml");
    std::fs::write(
        &cfg,
        format!(
            "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n[store]\ndb = {bare_url:?}\npassword_file = {:?}\n",
            pw_file.display().to_string()
        ),
    )
    .unwrap();
    let mut c = assert_cmd::Command::new(BIN);
    scrub(&mut c);
    c.env("HOME", env.path()).arg("--config").arg(&cfg);
    let (code, out, err) = run(c.args(["enroll-device", "gil", "--kind", "token", "-q"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(env.sql_i64("SELECT count(*) FROM users"), 1);
}

// -------------------------------------------------------- planted files

#[test]
fn a_store_someone_else_planted_is_refused() {
    if sqlite_only("store files") || needs_root("chown to another account") {
        return;
    }
    let env = Env::new();
    let dir = env.db.parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    // Planted by nobody: refused, and never initialised.
    std::fs::write(&env.db, "").unwrap();
    chmod(&env.db, 0o600);
    chown(&env.db, NOBODY, None);
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("owned by nobody"), "{err}");
    assert_eq!(std::fs::metadata(&env.db).unwrap().len(), 0);
    // Anyone may write it (0666), even though it is ours.
    chown(&env.db, uid(), None);
    chmod(&env.db, 0o666);
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("others can write it"), "{err}");
    // A symbolic link to a store: refused (not followed).
    std::fs::remove_file(&env.db).unwrap();
    let real = env.path().join("real.db");
    std::os::unix::fs::symlink(&real, &env.db).unwrap();
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!real.exists(), "nothing was created through the link");
    // A -wal planted beside a good store.
    std::fs::remove_file(&env.db).unwrap();
    env.ok(&["enroll-device", "hal", "--kind", "token"]);
    let mut wal = env.db.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    chown(&wal, NOBODY, None);
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("-wal") && err.contains("owned by nobody"),
        "{err}"
    );
    chown(&wal, uid(), None);
    env.ok(&["list"]);
}

#[test]
fn an_outbox_someone_else_planted_is_refused() {
    if needs_root("chown to another account") {
        return;
    }
    let env = Env::new();
    env.enroll_mobile("ida", "5072220190");
    std::fs::write(&env.outbox, "").unwrap();
    chmod(&env.outbox, 0o600);
    chown(&env.outbox, NOBODY, None);
    let (code, out, err) = env.run(&["issue-codes", "ida"]);
    assert_eq!(code, 6, "{out}{err}");
    assert!(err.contains("owned by nobody"), "{err}");
    assert_eq!(std::fs::read(&env.outbox).unwrap(), b"", "nothing appended");
}

#[test]
fn a_config_someone_else_planted_is_refused() {
    if needs_root("chown to another account") {
        return;
    }
    let env = Env::new();
    chown(&env.config, NOBODY, None);
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not trusted") && err.contains("owned by nobody"),
        "{err}"
    );
    chown(&env.config, uid(), None);
    chmod(&env.config, 0o646);
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("others can write it"), "{err}");
    chmod(&env.config, 0o644);
    let text = std::fs::read(&env.config).unwrap();
    let real = env.path().join("real.toml");
    std::fs::write(&real, text).unwrap();
    std::fs::remove_file(&env.config).unwrap();
    std::os::unix::fs::symlink(&real, &env.config).unwrap();
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
}

/// The shared-group mode: group write is accepted for the group the
/// configuration names, and only that one. It trusts every member of the
/// group (docs/configuration.md).
#[test]
fn group_write_is_accepted_only_for_the_configured_group() {
    if sqlite_only("store files") || needs_root("chgrp to another group") {
        return;
    }
    let group = "users";
    let Some(gid) = codedesk::principal::group_id(group) else {
        panic!("Debian has a group {group}");
    };
    let env = Env::new();
    env.ok(&["enroll-device", "jon", "--kind", "token"]);
    let dir = env.db.parent().unwrap().to_path_buf();
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        chown(&p, uid(), Some(gid));
        chmod(&p, 0o660);
    }
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("its group can write it"), "{err}");
    // Another group named: still refused.
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(&env.config, format!("{text}\n[store]\ngroup = \"root\"\n")).unwrap();
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("not root (store.group)"), "{err}");
    // The group named: accepted, and a member other than the owner may
    // own files of it (every member is trusted).
    text.push_str(&format!("\n[store]\ngroup = \"{group}\"\n"));
    std::fs::write(&env.config, &text).unwrap();
    env.ok(&["list"]);
    let mut shm = env.db.as_os_str().to_owned();
    shm.push("-shm");
    chown(Path::new(&shm), NOBODY, Some(gid));
    env.ok(&["list"]);
    // The config itself may be group-writable for that group too.
    std::os::unix::fs::chown(&env.config, None, Some(gid)).unwrap();
    chmod(&env.config, 0o664);
    env.ok(&["list"]);
    // An unknown group is a usage error naming the key.
    std::fs::write(
        &env.config,
        text.replace(
            &format!("group = \"{group}\""),
            "group = \"no-such-group-cdsk\"",
        ),
    )
    .unwrap();
    chmod(&env.config, 0o644);
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("store.group"), "{err}");
}

// --------------------------------------------------------------- real sudo

/// A throwaway account allowed by a sudoers drop-in to run this build of
/// codedesk as root (with SETENV, so that the test can try to pass
/// variables through: codedesk must refuse them itself); both removed when
/// dropped.
struct SudoAccount {
    name: String,
    sudoers: PathBuf,
}

impl SudoAccount {
    /// None (after a loud skip) without root or sudo; a failure under CI.
    fn create() -> Option<SudoAccount> {
        let missing = if uid() != 0 {
            Some("not root (useradd, /etc/sudoers.d)".to_string())
        } else if !Path::new("/usr/bin/sudo").exists() || !Path::new("/usr/sbin/visudo").exists() {
            Some("sudo is not installed".to_string())
        } else {
            None
        };
        if let Some(why) = missing {
            assert!(
                std::env::var_os("CI").is_none(),
                "the sudo tests under CI: {why}"
            );
            eprintln!("{SUITE}: SKIPPED the real-sudo test: {why}");
            return None;
        }
        let name = format!("cdsk{}t{}", std::process::id(), rand_suffix());
        let st = StdCommand::new("/usr/sbin/useradd")
            .args(["-M", "-N", "-s", "/bin/sh", &name])
            .status()
            .unwrap();
        assert!(st.success(), "useradd {name}");
        let sudoers = PathBuf::from(format!("/etc/sudoers.d/codedesk-test-{name}"));
        let acct = SudoAccount { name, sudoers };
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            tmp.path(),
            format!("{} ALL=(root) NOPASSWD:SETENV: {}\n", acct.name, BIN),
        )
        .unwrap();
        let ok = StdCommand::new("/usr/sbin/visudo")
            .arg("-cf")
            .arg(tmp.path())
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "visudo -cf: {}",
            String::from_utf8_lossy(&ok.stdout)
        );
        std::fs::copy(tmp.path(), &acct.sudoers).unwrap();
        chmod(&acct.sudoers, 0o440);
        Some(acct)
    }

    /// `runuser -u ACCOUNT -- sudo -n [VAR=VALUE...] codedesk ARGS`.
    fn sudo(&self, vars: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
        let mut c = StdCommand::new("/usr/sbin/runuser");
        c.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .current_dir("/")
            .args(["-u", &self.name, "--", "sudo", "-n"]);
        for (k, v) in vars {
            c.arg(format!("{k}={v}"));
        }
        c.arg(BIN).args(args);
        let o = c.output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }
}

impl Drop for SudoAccount {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.sudoers);
        let _ = StdCommand::new("/usr/sbin/userdel")
            .arg(&self.name)
            .status();
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        % 100_000
}

#[test]
fn sudo_refuses_the_callers_store_and_config_and_records_the_invoker() {
    if sqlite_only("the real sudo, on the system file's SQLite store") {
        return;
    }
    let Some(acct) = SudoAccount::create() else {
        return;
    };
    let sys = SystemConfig::new("");
    let sys_path = sys.path.to_str().unwrap().to_string();
    let test_var = (codedesk::context::TEST_SYSTEM_CONFIG_VAR, sys_path.as_str());
    let mine = sys.dir.path().join("mine.db");
    let mine_s = mine.to_str().unwrap();
    // The caller's store and config: exit 2, naming why.
    for (vars, args, what) in [
        (vec![test_var], vec!["--db", mine_s, "list"], "--db"),
        (vec![test_var], vec!["--config", mine_s, "list"], "--config"),
        (
            vec![test_var, ("CODEDESK_DB", mine_s)],
            vec!["list"],
            "CODEDESK_DB",
        ),
        (
            vec![test_var, ("PGPASSWORD", "x")],
            vec!["list"],
            "PGPASSWORD",
        ),
    ] {
        let (code, out, err) = acct.sudo(&vars, &args);
        assert_eq!(code, 2, "{what}: {out}{err}");
        assert!(err.contains(what) && err.contains("refused"), "{err}");
        assert!(
            err.contains(&format!("under sudo for {}", acct.name)),
            "{err}"
        );
    }
    assert!(!mine.exists());
    // Without them: the system file's store, and the principal recorded
    // is the invoking account, not root.
    let (code, out, err) = acct.sudo(&[test_var], &["enroll-device", "kim", "--kind", "token"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(sys.store.exists(), "the system file's store");
    let (code, out, err) = acct.sudo(&[test_var], &["audit", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let e: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(e["principal"], acct.name.as_str());
    assert_eq!(e["operator"], acct.name.as_str());
    let (code, out, err) = acct.sudo(&[test_var], &["config", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let j: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(j["config"]["value"], sys_path.as_str());
    assert!(
        j["config"]["source"]
            .as_str()
            .unwrap()
            .starts_with("system file only"),
        "{j}"
    );
    // The store is root's: the account cannot reach it without sudo.
    let meta = std::fs::metadata(&sys.store).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.mode() & 0o077), (0, 0));
    drop(sys);
    drop(acct);
}

// ------------------------------------------------------ the documented files

/// docs/examples/system-config.toml is a valid system file, and
/// docs/examples/sudoers passes `visudo -cf`.
#[test]
fn the_documented_system_file_and_sudoers_rule_are_valid() {
    if sqlite_only("file contents") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples");
    let sys = SystemConfig::new("");
    std::fs::copy(root.join("system-config.toml"), &sys.path).unwrap();
    chmod(&sys.path, 0o644);
    let j = config_json(&mut sys.cmd());
    assert_eq!(j["config"]["source"], "system file", "{j}");
    assert_eq!(j["db"]["value"], codedesk::context::SYSTEM_STORE);
    // The package's placeholder (docs/deployment.md): fails until set.
    assert_eq!(
        j["sms.command"]["value"],
        "/usr/local/sbin/codedesk-sms-gateway-NOT-CONFIGURED"
    );
    let visudo = Path::new("/usr/sbin/visudo");
    if !visudo.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "visudo is missing under CI"
        );
        eprintln!("{SUITE}: SKIPPED visudo -cf docs/examples/sudoers: no visudo");
        return;
    }
    let o = StdCommand::new(visudo)
        .arg("-cf")
        .arg(root.join("sudoers"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
