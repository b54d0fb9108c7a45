// The configuration file (every documented key; `--config`, `CODEDESK_CONFIG`
// and the XDG default; errors that name the key and the file; `codedesk
// config` and its sources) and `notify.command` (run on issuance, code use,
// lockout and unlock with the event and the user; never given a code; a
// failing notifier is audited and reported, and the change stands).
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use assert_cmd::Command;
use common::{BIN, Env, scrub, spellings};
use serde_json::Value;
use std::path::{Path, PathBuf};

const FAST_HASH: &str = "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n";
const ATTEST: [&str; 4] = ["--identity-verified", "in-person", "--ticket", "INC-9"];

/// Writes an executable script without this (multi-threaded) test process
/// ever holding it open for writing, which would make its exec fail with
/// "text file busy" if another test forked at that moment.
fn script(path: &Path, body: &str) {
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg("cat > \"$0\" && chmod 755 \"$0\"")
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(body.as_bytes())?;
            c.wait()
        })
        .expect("write script");
    assert!(st.success());
}

/// `codedesk config --format json` as a map of key -> (value, source).
fn effective(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("config JSON: {e}: {out}"))
}

/// A bare command: scrubbed environment, HOME in `home`, no --config.
fn bare(home: &Path) -> Command {
    let mut c = Command::new(BIN);
    scrub(&mut c);
    c.env("HOME", home);
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let o = c.output().expect("run codedesk");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn every_spec_key_is_accepted_reported_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let notify = dir.path().join("notify.sh");
    script(&notify, "#!/bin/sh\nexit 0\n");
    let text = format!(
        "[codes]\ncount = 12\nalphabet = \"digits\"\nlength = 10\nuses = 2\nexpires = \"30d\"\n\n\
         [helpdesk]\ndefault_expires = \"1d\"\nmax_expires = \"7d\"\nmax_uses = 3\n\n\
         [lockout]\nthreshold = 5\nauto_unlock = \"15m\"\n\n\
         [hash]\nmemory_kib = 64\niterations = 1\nparallelism = 1\nallow_weak = true\n\n\
         [sms]\noutbox = \"outbox.txt\"\ntimeout = \"10s\"\n\n\
         [notify]\ncommand = {:?}\n",
        notify.display().to_string()
    );
    let env = Env::with_raw_config(&text);
    let cfg = env.config.display().to_string();
    let got = effective(&env.ok(&["config", "--format", "json"]));
    let want = [
        ("codes.count", "12"),
        ("codes.alphabet", "digits"),
        ("codes.length", "10"),
        ("codes.uses", "2"),
        ("codes.expires", "30days"),
        ("helpdesk.default_expires", "1day"),
        ("helpdesk.max_expires", "7days"),
        ("helpdesk.max_uses", "3"),
        ("lockout.threshold", "5"),
        ("lockout.auto_unlock", "15m"),
        ("hash.memory_kib", "64"),
        ("hash.iterations", "1"),
        ("hash.parallelism", "1"),
        ("hash.allow_weak", "true"),
        ("sms.timeout", "10s"),
    ];
    for (key, value) in want {
        assert_eq!(got[key]["value"], value, "{key}: {}", got[key]);
        assert_eq!(
            got[key]["source"],
            format!("file {cfg}"),
            "{key} comes from the file"
        );
    }
    assert!(
        got["sms.outbox"]["value"]
            .as_str()
            .unwrap()
            .ends_with("outbox.txt")
    );
    assert_eq!(got["notify.command"]["value"], notify.display().to_string());
    assert_eq!(got["sms.command"]["source"], "default");

    // The values take effect: a helpdesk set of 12 ten-digit codes, each
    // usable twice, expiring after helpdesk.default_expires.
    env.ok(&["enroll-device", "dana", "--kind", "token"]);
    let mut args = vec!["issue-codes", "dana", "--format", "json"];
    args.extend(ATTEST);
    let j: Value = serde_json::from_str(env.ok(&args).trim()).unwrap();
    let codes = j["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 12);
    let first = codes[0].as_str().unwrap();
    let digits: String = first.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 10, "{first}");
    assert!(
        first
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    );
    assert_eq!(j["uses"], 2);
    assert!(j["expires_at"].is_string(), "{j}");
    assert_eq!(env.verify("dana", first), 0);
    assert_eq!(env.verify("dana", first), 0, "codes.uses = 2");
    assert_eq!(env.verify("dana", first), 1);
    // helpdesk.max_uses = 3 is a limit the helpdesk path may not exceed.
    let mut args = vec!["issue-codes", "dana", "--uses", "4"];
    args.extend(ATTEST);
    let (code, _, err) = env.run(&args);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("helpdesk.max_uses"), "{err}");
}

#[test]
fn sms_command_is_a_key_too() {
    let dir = tempfile::tempdir().unwrap();
    let sms = dir.path().join("sms.sh");
    let sent = dir.path().join("sent.txt");
    script(
        &sms,
        &format!("#!/bin/sh\n{{ echo \"to $1\"; cat; }} >> {:?}\n", sent),
    );
    let env = Env::with_raw_config(&format!(
        "{FAST_HASH}\n[sms]\ncommand = {:?}\ntimeout = \"5s\"\n",
        sms.display().to_string()
    ));
    let got = effective(&env.ok(&["config", "--format", "json"]));
    assert_eq!(got["sms.command"]["value"], sms.display().to_string());
    env.enroll_mobile("alice", "507 222 5999");
    env.ok(&["issue-codes", "alice"]);
    let text = std::fs::read_to_string(&sent).expect("the SMS command ran");
    assert!(text.starts_with("to +15072225999\n"), "{text}");
    let code = text.lines().find(|l| common::looks_like_code(l)).unwrap();
    assert_eq!(env.verify("alice", code), 0);
}

/// A home folder with an XDG config dir holding `codes.count = n`.
fn xdg_home(n: u32) -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().join("xdg");
    std::fs::create_dir_all(xdg.join("codedesk")).unwrap();
    std::fs::write(
        xdg.join("codedesk/config.toml"),
        format!("{FAST_HASH}[codes]\ncount = {n}\n"),
    )
    .unwrap();
    (home, xdg)
}

#[test]
fn config_comes_from_the_flag_the_environment_or_the_xdg_default() {
    let (home, xdg) = xdg_home(3);
    let xdg_file = xdg.join("codedesk/config.toml");
    let env_file = home.path().join("env.toml");
    std::fs::write(&env_file, format!("{FAST_HASH}[codes]\ncount = 4\n")).unwrap();
    let flag_file = home.path().join("flag.toml");
    std::fs::write(&flag_file, format!("{FAST_HASH}[codes]\ncount = 5\n")).unwrap();
    let db = home.path().join("data/codedesk.db");
    let count = |c: &mut Command| -> (String, String, String) {
        let (code, out, err) = run(c.args(["config", "--format", "json"]));
        assert_eq!(code, 0, "{err}");
        let j = effective(&out);
        (
            j["codes.count"]["value"].as_str().unwrap().to_string(),
            j["config"]["value"].as_str().unwrap().to_string(),
            j["codes.count"]["source"].as_str().unwrap().to_string(),
        )
    };

    // XDG_CONFIG_HOME/codedesk/config.toml
    let (n, path, source) = count(
        bare(home.path())
            .env("XDG_CONFIG_HOME", &xdg)
            .arg("--db")
            .arg(&db),
    );
    assert_eq!(
        (n.as_str(), path.as_str()),
        ("3", xdg_file.to_str().unwrap())
    );
    assert_eq!(source, format!("file {}", xdg_file.display()));
    // CODEDESK_CONFIG beats the default.
    let (n, path, _) = count(
        bare(home.path())
            .env("XDG_CONFIG_HOME", &xdg)
            .env("CODEDESK_CONFIG", &env_file)
            .arg("--db")
            .arg(&db),
    );
    assert_eq!(
        (n.as_str(), path.as_str()),
        ("4", env_file.to_str().unwrap())
    );
    // --config beats both.
    let (n, path, _) = count(
        bare(home.path())
            .env("XDG_CONFIG_HOME", &xdg)
            .env("CODEDESK_CONFIG", &env_file)
            .arg("--config")
            .arg(&flag_file)
            .arg("--db")
            .arg(&db),
    );
    assert_eq!(
        (n.as_str(), path.as_str()),
        ("5", flag_file.to_str().unwrap())
    );
    // Without XDG_CONFIG_HOME: ~/.config/codedesk/config.toml.
    let dot = home.path().join(".config/codedesk");
    std::fs::create_dir_all(&dot).unwrap();
    std::fs::write(
        dot.join("config.toml"),
        format!("{FAST_HASH}[codes]\ncount = 6\n"),
    )
    .unwrap();
    let (n, _, _) = count(bare(home.path()).arg("--db").arg(&db));
    assert_eq!(n, "6");
    // The values are used, not just shown: a helpdesk set of 6.
    let (code, _, err) = run(bare(home.path()).arg("--db").arg(&db).args([
        "enroll-device",
        "bo",
        "--kind",
        "token",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(bare(home.path())
        .arg("--db")
        .arg(&db)
        .args(["issue-codes", "bo", "-q"])
        .args(ATTEST));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 6);
}

#[test]
fn a_missing_default_file_means_defaults_but_a_named_one_is_an_error() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("x.db");
    let (code, out, err) = run(bare(home.path())
        .arg("--db")
        .arg(&db)
        .args(["config", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let j = effective(&out);
    assert_eq!(j["codes.count"]["value"], "10");
    assert_eq!(j["codes.count"]["source"], "default");
    assert_eq!(j["hash.memory_kib"]["value"], "19456", "the OWASP floor");
    for how in ["flag", "env"] {
        let missing = home.path().join("nope.toml");
        let mut c = bare(home.path());
        c.arg("--db").arg(&db);
        match how {
            "flag" => c.arg("--config").arg(&missing),
            _ => c.env("CODEDESK_CONFIG", &missing),
        };
        let (code, _, err) = run(c.arg("list"));
        assert_eq!(code, 2, "{how}: {err}");
        assert!(err.contains("nope.toml"), "{err}");
    }
}

#[test]
fn unknown_keys_and_bad_values_name_the_key_and_the_file() {
    let cases = [
        ("[codes]\ncolour = \"red\"\n", "colour"),
        ("[bogus]\nx = 1\n", "bogus"),
        ("verbose = true\n", "verbose"),
        ("[codes]\ncount = 0\n", "codes.count"),
        ("[codes]\ncount = \"ten\"\n", "codes.count"),
        ("[codes]\ncount = 1000\n", "codes.count"),
        ("[codes]\nalphabet = \"emoji\"\n", "codes.alphabet"),
        ("[codes]\nlength = 2\n", "codes.length"),
        ("[codes]\nuses = 0\n", "codes.uses"),
        ("[codes]\nexpires = \"soon\"\n", "codes.expires"),
        (
            "[helpdesk]\ndefault_expires = \"-1d\"\n",
            "helpdesk.default_expires",
        ),
        (
            "[helpdesk]\nmax_expires = \"never-ish\"\n",
            "helpdesk.max_expires",
        ),
        ("[helpdesk]\nmax_uses = 0\n", "helpdesk.max_uses"),
        ("[lockout]\nthreshold = 0\n", "lockout.threshold"),
        (
            "[lockout]\nauto_unlock = \"later\"\n",
            "lockout.auto_unlock",
        ),
        ("[hash]\nmemory_kib = 1024\n", "hash"),
        (
            "[hash]\niterations = 0\nallow_weak = true\n",
            "hash.iterations",
        ),
        ("[hash]\nparallelism = 0\n", "hash.parallelism"),
        ("[hash]\nallow_weak = \"yes\"\n", "hash.allow_weak"),
        ("[sms]\ntimeout = \"x\"\n", "sms.timeout"),
        ("[sms]\ncommand = \"\"\n", "sms.command"),
        (
            "[sms]\ncommand = \"/bin/true\"\noutbox = \"o.txt\"\n",
            "sms",
        ),
        ("[notify]\ncommand = \"\"\n", "notify.command"),
        ("[notify]\nprogram = \"/bin/true\"\n", "program"),
        ("[codes\n", "codes"),
    ];
    for (text, key) in cases {
        let env = Env::with_raw_config(text);
        let cfg = env.config.display().to_string();
        for cmd in [&["config"][..], &["list"][..]] {
            let (code, out, err) = env.run(cmd);
            assert_eq!(code, 2, "{text:?} must be refused (exit 2): {err}");
            assert!(out.is_empty(), "{out}");
            assert_eq!(err.lines().count(), 1, "one line: {err}");
            assert!(err.contains(key), "{text:?}: the error names {key}: {err}");
            assert!(
                err.contains(&cfg),
                "{text:?}: the error names the file: {err}"
            );
        }
        assert!(
            !env.store_exists(),
            "{text:?}: no store created for a bad config"
        );
    }
}

#[test]
fn config_shows_where_every_value_came_from() {
    let env = Env::with_config("[lockout]\nthreshold = 4\n");
    let cfg = env.config.display().to_string();
    let out = env.ok(&["config"]);
    let row = |key: &str| -> String {
        out.lines()
            .find(|l| l.split('|').nth(1).is_some_and(|c| c.trim() == key))
            .unwrap_or_else(|| panic!("no row for {key}: {out}"))
            .to_string()
    };
    assert!(row("lockout.threshold").contains(&format!("file {cfg}")));
    assert!(row("lockout.threshold").contains(" 4 "));
    assert!(row("codes.count").contains("default"));
    assert!(row("db").contains("flag"), "{}", row("db"));
    assert!(row("config").contains("flag"), "{}", row("config"));
    assert!(row("operator").contains("tester"));

    // Defaults for the store and operator come from the environment.
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let (code, out, err) = run(bare(home.path())
        .env("XDG_DATA_HOME", &data)
        .env("USER", "helpdesk-jo")
        .args(["config", "--format", "csv"]));
    assert_eq!(code, 0, "{err}");
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let get = |k: &str| rows.iter().find(|r| &r[0] == k).unwrap().clone();
    assert_eq!(
        &get("db")[1],
        data.join("codedesk/codedesk.db").to_str().unwrap()
    );
    assert_eq!(&get("db")[2], "default");
    assert_eq!(
        (&get("operator")[1], &get("operator")[2]),
        ("helpdesk-jo", "environment (USER)")
    );
    // Under sudo (SUDO_USER naming another account than the one running)
    // the caller's XDG_DATA_HOME does not choose the store: the system
    // store does, unless the system configuration names one; the operator
    // shown is the invoking account (docs/configuration.md).
    let (code, out, err) = run(bare(home.path())
        .env("XDG_DATA_HOME", &data)
        .env("SUDO_USER", "helpdesk-jo")
        .env(
            codedesk::context::TEST_SYSTEM_CONFIG_VAR,
            home.path().join("no-system.toml"),
        )
        .args(["config", "--format", "csv"]));
    assert_eq!(code, 0, "{err}");
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let get = |k: &str| rows.iter().find(|r| &r[0] == k).unwrap().clone();
    if codedesk::principal::account_name(unsafe_uid()).as_deref() != Some("helpdesk-jo") {
        assert_eq!(&get("db")[1], codedesk::context::SYSTEM_STORE);
        assert!(get("config")[2].starts_with("system file only"), "{out}");
        assert_eq!(&get("operator")[1], "helpdesk-jo");
    }
    assert_eq!(&get("codes.count")[2], "default");

    // The environment and the flag are told apart.
    let store = home.path().join("env.db");
    let (code, out, err) = run(bare(home.path())
        .env("CODEDESK_DB", &store)
        .env("CODEDESK_OPERATOR", "desk-7")
        .args(["config", "--format", "csv", "--operator", "desk-8"]));
    assert_eq!(code, 0, "{err}");
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let get = |k: &str| rows.iter().find(|r| &r[0] == k).unwrap().clone();
    assert_eq!(&get("db")[2], "environment (CODEDESK_DB)");
    assert_eq!(
        (&get("operator")[1], &get("operator")[2]),
        ("desk-8", "flag (--operator)")
    );
}

/// An Env whose notify.command logs "$1 $2" to `notes.txt`, and everything
/// else it was given (arguments, standard input, environment) to `all.txt`.
fn notified_env(extra: &str) -> Env {
    let env = Env::with_config(extra);
    let notes = env.path().join("notes.txt");
    let all = env.path().join("all.txt");
    let sh = env.path().join("notify.sh");
    script(
        &sh,
        &format!(
            "#!/bin/sh\nprintf '%s %s\\n' \"$1\" \"$2\" >> {notes:?}\n\
             {{ echo \"argc=$# args=$*\"; cat; env; }} >> {all:?}\n"
        ),
    );
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        format!(
            "{text}\n[notify]\ncommand = {:?}\n",
            sh.display().to_string()
        ),
    )
    .unwrap();
    env
}

fn notes(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path().join("notes.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn notify_runs_on_issuance_use_lockout_and_unlock_and_never_sees_a_code() {
    let env = notified_env("[lockout]\nthreshold = 2\n");
    env.enroll_mobile("alice", "507 222 5999");
    env.enroll_landline("bob", "507 222 0000");
    assert!(notes(&env).is_empty(), "enrolment is not a notified event");

    env.ok(&["issue-codes", "alice"]);
    let sms = env.last_sms_codes();
    let helpdesk = env.issue_helpdesk("bob", &[]);
    assert_eq!(notes(&env), ["codes-issued alice", "codes-issued bob"]);

    assert_eq!(env.verify("alice", &sms[0]), 0);
    assert_eq!(notes(&env).last().unwrap(), "code-used alice");

    // Two rejections lock bob; the second one notifies.
    assert_eq!(env.verify("bob", "0000-0000-0000-0000"), 1);
    assert_eq!(notes(&env).len(), 3, "a single rejection is not notified");
    assert_eq!(env.verify("bob", "0000-0000-0000-0000"), 1);
    assert_eq!(notes(&env).last().unwrap(), "lockout bob");
    assert_eq!(env.verify("bob", &helpdesk[0]), 5, "locked");

    env.ok(&["unlock", "bob"]);
    assert_eq!(notes(&env).last().unwrap(), "unlock bob");
    assert_eq!(env.verify("bob", &helpdesk[0]), 0);

    // A batch run notifies each user.
    let (code, _, err) = env.run_stdin(&["issue-codes", "--batch", "-"], "user\nalice\n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(notes(&env).last().unwrap(), "codes-issued alice");

    let all = std::fs::read_to_string(env.path().join("all.txt")).unwrap();
    assert!(
        all.lines()
            .filter(|l| l.starts_with("argc="))
            .all(|l| l.starts_with("argc=2 "))
    );
    let mut every_code: Vec<String> = sms.clone();
    every_code.extend(helpdesk.iter().cloned());
    every_code.extend(env.outbox_codes());
    for code in &every_code {
        for s in spellings(code) {
            assert!(!all.contains(&s), "the notifier saw {s} (of {code})");
        }
    }
}

#[test]
fn a_failing_notifier_is_audited_and_reported_but_the_change_stands() {
    let env = Env::with_config("[lockout]\nthreshold = 1\n");
    let sh = env.path().join("fail.sh");
    script(&sh, "#!/bin/sh\nexit 1\n");
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        format!(
            "{text}\n[notify]\ncommand = {:?}\n",
            sh.display().to_string()
        ),
    )
    .unwrap();
    env.enroll_mobile("alice", "507 222 5999");

    let (code, _, err) = env.run(&["issue-codes", "alice"]);
    assert_eq!(code, 0, "the codes were issued: {err}");
    assert!(
        err.contains("notify") && err.contains("fail.sh"),
        "reported: {err}"
    );
    let codes = env.last_sms_codes();
    assert_eq!(codes.len(), 10);

    let (code, _, err) = env.run_stdin(&["verify", "alice"], &codes[0]);
    assert_eq!(code, 0, "the code was accepted: {err}");
    assert!(err.contains("notify"), "reported: {err}");
    assert_eq!(env.verify("alice", &codes[0]), 1, "and spent");
    assert_eq!(env.verify("alice", &codes[1]), 5, "locked by threshold 1");
    let (code, _, err) = env.run(&["unlock", "alice"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.verify("alice", &codes[1]), 0, "unlocked");

    let events: Vec<Value> = env
        .ok(&["audit", "--user", "alice", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let failed: Vec<&str> = events
        .iter()
        .filter(|e| e["action"] == "notify-failed")
        .filter_map(|e| e["details"]["event"].as_str())
        .collect();
    for ev in ["codes-issued", "code-used", "lockout", "unlock"] {
        assert!(failed.contains(&ev), "notify-failed for {ev}: {failed:?}");
    }
    env.ok(&["audit", "verify"]);
}

#[test]
fn a_hanging_notifier_is_cut_off_by_the_timeout() {
    let env = Env::with_raw_config(&format!(
        "{FAST_HASH}\n[sms]\noutbox = \"outbox.txt\"\ntimeout = \"1s\"\n"
    ));
    let sh = env.path().join("hang.sh");
    script(&sh, "#!/bin/sh\nexec sleep 30\n");
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        format!(
            "{text}\n[notify]\ncommand = {:?}\n",
            sh.display().to_string()
        ),
    )
    .unwrap();
    env.ok(&["enroll-device", "tok", "--kind", "token"]);
    let start = std::time::Instant::now();
    let mut args = vec!["issue-codes", "tok", "-q"];
    args.extend(ATTEST);
    let (code, out, err) = env.run(&args);
    assert!(
        start.elapsed().as_secs() < 15,
        "not held up by the notifier"
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("timed out"), "{err}");
    let first = out.lines().next().unwrap();
    assert_eq!(env.verify("tok", first), 0);
}

/// The real user id of the test process.
fn unsafe_uid() -> u32 {
    // SAFETY: getuid cannot fail and has no preconditions.
    unsafe { libc::getuid() }
}

// `codedesk config` lists the directory's keys like the others, each with
// the value in effect and where it came from: the file holding the bind
// password, never the password.
#[test]
fn config_lists_the_directory_keys_but_never_the_bind_password() {
    let env = Env::new();
    let got = effective(&env.ok(&["config", "--format", "json"]));
    for (key, value) in [
        ("directory.url", "(none)"),
        ("directory.password_file", "(none)"),
        ("directory.preset", "openldap"),
        ("directory.user_filter", "(objectClass=inetOrgPerson)"),
        ("directory.min_fraction", "0.9"),
        ("directory.timeout", "10s"),
        ("directory.attributes.uid", "uid"),
        ("directory.attributes.member_of", "(none)"),
    ] {
        assert_eq!(got[key]["value"], value, "{key}: {}", got[key]);
        assert_eq!(got[key]["source"], "default", "{key}: {}", got[key]);
    }

    let secret = "Bind-Pw-9f3a7c";
    let env = Env::with_config(
        "[directory]\nurl = \"ldaps://ldap.example.org:636\"\nca_file = \"ca.pem\"\n\
         bind_dn = \"cn=codedesk,dc=example,dc=org\"\npassword_file = \"bind.pw\"\n\
         base_dn = \"dc=example,dc=org\"\npreset = \"active-directory\"\n\
         privileged_groups = [\"CN=Admins, OU=Groups,DC=example,DC=org\", \"cn=ops,dc=example,dc=org\"]\n\
         min_fraction = 0.5\ntimeout = \"3s\"\n\n[directory.attributes]\nmobile = \"otherMobile\"\n",
    );
    let pw = env.path().join("bind.pw");
    std::fs::write(&pw, format!("{secret}\n")).unwrap();
    let cfg = env.config.display().to_string();
    let file = format!("file {cfg}");
    let got = effective(&env.ok(&["config", "--format", "json"]));
    let at = |name: &str| env.path().join(name).display().to_string();
    for (key, value, source) in [
        (
            "directory.url",
            "ldaps://ldap.example.org:636",
            file.as_str(),
        ),
        ("directory.tls", "ldaps", "default"),
        ("directory.ca_file", &at("ca.pem"), &file),
        ("directory.bind_dn", "cn=codedesk,dc=example,dc=org", &file),
        ("directory.password_file", &at("bind.pw"), &file),
        ("directory.base_dn", "dc=example,dc=org", &file),
        ("directory.preset", "active-directory", &file),
        (
            "directory.privileged_groups",
            "cn=admins,ou=groups,dc=example,dc=org; cn=ops,dc=example,dc=org",
            &file,
        ),
        ("directory.group_member_attribute", "member", "default"),
        ("directory.min_fraction", "0.5", &file),
        ("directory.timeout", "3s", &file),
        ("directory.attributes.uid", "sAMAccountName", "default"),
        ("directory.attributes.mobile", "otherMobile", &file),
        ("directory.attributes.member_of", "memberOf", "default"),
    ] {
        assert_eq!(got[key]["value"], value, "{key}: {}", got[key]);
        assert_eq!(got[key]["source"], source, "{key}: {}", got[key]);
    }
    let filter = got["directory.user_filter"]["value"].as_str().unwrap();
    assert!(filter.starts_with("(&(objectCategory=person)"), "{filter}");
    for format in ["table", "json", "csv"] {
        let (code, out, err) = env.run(&["config", "--format", format]);
        assert_eq!(code, 0, "{format}: {err}");
        assert!(out.contains("directory.bind_dn"), "{format}: {out}");
        assert!(out.contains(&at("bind.pw")), "{format}: {out}");
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{format} shows the bind password: {out}{err}"
        );
    }
}
