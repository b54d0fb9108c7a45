#!/usr/bin/env bash
# codedesk login-storm benchmark: many `codedesk verify` processes at once,
# as PAM or RADIUS start them, on SQLite, on PostgreSQL directly and on
# PostgreSQL through PgBouncer. Every figure is a ratio against a reference
# measured in the same run (BENCHMARKS.md, "Login storms"):
#
#   bash benches/storm.sh            (as root: it runs PostgreSQL as postgres)
#
# - the bound: `cores / one-hash time`, the one-hash time being the median
#   whole-process time of a program that hashes once at the default cost
#   (benches/bench.sh's `hashone`, built here the same way), measured right
#   before and right after each storm (each row's bound is from their
#   mean: on a shared host the machine's speed drifts within a run);
# - storm throughput against a storm of bare hashes (as many hash
#   processes, cores at a time) run right before and right after it: what
#   codedesk costs beyond the hash, whatever the host's speed;
# - storm throughput (verifies per second from the first start to the last
#   exit) against that bound, for 1000 concurrent verifies;
# - p50 and p99 whole-process latency of a verify at 1 (one at a time), 100
#   and 1000 concurrent;
# - the memory peak of the 1000-verify storm against the bound
#   `cores x hash memory + 1000 x 4 MiB`, measured two ways: the machine's
#   MemTotal - MemAvailable over its value before the storm (what the bound
#   is stated in; other work on the machine moves it), and the peak of the
#   summed private memory (RssAnon) of the verify processes themselves.
# - the CPU a verify costs, against a hash process's: the verify processes'
#   own, and (PostgreSQL, PgBouncer) the servers' (the cluster's process tree
#   and PgBouncer's, read from /proc before and after each storm).
#
# The storm: 50 users, 20 verifies each (16 valid codes, 4 codes of another
# user: rejected, below the lockout threshold), all started at once and
# shuffled; each verify's answer is checked (0 or 1 as a lone verify would
# give; anything else is counted as a failure and printed). The PostgreSQL
# server is a throwaway cluster (initdb in a temporary folder, a free
# loopback port, max_connections = 100 as shipped), PgBouncer an instance of
# its own in front of it with the settings of examples/pgbouncer/codedesk.ini
# (session pooling, default_pool_size 20).
#
# Knobs: STORM_SIZES (default "1 100 1000"), STORM_BACKENDS (default
# "sqlite postgres pgbouncer"), STORM_ONE_ROUNDS (sequential verifies for the
# "1 concurrent" row, default 20), HASH_ROUNDS (default 20).
# Needs: cargo, python3, PostgreSQL server binaries and pgbouncer (Debian
# packages postgresql, pgbouncer) for those two backends.

set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

SIZES=${STORM_SIZES:-1 100 1000}
BACKENDS=${STORM_BACKENDS:-sqlite postgres pgbouncer}
ONE_ROUNDS=${STORM_ONE_ROUNDS:-20}
HASH_ROUNDS=${HASH_ROUNDS:-20}
CORES=$(nproc)
HASH_KIB=19456

T=$(mktemp -d "${TMPDIR:-/tmp}/codedesk-storm.XXXXXX")
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
PGDATA= PGBPID=
cleanup() {
    [ -n "$PGBPID" ] && kill "$PGBPID" 2>/dev/null || true
    [ -n "$PGDATA" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
say() { printf '%s\n' "$*" >&2; }

say "== building (release)"
# STORM_BIN: another codedesk binary to measure (an older release, for an
# A/B of two builds in turns); by default this tree's release build.
[ -n "${STORM_BIN:-}" ] || cargo build --release --quiet
BIN="$T/codedesk"
cp "${STORM_BIN:-target/release/codedesk}" "$BIN"

# The one-hash reference: a tiny program that hashes once at the default
# cost, built with the argon2 version of Cargo.lock and codedesk's profile.
lockver() { awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock; }
( cd "$T" && cargo new --quiet --vcs none hashone )
cat >>"$T/hashone/Cargo.toml" <<EOF
argon2 = "=$(lockver argon2)"

[profile.release]
lto = "thin"
codegen-units = 1
EOF
cat >"$T/hashone/src/main.rs" <<'EOF'
fn main() {
    let p = argon2::Params::new(19456, 2, 1, Some(32)).expect("params");
    let h = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut out = [0u8; 32];
    h.hash_password_into(b"ABCD-EFGH-JKLM-NPQR", b"somesalt16bytes!", &mut out).expect("hash");
    println!("{:02x}", out[0]);
}
EOF
env -u CARGO_TARGET_DIR cargo build --release --quiet \
    --manifest-path "$T/hashone/Cargo.toml" --target-dir "$T/hashone/target"
HASHONE="$T/hashone/target/release/hashone"

# ------------------------------------------------------------- servers

PGPORT= PGBPORT=
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_postgres() {
    [ -n "$PGDATA" ] && return 0
    [ -n "$PGBIN" ] || { say "no PostgreSQL server binaries"; return 1; }
    PGPORT=$(free_port)
    mkdir -p "$T/pg"
    chown postgres: "$T/pg"
    chmod 755 "$T"
    PGDATA="$T/pg/data"
    printf 'storm\n' >"$T/pg/pw"
    chown postgres: "$T/pg/pw"
    runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres --pwfile "$T/pg/pw" \
        --auth-local=trust --auth-host=scram-sha-256 --no-instructions -E UTF8 --locale=C >/dev/null
    cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$T/pg'
max_connections = 100
EOF
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$T/pg/log" -w start >/dev/null
    runuser -u postgres -- "$PGBIN/psql" -X -q -h "$T/pg" -p "$PGPORT" -U postgres -d postgres \
        -c "CREATE ROLE codedesk LOGIN PASSWORD 'storm'"
}
start_pgbouncer() {
    [ -n "$PGBPID" ] && return 0
    start_postgres
    PGBPORT=$(free_port)
    local d="$T/pgb" secret
    mkdir -p "$d"
    chown postgres: "$d"
    secret=$(runuser -u postgres -- "$PGBIN/psql" -X -A -t -h "$T/pg" -p "$PGPORT" -U postgres -d postgres \
        -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'codedesk'")
    printf '"codedesk" "%s"\n' "$secret" >"$d/userlist.txt"
    cp examples/pgbouncer/codedesk.ini "$d/codedesk.ini"
    cat >"$d/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$PGPORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBPORT
unix_socket_dir =
auth_file = $d/userlist.txt
logfile = $d/log
pidfile = $d/pid
%include $d/codedesk.ini
EOF
    chown -R postgres: "$d"
    chmod 600 "$d/userlist.txt"
    runuser -u postgres -- pgbouncer -d -q "$d/pgbouncer.ini"
    sleep 0.5
    PGBPID=$(cat "$d/pid")
}

# The CPU time (ms; user + system, children reaped included) of the
# PostgreSQL cluster (its postmaster and every process below it) and of
# PgBouncer: what a storm costs the servers, which the verifies' own CPU
# leaves out. Read before and after each storm.
server_cpu() {
    local roots=""
    [ -n "$PGDATA" ] && roots=$(head -n 1 "$PGDATA/postmaster.pid")
    [ -n "$PGBPID" ] && roots="$roots $PGBPID"
    python3 - $roots <<'PY'
import os, sys
roots = {int(a) for a in sys.argv[1:]}
stat = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stat[int(d)] = (int(f[1]), sum(int(x) for x in f[11:15]))
keep = set(roots)
grew = True
while grew:
    grew = False
    for pid, (ppid, _) in stat.items():
        if ppid in keep and pid not in keep:
            keep.add(pid); grew = True
print(sum(stat[p][1] for p in keep if p in stat) * 1000 // os.sysconf("SC_CLK_TCK"))
PY
}

# A fresh store for one run (number $2): its locator.
new_store() {
    local backend=$1 N_STORE=$2
    case $backend in
        sqlite) echo "$T/s$N_STORE.db" ;;
        postgres | pgbouncer)
            runuser -u postgres -- "$PGBIN/psql" -X -q -h "$T/pg" -p "$PGPORT" -U postgres -d postgres \
                -c "CREATE DATABASE storm$N_STORE OWNER codedesk"
            if [ "$backend" = postgres ]; then
                echo "postgres://codedesk:storm@127.0.0.1:$PGPORT/storm$N_STORE"
            else
                echo "postgres://codedesk:storm@127.0.0.1:$PGBPORT/storm$N_STORE"
            fi
            ;;
    esac
}

mkdir -p "$T/home"
printf '[codes]\ncount = 16\n' >"$T/config.toml"
cd_() { HOME="$T/home" "$BIN" --db "$1" --config "$T/config.toml" --operator bench "${@:2}"; }

# seed DB USERS: USERS users with 16 codes each; writes $T/jobs (user, code
# file, expected status) for 20 verifies a user.
seed() {
    local db=$1 users=$2 u
    mkdir -p "$T/codes"
    : >"$T/jobs"
    for u in $(seq 0 $((users - 1))); do
        cd_ "$db" enroll-device "u$u" --kind landline --phone "+1507222$(printf %04d "$u")" -q \
            --identity-verified in-person --ticket T-1 >/dev/null
    done
    for u in $(seq 0 $((users - 1))); do
        cd_ "$db" issue-codes "u$u" --via helpdesk --identity-verified in-person --ticket T-1 -q \
            >"$T/codes/u$u" &
        (( (u + 1) % CORES == 0 )) && wait
    done
    wait
    for u in $(seq 0 $((users - 1))); do
        local i=0 code
        while read -r code; do
            printf '%s\n' "$code" >"$T/codes/u$u.$i"
            echo "u$u $T/codes/u$u.$i 0" >>"$T/jobs"
            i=$((i + 1))
        done <"$T/codes/u$u"
        local o=$(((u + 1) % users))
        for i in 0 1 2 3; do
            [ "$o" = "$u" ] && break
            echo "u$u $T/codes/u$o.$i 1" >>"$T/jobs"
        done
    done
}

# The storm driver: starts every job at once (or one at a time with
# --serial), records each one's whole-process time and status, and samples
# memory every 5 ms. Prints: n wall_s p50_ms p99_ms failures mem_delta_mib
# rss_anon_mib.
cat >"$T/storm.py" <<'EOF'
import os, sys, time, random, threading, resource
bin_, db, cfg, jobs_file, home = sys.argv[1:6]
serial = len(sys.argv) > 6 and sys.argv[6] == "--serial"
limit = int(sys.argv[7]) if len(sys.argv) > 7 else None
jobs = [l.split() for l in open(jobs_file) if l.strip()]
random.seed(7)
random.shuffle(jobs)
if limit: jobs = jobs[:limit]
def meminfo():
    m = {}
    for l in open("/proc/meminfo"):
        k, v = l.split(":")
        m[k] = int(v.split()[0])
    return (m["MemTotal"] - m["MemAvailable"]) / 1024.0
pids = set()
peak = [0.0, 0.0]
done_flag = [False]
# The sampler shares the machine with the storm, so it must stay cheap:
# MemAvailable every 5 ms (one small file), the verifies' private memory
# every 50 ms (a sweep over every live process; /proc/PID/statm, where
# resident - shared is RssAnon, costs less to read than /proc/PID/status).
# Sweeping /proc/PID/status every 5 ms, as first done, took most of a core
# from a 1000-verify storm on 2 cores.
page_kib = os.sysconf("SC_PAGE_SIZE") / 1024.0
def sampler(base):
    n = 0
    while not done_flag[0]:
        peak[0] = max(peak[0], meminfo() - base)
        if n % 10 == 0:
            s = 0
            for p in list(pids):
                try:
                    with open(f"/proc/{p}/statm", "rb") as f:
                        v = f.read().split()
                    s += int(v[1]) - int(v[2])
                except (OSError, IndexError, ValueError):
                    pass
            peak[1] = max(peak[1], s * page_kib / 1024.0)
        n += 1
        time.sleep(0.005)
base = meminfo()
th = threading.Thread(target=sampler, args=(base,)); th.start()
env = dict(os.environ, HOME=home)
start = {}; lat = []; bad = []
t0 = time.monotonic()
def spawn(i, j):
    fd = os.open(j[1], os.O_RDONLY)
    pid = os.posix_spawn(bin_, [bin_, "--db", db, "--config", cfg, "--operator", "bench", "-q", "verify", j[0]], env,
                         file_actions=[(os.POSIX_SPAWN_DUP2, fd, 0), (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                                       (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)])
    os.close(fd)
    start[pid] = (time.monotonic(), j); pids.add(pid)
def reap():
    pid, status = os.wait()
    t = time.monotonic()
    s, j = start.pop(pid); pids.discard(pid)
    lat.append((t - s) * 1000)
    code = os.waitstatus_to_exitcode(status)
    if code != int(j[2]): bad.append((j[0], code, j[2]))
for i, j in enumerate(jobs):
    spawn(i, j)
    if serial: reap()
while start: reap()
wall = time.monotonic() - t0
done_flag[0] = True; th.join()
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
ru = resource.getrusage(resource.RUSAGE_SELF)
print(f"driver CPU {ru.ru_utime + ru.ru_stime:.2f} s over {wall:.2f} s", file=sys.stderr)
rc = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (rc.ru_utime + rc.ru_stime) * 1000 / len(lat)
print(len(lat), f"{wall:.3f}", f"{q(0.5):.1f}", f"{q(0.99):.1f}", len(bad), f"{peak[0]:.0f}", f"{peak[1]:.0f}", f"{cpu:.1f}")
for b in bad[:5]: print("unexpected:", *b, file=sys.stderr)
EOF

# -------------------------------------------------------------- measure

# The one-hash time: the median of HASH_ROUNDS runs, and the CPU a run.
# Measured once at the start and once at the end for the summary line, and
# around each storm for its row.
cat >"$T/hashref.py" <<'EOF'
import resource, subprocess, sys, time
xs = []
for _ in range(int(sys.argv[2])):
    t = time.monotonic(); subprocess.run([sys.argv[1]], stdout=subprocess.DEVNULL, check=True)
    xs.append((time.monotonic() - t) * 1000)
xs.sort()
rc = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{xs[len(xs)//2]:.2f}", f"{(rc.ru_utime + rc.ru_stime) * 1000 / len(xs):.1f}")
EOF
# A storm of bare hashes: N hash processes, `cores` at a time (the best any
# verify storm can do on these cores at this moment: every core hashing,
# nothing else). Prints hashes per second.
cat >"$T/hashstorm.py" <<'EOF'
import subprocess, sys, time
bin_, n, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.monotonic(); running = []
for _ in range(n):
    if len(running) >= cores:
        running.pop(0).wait()
    running.append(subprocess.Popen([bin_], stdout=subprocess.DEVNULL))
for p in running: p.wait()
print(f"{n / (time.monotonic() - t0):.1f}")
EOF
say "== one-hash time ($HASH_ROUNDS runs)"
read -r hash_ms hash_cpu < <(python3 "$T/hashref.py" "$HASHONE" "$HASH_ROUNDS")
bound=$(python3 -c "print(f'{$CORES / ($hash_ms / 1000):.1f}')")
mem_bound=$(( CORES * HASH_KIB / 1024 + 1000 * 4 ))
say "one hash: $hash_ms ms (CPU $hash_cpu ms a process); bound $bound verifies/s on $CORES cores; memory bound $mem_bound MiB"

printf '| backend | concurrent | verifies | wall s | throughput /s | / bound | p50 ms | p99 ms | wrong answers | mem delta MiB | verify RssAnon MiB | CPU a verify / a hash | server CPU a verify / a hash | one hash ms before / after | / hash storm |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for backend in $BACKENDS; do
    case $backend in
        postgres) start_postgres || continue ;;
        pgbouncer) start_pgbouncer || continue ;;
    esac
    for n in $SIZES; do
        stores=$((${stores:-0} + 1))
        db=$(new_store "$backend" "$stores")
        # The reference again right before and right after this storm: the
        # row's bound and CPU ratios use their mean, so a machine whose
        # speed drifts during the run (a shared host) moves both alike.
        if [ "$n" = 1 ]; then
            seed "$db" 2
            read -r h0 c0 < <(python3 "$T/hashref.py" "$HASHONE" "$HASH_ROUNDS")
            srv0=$(server_cpu)
            read -r cnt wall p50 p99 bad memd rss vcpu < <(python3 "$T/storm.py" "$BIN" "$db" "$T/config.toml" "$T/jobs" "$T/home" --serial "$ONE_ROUNDS")
        else
            seed "$db" $(( (n + 19) / 20 ))
            hs0=$(python3 "$T/hashstorm.py" "$HASHONE" "$n" "$CORES")
            read -r h0 c0 < <(python3 "$T/hashref.py" "$HASHONE" "$HASH_ROUNDS")
            srv0=$(server_cpu)
            read -r cnt wall p50 p99 bad memd rss vcpu < <(python3 "$T/storm.py" "$BIN" "$db" "$T/config.toml" "$T/jobs" "$T/home" --all "$n")
        fi
        srv1=$(server_cpu)
        read -r h1 c1 < <(python3 "$T/hashref.py" "$HASHONE" "$HASH_ROUNDS")
        hs="-"
        if [ "$n" != 1 ]; then
            hs1=$(python3 "$T/hashstorm.py" "$HASHONE" "$n" "$CORES")
            hs=$(python3 -c "print(f'{$cnt / $wall * 2 / ($hs0 + $hs1):.2f} (of {$hs0}, {$hs1})')")
        fi
        hcpu=$(python3 -c "print(($c0 + $c1) / 2)")
        srv=$(python3 -c "print(f'{($srv1 - $srv0) / $cnt / $hcpu:.2f}')")
        [ "$backend" = sqlite ] && srv=-
        tput=$(python3 -c "print(f'{$cnt / $wall:.1f}')")
        ratio=$(python3 -c "print(f'{$tput * ($h0 + $h1) / 2000 / $CORES:.2f}')")
        cpur=$(python3 -c "print(f'{$vcpu / $hcpu:.2f}')")
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s |\n' \
            "$backend" "$n" "$cnt" "$wall" "$tput" "$ratio" "$p50" "$p99" "$bad" "$memd" "$rss" "$cpur" "$srv" "$h0" "$h1" "$hs"
    done
done
read -r hash_end _ < <(python3 "$T/hashref.py" "$HASHONE" "$HASH_ROUNDS")
printf '\none-hash process: %s ms (median of %s; %s ms measured again after the storms); bound: %s cores / one hash = %s verifies/s; memory bound (1000 storm): %s x 19 MiB + 1000 x 4 MiB = %s MiB\n' \
    "$hash_ms" "$HASH_ROUNDS" "$hash_end" "$CORES" "$bound" "$CORES" "$mem_bound"
