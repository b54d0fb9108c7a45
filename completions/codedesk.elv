
use builtin;
use str;

set edit:completion:arg-completer[codedesk] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'codedesk'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'codedesk'= {
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand enroll-device 'Add a device to a user, creating the user on first enrolment'
            cand issue-codes 'Issue a new set of backup codes (by SMS, or by the helpdesk after an identity check)'
            cand verify 'Check one code, read from standard input or a hidden prompt; an accepted code is spent'
            cand revoke 'Invalidate a user''s codes, one set of them, or remove a device'
            cand unlock 'Clear a user''s lockout'
            cand list 'List users, or one user in detail (never a code)'
            cand audit 'Show the audit trail, or check that it has not been altered'
            cand demo 'Run the whole story against a throwaway store'
            cand config 'Show the effective configuration and where each value came from'
            cand calibrate 'Suggest Argon2id parameters for this machine'
            cand migrate 'Copy a SQLite store into an empty PostgreSQL store, ids and audit chain intact'
            cand challenge 'Send a one-time challenge to a contact on file; prints its id (never the challenge)'
            cand dispute 'A user says "not me" about a notice: revoke their codes and lock them'
            cand report 'Checks, sets, approvals, disputes and lockouts per operator and day, from the audit trail'
            cand setup-roles 'Create the PostgreSQL roles codedesk_verifier, _operator, _supervisor and _auditor, and grant them this store (run as the store''s owner)'
            cand upgrade-store 'Apply the schema changes a new codedesk brings to the store (run once per store, as its owner, after upgrading the package)'
            cand sync 'Compare the store with the directory: leavers'' codes revoked, changed numbers and new privileged users reported'
            cand privileged 'Mark a user privileged (helpdesk codes and new devices then need a second principal''s approval), or not'
            cand approve 'Approve a request waiting for a second principal (exit 10), after showing who asked, why and the identity check; without REQUEST, list those waiting'
            cand deny 'Refuse a request waiting for a second principal'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'codedesk;enroll-device'= {
            cand --kind 'What the device is'
            cand --phone 'Phone number (required for mobile and landline); spaces, dashes, dots, parentheses allowed'
            cand --label 'A label for the device ("work phone")'
            cand --identity-verified 'Attest the identity check that adding a device to an existing user needs: in-person, video-call, callback or challenge'
            cand --ticket 'Ticket reference of the identity check'
            cand --challenge 'The challenge the caller reads back (from standard input), with --identity-verified challenge'
            cand --email 'Record this email address on file for the user (notices, challenges)'
            cand --batch 'Enrol many devices from a CSV file (user,kind,phone,sms,label; - for stdin), all or none'
            cand --request 'Spend this approved request (its identity check stands): after exit 10 and `codedesk approve`'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand --sms 'The device can receive SMS (mobile phones only; the default for them)'
            cand --no-sms 'The device cannot receive SMS'
            cand --primary 'Make this the primary device (top of the list)'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;issue-codes'= {
            cand --count 'Codes in the new set [default: codes.count, 10]'
            cand --device 'Text the codes to this device (must be SMS-capable)'
            cand --via 'Force a path: sms, or helpdesk (always gated by an identity check)'
            cand --expires 'How long the set stays valid (90s, 15m, 1h, 7d) or never'
            cand --uses 'How many times each code works [default: codes.uses, 1]'
            cand --identity-verified 'Attest the identity check without a prompt: in-person, video-call, callback or challenge'
            cand --ticket 'Ticket reference of the identity check'
            cand --challenge 'The challenge the caller reads back (from standard input), with --identity-verified challenge'
            cand --batch 'Issue for every user in a CSV file (header row with a user column; - for stdin)'
            cand --request 'Spend this approved request (its identity check stands): after exit 10 and `codedesk approve`'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand --preserve-existing 'Keep the user''s earlier codes valid (otherwise a new set invalidates them)'
            cand --ask-approval 'Beyond helpdesk.max_sets_per_operator: record a request for one more set (exit 10) instead of being refused'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;verify'= {
            cand --service 'The service that asked, for the audit trail (sshd, radius) [default: $PAM_SERVICE, as set by pam_exec]'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;revoke'= {
            cand --issued-by 'Revoke every live set this operator (principal) issued, for every user'
            cand --since 'With --issued-by: only sets issued at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or 1h, 7d ago)'
            cand --device 'Remove this device instead (the next one becomes primary)'
            cand --batch 'Invalidate only this set of codes'
            cand --reason 'Why, for the audit trail'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;unlock'= {
            cand --identity-verified 'Attest the identity check that unlocking a user locked by a dispute needs: in-person, video-call, callback or challenge'
            cand --ticket 'Ticket reference of the identity check'
            cand --challenge 'The challenge the caller reads back (from standard input), with --identity-verified challenge'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;list'= {
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;audit'= {
            cand --user 'Only this user''s events'
            cand --since 'Only events at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or a duration ago: 1h, 7d)'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand --follow 'Keep running and stream new events as JSON lines (with --format json), for a SIEM shipper'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand verify 'Recompute the hash chain; exit 8 naming the first altered or missing event'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'codedesk;audit;verify'= {
            cand --anchor 'A head printed by an earlier `audit verify` and kept elsewhere; exit 8 unless that event is still in the trail (repeatable)'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;audit;help'= {
            cand verify 'Recompute the hash chain; exit 8 naming the first altered or missing event'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'codedesk;audit;help;verify'= {
        }
        &'codedesk;audit;help;help'= {
        }
        &'codedesk;demo'= {
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;config'= {
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;calibrate'= {
            cand --target 'Time one hash should take'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;migrate'= {
            cand --from 'The SQLite store to copy (PATH or sqlite://PATH); its data is only read, but a store from an earlier codedesk is first brought to this version''s schema'
            cand --to 'The empty PostgreSQL store to fill: postgres://USER@HOST[:PORT]/DB (the password from PGPASSWORD keeps it out of the process list)'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;challenge'= {
            cand --device 'Send it by SMS to this device (SMS-capable, on file) [default: the first contact on file]'
            cand --lost 'A device the caller says is lost or stolen: never sent there (repeatable)'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand --email 'Send it to the email address on file'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;dispute'= {
            cand --reason 'Why, for the audit trail'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;report'= {
            cand --since 'Only events at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or a duration ago: 1h, 7d)'
            cand --by 'One row per operator (principal), or per day [default: per principal and day]'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;setup-roles'= {
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;upgrade-store'= {
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand --dry-run 'Say which schema changes would be applied, and change nothing'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;sync'= {
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand --dry-run 'Report what would change, and change nothing'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;privileged'= {
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;approve'= {
            cand --reason 'Why, for the audit trail'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -y 'approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)'
            cand --yes 'approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;deny'= {
            cand --reason 'Why, for the audit trail'
            cand --db 'The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]'
            cand --config 'The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]'
            cand --operator 'A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]'
            cand --format 'Output format'
            cand -y 'approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)'
            cand --yes 'approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)'
            cand -q 'Print only what a script needs (ids, codes, JSON)'
            cand --quiet 'Print only what a script needs (ids, codes, JSON)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'codedesk;help'= {
            cand enroll-device 'Add a device to a user, creating the user on first enrolment'
            cand issue-codes 'Issue a new set of backup codes (by SMS, or by the helpdesk after an identity check)'
            cand verify 'Check one code, read from standard input or a hidden prompt; an accepted code is spent'
            cand revoke 'Invalidate a user''s codes, one set of them, or remove a device'
            cand unlock 'Clear a user''s lockout'
            cand list 'List users, or one user in detail (never a code)'
            cand audit 'Show the audit trail, or check that it has not been altered'
            cand demo 'Run the whole story against a throwaway store'
            cand config 'Show the effective configuration and where each value came from'
            cand calibrate 'Suggest Argon2id parameters for this machine'
            cand migrate 'Copy a SQLite store into an empty PostgreSQL store, ids and audit chain intact'
            cand challenge 'Send a one-time challenge to a contact on file; prints its id (never the challenge)'
            cand dispute 'A user says "not me" about a notice: revoke their codes and lock them'
            cand report 'Checks, sets, approvals, disputes and lockouts per operator and day, from the audit trail'
            cand setup-roles 'Create the PostgreSQL roles codedesk_verifier, _operator, _supervisor and _auditor, and grant them this store (run as the store''s owner)'
            cand upgrade-store 'Apply the schema changes a new codedesk brings to the store (run once per store, as its owner, after upgrading the package)'
            cand sync 'Compare the store with the directory: leavers'' codes revoked, changed numbers and new privileged users reported'
            cand privileged 'Mark a user privileged (helpdesk codes and new devices then need a second principal''s approval), or not'
            cand approve 'Approve a request waiting for a second principal (exit 10), after showing who asked, why and the identity check; without REQUEST, list those waiting'
            cand deny 'Refuse a request waiting for a second principal'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'codedesk;help;enroll-device'= {
        }
        &'codedesk;help;issue-codes'= {
        }
        &'codedesk;help;verify'= {
        }
        &'codedesk;help;revoke'= {
        }
        &'codedesk;help;unlock'= {
        }
        &'codedesk;help;list'= {
        }
        &'codedesk;help;audit'= {
            cand verify 'Recompute the hash chain; exit 8 naming the first altered or missing event'
        }
        &'codedesk;help;audit;verify'= {
        }
        &'codedesk;help;demo'= {
        }
        &'codedesk;help;config'= {
        }
        &'codedesk;help;calibrate'= {
        }
        &'codedesk;help;migrate'= {
        }
        &'codedesk;help;challenge'= {
        }
        &'codedesk;help;dispute'= {
        }
        &'codedesk;help;report'= {
        }
        &'codedesk;help;setup-roles'= {
        }
        &'codedesk;help;upgrade-store'= {
        }
        &'codedesk;help;sync'= {
        }
        &'codedesk;help;privileged'= {
        }
        &'codedesk;help;approve'= {
        }
        &'codedesk;help;deny'= {
        }
        &'codedesk;help;help'= {
        }
    ]
    $completions[$command]
}
