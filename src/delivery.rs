//! Getting codes to the user's phone (SMS path) and telling the user and the
//! site about events ([`notify`]: the user's contacts on file, then
//! `notify.command`; failures audited and handed back as warnings).
//! Programs are run directly, never through a shell; their output is
//! discarded so nothing they echo reaches a log.

use crate::audit::AuditEvent;
use crate::codes::{self, Code, CodeSpec};
use crate::config::SmsDelivery;
use crate::context::Ctx;
use crate::model::Phone;
use crate::rules;
pub use crate::safeguards::Recipients;
use crate::store::Store;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The text message: names the user, one code per line, and the advice to
/// keep them somewhere that is not the phone (rule 8), with how many times
/// each code works and when the set expires (`expires_at`, if ever).
pub fn sms_message(
    user: &str,
    spec: CodeSpec,
    codes: &[Code],
    uses: u32,
    expires_at: Option<i64>,
) -> Zeroizing<String> {
    let mut m = Zeroizing::new(String::new());
    m.push_str(&format!("Backup codes for {user}:\n"));
    for c in codes {
        m.push_str(&codes::format(spec.alphabet, c));
        m.push('\n');
    }
    m.push_str(&rules::keep_codes_advice(
        uses,
        expires_at.map(crate::output::ts).as_deref(),
    ));
    m.push('\n');
    m
}

/// Sends `message` to `phone`. `Err` says why it was not sent.
pub fn deliver(
    how: &SmsDelivery,
    phone: &Phone,
    message: &str,
    timeout: Duration,
) -> Result<(), String> {
    match how {
        SmsDelivery::Outbox(path) => append_outbox(path, phone, message)
            .map_err(|e| format!("cannot write the SMS outbox {}: {e}", path.display())),
        SmsDelivery::Command(cmd) => {
            run_with_timeout(cmd, &[phone.as_str()], Some(message), timeout)
                .map_err(|e| format!("SMS command {}: {e}", cmd.display()))
        }
    }
}

/// Appends to the outbox, which holds codes in clear: never through a
/// symbolic link (`O_NOFOLLOW`), and never to a file that others can read
/// or write, whoever created it.
fn append_outbox(path: &Path, phone: &Phone, message: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let meta = f.metadata()?;
    let mode = meta.permissions().mode();
    // Planted by someone else (who could read the codes): refused whatever
    // its mode. `trust::distrust` with no group: no group may write it.
    if let Some(why) = crate::trust::distrust(&meta, None, false) {
        return Err(std::io::Error::other(why));
    }
    if mode & 0o077 != 0 {
        return Err(std::io::Error::other(format!(
            "it is open to other users (mode {:o}); chmod 600 it",
            mode & 0o777
        )));
    }
    let when = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let mut entry = Zeroizing::new(format!("To: {}\nDate: {when}\n", phone.as_str()));
    entry.push_str(message);
    entry.push('\n');
    f.write_all(entry.as_bytes())?;
    f.sync_all()
}

/// Runs `notify.command EVENT USER`; never given a code.
pub fn notify_program(
    cmd: &Path,
    event: &str,
    user: &str,
    timeout: Duration,
) -> Result<(), String> {
    run_with_timeout(cmd, &[event, user], None, timeout)
        .map_err(|e| format!("notify command {}: {e}", cmd.display()))
}

/// Mails a whole message (headers, blank line, body) through the
/// sendmail interface: `argv` is `email.command` (`sendmail -t -i` reads
/// the recipients from the headers).
pub fn send_email(argv: &[String], message: &str, timeout: Duration) -> Result<(), String> {
    let Some((cmd, args)) = argv.split_first() else {
        return Err("email.command is empty".into());
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_with_timeout(Path::new(cmd), &args, Some(message), timeout)
        .map_err(|e| format!("email command {cmd}: {e}"))
}

/// Runs a program with `args` and optional standard input; success is exit
/// status 0 within `timeout`, after which the program is killed.
fn run_with_timeout(
    cmd: &Path,
    args: &[&str],
    input: Option<&str>,
    timeout: Duration,
) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(cmd)
        .args(args)
        // The store's credentials are not the gateway's business (and a
        // gateway that logs its environment would write them down).
        .env_remove("CODEDESK_DB")
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        // Its own process group, so a timeout kills whatever it started
        // too: a gateway's child must not send the text after we gave up.
        .process_group(0)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    // Ctrl-C while it runs stops it and everything it started (it is in a
    // process group of its own, out of the terminal's reach): a gateway
    // must not send codes that will never be activated.
    let group = i32::try_from(child.id()).unwrap_or(0);
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    crate::interrupt::during(
        move || {
            flag.store(true, Ordering::SeqCst);
            if group > 0 {
                // SAFETY: kill(2) on the child's own process group.
                unsafe {
                    libc::kill(-group, libc::SIGKILL);
                }
            }
        },
        || wait_for(&mut child, input, timeout, &interrupted),
    )
}

/// Feeds `input` to the child and waits for it, for at most `timeout`.
fn wait_for(
    child: &mut std::process::Child,
    input: Option<&str>,
    timeout: Duration,
    interrupted: &AtomicBool,
) -> Result<(), String> {
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // A program that exits without reading is judged by its status.
        let _ = stdin.write_all(text.as_bytes());
    }
    let start = Instant::now();
    loop {
        if interrupted.load(Ordering::SeqCst) {
            kill_group(child);
            return Err("interrupted (Ctrl-C); it was stopped".into());
        }
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("failed ({status})")),
            Ok(None) if start.elapsed() >= timeout => {
                kill_group(child);
                return Err(format!(
                    "timed out after {}",
                    humantime::format_duration(timeout)
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("cannot wait: {e}")),
        }
    }
}

/// Kills the child's whole process group, then reaps the child.
fn kill_group(child: &mut std::process::Child) {
    if let Ok(pgid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals that process group;
        // the group is the child's own (process_group(0) above).
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// An error's whole chain on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`notify`] for a single command: a failure is a warning on standard
/// error; the change stands.
pub fn notify_or_warn(ctx: &Ctx, store: &mut Store, event: &str, user: &str, to: Recipients) {
    if let Some(e) = notify(ctx, store, event, user, to) {
        crate::output::eprose(&format!("codedesk: warning: {e}"));
    }
}

/// Tells the user (`safeguards::notify_user`: `to`), then runs
/// `notify.command EVENT USER`; a failure is audited and returned for the
/// operator but undoes nothing.
pub fn notify(
    ctx: &Ctx,
    store: &mut Store,
    event: &str,
    user: &str,
    to: Recipients,
) -> Option<String> {
    let told = crate::safeguards::notify_user(ctx, store, event, user, to);
    if let Some(why) = &told {
        let _ = store.record_event(
            &ctx.operator,
            Some(user),
            AuditEvent::NotifyFailed { event, reason: why },
            ctx.now(),
        );
    }
    match notify_command(ctx, store, event, user) {
        Some(e) => Some(told.map_or(e.clone(), |t| format!("{t}; {e}"))),
        None => told,
    }
}

/// Only `notify.command` (an event users get no notice about).
pub fn notify_command_only(
    ctx: &Ctx,
    store: &mut Store,
    event: &str,
    user: &str,
) -> Option<String> {
    notify_command(ctx, store, event, user)
}

fn notify_command(ctx: &Ctx, store: &mut Store, event: &str, user: &str) -> Option<String> {
    let cmd = ctx.settings.notify.as_ref()?;
    let err = notify_program(cmd, event, user, ctx.settings.sms_timeout).err()?;
    let _ = store.record_event(
        &ctx.operator,
        Some(user),
        AuditEvent::NotifyFailed {
            event,
            reason: &err,
        },
        ctx.now(),
    );
    Some(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_kills_what_the_program_started_too() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = dir.path().join("gateway.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nsleep 30 &\necho $! > {}\nwait\n",
                pidfile.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = run_with_timeout(&script, &[], None, Duration::from_millis(500)).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        // Gone, or at most a zombie waiting for init to reap it. SIGKILL
        // takes effect when the process is next scheduled, which on a
        // loaded machine can be a moment after kill(2) returned.
        let dead = || {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
            (stat.as_deref().map_or(true, |s| s.contains(") Z ")), stat)
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !dead().0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let (gone, stat) = dead();
        assert!(gone, "the gateway's child survived: {stat:?}");
    }

    #[test]
    fn outbox_refuses_a_symlink_and_a_file_others_can_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let phone = Phone::parse("+15072225999").unwrap();
        let open = dir.path().join("open");
        std::fs::write(&open, "").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = append_outbox(&open, &phone, "CODE\n").unwrap_err();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&open).unwrap(),
            "",
            "nothing appended"
        );
        let target = dir.path().join("target");
        std::fs::write(&target, "").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(append_outbox(&link, &phone, "CODE\n").is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
    }

    #[test]
    fn message_has_each_code_on_its_own_line_and_the_advice() {
        let codes = codes::generate(CodeSpec::default(), 3).unwrap();
        let m = sms_message("alice", CodeSpec::default(), &codes, 1, None);
        for c in &codes {
            let shown = codes::format(CodeSpec::default().alphabet, c);
            assert!(m.lines().any(|l| l == shown.as_str()));
        }
        assert!(m.contains("alice"));
        assert!(m.contains("somewhere that is not your phone"));
        assert!(m.contains("Each code works once.") && !m.contains("expire"));
        let m = sms_message("alice", CodeSpec::default(), &codes, 2, Some(3600));
        assert!(m.contains("Each code works 2 times."), "{}", m.as_str());
        assert!(
            m.contains("They expire 1970-01-01T01:00:00Z."),
            "{}",
            m.as_str()
        );
    }

    #[test]
    fn failing_and_slow_commands_are_errors() {
        let t = Duration::from_millis(300);
        assert!(run_with_timeout(Path::new("/bin/false"), &[], Some("x"), t).is_err());
        assert!(run_with_timeout(Path::new("/bin/true"), &[], Some("x"), t).is_ok());
        let e = run_with_timeout(Path::new("/bin/sleep"), &["5"], None, t).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        assert!(run_with_timeout(Path::new("/nonexistent/sms"), &[], None, t).is_err());
    }

    #[test]
    fn outbox_is_private_and_appends() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("outbox");
        let phone = Phone::parse("+15072225999").unwrap();
        append_outbox(&p, &phone, "one\n").unwrap();
        append_outbox(&p, &phone, "two\n").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("one") && text.contains("two"));
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
