#!/usr/bin/env bash
# codedesk performance benchmark: whole-process timings of the release
# binary, each figure a ratio against a reference measured in the same run.
#
#   bash benches/bench.sh
#
# It builds the release binary, builds the stores it needs in a temporary
# folder (never the real store), runs each command and its reference in
# alternating rounds, takes medians, and prints a table: figure, measured,
# reference, ratio, target, pass/fail. Exit status 0 when every figure
# passes, 1 otherwise. See BENCHMARKS.md for the method and a recorded run.
#
# Needs: cargo, bash 5. Uses hyperfine when installed (else a timing loop in
# this script), the `argon2` command (Debian package argon2) for the verify
# reference, sqlite3 to bulk-load the listing stores, and /usr/bin/time for
# peak memory; a figure whose tool is missing is reported as "skip".
#
# Knobs (environment): BENCH_ROUNDS (alternating rounds for the fast
# figures, default 10), BENCH_BATCH_ROUNDS (default 3), BENCH_BIG_USERS
# (default 100000), BENCH_SMALL_USERS (default 10000), BENCH_NO_HYPERFINE
# (set: use the timing loop even where hyperfine is installed), BENCH_ONLY
# (a comma-separated list of startup, verify, list, batch, calibrate: build
# and measure only those; the default is all of them).
#
# This is a script, not a Rust bench target: cargo only looks for *.rs here.

set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

ROUNDS=${BENCH_ROUNDS:-10}
BATCH_ROUNDS=${BENCH_BATCH_ROUNDS:-3}
BIG=${BENCH_BIG_USERS:-100000}
SMALL=${BENCH_SMALL_USERS:-10000}
BATCH_USERS=200
CORES=$(nproc)

T=$(mktemp -d "${TMPDIR:-/tmp}/codedesk-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/times" "$T/home" "$T/config" "$T/data"

say() { printf '%s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
use_hyperfine() { [[ -z ${BENCH_NO_HYPERFINE:-} ]] && have hyperfine; }
ONLY=${BENCH_ONLY:-startup,verify,list,batch,calibrate}
want() { [[ ,$ONLY, == *,$1,* ]]; }
for w in ${ONLY//,/ }; do
    case $w in startup | verify | list | batch | calibrate) ;; *) say "BENCH_ONLY: unknown figure '$w'"; exit 2 ;; esac
done

# ------------------------------------------------------------------ build

say "== building (release)"
cargo build --release --quiet
# A private copy: another build in this tree cannot swap it mid-run.
BIN="$T/codedesk"
cp target/release/codedesk "$BIN"

# The start-up reference: cargo's hello world, release build.
( cd "$T" && cargo new --quiet --vcs none hello )
env -u CARGO_TARGET_DIR cargo build --release --quiet \
    --manifest-path "$T/hello/Cargo.toml" --target-dir "$T/hello/target"
HELLO="$T/hello/target/release/hello"

# Two small reference programs, built against the crates codedesk uses at
# the versions in Cargo.lock, with codedesk's release profile: hashone times
# Argon2id in-process; sqlmin opens a store the way codedesk does and runs
# the three listing queries (the floor under `codedesk list`).
lockver() { awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock; }
( cd "$T" && cargo new --quiet --vcs none refs )
cat >>"$T/refs/Cargo.toml" <<EOF
argon2 = "=$(lockver argon2)"
rusqlite = { version = "=$(lockver rusqlite)", features = ["bundled"] }

[profile.release]
lto = "thin"
codegen-units = 1
EOF
rm "$T/refs/src/main.rs"
mkdir -p "$T/refs/src/bin"
cat >"$T/refs/src/bin/hashone.rs" <<'EOF'
//! hashone MODE M T P [N]: Argon2id at m=M KiB, t=T, p=P.
//! once: one hash, nothing printed (a whole-process reference).
//! fresh: N hashes, each in freshly allocated memory, seconds per line.
//! reuse: N hashes in one reused memory, seconds per line.
use std::time::Instant;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let num = |i: usize| a[i].parse::<u32>().expect("number");
    let params = argon2::Params::new(num(2), num(3), num(4), Some(32)).expect("params");
    let n = a.get(5).map_or(1, |s| s.parse::<usize>().expect("count"));
    let h = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = b"somesalt16bytes!";
    let mut out = [0u8; 32];
    let mut mem = Vec::new();
    for i in 0..n {
        let code = format!("BENCHCODE{i:07}");
        let t = Instant::now();
        match a[1].as_str() {
            "once" | "fresh" => h.hash_password_into(code.as_bytes(), salt, &mut out),
            "reuse" => {
                mem.resize(h.params().block_count(), argon2::Block::default());
                h.hash_password_into_with_memory(code.as_bytes(), salt, &mut out, &mut mem[..])
            }
            m => panic!("unknown mode {m}"),
        }
        .expect("hash");
        if a[1] != "once" {
            println!("{}", t.elapsed().as_secs_f64());
        }
        std::hint::black_box(&out);
    }
}
EOF
cat >"$T/refs/src/bin/sqlmin.rs" <<'EOF'
//! sqlmin DB: open a codedesk store as codedesk does (busy timeout, schema
//! version, WAL, synchronous, foreign keys), run the three listing queries,
//! print one line.
use rusqlite::{Connection, OpenFlags};
fn main() {
    let path = std::env::args().nth(1).expect("store path");
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = Connection::open_with_flags(&path, flags).expect("open");
    c.busy_timeout(std::time::Duration::from_secs(15)).expect("busy");
    let _: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    let _: String = c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).expect("wal");
    c.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;").expect("pragmas");
    let mut n = 0u64;
    for sql in [
        "SELECT id, name, created_at, failed_attempts, locked_at FROM users WHERE ?1 IS NULL ORDER BY id",
        "SELECT user_id, id, kind, phone, sms, label FROM devices WHERE ?1 IS NULL ORDER BY user_id, position, id",
        "SELECT s.user_id, s.id, s.via, s.operator, s.created_at, s.expires_at, s.identity_check_id,
                s.device_id, (SELECT COALESCE(SUM(uses_left), 0) FROM codes c WHERE c.set_id = s.id)
         FROM code_sets s WHERE s.state = 'active' AND ?1 IS NULL ORDER BY s.user_id, s.id",
    ] {
        let mut st = c.prepare(sql).expect("prepare");
        let mut rows = st.query([Option::<i64>::None]).expect("query");
        while rows.next().expect("row").is_some() {
            n += 1;
        }
    }
    println!("{n} rows");
}
EOF
cp Cargo.lock "$T/refs/Cargo.lock"
build_refs() {
    env -u CARGO_TARGET_DIR cargo build --release --quiet "$@" \
        --manifest-path "$T/refs/Cargo.toml" --target-dir "$T/refs/target"
}
say "== building the reference programs"
build_refs --offline 2>/dev/null || build_refs
HASHONE="$T/refs/target/release/hashone"
SQLMIN="$T/refs/target/release/sqlmin"

# Keep every command below away from the operator's real store and config.
export HOME="$T/home" XDG_CONFIG_HOME="$T/config" XDG_DATA_HOME="$T/data"
export CODEDESK_OPERATOR=bench
unset CODEDESK_DB CODEDESK_CONFIG SUDO_USER

# ------------------------------------------------------------- measuring

# measure ROUNDS RUNS WARMUP SHELL NAME CMD [NAME CMD ...]
# Runs the commands in ROUNDS rounds of RUNS runs each, rotating their order
# every round, and appends each run's wall time (seconds) to times/NAME.
# SHELL is "none" (exec directly) or "sh" (commands with redirections;
# hyperfine subtracts the shell's own start-up). "@R@" in a command is
# replaced by the round number (0, 1, ...).
measure() {
    local rounds=$1 runs=$2 warm=$3 shell=$4
    shift 4
    local names=() cmds=()
    while (($#)); do
        names+=("$1")
        cmds+=("$2")
        shift 2
    done
    local n=${#names[@]} r k i j
    for ((r = 0; r < rounds; r++)); do
        local order=()
        for ((k = 0; k < n; k++)); do order+=($(((k + r) % n))); done
        if use_hyperfine; then
            local args=()
            for i in "${order[@]}"; do args+=(-n "${names[i]}" "${cmds[i]//@R@/$r}"); done
            local sh=(-N)
            [[ $shell == sh ]] && sh=(-S sh)
            hyperfine "${sh[@]}" --style none -w "$warm" -r "$runs" \
                --export-json "$T/hf.json" "${args[@]}" >/dev/null 2>"$T/err" || {
                cat "$T/err" >&2
                return 1
            }
            awk -v dir="$T/times" '
                /"command":/ { sub(/^.*"command": "/, ""); sub(/",?$/, ""); name = $0 }
                /"times": \[/ { on = 1; next }
                on && /\]/ { on = 0; next }
                on { gsub(/[ ,]/, ""); print >> (dir "/" name) }
            ' "$T/hf.json"
        else
            for ((j = 0; j < warm; j++)); do
                for i in "${order[@]}"; do eval "${cmds[i]//@R@/$r}" >/dev/null 2>&1; done
            done
            for ((j = 0; j < runs; j++)); do
                for i in "${order[@]}"; do
                    local t0=${EPOCHREALTIME/./}
                    eval "${cmds[i]//@R@/$r}" >/dev/null 2>&1
                    local t1=${EPOCHREALTIME/./}
                    awk -v d=$((t1 - t0)) 'BEGIN { printf "%.6f\n", d / 1e6 }' >>"$T/times/${names[i]}"
                done
            done
        fi
    done
}

# time_once NAME CMD...: one timed whole-process run, appended to times/NAME.
time_once() {
    local name=$1
    shift
    local t0=${EPOCHREALTIME/./}
    "$@" >/dev/null 2>"$T/err" || {
        cat "$T/err" >&2
        return 1
    }
    local t1=${EPOCHREALTIME/./}
    awk -v d=$((t1 - t0)) 'BEGIN { printf "%.6f\n", d / 1e6 }' >>"$T/times/$name"
}

median() {
    sort -g "$T/times/$1" | awk '{ v[NR] = $1 }
        END { if (NR == 0) exit 1; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
count() { wc -l <"$T/times/$1" | tr -d ' '; }

# Peak resident memory (KiB) of one run; empty without /usr/bin/time.
peak_rss() {
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -f %M -o "$T/rss" "$@" >/dev/null 2>"$T/err" || {
            cat "$T/err" >&2
            return 1
        }
        tail -n1 "$T/rss"
    fi
}

ROWS=()
FAILED=0
# row FIGURE MEASURED REFERENCE RATIO TARGET [info]
# TARGET is a bound ("1.3": ratio <= 1.3) or a range ("0.5-1.25"). RATIO "-"
# means the figure could not be measured (skip). An "info" row is context,
# not one of the targets: it never fails the run.
row() {
    local verdict=skip lo=0 hi=$5 shown="<= $5"
    if [[ $5 == *-* ]]; then
        lo=${5%-*}
        hi=${5#*-}
        shown="$lo to $hi"
    fi
    if [[ $4 != - ]]; then
        if awk -v r="$4" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(r >= lo && r <= hi) }'; then
            verdict=pass
        else
            verdict=FAIL
        fi
        if [[ ${6:-} == info ]]; then
            verdict="info ($([[ $verdict == pass ]] && echo within || echo outside))"
            shown="($shown)"
        elif [[ $verdict == FAIL ]]; then
            FAILED=1
        fi
    fi
    ROWS+=("$1|$2|$3|$4|$shown|$verdict")
}
ms() { awk -v s="$1" 'BEGIN { if (s >= 1) printf "%.2f s", s; else printf "%.1f ms", s * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# ---------------------------------------------------------------- stores

OWASP="$T/owasp.toml"
printf '# defaults: Argon2id m=19456 KiB, t=2, p=1\n' >"$OWASP"
WEAK="$T/weak.toml"
printf '[hash]\nmemory_kib = 8\niterations = 1\nallow_weak = true\n' >"$WEAK"

# Verify: one user, one helpdesk set of 10 codes at the OWASP floor. Each
# code works 10 times (a set holds at most 100 uses) and each round of runs
# uses the next code, so every timed run is an accepted code and the user
# keeps 10 outstanding codes throughout.
if want verify; then
    say "== stores: verify"
    V="$T/verify.db"
    "$BIN" --db "$V" --config "$OWASP" -q enroll-device alice --kind landline --phone "+1 507 222 5999" >/dev/null
    "$BIN" --db "$V" --config "$OWASP" --format json issue-codes alice --uses 10 \
        --identity-verified in-person --ticket BENCH-1 >"$T/alice.json"
    split_codes() { # JSON PREFIX: one file per code, PREFIX.0 to PREFIX.9
        grep -oE '[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}' "$1" |
            awk -v p="$2" '{ print > (p "." (NR - 1)) }'
        [[ -s $2.9 ]] || { say "no codes issued"; exit 1; }
    }
    split_codes "$T/alice.json" "$T/alice.code"
fi

# Batch issuance: helpdesk-path users (landline primaries).
say "== stores: batch issuance"
make_batch_store() { # USERS DB
    awk -v n="$1" 'BEGIN { print "user,kind,phone"; for (i = 1; i <= n; i++) printf "b%05d,landline,+1507%07d\n", i, i }' >"$T/batch$1.devices.csv"
    awk -v n="$1" 'BEGIN { print "user"; for (i = 1; i <= n; i++) printf "b%05d\n", i }' >"$T/batch$1.users.csv"
    "$BIN" --db "$2" --config "$OWASP" -q enroll-device --batch "$T/batch$1.devices.csv" >/dev/null
}
want batch && for n in 100 $BATCH_USERS 400; do make_batch_store "$n" "$T/batch$n.db"; done
batch_cmd() { # USERS
    echo "$BIN --db $T/batch$1.db --config $OWASP --format json issue-codes --batch $T/batch$1.users.csv --identity-verified in-person --ticket BENCH-2"
}

# Listing: users with devices (enrolled through codedesk, audit chain and
# all), then identity checks, sets and codes bulk-loaded with SQL (no audit
# rows, so the chain stays valid). Odd users have an SMS mobile and an SMS
# set; even users a landline, a passed identity check and a helpdesk set;
# every third user also a tablet; a few are locked.
make_list_store() { # USERS DB
    awk -v n="$1" 'BEGIN {
        print "user,kind,phone,sms,label"
        for (i = 1; i <= n; i++) {
            u = sprintf("user%06d", i)
            if (i % 2) printf "%s,mobile,+1555%07d,yes,\n", u, i
            else printf "%s,landline,+1555%07d,,desk phone\n", u, i
            if (i % 3 == 0) printf "%s,tablet,,,\n", u
        }
    }' >"$T/list.csv"
    "$BIN" --db "$2" --config "$WEAK" -q enroll-device --batch "$T/list.csv" >/dev/null 2>&1
    sqlite3 "$2" <<'EOF'
BEGIN IMMEDIATE;
INSERT INTO identity_checks (user_id, operator, method, ticket, outcome, at)
    SELECT user_id, 'bench', 'in-person', 'T-' || user_id, 'passed', 1767225600
    FROM devices WHERE kind = 'landline';
INSERT INTO code_sets (user_id, via, device_id, identity_check_id, operator, created_at,
        expires_at, uses, alphabet, length, salt, m_cost, t_cost, p_cost, state)
    SELECT user_id, 'helpdesk', NULL, id, 'bench', 1767225600, NULL, 1, 'base32', 16,
        randomblob(16), 8, 1, 1, 'active' FROM identity_checks;
INSERT INTO code_sets (user_id, via, device_id, identity_check_id, operator, created_at,
        expires_at, uses, alphabet, length, salt, m_cost, t_cost, p_cost, state)
    SELECT user_id, 'sms', id, NULL, 'bench', 1767225600, 4102444800, 1, 'base32', 16,
        randomblob(16), 8, 1, 1, 'active' FROM devices WHERE sms = 1;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 10)
INSERT INTO codes (set_id, hash, uses_left)
    SELECT s.id, randomblob(32), CASE WHEN k.i <= 3 THEN 0 ELSE 1 END FROM code_sets s, k;
UPDATE users SET failed_attempts = 10, locked_at = 1767225600 WHERE id % 97 = 0;
COMMIT;
EOF
}
LIST_OK=0
if ! want list; then
    :
elif have sqlite3; then
    say "== stores: listing ($SMALL and $BIG users)"
    make_list_store "$SMALL" "$T/list-small.db"
    make_list_store "$BIG" "$T/list-big.db"
    # A verify user in the big store, to show verify does not grow with it.
    "$BIN" --db "$T/list-big.db" --config "$OWASP" -q enroll-device alice --kind landline --phone "+1 507 222 5999" >/dev/null
    "$BIN" --db "$T/list-big.db" --config "$OWASP" --format json issue-codes alice --uses 10 \
        --identity-verified in-person --ticket BENCH-3 >"$T/alice-big.json"
    split_codes "$T/alice-big.json" "$T/alice-big.code"
    # The chain must verify. The bulk-loaded sets have no events, so the
    # replay of the trail against the tables (SECURITY.md, "What the trail
    # vouches for") disagrees, and says so; nothing else may fail.
    if ! err=$("$BIN" --db "$T/list-big.db" audit verify 2>&1 >/dev/null); then
        case $err in
            *"the store disagrees with its audit trail: set "*) ;;
            *) echo "$err" >&2; exit 1 ;;
        esac
    fi
    LIST_OK=1
else
    say "sqlite3 not installed: listing figures skipped"
    row "list figures" "skip: no sqlite3 to build the stores" "-" "-" 1
fi

EMPTY="$T/empty.db"
"$BIN" --db "$EMPTY" list >/dev/null

# ------------------------------------------------------------ measurements

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

if want startup; then
    say "== start-up ($ROUNDS rounds)"
    startup=(
        hello "$HELLO"
        help "$BIN --help"
        list_empty "$BIN --db $EMPTY list"
        version "$BIN --version"
        # Context: the same store opened and listed by a minimal program.
        sqlmin "$SQLMIN $EMPTY"
    )
    measure "$ROUNDS" 10 3 none "${startup[@]}"
    m_hello=$(median hello)
    m=$(median help)
    row "start-up: codedesk --help" "$(ms "$m")" "$(ms "$m_hello") hello world" "$(ratio "$m" "$m_hello")" 2.5
    m=$(median list_empty)
    row "start-up: codedesk list, empty store" "$(ms "$m")" "$(ms "$m_hello") hello world" "$(ratio "$m" "$m_hello")" 2.5
    m=$(median version)
    row "  codedesk --version (no store, no help)" "$(ms "$m")" "$(ms "$m_hello") hello world" "$(ratio "$m" "$m_hello")" 2.5 info
    m=$(median sqlmin)
    row "  minimal Rust+SQLite: open, 3 list queries" "$(ms "$m")" "$(ms "$m_hello") hello world" "$(ratio "$m" "$m_hello")" 2.5 info
fi

if ! want verify; then
    :
elif have argon2; then
    say "== verify ($ROUNDS rounds)"
    vcmds=(
        verify "$BIN --db $V --config $OWASP verify alice < $T/alice.code.@R@"
        argon2_cli "printf %s code | argon2 somesalt16bytes -id -t 2 -k 19456 -p 1 -l 32"
        hashone "$HASHONE once 19456 2 1"
        # An unknown user (exit 4) must cost a hash too (docs/hardening.md).
        verify_unknown "$BIN --db $V --config $OWASP verify nobody < $T/alice.code.@R@; true"
    )
    if ((LIST_OK)); then
        vcmds+=(verify_big "$BIN --db $T/list-big.db --config $OWASP verify alice < $T/alice-big.code.@R@")
    fi
    # Each round spends 6 of the 10 uses of its own code.
    measure "$((ROUNDS < 10 ? ROUNDS : 10))" 5 1 sh "${vcmds[@]}"
    m_verify=$(median verify)
    m=$(median argon2_cli)
    row "verify, 10 live codes (argon2 CLI ref)" "$(ms "$m_verify")" "$(ms "$m") argon2 CLI" "$(ratio "$m_verify" "$m")" 1.3
    m=$(median verify_unknown)
    row "  verify of an unknown user / a user with codes" "$(ms "$m")" "$(ms "$m_verify") user with codes" "$(ratio "$m" "$m_verify")" 0.7-1.3 info
    m=$(median hashone)
    row "  verify vs a process that hashes once" "$(ms "$m_verify")" "$(ms "$m") 1-hash process" "$(ratio "$m_verify" "$m")" 1.3 info
    if ((LIST_OK)); then
        m=$(median verify_big)
        row "  verify in $BIG-user store / 1-user store" "$(ms "$m")" "$(ms "$m_verify") 1-user store" "$(ratio "$m" "$m_verify")" 1.15 info
    fi
else
    row "verify, 10 live codes" "skip: no argon2 command" "-" "-" 1.3
fi

if ((LIST_OK)); then
    say "== listing ($ROUNDS rounds)"
    measure "$((ROUNDS / 2 > 1 ? ROUNDS / 2 : 2))" 3 1 none \
        list_small "$BIN --db $T/list-small.db --format json list" \
        list_big "$BIN --db $T/list-big.db --format json list"
    m_small=$(median list_small)
    m_big=$(median list_big)
    row "list --format json, $BIG users" "$(ms "$m_big")" "2.00 s budget" "$(ratio "$m_big" 2)" 1
    row "list, $BIG users / $SMALL users" "$(ms "$m_big")" "$(ms "$m_small") $SMALL users" "$(ratio "$m_big" "$m_small")" 12
    rss_small=$(peak_rss "$BIN" --db "$T/list-small.db" --format json list)
    rss_big=$(peak_rss "$BIN" --db "$T/list-big.db" --format json list)
    if [[ -z $rss_small ]]; then
        row "list peak RSS" "skip: no /usr/bin/time" "-" "-" 1.5
    else
        row "list peak RSS, $BIG / $SMALL users" "$((rss_big / 1024)) MiB" "$((rss_small / 1024)) MiB" "$(ratio "$rss_big" "$rss_small")" 1.5
    fi
fi

if want batch; then
    say "== batch issuance ($BATCH_ROUNDS rounds of $BATCH_USERS users x 10 codes)"
    for ((r = 0; r < BATCH_ROUNDS; r++)); do
        if ((r % 2)); then
            "$HASHONE" fresh 19456 2 1 10 >>"$T/times/hash_fresh"
            "$HASHONE" reuse 19456 2 1 10 >>"$T/times/hash_reuse"
            time_once batch $(batch_cmd $BATCH_USERS)
        else
            time_once batch $(batch_cmd $BATCH_USERS)
            "$HASHONE" fresh 19456 2 1 10 >>"$T/times/hash_fresh"
            "$HASHONE" reuse 19456 2 1 10 >>"$T/times/hash_reuse"
        fi
    done
    m_batch=$(median batch)
    m_fresh=$(median hash_fresh)
    m_reuse=$(median hash_reuse)
    hashes=$((BATCH_USERS * 10))
    ideal=$(awk -v h="$m_fresh" -v n="$hashes" -v c="$CORES" 'BEGIN { print n * h / c }')
    row "issue $BATCH_USERS users x 10 codes (batch)" "$(ms "$m_batch")" "$(ms "$ideal") = $hashes x $(ms "$m_fresh") / $CORES" "$(ratio "$m_batch" "$ideal")" 1.15
    ideal=$(awk -v h="$m_reuse" -v n="$hashes" -v c="$CORES" 'BEGIN { print n * h / c }')
    row "  batch vs hashes in reused memory" "$(ms "$m_batch")" "$(ms "$ideal") = $hashes x $(ms "$m_reuse") / $CORES" "$(ratio "$m_batch" "$ideal")" 1.15 info

    rss100=$(peak_rss $(batch_cmd 100))
    rss400=$(peak_rss $(batch_cmd 400))
    if [[ -z $rss100 ]]; then
        row "batch peak RSS" "skip: no /usr/bin/time" "-" "-" 1.1
    else
        row "batch peak RSS, 400 / 100 users" "$((rss400 / 1024)) MiB" "$((rss100 / 1024)) MiB" "$(ratio "$rss400" "$rss100")" 1.1
    fi
fi

if want calibrate; then
    say "== calibrate"
    "$BIN" calibrate --target 100ms >"$T/calibrated.toml"
    cal_m=$(awk -F' = ' '$1 == "memory_kib" { print $2 }' "$T/calibrated.toml")
    cal_t=$(awk -F' = ' '$1 == "iterations" { print $2 }' "$T/calibrated.toml")
    cal_p=$(awk -F' = ' '$1 == "parallelism" { print $2 }' "$T/calibrated.toml")
    if "$BIN" --config "$T/calibrated.toml" config >/dev/null 2>&1 && [[ -n $cal_m && -n $cal_t && -n $cal_p ]]; then
        "$HASHONE" fresh "$cal_m" "$cal_t" "$cal_p" 5 >"$T/times/calibrated"
        m=$(median calibrated)
        row "calibrate --target 100ms (m=$cal_m t=$cal_t)" "$(ms "$m") per hash" "100.0 ms target" "$(ratio "$m" 0.1)" 0.5-1.25
    else
        row "calibrate output is a valid config" "no" "-" "-" 1
        FAILED=1
    fi
fi

# ----------------------------------------------------------------- report

load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo "?")
printf '\ncodedesk %s, %s, %s cores (nproc); load average (1, 5, 15 min) %s at the start of the measurements, %s at the end\nmedians of alternating runs (%s)\n\n' \
    "$("$BIN" --version | cut -d' ' -f2)" "$cpu" "$CORES" "$LOAD_START" "$load" \
    "$(use_hyperfine && hyperfine --version || echo "timing loop in this script")"
{
    echo "figure|measured|reference|ratio|target|result"
    echo "---|---|---|---|---|---"
    printf '%s\n' "${ROWS[@]}"
} | awk -F'|' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; nf = NF }
    END {
        for (r = 1; r <= n; r++) {
            line = "|"
            for (i = 1; i <= nf; i++) {
                c = cell[r, i]
                if (r == 2) { c = ""; while (length(c) < w[i]) c = c "-" }
                line = line sprintf(" %-" w[i] "s |", c)
            }
            print line
        }
    }'
printf '\nruns per figure: start-up %s each, verify %s each, list %s each, batch %s, single hashes %s\n' \
    "$(count hello 2>/dev/null || echo 0)" "$(count verify 2>/dev/null || echo 0)" "$(count list_big 2>/dev/null || echo 0)" \
    "$(count batch 2>/dev/null || echo 0)" "$(count hash_fresh 2>/dev/null || echo 0)"
exit "$FAILED"
