// The article's eight rules (SECURITY.md, "rule 1" to "rule 8") and the
// helpdesk scenarios built on them, through the real binary.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use crate::procs;
use common::{Env, looks_like_code, spellings};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

const FAST_HASH: &str = "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n";
const ADVICE: &str = "somewhere that is not your phone";
const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn user_json(env: &Env, user: &str) -> Value {
    json(&env.ok(&["list", user, "--format", "json"]))
}

fn codes_left(env: &Env, user: &str) -> i64 {
    user_json(env, user)["codes_remaining"]
        .as_i64()
        .expect("codes_remaining")
}

fn set_ids(env: &Env, user: &str) -> Vec<i64> {
    user_json(env, user)["sets"]
        .as_array()
        .expect("sets")
        .iter()
        .map(|s| s["id"].as_i64().expect("set id"))
        .collect()
}

fn audit(env: &Env) -> Vec<Value> {
    env.ok(&["audit", "--format", "json"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(json)
        .collect()
}

fn outbox_text(env: &Env) -> String {
    std::fs::read_to_string(&env.outbox).unwrap_or_default()
}

/// `issue-codes USER` by the SMS path; returns the codes texted.
fn issue_sms(env: &Env, user: &str, extra: &[&str]) -> Vec<String> {
    let before = outbox_text(env).matches("To: ").count();
    let mut args = vec!["issue-codes", user];
    args.extend_from_slice(extra);
    let (code, _, err) = env.run(&args);
    assert_eq!(code, 0, "issue-codes {user} failed: {err}");
    assert_eq!(
        outbox_text(env).matches("To: ").count(),
        before + 1,
        "exactly one new SMS"
    );
    env.last_sms_codes()
}

/// Well-formed codes that are no longer valid: a helpdesk set, replaced.
fn dead_codes(env: &Env, user: &str) -> Vec<String> {
    let old = env.issue_helpdesk(user, &[]);
    env.issue_helpdesk(user, &[]);
    old
}

fn verify_stderr(env: &Env, user: &str, code: &str) -> (i32, String) {
    let (c, _, err) = env.run_stdin(&["verify", user], code);
    (c, err)
}

/// Codes shown on the helpdesk's stdout (any line holding a formatted code).
fn codes_in(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| looks_like_code(w))
        .map(str::to_string)
        .collect()
}

fn leaked<'a>(text: &str, codes: &'a [String]) -> Option<(&'a str, String)> {
    codes.iter().find_map(|c| {
        spellings(c)
            .into_iter()
            .find(|s| text.contains(s.as_str()))
            .map(|s| (c.as_str(), s))
    })
}

/// The same code with one symbol changed: its check symbol no longer fits.
fn with_symbol_changed(code: &str, index: usize) -> String {
    let mut chars: Vec<char> = code.chars().filter(|c| *c != '-').collect();
    let pos = CROCKFORD.find(chars[index]).expect("crockford symbol");
    chars[index] = CROCKFORD.as_bytes()[(pos + 1) % 32] as char;
    let bare: String = chars.into_iter().collect();
    bare.as_bytes()
        .chunks(4)
        .map(|g| std::str::from_utf8(g).unwrap())
        .collect::<Vec<_>>()
        .join("-")
}

fn enroll(env: &Env, args: &[&str]) -> i64 {
    let mut a = vec!["enroll-device"];
    a.extend_from_slice(args);
    // adding to an existing user is gated; the attestation is ignored for a new one
    a.extend_from_slice(&["-q", "--identity-verified", "video-call", "--ticket", "T-E"]);
    env.ok(&a).trim().parse().expect("device id")
}

// ------------------------------------------------------------ the rules

#[test]
fn rule1_the_first_device_is_primary_until_another_is_made_primary() {
    let env = Env::new();
    let land = env.enroll_landline("carol", "507-222-0001");
    let mobile = env.enroll_mobile("carol", "507-222-0002");
    let u = user_json(&env, "carol");
    let devs = u["devices"].as_array().unwrap();
    assert_eq!(devs[0]["id"], land);
    assert_eq!(devs[0]["primary"], true);
    assert_eq!(devs[1]["id"], mobile);
    assert_eq!(devs[1]["primary"], false);
    // The primary (a landline) decides: helpdesk path, gated.
    assert_eq!(env.run(&["issue-codes", "carol"]).0, 3);
    assert_eq!(outbox_text(&env), "");

    let top = enroll(
        &env,
        &[
            "carol",
            "--kind",
            "mobile",
            "--phone",
            "507-222-0003",
            "--primary",
        ],
    );
    let u = user_json(&env, "carol");
    let devs = u["devices"].as_array().unwrap();
    assert_eq!(devs[0]["id"], top);
    assert_eq!(devs[0]["primary"], true);
    assert!(devs[1..].iter().all(|d| d["primary"] == false));
    // Now the primary can text: the SMS path, to that phone.
    let codes = issue_sms(&env, "carol", &[]);
    assert_eq!(codes.len(), 10);
    let last = outbox_text(&env);
    let last = last.rsplit("To: ").next().unwrap();
    assert!(last.starts_with("+15072220003"), "{last}");

    // Removing the primary makes the next one primary again.
    env.ok(&["revoke", "carol", "--device", &top.to_string()]);
    let u = user_json(&env, "carol");
    assert_eq!(u["devices"][0]["id"], land);
    assert_eq!(u["devices"][0]["primary"], true);
    assert_eq!(env.run(&["issue-codes", "carol"]).0, 3);
}

#[test]
fn rule2_only_mobile_phones_can_receive_sms() {
    let env = Env::new();
    let m = enroll(&env, &["dan", "--kind", "mobile", "--phone", "5072220010"]);
    let ms = enroll(
        &env,
        &[
            "dan",
            "--kind",
            "mobile",
            "--phone",
            "5072220011",
            "--no-sms",
        ],
    );
    let l = enroll(
        &env,
        &["dan", "--kind", "landline", "--phone", "5072220012"],
    );
    let t = enroll(&env, &["dan", "--kind", "tablet"]);
    let k = enroll(&env, &["dan", "--kind", "token"]);
    let u = user_json(&env, "dan");
    let sms: Vec<(i64, bool)> = u["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_i64().unwrap(), d["sms"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        sms,
        vec![(m, true), (ms, false), (l, false), (t, false), (k, false)]
    );

    // Asking for SMS on a device that cannot is refused and adds nothing.
    for args in [
        vec![
            "dan",
            "--kind",
            "landline",
            "--phone",
            "5072220013",
            "--sms",
        ],
        vec!["dan", "--kind", "tablet", "--sms"],
        vec!["dan", "--kind", "token", "--sms"],
    ] {
        let mut a = vec!["enroll-device"];
        a.extend(args);
        let (code, _, err) = env.run(&a);
        assert_eq!(code, 2, "{a:?}: {err}");
        assert!(err.contains("SMS"), "{err}");
    }
    assert_eq!(
        user_json(&env, "dan")["devices"].as_array().unwrap().len(),
        5
    );

    // A mobile marked --no-sms is not texted: as primary it means the helpdesk path.
    let env = Env::new();
    let ns = enroll(
        &env,
        &[
            "erin",
            "--kind",
            "mobile",
            "--phone",
            "5072220020",
            "--no-sms",
        ],
    );
    assert_eq!(env.run(&["issue-codes", "erin"]).0, 3);
    assert_eq!(env.run(&["issue-codes", "erin", "--via", "sms"]).0, 2);
    assert_eq!(
        env.run(&["issue-codes", "erin", "--device", &ns.to_string()])
            .0,
        2
    );
    assert_eq!(outbox_text(&env), "");
    assert_eq!(codes_left(&env, "erin"), 0);
}

#[test]
fn rule3_sms_path_texts_the_chosen_phone_and_the_operator_never_sees_the_codes() {
    let env = Env::new();
    let dev = env.enroll_mobile("alice", "(507) 222-5999");
    let (code, out, err) = env.run(&["issue-codes", "alice", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let j = json(&out);
    assert_eq!(j["via"], "sms");
    assert_eq!(j["device"], dev);
    assert_eq!(j["count"], 10);
    assert!(j.get("codes").is_none(), "SMS codes shown: {out}");

    let text = outbox_text(&env);
    assert!(text.starts_with("To: +15072225999\n"), "{text}");
    assert!(text.contains("alice"), "the message names the user: {text}");
    let codes = env.last_sms_codes();
    assert_eq!(codes.len(), 10);
    let mut uniq = codes.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 10, "codes are distinct");
    // Each code on its own line.
    for c in &codes {
        assert_eq!(text.lines().filter(|l| *l == c).count(), 1, "{c}");
    }
    assert_eq!(leaked(&format!("{out}{err}"), &codes), None);
    for c in &codes {
        assert_eq!(env.verify("alice", c), 0, "{c}");
    }
}

#[test]
fn rule4_helpdesk_path_issues_bypass_codes_only_after_an_identity_check() {
    let env = Env::new();
    env.enroll_landline("frank", "507-222-0030");
    // No check: nothing issued.
    let (code, out, err) = env.run(&["issue-codes", "frank"]);
    assert_eq!(code, 3, "{err}");
    assert!(codes_in(&out).is_empty() && codes_in(&err).is_empty());
    assert!(err.contains("identity"), "{err}");
    assert_eq!(codes_left(&env, "frank"), 0);
    assert!(set_ids(&env, "frank").is_empty());
    // Half an attestation is no attestation (exit 3), and issues nothing.
    let (code, _, _) = env.run(&["issue-codes", "frank", "--identity-verified", "in-person"]);
    assert_eq!(code, 3);
    assert_eq!(codes_left(&env, "frank"), 0);

    // With a check: codes shown to the operator, no SMS.
    let (code, out, err) = env.run(&[
        "issue-codes",
        "frank",
        "--identity-verified",
        "video-call",
        "--ticket",
        "INC-4",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let j = json(&out);
    assert_eq!(j["via"], "helpdesk");
    let codes: Vec<String> = j["codes"]
        .as_array()
        .expect("helpdesk codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(outbox_text(&env), "");
    for c in &codes {
        assert_eq!(env.verify("frank", c), 0, "{c}");
    }

    // --via helpdesk is always possible, and always gated, even for a mobile user.
    env.enroll_mobile("gina", "507-222-0031");
    assert_eq!(env.run(&["issue-codes", "gina", "--via", "helpdesk"]).0, 3);
    assert_eq!(codes_left(&env, "gina"), 0);
    let codes = env.issue_helpdesk("gina", &[]);
    assert_eq!(codes.len(), 10);
    assert_eq!(outbox_text(&env), "", "the helpdesk path texts nothing");
    assert_eq!(env.verify("gina", &codes[3]), 0);
}

#[test]
fn rule5_each_code_works_once_however_it_is_typed() {
    let env = Env::new();
    env.enroll_mobile("hal", "507-222-0040");
    let codes = issue_sms(&env, "hal", &[]);
    // Forgiving input: lower case, no dashes, spaces, trailing newline.
    let bare: String = codes[0].chars().filter(|c| *c != '-').collect();
    let typed = format!(" {} \n", bare.to_lowercase());
    let (code, out, _) = env.run_stdin(&["verify", "hal", "--format", "json"], &typed);
    assert_eq!(code, 0);
    assert_eq!(json(&out)["remaining"], 9);
    // The same code, as printed, is now spent.
    let (code, out, _) = env.run_stdin(&["verify", "hal", "--format", "json"], &codes[0]);
    assert_eq!(code, 1);
    assert_eq!(json(&out)["accepted"], false);
    for (i, c) in codes.iter().enumerate().skip(1) {
        let (code, out, _) = env.run_stdin(&["verify", "hal", "--format", "json"], c);
        assert_eq!(code, 0, "{c}");
        assert_eq!(json(&out)["remaining"], 9 - i as i64);
    }
    for c in &codes {
        assert_eq!(env.verify("hal", c), 1, "{c} works only once");
    }

    // Helpdesk codes too, and --uses N means exactly N uses.
    env.enroll_landline("ida", "507-222-0041");
    let codes = env.issue_helpdesk("ida", &["--uses", "2", "--count", "2"]);
    assert_eq!(codes.len(), 2);
    assert_eq!(env.verify("ida", &codes[0]), 0);
    assert_eq!(env.verify("ida", &codes[0]), 0);
    assert_eq!(env.verify("ida", &codes[0]), 1);
    assert_eq!(codes_left(&env, "ida"), 2);
}

#[test]
fn rule6_a_new_set_invalidates_all_old_codes_including_unused_ones() {
    let env = Env::with_config("[lockout]\nthreshold = 50\n");
    env.enroll_mobile("jo", "507-222-0050");
    let first = issue_sms(&env, "jo", &[]);
    assert_eq!(env.verify("jo", &first[0]), 0);
    let old_set = set_ids(&env, "jo");
    assert_eq!(old_set.len(), 1);

    let (code, out, err) = env.run(&["issue-codes", "jo", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["invalidated"], serde_json::json!(old_set));
    let second = env.last_sms_codes();
    for c in &first {
        assert_eq!(env.verify("jo", c), 1, "old code {c} must be dead");
    }
    assert_eq!(codes_left(&env, "jo"), 10);
    assert_eq!(set_ids(&env, "jo").len(), 1);
    assert_eq!(env.verify("jo", &second[0]), 0);

    // The documented override keeps them.
    let third = issue_sms(&env, "jo", &["--preserve-existing"]);
    assert_eq!(env.verify("jo", &second[1]), 0);
    assert_eq!(env.verify("jo", &third[0]), 0);
    assert_eq!(set_ids(&env, "jo").len(), 2);
}

#[test]
fn rule7_a_user_who_used_them_all_gets_a_new_set_the_same_way() {
    let env = Env::new();
    env.enroll_mobile("kim", "507-222-0060");
    let codes = issue_sms(&env, "kim", &["--count", "3"]);
    assert_eq!(codes.len(), 3);
    for c in &codes[..2] {
        let (code, err) = verify_stderr(&env, "kim", c);
        assert_eq!(code, 0);
        assert!(!err.contains("last backup code"), "{err}");
    }
    let (code, err) = verify_stderr(&env, "kim", &codes[2]);
    assert_eq!(code, 0);
    assert!(
        err.contains("last backup code") && err.contains("issue-codes"),
        "{err}"
    );
    assert_eq!(codes_left(&env, "kim"), 0);
    // The same way: SMS again.
    let again = issue_sms(&env, "kim", &[]);
    assert_eq!(again.len(), 10);
    assert!(again.iter().all(|c| !codes.contains(c)));
    assert_eq!(codes_left(&env, "kim"), 10);
    assert_eq!(env.verify("kim", &again[0]), 0);

    // The helpdesk way: again only after a check.
    env.enroll_landline("lee", "507-222-0061");
    let hd = env.issue_helpdesk("lee", &["--count", "1"]);
    assert_eq!(env.verify("lee", &hd[0]), 0);
    assert_eq!(codes_left(&env, "lee"), 0);
    assert_eq!(env.run(&["issue-codes", "lee"]).0, 3);
    assert_eq!(codes_left(&env, "lee"), 0);
    let hd2 = env.issue_helpdesk("lee", &[]);
    assert_eq!(hd2.len(), 10);
    assert_eq!(env.verify("lee", &hd2[9]), 0);
}

#[test]
fn rule8_users_are_told_to_keep_codes_somewhere_that_is_not_their_phone() {
    let env = Env::new();
    env.enroll_mobile("max", "507-222-0070");
    issue_sms(&env, "max", &[]);
    let sms = outbox_text(&env);
    assert!(sms.contains(ADVICE), "{sms}");

    env.enroll_landline("ned", "507-222-0071");
    let attest = [
        "issue-codes",
        "ned",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-8",
    ];
    let out = env.ok(&attest);
    assert!(out.contains(ADVICE), "{out}");
    // The printable card, whose lines are wrapped.
    let mut card = attest.to_vec();
    card.extend(["--format", "text"]);
    let out = env.ok(&card);
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(ADVICE), "{out}");
}

// ------------------------------------------------------------ scenarios

#[test]
fn mobile_user_gets_codes_through_the_outbox_and_each_works_exactly_once() {
    let env = Env::new();
    env.enroll_mobile("alice", "(507) 222-5999");
    let codes = issue_sms(&env, "alice", &[]);
    assert_eq!(codes.len(), 10);
    assert_eq!(codes_left(&env, "alice"), 10);
    for (i, c) in codes.iter().enumerate() {
        assert_eq!(env.verify("alice", c), 0, "{c} accepted once");
        assert_eq!(env.verify("alice", c), 1, "{c} then spent");
        assert_eq!(codes_left(&env, "alice"), 9 - i as i64);
    }
    let mode = std::fs::metadata(&env.outbox).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the outbox is private");
}

#[test]
fn a_new_set_by_either_path_kills_every_unused_old_code() {
    let env = Env::with_config("[lockout]\nthreshold = 50\n");
    env.enroll_mobile("olga", "507-222-0080");
    let sms = issue_sms(&env, "olga", &[]);
    let hd = env.issue_helpdesk("olga", &[]);
    for c in &sms {
        assert_eq!(
            env.verify("olga", c),
            1,
            "SMS code {c} survived a helpdesk set"
        );
    }
    let sms2 = issue_sms(&env, "olga", &[]);
    for c in &hd {
        assert_eq!(
            env.verify("olga", c),
            1,
            "helpdesk code {c} survived an SMS set"
        );
    }
    assert_eq!(codes_left(&env, "olga"), 10);
    for c in &sms2 {
        assert_eq!(env.verify("olga", c), 0);
    }
}

#[test]
fn landline_primary_gets_nothing_without_a_check_even_with_a_later_mobile() {
    let env = Env::new();
    env.enroll_landline("pat", "507-222-0090");
    let mobile = env.enroll_mobile("pat", "507-222-0091");
    let (code, out, err) = env.run(&["issue-codes", "pat"]);
    assert_eq!(code, 3, "{err}");
    assert!(codes_in(&out).is_empty());
    // The operator is told that the later mobile could be texted instead.
    assert!(err.contains(&format!("--device {mobile}")), "{err}");
    assert_eq!(user_json(&env, "pat")["codes_remaining"], 0);
    let all = json(&env.ok(&["list", "--format", "json"]));
    assert_eq!(all[0]["user"], "pat");
    assert_eq!(all[0]["codes_remaining"], 0);
    assert_eq!(all[0]["sets"], serde_json::json!([]));
    assert_eq!(outbox_text(&env), "");

    // Naming the mobile texts the codes there.
    let codes = issue_sms(&env, "pat", &["--device", &mobile.to_string()]);
    assert_eq!(codes.len(), 10);
    let text = outbox_text(&env);
    assert!(text.starts_with("To: +15072220091\n"), "{text}");
    assert_eq!(codes_left(&env, "pat"), 10);
    assert_eq!(env.verify("pat", &codes[0]), 0);
}

#[test]
fn user_with_no_device_left_gets_bypass_codes_only_after_a_check() {
    let env = Env::new();
    let dev = env.enroll_mobile("quinn", "507-222-0100");
    issue_sms(&env, "quinn", &[]);
    env.ok(&["revoke", "quinn", "--device", &dev.to_string()]);
    let u = user_json(&env, "quinn");
    assert_eq!(u["devices"].as_array().unwrap().len(), 0);

    let sms_before = outbox_text(&env);
    let (code, out, _) = env.run(&["issue-codes", "quinn"]);
    assert_eq!(code, 3);
    assert!(codes_in(&out).is_empty());
    assert_eq!(env.run(&["issue-codes", "quinn", "--via", "sms"]).0, 2);
    assert_eq!(outbox_text(&env), sms_before, "nothing texted");

    let codes = env.issue_helpdesk("quinn", &[]);
    assert_eq!(codes.len(), 10);
    assert_eq!(codes_left(&env, "quinn"), 10);
    assert_eq!(env.verify("quinn", &codes[0]), 0);
}

#[test]
fn via_sms_on_a_landline_only_user_is_refused() {
    let env = Env::new();
    let land = env.enroll_landline("rita", "507-222-0110");
    let (code, out, err) = env.run(&["issue-codes", "rita", "--via", "sms"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SMS"), "{err}");
    assert!(out.is_empty());
    let (code, _, _) = env.run(&["issue-codes", "rita", "--device", &land.to_string()]);
    assert_eq!(code, 2);
    assert_eq!(outbox_text(&env), "");
    assert!(set_ids(&env, "rita").is_empty());
}

#[test]
fn failed_sms_command_exits_6_and_leaves_the_old_codes_working() {
    let failing = format!("{FAST_HASH}\n[sms]\ncommand = \"/bin/false\"\n");
    let env = Env::with_raw_config(&failing);
    env.enroll_mobile("sam", "507-222-0120");
    // Old codes from the helpdesk path.
    let old = env.issue_helpdesk("sam", &[]);
    let sets = set_ids(&env, "sam");
    let (code, out, err) = env.run(&["issue-codes", "sam"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("delivery failed"), "{err}");
    assert!(codes_in(&out).is_empty() && codes_in(&err).is_empty());
    assert_eq!(set_ids(&env, "sam"), sets, "the new set is not active");
    assert_eq!(codes_left(&env, "sam"), 10);
    assert_eq!(env.verify("sam", &old[0]), 0);
    assert!(
        audit(&env)
            .iter()
            .any(|e| e["action"] == "delivery-failed" && e["user"] == "sam")
    );

    // Old SMS codes too: deliver once by the outbox, then fail again.
    std::fs::write(
        &env.config,
        format!(
            "{FAST_HASH}\n[sms]\noutbox = {:?}\n\n[safeguards]\nnotify_users = false\n",
            env.outbox.display().to_string()
        ),
    )
    .unwrap();
    let sms = issue_sms(&env, "sam", &[]);
    std::fs::write(&env.config, &failing).unwrap();
    assert_eq!(env.run(&["issue-codes", "sam"]).0, 6);
    assert_eq!(codes_left(&env, "sam"), 10);
    for c in &sms {
        assert_eq!(env.verify("sam", c), 0, "{c}");
    }
}

#[test]
fn codes_of_a_message_whose_delivery_failed_never_work() {
    let env = Env::with_raw_config("");
    let script = env.path().join("sms-fail.sh");
    let captured = env.path().join("captured.txt");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ncat > '{}'\nexit 1\n", captured.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        &env.config,
        format!(
            "{FAST_HASH}\n[lockout]\nthreshold = 50\n\n[sms]\ncommand = {:?}\n\n[safeguards]\nnotify_users = false\n",
            script.display().to_string()
        ),
    )
    .unwrap();
    env.enroll_mobile("tess", "507-222-0130");
    let old = env.issue_helpdesk("tess", &[]);
    assert_eq!(env.run(&["issue-codes", "tess"]).0, 6);
    let message = std::fs::read_to_string(&captured).expect("the command got the message");
    let lost: Vec<String> = message
        .lines()
        .filter(|l| looks_like_code(l))
        .map(str::to_string)
        .collect();
    assert_eq!(lost.len(), 10, "{message}");
    for c in &lost {
        assert_eq!(env.verify("tess", c), 1, "{c} of a failed delivery works");
    }
    assert_eq!(env.verify("tess", &old[0]), 0);
}

#[test]
fn sms_command_gets_the_e164_number_as_argument_and_the_message_on_stdin() {
    let env = Env::with_raw_config("");
    let script = env.path().join("sms-ok.sh");
    let captured = env.path().join("captured.txt");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{{ echo \"ARGS:$#:$1\"; cat; }} > '{}'\n",
            captured.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        &env.config,
        format!(
            "{FAST_HASH}\n[sms]\ncommand = {:?}\n\n[safeguards]\nnotify_users = false\n",
            script.display().to_string()
        ),
    )
    .unwrap();
    env.enroll_mobile("uma", "+1 (507) 222.0140");
    let (code, out, err) = env.run(&["issue-codes", "uma"]);
    assert_eq!(code, 0, "{err}");
    let message = std::fs::read_to_string(&captured).unwrap();
    assert!(message.starts_with("ARGS:1:+15072220140\n"), "{message}");
    assert!(message.contains("uma") && message.contains(ADVICE));
    let codes: Vec<String> = message
        .lines()
        .filter(|l| looks_like_code(l))
        .map(str::to_string)
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(leaked(&format!("{out}{err}"), &codes), None);
    assert_eq!(env.verify("uma", &codes[0]), 0);
}

#[test]
fn no_sms_delivery_configured_exits_6_and_changes_nothing() {
    let env = Env::with_raw_config(FAST_HASH);
    env.enroll_mobile("vic", "507-222-0150");
    let (code, out, err) = env.run(&["issue-codes", "vic"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("no SMS delivery"), "{err}");
    assert!(out.is_empty());
    assert_eq!(codes_left(&env, "vic"), 0);
    assert!(set_ids(&env, "vic").is_empty());
    // The helpdesk path still works, and a later SMS attempt leaves it alone.
    let hd = env.issue_helpdesk("vic", &[]);
    assert_eq!(env.run(&["issue-codes", "vic", "--via", "sms"]).0, 6);
    assert_eq!(codes_left(&env, "vic"), 10);
    assert_eq!(env.verify("vic", &hd[0]), 0);
}

#[test]
fn ten_wrong_codes_lock_the_user_until_unlock() {
    let env = Env::new();
    env.enroll_landline("will", "507-222-0160");
    let wrong = dead_codes(&env, "will");
    let right = env.issue_helpdesk("will", &[]);
    for (i, c) in wrong.iter().enumerate() {
        let (code, err) = verify_stderr(&env, "will", c);
        assert_eq!(code, 1, "wrong code {} -> {err}", i + 1);
        let u = user_json(&env, "will");
        assert_eq!(u["failed_attempts"], i as i64 + 1);
        assert_eq!(u["locked"], i == 9, "after {} wrong codes", i + 1);
        if i == 9 {
            assert!(err.contains("locked"), "{err}");
        }
    }
    // Locked: even the right code is refused, and is not spent.
    let (code, err) = verify_stderr(&env, "will", &right[0]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("unlock"), "{err}");
    assert_eq!(env.verify("will", &wrong[0]), 5);
    assert_eq!(codes_left(&env, "will"), 10);

    env.ok(&["unlock", "will"]);
    let u = user_json(&env, "will");
    assert_eq!(u["locked"], false);
    assert_eq!(u["failed_attempts"], 0);
    assert_eq!(env.verify("will", &right[0]), 0);
    assert_eq!(codes_left(&env, "will"), 9);
    // Lockout, the refused attempts while locked, and the unlock are audited.
    let actions: Vec<String> = audit(&env)
        .iter()
        .filter(|e| e["user"] == "will")
        .map(|e| e["action"].as_str().unwrap_or("").to_string())
        .collect();
    for (a, n) in [("lockout", 1), ("verify-locked", 2), ("unlock", 1)] {
        let got = actions.iter().filter(|x| *x == a).count();
        assert_eq!(got, n, "{a} in {actions:?}");
    }
}

#[test]
fn a_wrong_check_symbol_is_a_typo_and_does_not_count_toward_lockout() {
    let env = Env::new();
    env.enroll_mobile("xena", "507-222-0170");
    let wrong = dead_codes(&env, "xena");
    let right = issue_sms(&env, "xena", &[]);
    for c in &wrong[..9] {
        assert_eq!(env.verify("xena", c), 1);
    }
    assert_eq!(user_json(&env, "xena")["failed_attempts"], 9);
    // Typos of a live code: last symbol, first symbol, a middle one.
    for idx in [15, 0, 7] {
        let typo = with_symbol_changed(&right[0], idx);
        assert_ne!(typo, right[0]);
        let (code, err) = verify_stderr(&env, "xena", &typo);
        assert_eq!(code, 1, "{typo}");
        assert!(err.contains("typo"), "{err}");
        assert!(!err.contains(&typo), "the error repeats the code: {err}");
    }
    let u = user_json(&env, "xena");
    assert_eq!(u["failed_attempts"], 9, "typos are not failed attempts");
    assert_eq!(u["locked"], false);
    assert_eq!(u["codes_remaining"], 10);
    // The count still stands: one more real rejection locks.
    assert_eq!(env.verify("xena", &wrong[9]), 1);
    assert_eq!(user_json(&env, "xena")["locked"], true);
    env.ok(&["unlock", "xena"]);
    assert_eq!(env.verify("xena", &right[0]), 0);
}

#[test]
fn the_operator_never_sees_sms_path_codes() {
    let env = Env::new();
    env.enroll_mobile("yves", "507-222-0180");
    let mut all = Vec::new();
    for format in ["table", "json", "csv", "text"] {
        for quiet in [false, true] {
            let mut args = vec!["issue-codes", "yves", "--format", format];
            if quiet {
                args.push("-q");
            }
            let (code, out, err) = env.run(&args);
            assert_eq!(code, 0, "{args:?}: {err}");
            let codes = env.last_sms_codes();
            assert_eq!(codes.len(), 10);
            assert_eq!(
                leaked(&format!("{out}\n{err}"), &codes),
                None,
                "{args:?} showed an SMS code"
            );
            all.extend(codes);
        }
    }
    for args in [
        vec!["list"],
        vec!["list", "yves"],
        vec!["list", "--format", "json"],
        vec!["list", "yves", "--format", "csv"],
        vec!["audit"],
        vec!["audit", "--format", "json"],
    ] {
        let (code, out, err) = env.run(&args);
        assert_eq!(code, 0);
        assert_eq!(leaked(&format!("{out}\n{err}"), &all), None, "{args:?}");
    }
}

#[test]
fn helpdesk_codes_appear_on_stdout_exactly_once() {
    let env = Env::new();
    env.enroll_landline("zoe", "507-222-0190");
    let (code, out, err) = env.run(&[
        "issue-codes",
        "zoe",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-9",
    ]);
    assert_eq!(code, 0, "{err}");
    let codes = codes_in(&out);
    assert_eq!(codes.len(), 10, "{out}");
    let bare_out: String = out.chars().filter(|c| *c != '-').collect();
    for c in &codes {
        let bare: String = c.chars().filter(|ch| *ch != '-').collect();
        assert_eq!(out.matches(c.as_str()).count(), 1, "{c} in {out}");
        assert_eq!(bare_out.matches(&bare).count(), 1, "{c} in {out}");
    }
    assert_eq!(leaked(&err, &codes), None, "a code on stderr: {err}");
    assert_eq!(outbox_text(&env), "");
    // Never again: not in listings or the audit trail.
    for args in [
        vec!["list"],
        vec!["list", "zoe"],
        vec!["list", "zoe", "--format", "json"],
        vec!["audit"],
        vec!["audit", "--format", "json"],
        vec!["audit", "--format", "csv"],
    ] {
        let (_, o, e) = env.run(&args);
        assert_eq!(leaked(&format!("{o}\n{e}"), &codes), None, "{args:?}");
    }
    // They are real codes.
    for c in &codes {
        assert_eq!(env.verify("zoe", c), 0, "{c}");
    }
}

#[test]
fn identity_checks_are_recorded_and_each_set_points_at_its_check() {
    let env = Env::new();
    env.enroll_landline("abe", "507-222-0200");
    assert_eq!(env.run(&["issue-codes", "abe"]).0, 3);

    let mut check_ids = Vec::new();
    for (method, ticket) in [("video-call", "INC-100"), ("callback", "INC-101")] {
        let (code, out, err) = env.run(&[
            "issue-codes",
            "abe",
            "--identity-verified",
            method,
            "--ticket",
            ticket,
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{err}");
        let j = json(&out);
        let check = j["identity_check"].as_i64().expect("identity_check");
        let set = j["batch"].as_i64().unwrap();
        let event = audit(&env)
            .into_iter()
            .find(|e| e["action"] == "identity-check" && e["details"]["check"] == check)
            .expect("the check is audited");
        assert_eq!(event["operator"], "tester");
        assert_eq!(event["user"], "abe");
        assert_eq!(event["details"]["method"], method);
        assert_eq!(event["details"]["ticket"], ticket);
        assert_eq!(event["details"]["outcome"], "passed");
        let u = user_json(&env, "abe");
        let sets = u["sets"].as_array().unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0]["id"], set);
        assert_eq!(sets[0]["identity_check"], check);
        assert_eq!(sets[0]["via"], "helpdesk");
        check_ids.push(check);
    }
    assert_ne!(check_ids[0], check_ids[1]);

    // The refused attempt is on record too.
    let refused: Vec<Value> = audit(&env)
        .into_iter()
        .filter(|e| e["action"] == "identity-check" && e["details"]["outcome"] != "passed")
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["operator"], "tester");
    assert_eq!(refused[0]["user"], "abe");
    assert_eq!(refused[0]["details"]["outcome"], "not-attested");
}

/// An Env whose SMS command holds each message until the file `go` exists
/// (a slow gateway), or until the run is killed.
/// It also ends when its folder goes (the test is over).
fn slow_sms_env() -> (Env, std::path::PathBuf) {
    // The script lives in the Env's folder, beside `go`.
    let env = Env::with_sms_script(
        "cat > /dev/null\nhere=$(dirname \"$0\")\nwhile [ ! -e \"$here/go\" ] && [ -d \"$here\" ]; do sleep 0.02; done",
    );
    let go = env.path().join("go");
    (env, go)
}

/// Waits until `user` has `n` pending sets (an SMS run is mid-delivery).
fn wait_for_pending(env: &Env, user: &str, n: i64) {
    let sql = format!(
        "SELECT count(*) FROM code_sets s JOIN users u ON u.id = s.user_id \
         WHERE u.name = '{user}' AND s.state = 'pending'"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while env.sql_i64(&sql) != n {
        assert!(
            std::time::Instant::now() < deadline,
            "no pending set for {user}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn sets_in_state(env: &Env, state: &str) -> i64 {
    env.sql_i64(&format!(
        "SELECT count(*) FROM code_sets WHERE state = '{state}'"
    ))
}

/// Rule 6 with two sets in flight: an SMS set still being delivered when a
/// newer set goes live must not replace it when its message finally goes
/// out. Its activation is refused (exit 4, saying the codes just sent do
/// not work), the newer codes keep working, and nothing is left pending.
#[test]
fn rule6_a_set_delivered_late_never_replaces_a_newer_one() {
    let (env, go) = slow_sms_env();
    env.enroll_mobile("vic", "507-222-0150");
    let slow = procs::spawn(&env, &["issue-codes", "vic"]);
    wait_for_pending(&env, "vic", 1);
    let newer = env.issue_helpdesk("vic", &[]);
    std::fs::write(&go, "").unwrap();
    let (status, _, err) = procs::finish(slow.wait_with_output().unwrap());
    assert_eq!(status, 4, "{err}");
    assert!(
        err.contains("replaced by a newer set") && err.contains("do not work"),
        "{err}"
    );
    assert_eq!(env.verify("vic", &newer[0]), 0, "the newer set stands");
    assert_eq!(sets_in_state(&env, "pending"), 0);
    assert_eq!(sets_in_state(&env, "active"), 1);
}

/// A run killed mid-delivery leaves its set pending (never live). The next
/// set the user gets ends it, so no pending set stays in the store.
#[test]
fn rule6_a_set_left_pending_by_a_killed_run_is_ended_by_the_next_set() {
    let (env, go) = slow_sms_env();
    env.enroll_mobile("wes", "507-222-0160");
    let mut killed = procs::spawn(&env, &["issue-codes", "wes"]);
    wait_for_pending(&env, "wes", 1);
    killed.kill().unwrap();
    killed.wait().unwrap();
    // The SMS command outlives the killed run (its own process group): let it end.
    std::fs::write(&go, "").unwrap();
    let codes = env.issue_helpdesk("wes", &[]);
    assert_eq!(
        sets_in_state(&env, "pending"),
        0,
        "the abandoned set was ended"
    );
    assert_eq!(env.verify("wes", &codes[0]), 0);
    let ended = env.sql_i64(
        "SELECT count(*) FROM code_sets WHERE state = 'replaced' AND ended_reason LIKE 'replaced by set %'",
    );
    assert_eq!(ended, 1);
}

/// The text after `marker` up to (not including) `end`.
fn between<'a>(text: &'a str, marker: &str, end: char) -> &'a str {
    let rest = &text[text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} in {text}"))
        + marker.len()..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[test]
fn rule8_the_advice_follows_the_sets_uses_and_expiry() {
    let env = Env::new();
    env.enroll_landline("bob", "507-222-0140");
    env.enroll_mobile("amy", "507-222-0141");
    let gate = ["--identity-verified", "in-person", "--ticket", "T-8"];
    let bounded = ["--uses", "3", "--expires", "2h"];

    // The helpdesk path at the terminal: the header and "Tell the user" agree.
    let mut args = vec!["issue-codes", "bob"];
    args.extend_from_slice(&bounded);
    args.extend_from_slice(&gate);
    let out = env.ok(&args);
    let expires = between(&out, "each works 3 times, expires ", ')').to_string();
    assert!(expires.starts_with("20") && expires.ends_with('Z'), "{out}");
    let tell = out
        .lines()
        .find(|l| l.starts_with("Tell the user: "))
        .unwrap_or_else(|| panic!("no advice: {out}"));
    assert!(tell.contains(ADVICE), "{tell}");
    assert!(tell.contains("Each code works 3 times."), "{tell}");
    assert!(tell.contains(&format!("They expire {expires}.")), "{tell}");
    assert!(!tell.contains("once"), "{tell}");

    // The printable card.
    let mut args = vec!["issue-codes", "bob", "--format", "text"];
    args.extend_from_slice(&bounded);
    args.extend_from_slice(&gate);
    let card = env.ok(&args).replace("\n ", " ");
    let until = between(&card, "Valid until ", '\n').trim().to_string();
    assert!(card.contains(ADVICE), "{card}");
    assert!(card.contains("Each code works 3 times."), "{card}");
    assert!(card.contains(&format!("They expire {until}.")), "{card}");
    assert!(!card.contains("once"), "{card}");

    // The text message.
    env.ok(&["issue-codes", "amy", "--uses", "2", "--expires", "1h"]);
    let sms = outbox_text(&env);
    let last = sms
        .rsplit("To: ")
        .next()
        .unwrap_or_default()
        .replace('\n', " ");
    assert!(last.contains(ADVICE), "{last}");
    assert!(last.contains("Each code works 2 times."), "{last}");
    let at = between(&last, "They expire ", ' ');
    assert!(at.starts_with("20") && at.ends_with("Z."), "{last}");
    assert!(!last.contains("once"), "{last}");

    // A plain set is still "once", with no expiry to tell.
    env.ok(&["issue-codes", "amy"]);
    let sms = outbox_text(&env);
    let last = sms
        .rsplit("To: ")
        .next()
        .unwrap_or_default()
        .replace('\n', " ");
    assert!(last.contains("Each code works once."), "{last}");
    assert!(!last.contains("expire"), "{last}");
}
