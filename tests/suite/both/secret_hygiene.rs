// No code, whole or in part, in any spelling, is ever written anywhere but
// to the user (the SMS outbox) or, once, to the operator issuing helpdesk
// codes: not the store, not its WAL, not the audit trail in any format,
// not the output or errors of any other command.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;

use common::{Env, looks_like_code, spellings};
use std::path::{Path, PathBuf};

/// Every formatted code in `text` (JSON, CSV, tables, cards, SMS).
fn codes_in(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|t| looks_like_code(t))
        .map(str::to_string)
        .collect()
}

/// Something to search: what it is, and its text (binary files are read
/// lossily, which keeps every ASCII run, and so every code, intact).
struct Haystack {
    what: String,
    text: String,
}

struct Recorder<'a> {
    env: &'a Env,
    seen: Vec<Haystack>,
}

impl Recorder<'_> {
    /// Runs a command that must not show any code; records both streams.
    fn run(&mut self, args: &[&str], stdin: &str) -> (i32, String) {
        let (code, out, err) = self.env.run_stdin(args, stdin);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        self.seen.push(Haystack {
            what: format!("stdout of {args:?}"),
            text: out.clone(),
        });
        self.seen.push(Haystack {
            what: format!("stderr of {args:?}"),
            text: err,
        });
        (code, out)
    }

    fn file(&mut self, path: &Path) {
        if let Ok(bytes) = std::fs::read(path) {
            self.seen.push(Haystack {
                what: format!("file {}", path.display()),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `code` with one symbol changed: a typo the check symbol catches.
fn typo_of(code: &str) -> String {
    let mut b = code.as_bytes().to_vec();
    b[1] = if b[1] == b'7' { b'8' } else { b'7' };
    String::from_utf8(b).unwrap()
}

fn leaks(codes: &[String], seen: &[Haystack]) -> Vec<String> {
    let mut found = Vec::new();
    for c in codes {
        for s in spellings(c) {
            for h in seen {
                if h.text.contains(&s) {
                    found.push(format!("{s:?} (of {c}) in {}", h.what));
                }
            }
        }
    }
    found
}

#[test]
fn no_code_is_written_anywhere_but_to_its_user() {
    let env = Env::new();
    env.enroll_mobile("alice", "(507) 222-5999");
    env.enroll_landline("lenny", "507-222-5000");
    env.enroll_landline("bob", "+44 20 7946 0000");
    // SQLite: hold a reader on the store so that no codedesk process is the
    // last to close it: the WAL then survives, and is searched, as written.
    let keeper = (!env.is_postgres()).then(|| {
        let keeper = rusqlite::Connection::open(&env.db).unwrap();
        let _: i64 = keeper
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .unwrap();
        keeper
    });

    let mut rec = Recorder {
        env: &env,
        seen: Vec::new(),
    };
    let mut sms: Vec<Vec<String>> = Vec::new();
    let mut helpdesk: Vec<String> = Vec::new();

    // SMS path: the operator's stdout and stderr must not show the codes.
    for format in ["table", "json", "csv", "text"] {
        let (code, _) = rec.run(&["issue-codes", "alice", "--format", format], "");
        assert_eq!(code, 0);
        sms.push(env.last_sms_codes());
    }
    // Helpdesk path in every format, plus a batch: shown once on stdout.
    let attest = ["--identity-verified", "video-call", "--ticket", "INC-7"];
    for (i, format) in ["table", "json", "csv", "text"].iter().enumerate() {
        let mut args = vec!["issue-codes", "lenny", "--format", format];
        args.extend(attest);
        if i > 0 {
            args.push("--preserve-existing");
        }
        let (code, out, err) = env.run(&args);
        assert_eq!(code, 0, "{err}");
        let got = codes_in(&out);
        assert_eq!(got.len(), 10, "{format}: {out}");
        helpdesk.extend(got);
        rec.seen.push(Haystack {
            what: format!("stderr of {args:?}"),
            text: err,
        });
    }
    let mut args = vec!["issue-codes", "--batch", "-", "--format", "json"];
    args.extend(attest);
    let (code, out, err) = env.run_stdin(&args, "user,count\nbob,5\n");
    assert_eq!(code, 0, "{err}");
    let got = codes_in(&out);
    assert_eq!(got.len(), 5, "{out}");
    helpdesk.extend(got);
    rec.seen.push(Haystack {
        what: "stderr of issue-codes --batch".into(),
        text: err,
    });

    let all_sms: Vec<String> = sms.iter().flatten().cloned().collect();
    assert_eq!(all_sms.len(), 40);
    let mut all: Vec<String> = all_sms.iter().chain(&helpdesk).cloned().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 40 + 45, "codes are distinct");

    // The WAL, while it still holds the issuances.
    let wal = PathBuf::from(format!("{}-wal", env.db.display()));
    if keeper.is_some() {
        assert!(
            std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0,
            "the WAL should hold the issuances"
        );
        rec.file(&wal);
    }

    // Every non-issuing command, in every format.
    let alice_now = &sms[3];
    let lenny_now = &helpdesk[10..40];
    for format in ["table", "json", "csv", "text"] {
        let f = ["--format", format];
        for args in [
            &["list"][..],
            &["list", "alice"],
            &["list", "lenny"],
            &["list", "bob"],
            &["audit"],
            &["audit", "--user", "lenny"],
            &["audit", "verify"],
            &["config"],
        ] {
            let mut a = args.to_vec();
            a.extend(f);
            assert_eq!(rec.run(&a, "").0, 0, "{a:?}");
        }
    }
    // verify: accepted, rejected (a replaced set's code), typo, garbage.
    assert_eq!(rec.run(&["verify", "alice"], &alice_now[0]).0, 0);
    assert_eq!(
        rec.run(&["verify", "lenny", "--format", "json"], &lenny_now[0])
            .0,
        0
    );
    assert_eq!(rec.run(&["verify", "alice"], &alice_now[0]).0, 1, "spent");
    assert_eq!(rec.run(&["verify", "alice"], &sms[0][1]).0, 1, "replaced");
    assert_eq!(rec.run(&["verify", "lenny"], &helpdesk[0]).0, 0, "kept");
    assert_eq!(
        rec.run(&["verify", "alice"], &typo_of(&alice_now[1])).0,
        1,
        "typo"
    );
    assert_eq!(
        rec.run(
            &["verify", "lenny", "--format", "csv"],
            &typo_of(&lenny_now[1])
        )
        .0,
        1
    );
    assert_eq!(
        rec.run(&["verify", "alice"], &format!("{}!", alice_now[2]))
            .0,
        1
    );
    assert_eq!(
        rec.run(&["verify", "alice"], &alice_now[2][..9]).0,
        1,
        "half a code"
    );
    // revoke, unlock, enrol.
    assert_eq!(
        rec.run(&["revoke", "bob", "--reason", "lost card"], "").0,
        0
    );
    assert_eq!(rec.run(&["revoke", "lenny", "--batch", "5"], "").0, 0);
    assert_eq!(rec.run(&["unlock", "alice"], "").0, 0);
    assert_eq!(
        rec.run(
            &[
                "enroll-device",
                "alice",
                "--kind",
                "token",
                "--format",
                "json",
                "--identity-verified",
                "in-person",
                "--ticket",
                "T-2"
            ],
            ""
        )
        .0,
        0
    );
    // The audit trail again, now holding verify outcomes and revocations.
    for format in ["table", "json", "csv", "text"] {
        assert_eq!(rec.run(&["audit", "--format", format], "").0, 0);
    }

    // The WAL once more, then the store and everything beside it.
    if keeper.is_some() {
        rec.file(&wal);
    }
    drop(keeper);
    let outbox = env.outbox.clone();
    let config = env.config.clone();
    let stored = files_under(env.path());
    for p in &stored {
        if *p != outbox && *p != config {
            rec.file(p);
        }
    }
    if env.is_postgres() {
        rec.seen.push(Haystack {
            what: "every row of the PostgreSQL store".into(),
            text: env.store_state().text(),
        });
    }
    assert!(
        rec.seen
            .iter()
            .any(|h| h.what.ends_with("codedesk.db") || h.what.ends_with("PostgreSQL store")),
        "the store itself was searched"
    );

    // Positive controls: the search finds codes where they belong, and
    // finds every spelling, even inside other text.
    let outbox_text = std::fs::read_to_string(&outbox).unwrap();
    for c in &all_sms {
        let one = [Haystack {
            what: "outbox".into(),
            text: outbox_text.clone(),
        }];
        assert!(!leaks(std::slice::from_ref(c), &one).is_empty(), "{c}");
    }
    for s in spellings(&helpdesk[0]) {
        let planted = [Haystack {
            what: "planted".into(),
            text: format!("{{\"details\":\"x{s}y\"}}"),
        }];
        assert!(!leaks(&all, &planted).is_empty(), "{s} not found");
    }
    assert!(
        leaks(
            &helpdesk,
            &[Haystack {
                what: "outbox".into(),
                text: outbox_text
            }]
        )
        .is_empty()
    );

    let found = leaks(&all, &rec.seen);
    assert!(
        found.is_empty(),
        "{} leak(s) in {} places searched:\n{}",
        found.len(),
        rec.seen.len(),
        found.join("\n")
    );
}

#[test]
fn a_code_on_the_command_line_is_refused_unechoed_and_unspent() {
    let env = Env::new();
    env.enroll_mobile("alice", "5072225999");
    env.ok(&["issue-codes", "alice"]);
    let code = env.last_sms_codes()[0].clone();
    let bare: String = code.chars().filter(|c| *c != '-').collect();
    // The same code with a wrong check symbol: a typo still carries the secret.
    let mut typo = code.clone();
    let last = typo.pop().expect("non-empty");
    typo.push(if last == 'A' { 'B' } else { 'A' });
    let before = env.store_state();
    for args in [
        vec!["verify", typo.as_str()],
        vec!["verify", "alice", code.as_str()],
        vec!["verify", "alice", bare.as_str()],
        vec!["verify", "alice", "--format", "json", code.as_str()],
        vec!["verify", "alice", code.as_str(), "extra"],
        vec!["verify", code.as_str()],
        vec!["verify", bare.as_str()],
        vec!["--format", "json", "verify", code.as_str()],
    ] {
        // Standard input holds the same code: it must not be read either.
        let (status, out, err) = env.run_stdin(&args, &code);
        assert_eq!(status, 2, "{args:?}: {err}");
        assert!(!err.contains("panicked"));
        let last = err.lines().last().unwrap_or("");
        assert!(
            last.starts_with("codedesk: ") && last.contains("standard input"),
            "{args:?}: {err}"
        );
        for s in spellings(&code) {
            assert!(
                !out.contains(&s) && !err.contains(&s),
                "{args:?} echoed {s}"
            );
        }
        assert_eq!(env.store_state(), before, "{args:?} changed the store");
    }
    // Nothing was checked or spent: the code still works, once.
    assert_eq!(env.verify("alice", &code), 0);
    assert_eq!(env.verify("alice", &code), 1);
}
