// Limits on what one issuance may create (review findings): the 100-use
// cap holds for every set, not only with --preserve-existing; a set cannot
// expire before it is handed over; a helpdesk limit caps the configured
// default instead of refusing every issuance; weak codes are never issued
// silently.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use common::Env;
use serde_json::Value;

fn codes_left(env: &Env, user: &str) -> i64 {
    let v: Value = serde_json::from_str(&env.ok(&["list", user, "--format", "json"])).unwrap();
    v["codes_remaining"].as_i64().unwrap()
}

#[test]
fn a_set_never_holds_more_than_100_code_uses() {
    let env = Env::new();
    env.enroll_mobile("ann", "507-222-0120");
    let (code, _, err) = env.run(&["issue-codes", "ann", "--count", "100", "--uses", "100"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at most 100 code uses"), "{err}");
    assert_eq!(codes_left(&env, "ann"), 0);
    assert!(!env.outbox.exists(), "nothing was texted");
    env.ok(&["issue-codes", "ann", "--count", "20", "--uses", "5"]);
    assert_eq!(codes_left(&env, "ann"), 100);
}

#[test]
fn a_set_cannot_expire_before_it_is_handed_over() {
    let env = Env::new();
    env.enroll_mobile("ben", "507-222-0121");
    for short in ["500ms", "1ns", "59s"] {
        let (code, _, err) = env.run(&["issue-codes", "ben", "--expires", short]);
        assert_eq!(code, 2, "{short}: {err}");
        assert!(err.contains("--expires"), "{err}");
    }
    assert_eq!(codes_left(&env, "ben"), 0);
}

#[test]
fn helpdesk_max_uses_caps_the_configured_default_and_refuses_an_explicit_excess() {
    let env = Env::with_config("[codes]\nuses = 3\n\n[helpdesk]\nmax_uses = 1\n");
    env.enroll_landline("cy", "507-222-0122");
    let out = env.ok(&[
        "issue-codes",
        "cy",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-9",
        "--format",
        "json",
    ]);
    let j: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(j["uses"], 1, "{j}");
    let (code, _, err) = env.run(&[
        "issue-codes",
        "cy",
        "--uses",
        "2",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-9",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("helpdesk.max_uses"), "{err}");
}

#[test]
fn weak_codes_are_issued_with_a_warning() {
    let env = Env::with_config("[codes]\nalphabet = \"digits\"\n");
    env.enroll_mobile("dot", "507-222-0123");
    let (code, _, err) = env.run(&["issue-codes", "dot"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("below the 64-bit floor"), "{err}");
    let strong = Env::new();
    strong.enroll_mobile("dot", "507-222-0123");
    let (_, _, err) = strong.run(&["issue-codes", "dot"]);
    assert!(!err.contains("64-bit floor"), "{err}");
}
