//! Shared test harness: the real `codedesk` binary on a temporary store,
//! with a scrubbed environment so the machine cannot change the result.
//! Hashing uses weak Argon2 parameters (`hash.allow_weak`) to keep the
//! suite fast; the production floor is tested in unit tests.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub const BIN: &str = env!("CARGO_BIN_EXE_codedesk");

/// A throwaway store, config and SMS outbox.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub config: PathBuf,
    pub outbox: PathBuf,
}

impl Env {
    /// Fast hashing, SMS to an outbox.
    pub fn new() -> Env {
        Env::with_config("")
    }

    /// Like `new`, with extra TOML appended to the config (later tables win
    /// only if they do not repeat [hash] or [sms]; use `with_raw_config` for that).
    pub fn with_config(extra: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = dir.path().join("outbox.txt");
        let text = format!(
            "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\noutbox = {:?}\n\n{extra}",
            outbox.display().to_string()
        );
        Env::build(dir, &text, outbox)
    }

    /// A config file of exactly `text` (fast hashing is *not* added).
    pub fn with_raw_config(text: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = dir.path().join("outbox.txt");
        Env::build(dir, text, outbox)
    }

    fn build(dir: tempfile::TempDir, config_text: &str, outbox: PathBuf) -> Env {
        let db = dir.path().join("store").join("codedesk.db");
        let config = dir.path().join("config.toml");
        std::fs::write(&config, config_text).expect("write config");
        Env {
            dir,
            db,
            config,
            outbox,
        }
    }

    /// `codedesk --db .. --config .. --operator tester ARGS`, environment scrubbed.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        scrub(&mut c);
        c.env("HOME", self.dir.path())
            .arg("--db")
            .arg(&self.db)
            .arg("--config")
            .arg(&self.config)
            .arg("--operator")
            .arg("tester");
        c
    }

    /// Runs and returns (status, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_stdin(args, "")
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let out = self
            .cmd()
            .args(args)
            .write_stdin(stdin.as_bytes().to_vec())
            .output()
            .expect("run codedesk");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs and asserts the exit status; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "codedesk {args:?} failed: {err}");
        out
    }

    pub fn enroll_mobile(&self, user: &str, phone: &str) -> i64 {
        self.enroll_phone("mobile", user, phone)
    }

    pub fn enroll_landline(&self, user: &str, phone: &str) -> i64 {
        self.enroll_phone("landline", user, phone)
    }

    /// Enrols a phone and returns its device id. The attestation is needed
    /// when the user already exists (a new device is gated) and ignored
    /// for a first enrolment.
    pub fn enroll_phone(&self, kind: &str, user: &str, phone: &str) -> i64 {
        self.ok(&[
            "enroll-device",
            user,
            "--kind",
            kind,
            "--phone",
            phone,
            "-q",
            "--identity-verified",
            "in-person",
            "--ticket",
            "T-0",
        ])
        .trim()
        .parse()
        .expect("device id")
    }

    /// Every code ever written to the outbox, in order (formatted XXXX-XXXX-...).
    pub fn outbox_codes(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.outbox).unwrap_or_default();
        text.lines()
            .filter(|l| looks_like_code(l))
            .map(str::to_string)
            .collect()
    }

    /// The codes of the most recent outbox message.
    pub fn last_sms_codes(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.outbox).unwrap_or_default();
        let last = text.rsplit("To: ").next().unwrap_or("");
        last.lines()
            .filter(|l| looks_like_code(l))
            .map(str::to_string)
            .collect()
    }

    /// Issues helpdesk codes with an attestation; returns them.
    pub fn issue_helpdesk(&self, user: &str, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            "issue-codes",
            user,
            "--via",
            "helpdesk",
            "--identity-verified",
            "in-person",
            "--ticket",
            "T-1",
            "-q",
        ];
        args.extend_from_slice(extra);
        self.ok(&args).lines().map(str::to_string).collect()
    }

    /// `verify USER` with `code` on stdin; returns the exit status.
    pub fn verify(&self, user: &str, code: &str) -> i32 {
        self.run_stdin(&["verify", user], code).0
    }

    /// The temporary folder holding store, config and outbox.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes every variable that could change codedesk's behaviour.
pub fn scrub(c: &mut Command) {
    for v in [
        "CODEDESK_DB",
        "CODEDESK_CONFIG",
        "CODEDESK_OPERATOR",
        "CODEDESK_NOW",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "SUDO_USER",
        "USER",
        "PAM_USER",
        "NO_COLOR",
        "COLUMNS",
    ] {
        c.env_remove(v);
    }
}

/// A formatted base32 code: four groups of four.
pub fn looks_like_code(l: &str) -> bool {
    let l = l.trim();
    l.len() == 19
        && l.split('-').count() == 4
        && l.split('-')
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Every spelling of a code a leak could take: as shown, without dashes,
/// lower case, and each half (a partial leak).
pub fn spellings(code: &str) -> Vec<String> {
    let bare: String = code.chars().filter(|c| *c != '-').collect();
    let mut v = vec![
        code.to_string(),
        code.to_lowercase(),
        bare.clone(),
        bare.to_lowercase(),
        bare.chars().rev().collect(),
    ];
    let half = bare.len() / 2;
    v.push(bare[..half].to_string());
    v.push(bare[half..].to_string());
    v.push(code[..9].to_string());
    v.push(code[10..].to_string());
    v
}
