
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'codedesk' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'codedesk'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'codedesk' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('enroll-device', 'enroll-device', [CompletionResultType]::ParameterValue, 'Add a device to a user, creating the user on first enrolment')
            [CompletionResult]::new('issue-codes', 'issue-codes', [CompletionResultType]::ParameterValue, 'Issue a new set of backup codes (by SMS, or by the helpdesk after an identity check)')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check one code, read from standard input or a hidden prompt; an accepted code is spent')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Invalidate a user''s codes, one set of them, or remove a device')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear a user''s lockout')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List users, or one user in detail (never a code)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Show the audit trail, or check that it has not been altered')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Run the whole story against a throwaway store')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the effective configuration and where each value came from')
            [CompletionResult]::new('calibrate', 'calibrate', [CompletionResultType]::ParameterValue, 'Suggest Argon2id parameters for this machine')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy a SQLite store into an empty PostgreSQL store, ids and audit chain intact')
            [CompletionResult]::new('challenge', 'challenge', [CompletionResultType]::ParameterValue, 'Send a one-time challenge to a contact on file; prints its id (never the challenge)')
            [CompletionResult]::new('dispute', 'dispute', [CompletionResultType]::ParameterValue, 'A user says "not me" about a notice: revoke their codes and lock them')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Checks, sets, approvals, disputes and lockouts per operator and day, from the audit trail')
            [CompletionResult]::new('setup-roles', 'setup-roles', [CompletionResultType]::ParameterValue, 'Create the PostgreSQL roles codedesk_verifier, _operator, _supervisor and _auditor, and grant them this store (run as the store''s owner)')
            [CompletionResult]::new('upgrade-store', 'upgrade-store', [CompletionResultType]::ParameterValue, 'Apply the schema changes a new codedesk brings to the store (run once per store, as its owner, after upgrading the package)')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Compare the store with the directory: leavers'' codes revoked, changed numbers and new privileged users reported')
            [CompletionResult]::new('privileged', 'privileged', [CompletionResultType]::ParameterValue, 'Mark a user privileged (helpdesk codes and new devices then need a second principal''s approval), or not')
            [CompletionResult]::new('approve', 'approve', [CompletionResultType]::ParameterValue, 'Approve a request waiting for a second principal (exit 10), after showing who asked, why and the identity check; without REQUEST, list those waiting')
            [CompletionResult]::new('deny', 'deny', [CompletionResultType]::ParameterValue, 'Refuse a request waiting for a second principal')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'codedesk;enroll-device' {
            [CompletionResult]::new('--kind', '--kind', [CompletionResultType]::ParameterName, 'What the device is')
            [CompletionResult]::new('--phone', '--phone', [CompletionResultType]::ParameterName, 'Phone number (required for mobile and landline); spaces, dashes, dots, parentheses allowed')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A label for the device ("work phone")')
            [CompletionResult]::new('--identity-verified', '--identity-verified', [CompletionResultType]::ParameterName, 'Attest the identity check that adding a device to an existing user needs: in-person, video-call, callback or challenge')
            [CompletionResult]::new('--ticket', '--ticket', [CompletionResultType]::ParameterName, 'Ticket reference of the identity check')
            [CompletionResult]::new('--challenge', '--challenge', [CompletionResultType]::ParameterName, 'The challenge the caller reads back (from standard input), with --identity-verified challenge')
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'Record this email address on file for the user (notices, challenges)')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Enrol many devices from a CSV file (user,kind,phone,sms,label; - for stdin), all or none')
            [CompletionResult]::new('--request', '--request', [CompletionResultType]::ParameterName, 'Spend this approved request (its identity check stands): after exit 10 and `codedesk approve`')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sms', '--sms', [CompletionResultType]::ParameterName, 'The device can receive SMS (mobile phones only; the default for them)')
            [CompletionResult]::new('--no-sms', '--no-sms', [CompletionResultType]::ParameterName, 'The device cannot receive SMS')
            [CompletionResult]::new('--primary', '--primary', [CompletionResultType]::ParameterName, 'Make this the primary device (top of the list)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;issue-codes' {
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Codes in the new set [default: codes.count, 10]')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'Text the codes to this device (must be SMS-capable)')
            [CompletionResult]::new('--via', '--via', [CompletionResultType]::ParameterName, 'Force a path: sms, or helpdesk (always gated by an identity check)')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'How long the set stays valid (90s, 15m, 1h, 7d) or never')
            [CompletionResult]::new('--uses', '--uses', [CompletionResultType]::ParameterName, 'How many times each code works [default: codes.uses, 1]')
            [CompletionResult]::new('--identity-verified', '--identity-verified', [CompletionResultType]::ParameterName, 'Attest the identity check without a prompt: in-person, video-call, callback or challenge')
            [CompletionResult]::new('--ticket', '--ticket', [CompletionResultType]::ParameterName, 'Ticket reference of the identity check')
            [CompletionResult]::new('--challenge', '--challenge', [CompletionResultType]::ParameterName, 'The challenge the caller reads back (from standard input), with --identity-verified challenge')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Issue for every user in a CSV file (header row with a user column; - for stdin)')
            [CompletionResult]::new('--request', '--request', [CompletionResultType]::ParameterName, 'Spend this approved request (its identity check stands): after exit 10 and `codedesk approve`')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--preserve-existing', '--preserve-existing', [CompletionResultType]::ParameterName, 'Keep the user''s earlier codes valid (otherwise a new set invalidates them)')
            [CompletionResult]::new('--ask-approval', '--ask-approval', [CompletionResultType]::ParameterName, 'Beyond helpdesk.max_sets_per_operator: record a request for one more set (exit 10) instead of being refused')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;verify' {
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, 'The service that asked, for the audit trail (sshd, radius) [default: $PAM_SERVICE, as set by pam_exec]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;revoke' {
            [CompletionResult]::new('--issued-by', '--issued-by', [CompletionResultType]::ParameterName, 'Revoke every live set this operator (principal) issued, for every user')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'With --issued-by: only sets issued at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or 1h, 7d ago)')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'Remove this device instead (the next one becomes primary)')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Invalidate only this set of codes')
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why, for the audit trail')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;unlock' {
            [CompletionResult]::new('--identity-verified', '--identity-verified', [CompletionResultType]::ParameterName, 'Attest the identity check that unlocking a user locked by a dispute needs: in-person, video-call, callback or challenge')
            [CompletionResult]::new('--ticket', '--ticket', [CompletionResultType]::ParameterName, 'Ticket reference of the identity check')
            [CompletionResult]::new('--challenge', '--challenge', [CompletionResultType]::ParameterName, 'The challenge the caller reads back (from standard input), with --identity-verified challenge')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;list' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;audit' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only this user''s events')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only events at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or a duration ago: 1h, 7d)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep running and stream new events as JSON lines (with --format json), for a SIEM shipper')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Recompute the hash chain; exit 8 naming the first altered or missing event')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'codedesk;audit;verify' {
            [CompletionResult]::new('--anchor', '--anchor', [CompletionResultType]::ParameterName, 'A head printed by an earlier `audit verify` and kept elsewhere; exit 8 unless that event is still in the trail (repeatable)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;audit;help' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Recompute the hash chain; exit 8 naming the first altered or missing event')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'codedesk;audit;help;verify' {
            break
        }
        'codedesk;audit;help;help' {
            break
        }
        'codedesk;demo' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;config' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;calibrate' {
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Time one hash should take')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;migrate' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The SQLite store to copy (PATH or sqlite://PATH); its data is only read, but a store from an earlier codedesk is first brought to this version''s schema')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The empty PostgreSQL store to fill: postgres://USER@HOST[:PORT]/DB (the password from PGPASSWORD keeps it out of the process list)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;challenge' {
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'Send it by SMS to this device (SMS-capable, on file) [default: the first contact on file]')
            [CompletionResult]::new('--lost', '--lost', [CompletionResultType]::ParameterName, 'A device the caller says is lost or stolen: never sent there (repeatable)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'Send it to the email address on file')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;dispute' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why, for the audit trail')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;report' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only events at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or a duration ago: 1h, 7d)')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'One row per operator (principal), or per day [default: per principal and day]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;setup-roles' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;upgrade-store' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say which schema changes would be applied, and change nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;sync' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Report what would change, and change nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;privileged' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;approve' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why, for the audit trail')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;deny' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why, for the audit trail')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]')
            [CompletionResult]::new('--operator', '--operator', [CompletionResultType]::ParameterName, 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs (ids, codes, JSON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'codedesk;help' {
            [CompletionResult]::new('enroll-device', 'enroll-device', [CompletionResultType]::ParameterValue, 'Add a device to a user, creating the user on first enrolment')
            [CompletionResult]::new('issue-codes', 'issue-codes', [CompletionResultType]::ParameterValue, 'Issue a new set of backup codes (by SMS, or by the helpdesk after an identity check)')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check one code, read from standard input or a hidden prompt; an accepted code is spent')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Invalidate a user''s codes, one set of them, or remove a device')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear a user''s lockout')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List users, or one user in detail (never a code)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Show the audit trail, or check that it has not been altered')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Run the whole story against a throwaway store')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the effective configuration and where each value came from')
            [CompletionResult]::new('calibrate', 'calibrate', [CompletionResultType]::ParameterValue, 'Suggest Argon2id parameters for this machine')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy a SQLite store into an empty PostgreSQL store, ids and audit chain intact')
            [CompletionResult]::new('challenge', 'challenge', [CompletionResultType]::ParameterValue, 'Send a one-time challenge to a contact on file; prints its id (never the challenge)')
            [CompletionResult]::new('dispute', 'dispute', [CompletionResultType]::ParameterValue, 'A user says "not me" about a notice: revoke their codes and lock them')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Checks, sets, approvals, disputes and lockouts per operator and day, from the audit trail')
            [CompletionResult]::new('setup-roles', 'setup-roles', [CompletionResultType]::ParameterValue, 'Create the PostgreSQL roles codedesk_verifier, _operator, _supervisor and _auditor, and grant them this store (run as the store''s owner)')
            [CompletionResult]::new('upgrade-store', 'upgrade-store', [CompletionResultType]::ParameterValue, 'Apply the schema changes a new codedesk brings to the store (run once per store, as its owner, after upgrading the package)')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Compare the store with the directory: leavers'' codes revoked, changed numbers and new privileged users reported')
            [CompletionResult]::new('privileged', 'privileged', [CompletionResultType]::ParameterValue, 'Mark a user privileged (helpdesk codes and new devices then need a second principal''s approval), or not')
            [CompletionResult]::new('approve', 'approve', [CompletionResultType]::ParameterValue, 'Approve a request waiting for a second principal (exit 10), after showing who asked, why and the identity check; without REQUEST, list those waiting')
            [CompletionResult]::new('deny', 'deny', [CompletionResultType]::ParameterValue, 'Refuse a request waiting for a second principal')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'codedesk;help;enroll-device' {
            break
        }
        'codedesk;help;issue-codes' {
            break
        }
        'codedesk;help;verify' {
            break
        }
        'codedesk;help;revoke' {
            break
        }
        'codedesk;help;unlock' {
            break
        }
        'codedesk;help;list' {
            break
        }
        'codedesk;help;audit' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Recompute the hash chain; exit 8 naming the first altered or missing event')
            break
        }
        'codedesk;help;audit;verify' {
            break
        }
        'codedesk;help;demo' {
            break
        }
        'codedesk;help;config' {
            break
        }
        'codedesk;help;calibrate' {
            break
        }
        'codedesk;help;migrate' {
            break
        }
        'codedesk;help;challenge' {
            break
        }
        'codedesk;help;dispute' {
            break
        }
        'codedesk;help;report' {
            break
        }
        'codedesk;help;setup-roles' {
            break
        }
        'codedesk;help;upgrade-store' {
            break
        }
        'codedesk;help;sync' {
            break
        }
        'codedesk;help;privileged' {
            break
        }
        'codedesk;help;approve' {
            break
        }
        'codedesk;help;deny' {
            break
        }
        'codedesk;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
