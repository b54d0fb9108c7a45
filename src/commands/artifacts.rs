//! The generated artifacts: shell completions and man pages, rendered from
//! the clap definition. `codedesk generate-artifacts` writes them; a test
//! renders them in memory and fails when the committed copies drift.

use crate::cli::{Cli, GenerateArgs};
use crate::exit::Status;
use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;
use std::path::PathBuf;

const EXTRA_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
success; for \fBverify\fR, the code was accepted
.TP
\fB1\fR
\fBverify\fR: the code was rejected (wrong, spent, expired, revoked), or was a typo
.TP
\fB2\fR
usage: bad arguments or values, or a bad configuration file
.TP
\fB3\fR
identity check refused, aborted or not attested; nothing was issued
.TP
\fB4\fR
no such user, device or set
.TP
\fB5\fR
the user is locked out
.TP
\fB6\fR
SMS delivery failed or is not configured; nothing changed
.TP
\fB7\fR
store problem: cannot open or create, corrupt, newer schema, busy too long, disk full, read-only
.TP
\fB8\fR
\fBaudit verify\fR found the trail altered
.SH FILES
.TP
\fI$XDG_DATA_HOME/codedesk/codedesk.db\fR (else \fI~/.local/share/codedesk/codedesk.db\fR)
The store: one SQLite file (mode 0600, folder 0700) holding users, devices,
identity checks, sets of Argon2id code hashes, and the chained audit trail.
It never holds a code in clear.
.TP
\fI$XDG_CONFIG_HOME/codedesk/config.toml\fR (else \fI~/.config/codedesk/config.toml\fR)
The configuration; a missing default file means defaults. Keys: codes.count,
codes.alphabet, codes.length, codes.uses, codes.expires,
helpdesk.default_expires, helpdesk.max_expires, helpdesk.max_uses,
lockout.threshold, lockout.auto_unlock, hash.memory_kib, hash.iterations,
hash.parallelism, hash.allow_weak, sms.command, sms.outbox, sms.timeout,
notify.command.
.SH ENVIRONMENT
.TP
\fBCODEDESK_DB\fR, \fBCODEDESK_CONFIG\fR, \fBCODEDESK_OPERATOR\fR
Defaults for \fB\-\-db\fR, \fB\-\-config\fR and \fB\-\-operator\fR.
.TP
\fBSUDO_USER\fR, \fBUSER\fR
The operator recorded in the audit trail when none is given.
.TP
\fBPAM_USER\fR
The user \fBverify\fR checks when no USER is given (set by pam_exec).
.TP
\fBNO_COLOR\fR
Turns off colour in prompts.
.SH EXAMPLE
A mobile user gets codes texted; a user with only a landline gets bypass
codes from the helpdesk after a video call:
.PP
.nf
.RS
codedesk enroll-device alice \-\-kind mobile \-\-phone "(507) 222-5999"
codedesk issue-codes alice
echo "7KQ2-M9XD-4TRB-V8PN" | codedesk verify alice
codedesk enroll-device bob \-\-kind landline \-\-phone 507-222-0000
codedesk issue-codes bob \-\-identity-verified video-call \-\-ticket INC-1234
codedesk list bob
codedesk audit verify
.RE
.fi
.SH SECURITY
Codes are drawn from the operating system's random generator, shown once
(helpdesk path) or texted (SMS path), and stored only as Argon2id hashes.
A code is never read from the command line. See SECURITY.md.
"#;

/// Every generated file, as (path relative to the repository, contents).
pub fn render() -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let mut cmd = Cli::command();
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "codedesk", &mut buf);
        let name = match shell {
            Shell::Bash => "codedesk.bash",
            Shell::Zsh => "_codedesk",
            Shell::Fish => "codedesk.fish",
            Shell::PowerShell => "_codedesk.ps1",
            Shell::Elvish => "codedesk.elv",
            _ => unreachable!("listed above"),
        };
        files.push((PathBuf::from("completions").join(name), buf));
    }
    let cmd = Cli::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    buf.extend_from_slice(EXTRA_SECTIONS.as_bytes());
    files.push((PathBuf::from("man/codedesk.1"), buf));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("codedesk-{}", sub.get_name());
        let name: &'static str = Box::leak(name.into_boxed_str());
        let sub = sub.clone().name(name).version(env!("CARGO_PKG_VERSION"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(sub).render(&mut buf)?;
        files.push((PathBuf::from("man").join(format!("{name}.1")), buf));
    }
    Ok(files)
}

pub fn run(a: &GenerateArgs, out: &mut dyn Write) -> Result<Status> {
    for (rel, bytes) in render()? {
        let path = a.out.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(Status::Ok)
}
