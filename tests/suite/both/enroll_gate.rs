// A caller who talks an operator into adding "their new phone" would have
// the next set of codes texted to it. So a device added to a user who
// already exists needs the same identity check as helpdesk codes; a first
// enrolment (onboarding) does not.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use common::Env;
use serde_json::Value;

fn devices(env: &Env, user: &str) -> usize {
    let out = env.ok(&["list", user, "--format", "json"]);
    let v: Value = serde_json::from_str(&out).expect("json");
    v["devices"].as_array().map_or(0, Vec::len)
}

/// A first enrolment (no identity check: onboarding) of a landline.
fn onboard(env: &Env, user: &str, phone: &str) {
    env.ok(&[
        "enroll-device",
        user,
        "--kind",
        "landline",
        "--phone",
        phone,
    ]);
}

/// Writes `body` to `name` in the Env's folder, for `--batch`; its path.
fn batch_file(env: &Env, name: &str, body: &str) -> std::path::PathBuf {
    let path = env.path().join(name);
    std::fs::write(&path, body).expect("write the batch file");
    path
}

fn audit(env: &Env) -> Vec<Value> {
    env.ok(&["audit", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[test]
fn adding_a_device_to_an_existing_user_without_a_check_is_refused_and_recorded() {
    let env = Env::new();
    onboard(&env, "dana", "507-222-0100");
    let (code, out, err) = env.run(&[
        "enroll-device",
        "dana",
        "--kind",
        "mobile",
        "--phone",
        "555-223-4567",
        "--primary",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty());
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("warning: Argon2id"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        err.contains("identity check") && err.contains("nothing enrolled"),
        "{err}"
    );
    assert_eq!(devices(&env, "dana"), 1);
    let refused: Vec<Value> = audit(&env)
        .into_iter()
        .filter(|e| e["action"] == "identity-check" && e["details"]["outcome"] == "not-attested")
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["user"], "dana");
    assert_eq!(refused[0]["operator"], "tester");
}

#[test]
fn adding_a_device_with_an_attested_check_records_the_check() {
    let env = Env::new();
    onboard(&env, "erin", "507-222-0101");
    env.ok(&[
        "enroll-device",
        "erin",
        "--kind",
        "mobile",
        "--phone",
        "507-222-0102",
        "--identity-verified",
        "video-call",
        "--ticket",
        "INC-77",
    ]);
    assert_eq!(devices(&env, "erin"), 2);
    let enrolled: Vec<Value> = audit(&env)
        .into_iter()
        .filter(|e| e["action"] == "device-enrolled")
        .collect();
    assert_eq!(enrolled.len(), 2);
    assert!(
        enrolled[0]["details"]["check"].is_null(),
        "first enrolment is not gated"
    );
    assert!(enrolled[1]["details"]["check"].as_i64().is_some());
    assert_eq!(enrolled[1]["details"]["method"], "video-call");
    assert_eq!(enrolled[1]["details"]["ticket"], "INC-77");
}

#[test]
fn batch_enrolment_of_existing_users_needs_the_runs_attestation() {
    let env = Env::new();
    onboard(&env, "fay", "507-222-0103");
    let csv = batch_file(
        &env,
        "devices.csv",
        "user,kind,phone\nfay,mobile,507-222-0104\ngus,mobile,507-222-0105\ngus,tablet,\n",
    );
    let csv = csv.to_str().unwrap();
    let (code, _, err) = env.run(&["enroll-device", "--batch", csv]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("fay") && !err.contains("gus"), "{err}");
    assert_eq!(devices(&env, "fay"), 1);
    assert_eq!(env.run(&["list", "gus"]).0, 4, "nothing enrolled");

    env.ok(&[
        "enroll-device",
        "--batch",
        csv,
        "--identity-verified",
        "in-person",
        "--ticket",
        "ONBOARD-1",
    ]);
    assert_eq!(devices(&env, "fay"), 2);
    assert_eq!(
        devices(&env, "gus"),
        2,
        "a user the file creates needs no check"
    );
}

#[test]
fn a_partial_or_empty_attestation_is_refused_with_3_and_recorded() {
    let env = Env::new();
    env.enroll_landline("hal", "507-222-0110");
    let cases: [&[&str]; 3] = [
        &["issue-codes", "hal", "--identity-verified", "in-person"],
        &["issue-codes", "hal", "--ticket", "INC-1"],
        &[
            "issue-codes",
            "hal",
            "--identity-verified",
            "video-call",
            "--ticket",
            "",
        ],
    ];
    for args in cases {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(err.contains("nothing issued"), "{args:?}: {err}");
    }
    let list: Value = serde_json::from_str(&env.ok(&["list", "hal", "--format", "json"])).unwrap();
    assert_eq!(list["codes_remaining"], 0);
    let not_attested = audit(&env)
        .into_iter()
        .filter(|e| e["action"] == "identity-check" && e["details"]["outcome"] == "not-attested")
        .count();
    assert_eq!(not_attested, 3);
    // and the same for a device added to an existing user
    let (code, _, err) = env.run(&[
        "enroll-device",
        "hal",
        "--kind",
        "mobile",
        "--phone",
        "507-222-0111",
        "--ticket",
        "INC-2",
    ]);
    assert_eq!(code, 3, "{err}");
}

#[test]
fn an_incomplete_attestation_names_what_is_wrong_and_keeps_the_method() {
    let env = Env::new();
    env.enroll_landline("bob", "507-222-0120");
    let long = "x".repeat(80);
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &["--identity-verified", "in-person", "--ticket", &long],
            "in-person",
            "--ticket: invalid ticket reference",
        ),
        (
            &[
                "--identity-verified",
                "video-call",
                "--ticket",
                "INC\u{7}-1",
            ],
            "video-call",
            "--ticket: invalid ticket reference",
        ),
        (
            &["--identity-verified", "callback"],
            "callback",
            "--identity-verified was given without --ticket",
        ),
        (
            &["--ticket", "INC-9"],
            "",
            "--ticket was given without --identity-verified",
        ),
    ];
    let mut want_methods = Vec::new();
    for (flags, method, problem) in cases {
        for command in [
            &["issue-codes", "bob"][..],
            &["enroll-device", "bob", "--kind", "token"][..],
        ] {
            let args: Vec<&str> = command.iter().chain(flags).copied().collect();
            let (code, out, err) = env.run(&args);
            assert_eq!(code, 3, "{args:?}: {err}");
            assert!(out.is_empty(), "{args:?}: {out}");
            let lines: Vec<&str> = err
                .lines()
                .filter(|l| !l.starts_with("codedesk: warning:"))
                .collect();
            assert_eq!(lines.len(), 1, "{args:?}: {err}");
            assert!(
                err.contains(problem),
                "{args:?} should say {problem:?}: {err}"
            );
            assert!(!err.contains("give --identity-verified METHOD"), "{err}");
            assert!(err.contains("nothing "), "{args:?}: {err}");
            want_methods.push(method);
        }
    }
    assert_eq!(devices(&env, "bob"), 1, "nothing enrolled");
    let list: Value = serde_json::from_str(&env.ok(&["list", "bob", "--format", "json"])).unwrap();
    assert_eq!(list["codes_remaining"], 0, "nothing issued");
    let refused: Vec<Value> = audit(&env)
        .into_iter()
        .filter(|e| e["action"] == "identity-check" && e["details"]["outcome"] == "not-attested")
        .collect();
    let methods: Vec<&str> = refused
        .iter()
        .map(|e| e["details"]["method"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(methods, want_methods, "{refused:?}");
    // A well-formed ticket is kept with the refusal; a malformed one is not.
    let tickets: Vec<&str> = refused
        .iter()
        .map(|e| e["details"]["ticket"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(tickets, ["", "", "", "", "", "", "INC-9", "INC-9"]);
}

#[test]
fn removing_a_phone_revokes_the_codes_texted_to_it_and_its_id_is_never_reused() {
    let env = Env::new();
    let landline = env.enroll_landline("ivy", "507-222-0130");
    let phone = env.enroll_mobile("ivy", "507-222-0131");
    env.ok(&["issue-codes", "ivy", "--device", &phone.to_string()]);
    let texted = env.last_sms_codes();
    assert_eq!(texted.len(), 10);
    let out = env.ok(&[
        "revoke",
        "ivy",
        "--device",
        &phone.to_string(),
        "--reason",
        "stolen",
    ]);
    assert!(out.contains("revoked the codes texted to it"), "{out}");
    assert_eq!(
        env.verify("ivy", &texted[0]),
        1,
        "a code texted to the stolen phone"
    );
    // A later device gets a new id, never the removed one.
    let next = env.enroll_mobile("ivy", "507-222-0132");
    assert!(next > phone && next != landline, "{next} after {phone}");
}

// -------------------------------------------------------- shared phones
// "My new phone" may be a number another user already has: codes texted
// to it, and a call-back to check identity, reach whoever holds it. The
// operator is told before any identity check (how many, not who: no name
// to read out to an unverified caller), the names once it is enrolled,
// and the audit event names them. A shared desk phone is normal, so it is
// a warning.

#[test]
fn a_phone_number_another_user_has_is_said_before_the_check_and_audited() {
    let env = Env::new();
    env.enroll_mobile("alice", "5072225999");
    env.enroll_landline("bob", "5072220100");
    // bob (who exists) asks for alice's mobile, written another way: the
    // warning comes before the refused check, without alice's name, and
    // nothing is enrolled
    let (code, _, err) = env.run(&[
        "enroll-device",
        "bob",
        "--kind",
        "mobile",
        "--phone",
        "+1 (507) 222-5999",
    ]);
    assert_eq!(code, 3, "{err}");
    let warn = err
        .find("is already enrolled for another user")
        .expect("warned");
    let refused = err.find("nothing enrolled").expect("refused");
    assert!(warn < refused, "{err}");
    assert!(!err.contains("alice"), "no name before the check: {err}");
    assert!(
        err.contains("+*******5999"),
        "the number stays masked: {err}"
    );
    assert!(!err.contains("2225999"), "{err}");
    assert_eq!(devices(&env, "bob"), 1);
    // with a passed check it is enrolled, and the event names alice
    let (code, out, err) = env.run(&[
        "--format",
        "json",
        "enroll-device",
        "bob",
        "--kind",
        "mobile",
        "--phone",
        "507.222.5999",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-9",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is also enrolled for alice"), "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["phone_shared_with"], serde_json::json!(["alice"]));
    let last = audit(&env).pop().expect("event");
    assert_eq!(last["action"], "device-enrolled");
    assert_eq!(last["details"]["shared_with"], serde_json::json!(["alice"]));
    // a number nobody else has, and a user's own second device on their
    // own number, say nothing
    let (code, out, err) = env.run(&[
        "--format",
        "json",
        "enroll-device",
        "carol",
        "--kind",
        "mobile",
        "--phone",
        "5072225000",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("also enrolled"), "{err}");
    assert!(!err.contains("already enrolled"), "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["phone_shared_count"], 0, "{v}");
    let (code, _, err) = env.run(&[
        "enroll-device",
        "carol",
        "--kind",
        "landline",
        "--phone",
        "5072225000",
        "--identity-verified",
        "video-call",
        "--ticket",
        "T-10",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("also enrolled"), "{err}");
    assert_eq!(
        audit(&env).pop().expect("event")["details"]["shared_with"],
        serde_json::json!([])
    );
}

#[test]
fn a_batch_names_shared_numbers_row_by_row_and_still_enrols_them() {
    let env = Env::new();
    env.enroll_landline("desk", "5072220100");
    let csv = batch_file(
        &env,
        "devices.csv",
        "user,kind,phone\nann,landline,507-222-0100\nben,landline,5072220100\ncid,mobile,5072225111\n",
    );
    // New users, no check: each row says how many others, not who.
    let (code, out, err) = env.run(&[
        "--format",
        "json",
        "enroll-device",
        "--batch",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("is already enrolled"))
        .collect();
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(warnings[0].contains("enrolled for another user:"), "{err}");
    assert!(warnings[1].contains("enrolled for 2 other users:"), "{err}");
    assert!(
        !err.contains("also enrolled") && !err.contains("for desk"),
        "{err}"
    );
    let counts: Vec<Value> = out
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            assert!(v.get("phone_shared_with").is_none(), "{v}");
            v["phone_shared_count"].clone()
        })
        .collect();
    assert_eq!(counts, [1, 2, 0]);
    // The audit trail, for those who may read it, has the names.
    let shared: Vec<Value> = audit(&env)
        .into_iter()
        .filter(|e| e["action"] == "device-enrolled")
        .map(|e| e["details"]["shared_with"].clone())
        .collect();
    assert_eq!(
        shared,
        [
            serde_json::json!([]),
            serde_json::json!(["desk"]),
            serde_json::json!(["ann", "desk"]),
            serde_json::json!([]),
        ]
    );
    // Devices added to existing users, attested for the run: named.
    let csv = batch_file(
        &env,
        "devices.csv",
        "user,kind,phone\nann,mobile,5072220100\ncid,landline,5072225111\n",
    );
    let (code, out, err) = env.run(&[
        "--format",
        "json",
        "enroll-device",
        "--batch",
        csv.to_str().unwrap(),
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-4",
    ]);
    assert_eq!(code, 0, "{err}");
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("is also enrolled"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("also enrolled for ben, desk:"),
        "{err}"
    );
    let first: Value = serde_json::from_str(out.lines().next().expect("a row")).expect("json");
    assert_eq!(
        first["phone_shared_with"],
        serde_json::json!(["ben", "desk"])
    );
}

/// A first enrolment needs no identity check, so it must not tell whoever
/// asks to be "set up" on a number who else has it: a count, not names.
#[test]
fn an_ungated_first_enrolment_does_not_name_who_shares_the_number() {
    let env = Env::new();
    env.enroll_mobile("bob", "5078881234");
    let (code, out, err) = env.run(&[
        "--format",
        "json",
        "enroll-device",
        "probe1",
        "--kind",
        "landline",
        "--phone",
        "507-888-1234",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("bob") && !out.contains("bob"), "{err}{out}");
    assert!(
        err.contains("+*******1234 is already enrolled for another user:"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["phone_shared_count"], 1, "{v}");
    assert_eq!(v["phone_shared_more"], false, "{v}");
    assert!(v.get("phone_shared_with").is_none(), "{v}");
    // Human output too.
    let (code, out, err) = env.run(&[
        "enroll-device",
        "probe2",
        "--kind",
        "landline",
        "--phone",
        "5078881234",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("bob") && !out.contains("bob"), "{err}{out}");
    assert!(err.contains("already enrolled for 2 other users:"), "{err}");
    // After a passed identity check the names are given.
    let (code, out, err) = env.run(&[
        "--format",
        "json",
        "enroll-device",
        "probe1",
        "--kind",
        "mobile",
        "--phone",
        "5078881234",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-5",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is also enrolled for bob, probe2:"), "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["phone_shared_with"], serde_json::json!(["bob", "probe2"]));
}

/// Ten other users are all named, and "and others" is said only when
/// there is an eleventh, on both the single and the batch path.
#[test]
fn and_others_is_said_only_when_more_than_ten_users_share_the_number() {
    let env = Env::new();
    let attest = ["--identity-verified", "in-person", "--ticket", "T-6"];
    let warning = |err: &str| -> String {
        err.lines()
            .rfind(|l| l.contains("is also enrolled"))
            .unwrap_or_else(|| panic!("no warning: {err}"))
            .to_string()
    };
    // Eleven new users on one desk phone (first devices, no check): the
    // last row is told how many, not who.
    let mut body = String::from("user,kind,phone\n");
    for i in 1..=11 {
        body += &format!("d{i:02},landline,5072220100\n");
    }
    let csv = batch_file(&env, "desk.csv", &body);
    let (code, _, err) = env.run(&["enroll-device", "--batch", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("is already enrolled for 10 other users:"),
        "{err}"
    );
    assert!(
        !err.contains("d01") && !err.contains("also enrolled"),
        "{err}"
    );
    // After a passed check, exactly ten others: all named, no "and others".
    let ten = "d01, d02, d03, d04, d05, d06, d07, d08, d09, d10";
    let mut args = vec![
        "enroll-device",
        "d11",
        "--kind",
        "mobile",
        "--phone",
        "5072220100",
    ];
    args.extend(attest);
    let (code, _, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    let w = warning(&err);
    assert!(w.contains(&format!("also enrolled for {ten}:")), "{w}");
    assert!(!err.contains("and others"), "{err}");
    // A new user with eleven others, not gated: more than ten, no names.
    let (code, out, err) = env.run(&[
        "--format",
        "json",
        "enroll-device",
        "d12",
        "--kind",
        "landline",
        "--phone",
        "5072220100",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("is already enrolled for more than 10 other users:"),
        "{err}"
    );
    assert!(!err.contains("d01"), "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["phone_shared_count"], 10, "{v}");
    assert_eq!(v["phone_shared_more"], true, "{v}");
    // Before the identity check for an existing user: a count, no names.
    let (code, _, err) = env.run(&[
        "enroll-device",
        "d01",
        "--kind",
        "mobile",
        "--phone",
        "5072220100",
        "--sms",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("is already enrolled for more than 10 other users:"),
        "{err}"
    );
    assert!(!err.contains("d02"), "{err}");
    // Once checked: ten named, and others.
    let mut args = vec![
        "--format",
        "json",
        "enroll-device",
        "d01",
        "--kind",
        "mobile",
        "--phone",
        "5072220100",
        "--sms",
    ];
    args.extend(attest);
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    let w = warning(&err);
    assert!(
        w.contains(
            "also enrolled for d02, d03, d04, d05, d06, d07, d08, d09, d10, d11 and others:"
        ),
        "{w}"
    );
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["phone_shared_with"].as_array().map(Vec::len), Some(10));
}

#[test]
fn a_version_1_store_gains_the_phone_index_and_keeps_its_data() {
    let env = Env::new();
    env.enroll_mobile("alice", "5072225999");
    let index = if env.is_postgres() {
        "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'devices_by_phone'"
    } else {
        "SELECT COUNT(*) FROM sqlite_master WHERE name = 'devices_by_phone'"
    };
    assert_eq!(env.sql_i64(index), 1);
    let schema_version = |env: &Env| {
        if env.is_postgres() {
            env.sql_i64("SELECT MAX(version)::BIGINT FROM schema_version")
        } else {
            env.sql_i64("PRAGMA user_version")
        }
    };
    let latest = schema_version(&env);
    // Back to version 1, as a store made by an earlier codedesk is
    // (without version 3's audit principals too).
    env.sql_execute("DROP INDEX devices_by_phone");
    // Nor has it the later versions' tables (docs/safeguards.md, the
    // schema level of src/store/upgrade.rs).
    for table in ["challenges", "user_emails", "notices", "schema_level"] {
        env.sql_execute(&format!("DROP TABLE {table}"));
    }
    // Nor version 6's (docs/approvals.md).
    for table in ["privileged_users", "approval_requests"] {
        env.sql_execute(&format!("DROP TABLE {table}"));
    }
    if env.is_postgres() {
        env.sql_execute("DROP FUNCTION codedesk_privileged_principal()");
        env.sql_execute("DROP FUNCTION codedesk_request_principal()");
        env.sql_execute("DROP TRIGGER audit_principal ON audit");
        env.sql_execute("DROP FUNCTION codedesk_audit_principal()");
        env.sql_execute("ALTER TABLE audit DROP COLUMN principal");
        env.sql_execute("DELETE FROM schema_version WHERE version >= 2");
    } else {
        env.sql_execute("ALTER TABLE audit DROP COLUMN principal");
        env.sql_execute("PRAGMA user_version = 1");
    }
    assert_eq!(env.sql_i64(index), 0);
    // No command but upgrade-store runs on it (exit 7, naming it), and
    // none migrates it as a side effect.
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("codedesk upgrade-store"), "{err}");
    assert_eq!(env.sql_i64(index), 0);
    // upgrade-store migrates it: the index is back, alice is still there,
    // and the new check works.
    env.ok(&["upgrade-store"]);
    let (code, _, err) = env.run(&[
        "enroll-device",
        "bob",
        "--kind",
        "mobile",
        "--phone",
        "5072225999",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already enrolled for another user"), "{err}");
    assert_eq!(env.sql_i64(index), 1);
    assert_eq!(schema_version(&env), latest);
    assert_eq!(devices(&env, "alice"), 1);
}
