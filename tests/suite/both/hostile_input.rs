// Hostile input, table-driven: bad arguments to every command, bad standard
// input to `verify`, and bad configuration files. Every case checks the
// exit status of `src/exit.rs`, a one-line `codedesk:` message naming the
// problem (or clap's usage error, exit 2), no panic, and a store (plus
// SMS outbox) that is exactly what it was before: on SQLite the store file
// and its WAL byte for byte, on PostgreSQL a dump of the whole database
// (`Env::store_state`).
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;

use common::{BIN, Env, StoreState, scrub};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What a case must produce.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A `codedesk:` one-line error with this status naming `needle`.
    Fail(i32, &'static str),
    /// A usage error from the argument parser: one `codedesk:` line, exit 2,
    /// mentioning `needle`.
    Clap(&'static str),
    /// Success, with `needle` on standard output (the input was fine).
    Ok(&'static str),
}

struct Case {
    what: String,
    args: Vec<OsString>,
    stdin: Vec<u8>,
    /// The whole config file for this case (otherwise the strict one).
    config: Option<Vec<u8>>,
    expect: Expect,
}

fn case(what: &str, args: &[&str], expect: Expect) -> Case {
    Case {
        what: what.to_string(),
        args: args.iter().map(OsString::from).collect(),
        stdin: Vec::new(),
        config: None,
        expect,
    }
}

impl Case {
    fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Case {
        self.stdin = bytes.into();
        self
    }
    fn config(mut self, bytes: impl Into<Vec<u8>>) -> Case {
        self.config = Some(bytes.into());
        self
    }
    fn os_args(mut self, args: Vec<OsString>) -> Case {
        self.args = args;
        self
    }
}

/// Everything that must not change: the store (`Env::store_state`) and
/// the SMS outbox.
#[derive(PartialEq, Eq)]
struct Snapshot {
    store: StoreState,
    outbox: Option<Vec<u8>>,
}

fn snapshot(env: &Env) -> Snapshot {
    Snapshot {
        store: env.store_state(),
        outbox: std::fs::read(&env.outbox).ok(),
    }
}

fn describe_change(before: &Snapshot, after: &Snapshot) -> String {
    let mut why = Vec::new();
    if before.outbox != after.outbox {
        why.push(format!(
            "the outbox changed ({:?} -> {:?} bytes)",
            before.outbox.as_ref().map(Vec::len),
            after.outbox.as_ref().map(Vec::len)
        ));
    }
    let store = before.store.changes(&after.store);
    if !store.is_empty() {
        why.push(store);
    }
    why.join("; ")
}

/// A config with production hashing (so no weak-hash warning shares
/// stderr with the error) and the seeded store's SMS outbox.
fn strict_config(env: &Env) -> PathBuf {
    let p = env.path().join("strict.toml");
    std::fs::write(
        &p,
        format!("[sms]\noutbox = {:?}\n", env.outbox.display().to_string()),
    )
    .unwrap();
    p
}

fn run_case(env: &Env, config: &Path, c: &Case) -> (i32, String, String) {
    let mut cmd = assert_cmd::Command::new(BIN);
    scrub(&mut cmd);
    let out = cmd
        .env("HOME", env.path())
        .arg("--db")
        .arg(&env.db)
        .arg("--config")
        .arg(config)
        .arg("--operator")
        .arg("tester")
        .args(&c.args)
        .write_stdin(c.stdin.clone())
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .expect("run codedesk");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Checks one outcome against its expectation; returns what is wrong.
fn judge(expect: Expect, code: i32, out: &str, err: &str) -> Vec<String> {
    let mut bad = Vec::new();
    if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
        bad.push("panicked".to_string());
    }
    match expect {
        Expect::Fail(status, needle) => {
            if code != status {
                bad.push(format!("exit {code}, want {status}"));
            }
            let lines: Vec<&str> = err.lines().collect();
            if lines.len() != 1 {
                bad.push(format!("stderr has {} lines, want 1", lines.len()));
            }
            if !err.starts_with("codedesk: ") {
                bad.push("stderr does not start with `codedesk: `".into());
            }
            if !err.contains(needle) {
                bad.push(format!("stderr does not name {needle:?}"));
            }
            if err.len() > 400 {
                bad.push(format!("message is {} bytes long", err.len()));
            }
            if !out.is_empty() {
                bad.push("stdout is not empty".into());
            }
        }
        Expect::Clap(needle) => {
            if code != 2 {
                bad.push(format!("exit {code}, want 2"));
            }
            // The parser's errors are one line like ours (no usage block).
            if err.lines().count() != 1 || !err.starts_with("codedesk: ") {
                bad.push("not a one-line usage error".into());
            }
            if !err.contains(needle) {
                bad.push(format!("stderr does not name {needle:?}"));
            }
            if !out.is_empty() {
                bad.push("stdout is not empty".into());
            }
        }
        Expect::Ok(needle) => {
            if code != 0 {
                bad.push(format!("exit {code}, want 0"));
            }
            if !err.is_empty() {
                bad.push("stderr is not empty".into());
            }
            if !out.contains(needle) {
                bad.push(format!("stdout does not contain {needle:?}"));
            }
        }
    }
    bad
}

/// The seeded store's ids.
struct Seed {
    alice_mobile: String,
    alice_landline: String,
    lenny_landline: String,
    alice_set: String,
}

/// alice: mobile (primary) and landline, one SMS set of 10 codes.
/// lenny: landline only, one helpdesk set.
fn seed(env: &Env) -> Seed {
    let alice_mobile = env.enroll_mobile("alice", "(507) 222-5999").to_string();
    let alice_landline = env.enroll_landline("alice", "507 222 5000").to_string();
    let lenny_landline = env.enroll_landline("lenny", "+44 20 7946 0000").to_string();
    let alice_set = env.ok(&["issue-codes", "alice", "-q"]).trim().to_string();
    assert_eq!(env.last_sms_codes().len(), 10);
    assert_eq!(env.issue_helpdesk("lenny", &[]).len(), 10);
    Seed {
        alice_mobile,
        alice_landline,
        lenny_landline,
        alice_set,
    }
}

fn cases(s: &Seed, alice_code: &str) -> Vec<Case> {
    use Expect::*;
    let sql = "alice';DROP TABLE users;--";
    let long_name = "a".repeat(65);
    let huge_name = "b".repeat(10_000);
    let long_phone = "5".repeat(41);
    let long_reason = "r".repeat(201);
    let mut non_utf8_name = OsString::from("al");
    non_utf8_name.push(OsStr::from_bytes(b"\xff\xfeice"));
    vec![
        // ----------------------------------------------------- unknown things
        case("list unknown user", &["list", "nobody"], Fail(4, "nobody")),
        case(
            "issue for unknown user",
            &["issue-codes", "nobody"],
            Fail(4, "nobody"),
        ),
        case(
            "verify unknown user",
            &["verify", "nobody"],
            Fail(4, "nobody"),
        )
        .stdin(alice_code),
        case(
            "revoke unknown user",
            &["revoke", "nobody"],
            Fail(4, "nobody"),
        ),
        case(
            "unlock unknown user",
            &["unlock", "nobody"],
            Fail(4, "nobody"),
        ),
        case(
            "issue to unknown device",
            &["issue-codes", "alice", "--device", "999"],
            Fail(4, "999"),
        ),
        case(
            "issue to another user's device",
            &["issue-codes", "alice", "--device", &s.lenny_landline],
            Fail(4, "no device"),
        ),
        case(
            "revoke unknown device",
            &["revoke", "alice", "--device", "999"],
            Fail(4, "999"),
        ),
        case(
            "revoke unknown set",
            &["revoke", "alice", "--batch", "999"],
            Fail(4, "999"),
        ),
        case(
            "revoke another user's set",
            &["revoke", "lenny", "--batch", &s.alice_set],
            Fail(4, "no active set"),
        ),
        // ------------------------------------------------------------ phones
        case(
            "malformed phone",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "mobile",
                "--phone",
                "507-CALL-NOW",
            ],
            Fail(2, "phone number"),
        ),
        case(
            "short phone",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "mobile",
                "--phone",
                "12345",
            ],
            Fail(2, "phone number"),
        ),
        case(
            "overlong phone",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "mobile",
                "--phone",
                &long_phone,
            ],
            Fail(2, "too long"),
        ),
        case(
            "sixteen-digit phone",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "mobile",
                "--phone",
                "+1234567890123456",
            ],
            Fail(2, "phone number"),
        ),
        case(
            "all-zero NANP number",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "mobile",
                "--phone",
                "0000000000",
            ],
            Fail(2, "invalid phone number"),
        ),
        case(
            "NANP exchange starting with 1",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "mobile",
                "--phone",
                "+1 507 122 5999",
            ],
            Fail(2, "invalid phone number"),
        ),
        case(
            "unassigned country code",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "mobile",
                "--phone",
                "+999 1234567",
            ],
            Fail(2, "invalid phone number"),
        ),
        case(
            "mobile without phone",
            &["enroll-device", "bob", "--kind", "mobile"],
            Fail(2, "--phone"),
        ),
        case(
            "tablet with a phone",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "tablet",
                "--phone",
                "5072225999",
            ],
            Fail(2, "drop --phone"),
        ),
        // ------------------------------------------------------ kinds and SMS
        case(
            "bad kind",
            &["enroll-device", "bob", "--kind", "pager"],
            Clap("pager"),
        ),
        case(
            "--sms on a landline",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "landline",
                "--phone",
                "5072225998",
                "--sms",
            ],
            Fail(2, "cannot receive SMS"),
        ),
        case(
            "--sms on a token",
            &["enroll-device", "bob", "--kind", "token", "--sms"],
            Fail(2, "cannot receive SMS"),
        ),
        case(
            "--sms with --no-sms",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "mobile",
                "--phone",
                "5072225998",
                "--sms",
                "--no-sms",
            ],
            Clap("--no-sms"),
        ),
        case(
            "label with a newline",
            &[
                "enroll-device",
                "bob",
                "--kind",
                "token",
                "--label",
                "desk\nphone",
            ],
            Fail(2, "label"),
        ),
        case(
            "issue to a landline by --device",
            &["issue-codes", "alice", "--device", &s.alice_landline],
            Fail(2, "cannot receive SMS"),
        ),
        case(
            "--via sms with no SMS-capable device",
            &["issue-codes", "lenny", "--via", "sms"],
            Fail(2, "SMS-capable"),
        ),
        case(
            "--device with --via helpdesk",
            &[
                "issue-codes",
                "alice",
                "--device",
                &s.alice_mobile,
                "--via",
                "helpdesk",
            ],
            Fail(2, "--via helpdesk"),
        ),
        case(
            "bad --via",
            &["issue-codes", "alice", "--via", "pigeon"],
            Clap("pigeon"),
        ),
        // ------------------------------------------------------------ counts
        case(
            "--count 0",
            &["issue-codes", "alice", "--count", "0"],
            Fail(2, "--count 0"),
        ),
        case(
            "--count 1000000",
            &["issue-codes", "alice", "--count", "1000000"],
            Fail(2, "--count 1000000"),
        ),
        case(
            "--count beyond u32",
            &["issue-codes", "alice", "--count", "99999999999"],
            Clap("--count"),
        ),
        case(
            "--count -1",
            &["issue-codes", "alice", "--count", "-1"],
            Clap("-1"),
        ),
        case(
            "--uses 0",
            &["issue-codes", "alice", "--uses", "0"],
            Fail(2, "--uses"),
        ),
        case(
            "--uses 101",
            &["issue-codes", "alice", "--uses", "101"],
            Fail(2, "--uses"),
        ),
        case(
            "--preserve-existing beyond the cap of 100 (SMS path)",
            &[
                "issue-codes",
                "alice",
                "--preserve-existing",
                "--count",
                "100",
            ],
            Fail(2, "cap of 100"),
        ),
        case(
            "--preserve-existing beyond the cap of 100 (helpdesk path)",
            &[
                "issue-codes",
                "lenny",
                "--preserve-existing",
                "--count",
                "91",
                "--identity-verified",
                "video-call",
                "--ticket",
                "T-9",
            ],
            Fail(2, "cap of 100"),
        ),
        // --------------------------------------------------------- durations
        case(
            "--expires soon",
            &["issue-codes", "alice", "--expires", "soon"],
            Fail(2, "--expires"),
        ),
        case(
            "--expires=-1h",
            &["issue-codes", "alice", "--expires=-1h"],
            Fail(2, "--expires"),
        ),
        case(
            "--expires -1h",
            &["issue-codes", "alice", "--expires", "-1h"],
            Clap("-1"),
        ),
        case(
            "--expires 0s",
            &["issue-codes", "alice", "--expires", "0s"],
            Fail(2, "not a positive duration"),
        ),
        case(
            "--expires 100000d",
            &["issue-codes", "alice", "--expires", "100000d"],
            Fail(2, "ten years"),
        ),
        case(
            "audit --since yesterday",
            &["audit", "--since", "yesterday"],
            Fail(2, "--since"),
        ),
        // --------------------------------------------------- identity gate
        // A blank ticket or a ticket without a method is no attestation: exit 3,
        // recorded as a refusal (so the store changes on purpose); see
        // tests/suite/both/enroll_gate.rs a_partial_or_empty_attestation_is_refused_with_3_and_recorded.
        case(
            "bad identity method",
            &[
                "issue-codes",
                "lenny",
                "--identity-verified",
                "selfie",
                "--ticket",
                "T-1",
            ],
            Clap("selfie"),
        ),
        // ------------------------------------------------------------ verify
        case(
            "verify empty stdin",
            &["verify", "alice"],
            Fail(2, "no code"),
        ),
        case(
            "verify blank stdin",
            &["verify", "alice"],
            Fail(2, "no code"),
        )
        .stdin("\n  \n"),
        case(
            "verify 10 MB stdin",
            &["verify", "alice"],
            Fail(2, "longer than 1024 bytes"),
        )
        .stdin(vec![b'A'; 10 << 20]),
        case(
            "verify non-UTF-8 stdin",
            &["verify", "alice"],
            Fail(2, "UTF-8"),
        )
        .stdin(&b"\xff\xfe\xfd\xfc-ABCD-EFGH-JKMN"[..]),
        case(
            "verify NUL inside stdin",
            &["verify", "alice"],
            Fail(2, "NUL"),
        )
        .stdin(format!("{}\0{}", &alice_code[..9], &alice_code[9..])),
        case(
            "verify with the code on the command line",
            &["verify", "alice", alice_code],
            Fail(2, "standard input"),
        ),
        case("verify with no user", &["verify"], Fail(2, "USER")).stdin(alice_code),
        case(
            "verify with the code in place of the user",
            &["verify", alice_code],
            Fail(2, "standard input"),
        ),
        case(
            "verify with a spaced code in place of the user",
            &["verify", &alice_code.replace('-', " ")],
            Fail(2, "standard input"),
        ),
        // ------------------------------------------------------- user names
        case(
            "SQL in a user name (list)",
            &["list", sql],
            Fail(2, "invalid user name"),
        ),
        case(
            "SQL in a user name (enroll)",
            &["enroll-device", sql, "--kind", "token"],
            Fail(2, "invalid user name"),
        ),
        case(
            "SQL in a user name (verify)",
            &["verify", sql],
            Fail(2, "invalid user name"),
        )
        .stdin(alice_code),
        case(
            "65-character user name",
            &["issue-codes", &long_name],
            Fail(2, "invalid user name"),
        ),
        case(
            "10000-character user name",
            &["revoke", &huge_name],
            Fail(2, "invalid user name"),
        ),
        case(
            "user name with a newline",
            &["unlock", "ali\nce"],
            Fail(2, "invalid user name"),
        ),
        case(
            "empty user name",
            &["enroll-device", "", "--kind", "token"],
            Fail(2, "invalid user name"),
        ),
        case(
            "non-ASCII user name",
            &["list", "alïce"],
            Fail(2, "invalid user name"),
        ),
        case("non-UTF-8 user name (list)", &[], Clap("UTF-8"))
            .os_args(vec!["list".into(), non_utf8_name.clone()]),
        case("non-UTF-8 user name (enroll)", &[], Clap("UTF-8")).os_args(vec![
            "enroll-device".into(),
            non_utf8_name,
            "--kind".into(),
            "token".into(),
        ]),
        case(
            "audit --user with SQL",
            &["audit", "--user", sql],
            Fail(2, "invalid user name"),
        ),
        case(
            "upper case is folded, not an error",
            &["list", "ALICE"],
            Ok("alice"),
        ),
        case(
            "upper case is folded in verify",
            &["verify", "ALICE"],
            Fail(2, "no code"),
        ),
        // --------------------------------------------------- other options
        case(
            "overlong reason",
            &["revoke", "alice", "--reason", &long_reason],
            Fail(2, "reason"),
        ),
        case(
            "--device with --batch",
            &["revoke", "alice", "--device", "1", "--batch", "1"],
            Clap("--batch"),
        ),
        case("bad --format", &["list", "--format", "xml"], Clap("xml")),
        case(
            "missing batch file",
            &["issue-codes", "--batch", "/nonexistent/users.csv"],
            Fail(2, "/nonexistent/users.csv"),
        ),
        case(
            "enrol batch with a bad row",
            &["enroll-device", "--batch", "-"],
            Fail(2, "line 3"),
        )
        .stdin("user,kind,phone\ncarol,mobile,5072225111\ndave,landline,not-a-number\n"),
        case(
            "issue batch without a user column",
            &["issue-codes", "--batch", "-"],
            Fail(2, "user column"),
        )
        .stdin("name,count\nalice,3\n"),
        case(
            "calibrate --target 1000d",
            &["calibrate", "--target", "1000d"],
            Fail(2, "--target"),
        ),
        case(
            "calibrate --target soon",
            &["calibrate", "--target", "soon"],
            Fail(2, "--target"),
        ),
        // -------------------------------------------------------- the config
        case("config: unknown key", &["list"], Fail(2, "colour")).config("[codes]\ncolour = 1\n"),
        case("config: unknown table", &["list"], Fail(2, "bogus")).config("[bogus]\nx = 1\n"),
        case("config: wrong type", &["list"], Fail(2, "codes.count"))
            .config("[codes]\ncount = \"ten\"\n"),
        case(
            "config: bool as string",
            &["list"],
            Fail(2, "hash.allow_weak"),
        )
        .config("[hash]\nallow_weak = \"yes\"\n"),
        case("config: table as value", &["list"], Fail(2, "lockout")).config("lockout = 3\n"),
        case(
            "config: threshold above 100",
            &["list"],
            Fail(2, "lockout.threshold"),
        )
        .config("[lockout]\nthreshold = 1000\n"),
        case(
            "config: threshold 0",
            &["list"],
            Fail(2, "lockout.threshold"),
        )
        .config("[lockout]\nthreshold = 0\n"),
        case("config: bad duration", &["list"], Fail(2, "sms.timeout"))
            .config("[sms]\ntimeout = \"soon\"\n"),
        case(
            "config: bad auto_unlock",
            &["list"],
            Fail(2, "lockout.auto_unlock"),
        )
        .config("[lockout]\nauto_unlock = \"-15m\"\n"),
        case("config: short codes", &["list"], Fail(2, "codes.length"))
            .config("[codes]\nlength = 5\n"),
        case("config: weak hash", &["list"], Fail(2, "OWASP"))
            .config("[hash]\nmemory_kib = 1024\n"),
        case("config: non-UTF-8", &["list"], Fail(2, "UTF-8"))
            .config(&b"[codes]\ncount = 5 # \xff\xfe\n"[..]),
        case("config: NUL byte", &["list"], Fail(2, "config file"))
            .config(&b"[codes]\ncount = 5\0\n"[..]),
        case("config: broken TOML", &["list"], Fail(2, "line 2"))
            .config("[codes]\ncount = = 5\n[lockout\n"),
        case(
            "config: both sms.command and sms.outbox",
            &["list"],
            Fail(2, "not both"),
        )
        .config("[sms]\ncommand = \"/bin/true\"\noutbox = \"o.txt\"\n"),
    ]
}

#[test]
fn hostile_input_is_refused_in_one_line_and_changes_nothing() {
    let env = Env::new();
    let s = seed(&env);
    let alice_code = env.last_sms_codes()[0].clone();
    let strict = strict_config(&env);
    let table = cases(&s, &alice_code);
    assert!(table.len() >= 30);
    let mut problems = Vec::new();
    // Each case's "after" is the next one's "before" (writing a case's
    // config file touches neither store nor outbox): one dump per case.
    let mut before = snapshot(&env);
    for (i, c) in table.iter().enumerate() {
        let config = match &c.config {
            Some(text) => {
                let p = env.path().join(format!("case-{i}.toml"));
                std::fs::write(&p, text).unwrap();
                p
            }
            None => strict.clone(),
        };
        let (code, out, err) = run_case(&env, &config, c);
        let after = snapshot(&env);
        let mut bad = judge(c.expect, code, &out, &err);
        for sp in common::spellings(&alice_code) {
            if out.contains(&sp) || err.contains(&sp) {
                bad.push(format!("a code was echoed ({sp})"));
            }
        }
        if before != after {
            bad.push(format!(
                "store changed: {}",
                describe_change(&before, &after)
            ));
        }
        if !bad.is_empty() {
            problems.push(format!(
                "[{i}] {}: {}\n    exit {code}; stderr: {err:?}",
                c.what,
                bad.join("; ")
            ));
        }
        before = after;
    }
    // The seeded codes still work: nothing above spent, ended or locked them.
    assert_eq!(env.verify("alice", &alice_code), 0);
    assert!(
        problems.is_empty(),
        "{} of {} cases failed:\n{}",
        problems.len(),
        table.len(),
        problems.join("\n")
    );
}

#[test]
fn bad_input_does_not_create_a_store() {
    let env = Env::new();
    let strict = strict_config(&env);
    for (args, needle) in [
        (&["list", "al ice"][..], "invalid user name"),
        (&["audit", "--user", "al ice"][..], "invalid user name"),
        (&["audit", "--since", "soon"][..], "--since"),
        (&["issue-codes", "x", "--count", "0"][..], "--count"),
        (
            &["enroll-device", "x", "--kind", "mobile", "--phone", "1"][..],
            "phone",
        ),
        (&["revoke", "x;y"][..], "invalid user name"),
        (&["unlock", "x;y"][..], "invalid user name"),
        (&["verify", "x;y"][..], "invalid user name"),
    ] {
        let c = case("fresh", args, Expect::Fail(2, needle));
        let (code, out, err) = run_case(&env, &strict, &c);
        let bad = judge(c.expect, code, &out, &err);
        assert!(bad.is_empty(), "{args:?}: {bad:?}: {err}");
        assert!(!env.store_exists(), "{args:?} created the store");
        if !env.is_postgres() {
            assert!(
                !env.db.parent().unwrap().exists(),
                "{args:?} created the store's folder"
            );
        }
    }
}

#[test]
fn the_judge_can_fail() {
    // The checks above are real: a two-line message, a wrong status, a
    // missing name and a panic are each caught.
    assert!(!judge(Expect::Fail(2, "x"), 2, "", "codedesk: x\nmore\n").is_empty());
    assert!(!judge(Expect::Fail(2, "x"), 1, "", "codedesk: x\n").is_empty());
    assert!(!judge(Expect::Fail(2, "x"), 2, "", "codedesk: y\n").is_empty());
    assert!(!judge(Expect::Fail(2, "x"), 2, "", "thread 'main' panicked: x\n").is_empty());
    assert!(!judge(Expect::Clap("x"), 101, "", "codedesk: x\n").is_empty());
    assert!(!judge(Expect::Clap("x"), 2, "", "error: x\n\nUsage: y\n").is_empty());
    assert!(judge(Expect::Clap("x"), 2, "", "codedesk: x\n").is_empty());
    assert!(judge(Expect::Fail(2, "x"), 2, "", "codedesk: x\n").is_empty());
}

#[test]
fn the_snapshot_sees_a_change() {
    // The comparison above is real on both backends: one enrolment, or a
    // value moved behind codedesk's back, shows as a change, by name.
    let env = Env::new();
    env.enroll_mobile("alice", "507-222-5999");
    let before = snapshot(&env);
    assert!(
        before == snapshot(&env),
        "two snapshots of a still store differ"
    );
    env.ok(&["enroll-device", "zed", "--kind", "token", "-q"]);
    let after = snapshot(&env);
    assert!(before != after);
    assert!(describe_change(&before, &after).contains("zed"));
    let tampered = env.sql_execute("UPDATE users SET failed_attempts = 1 WHERE name = 'alice'");
    assert_eq!(tampered, 1);
    assert!(after != snapshot(&env), "a changed counter went unseen");
}
