// The identity gate and the hidden code prompt, driven through a real
// pseudo-terminal (rexpect). The terminal starts with echo on, as a real
// one does, so a prompt that fails to hide what is typed is caught.
//
// Keys are sent only once the program has put the terminal in the mode it
// reads in (raw for menus and single keys, no-echo for the hidden prompt),
// read from the terminal itself with `stty -F`: a Ctrl-C byte sent while the
// terminal is still in line mode would be turned into SIGINT by the kernel
// and test a different path.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use common::{BIN, Env, looks_like_code, spellings};
use rexpect::process::{Signal, WaitStatus};
use rexpect::session::{PtySession, spawn_command};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const TIMEOUT_MS: u64 = 10_000;
const MENU: &str = "How did you verify this person's identity?";
const MATCH: &str = "Did the person match";
const TICKET: &str = "Ticket reference";
const CTRL_C: &str = "\x03";
pub(crate) const ESC: &str = "\x1b";
pub(crate) const ENTER: &str = "\r";

/// A `codedesk` run on a pseudo-terminal, with everything it printed so far.
pub(crate) struct Pty {
    s: PtySession,
    tty: String,
    log: String,
}

impl Pty {
    /// `codedesk --db .. --config .. --operator tester ARGS` on a fresh
    /// terminal, with an empty environment but for HOME, TERM, PATH and `vars`.
    fn spawn(env: &Env, vars: &[(&str, &str)], args: &[&str]) -> Pty {
        let mut c = Command::new("/bin/sh");
        c.env_clear()
            .env("HOME", env.path())
            .env("TERM", "xterm")
            .env("PATH", "/usr/bin:/bin");
        for (k, v) in vars {
            c.env(k, v);
        }
        // rexpect turns echo off on its terminal; put it back as a user's has it.
        c.arg("-c")
            .arg("stty echo && exec \"$0\" \"$@\"")
            .arg(BIN)
            .arg("--db")
            .arg(&env.db)
            .arg("--config")
            .arg(&env.config)
            .arg("--operator")
            .arg("tester")
            .args(args);
        Pty::on(c)
    }

    /// `c` on a fresh terminal, as it is (other suites' commands: the
    /// approvals' second principal).
    pub(crate) fn on(c: Command) -> Pty {
        let s = spawn_command(c, Some(TIMEOUT_MS)).expect("spawn codedesk on a pty");
        let tty = pts_name(&s);
        Pty {
            s,
            tty,
            log: String::new(),
        }
    }

    /// Waits for `needle` on the terminal.
    pub(crate) fn expect(&mut self, needle: &str) {
        match self.s.exp_string(needle) {
            Ok(before) => {
                self.log.push_str(&before);
                self.log.push_str(needle);
            }
            Err(e) => panic!(
                "waiting for {needle:?}: {e}\nterminal so far:\n{}",
                self.log
            ),
        }
    }

    /// The terminal's settings as `stty -a` prints them.
    fn stty(&self) -> String {
        let out = Command::new("stty")
            .arg("-F")
            .arg(&self.tty)
            .arg("-a")
            .output()
            .expect("run stty");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the terminal's settings include every one of `flags`
    /// (words of `stty -a`, such as `-isig`). There is no output to wait for
    /// here: the program switches modes silently after drawing its prompt.
    fn wait_for_mode(&self, flags: &[&str]) {
        let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS);
        loop {
            let now = self.stty();
            if flags
                .iter()
                .all(|f| now.split_whitespace().any(|w| w == *f))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never reached {flags:?}; it is:\n{now}\nterminal so far:\n{}",
                self.log
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `keys` at a prompt that reads single keys (raw mode).
    pub(crate) fn key(&mut self, keys: &str) {
        self.wait_for_mode(&["-icanon", "-isig"]);
        self.send(keys);
    }

    fn send(&mut self, text: &str) {
        self.s.send(text).expect("write to the pty");
        self.s.flush().expect("flush the pty");
    }

    /// Waits for the program to end; returns its exit status and the whole
    /// terminal transcript.
    pub(crate) fn finish(mut self) -> (i32, String) {
        match self.s.exp_eof() {
            Ok(rest) => self.log.push_str(&rest),
            Err(e) => panic!("codedesk did not exit: {e}\nterminal so far:\n{}", self.log),
        }
        let status = self.s.process().wait().expect("wait for codedesk");
        match status {
            WaitStatus::Exited(_, code) => (code, self.log),
            other => panic!("codedesk ended by {other:?}\nterminal:\n{}", self.log),
        }
    }
}

impl Pty {
    /// [`Pty::finish`], then the terminal's settings as the program left
    /// them (read while the terminal still exists).
    fn finish_then_stty(mut self) -> (i32, String, String) {
        match self.s.exp_eof() {
            Ok(rest) => self.log.push_str(&rest),
            Err(e) => panic!("codedesk did not exit: {e}\nterminal so far:\n{}", self.log),
        }
        let status = self.s.process().wait().expect("wait for codedesk");
        let stty = self.stty();
        match status {
            WaitStatus::Exited(_, code) => (code, self.log, stty),
            other => panic!("codedesk ended by {other:?}\nterminal:\n{}", self.log),
        }
    }
}

/// `/dev/pts/N` of the session's terminal, from the master's fdinfo.
fn pts_name(s: &PtySession) -> String {
    use std::os::fd::AsRawFd;
    let master = s.process().get_file_handle().expect("pty master");
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", master.as_raw_fd()))
        .expect("read the pty master's fdinfo");
    let index = info
        .lines()
        .find_map(|l| l.strip_prefix("tty-index:"))
        .expect("tty-index in the pty master's fdinfo")
        .trim()
        .to_string();
    format!("/dev/pts/{index}")
}

/// A user whose only device is a landline: helpdesk path, so the gate.
fn landline_user(env: &Env, user: &str) {
    env.enroll_landline(user, "(507) 222-5999");
}

fn codes_remaining(env: &Env, user: &str) -> i64 {
    let out = env.ok(&["list", "--format", "json"]);
    let users: Value = serde_json::from_str(&out).expect("list --format json");
    users
        .as_array()
        .expect("a JSON array of users")
        .iter()
        .find(|u| u["user"] == user)
        .unwrap_or_else(|| panic!("{user} in {out}"))["codes_remaining"]
        .as_i64()
        .expect("codes_remaining")
}

/// The details of every identity-check event in the audit trail.
fn identity_checks(env: &Env) -> Vec<Value> {
    env.ok(&["audit", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("one JSON event a line"))
        .filter(|e| e["action"] == "identity-check")
        .map(|e| e["details"].clone())
        .collect()
}

/// Asserts that exactly one check was recorded, with this outcome; returns it.
fn one_check(env: &Env, outcome: &str) -> Value {
    let checks = identity_checks(env);
    assert_eq!(checks.len(), 1, "one identity check recorded: {checks:?}");
    assert_eq!(checks[0]["outcome"], outcome, "{checks:?}");
    checks[0].clone()
}

/// The cursor is visible at the end: every hide (ESC[?25l) is followed by a show.
fn assert_cursor_shown(log: &str) {
    if let Some(hidden) = log.rfind("\x1b[?25l") {
        assert!(
            log[hidden..].contains("\x1b[?25h"),
            "the cursor was left hidden:\n{log:?}"
        );
    }
}

/// Every formatted code on the terminal, as often as it appears.
fn codes_shown(log: &str) -> Vec<String> {
    log.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| looks_like_code(w))
        .map(str::to_string)
        .collect()
}

/// Opens the gate for `user` and waits for the method menu.
fn at_menu(env: &Env, vars: &[(&str, &str)], user: &str) -> Pty {
    let mut p = Pty::spawn(env, vars, &["issue-codes", user]);
    p.expect(MENU);
    p
}

/// Picks the first method (in person) and waits for the match question.
fn at_match(env: &Env, user: &str) -> Pty {
    let mut p = at_menu(env, &[], user);
    p.key(ENTER);
    p.expect(MATCH);
    p
}

fn at_ticket(env: &Env, user: &str) -> Pty {
    let mut p = at_match(env, user);
    p.key("y");
    p.key(ENTER);
    p.expect(TICKET);
    p
}

fn assert_refused_nothing_issued(env: &Env, status: i32, log: &str, outcome: &str) -> Value {
    assert_eq!(status, 3, "exit status 3 (identity):\n{log}");
    assert!(log.contains("nothing issued"), "{log}");
    assert!(codes_shown(log).is_empty(), "no code shown:\n{log}");
    assert_eq!(codes_remaining(env, "bob"), 0);
    assert_cursor_shown(log);
    one_check(env, outcome)
}

#[test]
fn could_not_verify_is_refused_and_issues_nothing() {
    let env = Env::new();
    landline_user(&env, "bob");
    let mut p = at_menu(&env, &[], "bob");
    p.expect("I could not verify this person");
    // Up from the first item wraps round to the last: "I could not verify".
    p.key("k");
    p.key(ENTER);
    let (status, log) = p.finish();
    let check = assert_refused_nothing_issued(&env, status, &log, "refused");
    assert_eq!(check["method"], Value::Null);
}

#[test]
fn no_match_is_refused_and_issues_nothing() {
    let env = Env::new();
    landline_user(&env, "bob");
    let mut p = at_match(&env, "bob");
    p.key("n");
    p.key(ENTER);
    let (status, log) = p.finish();
    let check = assert_refused_nothing_issued(&env, status, &log, "refused");
    assert_eq!(check["method"], "in-person");
}

#[test]
fn ctrl_c_at_the_menu_aborts() {
    let env = Env::new();
    landline_user(&env, "bob");
    let mut p = at_menu(&env, &[], "bob");
    p.key(CTRL_C);
    let (status, log) = p.finish();
    assert_refused_nothing_issued(&env, status, &log, "aborted");
}

#[test]
fn ctrl_c_at_the_ticket_prompt_aborts() {
    let env = Env::new();
    landline_user(&env, "bob");
    let mut p = at_ticket(&env, "bob");
    p.key("T-9");
    p.key(CTRL_C);
    let (status, log) = p.finish();
    let check = assert_refused_nothing_issued(&env, status, &log, "aborted");
    assert_eq!(check["method"], "in-person");
    assert!(
        !log.contains("no ticket reference"),
        "Ctrl-C is not a missing ticket:\n{log}"
    );
}

/// SIGINT from outside the prompt's own key handling (the terminal in line
/// mode, or `kill -INT`) is handled by the interrupt handler, which must
/// record the same aborted check.
#[test]
fn sigint_at_the_ticket_prompt_aborts() {
    let env = Env::new();
    landline_user(&env, "bob");
    let mut p = at_ticket(&env, "bob");
    p.wait_for_mode(&["-icanon", "-isig"]);
    p.s.process_mut()
        .signal(Signal::SIGINT)
        .expect("send SIGINT");
    let (status, log) = p.finish();
    let check = assert_refused_nothing_issued(&env, status, &log, "aborted");
    assert_eq!(check["method"], "in-person");
}

/// SIGHUP (what the kernel sends when the terminal is closed) and SIGTERM
/// (a shutdown, `kill`) during the prompt record the same aborted check,
/// with the method already chosen, instead of ending codedesk unrecorded.
#[test]
fn sighup_and_sigterm_at_the_prompt_abort_and_are_recorded() {
    for (signal, name) in [
        (Signal::SIGHUP, "the terminal closed (SIGHUP)"),
        (Signal::SIGTERM, "SIGTERM"),
    ] {
        let env = Env::new();
        landline_user(&env, "bob");
        let mut p = at_ticket(&env, "bob");
        p.wait_for_mode(&["-icanon", "-isig"]);
        p.s.process_mut().signal(signal).expect("send the signal");
        let (status, log) = p.finish();
        let check = assert_refused_nothing_issued(&env, status, &log, "aborted");
        assert_eq!(check["method"], "in-person");
        assert!(log.contains(name), "{log}");
    }
}

#[test]
fn escape_at_the_menu_aborts() {
    let env = Env::new();
    landline_user(&env, "bob");
    let mut p = at_menu(&env, &[], "bob");
    p.key(ESC);
    let (status, log) = p.finish();
    assert_refused_nothing_issued(&env, status, &log, "aborted");
}

#[test]
fn empty_ticket_aborts() {
    let env = Env::new();
    landline_user(&env, "bob");
    let mut p = at_ticket(&env, "bob");
    p.key(ENTER);
    let (status, log) = p.finish();
    let check = assert_refused_nothing_issued(&env, status, &log, "aborted");
    assert_eq!(check["method"], "in-person");
    assert!(log.contains("no ticket reference was given"), "{log}");
}

#[test]
fn a_passed_check_shows_the_codes_once_and_they_work() {
    let env = Env::new();
    landline_user(&env, "bob");
    let mut p = at_menu(&env, &[], "bob");
    p.key("j"); // video call
    p.key(ENTER);
    p.expect(MATCH);
    p.key("y");
    p.key(ENTER);
    p.expect(TICKET);
    p.key("INC-4242");
    p.key(ENTER);
    let (status, log) = p.finish();
    assert_eq!(status, 0, "{log}");
    assert_cursor_shown(&log);

    let shown = codes_shown(&log);
    let mut distinct = shown.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "ten codes shown:\n{log}");
    assert_eq!(shown.len(), 10, "each code shown exactly once:\n{log}");
    assert_eq!(codes_remaining(&env, "bob"), 10);

    let check = one_check(&env, "passed");
    assert_eq!(check["method"], "video-call");
    assert_eq!(check["ticket"], "INC-4242");

    assert_eq!(env.verify("bob", &shown[3]), 0, "a shown code verifies");
    assert_eq!(env.verify("bob", &shown[3]), 1, "and only once");
    assert_eq!(env.verify("bob", "AAAA-AAAA-AAAA-AAAA"), 1);
}

#[test]
fn verify_at_a_terminal_hides_the_code() {
    let env = Env::new();
    landline_user(&env, "bob");
    let codes = env.issue_helpdesk("bob", &[]);
    assert_eq!(codes.len(), 10);
    let code = &codes[0];

    let mut p = Pty::spawn(&env, &[], &["verify", "bob"]);
    p.expect("Backup code for bob");
    // The hidden prompt reads a line with echo off; only then type.
    p.wait_for_mode(&["-echo", "icanon"]);
    p.send(code);
    p.send("\n");
    let (status, log) = p.finish();
    assert_eq!(status, 0, "{log}");
    assert!(log.contains("accepted"), "{log}");
    for s in spellings(code) {
        assert!(!log.contains(&s), "{s:?} (of the code) echoed:\n{log:?}");
    }
    assert_eq!(env.verify("bob", code), 1, "the code was spent");
}

/// Ctrl-C at the hidden prompt (line mode, so the kernel makes it SIGINT):
/// exit 2 in one line, nothing spent, and the terminal gets its echo back.
/// Killed by the signal's default action, codedesk would leave echo off and
/// the operator typing blind at the shell.
#[test]
fn ctrl_c_at_the_hidden_code_prompt_gives_the_echo_back() {
    let env = Env::new();
    landline_user(&env, "bob");
    let codes = env.issue_helpdesk("bob", &[]);
    let mut p = Pty::spawn(&env, &[], &["verify", "bob"]);
    p.expect("Backup code for bob");
    p.wait_for_mode(&["-echo", "icanon", "isig"]);
    p.send(&codes[0][..4]);
    p.send(CTRL_C);
    let (status, log, stty) = p.finish_then_stty();
    assert_eq!(status, 2, "{log}");
    assert!(log.contains("no code was entered (Ctrl-C)"), "{log}");
    assert!(
        stty.split_whitespace().any(|w| w == "echo"),
        "echo was left off:\n{stty}"
    );
    assert_eq!(codes_remaining(&env, "bob"), 10, "nothing was spent");
    assert_eq!(env.verify("bob", &codes[0]), 0, "the code still works");
}

/// An SGR sequence setting a foreground or background colour.
fn colour_escapes(log: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in log.match_indices("\x1b[") {
        let rest = &log[i + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(rest.len());
        if !rest[end..].starts_with('m') {
            continue;
        }
        let params = &rest[..end];
        if params.split(';').any(|p| {
            matches!(
                p.parse::<u32>(),
                Ok(30..=39 | 40..=49 | 90..=97 | 100..=107)
            )
        }) {
            found.push(format!("ESC[{params}m"));
        }
    }
    found
}

#[test]
fn no_color_prompts_have_no_colour() {
    let env = Env::new();
    landline_user(&env, "bob");

    // The default theme is coloured: the check below can see colour.
    let mut p = at_menu(&env, &[], "bob");
    p.key(ESC);
    let (status, log) = p.finish();
    assert_eq!(status, 3, "{log}");
    assert!(!colour_escapes(&log).is_empty(), "{log:?}");

    // An empty NO_COLOR is no NO_COLOR (no-color.org): still coloured.
    let mut p = at_menu(&env, &[("NO_COLOR", "")], "bob");
    p.key(ESC);
    let (status, log) = p.finish();
    assert_eq!(status, 3, "{log}");
    assert!(!colour_escapes(&log).is_empty(), "{log:?}");

    let mut p = at_menu(&env, &[("NO_COLOR", "1")], "bob");
    p.key(ENTER);
    p.expect(MATCH);
    p.key("y");
    p.key(ENTER);
    p.expect(TICKET);
    p.key("T-7");
    p.key(ENTER);
    let (status, log) = p.finish();
    assert_eq!(status, 0, "{log}");
    assert_eq!(colour_escapes(&log), Vec::<String>::new(), "{log:?}");
    assert_eq!(codes_shown(&log).len(), 10, "{log}");
}

/// The challenge digits of the outbox's latest challenge message.
fn last_challenge(env: &Env) -> String {
    let text = std::fs::read_to_string(&env.outbox).unwrap_or_default();
    let at = text
        .rfind("verification code is ")
        .unwrap_or_else(|| panic!("no challenge in the outbox:\n{text}"));
    text[at + "verification code is ".len()..][..6].to_string()
}

/// A user with a mobile on file, asked for helpdesk codes (so the gate).
fn mobile_user_at_menu(env: &Env) -> Pty {
    env.enroll_mobile("bob", "(507) 222-5999");
    let mut p = Pty::spawn(env, &[], &["issue-codes", "bob", "--via", "helpdesk"]);
    p.expect(MENU);
    p
}

/// Up from the first item wraps to "I could not verify"; once more is the challenge.
fn choose_challenge(p: &mut Pty) {
    p.key("\x1b[A");
    p.key("\x1b[A");
    p.key(ENTER);
    p.expect("Send the challenge to");
    p.key(ENTER);
    p.expect("Does the caller still have it");
}

#[test]
fn a_challenge_read_back_at_the_prompt_passes_the_check() {
    let env = Env::new();
    let mut p = mobile_user_at_menu(&env);
    choose_challenge(&mut p);
    p.key("y");
    p.key(ENTER);
    p.expect("Challenge read back by the caller");
    let challenge = last_challenge(&env);
    // A wrong read-back first: one try gone, asked again.
    p.wait_for_mode(&["-echo", "icanon"]);
    let wrong = if challenge == "000000" {
        "111111"
    } else {
        "000000"
    };
    p.send(wrong);
    p.send("\n");
    p.expect("2 tries left");
    p.expect("Challenge read back by the caller");
    p.wait_for_mode(&["-echo", "icanon"]);
    p.send(&challenge);
    p.send("\n");
    p.expect("Challenge passed.");
    p.expect(TICKET);
    p.key("INC-77");
    p.key(ENTER);
    let (status, log) = p.finish();
    assert_eq!(status, 0, "{log}");
    assert!(!log.contains(&challenge), "the challenge was shown:\n{log}");
    assert_eq!(codes_shown(&log).len(), 10, "{log}");
    let check = one_check(&env, "passed");
    assert_eq!(check["method"], "challenge");
    assert_eq!(check["ticket"], "INC-77");
    let audit = env.ok(&["audit", "--format", "json"]);
    assert!(!audit.contains(&challenge), "the challenge is in the trail");
    assert!(
        audit.contains(r#""action":"challenge-passed""#) && audit.contains("+*******5999"),
        "the contact used is recorded, masked:\n{audit}"
    );
    assert!(!audit.contains("5072225999"), "a full number in the trail");
}

#[test]
fn a_caller_whose_phone_is_lost_gets_no_challenge() {
    let env = Env::new();
    let mut p = mobile_user_at_menu(&env);
    choose_challenge(&mut p);
    p.key("n");
    p.key(ENTER);
    let (status, log) = p.finish();
    assert_eq!(status, 3, "{log}");
    assert!(log.contains("lost"), "{log}");
    let text = std::fs::read_to_string(&env.outbox).unwrap_or_default();
    assert!(
        !text.contains("verification code"),
        "a challenge was sent:\n{text}"
    );
    assert_eq!(one_check(&env, "refused")["method"], "challenge");
}

#[test]
fn callback_shows_the_number_on_file_unmasked_and_records_it_masked() {
    let env = Env::new();
    landline_user(&env, "bob");
    let mut p = at_menu(&env, &[], "bob");
    p.key("j");
    p.key("j"); // callback
    p.key(ENTER);
    p.expect("+15072225999");
    p.expect(MATCH);
    p.key("y");
    p.key(ENTER);
    p.expect(TICKET);
    p.key("INC-5");
    p.key(ENTER);
    let (status, log) = p.finish();
    assert_eq!(status, 0, "{log}");
    assert_eq!(one_check(&env, "passed")["method"], "callback");
    let audit = env.ok(&["audit", "--format", "json"]);
    assert!(audit.contains("callback-number-shown") && audit.contains("+*******5999"));
    assert!(
        !audit.contains("5072225999"),
        "a full number in the trail:\n{audit}"
    );
}

/// The terminal's lines as a user reads them: escape sequences dropped,
/// split where the cursor returns or moves down.
fn screen_lines(log: &str) -> Vec<String> {
    // The pty session hands over bytes one char each: decode them as UTF-8.
    let log = if log.chars().all(|c| (c as u32) < 0x100) {
        let bytes: Vec<u8> = log.chars().map(|c| c as u32 as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        log.to_string()
    };
    let mut plain = String::new();
    let mut chars = log.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // A redraw's "down one line" starts a new line too.
                let mut seq = String::new();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() || c == '~' {
                        if c == 'B' {
                            plain.push('\n');
                        }
                        break;
                    }
                    seq.push(c);
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split(['\r', '\n'])
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// README.md's "The two paths" shows the helpdesk path as the terminal
/// shows it: every line of its `issue-codes bob` transcript (but the codes
/// themselves, which are random) and of the open menu is on the screen.
#[test]
fn the_readme_transcript_is_what_the_identity_prompt_shows() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .expect("README.md");
    let session = readme
        .split("```console\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the README's console transcript");
    let bob = session
        .split("$ codedesk issue-codes bob")
        .nth(1)
        .expect("the helpdesk path in the transcript");
    let menu = readme
        .split("```text\n? How did you verify")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .map(|b| format!("? How did you verify{b}"))
        .expect("the README shows the open menu");
    let env = Env::new();
    env.enroll_mobile("alice", "(507) 222-5999");
    env.enroll_landline("bob", "507-222-0000");
    let mut p = at_menu(&env, &[], "bob");
    p.key("j"); // video call, as in the README
    p.key(ENTER);
    p.expect(MATCH);
    p.key("y");
    p.key(ENTER);
    p.expect(TICKET);
    p.key("INC-1234");
    p.key(ENTER);
    let (status, log) = p.finish();
    assert_eq!(status, 0, "{log}");
    let screen = screen_lines(&log);
    let wanted = bob
        .lines()
        .skip(1)
        .chain(menu.lines())
        .filter(|l| {
            !l.trim().is_empty() && !l.trim_start().starts_with(|c: char| c.is_ascii_digit())
        })
        .filter(|l| l.trim() != "..." && !l.starts_with("Bypass codes for bob (set"))
        // The README's operator is carol; the tests run as tester.
        .map(|l| l.replace("operator carol.", "operator tester."));
    for line in wanted {
        assert!(
            screen.contains(&line),
            "README line not on the terminal: {line:?}\nterminal:\n{}",
            screen.join("\n")
        );
    }
}
