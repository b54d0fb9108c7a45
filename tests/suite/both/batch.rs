// Batch runs through the real binary: `issue-codes --batch FILE|-` (one
// user's failure does not stop the others, line numbers, summary, exit
// status, JSON Lines, a mail-merge CSV, 500 users in one command) and
// `enroll-device --batch FILE` (all or none, every bad line named).
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use common::Env;
use serde_json::Value;
use std::collections::HashSet;
use std::process::Stdio;

/// Writes `text` to a file in the env's folder; returns its path as a string.
fn file(env: &Env, name: &str, text: &str) -> String {
    let p = env.path().join(name);
    std::fs::write(&p, text).expect("write CSV");
    p.display().to_string()
}

/// `enroll-device --batch` with `text`; asserts success.
fn enroll_batch(env: &Env, text: &str) {
    let f = file(env, "devices.csv", text);
    let (code, _, err) = env.run(&["enroll-device", "--batch", &f]);
    assert_eq!(code, 0, "enroll-device --batch failed: {err}");
}

/// alice: mobile (SMS path); bob: landline; carol: tablet (helpdesk path).
fn three_users(env: &Env) {
    enroll_batch(
        env,
        "user,kind,phone,sms,label\n\
         alice,mobile,(507) 222-5999,,work phone\n\
         bob,landline,507-222-0000,,desk\n\
         carol,tablet,,,\n",
    );
}

const ATTEST: [&str; 4] = ["--identity-verified", "in-person", "--ticket", "INC-7"];

/// The stderr line reporting `line`, if any.
fn line_report(stderr: &str, line: usize) -> Option<&str> {
    let tag = format!("line {line} ");
    let tag2 = format!("line {line}:");
    stderr
        .lines()
        .find(|l| l.contains(&tag) || l.contains(&tag2))
}

fn audit_events(env: &Env, user: &str) -> Vec<Value> {
    env.ok(&["audit", "--user", user, "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit JSON line"))
        .collect()
}

fn codes_remaining(env: &Env, user: &str) -> i64 {
    let j: Value =
        serde_json::from_str(&env.ok(&["list", user, "--format", "json"])).expect("list JSON");
    j["codes_remaining"].as_i64().expect("codes_remaining")
}

fn jsonl(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object: {l:?}: {e}"))
        })
        .collect()
}

#[test]
fn failing_users_are_reported_by_line_and_the_run_goes_on() {
    let env = Env::new();
    three_users(&env);
    // Line 3 is an unknown user, line 4 a malformed name, line 5 a bad count.
    let csv = file(
        &env,
        "issue.csv",
        "user,count\nalice,3\nzed,\nBad Name!,\ncarol,0\nbob,2\ncarol,\n",
    );
    let mut args = vec!["issue-codes", "--batch", &csv, "--format", "json"];
    args.extend(ATTEST);
    let (code, out, err) = env.run(&args);
    assert_ne!(code, 0, "a failed user must make the run fail: {err}");
    for (line, what) in [(3, "zed"), (4, "invalid user name"), (5, "count")] {
        let l =
            line_report(&err, line).unwrap_or_else(|| panic!("line {line} not reported: {err}"));
        assert!(l.contains(what), "line {line} should mention {what:?}: {l}");
    }
    for ok_line in [2, 6, 7] {
        assert!(
            line_report(&err, ok_line).is_none(),
            "line {ok_line} succeeded but was reported: {err}"
        );
    }
    let summary = err.lines().last().unwrap_or_default();
    assert!(
        summary.contains("3 user(s) issued") && summary.contains("3 failed"),
        "a summary ends the run: {err}"
    );
    // The users after the failures were still served.
    assert_eq!(env.last_sms_codes().len(), 3, "alice's 3 codes texted");
    let rows = jsonl(&out);
    let users: Vec<&str> = rows.iter().filter_map(|r| r["user"].as_str()).collect();
    assert_eq!(users, ["alice", "bob", "carol"], "{out}");
    assert_eq!(codes_remaining(&env, "bob"), 2);
    assert_eq!(codes_remaining(&env, "carol"), 10);
    assert_eq!(env.verify("bob", rows[1]["codes"][0].as_str().unwrap()), 0);
}

#[test]
fn the_attestation_is_recorded_against_each_helpdesk_user() {
    let env = Env::new();
    three_users(&env);
    let csv = file(&env, "issue.csv", "user\nalice\nbob\ncarol\n");
    let mut args = vec!["issue-codes", "--batch", &csv];
    args.extend(ATTEST);
    let (code, _, err) = env.run(&args);
    assert_eq!(code, 0, "all users issued: {err}");
    assert!(err.contains("3 user(s) issued, 0 failed"), "summary: {err}");
    for user in ["bob", "carol"] {
        let checks: Vec<Value> = audit_events(&env, user)
            .into_iter()
            .filter(|e| e["action"] == "identity-check")
            .collect();
        assert_eq!(checks.len(), 1, "one identity check for {user}: {checks:?}");
        let d = &checks[0]["details"];
        assert_eq!(d["outcome"], "passed");
        assert_eq!(d["method"], "in-person");
        assert_eq!(d["ticket"], "INC-7");
        assert_eq!(checks[0]["operator"], "tester");
        // The set points at its check.
        let l: Value = serde_json::from_str(&env.ok(&["list", user, "--format", "json"])).unwrap();
        assert_eq!(l["sets"][0]["identity_check"], d["check"], "{l}");
    }
    let alice = audit_events(&env, "alice");
    assert!(
        !alice.iter().any(|e| e["action"] == "identity-check"),
        "the SMS path needs no identity check: {alice:?}"
    );
}

#[test]
fn without_an_attestation_helpdesk_users_fail_and_sms_users_are_served() {
    let env = Env::new();
    three_users(&env);
    let csv = file(&env, "issue.csv", "user\nbob\nalice\ncarol\n");
    let (code, out, err) = env.run(&["issue-codes", "--batch", &csv, "-q"]);
    assert_eq!(code, 3, "not attested is exit 3: {err}");
    for line in [2, 4] {
        let l = line_report(&err, line).unwrap_or_else(|| panic!("line {line}: {err}"));
        assert!(l.contains("identity"), "{l}");
    }
    assert!(line_report(&err, 3).is_none(), "alice was served: {err}");
    assert!(
        !out.lines().any(common::looks_like_code),
        "no bypass code without a check: {out}"
    );
    assert_eq!(codes_remaining(&env, "bob"), 0);
    assert_eq!(codes_remaining(&env, "carol"), 0);
    assert_eq!(codes_remaining(&env, "alice"), 10);
    for user in ["bob", "carol"] {
        assert!(
            audit_events(&env, user)
                .iter()
                .any(|e| e["action"] == "identity-check"
                    && e["details"]["outcome"] == "not-attested"),
            "the refused check is audited for {user}"
        );
    }
}

#[test]
fn a_delivery_failure_fails_that_user_only() {
    let env = Env::with_raw_config(
        "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\ncommand = \"/bin/false\"\n",
    );
    three_users(&env);
    let csv = file(&env, "issue.csv", "user\nalice\nbob\n");
    let mut args = vec!["issue-codes", "--batch", &csv, "--format", "json"];
    args.extend(ATTEST);
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 6, "delivery failed is exit 6: {err}");
    let l = line_report(&err, 2).unwrap_or_else(|| panic!("alice's line: {err}"));
    assert!(l.contains("alice") && l.contains("delivery"), "{l}");
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 1, "only bob was issued: {out}");
    assert_eq!(rows[0]["codes"].as_array().map(Vec::len), Some(10));
    assert_eq!(
        codes_remaining(&env, "alice"),
        0,
        "the set was not activated"
    );
    assert_eq!(codes_remaining(&env, "bob"), 10);
    assert!(err.contains("1 user(s) issued, 1 failed"), "{err}");
}

#[test]
fn standard_input_and_optional_columns() {
    let env = Env::new();
    three_users(&env);
    let phone2 = env.enroll_mobile("alice", "507 222 7777");
    // Columns in any order and case: device texts alice's second phone,
    // via forces the helpdesk path for bob.
    let csv = format!("Device,USER,via,count\n{phone2},alice,,4\n,bob,helpdesk,3\n");
    let mut args = vec!["issue-codes", "--batch", "-", "--format", "json"];
    args.extend(ATTEST);
    let (code, out, err) = env.run_stdin(&args, &csv);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(rows[0]["user"], "alice");
    assert_eq!(rows[0]["via"], "sms");
    assert_eq!(rows[0]["count"], 4);
    assert_eq!(rows[0]["device"], phone2);
    assert_eq!(env.last_sms_codes().len(), 4);
    let outbox = std::fs::read_to_string(&env.outbox).unwrap();
    assert!(outbox.contains("+15072227777"), "texted the named device");
    assert_eq!(rows[1]["via"], "helpdesk");
    assert_eq!(rows[1]["codes"].as_array().map(Vec::len), Some(3));
}

#[test]
fn json_lines_give_one_spec_object_per_user() {
    let env = Env::new();
    three_users(&env);
    let csv = file(&env, "issue.csv", "user,count\nalice,2\nbob,3\ncarol,\n");
    let mut args = vec!["issue-codes", "--batch", &csv, "--format", "json"];
    args.extend(ATTEST);
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 3, "one object per line: {out}");
    let mut batches = HashSet::new();
    for (row, (user, via, count)) in rows.iter().zip([
        ("alice", "sms", 2),
        ("bob", "helpdesk", 3),
        ("carol", "helpdesk", 10),
    ]) {
        for key in ["user", "via", "batch", "count", "expires_at"] {
            assert!(row.get(key).is_some(), "{key} missing: {row}");
        }
        assert_eq!(row["user"], user);
        assert_eq!(row["via"], via);
        assert_eq!(row["count"], count);
        assert!(batches.insert(row["batch"].as_i64().expect("batch id")));
        match via {
            "sms" => assert!(row.get("codes").is_none(), "SMS codes are never shown"),
            _ => {
                let codes = row["codes"].as_array().expect("codes");
                assert_eq!(codes.len(), count);
                let first = codes[0].as_str().unwrap();
                assert_eq!(env.verify(user, first), 0, "{user}'s code works");
            }
        }
    }
}

#[test]
fn csv_output_is_ready_for_a_mail_merge() {
    let env = Env::new();
    three_users(&env);
    let csv = file(&env, "issue.csv", "user,count\nalice,\nbob,3\ncarol,5\n");
    let mut args = vec![
        "issue-codes",
        "--batch",
        &csv,
        "--format",
        "csv",
        "--expires",
        "7d",
    ];
    args.extend(ATTEST);
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let mut want: Vec<String> = ["user", "via", "batch", "expires_at"]
        .map(str::to_string)
        .to_vec();
    want.extend((1..=5).map(|i| format!("code{i}")));
    assert_eq!(header, want, "the widest helpdesk set sets the columns");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("CSV row")).collect();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.len(), header.len(), "every row has every column");
        assert!(r[2].parse::<i64>().is_ok(), "batch is a set id: {r:?}");
        assert!(
            r[3].starts_with("20") && r[3].ends_with('Z'),
            "expiry: {r:?}"
        );
    }
    assert_eq!((&rows[0][0], &rows[0][1]), ("alice", "sms"));
    assert!(
        rows[0].iter().skip(4).all(str::is_empty),
        "no SMS code shown"
    );
    assert_eq!((&rows[1][0], &rows[1][1]), ("bob", "helpdesk"));
    assert!(rows[1].iter().skip(4).take(3).all(common::looks_like_code));
    assert!(rows[1].iter().skip(7).all(str::is_empty));
    assert!(rows[2].iter().skip(4).all(common::looks_like_code));
    assert_eq!(env.verify("bob", &rows[1][6]), 0);
    assert_eq!(env.verify("carol", &rows[2][8]), 0);
}

#[test]
fn excel_style_csv_with_bom_crlf_and_blank_lines_keeps_true_line_numbers() {
    let env = Env::new();
    three_users(&env);
    let text = "\u{feff}User,Count\r\nalice,2\r\n\r\nnobody,\r\n\r\n\r\nbob,1\r\nghost,1\r\n";
    let csv = file(&env, "excel.csv", text);
    let mut args = vec!["issue-codes", "--batch", &csv, "-q"];
    args.extend(ATTEST);
    let (code, _, err) = env.run(&args);
    assert_eq!(code, 4, "unknown users are exit 4: {err}");
    let l4 = line_report(&err, 4).unwrap_or_else(|| panic!("nobody is on line 4: {err}"));
    assert!(l4.contains("nobody"), "{l4}");
    let l8 = line_report(&err, 8).unwrap_or_else(|| panic!("ghost is on line 8: {err}"));
    assert!(l8.contains("ghost"), "{l8}");
    assert_eq!(codes_remaining(&env, "bob"), 1);
}

#[test]
fn a_user_listed_twice_is_refused_so_the_first_codes_stay_good() {
    let env = Env::new();
    three_users(&env);
    let csv = file(&env, "issue.csv", "user\nbob\ncarol\nBOB\n");
    let mut args = vec!["issue-codes", "--batch", &csv, "-q"];
    args.extend(ATTEST);
    let (code, out, err) = env.run(&args);
    assert_ne!(code, 0);
    let l = line_report(&err, 4).unwrap_or_else(|| panic!("the repeat is reported: {err}"));
    assert!(l.contains("line 2"), "names the first listing: {l}");
    let bob_first = out.lines().next().expect("bob's codes");
    assert_eq!(
        env.verify("bob", bob_first),
        0,
        "bob's handed-out codes work"
    );
}

#[test]
fn a_repeat_is_named_as_such_even_when_the_first_listing_failed() {
    let env = Env::new();
    three_users(&env);
    // carol has a tablet only: without an attestation her row needs an
    // identity check; her second listing is a repeat all the same.
    let csv = file(&env, "issue.csv", "user\ncarol\nCAROL\n");
    let (code, _, err) = env.run(&["issue-codes", "--batch", &csv, "-q"]);
    assert_ne!(code, 0);
    let l2 = line_report(&err, 2).unwrap_or_else(|| panic!("line 2 is reported: {err}"));
    assert!(l2.contains("identity check"), "{l2}");
    let l3 = line_report(&err, 3).unwrap_or_else(|| panic!("the repeat is reported: {err}"));
    assert!(l3.contains("already listed on line 2"), "{l3}");
    assert!(!l3.contains("identity check"), "{l3}");
}

#[test]
fn a_header_without_a_user_column_is_a_usage_error() {
    let env = Env::new();
    three_users(&env);
    let csv = file(&env, "issue.csv", "name\nalice\n");
    let (code, _, err) = env.run(&["issue-codes", "--batch", &csv]);
    assert_eq!(code, 2);
    assert!(err.contains("user column"), "{err}");
    assert_eq!(codes_remaining(&env, "alice"), 0);
}

#[test]
fn a_closed_output_stops_the_run_instead_of_voiding_everyones_codes() {
    let env = Env::new();
    let users: Vec<String> = (0..6).map(|i| format!("u{i}")).collect();
    let mut enrol = String::from("user,kind\n");
    let mut list = String::from("user\n");
    for u in &users {
        enrol.push_str(&format!("{u},token\n"));
        list.push_str(&format!("{u}\n"));
    }
    enroll_batch(&env, &enrol);
    let earlier = env.issue_helpdesk("u0", &[]);
    let csv = file(&env, "issue.csv", &list);
    let mut cmd = std::process::Command::new(common::BIN);
    let mut child = cmd
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .arg("--db")
        .arg(&env.db)
        .arg("--config")
        .arg(&env.config)
        .args(["--operator", "tester", "issue-codes", "--batch", &csv])
        .args(ATTEST)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take()); // the reader went away
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    // Exit 6, as for a text message that could not be sent: the codes
    // nobody saw were never activated.
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(
        err.contains("could not be shown") && err.contains("not activated"),
        "says whose codes were not shown: {err}"
    );
    let errors = |e: &str| e.lines().filter(|l| !l.contains(": warning: ")).count();
    assert_eq!(errors(&err), 1, "one line: {err}");
    assert_eq!(codes_remaining(&env, "u0"), 10, "u0 keeps the earlier set");
    assert_eq!(env.verify("u0", &earlier[0]), 0, "and it still works");
    for u in &users[1..] {
        assert_eq!(codes_remaining(&env, u), 0, "{u} got no live codes");
    }
    assert_eq!(
        env.sql_i64("SELECT count(*) FROM code_sets WHERE state = 'active'"),
        1,
        "only u0's earlier set is live"
    );
}

/// `issue-codes` whose output cannot be written (a closed pipe, a full
/// disk): the helpdesk set is not activated, the earlier codes still work,
/// exit 6 in one line, and the audit says why.
#[test]
fn codes_that_could_not_be_shown_never_go_live() {
    let env = Env::new();
    enroll_batch(&env, "user,kind\nbob,token\n");
    let earlier = env.issue_helpdesk("bob", &[]);
    for target in ["pipe", "full"] {
        let mut cmd = std::process::Command::new(common::BIN);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .arg("--db")
            .arg(&env.db)
            .arg("--config")
            .arg(&env.config)
            .args(["--operator", "tester", "issue-codes", "bob"])
            .args(ATTEST)
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        let out = if target == "pipe" {
            let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn");
            drop(child.stdout.take()); // the reader went away
            child.wait_with_output().expect("wait")
        } else {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full");
            cmd.stdout(full).output().expect("run")
        };
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{target}: {err}");
        let errors = err.lines().filter(|l| !l.contains(": warning: ")).count();
        assert_eq!(errors, 1, "{target}: one line: {err}");
        assert!(
            err.contains("could not be shown") && err.contains("earlier codes still work"),
            "{target}: {err}"
        );
        assert_eq!(codes_remaining(&env, "bob"), 10, "{target}");
    }
    assert_eq!(env.verify("bob", &earlier[0]), 0, "the earlier codes work");
    let failed = env.ok(&["audit", "--format", "json"]);
    assert_eq!(
        failed
            .lines()
            .filter(|l| l.contains("delivery-failed") && l.contains("could not be shown"))
            .count(),
        2,
        "{failed}"
    );
}

#[test]
fn five_hundred_users_enrolled_and_issued_in_one_command_each() {
    let env = Env::new();
    let mut enrol = String::from("user,kind,phone,sms,label\n");
    let mut list = String::from("user\n");
    for i in 0..500 {
        let kind = if i % 2 == 0 { "mobile" } else { "landline" };
        enrol.push_str(&format!(
            "user{i:03},{kind},+1 (507) 555-{i:04},,desk {i}\n"
        ));
        list.push_str(&format!("user{i:03}\n"));
    }
    let f = file(&env, "devices.csv", &enrol);
    let (code, out, err) = env.run(&["enroll-device", "--batch", &f, "-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 500, "one device id per row");
    let f = file(&env, "issue.csv", &list);
    let mut args = vec![
        "issue-codes",
        "--batch",
        &f,
        "--format",
        "csv",
        "--count",
        "4",
    ];
    args.extend(ATTEST);
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("500 user(s) issued, 0 failed"), "{err}");
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 500);
    let sms = rows.iter().filter(|r| &r[1] == "sms").count();
    let helpdesk = rows
        .iter()
        .filter(|r| &r[1] == "helpdesk" && r.iter().skip(4).all(common::looks_like_code))
        .count();
    assert_eq!((sms, helpdesk), (250, 250));
    let sets: HashSet<&str> = rows.iter().map(|r| r.get(2).unwrap()).collect();
    assert_eq!(sets.len(), 500, "one set per user");
    let outbox = std::fs::read_to_string(&env.outbox).unwrap();
    assert_eq!(
        outbox.matches("To: ").count(),
        250,
        "one text per mobile user"
    );
    assert_eq!(env.verify("user499", &rows[499][7]), 0);
    assert_eq!(env.verify(&rows[0][0], "0000-0000-0000-0000"), 1);
}

#[test]
fn enroll_batch_adds_every_row_with_its_columns() {
    let env = Env::new();
    enroll_batch(
        &env,
        "user,kind,phone,sms,label\n\
         dana,landline,507.222.1111,,front desk\n\
         dana,mobile,(507) 222-2222,no,old phone\n\
         dana,mobile,507 222 3333,yes,\n\
         Erin,token\n",
    );
    let j: Value = serde_json::from_str(&env.ok(&["list", "dana", "--format", "json"])).unwrap();
    let devs = j["devices"].as_array().expect("devices");
    assert_eq!(devs.len(), 3);
    assert_eq!(devs[0]["kind"], "landline");
    assert_eq!(devs[0]["primary"], true, "the first row is the primary");
    assert_eq!(devs[0]["label"], "front desk");
    assert_eq!(devs[0]["phone"], "+*******1111", "masked");
    assert_eq!(devs[1]["sms"], false, "sms=no is honoured");
    assert_eq!(devs[2]["sms"], true);
    let e: Value = serde_json::from_str(&env.ok(&["list", "erin", "--format", "json"])).unwrap();
    assert_eq!(
        e["devices"][0]["kind"], "token",
        "upper case folded, short row ok"
    );
}

#[test]
fn enroll_batch_rejects_the_whole_file_naming_every_bad_line() {
    let env = Env::new();
    let text = "user,kind,phone,sms,label\n\
                good1,mobile,507-222-5999,,\n\
                bad1,landline,,,\n\
                \n\
                good2,tablet,,,\n\
                bad2,fax,507-222-5999,,\n\
                bad3,landline,507-222-0000,yes,\n\
                bad user,mobile,507-222-5999,,\n\
                bad5,mobile,12,,\n\
                good3,token,,,\n\
                bad6,token,507-222-0000,,\n";
    let f = file(&env, "devices.csv", text);
    let (code, out, err) = env.run(&["enroll-device", "--batch", &f]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    // A row's problem is named by the file's column, not by an option the
    // file has no place for.
    assert!(!err.contains("--phone") && !err.contains("--sms"), "{err}");
    let say = |line: usize, what: &str| {
        let report = err
            .split("; ")
            .find(|r| r.contains(&format!("line {line}:")));
        assert!(
            report.is_some_and(|r| r.contains(what)),
            "line {line} should say {what:?}: {err}"
        );
    };
    say(3, "phone column");
    say(7, "sms column");
    say(11, "phone column");
    for line in [3, 6, 7, 8, 9, 11] {
        assert!(
            err.contains(&format!("line {line}:")),
            "bad line {line} named: {err}"
        );
    }
    for line in [2, 5, 10] {
        assert!(
            !err.contains(&format!("line {line}:")),
            "good line {line} not blamed: {err}"
        );
    }
    assert!(err.contains("nothing enrolled"), "{err}");
    // (`list` creates no store: make the empty one it reads.)
    assert_eq!(env.run(&["unlock", "nobody"]).0, 4);
    let list = env.ok(&["list", "--format", "json"]);
    let users: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(
        users.as_array().map(Vec::len),
        Some(0),
        "nothing enrolled: {list}"
    );
    let audit = env.ok(&["audit", "--format", "json"]);
    assert!(!audit.contains("enrol"), "no enrolment event: {audit}");
}

#[test]
fn enroll_batch_from_standard_input() {
    let env = Env::new();
    let (code, out, err) = env.run_stdin(
        &["enroll-device", "--batch", "-", "--format", "json"],
        "user,kind,phone\nfay,mobile,5072224444\n",
    );
    assert_eq!(code, 0, "{err}");
    let j: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(j["user"], "fay");
    assert_eq!(j["device"]["sms"], true);
}
