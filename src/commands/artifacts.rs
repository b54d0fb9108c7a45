//! The generated artifacts: shell completions and man pages, rendered from
//! the clap definition. `codedesk generate-artifacts` writes them; a test
//! renders them in memory and fails when the committed copies drift.

use crate::cli::GenerateArgs;
use crate::exit::Status;
use anyhow::{Context, Result};
use clap_complete::Shell;
use std::io::Write;
use std::path::PathBuf;

/// The sections of codedesk(1) that clap cannot know, in man-pages(7) order.
const MAIN_SECTIONS: &str = r#".SH "EXIT STATUS"
@EXIT_ENTRIES@.PP
A batch run exits with the status of its first failed row, or 0 when every
row succeeded.
.SH ENVIRONMENT
.TP
\fBCODEDESK_DB\fR, \fBCODEDESK_CONFIG\fR, \fBCODEDESK_OPERATOR\fR
Used when \fB\-\-db\fR, \fB\-\-config\fR or \fB\-\-operator\fR is not given.
.TP
\fBPGPASSWORD\fR
The password for a PostgreSQL store (\fB\-\-db\fR, \fBmigrate \-\-to\fR)
whose URL has none; it keeps the password out of the process list.
.TP
\fBPGSSLMODE\fR, \fBPGSSLROOTCERT\fR
TLS for a PostgreSQL store whose URL has no \fBsslmode\fR or
\fBsslrootcert\fR parameter, as in libpq (\fBsslrootcert=system\fR: the
system's roots, \fBverify\-full\fR only). With neither: \fBprefer\fR when
every host is this machine, \fBverify\-full\fR otherwise.
.TP
\fBSUDO_USER\fR, \fBUSER\fR
The operator recorded in the audit trail when none is given, in that order.
.TP
\fBXDG_DATA_HOME\fR, \fBXDG_CONFIG_HOME\fR, \fBHOME\fR
Where the default store and configuration file live (see \fBFILES\fR).
.TP
\fBPAM_USER\fR
The user \fBverify\fR checks when no \fIUSER\fR is given; pam_exec(8) sets it.
.TP
\fBPAM_SERVICE\fR
The service \fBverify\fR records in its audit events when no \fB\-\-service\fR
is given; pam_exec(8) sets it.
.TP
\fBNO_COLOR\fR
Plain prompts without colour, when set and not empty (an empty
\fBNO_COLOR\fR is no \fBNO_COLOR\fR, as no\-color.org defines it). Output
that is not a terminal never has colour.
.SH FILES
.TP
\fI$XDG_DATA_HOME/codedesk/codedesk.db\fR
.TQ
\fI\(ti/.local/share/codedesk/codedesk.db\fR
The store: one SQLite file holding users, devices, identity checks, sets of
Argon2id code hashes and the chained audit trail; never a code in clear.
It and its folder are created on first use, private to their owner (modes
0600 and 0700).
.TP
\fI$XDG_CONFIG_HOME/codedesk/config.toml\fR
.TQ
\fI\(ti/.config/codedesk/config.toml\fR
The configuration (see \fBCONFIGURATION\fR). A missing default file means
the defaults; a file named with \fB\-\-config\fR or \fBCODEDESK_CONFIG\fR
must exist.
.SH CONFIGURATION
One TOML file; every key is optional. An unknown key or a bad value is an
error naming the key and the file (exit 2). \fBcodedesk config\fR shows the
value in effect for each key and where it came from. Durations read like
\fB90s\fR, \fB15m\fR, \fB1h\fR, \fB7d\fR.
.TP
\fB[codes]\fR \fBcount\fR, \fBalphabet\fR, \fBlength\fR, \fBuses\fR, \fBexpires\fR
Codes in a set (1 to 100; default 10); \fB"base32"\fR (default: 16 Crockford
base32 symbols shown as four groups of four, the last a check symbol) or
\fB"digits"\fR (default length 9); how many times each code works (default 1);
how long a set lasts (default \fB"never"\fR).
.TP
\fB[helpdesk]\fR \fBdefault_expires\fR, \fBmax_expires\fR, \fBmax_uses\fR, \fBmax_sets_per_operator\fR, \fBapproval_expires\fR
The expiry of helpdesk-path sets when \fB\-\-expires\fR is not given, and the
longest expiry and most uses the helpdesk path may grant. A default above
its limit is capped to it (\fBcodedesk config\fR warns); an explicit
\fB\-\-expires\fR or \fB\-\-uses\fR above it is refused.
At most this many sets per principal in a window (\fB"20/24h"\fR; default
\fB"off"\fR): beyond it issuance is refused (exit 9) unless a supervisor
approves a request for one more (\fB\-\-ask\-approval\fR, exit 10). How long
a request waits for approval, and then for its use (default \fB30m\fR).
See docs/approvals.md.
.TP
\fB[lockout]\fR \fBthreshold\fR, \fBauto_unlock\fR
Consecutive rejected codes before a user is locked (default 10), and
whether a lockout ends by itself after a duration (default \fB"off"\fR; at
least \fB1m\fR). \fBcodedesk config\fR warns when the two together give a
guesser a chance of one in 10,000 or more a year of finding a live code.
.TP
\fB[hash]\fR \fBmemory_kib\fR, \fBiterations\fR, \fBparallelism\fR, \fBallow_weak\fR
Argon2id parameters (default 19456 KiB, 2, 1: the OWASP floor). Lower values
are refused unless \fBallow_weak = true\fR, which is for tests only.
\fBcodedesk calibrate\fR suggests values for this machine.
.TP
\fB[sms]\fR \fBcommand\fR, \fBoutbox\fR, \fBtimeout\fR
How texts are sent, one of: a program run with the E.164 number as its only
argument and the message on standard input (exit 0 means sent), or a file
each message is appended to (relative to the configuration file's folder).
\fBtimeout\fR (default 30s) bounds the SMS and notify programs.
.TP
\fB[notify]\fR \fBcommand\fR
A program run as \fIcommand EVENT USER\fR on every \fBcodes-issued\fR,
\fBcode-used\fR, \fBlockout\fR, \fBunlock\fR, \fBdevice-enrolled\fR (a
device added to an existing user), \fBdevice-removed\fR and
\fBcodes-revoked\fR, so the user can be told.
It never receives a code. A failure is reported and audited
(\fBnotify-failed\fR) but does not undo the change.
.TP
\fB[store]\fR \fBdb\fR
The store when neither \fB\-\-db\fR nor \fBCODEDESK_DB\fR names one: a path
(relative to the configuration file's folder), \fIsqlite://PATH\fR, or
\fIpostgres://user@host/db\fR.
.TP
\fB[verify]\fR \fBconnect_retry\fR
How long in all \fBverify\fR keeps retrying a PostgreSQL store that turns
connections away for a moment (too many clients, starting up, restarting),
with jittered backoff (default \fB8s\fR; \fB"off"\fR fails at once). Other
commands fail at once. See docs/postgresql-pooling.md.
.TP
\fB[email]\fR \fBcommand\fR, \fBfrom\fR
How notices and challenges are mailed: the sendmail interface (default
\fB"/usr/sbin/sendmail \-t \-i"\fR, split on spaces, the message on standard
input), and an optional From: address. See docs/safeguards.md.
.TP
\fB[safeguards]\fR \fBnotify_users\fR, \fBfailed_login_debounce\fR
Whether every contact on file is told about every sensitive event, with a
reference for \fBcodedesk dispute\fR (default true), and how often at most a
user is told about a lockout (default 1h).
.TP
\fB[audit]\fR \fBsyslog\fR, \fBsyslog_socket\fR
Whether each audit event also goes to syslog as RFC 5424 with structured
data (default false), and the socket (default \fB/dev/log\fR).
.TP
\fB[directory]\fR \fBurl\fR, \fBtls\fR, \fBca_file\fR, \fBbind_dn\fR, \fBpassword_file\fR, \fBbase_dn\fR, \fBuser_filter\fR, \fBpreset\fR, \fBprivileged_groups\fR, \fBgroup_member_attribute\fR, \fBmin_fraction\fR, \fBtimeout\fR, \fBattributes.uid\fR, \fBattributes.display_name\fR, \fBattributes.mobile\fR, \fBattributes.telephone\fR, \fBattributes.mail\fR, \fBattributes.member_of\fR
The LDAP directory users, their numbers and their privileged groups are
read from (none without \fBurl\fR): the server (\fIldap://HOST\fR or
\fIldaps://HOST\fR; one off this machine is reached through TLS, checked
against \fBca_file\fR, unless \fBtls = "none"\fR), the bind DN and the
file holding its password (never the password itself), the base DN, the
user filter, a \fBpreset\fR (\fBopenldap\fR, the default, or
\fBactive\-directory\fR) naming the attributes, which
\fBattributes.*\fR override, the privileged groups' DNs, the fraction of
the last sync's users below which \fBsync\fR changes nothing (default
0.9), and the timeout (default 10s). See docs/directory.md.
.SH "BATCH FILES"
Both batch files are CSV with a header row; column names are matched
without regard to case and in any order, blank lines are skipped, and
\fB\-\fR reads standard input. Errors give the line number as an editor
shows it.
.TP
\fBenroll-device \-\-batch\fR \fIFILE\fR
Columns \fBuser\fR, \fBkind\fR (mobile, landline, tablet, token), and
optionally \fBphone\fR, \fBsms\fR (yes or no), \fBlabel\fR, \fBprimary\fR
(yes or no). All rows are checked first and enrolled in one transaction:
one bad row rejects the whole file, naming every bad line.
.TP
\fBissue\-codes \-\-batch\fR \fIFILE\fR
Column \fBuser\fR, and optionally \fBcount\fR, \fBvia\fR (sms or helpdesk)
and \fBdevice\fR (an id), which override the options for that row. Give
\fB\-\-identity\-verified\fR and \fB\-\-ticket\fR for the whole run; each
helpdesk-path user gets an identity check recorded with them. A failing
user (unknown, not attested, delivery failed, listed twice) is reported on
standard error with its line number and the run goes on; a summary ends
it. With \fB\-\-format json\fR, one object per user per line; with
\fB\-\-format csv\fR, the columns \fBuser,via,batch,expires_at,code1,...\fR,
one row per user (SMS rows have no codes), ready for a mail merge.
.SH PAM
\fBverify\fR works as a pam_exec(8) module: it takes the user from
\fBPAM_USER\fR, the service from \fBPAM_SERVICE\fR and the code from
standard input (\fBexpose_authtok\fR), with or without a trailing newline
or NUL. pam_exec runs it with an empty environment, so give \fB\-\-config\fR
(whose \fBstore.db\fR names the store) in the service line, and
\fB\-\-operator\fR for the audit trail (without it, and with no
\fBSUDO_USER\fR or \fBUSER\fR, the operator is recorded as \fBunknown\fR).
The stanza, as installed in \fI/usr/share/doc/codedesk/examples/pam.d/codedesk\fR:
.PP
.RS
.nf
@PAM_STANZA@
.fi
.RE
.PP
Copy it to \fI/etc/pam.d/codedesk\fR and put \fB@include codedesk\fR in place
of \fB@include common\-auth\fR in the service's file (for sshd(8), with
\fBAuthenticationMethods publickey,keyboard\-interactive\fR). Nothing before
it may collect a password: \fBexpose_authtok\fR would hand that password to
\fBverify\fR as a wrong code.
.SH SECURITY
Codes are drawn from the operating system's random generator, shown once
(helpdesk path) or texted (SMS path), and stored only as Argon2id hashes.
A code is never read from the command line, and never written to the store,
the audit trail, an error message or a log. Every change appends an audit
event chained by SHA-256 to the one before; \fBaudit verify\fR finds an
edited or deleted event.
.SH EXAMPLES
A mobile user gets codes texted; a user with only a landline gets bypass
codes from the helpdesk after a video call:
.PP
.RS
.nf
codedesk enroll\-device alice \-\-kind mobile \-\-phone "(507) 222\-5999"
codedesk issue\-codes alice
codedesk enroll\-device bob \-\-kind landline \-\-phone 507\-222\-0000
codedesk issue\-codes bob \-\-identity\-verified video\-call \-\-ticket INC\-1234
echo 7KQ2\-M9XD\-4TRB\-V8PN | codedesk verify bob
codedesk list bob
codedesk audit verify
.fi
.RE
.PP
A term's new students, from the registry's export, with codes for a mail
merge:
.PP
.RS
.nf
codedesk enroll\-device \-\-batch devices.csv
codedesk issue\-codes \-\-batch users.csv \-\-identity\-verified in\-person \e
    \-\-ticket INC\-2001 \-\-format csv > codes.csv
.fi
.RE
.SH "SEE ALSO"
@SEE_ALSO@
"#;

/// Extra sections for one subcommand's page, after its options.
fn sub_sections(name: &str) -> &'static str {
    match name {
        "codedesk-enroll-device" => {
            r#".SH "BATCH FILE"
A CSV file with a header row: \fBuser\fR, \fBkind\fR, and optionally
\fBphone\fR, \fBsms\fR (yes or no), \fBlabel\fR and \fBprimary\fR (yes or
no), in any order. Every row is checked before any is enrolled; one bad row
rejects the whole file, naming the line of every bad row.
.SH "SHARED NUMBERS"
A phone number that another user already has is flagged on standard
error, masked: before the identity check with how many other users have
it, and once the device is enrolled after a passed check with up to ten of
their names (a first device, which needs no check, gets the count only).
Texted codes and call-backs to it reach whoever holds that phone. It is a
warning, not a refusal (a shared desk phone is normal). The
\fBdevice\-enrolled\fR audit event lists the users (\fBshared_with\fR);
\fB\-\-format json\fR adds \fBphone_shared_with\fR after a passed check,
else \fBphone_shared_count\fR and \fBphone_shared_more\fR.
"#
        }
        "codedesk-issue-codes" => {
            r#".SH "BATCH FILE"
A CSV file with a header row holding a \fBuser\fR column and optionally
\fBcount\fR, \fBvia\fR and \fBdevice\fR. \fB\-\-identity\-verified\fR and
\fB\-\-ticket\fR attest the identity check for every helpdesk-path user of
the run. A failing user is reported with its line number and the run goes
on; the exit status is that of the first failure. \fB\-\-format csv\fR
gives \fBuser,via,batch,expires_at,code1,...\fR for a mail merge.
"#
        }
        "codedesk-verify" => {
            r#".SH "EXIT STATUS"
0 accepted; 1 rejected (wrong, spent, expired or revoked, or text that is
not a code); 2 no code given, or input that cannot be a code (longer than
1024 bytes, a NUL byte inside, not UTF\-8) or a code on the command line;
4 no such user; 5 locked out; 7 store problem.
.SH PAM
Run from pam_exec(8) with \fBexpose_authtok\fR, \fBverify\fR takes the user
from \fBPAM_USER\fR and the token from standard input, with or without a
trailing newline or NUL. See \fBcodedesk\fR(1) for a service line.
"#
        }
        _ => "",
    }
}

/// The end of every subcommand's page.
const GLOBAL_NOTE: &str = r#".SH "GLOBAL OPTIONS"
\fB\-\-db\fR \fIPATH\fR, \fB\-\-config\fR \fIPATH\fR, \fB\-\-operator\fR \fINAME\fR,
\fB\-\-format\fR \fBtable\fR|\fBjson\fR|\fBcsv\fR|\fBtext\fR and \fB\-q\fR, \fB\-\-quiet\fR
may be given before or after the subcommand; see \fBcodedesk\fR(1), which
also lists the exit statuses, files and configuration keys.
.SH "SEE ALSO"
\fBcodedesk\fR(1)
"#;

/// A page in the usual order. clap_mangen's own `render` would add an
/// "EXTRA" section repeating the exit statuses (the `--help` footer), a
/// "VERSION" section the footer already shows, and a `help` subcommand
/// that has no page.
fn man_page(cmd: &clap::Command, extra: &str) -> Result<Vec<u8>> {
    let version = cmd.get_version().unwrap_or(env!("CARGO_PKG_VERSION"));
    let man = clap_mangen::Man::new(cmd.clone()).source(format!("codedesk {version}"));
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    // Ragged right, no hyphenation: paths, options and key names stay whole.
    buf.extend_from_slice(b".ad l\n.nh\n");
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut buf)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut buf)?;
    }
    buf.extend_from_slice(extra.as_bytes());
    // Each section rendered alone starts with roff's apostrophe preamble;
    // the page needs it once.
    const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let text = String::from_utf8(buf)?;
    let mut parts = text.split(PREAMBLE);
    let mut page = parts.next().unwrap_or_default().to_string();
    page.push_str(PREAMBLE);
    page.extend(parts);
    Ok(page.into_bytes())
}

/// The command line as the completions offer it: clap_complete lists
/// hidden subcommands too, so the maintainers' `generate-artifacts` is
/// left out by rebuilding the top level with only the visible ones.
fn without_hidden_subcommands(full: clap::Command) -> clap::Command {
    let mut cmd = clap::Command::new("codedesk")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .about(full.get_about().cloned().unwrap_or_default())
        .args(full.get_arguments().cloned());
    for sub in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        cmd = cmd.subcommand(sub.clone());
    }
    cmd
}

/// The PAM stanza, from the one file the package installs and the docs quote.
const PAM_STANZA: &str = include_str!("../../examples/pam.d/codedesk");

/// Text for a `.nf` block: backslashes and hyphens escaped, a line that
/// would read as a request guarded.
fn roff_verbatim(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| {
            let l = l.replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with(['.', '\'']) {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// codedesk(1)'s SEE ALSO: every subcommand's page, in the order of the
/// command line (a subcommand's own subcommands after it), then pam_exec(8).
fn see_also(cmd: &clap::Command) -> String {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = format!("{prefix}-{}", sub.get_name());
            out.push(format!("\\fB{}\\fR(1)", name.replace('-', "\\-")));
            walk(sub, &name, out);
        }
    }
    let mut pages = Vec::new();
    walk(cmd, "codedesk", &mut pages);
    pages.push("\\fBpam_exec\\fR(8)".to_string());
    // Two pages a line, as written by hand before.
    pages
        .chunks(2)
        .map(|c| c.join(", "))
        .collect::<Vec<_>>()
        .join(",\n")
}

/// docs/contract.md as committed; its exit-status table is generated.
const CONTRACT: &str = include_str!("../../docs/contract.md");
const TABLE_BEGIN: &str = "<!-- exit-statuses:begin -->\n";
const TABLE_END: &str = "<!-- exit-statuses:end -->\n";

/// `doc` with the text between the exit-status markers replaced by the
/// table of `exit.rs` (unchanged when the markers are missing).
fn with_exit_table(doc: &str) -> String {
    match (doc.find(TABLE_BEGIN), doc.find(TABLE_END)) {
        (Some(a), Some(b)) if a < b => format!(
            "{}{TABLE_BEGIN}{}{}",
            &doc[..a],
            crate::exit::markdown_table(),
            &doc[b..]
        ),
        _ => doc.to_string(),
    }
}

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
        let mut cmd =
            without_hidden_subcommands(<crate::cli::Cli as clap::CommandFactory>::command());
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
    // Built as a whole so each subcommand knows its full name
    // ("codedesk issue-codes") and carries the global options.
    let mut cmd =
        <crate::cli::Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    cmd.build();
    let main = MAIN_SECTIONS
        .replace("@EXIT_ENTRIES@", &crate::exit::man_entries())
        .replace("@PAM_STANZA@", &roff_verbatim(PAM_STANZA))
        .replace("@SEE_ALSO@", &see_also(&cmd));
    files.push((PathBuf::from("man/codedesk.1"), man_page(&cmd, &main)?));
    let mut todo: Vec<&clap::Command> = cmd.get_subcommands().collect();
    while let Some(sub) = todo.pop() {
        if sub.is_hide_set() {
            continue;
        }
        let name = sub.get_display_name().unwrap_or(sub.get_name()).to_string();
        // The global options are described once, on codedesk(1); listed on
        // every page they buried each command's own options.
        let page = sub
            .clone()
            .mut_args(|a| if a.is_global_set() { a.hide(true) } else { a });
        let mut extra = sub_sections(&name).to_string();
        extra.push_str(GLOBAL_NOTE);
        files.push((
            PathBuf::from("man").join(format!("{name}.1")),
            man_page(&page, &extra)?,
        ));
        todo.extend(sub.get_subcommands());
    }
    files.push((
        PathBuf::from("docs/contract.md"),
        with_exit_table(CONTRACT).into_bytes(),
    ));
    files.sort_by(|a, b| a.0.cmp(&b.0));
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
