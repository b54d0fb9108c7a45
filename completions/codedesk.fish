# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_codedesk_global_optspecs
    string join \n db= config= operator= format= q/quiet h/help V/version
end

function __fish_codedesk_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_codedesk_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_codedesk_using_subcommand
    set -l cmd (__fish_codedesk_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c codedesk -n "__fish_codedesk_needs_command" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_needs_command" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_needs_command" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_needs_command" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_needs_command" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_needs_command" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "enroll-device" -d 'Add a device to a user, creating the user on first enrolment'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "issue-codes" -d 'Issue a new set of backup codes (by SMS, or by the helpdesk after an identity check)'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "verify" -d 'Check one code, read from standard input or a hidden prompt; an accepted code is spent'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "revoke" -d 'Invalidate a user\'s codes, one set of them, or remove a device'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "unlock" -d 'Clear a user\'s lockout'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "list" -d 'List users, or one user in detail (never a code)'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "audit" -d 'Show the audit trail, or check that it has not been altered'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "demo" -d 'Run the whole story against a throwaway store'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "config" -d 'Show the effective configuration and where each value came from'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "calibrate" -d 'Suggest Argon2id parameters for this machine'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "migrate" -d 'Copy a SQLite store into an empty PostgreSQL store, ids and audit chain intact'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "challenge" -d 'Send a one-time challenge to a contact on file; prints its id (never the challenge)'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "dispute" -d 'A user says "not me" about a notice: revoke their codes and lock them'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "report" -d 'Checks, sets, approvals, disputes and lockouts per operator and day, from the audit trail'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "setup-roles" -d 'Create the PostgreSQL roles codedesk_verifier, _operator, _supervisor and _auditor, and grant them this store (run as the store\'s owner)'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "upgrade-store" -d 'Apply the schema changes a new codedesk brings to the store (run once per store, as its owner, after upgrading the package)'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "sync" -d 'Compare the store with the directory: leavers\' codes revoked, changed numbers and new privileged users reported'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "privileged" -d 'Mark a user privileged (helpdesk codes and new devices then need a second principal\'s approval), or not'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "approve" -d 'Approve a request waiting for a second principal (exit 10), after showing who asked, why and the identity check; without REQUEST, list those waiting'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "deny" -d 'Refuse a request waiting for a second principal'
complete -c codedesk -n "__fish_codedesk_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l kind -d 'What the device is' -r -f -a "mobile\t''
landline\t''
tablet\t''
token\t''"
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l phone -d 'Phone number (required for mobile and landline); spaces, dashes, dots, parentheses allowed' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l label -d 'A label for the device ("work phone")' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l identity-verified -d 'Attest the identity check that adding a device to an existing user needs: in-person, video-call, callback or challenge' -r -f -a "in-person\t'In person, with photo ID'
video-call\t'On a video call, with photo ID held to the camera'
callback\t'By calling back the number in the directory (never one the caller gives)'
challenge\t'By a one-time challenge codedesk sent to a contact on file and checked itself (`codedesk challenge`, `--challenge ID`)'"
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l ticket -d 'Ticket reference of the identity check' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l challenge -d 'The challenge the caller reads back (from standard input), with --identity-verified challenge' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l email -d 'Record this email address on file for the user (notices, challenges)' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l batch -d 'Enrol many devices from a CSV file (user,kind,phone,sms,label; - for stdin), all or none' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l request -d 'Spend this approved request (its identity check stands): after exit 10 and `codedesk approve`' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l sms -d 'The device can receive SMS (mobile phones only; the default for them)'
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l no-sms -d 'The device cannot receive SMS'
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -l primary -d 'Make this the primary device (top of the list)'
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand enroll-device" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l count -d 'Codes in the new set [default: codes.count, 10]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l device -d 'Text the codes to this device (must be SMS-capable)' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l via -d 'Force a path: sms, or helpdesk (always gated by an identity check)' -r -f -a "sms\t'Texted to an SMS-capable phone; the operator never sees the codes'
helpdesk\t'Generated by the helpdesk after an identity check; shown once'"
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l expires -d 'How long the set stays valid (90s, 15m, 1h, 7d) or never' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l uses -d 'How many times each code works [default: codes.uses, 1]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l identity-verified -d 'Attest the identity check without a prompt: in-person, video-call, callback or challenge' -r -f -a "in-person\t'In person, with photo ID'
video-call\t'On a video call, with photo ID held to the camera'
callback\t'By calling back the number in the directory (never one the caller gives)'
challenge\t'By a one-time challenge codedesk sent to a contact on file and checked itself (`codedesk challenge`, `--challenge ID`)'"
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l ticket -d 'Ticket reference of the identity check' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l challenge -d 'The challenge the caller reads back (from standard input), with --identity-verified challenge' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l batch -d 'Issue for every user in a CSV file (header row with a user column; - for stdin)' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l request -d 'Spend this approved request (its identity check stands): after exit 10 and `codedesk approve`' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l preserve-existing -d 'Keep the user\'s earlier codes valid (otherwise a new set invalidates them)'
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -l ask-approval -d 'Beyond helpdesk.max_sets_per_operator: record a request for one more set (exit 10) instead of being refused'
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand issue-codes" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand verify" -l service -d 'The service that asked, for the audit trail (sshd, radius) [default: $PAM_SERVICE, as set by pam_exec]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand verify" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand verify" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand verify" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand verify" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand verify" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand verify" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -l issued-by -d 'Revoke every live set this operator (principal) issued, for every user' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -l since -d 'With --issued-by: only sets issued at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or 1h, 7d ago)' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -l device -d 'Remove this device instead (the next one becomes primary)' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -l batch -d 'Invalidate only this set of codes' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -l reason -d 'Why, for the audit trail' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand unlock" -l identity-verified -d 'Attest the identity check that unlocking a user locked by a dispute needs: in-person, video-call, callback or challenge' -r -f -a "in-person\t'In person, with photo ID'
video-call\t'On a video call, with photo ID held to the camera'
callback\t'By calling back the number in the directory (never one the caller gives)'
challenge\t'By a one-time challenge codedesk sent to a contact on file and checked itself (`codedesk challenge`, `--challenge ID`)'"
complete -c codedesk -n "__fish_codedesk_using_subcommand unlock" -l ticket -d 'Ticket reference of the identity check' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand unlock" -l challenge -d 'The challenge the caller reads back (from standard input), with --identity-verified challenge' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand unlock" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand unlock" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand unlock" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand unlock" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand unlock" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand unlock" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand unlock" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand list" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand list" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand list" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand list" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand list" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand list" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l user -d 'Only this user\'s events' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l since -d 'Only events at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or a duration ago: 1h, 7d)' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l follow -d 'Keep running and stream new events as JSON lines (with --format json), for a SIEM shipper'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -f -a "verify" -d 'Recompute the hash chain; exit 8 naming the first altered or missing event'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -l anchor -d 'A head printed by an earlier `audit verify` and kept elsewhere; exit 8 unless that event is still in the trail (repeatable)' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Recompute the hash chain; exit 8 naming the first altered or missing event'
complete -c codedesk -n "__fish_codedesk_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c codedesk -n "__fish_codedesk_using_subcommand demo" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand demo" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand demo" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand demo" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand demo" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand demo" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand config" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand config" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand config" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand config" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand config" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand config" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand calibrate" -l target -d 'Time one hash should take' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand calibrate" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand calibrate" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand calibrate" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand calibrate" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand calibrate" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand calibrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand calibrate" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand migrate" -l from -d 'The SQLite store to copy (PATH or sqlite://PATH); its data is only read, but a store from an earlier codedesk is first brought to this version\'s schema' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand migrate" -l to -d 'The empty PostgreSQL store to fill: postgres://USER@HOST[:PORT]/DB (the password from PGPASSWORD keeps it out of the process list)' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand migrate" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand migrate" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand migrate" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand migrate" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand migrate" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand migrate" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand challenge" -l device -d 'Send it by SMS to this device (SMS-capable, on file) [default: the first contact on file]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand challenge" -l lost -d 'A device the caller says is lost or stolen: never sent there (repeatable)' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand challenge" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand challenge" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand challenge" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand challenge" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand challenge" -l email -d 'Send it to the email address on file'
complete -c codedesk -n "__fish_codedesk_using_subcommand challenge" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand challenge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand challenge" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand dispute" -l reason -d 'Why, for the audit trail' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand dispute" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand dispute" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand dispute" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand dispute" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand dispute" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand dispute" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand dispute" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand report" -l since -d 'Only events at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or a duration ago: 1h, 7d)' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand report" -l by -d 'One row per operator (principal), or per day [default: per principal and day]' -r -f -a "operator\t'One row per operator (principal), all days together'
day\t'One row per day, all operators together'"
complete -c codedesk -n "__fish_codedesk_using_subcommand report" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand report" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand report" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand report" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand report" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand report" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand setup-roles" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand setup-roles" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand setup-roles" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand setup-roles" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand setup-roles" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand setup-roles" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand setup-roles" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand upgrade-store" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand upgrade-store" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand upgrade-store" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand upgrade-store" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand upgrade-store" -l dry-run -d 'Say which schema changes would be applied, and change nothing'
complete -c codedesk -n "__fish_codedesk_using_subcommand upgrade-store" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand upgrade-store" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand upgrade-store" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand sync" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand sync" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand sync" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand sync" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand sync" -l dry-run -d 'Report what would change, and change nothing'
complete -c codedesk -n "__fish_codedesk_using_subcommand sync" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand sync" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand privileged" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand privileged" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand privileged" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand privileged" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand privileged" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand privileged" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand privileged" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand approve" -l reason -d 'Why, for the audit trail' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand approve" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand approve" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand approve" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand approve" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand approve" -s y -l yes -d 'approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)'
complete -c codedesk -n "__fish_codedesk_using_subcommand approve" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand approve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand approve" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand deny" -l reason -d 'Why, for the audit trail' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand deny" -l db -d 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand deny" -l config -d 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]' -r -F
complete -c codedesk -n "__fish_codedesk_using_subcommand deny" -l operator -d 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]' -r
complete -c codedesk -n "__fish_codedesk_using_subcommand deny" -l format -d 'Output format' -r -f -a "table\t'Aligned tables for a person at a terminal'
json\t'JSON (JSON Lines for streams)'
csv\t'Comma-separated values with a header row'
text\t'Plain text; for helpdesk codes, a printable card'"
complete -c codedesk -n "__fish_codedesk_using_subcommand deny" -s y -l yes -d 'approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)'
complete -c codedesk -n "__fish_codedesk_using_subcommand deny" -s q -l quiet -d 'Print only what a script needs (ids, codes, JSON)'
complete -c codedesk -n "__fish_codedesk_using_subcommand deny" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codedesk -n "__fish_codedesk_using_subcommand deny" -s V -l version -d 'Print version'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "enroll-device" -d 'Add a device to a user, creating the user on first enrolment'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "issue-codes" -d 'Issue a new set of backup codes (by SMS, or by the helpdesk after an identity check)'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "verify" -d 'Check one code, read from standard input or a hidden prompt; an accepted code is spent'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "revoke" -d 'Invalidate a user\'s codes, one set of them, or remove a device'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "unlock" -d 'Clear a user\'s lockout'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "list" -d 'List users, or one user in detail (never a code)'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "audit" -d 'Show the audit trail, or check that it has not been altered'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "demo" -d 'Run the whole story against a throwaway store'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "config" -d 'Show the effective configuration and where each value came from'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "calibrate" -d 'Suggest Argon2id parameters for this machine'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "migrate" -d 'Copy a SQLite store into an empty PostgreSQL store, ids and audit chain intact'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "challenge" -d 'Send a one-time challenge to a contact on file; prints its id (never the challenge)'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "dispute" -d 'A user says "not me" about a notice: revoke their codes and lock them'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "report" -d 'Checks, sets, approvals, disputes and lockouts per operator and day, from the audit trail'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "setup-roles" -d 'Create the PostgreSQL roles codedesk_verifier, _operator, _supervisor and _auditor, and grant them this store (run as the store\'s owner)'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "upgrade-store" -d 'Apply the schema changes a new codedesk brings to the store (run once per store, as its owner, after upgrading the package)'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "sync" -d 'Compare the store with the directory: leavers\' codes revoked, changed numbers and new privileged users reported'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "privileged" -d 'Mark a user privileged (helpdesk codes and new devices then need a second principal\'s approval), or not'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "approve" -d 'Approve a request waiting for a second principal (exit 10), after showing who asked, why and the identity check; without REQUEST, list those waiting'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "deny" -d 'Refuse a request waiting for a second principal'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and not __fish_seen_subcommand_from enroll-device issue-codes verify revoke unlock list audit demo config calibrate migrate challenge dispute report setup-roles upgrade-store sync privileged approve deny help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c codedesk -n "__fish_codedesk_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "verify" -d 'Recompute the hash chain; exit 8 naming the first altered or missing event'
