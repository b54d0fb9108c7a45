// Small hardening fixes from a security review and a sysadmin's read of the
// docs, each through the real binary: output files holding live codes are
// private whatever the umask, `--format` is honoured or refused, input
// that could hide or mislead is refused, CSV cells cannot become formulas,
// the configuration file is bounded, and more (one test per item).
//
// SQLite only: nothing here depends on the store's backend.

use crate::common;
use common::Env;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

/// Runs `args` with standard output sent to `path` (created or truncated
/// by the test with `mode`, as a shell's `>` would under umask 022).
fn run_into_file(env: &Env, args: &[&str], path: &std::path::Path, mode: u32) -> (i32, String) {
    let f = std::fs::File::create(path).expect("create output file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    let out = std::process::Command::new(common::BIN)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", env.path())
        .arg("--db")
        .arg(&env.db)
        .arg("--config")
        .arg(&env.config)
        .args(["--operator", "tester"])
        .args(args)
        .stdout(Stdio::from(f))
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .output()
        .expect("run codedesk");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `args` with the env's store and config but no `--operator`, and
/// an empty environment; returns (status, stderr).
fn bare(env: &Env, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(common::BIN)
        .env_clear()
        .env("HOME", env.path())
        .arg("--db")
        .arg(&env.db)
        .arg("--config")
        .arg(&env.config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run codedesk");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn files_receiving_live_codes_become_private_whatever_the_umask() {
    let env = Env::new();
    env.enroll_landline("bob", "5072220000");
    env.enroll_landline("carol", "5072220001");
    // One user's card.
    let card = env.path().join("card.txt");
    let (code, err) = run_into_file(
        &env,
        &[
            "issue-codes",
            "bob",
            "--identity-verified",
            "in-person",
            "--ticket",
            "T-1",
            "--format",
            "text",
        ],
        &card,
        0o644,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode_of(&card), 0o600, "the card file is private");
    let text = std::fs::read_to_string(&card).unwrap();
    assert!(
        text.split_whitespace().any(common::looks_like_code),
        "the codes went to the file: {text}"
    );
    // A batch run's mail-merge file.
    let users = env.path().join("users.csv");
    std::fs::write(&users, "user\nbob\ncarol\n").unwrap();
    let letters = env.path().join("letters.csv");
    let (code, err) = run_into_file(
        &env,
        &[
            "issue-codes",
            "--batch",
            users.to_str().unwrap(),
            "--identity-verified",
            "in-person",
            "--ticket",
            "T-2",
            "--format",
            "csv",
        ],
        &letters,
        0o664,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode_of(&letters), 0o600, "letters.csv is private");
    let text = std::fs::read_to_string(&letters).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    // Output to something other than a regular file is left alone.
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn calibrate_honours_json_and_csv() {
    let env = Env::new();
    let (code, out, err) = env.run(&["calibrate", "--target", "1ms", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let j: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(j["hash"]["memory_kib"], 19456, "{j}");
    assert_eq!(j["hash"]["iterations"], 2, "{j}");
    assert_eq!(j["target_ms"], 1, "{j}");
    assert_eq!(j["above_target"], true, "{j}");
    let (code, out, err) = env.run(&["calibrate", "--target", "1ms", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("memory_kib,iterations,parallelism,ms_per_hash,target_ms")
    );
    assert!(
        lines.next().unwrap_or_default().starts_with("19456,2,1,"),
        "{out}"
    );
}

#[test]
fn audit_verify_honours_json_and_csv() {
    let env = Env::new();
    env.enroll_landline("bob", "5072220000");
    let out = env.ok(&["audit", "verify", "--format", "json"]);
    let j: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(j["intact"], true, "{j}");
    let out = env.ok(&["audit", "verify", "--format", "csv"]);
    let head = j["head"].as_str().unwrap();
    assert_eq!(
        out,
        format!("intact,events,head,event,problem\ntrue,1,{head},,\n")
    );
    // An anchor that is not in the trail: exit 8, and the row says why.
    let missing = "0".repeat(64);
    let (code, out, _) = env.run(&["audit", "verify", "--anchor", &missing, "--format", "csv"]);
    assert_eq!(code, 8);
    let row = out.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("false,,,,") && row.contains("not in the trail"),
        "{out}"
    );
}

/// `codedesk config`'s warnings (lines on stderr), the weak-hash one left out.
fn config_warnings(env: &Env) -> Vec<String> {
    let (code, _, err) = env.run(&["config"]);
    assert_eq!(code, 0, "{err}");
    err.lines()
        .filter(|l| l.starts_with("codedesk: warning:") && !l.contains("Argon2id"))
        .map(str::to_string)
        .collect()
}

#[test]
fn auto_unlock_has_a_floor_of_one_minute() {
    for short in ["1s", "59s"] {
        let env = Env::with_config(&format!("[lockout]\nauto_unlock = \"{short}\"\n"));
        let (code, out, err) = env.run(&["config"]);
        assert_eq!(code, 2, "{short}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.contains("lockout.auto_unlock") && err.contains("floor of 1m"),
            "{err}"
        );
    }
    let env = Env::with_config("[lockout]\nauto_unlock = \"1m\"\n");
    env.ok(&["config"]);
}

#[test]
fn config_warns_when_auto_unlock_makes_guessing_feasible() {
    // Digits (8 random digits), 10 guesses an hour: about 1 % a year.
    let env = Env::with_config(
        "[codes]\nalphabet = \"digits\"\n[lockout]\nthreshold = 10\nauto_unlock = \"1h\"\n",
    );
    let w = config_warnings(&env);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("lockout.auto_unlock") && w[0].contains("240 codes a day"),
        "{w:?}"
    );
    // The same lockout with 75-bit base32 codes is nowhere near feasible.
    let env = Env::with_config("[lockout]\nthreshold = 10\nauto_unlock = \"1h\"\n");
    assert_eq!(config_warnings(&env), Vec::<String>::new());
    // Nor is anything without auto_unlock (the default).
    let env = Env::with_config("[codes]\nalphabet = \"digits\"\n");
    assert_eq!(config_warnings(&env), Vec::<String>::new());
}

#[test]
fn config_says_when_a_helpdesk_default_is_capped() {
    let env = Env::with_config("[helpdesk]\ndefault_expires = \"never\"\nmax_expires = \"7d\"\n");
    let w = config_warnings(&env);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("last 7days, not never") && w[0].contains("helpdesk.max_expires"),
        "{w:?}"
    );
    // And the cap is what an issued set gets.
    env.enroll_landline("bob", "5072220000");
    let out = env.ok(&[
        "issue-codes",
        "bob",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-1",
        "--format",
        "json",
    ]);
    let j: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(j["expires_at"].is_string(), "{j}");
    let env = Env::with_config("[helpdesk]\ndefault_expires = \"1d\"\nmax_expires = \"7d\"\n");
    assert_eq!(config_warnings(&env), Vec::<String>::new());
}

/// The ```toml blocks of a document of the repository, in order.
fn toml_blocks(doc: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&path).expect(doc);
    text.split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_readme_worked_session_runs_with_the_sms_section_it_shows() {
    let blocks = toml_blocks("README.md");
    let sms = blocks
        .iter()
        .find(|b| b.trim_start().starts_with("[sms]") && b.contains("outbox"))
        .expect("the README shows the [sms] section of its worked session");
    let env = Env::with_raw_config("");
    let config = format!("[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n{sms}");
    std::fs::write(&env.config, config).unwrap();
    env.ok(&[
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "(507) 222-5999",
    ]);
    let out = env.ok(&["issue-codes", "alice"]);
    assert!(out.contains("Texted 10 new codes"), "{out}");
    let outbox = env.config.parent().unwrap().join("outbox.txt");
    let text = std::fs::read_to_string(&outbox).expect("the outbox beside the config");
    assert_eq!(
        text.split_whitespace()
            .filter(|w| common::looks_like_code(w))
            .count(),
        10,
        "{text}"
    );
    assert_eq!(mode_of(&outbox), 0o600);
}

#[test]
fn the_documented_example_configuration_is_accepted_without_a_silent_cap() {
    let blocks = toml_blocks("docs/configuration.md");
    let example = blocks
        .iter()
        .find(|b| b.contains("[helpdesk]") && b.contains("[lockout]"))
        .expect("docs/configuration.md's example configuration");
    let env = Env::with_raw_config(example);
    let (code, _, err) = env.run(&["config"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn the_config_file_must_be_a_regular_file_of_at_most_1_mib() {
    let env = Env::new();
    let fifo = env.path().join("config.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let big = env.path().join("big.toml");
    // Valid TOML (a comment) just over the cap.
    std::fs::write(&big, format!("#{}\n", "x".repeat(1 << 20))).unwrap();
    let just_under = env.path().join("under.toml");
    std::fs::write(
        &just_under,
        format!("{}\n", std::fs::read_to_string(&env.config).unwrap())
            + &format!("#{}\n", "x".repeat((1 << 20) - 200)),
    )
    .unwrap();
    for (path, why) in [
        ("/dev/zero".into(), "not a regular file"),
        (fifo.display().to_string(), "not a regular file"),
        (env.path().display().to_string(), "not a regular file"),
        (big.display().to_string(), "larger than 1024 KiB"),
    ] {
        let started = std::time::Instant::now();
        let out = std::process::Command::new(common::BIN)
            .env_clear()
            .args([
                "--db",
                env.db.to_str().unwrap(),
                "--config",
                &path,
                "config",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run codedesk");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {err}");
        assert!(err.contains(why) && err.contains(&path), "{path}: {err}");
        // Refused at once, not after reading gigabytes or waiting for a writer.
        assert!(
            started.elapsed().as_secs() < 30,
            "{path} took {:?}",
            started.elapsed()
        );
    }
    assert!(std::fs::metadata(&just_under).unwrap().len() <= 1 << 20);
    std::fs::copy(&just_under, &env.config).unwrap();
    let (code, _, err) = env.run(&["config"]);
    assert_eq!(code, 0, "a large but allowed file: {err}");
}

/// Characters that show nothing or reorder what is around them.
const HIDDEN: [(char, &str); 8] = [
    ('\u{200b}', "U+200B"), // zero-width space
    ('\u{200d}', "U+200D"), // zero-width joiner
    ('\u{202e}', "U+202E"), // right-to-left override
    ('\u{2066}', "U+2066"), // left-to-right isolate
    ('\u{ad}', "U+00AD"),   // soft hyphen
    ('\u{feff}', "U+FEFF"), // zero-width no-break space
    ('\u{3164}', "U+3164"), // Hangul filler
    ('\u{2028}', "U+2028"), // line separator
];

#[test]
fn tickets_labels_reasons_and_operators_refuse_invisible_characters() {
    let env = Env::new();
    env.enroll_landline("bob", "5072220000");
    let before = env.ok(&["audit", "--format", "json"]);
    let sets = |env: &Env| {
        let j: Value = serde_json::from_str(env.ok(&["list", "bob", "--format", "json"]).trim())
            .expect("list JSON");
        j.to_string().matches("\"batch\"").count()
    };
    let sets_before = sets(&env);
    for (c, name) in HIDDEN {
        for text in [c.to_string(), format!("INC{c}1234")] {
            // A ticket that hides what it says is no attestation: exit 3, as
            // for any malformed ticket, and nothing is issued.
            let (code, out, err) = env.run(&[
                "issue-codes",
                "bob",
                "--identity-verified",
                "in-person",
                "--ticket",
                &text,
            ]);
            assert_eq!(code, 3, "ticket {name}: {err}");
            assert!(out.is_empty(), "{out}");
            assert!(err.contains(name) && err.contains("ticket"), "{err}");
            // A device label, a revocation reason, the operator's name, the
            // service verify records: exit 2.
            for args in [
                vec![
                    "enroll-device",
                    "newbie",
                    "--kind",
                    "token",
                    "--label",
                    &text,
                ],
                vec!["revoke", "bob", "--reason", &text],
                vec!["--operator", &text, "list"],
                vec!["verify", "bob", "--service", &text],
            ] {
                let (code, err) = bare(&env, &args);
                assert_eq!(code, 2, "{args:?}: {err}");
                let line = err.lines().last().unwrap_or_default();
                assert!(
                    line.contains(name) && line.contains("invalid"),
                    "{args:?}: {err}"
                );
                assert!(!line.contains(c), "the character is escaped: {line:?}");
            }
        }
    }
    assert_eq!(sets(&env), sets_before, "nothing was issued");
    let after = env.ok(&["audit", "--format", "json"]);
    assert!(
        !after.contains("newbie") && !after.contains("codes-revoked"),
        "nothing was enrolled or revoked: {}",
        &after[before.len()..]
    );
    // Ordinary non-ASCII text is fine.
    env.ok(&[
        "enroll-device",
        "zoe",
        "--kind",
        "token",
        "--label",
        "clé de Zoë 日本",
    ]);
    let (code, err) = bare(&env, &["--operator", "Łukasz", "list"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn user_names_starting_with_a_dash_never_reach_a_hook() {
    let env = Env::new();
    // A notify command that writes down what it was given.
    let hook = env.path().join("notify.sh");
    let seen = env.path().join("notify.log");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n", seen.display()),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push_str(&format!(
        "\n[notify]\ncommand = {:?}\n",
        hook.display().to_string()
    ));
    std::fs::write(&env.config, config).unwrap();
    env.enroll_landline("bob", "5072220000");
    // The hook works for an ordinary name (a second device notifies).
    env.enroll_phone("landline", "bob", "5072220001");
    assert!(
        std::fs::read_to_string(&seen)
            .unwrap()
            .contains("device-enrolled bob")
    );
    let users = env.path().join("dash.csv");
    std::fs::write(&users, "user,kind\n-rf,token\n").unwrap();
    for (args, stdin) in [
        (vec!["enroll-device", "--kind", "token", "--", "-rf"], ""),
        (vec!["issue-codes", "--", "--help"], ""),
        (
            vec!["enroll-device", "--batch", users.to_str().unwrap()],
            "",
        ),
        (vec!["verify", "--", "-x"], "7KQ2-M9XD-4TRB-V8PN\n"),
        (vec!["unlock", "--", "-bob"], ""),
    ] {
        let (code, _, err) = env.run_stdin(&args, stdin);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("may not start with '-'"), "{args:?}: {err}");
    }
    // From pam_exec, the name comes from PAM_USER.
    let out = env
        .cmd()
        .env("PAM_USER", "-bob")
        .arg("verify")
        .write_stdin("7KQ2-M9XD-4TRB-V8PN\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let log = std::fs::read_to_string(&seen).unwrap();
    assert_eq!(
        log.lines().count(),
        1,
        "only bob's event reached the hook: {log}"
    );
}

/// Every cell of a CSV text.
fn csv_cells(text: &str) -> Vec<String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    r.records()
        .flat_map(|rec| {
            rec.expect("valid CSV")
                .iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn no_csv_cell_starts_like_a_spreadsheet_formula() {
    let env = Env::new();
    let formula = "=HYPERLINK(\"http://evil.example/\",\"click\")";
    let mut outputs = Vec::new();
    // A label, a user name starting with '@', a masked phone (+...).
    outputs.push(env.ok(&[
        "enroll-device",
        "@evil",
        "--kind",
        "token",
        "--label",
        formula,
        "--format",
        "csv",
    ]));
    outputs.push(env.ok(&[
        "enroll-device",
        "carol",
        "--kind",
        "mobile",
        "--phone",
        "5072225999",
        "--label",
        "+1+2",
        "--format",
        "csv",
    ]));
    outputs.push(env.ok(&[
        "issue-codes",
        "@evil",
        "--identity-verified",
        "in-person",
        "--ticket=-1",
        "--format",
        "csv",
    ]));
    let users = env.path().join("users.csv");
    std::fs::write(&users, "user,via\n@evil,helpdesk\ncarol,sms\n").unwrap();
    outputs.push(env.ok(&[
        "issue-codes",
        "--batch",
        users.to_str().unwrap(),
        "--identity-verified",
        "in-person",
        "--ticket",
        "@T",
        "--format",
        "csv",
    ]));
    outputs.push(env.ok(&["list", "--format", "csv"]));
    outputs.push(env.ok(&["list", "@evil", "--format", "csv"]));
    outputs.push(env.ok(&["audit", "--format", "csv"]));
    // An operator's name in `config`.
    let out = std::process::Command::new(common::BIN)
        .env_clear()
        .args([
            "--db",
            env.db.to_str().unwrap(),
            "--config",
            env.config.to_str().unwrap(),
        ])
        .args([
            "--operator",
            "=cmd|' /C calc'!A0",
            "config",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    let mut neutralised = Vec::new();
    for text in &outputs {
        for cell in csv_cells(text) {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a formula-like cell {cell:?} in:\n{text}"
            );
            if cell.starts_with('\'') {
                neutralised.push(cell);
            }
        }
    }
    for want in [
        format!("'{formula}"),
        "'+1+2".to_string(),
        "'@evil".to_string(),
        "'=cmd|' /C calc'!A0".to_string(),
    ] {
        assert!(neutralised.contains(&want), "{want} in {neutralised:?}");
    }
    // The codes themselves are untouched, ready for a mail merge.
    let batch = csv_cells(&outputs[3]);
    assert!(batch.iter().filter(|c| common::looks_like_code(c)).count() >= 10);
}

#[test]
fn verify_and_report_csv_guard_a_name_that_starts_like_a_formula() {
    let env = Env::new();
    // A user name may start with '@'; so may an operator's.
    env.enroll_landline("@sum", "5072225999");
    // Issued by an operator named "@sum" (Env::cmd names "tester").
    let out = std::process::Command::new(common::BIN)
        .env_clear()
        .args(["--db", env.db.to_str().unwrap()])
        .args(["--config", env.config.to_str().unwrap()])
        .args([
            "--operator",
            "@sum",
            "issue-codes",
            "@sum",
            "--via",
            "helpdesk",
        ])
        .args(["--identity-verified", "in-person", "--ticket", "T-1", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let codes: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let (code, accepted, err) = env.run_stdin(&["verify", "@sum", "--format", "csv"], &codes[0]);
    assert_eq!(code, 0, "{err}");
    let (code, rejected, err) = env.run_stdin(
        &["verify", "@sum", "--format", "csv"],
        "0000-0000-0000-0000",
    );
    assert_eq!(code, 1, "{err}");
    let by_operator = env.ok(&["report", "--by", "operator", "--format", "csv"]);
    let by_day = env.ok(&["report", "--format", "csv"]);
    for (text, rows) in [
        (
            &accepted,
            vec!["user,accepted,remaining,locked", "'@sum,true,9,false"],
        ),
        (
            &rejected,
            vec!["user,accepted,remaining,locked", "'@sum,false,9,false"],
        ),
    ] {
        assert_eq!(text.lines().collect::<Vec<_>>(), rows, "{text}");
    }
    for text in [&by_operator, &by_day] {
        let cells = csv_cells(text);
        assert!(cells.contains(&"'@sum".to_string()), "{text}");
        assert!(
            cells
                .iter()
                .all(|c| !c.starts_with(['=', '+', '-', '@', '\t', '\r'])),
            "a formula-like cell in:\n{text}"
        );
    }
}

#[test]
fn a_postgresql_error_keeps_its_words_when_the_password_is_short() {
    let Some(env) = Env::postgres("") else {
        return;
    };
    // The test's own role, with the password "o", which the server refuses.
    let url = env.db.to_str().unwrap().to_string();
    let start = url.find("://").unwrap() + 3;
    let at = start + url[start..].find('@').expect("a user in the URL");
    let user = url[start..at].split(':').next().unwrap();
    let wrong = format!("{}{user}:o{}", &url[..start], &url[at..]);
    let (code, err) = bare(&env_on(&env, &wrong), &["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("password authentication failed") && err.contains(&format!("\"{user}\"")),
        "the server's words, whole: {err}"
    );
    assert!(
        !err.contains("***"),
        "nothing in the message is blanked: {err}"
    );
    assert!(!err.contains(":o@"), "{err}");
}

/// `env` with `--db` pointing at `url` instead.
fn env_on(env: &Env, url: &str) -> Env {
    let mut other = Env::on_url(url);
    other.config = env.config.clone();
    other
}

/// The audit events of `user` with this action.
fn events_of(env: &Env, user: &str, action: &str) -> Vec<Value> {
    env.ok(&["audit", "--user", user, "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|e| e["action"] == action)
        .collect()
}

#[test]
fn attempts_that_never_count_cannot_grow_the_store_without_bound() {
    let env = Env::with_config("[lockout]\nthreshold = 2\n");
    env.enroll_landline("bob", "5072220000");
    env.enroll_landline("carol", "5072220001");
    let issue = |user: &str| -> Vec<String> {
        let out = env.ok(&[
            "issue-codes",
            user,
            "--identity-verified",
            "in-person",
            "--ticket",
            "T-1",
            "--format",
            "json",
        ]);
        let j: Value = serde_json::from_str(out.trim()).unwrap();
        j["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    let bob_codes = issue("bob");
    let carol_codes = issue("carol");
    // bob: locked by two wrong codes (carol's), then 45 attempts while locked.
    for _ in 0..2 {
        assert_eq!(env.run_stdin(&["verify", "bob"], &carol_codes[0]).0, 1);
    }
    for _ in 0..45 {
        let (code, _, err) = env.run_stdin(&["verify", "bob"], &bob_codes[0]);
        assert_eq!(code, 5, "still locked out, and told so: {err}");
    }
    let locked = events_of(&env, "bob", "verify-locked");
    assert_eq!(locked.len(), 20, "at most 20 in a row a day");
    assert_eq!(
        locked[19]["details"]["more_unrecorded"], true,
        "{}",
        locked[19]
    );
    assert!(
        locked[..19]
            .iter()
            .all(|e| e["details"].get("more_unrecorded").is_none())
    );
    // carol: 45 typos (a wrong check symbol).
    let good = &carol_codes[1];
    let last = good.chars().last().unwrap();
    let typo = format!(
        "{}{}",
        &good[..good.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    for _ in 0..45 {
        let (code, _, err) = env.run_stdin(&["verify", "carol"], &typo);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("typo") || err.contains("check"), "{err}");
    }
    assert_eq!(events_of(&env, "carol", "verify-typo").len(), 20);
    // The cap is per user, the code still works, and the trail is intact.
    assert_eq!(env.run_stdin(&["verify", "carol"], good).0, 0);
    env.ok(&["audit", "verify"]);
}

/// Closing the terminal at the identity prompt (the operator shut the
/// window; an SSH session dropped): the kernel hangs the terminal up, and
/// the abandoned check is recorded like a Ctrl-C, nothing issued.
#[test]
fn closing_the_terminal_at_the_identity_prompt_is_recorded() {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    env.enroll_landline("bob", "5072220000");
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two descriptors; no name, settings or size.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // Not inherited by codedesk (or any other child): the test must hold the
    // only descriptor of the master side, so closing it hangs the terminal up.
    for fd in [master, slave] {
        // SAFETY: sets close-on-exec on a descriptor just opened.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: both descriptors were just opened and are owned here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = std::process::Command::new(common::BIN);
    cmd.env_clear()
        .env("HOME", env.path())
        .env("TERM", "xterm")
        .args(["--db", env.db.to_str().unwrap(), "--config"])
        .arg(&env.config)
        .args(["--operator", "tester", "issue-codes", "bob"])
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave.try_clone().unwrap());
    // SAFETY: between fork and exec, only async-signal-safe calls: a new
    // session whose controlling terminal is the pty, as a login has.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn codedesk on a pty");
    drop(slave);
    // Read the terminal until the method menu shows (one descriptor only:
    // closing it must close the terminal).
    let mut term = std::fs::File::from(master);
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !String::from_utf8_lossy(&seen).contains("How did you verify") {
        assert!(
            std::time::Instant::now() < deadline,
            "no identity prompt: {}",
            String::from_utf8_lossy(&seen)
        );
        let mut pfd = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&term),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polls one descriptor owned by `term`.
        if unsafe { libc::poll(&mut pfd, 1, 100) } > 0 {
            let mut buf = [0u8; 4096];
            let n = term.read(&mut buf).expect("read the terminal");
            seen.extend_from_slice(&buf[..n]);
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(term);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "codedesk kept running on a closed terminal"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let checks: Vec<Value> = env
        .ok(&["audit", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["action"] == "identity-check")
        .collect();
    assert_eq!(
        checks.len(),
        1,
        "one check recorded ({status:?}): {checks:?}"
    );
    assert_eq!(checks[0]["details"]["outcome"], "aborted", "{checks:?}");
    let list: Value =
        serde_json::from_str(env.ok(&["list", "bob", "--format", "json"]).trim()).unwrap();
    assert_eq!(list["codes_remaining"], 0, "nothing issued: {list}");
}

/// Prose at a terminal is broken between words to its width: the advice
/// on standard output and the warnings on standard error, at 120 columns
/// (where the terminal used to cut "password" into "passwo" / "rd") and 50.
#[test]
fn prose_wraps_at_word_boundaries_to_the_terminal_width() {
    use rexpect::session::spawn_command;
    let advice = "Tell the user: Write these codes down and keep them somewhere that is not your phone, such as your wallet or your password manager. Each code works once. A new set replaces all of these.";
    let warning = "codedesk: warning: Argon2id parameters m=64 KiB, t=1 are below the OWASP floor (hash.allow_weak = true); for tests only";
    for cols in [120, 50] {
        let env = Env::new();
        env.enroll_landline("bob", "5072220000");
        let mut c = std::process::Command::new("/bin/sh");
        c.env_clear()
            .env("HOME", env.path())
            .env("TERM", "xterm")
            .env("PATH", "/usr/bin:/bin")
            .arg("-c")
            .arg(format!("stty cols {cols} rows 40 && exec \"$0\" \"$@\""))
            .arg(common::BIN)
            .arg("--db")
            .arg(&env.db)
            .arg("--config")
            .arg(&env.config)
            .args(["--operator", "tester", "issue-codes", "bob"])
            .args(["--identity-verified", "in-person", "--ticket", "T-1"]);
        let mut s = spawn_command(c, Some(20_000)).expect("spawn on a pty");
        let log = s.exp_eof().expect("codedesk ends");
        let lines: Vec<&str> = log.split("\r\n").collect();
        for line in &lines {
            assert!(
                line.chars().count() <= cols,
                "a line wider than {cols} columns: {line:?}\n{log}"
            );
        }
        // Each message, with its line breaks undone, is the message.
        let joined = log.replace("\r\n  ", " ");
        for text in [advice, warning] {
            assert!(
                joined.contains(text),
                "{text:?} whole at {cols} columns:\n{log}"
            );
        }
        if cols == 50 {
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("  ") && l.contains("password")),
                "the advice was wrapped at 50 columns:\n{log}"
            );
        }
    }
    // Not a terminal: one line, as before.
    let env = Env::new();
    env.enroll_landline("bob", "5072220000");
    let (code, out, err) = env.run(&[
        "issue-codes",
        "bob",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l == advice), "{out}");
    assert!(err.lines().any(|l| l == warning), "{err}");
}

/// The keys a configuration file accepts, asked of codedesk itself: an
/// unknown key in a table makes it list the table's fields ("unknown field
/// `X`, expected one of `a`, `b`"), and a field that is itself a table
/// answers the same way when probed.
fn accepted_keys(env: &Env, table: &str, out: &mut Vec<String>) {
    let probe = "codedesk_no_such_key";
    let text = if table.is_empty() {
        format!("{probe} = 1\n")
    } else {
        format!("[{table}]\n{probe} = 1\n")
    };
    std::fs::write(&env.config, text).expect("write the probe");
    let (code, _, err) = env.run(&["config"]);
    assert_eq!(code, 2, "an unknown key is refused: {err}");
    let unknown = format!("unknown field `{probe}`, expected ");
    let listed = err
        .split_once(&unknown)
        .unwrap_or_else(|| panic!("[{table}] lists its fields: {err}"))
        .1;
    let fields: Vec<&str> = listed.split('`').skip(1).step_by(2).collect();
    assert!(!fields.is_empty(), "{err}");
    for field in fields {
        let key = if table.is_empty() {
            field.to_string()
        } else {
            format!("{table}.{field}")
        };
        // A table answers a probe of its own with its fields.
        std::fs::write(&env.config, format!("[{key}]\n{probe} = 1\n")).expect("write");
        let (_, _, err) = env.run(&["config"]);
        if err.contains(&format!("unknown field `{probe}`")) {
            accepted_keys(env, &key, out);
        } else {
            out.push(key);
        }
    }
}

/// The keys docs/configuration.md's example configuration shows, set or
/// commented out (`# key = ...` under `[table]` or `# [table]`).
fn documented_keys() -> Vec<String> {
    let blocks = toml_blocks("docs/configuration.md");
    let example = blocks
        .iter()
        .find(|b| b.contains("[helpdesk]") && b.contains("[lockout]"))
        .expect("docs/configuration.md's example configuration");
    let mut table = String::new();
    let mut keys = Vec::new();
    for line in example.lines() {
        let line = line.trim_start_matches('#').trim();
        if let Some(rest) = line.strip_prefix('[') {
            table = rest.split(']').next().unwrap_or_default().to_string();
        } else if let Some((key, _)) = line.split_once('=') {
            let key = key.trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                keys.push(format!("{table}.{key}"));
            }
        }
    }
    keys
}

#[test]
fn configuration_page_lists_every_key() {
    // README: docs/configuration.md lists every key. Every key the file
    // accepts and every key `codedesk config` shows must be in its example
    // configuration; and every key there must be one codedesk accepts.
    let env = Env::with_raw_config("");
    let mut accepted = Vec::new();
    accepted_keys(&env, "", &mut accepted);
    for must in [
        "store.db",
        "store.group",
        "store.password_file",
        "verify.connect_retry",
    ] {
        assert!(accepted.iter().any(|k| k == must), "{must} in {accepted:?}");
    }
    std::fs::write(&env.config, "").expect("write");
    let shown: Value =
        serde_json::from_str(&env.ok(&["config", "--format", "json"])).expect("json");
    let shown: Vec<String> = shown
        .as_object()
        .expect("an object")
        .keys()
        .filter(|k| !["config", "operator"].contains(&k.as_str()))
        .map(|k| {
            if k == "db" {
                "store.db".into()
            } else {
                k.clone()
            }
        })
        .collect();
    for key in &shown {
        assert!(
            accepted.contains(key),
            "`codedesk config` shows {key}, which the file does not accept"
        );
    }
    let documented = documented_keys();
    let missing: Vec<&String> = accepted
        .iter()
        .filter(|k| !documented.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md lacks {missing:?}"
    );
    let unknown: Vec<&String> = documented
        .iter()
        .filter(|k| !accepted.contains(k))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/configuration.md shows keys codedesk refuses: {unknown:?}"
    );
}
