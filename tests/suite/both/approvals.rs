// A second pair of eyes (issue 13, items 2 and 4; docs/approvals.md):
// privileged users, requests that wait for a second principal (exit 10),
// `approve` / `deny`, the per-operator quota, and `revoke --issued-by`
// matching the principal. Two principals on each backend:
// - SQLite: two OS accounts. The requester is this test's account (root);
//   the approver is `nobody`, as Debian's sudo presents it (real uid 0,
//   SUDO_UID/SUDO_USER), so only the system configuration applies to it;
//   both use the same system configuration and store.
// - PostgreSQL (the second pass of tests/suite, CODEDESK_TEST_BACKEND=postgres): two login roles after
//   `codedesk setup-roles`, one granted codedesk_operator (the requester),
//   one codedesk_supervisor (the approver).

use crate::common;
use common::*;
use serde_json::Value;
use std::process::Command as Std;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// setup-roles touches server-wide roles: one test at a time.
static SERVER_ROLES: Mutex<()> = Mutex::new(());

/// The account `nobody` (Debian's uid 65534), the second principal on SQLite.
const NOBODY: u32 = 65534;

fn uid() -> u32 {
    // SAFETY: getuid cannot fail and has no preconditions.
    unsafe { libc::getuid() }
}

/// A login role granted one codedesk role; dropped with it.
struct Login {
    name: String,
    url: String,
    owner_url: String,
}

fn psql(url: &str, sql: &str) -> (bool, String) {
    let mut c = Std::new("psql");
    c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url]);
    c.args(["-c", sql]);
    for v in ["PGPASSWORD", "PGUSER", "PGHOST", "PGPORT", "PGDATABASE"] {
        c.env_remove(v);
    }
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("run psql (install postgresql-client): {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

impl Login {
    fn new(env: &Env, role: &str) -> Login {
        static N: AtomicUsize = AtomicUsize::new(0);
        let owner_url = env.db.to_string_lossy().into_owned();
        let name = format!(
            "cda_{}_{}_{}",
            role.trim_start_matches("codedesk_"),
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let password = format!("pw-{name}");
        for sql in [
            format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"),
            format!("GRANT {role} TO {name}"),
        ] {
            let (ok, out) = psql(&owner_url, &sql);
            assert!(ok, "{sql}: {out}");
        }
        let at = owner_url.rfind('@').expect("the URL has user@host");
        let url = format!("postgres://{name}:{password}@{}", &owner_url[at + 1..]);
        Login {
            name,
            url,
            owner_url,
        }
    }
}

impl Drop for Login {
    fn drop(&mut self) {
        let _ = psql(
            &self.owner_url,
            &format!("DROP ROLE IF EXISTS {}", self.name),
        );
    }
}

/// One store and two principals: `req` asks, `sup` decides.
struct Desk {
    // Dropped first: the login roles, while their database still exists.
    logins: Option<(Login, Login)>,
    env: Env,
    system: std::path::PathBuf,
}

impl Desk {
    /// None (after a loud skip) when the test cannot run here: on SQLite
    /// it needs root (a second OS account through sudo's variables);
    /// under `CI` that is a failure.
    fn new(extra: &str) -> Option<Desk> {
        Desk::with_notices(extra, false)
    }

    /// Like `new`; `notices`: users are told of sensitive events.
    fn with_notices(extra: &str, notices: bool) -> Option<Desk> {
        let env = Env::new();
        if notices {
            let text = read(&env.config).replace("notify_users = false", "notify_users = true");
            std::fs::write(&env.config, text).unwrap();
        }
        let system = env.path().join("system.toml");
        if env.is_postgres() {
            {
                let _turn = SERVER_ROLES.lock().unwrap_or_else(|e| e.into_inner());
                env.ok(&["setup-roles"]);
            }
            let req = Login::new(&env, "codedesk_operator");
            let sup = Login::new(&env, "codedesk_supervisor");
            std::fs::write(&env.config, format!("{}\n{extra}", read(&env.config))).unwrap();
            return Some(Desk {
                env,
                system,
                logins: Some((req, sup)),
            });
        }
        if uid() != 0 {
            assert!(
                std::env::var_os("CI").is_none(),
                "both::approvals needs root (a second OS account), and CI is set"
            );
            eprintln!("{SUITE}: SKIPPED (not root): a second OS account");
            return None;
        }
        std::fs::write(
            &system,
            format!(
                "{}\n[store]\ndb = {:?}\n{extra}",
                read(&env.config),
                env.db.display().to_string()
            ),
        )
        .unwrap();
        Some(Desk {
            env,
            system,
            logins: None,
        })
    }

    fn cmd(&self, second: bool) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_cmd(second))
    }

    /// `cmd` as a std command (for a pseudo-terminal).
    fn std_cmd(&self, second: bool) -> Std {
        let mut c = Std::new(BIN);
        scrub(&mut c);
        c.env("HOME", self.env.path());
        match &self.logins {
            Some((req, sup)) => {
                let url = if second { &sup.url } else { &req.url };
                c.arg("--db").arg(url).arg("--config").arg(&self.env.config);
            }
            None => {
                c.env(codedesk::context::TEST_SYSTEM_CONFIG_VAR, &self.system);
                if second {
                    c.env("SUDO_UID", NOBODY.to_string())
                        .env("SUDO_GID", NOBODY.to_string())
                        .env("SUDO_USER", "nobody");
                }
            }
        }
        c
    }

    fn run_as(&self, second: bool, args: &[&str], stdin: &str) -> (i32, String, String) {
        let o = self
            .cmd(second)
            .args(args)
            .write_stdin(stdin.as_bytes().to_vec())
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// The requester (operator).
    fn req(&self, args: &[&str]) -> (i32, String, String) {
        self.run_as(false, args, "")
    }

    /// The second principal (supervisor).
    fn sup(&self, args: &[&str]) -> (i32, String, String) {
        self.run_as(true, args, "")
    }

    fn req_ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.req(args);
        assert_eq!(code, 0, "requester: codedesk {args:?}: {err}");
        out
    }

    fn sup_ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.sup(args);
        assert_eq!(code, 0, "supervisor: codedesk {args:?}: {err}");
        out
    }

    /// The principals the backend records for each.
    fn requester(&self) -> String {
        match &self.logins {
            Some((r, _)) => r.name.clone(),
            None => "root".into(),
        }
    }

    fn approver(&self) -> String {
        match &self.logins {
            Some((_, s)) => s.name.clone(),
            None => "nobody".into(),
        }
    }

    fn events(&self) -> Vec<Value> {
        self.sup_ok(&["audit", "--format", "json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn last(&self, action: &str) -> Value {
        self.events()
            .into_iter()
            .rev()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} event"))
    }

    /// `issue-codes USER` at the helpdesk, as the requester, in JSON.
    fn ask_codes(&self, user: &str, extra: &[&str]) -> (i32, Value, String) {
        let mut args = vec![
            "issue-codes",
            user,
            "--via",
            "helpdesk",
            "--identity-verified",
            "in-person",
            "--ticket",
            "INC-7",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = self.req(&args);
        let v = serde_json::from_str(out.trim()).unwrap_or(Value::Null);
        (code, v, err)
    }
}

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn codes_of(v: &Value) -> Vec<String> {
    v["codes"]
        .as_array()
        .map(|a| a.iter().map(|c| c.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn a_privileged_users_codes_wait_for_a_second_principal() {
    let Some(d) = Desk::new("") else { return };
    d.req_ok(&[
        "enroll-device",
        "amy",
        "--kind",
        "landline",
        "--phone",
        "+15072225000",
    ]);
    // Only a supervisor marks users on PostgreSQL; on SQLite any account
    // that may write the store.
    let (code, _, err) = d.req(&["privileged", "amy", "on"]);
    if d.logins.is_some() {
        assert_eq!(code, 9, "{err}");
        assert!(err.contains("codedesk_supervisor"), "{err}");
    } else {
        assert_eq!(code, 0, "{err}");
        assert_eq!(d.last("privileged-on")["principal"], "root");
        d.req_ok(&["privileged", "amy", "off"]);
    }
    let out = d.sup_ok(&["privileged", "amy", "on", "--format", "json"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["privileged"], true, "{out}");
    let e = d.last("privileged-on");
    assert_eq!(e["principal"], d.approver().as_str(), "{e}");

    // The requester's run records a request and exits 10, no codes shown.
    let (code, v, err) = d.ask_codes("amy", &[]);
    assert_eq!(code, 10, "{err}");
    assert!(err.contains("waiting for approval"), "{err}");
    let id = v["request"].as_i64().expect("JSON field request");
    assert!(v.get("codes").is_none(), "{v}");
    let ids = id.to_string();
    let e = d.last("request-recorded");
    assert_eq!(e["principal"], d.requester().as_str(), "{e}");
    assert_eq!(e["details"]["ticket"], "INC-7", "{e}");
    let list: Value =
        serde_json::from_str(&d.sup_ok(&["list", "amy", "--format", "json"])).unwrap();
    assert_eq!(list["codes_remaining"], 0, "nothing issued yet: {list}");

    // Not yet approved: still waiting. Self-approval: exit 9.
    let (code, _, err) = d.req(&["issue-codes", "amy", "--request", &ids]);
    assert_eq!(code, 10, "{err}");
    let (code, _, err) = d.req(&["approve", &ids]);
    assert_eq!(code, 9, "{err}");
    // The supervisor sees who asked, why and the check, then approves.
    let out = d.sup_ok(&["approve", &ids]);
    assert!(
        out.contains(&format!("asked by {}", d.requester())),
        "{out}"
    );
    assert!(out.contains("privileged"), "{out}");
    assert!(out.contains("in-person") && out.contains("INC-7"), "{out}");
    assert!(out.contains("approved"), "{out}");
    let e = d.last("request-approved");
    assert_eq!(e["principal"], d.approver().as_str(), "{e}");
    // Decided once.
    let (code, _, err) = d.sup(&["deny", &ids]);
    assert_eq!(code, 9, "{err}");
    // Only the requester may use it.
    let (code, _, err) = d.sup(&["issue-codes", "amy", "--request", &ids]);
    assert_eq!(code, 9, "{err}");

    let (code, out, err) = d.req(&["issue-codes", "amy", "--request", &ids, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let codes = codes_of(&v);
    assert_eq!(codes.len(), 10, "{out}");
    assert!(v["identity_check"].as_i64().is_some(), "{out}");
    let e = d.last("identity-check");
    assert_eq!(e["details"]["method"], "in-person", "{e}");
    assert_eq!(e["details"]["ticket"], "INC-7", "{e}");
    assert_eq!(d.env.verify("amy", &codes[0]), 0);
    // Spent: once.
    let (code, _, err) = d.req(&["issue-codes", "amy", "--request", &ids]);
    assert_eq!(code, 9, "{err}");

    // The report counts the approval, for the principal who approved it.
    let rep: Value = serde_json::from_str(&d.sup_ok(&["report", "--format", "json"])).unwrap();
    let total: u64 = rep
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["privileged_approvals"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 1, "{rep}");

    // Unmarked: the helpdesk issues without a second principal again.
    d.sup_ok(&["privileged", "amy", "off"]);
    let (code, v, err) = d.ask_codes("amy", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(codes_of(&v).len(), 10);
    d.sup_ok(&["audit", "verify"]);
}

#[test]
fn a_denied_or_expired_request_issues_nothing() {
    let Some(d) = Desk::new("[helpdesk]\napproval_expires = \"6s\"\n") else {
        return;
    };
    d.req_ok(&["enroll-device", "bea", "--kind", "token"]);
    d.sup_ok(&["privileged", "bea", "on"]);
    let (code, v, err) = d.ask_codes("bea", &[]);
    assert_eq!(code, 10, "{err}");
    let denied = v["request"].as_i64().unwrap().to_string();
    let out = d.sup_ok(&[
        "deny",
        &denied,
        "--reason",
        "caller could not say the ticket",
    ]);
    assert!(out.contains("denied"), "{out}");
    let (code, _, err) = d.req(&["issue-codes", "bea", "--request", &denied]);
    assert_eq!(code, 9, "{err}");
    assert!(err.contains("denied"), "{err}");
    // Pending requests are listed for the supervisor.
    let (code, v, _) = d.ask_codes("bea", &[]);
    assert_eq!(code, 10);
    let late = v["request"].as_i64().unwrap();
    let pending: Value = serde_json::from_str(&d.sup_ok(&["approve", "--format", "json"])).unwrap();
    assert_eq!(pending[0]["id"], late, "{pending}");
    assert_eq!(pending[0]["requested_by"], d.requester().as_str());
    // Expired (helpdesk.approval_expires = 6s): no longer approvable.
    std::thread::sleep(std::time::Duration::from_secs(7));
    let (code, _, err) = d.sup(&["approve", &late.to_string()]);
    assert_eq!(code, 9, "{err}");
    assert!(err.contains("expired"), "{err}");
    let list: Value =
        serde_json::from_str(&d.sup_ok(&["list", "bea", "--format", "json"])).unwrap();
    assert_eq!(list["codes_remaining"], 0, "{list}");
    assert_eq!(d.last("request-denied")["principal"], d.approver().as_str());
}

#[test]
fn a_new_device_for_a_privileged_user_waits_too() {
    let Some(d) = Desk::new("") else { return };
    d.req_ok(&["enroll-device", "cai", "--kind", "token"]);
    d.sup_ok(&["privileged", "cai", "on"]);
    let add = [
        "enroll-device",
        "cai",
        "--kind",
        "mobile",
        "--phone",
        "+15072225111",
        "--sms",
    ];
    let mut args = add.to_vec();
    args.extend(["--identity-verified", "video-call", "--ticket", "INC-9"]);
    args.extend(["--format", "json"]);
    let (code, out, err) = d.req(&args);
    assert_eq!(code, 10, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["what"], "device", "{out}");
    let id = v["request"].as_i64().unwrap().to_string();
    let list: Value =
        serde_json::from_str(&d.sup_ok(&["list", "cai", "--format", "json"])).unwrap();
    assert_eq!(list["devices"].as_array().unwrap().len(), 1, "{list}");
    let out = d.sup_ok(&["approve", &id]);
    assert!(
        out.contains("a new device") && out.contains("INC-9"),
        "{out}"
    );
    let mut args = add.to_vec();
    args.extend(["--request", id.as_str()]);
    d.req_ok(&args);
    let list: Value =
        serde_json::from_str(&d.sup_ok(&["list", "cai", "--format", "json"])).unwrap();
    assert_eq!(list["devices"].as_array().unwrap().len(), 2, "{list}");
    let e = d.last("device-enrolled");
    assert_eq!(e["details"]["method"], "video-call", "{e}");
    // A batch cannot wait: a privileged user in it refuses the whole file.
    let csv = d.env.path().join("devices.csv");
    std::fs::write(&csv, "user,kind,phone\ncai,token,\n").unwrap();
    let (code, _, err) = d.req(&[
        "enroll-device",
        "--batch",
        csv.to_str().unwrap(),
        "--identity-verified",
        "in-person",
        "--ticket",
        "T",
    ]);
    assert_eq!(code, 9, "{err}");
    assert!(err.contains("privileged"), "{err}");
}

#[test]
fn the_quota_refuses_then_waits_for_one_more() {
    let Some(d) = Desk::new("[helpdesk]\nmax_sets_per_operator = \"2/1h\"\n") else {
        return;
    };
    for u in ["dan", "eve", "fay"] {
        d.req_ok(&["enroll-device", u, "--kind", "token"]);
    }
    for u in ["dan", "eve"] {
        let (code, _, err) = d.ask_codes(u, &[]);
        assert_eq!(code, 0, "{err}");
    }
    // Beyond the quota: exit 9, recorded, nothing issued.
    let (code, v, err) = d.ask_codes("fay", &[]);
    assert_eq!(code, 9, "{err}");
    assert!(err.contains("max_sets_per_operator"), "{err}");
    assert!(v.is_null(), "nothing on standard output: {v}");
    let e = d.last("quota-refused");
    assert_eq!(e["principal"], d.requester().as_str(), "{e}");
    assert_eq!(e["user"], "fay");
    // The quota is per principal: the supervisor's count is its own.
    let (code, out, err) = d.sup(&[
        "issue-codes",
        "dan",
        "--via",
        "helpdesk",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 10);
    // One more, asked for: waits, approved by the second principal.
    let (code, v, err) = d.ask_codes("fay", &["--ask-approval"]);
    assert_eq!(code, 10, "{err}");
    assert_eq!(v["reason"], "quota", "{v}");
    let id = v["request"].as_i64().unwrap().to_string();
    let out = d.sup_ok(&["approve", &id]);
    assert!(out.contains("quota"), "{out}");
    let (code, out, err) = d.req(&["issue-codes", "fay", "--request", &id, "-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 10, "{out}");
    // An approved quota request is no privileged approval.
    let rep: Value = serde_json::from_str(&d.sup_ok(&["report", "--format", "json"])).unwrap();
    assert!(
        rep.as_array()
            .unwrap()
            .iter()
            .all(|r| r["privileged_approvals"] == 0),
        "{rep}"
    );
    // Later than the window, the count starts again (on SQLite only the
    // requester may move the clock: sudo's variables refuse CODEDESK_*).
    let later = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2 * 3600)
        .to_string();
    let o = d
        .cmd(false)
        .env("CODEDESK_NOW", &later)
        .args(["issue-codes", "fay", "--via", "helpdesk"])
        .args(["--identity-verified", "in-person", "--ticket", "T", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn waiting_is_a_row_outcome_in_a_batch() {
    let Some(d) = Desk::new("[helpdesk]\nmax_sets_per_operator = \"2/1h\"\n") else {
        return;
    };
    for u in ["gil", "hal", "ivy", "jon"] {
        d.req_ok(&["enroll-device", u, "--kind", "token"]);
    }
    d.sup_ok(&["privileged", "hal", "on"]);
    let csv = d.env.path().join("users.csv");
    std::fs::write(&csv, "user\ngil\nhal\nivy\njon\n").unwrap();
    let batch = |extra: &[&str]| {
        let mut args = vec![
            "issue-codes",
            "--batch",
            csv.to_str().unwrap(),
            "--via",
            "helpdesk",
            "--identity-verified",
            "in-person",
            "--ticket",
            "INC-1",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        d.req(&args)
    };
    // gil and ivy fill the quota of 2; hal (privileged) waits; jon is
    // beyond the quota.
    let (code, out, err) = batch(&[]);
    assert_eq!(code, 10, "the first failed row's status: {err}");
    let issued: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let users: Vec<&str> = issued.iter().map(|v| v["user"].as_str().unwrap()).collect();
    assert_eq!(users, ["gil", "ivy"], "{out}");
    assert!(
        err.contains("line 3 (hal): waiting for approval: request"),
        "{err}"
    );
    assert!(err.contains("line 5 (jon)"), "{err}");
    assert!(err.contains("max_sets_per_operator"), "{err}");
    assert!(err.contains("2 user(s) issued, 2 failed"), "{err}");
    // Asked for: jon waits as well, every row reported.
    let (code, out, err) = batch(&["--ask-approval"]);
    assert_eq!(code, 10, "{err}");
    assert!(out.is_empty(), "{out}");
    for (line, user) in [(2, "gil"), (3, "hal"), (4, "ivy"), (5, "jon")] {
        assert!(
            err.contains(&format!("line {line} ({user}): waiting for approval")),
            "{err}"
        );
    }
}

#[test]
fn revoke_issued_by_matches_the_principal_not_the_operator_note() {
    let Some(d) = Desk::new("") else { return };
    d.req_ok(&["enroll-device", "kim", "--kind", "token"]);
    d.req_ok(&["enroll-device", "lee", "--kind", "token"]);
    let issue = |second: bool, user: &str| {
        let (code, _, err) = d.run_as(
            second,
            &[
                "--operator",
                "same-note",
                "issue-codes",
                user,
                "--via",
                "helpdesk",
                "--identity-verified",
                "in-person",
                "--ticket",
                "T",
                "-q",
            ],
            "",
        );
        (code, err)
    };
    let (code, err) = issue(false, "kim");
    assert_eq!(code, 0, "{err}");
    // Under sudo the note is SUDO_USER (--operator is refused there).
    if d.logins.is_some() {
        let (code, err) = issue(true, "lee");
        assert_eq!(code, 0, "{err}");
    } else {
        let (code, _, err) = d.sup(&[
            "issue-codes",
            "lee",
            "--via",
            "helpdesk",
            "--identity-verified",
            "in-person",
            "--ticket",
            "T",
            "-q",
        ]);
        assert_eq!(code, 0, "{err}");
    }
    // The display name is no principal: nothing matches it.
    let out = d.sup_ok(&["revoke", "--issued-by", "same-note"]);
    assert!(out.contains("no outstanding"), "{out}");
    let out = d.sup_ok(&["revoke", "--issued-by", &d.requester(), "--format", "json"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let users: Vec<&str> = v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["kim"], "{out}");
    let list: Value = serde_json::from_str(&d.sup_ok(&["list", "--format", "json"])).unwrap();
    let left: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["codes_remaining"].as_i64().unwrap())
        .collect();
    assert_eq!(left, vec![0, 10], "{list}");
}

/// On PostgreSQL the server keeps each principal honest whatever the
/// client sends: an operator cannot decide a request or mark a user by
/// SQL, and a supervisor cannot decide its own request.
#[test]
fn postgresql_refuses_decisions_the_roles_do_not_allow() {
    if postgres_only("server-side grants and triggers") {
        return;
    }
    let Some(d) = Desk::new("") else { return };
    let (req, sup) = d.logins.as_ref().unwrap();
    d.req_ok(&["enroll-device", "max", "--kind", "token"]);
    d.sup_ok(&["privileged", "max", "on"]);
    let (code, v, _) = d.ask_codes("max", &[]);
    assert_eq!(code, 10);
    let id = v["request"].as_i64().unwrap();
    let (ok, out) = psql(
        &req.url,
        &format!("UPDATE approval_requests SET state = 'approved' WHERE id = {id}"),
    );
    assert!(!ok && out.contains("permission denied"), "{out}");
    let (ok, out) = psql(&req.url, "DELETE FROM privileged_users");
    assert!(!ok && out.contains("permission denied"), "{out}");
    // A request the supervisor asks for itself, forged as another's: the
    // trigger records the supervisor, and refuses its own decision.
    let (ok, out) = psql(
        &sup.url,
        "INSERT INTO approval_requests (user_id, what, reason, requested_by, operator,
            created_at, expires_at, state)
         SELECT id, 'codes', 'privileged', 'someone-else', 'x', 0, 9999999999, 'approved'
         FROM users WHERE name = 'max' RETURNING id, requested_by, state",
    );
    assert!(ok, "{out}");
    assert!(out.contains(&format!("|{}|pending", sup.name)), "{out}");
    let own: i64 = out.split('|').next().unwrap().trim().parse().unwrap();
    let (ok, out) = psql(
        &sup.url,
        &format!("UPDATE approval_requests SET state = 'approved' WHERE id = {own}"),
    );
    assert!(!ok && out.contains("cannot be decided"), "{out}");
}

/// `codedesk migrate` copies the approval tables, principals and states
/// as they were.
#[test]
fn migrate_copies_privileged_users_and_requests() {
    if postgres_only("migrate's target") {
        return;
    }
    let src = Env::sqlite();
    src.ok(&["enroll-device", "ned", "--kind", "token"]);
    src.ok(&["privileged", "ned", "on"]);
    let (code, out, err) = src.run(&[
        "issue-codes",
        "ned",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-5",
        "--format",
        "json",
    ]);
    assert_eq!(code, 10, "{err}");
    let id = serde_json::from_str::<Value>(out.trim()).unwrap()["request"]
        .as_i64()
        .unwrap();
    let dst = Env::new();
    dst.ok(&[
        "migrate",
        "--from",
        src.db.to_str().unwrap(),
        "--to",
        dst.db.to_str().unwrap(),
    ]);
    let rows = dst.sql_rows(&format!(
        "SELECT requested_by, state, ticket FROM approval_requests WHERE id = {id}"
    ));
    let me = codedesk::principal::account_name(uid()).unwrap();
    assert_eq!(
        rows,
        vec![vec![
            Some(me.clone()),
            Some("pending".into()),
            Some("T-5".into())
        ]]
    );
    assert_eq!(
        dst.sql_column("SELECT set_by FROM privileged_users"),
        vec![me]
    );
    // New requests get new ids.
    let (code, out, err) = dst.run(&[
        "issue-codes",
        "ned",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-6",
        "--format",
        "json",
    ]);
    assert_eq!(code, 10, "{err}");
    let next = serde_json::from_str::<Value>(out.trim()).unwrap()["request"]
        .as_i64()
        .unwrap();
    assert!(next > id, "{next} after {id}");
}

/// The fenced block of `lang` that follows `after` in docs/approvals.md.
fn doc_block(lang: &str, after: &str) -> String {
    let doc = include_str!("../../../docs/approvals.md");
    let from = doc.find(after).expect("the docs section");
    let open = format!("```{lang}\n");
    let start = doc[from..].find(&open).expect("the block") + from + open.len();
    let end = doc[start..].find("```").expect("the block's end") + start;
    doc[start..end].to_string()
}

/// docs/approvals.md's quota configuration and session, as written.
#[test]
fn the_documented_session_runs_as_written() {
    let config = doc_block("toml", "## Quotas");
    let Some(d) = Desk::new(&config) else { return };
    let shown = d.sup_ok(&["config", "--format", "json"]);
    let v: Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(
        v["helpdesk.max_sets_per_operator"]["value"], "20/1day",
        "{shown}"
    );
    let mut supervisor = false;
    let mut ran = 0;
    for line in doc_block("console", "## A session").lines() {
        let line = line.trim();
        let line = line.strip_prefix("$ ").unwrap_or(line);
        if let Some(who) = line.strip_prefix("# as the ") {
            supervisor = match who {
                "operator" => false,
                "supervisor" => true,
                _ => panic!("who is {who}?"),
            };
            continue;
        }
        let Some(cmd) = line.strip_prefix("codedesk ") else {
            assert!(line.is_empty(), "not run: {line}");
            continue;
        };
        let (cmd, want) = match cmd.split_once("# exit ") {
            Some((c, n)) => (c, n.trim().parse::<i32>().unwrap()),
            None => (cmd, 0),
        };
        let args: Vec<&str> = cmd.split_whitespace().collect();
        let (code, out, err) = d.run_as(supervisor, &args, "");
        assert_eq!(code, want, "codedesk {cmd}: {out}{err}");
        ran += 1;
    }
    assert_eq!(ran, 8);
    let e = d.last("request-used");
    assert_eq!(e["principal"], d.requester().as_str(), "{e}");
}

/// A privileged approval is a sensitive event: the user's contacts are
/// told, with a reference, never a code.
#[test]
fn a_privileged_approval_tells_the_user() {
    let Some(d) = Desk::with_notices("", true) else {
        return;
    };
    d.req_ok(&[
        "enroll-device",
        "ola",
        "--kind",
        "mobile",
        "--phone",
        "+15072225321",
    ]);
    d.sup_ok(&["privileged", "ola", "on"]);
    let (code, v, err) = d.ask_codes("ola", &[]);
    assert_eq!(code, 10, "{err}");
    let id = v["request"].to_string();
    d.sup_ok(&["approve", &id]);
    let outbox = std::fs::read_to_string(&d.env.outbox).unwrap_or_default();
    assert!(
        outbox.contains("a second helpdesk person approved") && outbox.contains("quote "),
        "{outbox}"
    );
    assert!(!outbox.lines().any(looks_like_code), "{outbox}");
}

/// The sum of one numeric field over every row of `report --format json`.
fn report_sum(d: &Desk, field: &str) -> u64 {
    let rep: Value = serde_json::from_str(&d.sup_ok(&["report", "--format", "json"])).unwrap();
    rep.as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_u64().unwrap())
        .sum()
}

/// The identity check made before a request waits is recorded then, with
/// its `identity-check` event naming the request, and counted by `report`
/// once: spending the request reuses it, records no second check.
#[test]
fn the_check_before_a_request_is_recorded_and_reported_once() {
    let Some(d) = Desk::new("") else { return };
    d.req_ok(&["enroll-device", "ora", "--kind", "token"]);
    d.sup_ok(&["privileged", "ora", "on"]);
    assert_eq!(report_sum(&d, "checks_passed"), 0);
    let (code, v, err) = d.ask_codes("ora", &[]);
    assert_eq!(code, 10, "{err}");
    let id = v["request"].as_i64().unwrap();
    let e = d.last("identity-check");
    assert_eq!(e["details"]["request"], id, "{e}");
    assert_eq!(e["details"]["outcome"], "passed", "{e}");
    assert_eq!(e["details"]["method"], "in-person", "{e}");
    assert_eq!(e["principal"], d.requester().as_str(), "{e}");
    let check = e["details"]["check"].as_i64().expect("a check id");
    assert_eq!(d.last("request-recorded")["details"]["check"], check);
    assert_eq!(report_sum(&d, "checks_passed"), 1, "counted while it waits");

    d.sup_ok(&["approve", &id.to_string()]);
    let (code, out, err) = d.req(&[
        "issue-codes",
        "ora",
        "--request",
        &id.to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v["identity_check"], check,
        "the set names the same check: {out}"
    );
    let checks = d
        .events()
        .iter()
        .filter(|e| e["action"] == "identity-check")
        .count();
    assert_eq!(checks, 1, "no second identity-check event");
    assert_eq!(
        report_sum(&d, "checks_passed"),
        1,
        "not again on collection"
    );

    // A denied request's check was still made: counted too.
    let (code, v, err) = d.ask_codes("ora", &[]);
    assert_eq!(code, 10, "{err}");
    d.sup_ok(&["deny", &v["request"].as_i64().unwrap().to_string()]);
    assert_eq!(report_sum(&d, "checks_passed"), 2);

    // A new device for a privileged user: the same, on enrolment.
    let add = [
        "enroll-device",
        "ora",
        "--kind",
        "token",
        "--label",
        "spare",
    ];
    let mut args = add.to_vec();
    args.extend(["--identity-verified", "video-call", "--ticket", "INC-3"]);
    args.extend(["--format", "json"]);
    let (code, out, err) = d.req(&args);
    assert_eq!(code, 10, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let dev = v["request"].as_i64().unwrap().to_string();
    let e = d.last("identity-check");
    assert_eq!(e["details"]["request"].to_string(), dev, "{e}");
    assert_eq!(e["details"]["method"], "video-call", "{e}");
    let check = e["details"]["check"].as_i64().unwrap();
    d.sup_ok(&["approve", &dev]);
    let mut args = add.to_vec();
    args.extend(["--request", dev.as_str()]);
    d.req_ok(&args);
    assert_eq!(d.last("device-enrolled")["details"]["check"], check);
    assert_eq!(report_sum(&d, "checks_passed"), 3);
    d.sup_ok(&["audit", "verify"]);
}

/// A set whose text message could not be sent never went live (exit 6):
/// it does not count against `helpdesk.max_sets_per_operator`; the sets
/// that did go live do.
#[test]
fn failed_sms_deliveries_do_not_use_up_the_quota() {
    let env = Env::with_raw_config(
        "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n\
         [sms]\ncommand = \"/bin/false\"\n\n\
         [safeguards]\nnotify_users = false\n\n\
         [helpdesk]\nmax_sets_per_operator = \"2/1h\"\n",
    );
    env.enroll_mobile("uma", "507-222-0130");
    for _ in 0..3 {
        let (code, _, err) = env.run(&["issue-codes", "uma", "--via", "sms"]);
        assert_eq!(code, 6, "{err}");
        assert!(err.contains("delivery failed"), "{err}");
    }
    let helpdesk = || {
        env.run(&[
            "issue-codes",
            "uma",
            "--via",
            "helpdesk",
            "--identity-verified",
            "in-person",
            "--ticket",
            "T",
            "-q",
        ])
    };
    for n in 1..=2 {
        let (code, _, err) = helpdesk();
        assert_eq!(
            code, 0,
            "live set {n} of 2, after 3 failed deliveries: {err}"
        );
    }
    let (code, _, err) = helpdesk();
    assert_eq!(code, 9, "the third live set is beyond the quota: {err}");
    assert!(err.contains("stored 2 set(s)"), "{err}");
    let out = env.ok(&["audit", "--format", "json"]);
    let refused: Value = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .rfind(|e| e["action"] == "quota-refused")
        .expect("a quota-refused event");
    assert_eq!(refused["details"]["stored"], 2, "{refused}");
}

/// `list` shows whether a user is marked privileged: a column of the
/// table and of the CSV, a JSON field, a line of `list USER`.
#[test]
fn list_shows_the_privileged_flag() {
    let Some(d) = Desk::new("") else { return };
    d.req_ok(&["enroll-device", "pia", "--kind", "token"]);
    d.req_ok(&["enroll-device", "quy", "--kind", "token"]);
    d.sup_ok(&["privileged", "pia", "on"]);
    let list: Value = serde_json::from_str(&d.sup_ok(&["list", "--format", "json"])).unwrap();
    let flags: Vec<(&str, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["user"].as_str().unwrap(),
                u["privileged"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(flags, [("pia", true), ("quy", false)], "{list}");
    let one: Value = serde_json::from_str(&d.req_ok(&["list", "pia", "--format", "json"])).unwrap();
    assert_eq!(one["privileged"], true, "{one}");

    let csv = d.req_ok(&["list", "--format", "csv"]);
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = head
        .iter()
        .position(|h| *h == "privileged")
        .unwrap_or_else(|| panic!("a privileged column: {csv}"));
    let cells: Vec<String> = lines
        .map(|l| l.split(',').nth(col).unwrap().to_string())
        .collect();
    assert_eq!(cells, ["yes", "no"], "{csv}");

    let table = d.req_ok(&["list", "--format", "table"]);
    let head = table.lines().find(|l| l.contains("user")).unwrap();
    assert!(head.contains("privileged"), "{table}");
    let pia = table.lines().find(|l| l.contains("pia")).unwrap();
    assert!(
        pia.trim_end()
            .trim_end_matches('|')
            .trim_end()
            .ends_with("yes"),
        "{table}"
    );
    let text = d.req_ok(&["list", "pia"]);
    assert!(text.contains("privileged:  yes"), "{text}");
    d.sup_ok(&["privileged", "pia", "off"]);
    let text = d.req_ok(&["list", "pia"]);
    assert!(text.contains("privileged:  no"), "{text}");
}

/// `report` groups by principal, never by the `--operator` display name
/// (anyone can give any): two principals giving the same name are two
/// rows, each listing the names it gave.
#[test]
fn report_groups_by_principal_not_by_display_name() {
    let Some(d) = Desk::new("") else { return };
    for u in ["rae", "sol"] {
        d.req_ok(&["enroll-device", u, "--kind", "token"]);
    }
    // The requester gives the supervisor's name as its display name (on
    // SQLite the supervisor's is SUDO_USER, "nobody": --operator is
    // refused under sudo); on PostgreSQL both give the same one.
    let fake = if d.logins.is_some() {
        "same-note".to_string()
    } else {
        d.approver()
    };
    let issue = |second: bool, user: &str, with_note: bool| {
        let mut args: Vec<&str> = Vec::new();
        if with_note {
            args.extend(["--operator", fake.as_str()]);
        }
        args.extend(["issue-codes", user, "--via", "helpdesk"]);
        args.extend(["--identity-verified", "in-person", "--ticket", "T", "-q"]);
        let (code, _, err) = d.run_as(second, &args, "");
        assert_eq!(code, 0, "{err}");
    };
    issue(false, "rae", true);
    issue(true, "sol", d.logins.is_some());
    let rep: Value =
        serde_json::from_str(&d.sup_ok(&["report", "--by", "operator", "--format", "json"]))
            .unwrap();
    let mut rows: Vec<(String, Vec<String>, u64, u64)> = rep
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["principal"].as_str().unwrap().to_string(),
                r["operators"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o.as_str().unwrap().to_string())
                    .collect(),
                r["checks_passed"].as_u64().unwrap(),
                r["sets_helpdesk"].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    let mut want = vec![
        (d.requester(), vec![fake.clone()], 1, 1),
        (d.approver(), vec![fake.clone()], 1, 1),
    ];
    want.sort();
    assert_eq!(rows, want, "{rep}");
    let csv = d.sup_ok(&["report", "--by", "operator", "--format", "csv"]);
    assert!(csv.starts_with("principal,operators,day,"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with(&format!("{},{fake},,1,", d.requester()))),
        "{csv}"
    );
    let table = d.sup_ok(&["report"]);
    assert!(table.contains("principal"), "{table}");
    assert!(table.contains(&d.requester()), "{table}");
}

/// `approve REQUEST` at a terminal shows the request and asks (no by
/// default): a no (or Escape) decides nothing, a yes approves. Through a
/// real pseudo-terminal, as the identity prompts are tested.
#[test]
fn approve_at_a_terminal_asks_first() {
    use crate::both::prompt_pty::{ENTER, ESC, Pty};
    let Some(d) = Desk::new("") else { return };
    d.req_ok(&["enroll-device", "tia", "--kind", "token"]);
    d.sup_ok(&["privileged", "tia", "on"]);
    let (code, v, err) = d.ask_codes("tia", &[]);
    assert_eq!(code, 10, "{err}");
    let id = v["request"].as_i64().unwrap().to_string();
    let approve = || {
        let mut c = d.std_cmd(true);
        c.env("TERM", "xterm").args(["approve", &id]);
        Pty::on(c)
    };
    let state = || {
        let pending: Value =
            serde_json::from_str(&d.sup_ok(&["approve", "--format", "json"])).unwrap();
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"].as_i64().map(|i| i.to_string()).as_deref() == Some(id.as_str()))
    };

    // Answered no: nothing decided, exit 9, the request still waits.
    let mut t = approve();
    t.expect(&format!("asked by {}", d.requester()));
    t.expect("INC-7");
    t.expect(&format!("Approve request {id}?"));
    t.key("n");
    t.key(ENTER);
    let (code, log) = t.finish();
    assert_eq!(code, 9, "{log}");
    assert!(log.contains("answered no"), "{log}");
    assert!(state(), "still waiting after a no");
    // Escape (then Enter, as the prompt waits for a newline): the same.
    let mut t = approve();
    t.expect(&format!("Approve request {id}?"));
    t.key(ESC);
    // Apart from the Escape, or the two read as one escape sequence.
    std::thread::sleep(std::time::Duration::from_millis(300));
    t.key(ENTER);
    let (code, log) = t.finish();
    assert_eq!(code, 9, "{log}");
    assert!(state(), "still waiting after Escape");
    assert!(
        !d.events().iter().any(|e| e["action"] == "request-approved"),
        "nothing recorded"
    );

    // Yes: approved, by the principal at the terminal.
    let mut t = approve();
    t.expect(&format!("Approve request {id}?"));
    t.key("y");
    t.key(ENTER);
    let (code, log) = t.finish();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("approved by"), "{log}");
    assert!(!state(), "no longer waiting");
    assert_eq!(
        d.last("request-approved")["principal"],
        d.approver().as_str()
    );
    let (code, out, err) = d.req(&["issue-codes", "tia", "--request", &id, "-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 10);
}

/// Without a terminal (a script), `approve` asks nothing, as before the
/// question; `--yes` skips it at a terminal.
#[test]
fn approve_without_a_terminal_or_with_yes_does_not_ask() {
    use crate::both::prompt_pty::Pty;
    let Some(d) = Desk::new("") else { return };
    d.req_ok(&["enroll-device", "ula", "--kind", "token"]);
    d.sup_ok(&["privileged", "ula", "on"]);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (code, v, err) = d.ask_codes("ula", &[]);
        assert_eq!(code, 10, "{err}");
        ids.push(v["request"].as_i64().unwrap().to_string());
    }
    // Standard input not a terminal: approved without a question.
    let out = d.sup_ok(&["approve", &ids[0]]);
    assert!(out.contains("approved by"), "{out}");
    assert!(!out.contains("Approve request"), "{out}");
    // At a terminal with --yes: the same.
    let mut c = d.std_cmd(true);
    c.env("TERM", "xterm").args(["approve", &ids[1], "--yes"]);
    let (code, log) = Pty::on(c).finish();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("approved by"), "{log}");
    assert!(!log.contains("Approve request"), "{log}");
}
