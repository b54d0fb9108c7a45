// `codedesk verify` as a PAM module through pam_exec, driven by pamtester
// with the stanza of examples/pam.d/codedesk (the one the docs quote and
// the package installs): a valid code authenticates and then sets
// credentials (pam_setcred, which sshd calls and pamtester's
// `authenticate` alone does not), the same code again does not, and a
// locked user does not. pam_exec runs the program with an empty
// environment (only PAM_USER, PAM_SERVICE, PAM_TYPE and friends), so the
// stanza gives `--config`, whose `store.db` names the store;
// `expose_authtok` writes the typed token to the program's standard input,
// which `verify` reads with or without a trailing newline or NUL.
//
// The PAM tests need root (they write a service file into /etc/pam.d),
// pamtester and pam_exec.so (`apt-get install pamtester libpam-modules`;
// .ci/run installs them). Elsewhere they say loudly that they were skipped;
// under CI (`CI` set) a missing prerequisite is a failure.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres). There the config's `store.db` is a postgres:// URL,
// as a site with a shared server would write it: verify must reach the
// server from pam_exec's empty environment.

use crate::common;
use crate::pam_common;
use common::Env;
use pam_common::{PamFile, can_run as can_run_as, pam_exec_missing, stanza, which, write_pam_file};
use std::process::{Command, Stdio};

/// Why the PAM tests cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    if which("pamtester").is_none() {
        return Some("pamtester is not installed (apt-get install pamtester)".into());
    }
    pam_exec_missing()
}

/// True when the test may go on; false (after saying so) when it must skip.
fn can_run(test: &str) -> bool {
    can_run_as(test, "PAM", missing_prerequisite())
}

/// A service holding the shipped stanza (examples/pam.d/codedesk, with the
/// binary and config paths pointed at this test's: see
/// `pam_common::stanza`), whose config names this test's store, plus an
/// account rule for pamtester.
fn service(env: &Env, tag: &str) -> PamFile {
    pam_common::config_names_store(env);
    let text = format!(
        "# written by codedesk's tests/suite/both/pam.rs; safe to delete\n{}account required pam_permit.so\n",
        stanza(&env.config)
    );
    write_pam_file(&pam_common::unique_name(tag), &text)
}

/// `pamtester SERVICE USER authenticate setcred` with `token` typed at the
/// "Password:" prompt; true when it authenticated. An authentication that
/// succeeds must then set credentials too, as sshd needs.
fn pamtester(svc: &PamFile, user: &str, token: &str) -> bool {
    let (status, text) = pamtester_ops(svc, user, token, &["authenticate", "setcred"]);
    let ok = text.contains("successfully authenticated");
    if ok {
        assert!(
            text.contains("credential info has successfully been set"),
            "authenticated, but pam_setcred failed (sshd would refuse the login): {text}"
        );
    }
    assert_eq!(
        ok, status,
        "pamtester's status and message disagree: {text}"
    );
    ok
}

/// pamtester's success and its output, `ops` run in turn on one handle.
fn pamtester_ops(svc: &PamFile, user: &str, token: &str, ops: &[&str]) -> (bool, String) {
    let mut child = Command::new(which("pamtester").expect("pamtester"))
        .arg(&svc.name)
        .arg(user)
        .args(ops)
        .env_remove("PAM_USER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pamtester");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        // An operation that reads no token (setcred alone) may end before
        // the token is written: a broken pipe is its answer, not a failure.
        if let Err(e) = stdin.write_all(format!("{token}\n").as_bytes()) {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe,
                "type the token: {e}"
            );
        }
    }
    let out = child.wait_with_output().expect("pamtester");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A user whose only device is a landline, with `n` helpdesk codes.
fn user_with_codes(env: &Env, user: &str, n: &str) -> Vec<String> {
    env.enroll_landline(user, "507-222-0000");
    env.issue_helpdesk(user, &["--count", n])
}

fn actions(env: &Env, user: &str) -> Vec<(String, String)> {
    env.ok(&["audit", "--user", user, "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["operator"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_valid_code_authenticates_once_through_pam_exec() {
    if !can_run("a_valid_code_authenticates_once_through_pam_exec") {
        return;
    }
    let env = Env::new();
    let codes = user_with_codes(&env, "pam.user", "3");
    let svc = service(&env, "once");

    assert!(pamtester(&svc, "pam.user", &codes[0]), "a valid code");
    assert!(
        !pamtester(&svc, "pam.user", &codes[0]),
        "the same code again"
    );
    // Typed the forgiving way: lower case, no dashes.
    let sloppy = codes[1].replace('-', "").to_lowercase();
    assert!(pamtester(&svc, "pam.user", &sloppy), "{sloppy}");
    assert!(!pamtester(&svc, "pam.user", ""), "an empty token");
    assert!(!pamtester(&svc, "nobody", &codes[2]), "another user's code");

    let acts = actions(&env, "pam.user");
    let verifies: Vec<&str> = acts
        .iter()
        .filter(|(a, op)| a.starts_with("verify") && op == "pam")
        .map(|(a, _)| a.as_str())
        .collect();
    assert_eq!(
        verifies[..3],
        ["verify-accepted", "verify-rejected", "verify-accepted"],
        "PAM_USER was the user checked: {acts:?}"
    );
    let left: serde_json::Value =
        serde_json::from_str(&env.ok(&["list", "pam.user", "--format", "json"])).unwrap();
    assert_eq!(left["codes_remaining"], 1);
}

#[test]
fn a_locked_user_is_refused_through_pam_exec() {
    if !can_run("a_locked_user_is_refused_through_pam_exec") {
        return;
    }
    let env = Env::with_config("[lockout]\nthreshold = 1\n");
    let codes = user_with_codes(&env, "locked.user", "2");
    let svc = service(&env, "lock");

    assert!(
        !pamtester(&svc, "locked.user", "0000-0000-0000-0000"),
        "a wrong code"
    );
    assert!(
        !pamtester(&svc, "locked.user", &codes[0]),
        "a valid code while locked out"
    );
    assert_eq!(
        env.verify("locked.user", &codes[0]),
        5,
        "locked, not rejected"
    );
    let acts = actions(&env, "locked.user");
    assert!(acts.iter().any(|(a, _)| a == "lockout"), "{acts:?}");
    assert!(acts.iter().any(|(a, _)| a == "verify-locked"), "{acts:?}");

    env.ok(&["unlock", "locked.user"]);
    assert!(
        pamtester(&svc, "locked.user", &codes[0]),
        "the same code works once unlocked: it was the lockout that refused it"
    );
}

#[test]
fn verify_reads_the_token_with_or_without_a_trailing_newline_or_nul() {
    // No root needed: this is what pam_exec's expose_authtok hands over
    // (with or without a NUL, depending on the version) or a shell's echo.
    let env = Env::new();
    let codes = user_with_codes(&env, "tok", "7");
    let endings = ["", "\n", "\0", "\r\n", "\n\0", "\0\n"];
    for (code, end) in codes.iter().zip(endings) {
        let out = env
            .cmd()
            .arg("verify")
            .env("PAM_USER", "tok")
            .write_stdin(format!("{code}{end}").into_bytes())
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "token ending {end:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A NUL inside the token is not a code, and costs no attempt.
    let out = env
        .cmd()
        .arg("verify")
        .env("PAM_USER", "tok")
        .write_stdin(format!("{}\0junk", codes[6]).into_bytes())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Without a USER argument or PAM_USER, verify asks for one.
    let (code, _, err) = env.run_stdin(&["verify"], &codes[6]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("PAM_USER"), "{err}");
    assert_eq!(
        env.verify("tok", &codes[6]),
        0,
        "the last code is still good"
    );
}

/// The payloads of `user`'s events named `action`, oldest first.
fn payloads(env: &Env, user: &str, action: &str) -> Vec<serde_json::Value> {
    env.ok(&["audit", "--user", user, "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["action"] == action)
        .map(|e| e["details"].clone())
        .collect()
}

#[test]
fn verify_records_the_service_that_asked() {
    // No root needed: `--service`, else pam_exec's PAM_SERVICE, goes into
    // every verify event's payload; never the code.
    let env = Env::with_config("[lockout]\nthreshold = 3\n");
    let codes = user_with_codes(&env, "svc", "3");
    let run = |args: &[&str], pam_service: Option<&str>, token: &str| {
        let mut c = env.cmd();
        c.arg("verify").args(args).env("PAM_USER", "svc");
        if let Some(s) = pam_service {
            c.env("PAM_SERVICE", s);
        }
        c.write_stdin(format!("{token}\n").into_bytes())
            .output()
            .expect("run")
            .status
            .code()
    };
    assert_eq!(run(&["--service", "radius"], None, &codes[0]), Some(0));
    assert_eq!(run(&[], Some("sshd"), &codes[1]), Some(0));
    // The flag wins over the environment.
    assert_eq!(
        run(&["--service", "vpn"], Some("sshd"), "0000-0000-0000-0000"),
        Some(1)
    );
    // Neither: no service recorded.
    assert_eq!(run(&[], None, &codes[2]), Some(0));
    // A name with a control character is refused before anything is read.
    assert_eq!(run(&["--service", "a\u{1}b"], None, &codes[2]), Some(2));

    let accepted = payloads(&env, "svc", "verify-accepted");
    let services: Vec<Option<&str>> = accepted.iter().map(|p| p["service"].as_str()).collect();
    assert_eq!(
        services,
        [Some("radius"), Some("sshd"), None],
        "{accepted:?}"
    );
    let rejected = payloads(&env, "svc", "verify-rejected");
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["service"], "vpn");
    let trail = env.ok(&["audit", "--user", "svc", "--format", "json"]);
    for code in &codes {
        for s in common::spellings(code) {
            assert!(!trail.contains(&s), "a code in the trail: {trail}");
        }
    }
}

#[test]
fn without_its_pam_permit_line_the_stanza_fails_setcred() {
    // Why the stanza has `auth required pam_permit.so`: pam_exec does
    // nothing at pam_setcred (PAM_IGNORE), and a setcred stack with no
    // success in it fails, "Permission denied", which made sshd refuse a
    // login after verify had accepted (and spent) the code.
    if !can_run("without_its_pam_permit_line_the_stanza_fails_setcred") {
        return;
    }
    let env = Env::new();
    let codes = user_with_codes(&env, "setcred.user", "2");
    pam_common::config_names_store(&env);
    let full = stanza(&env.config);
    let permit = "auth  required  pam_permit.so\n";
    assert_eq!(full.matches(permit).count(), 1, "{full}");
    let bare = write_pam_file(
        &pam_common::unique_name("bare"),
        &format!(
            "{}account required pam_permit.so\n",
            full.replace(permit, "")
        ),
    );
    let (ok, text) = pamtester_ops(
        &bare,
        "setcred.user",
        &codes[0],
        &["authenticate", "setcred"],
    );
    assert!(!ok, "{text}");
    assert!(text.contains("successfully authenticated"), "{text}");
    assert!(text.contains("Permission denied"), "{text}");
    // With it (the shipped stanza), the same sequence succeeds.
    let svc = write_pam_file(
        &pam_common::unique_name("full"),
        &format!("{full}account required pam_permit.so\n"),
    );
    assert!(pamtester(&svc, "setcred.user", &codes[1]));
    // setcred alone never runs verify: nothing is spent or recorded.
    let before = actions(&env, "setcred.user").len();
    let (ok, text) = pamtester_ops(&svc, "setcred.user", "", &["setcred"]);
    assert!(ok, "{text}");
    assert_eq!(actions(&env, "setcred.user").len(), before);
}

#[test]
fn verify_refuses_a_pam_step_other_than_auth() {
    // No root needed: pam_exec sets PAM_TYPE; only "auth" carries a token.
    let env = Env::new();
    let codes = user_with_codes(&env, "step", "1");
    let before = actions(&env, "step").len();
    for step in [
        "account",
        "open_session",
        "close_session",
        "password",
        "setcred",
    ] {
        let out = env
            .cmd()
            .arg("verify")
            .env("PAM_USER", "step")
            .env("PAM_TYPE", step)
            .write_stdin(format!("{}\n", codes[0]).into_bytes())
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{step}: {err}");
        assert!(err.contains("type=auth"), "{err}");
    }
    assert_eq!(actions(&env, "step").len(), before, "nothing recorded");
    let out = env
        .cmd()
        .arg("verify")
        .env("PAM_USER", "step")
        .env("PAM_TYPE", "auth")
        .write_stdin(format!("{}\n", codes[0]).into_bytes())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "the code is still good at auth");
}
