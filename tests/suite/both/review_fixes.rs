// Fixes from a reviewer's findings (session 5, branch hardening2), each
// through the real binary: a callback attested by flags with no number on
// file is refused as at the prompt; `revoke --device` tells the removed
// device too, and says when nobody could be told.
//
// Backend-neutral unless a test says otherwise.

use crate::common;
use common::Env;

const FAST: &str = "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n";

/// Fast hashing, SMS to the outbox, users told about changes (the default).
fn env_notifying() -> Env {
    let env = Env::with_raw_config("");
    std::fs::write(
        &env.config,
        format!(
            "{FAST}\n[sms]\noutbox = {:?}\n",
            env.outbox.display().to_string()
        ),
    )
    .unwrap();
    env
}

fn outbox(env: &Env) -> String {
    std::fs::read_to_string(&env.outbox).unwrap_or_default()
}

/// The audit events of `user` as (action, event JSON), oldest first.
fn events(env: &Env, user: &str) -> Vec<(String, serde_json::Value)> {
    env.ok(&["audit", "--user", user, "--format", "json"])
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).expect("audit json line");
            (e["action"].as_str().unwrap_or("").to_string(), e)
        })
        .collect()
}

#[test]
fn a_callback_with_no_number_on_file_is_refused_on_the_script_path() {
    let env = env_notifying();
    env.ok(&[
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "(507) 222-5999",
    ]);
    env.ok(&["issue-codes", "alice"]);
    // "I lost my phone": the only device goes, and with it the only number.
    env.ok(&["revoke", "alice", "--device", "1"]);
    let before = env.store_state();
    let (code, out, err) = env.run(&[
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "507-999-0001",
        "--identity-verified",
        "callback",
        "--ticket",
        "INC-6",
    ]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("identity check refused (no number on file to call back); nothing enrolled"),
        "{err}"
    );
    let (code, out, err) = env.run(&[
        "issue-codes",
        "alice",
        "--identity-verified",
        "callback",
        "--ticket",
        "INC-7",
    ]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.trim().is_empty(), "{out}");
    assert!(
        err.contains("identity check refused (no number on file to call back); nothing issued"),
        "{err}"
    );
    // Nothing enrolled or issued; both refusals recorded with method and ticket.
    let changes = before.changes(&env.store_state());
    assert!(
        !changes.contains("507-999") && !changes.contains("9990001"),
        "{changes}"
    );
    assert!(!outbox(&env).contains("+15079990001"));
    let refused: Vec<_> = events(&env, "alice")
        .into_iter()
        .filter(|(t, e)| t == "identity-check" && e["details"]["outcome"] == "refused")
        .map(|(_, e)| {
            (
                e["details"]["method"].as_str().unwrap_or("").to_string(),
                e["details"]["ticket"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            ("callback".to_string(), "INC-6".to_string()),
            ("callback".to_string(), "INC-7".to_string())
        ]
    );
    // With a number on file, the same flags still pass.
    let env = env_notifying();
    env.ok(&[
        "enroll-device",
        "bob",
        "--kind",
        "landline",
        "--phone",
        "507-222-0000",
    ]);
    let (code, _, err) = env.run(&[
        "issue-codes",
        "bob",
        "--identity-verified",
        "callback",
        "--ticket",
        "INC-8",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn revoking_a_device_tells_the_removed_device_and_says_when_nobody_was_told() {
    let env = env_notifying();
    env.ok(&[
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "(507) 222-5999",
    ]);
    env.ok(&["issue-codes", "alice"]);
    let codes = env.outbox_codes();
    assert!(!codes.is_empty());
    let (code, _, err) = env.run(&["revoke", "alice", "--device", "1"]);
    assert_eq!(code, 0, "{err}");
    // The last message went to the removed phone, and it holds no code.
    let text = outbox(&env);
    let last = text.rsplit("To: ").next().unwrap();
    assert!(last.starts_with("+15072225999"), "{last}");
    assert!(
        last.contains("a device was removed from your account"),
        "{last}"
    );
    assert!(!last.lines().any(common::looks_like_code), "{last}");
    assert_eq!(env.outbox_codes(), codes, "a notice carried a code");
    let notified: Vec<_> = events(&env, "alice")
        .into_iter()
        .filter(|(t, e)| t == "user-notified" && e["details"]["about"] == "device-removed")
        .collect();
    assert_eq!(notified.len(), 1);
    assert_eq!(
        notified[0].1["details"]["sent"],
        serde_json::json!(["device 1 (+*******5999)"])
    );

    // Other contacts are told too (the device left on file).
    env.ok(&[
        "enroll-device",
        "carol",
        "--kind",
        "mobile",
        "--phone",
        "507-222-1000",
    ]);
    env.enroll_mobile("carol", "507-222-1001");
    let (code, _, err) = env.run(&["revoke", "carol", "--device", "3"]);
    assert_eq!(code, 0, "{err}");
    let sent = events(&env, "carol")
        .into_iter()
        .rfind(|(t, _)| t == "user-notified")
        .unwrap()
        .1["details"]["sent"]
        .clone();
    assert_eq!(
        sent,
        serde_json::json!(["device 2 (+*******1000)", "device 3 (+*******1001)"])
    );

    // A landline cannot be texted: nobody can be told, so the operator is
    // warned and it is recorded.
    env.ok(&[
        "enroll-device",
        "bob",
        "--kind",
        "landline",
        "--phone",
        "507-222-0000",
    ]);
    let (code, _, err) = env.run(&["revoke", "bob", "--device", "4"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("codedesk: warning: could not notify bob: no contact on file to tell"),
        "{err}"
    );
    let failed: Vec<_> = events(&env, "bob")
        .into_iter()
        .filter(|(t, _)| t == "notify-failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].1["details"]["event"], "device-removed");
}
