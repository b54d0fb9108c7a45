// How codedesk behaves in a pipeline and at a terminal: no colour when
// piped or under NO_COLOR, `--quiet` prints only what a script needs, a
// closed pipe (`codedesk list | head -1`) ends quietly with status 0, CSV
// that a CSV reader accepts, and the printable card for helpdesk codes.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use common::{BIN, Env, looks_like_code};
use rexpect::session::spawn_command;
use serde_json::Value;
use std::process::Command;

const ESC: &str = "\x1b[";
const ATTEST: [&str; 4] = ["--identity-verified", "video-call", "--ticket", "INC-42"];

/// stderr without the warning every test run gets for its weak hashing.
fn real_stderr(err: &str) -> Vec<&str> {
    err.lines()
        .filter(|l| !l.starts_with("codedesk: warning: Argon2id parameters"))
        .collect()
}

/// alice: mobile; bob: landline with a second, SMS-capable phone.
fn two_users(env: &Env) {
    env.enroll_mobile("alice", "507-222-5999");
    env.enroll_landline("bob", "507-222-0000");
    env.enroll_mobile("bob", "507-222-1111");
}

fn no_escapes(env: &Env, extra_env: &[(&str, &str)]) {
    two_users(env);
    let runs: Vec<Vec<&str>> = vec![
        vec!["enroll-device", "carol", "--kind", "tablet"],
        vec!["issue-codes", "alice"],
        vec!["issue-codes", "bob"],
        vec!["issue-codes", "bob", "--via", "helpdesk"],
        vec!["issue-codes", "carol", "--format", "text"],
        vec!["list"],
        vec!["list", "bob"],
        vec!["list", "--format", "text"],
        vec!["audit"],
        vec!["audit", "--user", "bob", "--format", "text"],
        vec!["audit", "verify"],
        vec!["config"],
        vec!["verify", "alice"],
        vec!["issue-codes", "--batch", "-"],
        vec!["revoke", "alice"],
        vec!["unlock", "nobody"],
    ];
    for args in runs {
        let mut all = args.clone();
        if args[0] == "issue-codes" {
            all.extend(ATTEST);
        }
        let mut c = env.cmd();
        for (k, v) in extra_env {
            c.env(k, v);
        }
        let stdin = match args[0] {
            "verify" => "0000-0000-0000-0000\n",
            "issue-codes" if args.contains(&"--batch") => "user\nalice\nnobody\n",
            _ => "",
        };
        let out = c.args(&all).write_stdin(stdin).output().expect("run");
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            !o.contains(ESC) && !e.contains(ESC),
            "escape sequence in `codedesk {}`:\n{o}\n{e}",
            all.join(" ")
        );
        assert!(
            !o.is_empty() || !e.is_empty(),
            "{all:?} printed nothing at all"
        );
    }
}

#[test]
fn piped_output_has_no_colour() {
    no_escapes(&Env::new(), &[]);
}

#[test]
fn piped_output_has_no_colour_even_when_the_terminal_type_asks_for_it() {
    no_escapes(
        &Env::new(),
        &[
            ("TERM", "xterm-256color"),
            ("CLICOLOR", "1"),
            ("COLORTERM", "truecolor"),
        ],
    );
}

#[test]
fn no_color_at_a_terminal_means_no_colour() {
    let env = Env::new();
    two_users(&env);
    env.issue_helpdesk("bob", &[]);
    for args in [vec!["list"], vec!["list", "bob"], vec!["audit"]] {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", env.path())
            .env("TERM", "xterm-256color")
            .env("NO_COLOR", "1")
            .arg("--db")
            .arg(&env.db)
            .arg("--config")
            .arg(&env.config)
            .args(&args);
        let mut s = spawn_command(c, Some(10_000)).expect("spawn on a pty");
        let text = s.exp_eof().expect("output until the end");
        assert!(text.contains("bob"), "{args:?} at a terminal: {text}");
        assert!(
            !text.contains(ESC),
            "escape sequence under NO_COLOR from {args:?}: {text:?}"
        );
    }
}

#[test]
fn quiet_prints_only_what_a_script_needs() {
    let env = Env::new();
    // enroll-device -q: the device id alone.
    let (code, out, err) = env.run(&[
        "enroll-device",
        "bob",
        "--kind",
        "landline",
        "--phone",
        "507-222-0000",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().parse::<i64>().is_ok(), "an id: {out:?}");
    env.enroll_mobile("bob", "507-222-1111");
    env.enroll_mobile("alice", "507-222-5999");

    // The SMS path: the set id alone, no outbox note.
    let (code, out, err) = env.run(&["issue-codes", "alice", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().parse::<i64>().is_ok(), "a set id: {out:?}");
    assert_eq!(out.lines().count(), 1, "{out}");

    // The helpdesk path: the codes, one per line, and no hint about bob's
    // SMS-capable second phone.
    let mut args = vec!["issue-codes", "bob", "-q", "--count", "3"];
    args.extend(ATTEST);
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines.iter().all(|l| looks_like_code(l)), "{out}");
    assert_eq!(real_stderr(&err), Vec::<&str>::new(), "no hint under -q");

    // Without -q the same issuance explains itself.
    let mut args = vec!["issue-codes", "bob"];
    args.extend(ATTEST);
    let (_, loud, loud_err) = env.run(&args);
    assert!(loud.contains("Shown once"), "{loud}");
    assert!(loud_err.contains("hint"), "the hint without -q: {loud_err}");
    let fresh: Vec<String> = loud
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|w| looks_like_code(w))
        .map(str::to_string)
        .collect();
    assert_eq!(fresh.len(), 10, "{loud}");

    // verify -q: the exit status says it all.
    let (code, out, err) = env.run_stdin(&["verify", "bob", "-q"], &fresh[0]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "nothing on stdout");
    let (code, out, _) = env.run_stdin(&["-q", "verify", "bob"], "0000-0000-0000-0000");
    assert_eq!((code, out.as_str()), (1, ""));
}

#[test]
fn a_closed_pipe_ends_quietly_with_status_zero() {
    let env = Env::new();
    // Enough users that the output outgrows the pipe and `head` leaves
    // while codedesk is still writing.
    let mut csv = String::from("user,kind,phone,label\n");
    for i in 0..2000 {
        csv.push_str(&format!(
            "user{i:04},mobile,+1 507 555 {i:04},a label long enough to fill the pipe\n"
        ));
    }
    let f = env.path().join("devices.csv");
    std::fs::write(&f, csv).unwrap();
    let (code, _, err) = env.run(&["enroll-device", "--batch", f.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{err}");
    for cmd in ["list", "audit"] {
        for format in ["table", "json", "csv", "text"] {
            let script = format!(
                "\"$0\" --db \"$1\" --config \"$2\" {cmd} --format {format} | head -1; echo \"status=${{PIPESTATUS[0]}}\""
            );
            let out = Command::new("bash")
                .env_clear()
                .env("HOME", env.path())
                .env("PATH", "/usr/bin:/bin")
                .arg("-c")
                .arg(&script)
                .arg(BIN)
                .arg(&env.db)
                .arg(&env.config)
                .output()
                .expect("bash");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = stdout.lines().collect();
            assert_eq!(lines.len(), 2, "{cmd} {format}: {stdout}");
            assert_eq!(
                lines[1], "status=0",
                "`codedesk {cmd} --format {format} | head -1` must exit 0: {stderr}"
            );
            assert_eq!(
                real_stderr(&stderr),
                Vec::<&str>::new(),
                "nothing on stderr for {cmd} {format}"
            );
        }
    }
}

#[test]
fn list_and_audit_csv_parse_with_a_csv_reader() {
    let env = Env::new();
    two_users(&env);
    env.ok(&[
        "enroll-device",
        "o.neil",
        "--kind",
        "token",
        "--label",
        "keys, \"blue\" fob",
    ]);
    env.ok(&["issue-codes", "alice"]);
    env.issue_helpdesk("o.neil", &[]);

    let out = env.ok(&["list", "--format", "csv"]);
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let header = rdr.headers().expect("header").clone();
    assert_eq!(&header[0], "user");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("a CSV row")).collect();
    let users: Vec<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(users, ["alice", "bob", "o.neil"]);
    assert!(rows.iter().all(|r| r.len() == header.len()));
    assert!(
        rows[2].iter().any(|f| f.contains("keys, \"blue\" fob")),
        "a label with a comma and quotes survives: {:?}",
        rows[2]
    );
    assert!(!out.lines().any(looks_like_code), "never a code in a list");

    let out = env.ok(&["audit", "--format", "csv"]);
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let col = |n: &str| header.iter().position(|h| h == n).expect(n);
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("a CSV row")).collect();
    assert!(rows.len() >= 6, "{out}");
    let mut ids = Vec::new();
    for r in &rows {
        assert_eq!(r.len(), header.len());
        ids.push(r[col("id")].parse::<i64>().expect("numeric id"));
        let details: Value = serde_json::from_str(&r[col("details")]).expect("details are JSON");
        assert!(details.is_object(), "{details}");
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    assert!(
        rows.iter()
            .any(|r| &r[col("user")] == "o.neil" && &r[col("action")] == "codes-delivered"),
        "{out}"
    );
}

#[test]
fn the_text_format_prints_a_card_to_hand_over() {
    let env = Env::new();
    env.ok(&[
        "enroll-device",
        "bob",
        "--kind",
        "landline",
        "--phone",
        "5072220000",
    ]);
    // 2027-03-04T12:00:00Z; debug builds let tests set the clock.
    let fixed = 1_804_161_600_i64;
    let mut c = env.cmd();
    if cfg!(debug_assertions) {
        c.env("CODEDESK_NOW", fixed.to_string());
    }
    let out = c
        .args(["issue-codes", "bob", "--format", "text", "--count", "5"])
        .args(ATTEST)
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    let card = String::from_utf8(out.stdout).unwrap();
    assert!(card.contains("bob"), "names the user: {card}");
    let date = if cfg!(debug_assertions) {
        "2027-03-04".to_string()
    } else {
        card.split_whitespace()
            .find(|w| w.len() >= 10 && w.starts_with("20"))
            .map(|w| w[..10].to_string())
            .expect("a date")
    };
    assert!(card.contains(&date), "dated: {card}");
    let prose = card.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        prose.contains("somewhere that is not your phone"),
        "the article's advice: {card}"
    );
    let codes: Vec<&str> = card
        .split_whitespace()
        .filter(|w| looks_like_code(w))
        .collect();
    assert_eq!(codes.len(), 5, "{card}");
    assert!(
        card.lines().all(|l| l.chars().count() <= 60),
        "fits a printed card: {card}"
    );
    assert_eq!(env.verify("bob", codes[4]), 0);
}
