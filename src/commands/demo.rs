//! `demo`: the whole story of the article against a throwaway store in a
//! temporary folder. It passes `--db` and `--config` explicitly, so the
//! real store and configuration are never read or touched. Each step is
//! run by the [`Step`] dispatch hands in (the command line, with no
//! prompts), so the demo needs nothing above `commands`.

use super::verify::{self, GivenCode};
use crate::cli::Cli;
use crate::exit::{Status, status_of};
use crate::interrupt::Stopped;
use anyhow::{Context, Result};
use clap::Parser;
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

/// Runs one parsed demo command line, as the binary would but with no
/// prompts (dispatch's `run_as` with `interactive` false).
pub type Step = fn(Cli, &mut dyn Write) -> Result<Status>;

/// Parses a demo command line against the throwaway store and config.
fn demo_cli(dir: &Path, args: &[&str]) -> Result<Cli> {
    let db = dir.join("codedesk.db").display().to_string();
    let config = dir.join("config.toml").display().to_string();
    let mut argv = vec!["codedesk", "--operator", "demo-operator"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--db", &db, "--config", &config]);
    Cli::try_parse_from(&argv).context("demo step")
}

/// Shows a step's outcome the way the binary would, and its exit status;
/// after Ctrl-C, stops the demo instead (exit 130).
fn finish(out: &mut dyn Write, result: Result<Status>) -> Result<Status> {
    out.flush()?;
    if crate::interrupt::pending().is_some() {
        // The terminal echoed ^C: end its line first.
        let _ = writeln!(std::io::stderr());
        return Err(anyhow::Error::new(Stopped(
            "demo interrupted; its temporary folder was removed".into(),
        )));
    }
    match result {
        Ok(s) => Ok(s),
        Err(e) => {
            writeln!(out, "codedesk: {e:#}   [exit {}]", status_of(&e).code())?;
            Ok(status_of(&e))
        }
    }
}

fn step(run: Step, dir: &Path, out: &mut dyn Write, shown: &str, args: &[&str]) -> Result<Status> {
    writeln!(out, "\n$ codedesk {shown}")?;
    out.flush()?;
    let cli = demo_cli(dir, args)?;
    let result = run(cli, out);
    finish(out, result)
}

/// `verify` with the code handed in, as a user typing it would.
fn verify_step(
    dir: &Path,
    out: &mut dyn Write,
    user: &str,
    code: &str,
    note: &str,
) -> Result<Status> {
    writeln!(
        out,
        "\n$ echo {code} | codedesk verify {user}      # {note}"
    )?;
    out.flush()?;
    let cli = demo_cli(dir, &["verify", user])?;
    let ctx = crate::context::context(&cli, false)?;
    let crate::cli::Command::Verify(args) = cli.command else {
        unreachable!("parsed a verify command")
    };
    let mut src = GivenCode(Zeroizing::new(code.to_string()));
    let result = verify::run(&ctx, args, &mut src, out);
    finish(out, result)
}

pub fn run(run: Step, out: &mut dyn Write) -> Result<Status> {
    let tmp = tempfile::Builder::new()
        .prefix("codedesk-demo-")
        .tempdir()
        .context("creating a temporary folder for the demo")?;
    let dir = tmp.path();
    // An interrupt must not leave the throwaway store and outbox behind.
    // Ctrl-C is noted, and the demo stops after the step under way
    // (`finish`): its folder goes when `tmp` is dropped.
    crate::interrupt::clear();
    crate::interrupt::set(|| {});
    let outbox = dir.join("sms-outbox.txt");
    std::fs::write(
        dir.join("config.toml"),
        format!("[sms]\noutbox = {:?}\n", outbox.display().to_string()),
    )?;
    writeln!(
        out,
        "codedesk demo: a throwaway store in {} (removed at the end).",
        dir.display()
    )?;
    writeln!(
        out,
        "SMS messages go to an outbox file instead of a gateway."
    )?;

    writeln!(out, "\n== 1. The SMS path: alice has a mobile phone ==")?;
    step(
        run,
        dir,
        out,
        "enroll-device alice --kind mobile --phone \"(507) 222-5999\"",
        &[
            "enroll-device",
            "alice",
            "--kind",
            "mobile",
            "--phone",
            "(507) 222-5999",
        ],
    )?;
    step(
        run,
        dir,
        out,
        "issue-codes alice",
        &["issue-codes", "alice"],
    )?;
    let text = std::fs::read_to_string(&outbox).context("reading the demo outbox")?;
    writeln!(
        out,
        "\n[the text message alice's phone received, from the outbox]"
    )?;
    for line in text.lines() {
        writeln!(out, "  | {line}")?;
    }
    let first = text
        .lines()
        .find(|l| l.len() == 19 && l.matches('-').count() == 3)
        .map(str::to_string)
        .context("no code in the demo outbox")?;
    verify_step(
        dir,
        out,
        "alice",
        &first,
        "alice logs in with her first code",
    )?;
    verify_step(
        dir,
        out,
        "alice",
        &first,
        "the same code again: each code works once",
    )?;
    let mut typo = first.clone().into_bytes();
    typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap_or_default();
    verify_step(
        dir,
        out,
        "alice",
        &typo,
        "a mistyped code: reported as a typo, not counted",
    )?;

    writeln!(
        out,
        "\n== 2. The helpdesk path: bob's primary device is a landline =="
    )?;
    step(
        run,
        dir,
        out,
        "enroll-device bob --kind landline --phone 507-222-0000",
        &[
            "enroll-device",
            "bob",
            "--kind",
            "landline",
            "--phone",
            "507-222-0000",
        ],
    )?;
    step(
        run,
        dir,
        out,
        "issue-codes bob      # no identity check attested: refused",
        &["issue-codes", "bob"],
    )?;
    step(
        run,
        dir,
        out,
        "issue-codes bob --identity-verified video-call --ticket DEMO-1",
        &[
            "issue-codes",
            "bob",
            "--identity-verified",
            "video-call",
            "--ticket",
            "DEMO-1",
        ],
    )?;

    writeln!(
        out,
        "\n== 3. A challenge codedesk checks itself, and the user always told =="
    )?;
    step(
        run,
        dir,
        out,
        "enroll-device carol --kind mobile --phone 507-222-7777",
        &[
            "enroll-device",
            "carol",
            "--kind",
            "mobile",
            "--phone",
            "507-222-7777",
        ],
    )?;
    let before = std::fs::read_to_string(&outbox).unwrap_or_default().len();
    step(
        run,
        dir,
        out,
        "challenge carol -q      # sent to carol's phone; the operator sees only its id",
        &["challenge", "carol", "-q"],
    )?;
    let text = std::fs::read_to_string(&outbox).context("reading the demo outbox")?;
    let sent = text.get(before..).unwrap_or_default().to_string();
    writeln!(out, "\n[carol's phone]")?;
    for line in sent.lines().filter(|l| !l.is_empty()) {
        writeln!(out, "  | {line}")?;
    }
    let digits = sent
        .split("verification code is ")
        .nth(1)
        .and_then(|t| t.get(..6))
        .context("no challenge in the demo outbox")?
        .to_string();
    writeln!(
        out,
        "\n$ echo {digits} | codedesk issue-codes carol --via helpdesk --identity-verified challenge --challenge 1 --ticket DEMO-2      # carol reads it back"
    )?;
    out.flush()?;
    crate::prompt::give_challenge_answer(Zeroizing::new(digits));
    let cli = demo_cli(
        dir,
        &[
            "issue-codes",
            "carol",
            "--via",
            "helpdesk",
            "--identity-verified",
            "challenge",
            "--challenge",
            "1",
            "--ticket",
            "DEMO-2",
        ],
    )?;
    let result = run(cli, out);
    finish(out, result)?;
    let text = std::fs::read_to_string(&outbox).context("reading the demo outbox")?;
    let notice = text
        .lines()
        .rev()
        .find(|l| l.contains("quote "))
        .unwrap_or_default()
        .to_string();
    writeln!(out, "\n[carol's phone, right after]\n  | {notice}")?;
    let reference = notice
        .split("quote ")
        .nth(1)
        .map(|r| r.trim_end_matches('.').to_string())
        .unwrap_or_default();
    step(
        run,
        dir,
        out,
        &format!("dispute {reference}      # carol calls: \"that was not me\""),
        &["dispute", &reference],
    )?;

    approvals_section(run, dir, out)?;

    writeln!(
        out,
        "
== 5. What the helpdesk sees =="
    )?;
    step(run, dir, out, "list", &["list"])?;
    step(run, dir, out, "list bob", &["list", "bob"])?;
    step(run, dir, out, "audit verify", &["audit", "verify"])?;
    writeln!(
        out,
        "\nDone. Try `codedesk --help`, or `man -l man/codedesk.1`."
    )?;
    Ok(Status::Ok)
}

/// Issue 13: a privileged user's codes wait for a second principal. The
/// demo plays that second account itself ("demo-supervisor", on its own
/// throwaway store only); in real use it is another OS account, or a
/// PostgreSQL login role granted codedesk_supervisor (docs/approvals.md).
fn approvals_section(run: Step, dir: &Path, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "\n== 4. A second pair of eyes: dave is privileged ==")?;
    step(
        run,
        dir,
        out,
        "enroll-device dave --kind landline --phone 507-222-8888",
        &[
            "enroll-device",
            "dave",
            "--kind",
            "landline",
            "--phone",
            "507-222-8888",
        ],
    )?;
    let supervisor = |out: &mut dyn Write, shown: &str, args: &[&str]| {
        crate::principal::demo_as(SUPERVISOR, || {
            step(
                run,
                dir,
                out,
                &format!("{shown}      # as {SUPERVISOR}"),
                args,
            )
        })
    };
    supervisor(out, "privileged dave on", &["privileged", "dave", "on"])?;
    let waiting = step(
        run,
        dir,
        out,
        "issue-codes dave --identity-verified in-person --ticket DEMO-3",
        &[
            "issue-codes",
            "dave",
            "--identity-verified",
            "in-person",
            "--ticket",
            "DEMO-3",
        ],
    )?;
    writeln!(out, "[exit {}: waiting for approval]", waiting.code())?;
    step(
        run,
        dir,
        out,
        "approve 1      # the same account may not approve its own request",
        &["approve", "1"],
    )?;
    supervisor(out, "approve 1", &["approve", "1"])?;
    step(
        run,
        dir,
        out,
        "issue-codes dave --request 1      # the requester, once approved",
        &["issue-codes", "dave", "--request", "1"],
    )?;
    Ok(())
}

/// The second account the demo plays (see [`approvals_section`]).
const SUPERVISOR: &str = "demo-supervisor";
