// The directory (`[directory]`, docs/directory.md) against a real
// OpenLDAP server: each test starts Debian's `slapd` as root in a temp dir
// of its own (slapd.conf, a test tree loaded with slapadd, a throwaway CA
// made with `openssl`), on free loopback ports (plain + StartTLS, and
// ldaps), and kills it when it ends. Under CI (`CI` set) a missing slapd
// fails the test; elsewhere the test says loudly that it was skipped.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;

use common::Env;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SLAPD: &str = "/usr/sbin/slapd";
const SUFFIX: &str = "dc=example,dc=org";
const ADMIN: &str = "cn=admin,dc=example,dc=org";

/// The test tree: alice (mobile and desk phone), bob (in the privileged
/// group), carol (whose number changed: the store will hold her old one),
/// dave (removed by the tests that need a leaver), erin (privileged only
/// through groups nested in the privileged group: oncall inside tier0
/// inside helpdesk-admins, and tier0 names helpdesk-admins back, a loop),
/// and a group that is not privileged.
const TREE: &str = "dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice Archer
sn: Archer
displayName: Alice Archer
mobile: +1 507 222 5001
telephoneNumber: +1 507 222 5002
mail: alice@example.org

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob Baker
sn: Baker
displayName: Bob Baker
mobile: +15072225011
mail: bob@example.org

dn: uid=carol,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: carol
cn: Carol Cole
sn: Cole
displayName: Carol Cole
mobile: +15072225021
mail: carol@example.org

dn: uid=dave,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: dave
cn: Dave Dunn
sn: Dunn
displayName: Dave Dunn
mobile: +15072225031

dn: uid=erin,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: erin
cn: Erin Eady
sn: Eady
displayName: Erin Eady
mobile: +15072225041
mail: erin@example.org

dn: cn=helpdesk-admins,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: helpdesk-admins
member: uid=bob,ou=people,dc=example,dc=org
member: cn=tier0,ou=groups,dc=example,dc=org

dn: cn=tier0,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: tier0
member: cn=oncall,ou=groups,dc=example,dc=org
member: cn=helpdesk-admins,ou=groups,dc=example,dc=org

dn: cn=oncall,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: oncall
member: uid=erin,ou=people,dc=example,dc=org

dn: cn=staff,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: staff
member: uid=alice,ou=people,dc=example,dc=org
member: uid=carol,ou=people,dc=example,dc=org
";

const PRIVILEGED: &str = "cn=helpdesk-admins,ou=groups,dc=example,dc=org";

/// Why slapd cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    for (bin, pkg) in [
        (SLAPD, "slapd"),
        ("/usr/sbin/slapadd", "slapd"),
        ("/usr/bin/ldapmodify", "ldap-utils"),
        ("/usr/bin/openssl", "openssl"),
    ] {
        if !Path::new(bin).exists() {
            return Some(format!("{bin} is missing (Debian package {pkg})"));
        }
    }
    if !Path::new("/usr/lib/ldap/back_mdb.so").exists() {
        return Some("/usr/lib/ldap/back_mdb.so is missing (Debian package slapd)".into());
    }
    None
}

/// True when the test may go on; false (after saying so) when it must skip.
fn can_run(test: &str) -> bool {
    match missing_prerequisite() {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: the directory tests must run in CI, but {why}")
        }
        Some(why) => {
            eprintln!("\n*** SKIPPED {test}: {why} ***\n");
            false
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One running slapd with the test tree.
struct Slapd {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// ldap:// (plain and StartTLS).
    port: u16,
    /// ldaps://
    tls_port: u16,
    /// The admin password (slapd's rootpw), random per server.
    password: String,
}

impl Slapd {
    fn start() -> Slapd {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        make_certificates(d);
        let password = format!("pw-{:016x}", rand_u64());
        std::fs::create_dir(d.join("db")).unwrap();
        let conf = format!(
            "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
TLSCACertificateFile {d}/ca.pem
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server.key
database mdb
maxsize 10485760
suffix \"{SUFFIX}\"
rootdn \"{ADMIN}\"
rootpw {password}
directory {d}/db
",
            d = d.display()
        );
        std::fs::write(d.join("slapd.conf"), conf).unwrap();
        std::fs::write(d.join("tree.ldif"), TREE).unwrap();
        run(
            Command::new("/usr/sbin/slapadd")
                .arg("-f")
                .arg(d.join("slapd.conf"))
                .arg("-l")
                .arg(d.join("tree.ldif")),
            "slapadd",
        );
        let (port, tls_port) = (free_port(), free_port());
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .arg("-h")
            .arg(format!(
                "ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"
            ))
            // Stats logging (connections, binds, searches) into slapd.log,
            // which the caching test reads.
            .args(["-d", "256"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(d.join("slapd.log")).unwrap(),
            ))
            .spawn()
            .expect("start slapd");
        let s = Slapd {
            dir,
            child: Some(child),
            port,
            tls_port,
            password,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err()
            || TcpStream::connect(("127.0.0.1", tls_port)).is_err()
        {
            assert!(
                Instant::now() < deadline,
                "slapd did not start: {}",
                std::fs::read_to_string(s.dir.path().join("slapd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Changes the tree with ldapmodify (LDIF with changetype lines).
    fn modify(&self, ldif: &str) {
        std::fs::write(self.path("change.ldif"), ldif).unwrap();
        std::fs::write(self.path("admin.pw"), &self.password).unwrap();
        run(
            Command::new("/usr/bin/ldapmodify")
                .args(["-x", "-H", &self.url(), "-D", ADMIN, "-y"])
                .arg(self.path("admin.pw"))
                .arg("-f")
                .arg(self.path("change.ldif")),
            "ldapmodify",
        );
    }

    /// Stops the server (a directory that went down).
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A password file holding the admin password, mode 0600.
    fn password_file(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.path("bind.pw");
        std::fs::write(&p, format!("{}\n", self.password)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    }

    /// `[directory]` for this server: examples/directory/openldap.toml (the
    /// file docs/directory.md tells sysadmins to copy) with the url, TLS and
    /// password file of this server; `extra` lines (`key = value`) replace
    /// the example's or are added to the table.
    fn config(&self, url: &str, extra: &str) -> String {
        let mut text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/directory/openldap.toml"),
        )
        .expect("read examples/directory/openldap.toml");
        text = set_key(&text, "url", Some(&format!("{url:?}")));
        text = set_key(&text, "tls", None);
        text = set_key(&text, "ca_file", None);
        let pw = self.password_file().display().to_string();
        text = set_key(&text, "password_file", Some(&format!("{pw:?}")));
        for line in extra.lines().filter(|l| !l.trim().is_empty()) {
            let (k, v) = line.split_once('=').expect("key = value");
            text = set_key(&text, k.trim(), Some(v.trim()));
        }
        text
    }

    fn env(&self, extra: &str) -> Env {
        Env::with_config(&self.config(&self.url(), extra))
    }
}

/// A test's directory (a fresh slapd) and an Env whose `[directory]` names
/// it, with `extra` keys; `None` when the test is skipped ([`can_run`]).
fn directory_env(test: &str, extra: &str) -> Option<(Slapd, Env)> {
    if !can_run(test) {
        return None;
    }
    let ldap = Slapd::start();
    let env = ldap.env(extra);
    Some((ldap, env))
}

/// The `[directory]` table's `key` set to `value` (a TOML value), or
/// removed (`None`).
fn set_key(text: &str, key: &str, value: Option<&str>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut table = String::new();
    let mut done = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            if table == "[directory]" && !done {
                if let Some(v) = value {
                    out.push(format!("{key} = {v}"));
                }
                done = true;
            }
            table = t.to_string();
        }
        let is_key = t
            .split_once('=')
            .is_some_and(|(k, _)| k.trim() == key && !t.starts_with('#'));
        if table == "[directory]" && is_key {
            if let Some(v) = value {
                out.push(format!("{key} = {v}"));
            }
            done = true;
            continue;
        }
        out.push(line.to_string());
    }
    if !done && let Some(v) = value {
        out.push(format!("{key} = {v}"));
    }
    out.join("\n") + "\n"
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn rand_u64() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("read /dev/urandom");
    u64::from_le_bytes(b)
}

/// A throwaway CA (and another one nobody trusts) and a certificate for
/// 127.0.0.1 signed by the first, made with the openssl command.
fn make_certificates(d: &Path) {
    for ca in ["ca", "other-ca"] {
        run(
            Command::new("openssl").current_dir(d).args([
                "req",
                "-x509",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-days",
                "2",
                "-subj",
                &format!("/CN=codedesk directory test {ca}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]),
            "openssl req (CA)",
        );
    }
    run(
        Command::new("openssl").current_dir(d).args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]),
        "openssl req (server)",
    );
    std::fs::write(
        d.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    run(
        Command::new("openssl").current_dir(d).args([
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "0x1234",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]),
        "openssl x509 (server)",
    );
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// The details of the last audit event with `action` for `user`.
fn last_event(env: &Env, user: &str, action: &str) -> serde_json::Value {
    let (st, out, err) = env.run(&["--format", "json", "audit", "--user", user]);
    assert_eq!(st, 0, "{err}");
    out.lines()
        .rev()
        .map(json)
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} event for {user} in {out}"))["details"]
        .clone()
}

// ------------------------------------------------------------------ tests

#[test]
fn enrolment_refuses_a_user_the_directory_does_not_know() {
    let Some((ldap, env)) =
        directory_env("enrolment_refuses_a_user_the_directory_does_not_know", "")
    else {
        return;
    };
    let (st, out, err) = env.run(&[
        "enroll-device",
        "zed",
        "--kind",
        "mobile",
        "--phone",
        "+15072225001",
    ]);
    assert_eq!(st, 4, "{out}{err}");
    assert!(err.contains("zed is not in the directory"), "{err}");
    assert!(err.contains(&ldap.url()), "the server is named: {err}");
    let (st, _, _) = env.run(&["list", "zed"]);
    let expected = if env.store_exists() { 4 } else { 7 };
    assert_eq!(st, expected, "nothing was created for zed");
    // Known users are enrolled; the directory's display name shows.
    env.ok(&[
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "+15072225001",
    ]);
    let list = env.ok(&["list", "alice"]);
    assert!(list.contains("directory:   Alice Archer"), "{list}");
    assert!(!list.contains("PRIVILEGED"), "{list}");
}

#[test]
fn a_number_not_on_file_needs_the_identity_check_and_is_flagged() {
    let Some((_ldap, env)) = directory_env(
        "a_number_not_on_file_needs_the_identity_check_and_is_flagged",
        "",
    ) else {
        return;
    };
    // alice's desk phone is on file too (telephoneNumber).
    let out = env.ok(&[
        "--format",
        "json",
        "enroll-device",
        "alice",
        "--kind",
        "landline",
        "--phone",
        "+1 507 222 5002",
    ]);
    let j = json(&out);
    assert_eq!(j["phone_on_file"], true, "{out}");
    assert_eq!(
        last_event(&env, "alice", "device-enrolled")["phone_on_file"],
        true
    );
    // A first device for carol on a number the caller dictates: refused
    // without an attested identity check (exit 3), nothing enrolled.
    let args = [
        "--format",
        "json",
        "enroll-device",
        "carol",
        "--kind",
        "mobile",
        "--phone",
        "+15075550123",
    ];
    let (st, out, err) = env.run(&args);
    assert_eq!(st, 3, "{out}{err}");
    assert!(
        err.contains("not one of carol's numbers in the directory"),
        "{err}"
    );
    assert!(
        err.contains("not one of the user's numbers in the directory"),
        "{err}"
    );
    assert_eq!(
        last_event(&env, "carol", "identity-check")["phone_on_file"],
        false
    );
    let (st, _, _) = env.run(&["list", "carol"]);
    assert_eq!(st, 4, "nothing enrolled for carol");
    // With the check attested it is enrolled, flagged in output and trail.
    let mut with_check = args.to_vec();
    with_check.extend(["--identity-verified", "in-person", "--ticket", "T-77"]);
    let (st, out, err) = env.run(&with_check);
    assert_eq!(st, 0, "{out}{err}");
    assert_eq!(json(&out)["phone_on_file"], false, "{out}");
    assert!(err.contains("phone_on_file: false"), "{err}");
    let ev = last_event(&env, "carol", "device-enrolled");
    assert_eq!(ev["phone_on_file"], false, "{ev}");
    assert_eq!(ev["ticket"], "T-77", "the check is recorded: {ev}");
    // The table output flags it too.
    let out = env.ok(&[
        "enroll-device",
        "carol",
        "--kind",
        "landline",
        "--phone",
        "+15075550124",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-78",
    ]);
    assert!(out.contains("phone NOT on file"), "{out}");
}

#[test]
fn privileged_group_members_are_privileged() {
    let Some((_ldap, env)) = directory_env("privileged_group_members_are_privileged", "") else {
        return;
    };
    let out = env.ok(&[
        "--format",
        "json",
        "enroll-device",
        "bob",
        "--kind",
        "mobile",
        "--phone",
        "+15072225011",
    ]);
    assert_eq!(json(&out)["privileged"], true, "{out}");
    assert_eq!(
        last_event(&env, "bob", "device-enrolled")["privileged"],
        true
    );
    let list = env.ok(&["list", "bob"]);
    assert!(list.contains("Bob Baker, PRIVILEGED"), "{list}");
    let j = json(&env.ok(&["--format", "json", "list", "bob"]));
    assert_eq!(j["directory"]["privileged"], true, "{j}");
    assert_eq!(j["directory"]["display_name"], "Bob Baker", "{j}");
    // alice is in a group, but not a privileged one.
    let out = env.ok(&[
        "--format",
        "json",
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "+15072225001",
    ]);
    assert_eq!(json(&out)["privileged"], false, "{out}");
}

/// Issue 13 (docs/approvals.md): membership of a privileged group makes
/// helpdesk codes wait for a second principal (exit 10) with no mark in
/// the store, and `privileged off` cannot take that away; a user outside
/// the groups is issued codes at once.
#[test]
fn a_privileged_group_member_waits_for_approval() {
    let Some((_ldap, env)) = directory_env("a_privileged_group_member_waits_for_approval", "")
    else {
        return;
    };
    env.ok(&["enroll-device", "bob", "--kind", "token"]);
    env.ok(&["enroll-device", "alice", "--kind", "token"]);
    let issue = |user: &str| {
        env.run(&[
            "--format",
            "json",
            "issue-codes",
            user,
            "--identity-verified",
            "in-person",
            "--ticket",
            "T-13",
        ])
    };
    let (code, out, err) = issue("bob");
    assert_eq!(code, 10, "{err}");
    assert_eq!(json(&out)["reason"], "privileged", "{out}");
    env.ok(&["privileged", "bob", "off"]);
    let (code, _, err) = issue("bob");
    assert_eq!(
        code, 10,
        "the directory adds to the flag, never removes: {err}"
    );
    let (code, out, err) = issue("alice");
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["codes"].as_array().unwrap().len(), 10, "{out}");
}

#[test]
fn filter_injection_in_a_user_name_matches_nobody() {
    let Some((ldap, env)) = directory_env("filter_injection_in_a_user_name_matches_nobody", "")
    else {
        return;
    };
    // The command line refuses such a name outright (exit 2).
    let (st, _, err) = env.run(&[
        "enroll-device",
        "*)(uid=*",
        "--kind",
        "mobile",
        "--phone",
        "+15072225001",
    ]);
    assert_eq!(st, 2, "{err}");
    // The lookup itself escapes it (RFC 4515): against the real server, a
    // name of filter syntax matches no entry, where unescaped it would
    // have matched every user.
    let text = ldap.config(&ldap.url(), "");
    let file: codedesk::directory::DirectoryFile =
        toml::from_str::<toml::Table>(&text).unwrap()["directory"]
            .clone()
            .try_into()
            .unwrap();
    let cfg = codedesk::directory::DirectoryConfig::from_file(&file, &ldap.path("c.toml")).unwrap();
    for evil in ["*)(uid=*", "*", "alice)(|(uid=*", "al*"] {
        assert_eq!(
            codedesk::directory::lookup(&cfg, evil).unwrap(),
            None,
            "{evil} matched an entry"
        );
    }
    let alice = codedesk::directory::lookup(&cfg, "alice").unwrap().unwrap();
    assert_eq!(alice.display_name.as_deref(), Some("Alice Archer"));
    assert_eq!(alice.email.as_deref(), Some("alice@example.org"));
    assert_eq!(alice.mobiles.len(), 1);
    assert_eq!(alice.phones.len(), 1);
    assert!(!alice.privileged);
}

#[test]
fn wrong_bind_password_fails_closed_without_showing_it() {
    let Some((ldap, env)) =
        directory_env("wrong_bind_password_fails_closed_without_showing_it", "")
    else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let p = ldap.path("bind.pw");
    std::fs::write(&p, "wrong-password-123\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (st, out, err) = env.run(&[
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "+15072225001",
    ]);
    assert_eq!(st, 7, "{out}{err}");
    assert!(err.contains("directory unreachable"), "{err}");
    assert!(err.contains("invalid credentials"), "{err}");
    assert!(err.contains(&ldap.url()), "{err}");
    assert!(!err.contains("wrong-password-123") && !out.contains("wrong-password-123"));
    // A password file everyone may read is refused before connecting.
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (st, _, err) = env.run(&[
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "+15072225001",
    ]);
    assert_eq!(st, 2, "{err}");
    assert!(err.contains("readable by everyone"), "{err}");
}

#[test]
fn a_directory_that_is_down_stops_issuance_and_enrolment_but_not_verify() {
    let Some((mut ldap, env)) = directory_env(
        "a_directory_that_is_down_stops_issuance_and_enrolment_but_not_verify",
        "timeout = \"3s\"",
    ) else {
        return;
    };
    env.ok(&[
        "enroll-device",
        "alice",
        "--kind",
        "landline",
        "--phone",
        "+15072225002",
    ]);
    let codes = env.issue_helpdesk("alice", &[]);
    assert!(codes.len() >= 2);
    ldap.stop();
    let (st, out, err) = env.run(&[
        "enroll-device",
        "bob",
        "--kind",
        "mobile",
        "--phone",
        "+15072225011",
    ]);
    assert_eq!(st, 7, "{out}{err}");
    assert!(err.contains("directory unreachable"), "{err}");
    assert!(err.contains(&ldap.url()), "the server is named: {err}");
    assert!(!err.contains(&ldap.password), "{err}");
    let (st, _, err) = env.run(&[
        "issue-codes",
        "alice",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-1",
    ]);
    assert_eq!(st, 7, "{err}");
    assert!(err.contains("directory unreachable"), "{err}");
    // Logins keep working from the store.
    assert_eq!(env.verify("alice", &codes[0]), 0);
    assert_eq!(env.verify("alice", &codes[0]), 1, "spent");
    // list still lists, with a warning.
    let (st, out, err) = env.run(&["list", "alice"]);
    assert_eq!(st, 0, "{err}");
    assert!(out.contains("directory:   unreachable"), "{out}");
}

#[test]
fn starttls_and_ldaps_check_the_certificate() {
    if !can_run("starttls_and_ldaps_check_the_certificate") {
        return;
    }
    let ldap = Slapd::start();
    let ca = ldap.path("ca.pem").display().to_string();
    let other = ldap.path("other-ca.pem").display().to_string();
    let args = [
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "+15072225001",
    ];
    for (url, tls) in [
        (ldap.url(), "tls = \"starttls\"\n"),
        (format!("ldaps://127.0.0.1:{}", ldap.tls_port), ""),
    ] {
        let env = Env::with_config(&ldap.config(&url, &format!("{tls}ca_file = {ca:?}")));
        let (st, out, err) = env.run(&args);
        assert_eq!(st, 0, "{url} {tls}: {out}{err}");
        // The bind went over TLS: slapd logs its security strength factor.
        let log = std::fs::read_to_string(ldap.path("slapd.log")).unwrap();
        let bind = log
            .lines()
            .rev()
            .find(|l| l.contains("mech=SIMPLE"))
            .expect("a bind in slapd's log");
        assert!(
            !bind.ends_with(" ssf=0"),
            "{url} {tls}: bound in clear: {bind}"
        );
        // A CA that did not sign the server's certificate: refused.
        let env = Env::with_config(&ldap.config(&url, &format!("{tls}ca_file = {other:?}")));
        let (st, out, err) = env.run(&args);
        assert_eq!(st, 7, "{url} {tls}: {out}{err}");
        assert!(err.contains("directory unreachable"), "{err}");
    }
}

/// The `sync` findings, one JSON object a line.
fn sync_rows(out: &str) -> Vec<serde_json::Value> {
    out.lines().map(json).collect()
}

fn find<'a>(
    rows: &'a [serde_json::Value],
    user: &str,
    change: &str,
) -> Option<&'a serde_json::Value> {
    rows.iter()
        .find(|r| r["user"] == user && r["change"] == change)
}

fn sync_events(env: &Env) -> usize {
    let (_, out, _) = env.run(&["--format", "json", "audit"]);
    out.lines()
        .filter(|l| json(l)["action"] == "directory-sync")
        .count()
}

/// Enrols alice, bob, carol and dave with their numbers on file; gives
/// dave helpdesk codes.
fn populate(env: &Env) -> Vec<String> {
    for (u, kind, phone) in [
        ("alice", "mobile", "+15072225001"),
        ("bob", "mobile", "+15072225011"),
        ("carol", "mobile", "+15072225021"),
        ("dave", "landline", "+15072225031"),
    ] {
        env.ok(&["enroll-device", u, "--kind", kind, "--phone", phone]);
    }
    env.issue_helpdesk("dave", &[])
}

#[test]
fn sync_revokes_leavers_and_reports_changed_numbers_and_new_privileged_users() {
    // One leaver of five is a fifth: allowed with min_fraction 0.5.
    let Some((ldap, env)) = directory_env(
        "sync_revokes_leavers_and_reports_changed_numbers_and_new_privileged_users",
        "min_fraction = 0.5",
    ) else {
        return;
    };
    let codes = populate(&env);
    // First sync: nobody left, no number changed; bob is privileged, and
    // erin through nested groups.
    let (st, out, err) = env.run(&["--format", "json", "sync"]);
    assert_eq!(st, 0, "{out}{err}");
    let rows = sync_rows(&out);
    assert_eq!(rows.len(), 2, "{out}");
    assert!(find(&rows, "bob", "privileged").is_some(), "{out}");
    assert!(find(&rows, "erin", "privileged").is_some(), "{out}");
    assert!(err.contains("5 users in the directory"), "{err}");
    assert!(
        !err.contains("entries read"),
        "no progress when piped: {err}"
    );
    // The directory changes: carol's number, dave leaves, alice joins the
    // privileged group.
    ldap.modify(&format!(
        "dn: uid=carol,ou=people,{SUFFIX}
changetype: modify
replace: mobile
mobile: +15072225099

dn: uid=dave,ou=people,{SUFFIX}
changetype: delete

dn: {PRIVILEGED}
changetype: modify
add: member
member: uid=alice,ou=people,{SUFFIX}
"
    ));
    // A dry run reports and changes nothing.
    let before = sync_events(&env);
    let (st, out, err) = env.run(&["--format", "json", "sync", "--dry-run"]);
    assert_eq!(st, 0, "{out}{err}");
    assert!(err.contains("dry run: nothing changed"), "{err}");
    let rows = sync_rows(&out);
    assert_eq!(rows.len(), 3, "{out}");
    assert!(find(&rows, "dave", "left").is_some(), "{out}");
    let carol = find(&rows, "carol", "number-changed").expect("carol's number");
    assert!(
        carol["detail"]
            .as_str()
            .unwrap()
            .contains("no longer on file"),
        "{carol}"
    );
    assert!(find(&rows, "alice", "privileged").is_some(), "{out}");
    assert!(
        find(&rows, "bob", "privileged").is_none(),
        "bob was privileged already: {out}"
    );
    assert_eq!(sync_events(&env), before, "a dry run writes nothing");
    let j = json(&env.ok(&["--format", "json", "list", "dave"]));
    assert_eq!(
        j["codes_remaining"].as_i64(),
        Some(codes.len() as i64),
        "{j}"
    );
    // The real run: dave's codes are revoked, his device kept (CSV out).
    let (st, out, err) = env.run(&["--format", "csv", "sync"]);
    assert_eq!(st, 0, "{out}{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("user,change,detail,revoked_sets"));
    let dave = out
        .lines()
        .find(|l| l.starts_with("dave,left,"))
        .expect(&out);
    let revoked = dave.rsplit(',').next().unwrap();
    assert!(
        revoked.parse::<i64>().is_ok(),
        "dave's set is named: {dave}"
    );
    let j = json(&env.ok(&["--format", "json", "list", "dave"]));
    assert_eq!(j["codes_remaining"].as_i64(), Some(0), "{j}");
    assert_eq!(
        env.verify("dave", &codes[0]),
        1,
        "a leaver's codes no longer work"
    );
    // Nor are new ones issued to him.
    let (st, _, err) = env.run(&[
        "issue-codes",
        "dave",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-9",
    ]);
    assert_eq!(st, 4, "{err}");
    assert!(err.contains("dave is not in the directory"), "{err}");
    let list = env.ok(&["list", "dave"]);
    assert!(list.contains("landline"), "the device is kept: {list}");
    assert!(list.contains("NOT in the directory"), "{list}");
    let ev = last_event(&env, "dave", "revoke");
    assert_eq!(ev["reason"], "left the directory", "{ev}");
    assert_eq!(sync_events(&env), before + 1);
    // The baseline moved: alice is no longer new.
    let (st, out, _) = env.run(&["--format", "json", "sync", "--dry-run"]);
    assert_eq!(st, 0);
    assert!(
        find(&sync_rows(&out), "alice", "privileged").is_none(),
        "{out}"
    );
}

#[test]
fn sync_changes_nothing_when_the_directory_returns_too_few_users_or_is_down() {
    let Some((mut ldap, env)) = directory_env(
        "sync_changes_nothing_when_the_directory_returns_too_few_users_or_is_down",
        "",
    ) else {
        return;
    };
    let codes = populate(&env);
    env.ok(&["sync"]);
    let before = sync_events(&env);
    // A filter that now selects one user of five (below min_fraction 0.9):
    // three "leavers" would lose their codes; nothing changes instead.
    std::fs::write(
        &env.config,
        set_key(
            &std::fs::read_to_string(&env.config).unwrap(),
            "user_filter",
            Some("\"(&(objectClass=inetOrgPerson)(uid=alice))\""),
        ),
    )
    .unwrap();
    let (st, out, err) = env.run(&["sync"]);
    assert_eq!(st, 7, "{out}{err}");
    assert!(
        err.contains("returned 1 users, fewer than 90% of the 5"),
        "{err}"
    );
    assert!(err.contains("nothing changed"), "{err}");
    assert_eq!(sync_events(&env), before);
    assert_eq!(env.verify("dave", &codes[0]), 0, "dave's codes still work");
    // min_fraction = 0.15 lets the same run through.
    std::fs::write(
        &env.config,
        set_key(
            &std::fs::read_to_string(&env.config).unwrap(),
            "min_fraction",
            Some("0.15"),
        ),
    )
    .unwrap();
    let (st, out, err) = env.run(&["--format", "json", "sync", "--dry-run"]);
    assert_eq!(st, 0, "{out}{err}");
    assert_eq!(
        sync_rows(&out)
            .iter()
            .filter(|r| r["change"] == "left")
            .count(),
        3
    );
    // A directory that is down: exit 7, one line, nothing changed.
    ldap.stop();
    let (st, out, err) = env.run(&["sync"]);
    assert_eq!(st, 7, "{out}{err}");
    assert!(err.contains("directory unreachable"), "{err}");
    assert!(err.contains("nothing changed"), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.contains("warning:")).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert_eq!(sync_events(&env), before);
    assert_eq!(env.verify("dave", &codes[1]), 0);
}

#[test]
fn sync_without_a_directory_is_a_usage_error() {
    let env = Env::new();
    let (st, _, err) = env.run(&["sync"]);
    assert_eq!(st, 2, "{err}");
    assert!(err.contains("no [directory]"), "{err}");
}

/// `verify` never contacts the directory: with `[directory]` naming a
/// listener the test holds, a verify makes no connection to it, while an
/// enrolment does (and, getting no answer, fails closed).
#[test]
fn verify_never_contacts_the_directory() {
    let env = Env::new();
    env.enroll_landline("alice", "+15072225002");
    let codes = env.issue_helpdesk("alice", &[]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    text.push_str(&format!(
        "\n[directory]\nurl = \"ldap://127.0.0.1:{port}\"\nbase_dn = \"dc=example,dc=org\"\ntimeout = \"2s\"\n"
    ));
    std::fs::write(&env.config, text).unwrap();
    let contacted = || match listener.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    };
    assert_eq!(env.verify("alice", &codes[0]), 0);
    assert_eq!(env.verify("alice", "ABCD-EFGH"), 1);
    assert!(!contacted(), "verify connected to the directory");
    let (st, out, err) = env.run(&[
        "enroll-device",
        "bob",
        "--kind",
        "mobile",
        "--phone",
        "+15072225011",
    ]);
    assert_eq!(st, 7, "{out}{err}");
    assert!(err.contains("directory unreachable"), "{err}");
    assert!(contacted(), "enrolment asked the directory");
}

/// `enroll-device --batch`: any user the directory does not know rejects
/// the file (exit 4, naming them); numbers not on file need the run's
/// attestation (exit 3), and are flagged once it is given.
#[test]
fn batch_enrolment_checks_every_row_against_the_directory() {
    let Some((_ldap, env)) =
        directory_env("batch_enrolment_checks_every_row_against_the_directory", "")
    else {
        return;
    };
    let file = env.path().join("devices.csv");
    std::fs::write(
        &file,
        "user,kind,phone\nalice,mobile,+15072225001\nzed,mobile,+15072225077\nyan,landline,+15072225078\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (st, out, err) = env.run(&["enroll-device", "--batch", f]);
    assert_eq!(st, 4, "{out}{err}");
    assert!(err.contains("not in the directory: zed, yan"), "{err}");
    let (st, _, _) = env.run(&["list", "alice"]);
    let expected = if env.store_exists() { 4 } else { 7 };
    assert_eq!(st, expected, "nothing enrolled");
    std::fs::write(
        &file,
        "user,kind,phone\nalice,mobile,+15072225001\nbob,mobile,+15075550000\n",
    )
    .unwrap();
    let (st, out, err) = env.run(&["enroll-device", "--batch", f]);
    assert_eq!(st, 3, "{out}{err}");
    assert!(
        err.contains("not on file in the directory for bob"),
        "{err}"
    );
    let (st, out, err) = env.run(&[
        "--format",
        "csv",
        "enroll-device",
        "--batch",
        f,
        "--identity-verified",
        "video-call",
        "--ticket",
        "T-5",
    ]);
    assert_eq!(st, 0, "{out}{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("user,device,kind,sms,primary,phone,label,phone_on_file")
    );
    assert!(lines.next().unwrap().ends_with(",true"), "{out}");
    assert!(lines.next().unwrap().ends_with(",false"), "{out}");
    assert_eq!(last_event(&env, "bob", "device-enrolled")["ticket"], "T-5");
}

/// At a terminal `sync` shows its progress (entries read) on standard
/// error, and clears it; piped, it shows none (the tests above).
#[test]
fn sync_shows_progress_at_a_terminal() {
    let Some((_ldap, env)) = directory_env("sync_shows_progress_at_a_terminal", "") else {
        return;
    };
    let mut c = Command::new(common::BIN);
    c.env_clear()
        .env("HOME", env.path())
        .env("TERM", "xterm-256color")
        .arg("--db")
        .arg(&env.db)
        .arg("--config")
        .arg(&env.config)
        .args(["sync", "--dry-run"]);
    let mut s = rexpect::session::spawn_command(c, Some(20_000)).expect("spawn on a pty");
    let text = s.exp_eof().expect("output until the end");
    assert!(text.contains("directory entries read"), "{text:?}");
    assert!(text.contains("5 users in the directory"), "{text:?}");
}

/// Lookups are cached for the run: a batch naming alice on three rows
/// makes one search for her, on one connection with one bind; the next
/// run asks again.
#[test]
fn lookups_are_cached_for_the_run_only() {
    let Some((ldap, env)) = directory_env("lookups_are_cached_for_the_run_only", "") else {
        return;
    };
    let file = env.path().join("devices.csv");
    std::fs::write(
        &file,
        "user,kind,phone\nalice,mobile,+15072225001\nalice,landline,+15072225002\nalice,tablet,\n",
    )
    .unwrap();
    env.ok(&["enroll-device", "--batch", file.to_str().unwrap()]);
    let searches = || {
        std::fs::read_to_string(ldap.path("slapd.log"))
            .unwrap()
            .lines()
            .filter(|l| l.contains("SRCH") && l.contains("(uid=alice)"))
            .count()
    };
    let binds = || {
        std::fs::read_to_string(ldap.path("slapd.log"))
            .unwrap()
            .lines()
            .filter(|l| l.contains(" BIND dn=") && l.contains(" method="))
            .count()
    };
    assert_eq!(searches(), 1, "one search for three rows");
    assert_eq!(binds(), 1, "one connection, one bind");
    env.ok(&["list", "alice"]);
    assert_eq!(searches(), 2, "a new run asks again");
}

/// On a PostgreSQL store (the PostgreSQL run), `sync` runs under the
/// least-privilege role docs/roles.md gives it, codedesk_operator:
/// reading the last sync, revoking a leaver's codes, appending events.
#[test]
fn sync_runs_as_a_codedesk_operator_on_postgresql() {
    if !common::postgres() || !can_run("sync_runs_as_a_codedesk_operator_on_postgresql") {
        return;
    }
    let ldap = Slapd::start();
    let env = ldap.env("min_fraction = 0.5");
    let codes = populate(&env);
    env.ok(&["setup-roles"]);
    let name = format!("cdt_dirsync_{}", std::process::id());
    env.sql_execute(&format!("DROP ROLE IF EXISTS {name}"));
    env.sql_execute(&format!("CREATE ROLE {name} LOGIN PASSWORD 'pw-{name}'"));
    env.sql_execute(&format!("GRANT codedesk_operator TO {name}"));
    let owner = env.db.to_string_lossy().into_owned();
    let at = owner.rfind('@').expect("user@host in the URL");
    let url = format!("postgres://{name}:pw-{name}@{}", &owner[at + 1..]);
    let sync = |args: &[&str]| {
        let out = env
            .cmd_without_db()
            .arg("--db")
            .arg(&url)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (st, out, err) = sync(&["sync"]);
    assert_eq!(st, 0, "{out}{err}");
    ldap.modify(&format!(
        "dn: uid=dave,ou=people,{SUFFIX}\nchangetype: delete\n"
    ));
    let (st, out, err) = sync(&["--format", "json", "sync"]);
    env.sql_execute(&format!("DROP ROLE IF EXISTS {name}"));
    assert_eq!(st, 0, "{out}{err}");
    assert!(find(&sync_rows(&out), "dave", "left").is_some(), "{out}");
    assert_eq!(env.verify("dave", &codes[0]), 1, "revoked");
}

// ------------------------------------------ contacts from the directory

/// `env` with email sent through a script that appends each message (as
/// sendmail -t reads it) to mail.txt in its directory.
fn with_mailbox(env: &Env) {
    use std::os::unix::fs::PermissionsExt;
    let mail = env.path().join("mail.txt");
    let script = env.path().join("sendmail.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\n[ \"$1 $2\" = \"-t -i\" ] || exit 9\ncat >> {mail:?}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    text.push_str(&format!(
        "\n[email]\ncommand = \"{} -t -i\"\n",
        script.display()
    ));
    std::fs::write(&env.config, text).unwrap();
}

fn mailbox(env: &Env) -> String {
    std::fs::read_to_string(env.path().join("mail.txt")).unwrap_or_default()
}

fn outbox(env: &Env) -> String {
    std::fs::read_to_string(&env.outbox).unwrap_or_default()
}

/// The six digits of the last challenge in `text`, and who it was to
/// (the `To:` line above it).
fn last_challenge(text: &str) -> (String, String) {
    let at = text
        .rfind("verification code is ")
        .unwrap_or_else(|| panic!("no challenge in:\n{text}"));
    let digits = text[at + "verification code is ".len()..][..6].to_string();
    let to = text[..at]
        .rfind("To: ")
        .map(|t| text[t + 4..].lines().next().unwrap_or("").to_string())
        .unwrap_or_default();
    (digits, to)
}

/// `challenge USER ARGS` in JSON: (challenge id, contact as recorded).
fn challenge(env: &Env, user: &str, args: &[&str]) -> (i64, String) {
    let mut a = vec!["--format", "json", "challenge", user];
    a.extend_from_slice(args);
    let j = json(&env.ok(&a));
    (
        j["challenge"].as_i64().expect("a challenge id"),
        j["contact"].as_str().expect("the contact").to_string(),
    )
}

/// alice with an SMS-capable phone whose number is NOT hers in the
/// directory (enrolled after an attested check, flagged) and an email in
/// the store that is not the directory's: the device id.
fn alice_with_contacts_off_file(env: &Env) -> i64 {
    let j = json(&env.ok(&[
        "--format",
        "json",
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "+15075550123",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-1",
    ]));
    assert_eq!(j["phone_on_file"], false, "{j}");
    env.ok(&[
        "enroll-device",
        "alice",
        "--kind",
        "token",
        "--email",
        "alice.private@example.net",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-2",
    ]);
    j["device"]["id"].as_i64().expect("device id")
}

#[test]
fn a_challenge_goes_only_to_the_directorys_numbers_and_mail() {
    let Some((mut ldap, env)) = directory_env(
        "a_challenge_goes_only_to_the_directorys_numbers_and_mail",
        "timeout = \"3s\"",
    ) else {
        return;
    };
    with_mailbox(&env);
    let off_file = alice_with_contacts_off_file(&env);

    // The enrolled phone whose number is not in the directory is no
    // contact on file: refused by name, nothing sent.
    let (st, out, err) = env.run(&["challenge", "alice", "--device", &off_file.to_string()]);
    assert_eq!(st, 4, "{out}{err}");
    assert!(err.contains("not a contact on file for alice"), "{err}");
    assert!(err.contains(&ldap.url()), "the directory is named: {err}");
    assert!(!outbox(&env).contains("verification code"));

    // By default: the directory's mobile, though no device has it, texted
    // through the SMS gateway.
    let (id, contact) = challenge(&env, "alice", &[]);
    assert_eq!(contact, "directory mobile (+*******5001)");
    let (digits, to) = last_challenge(&outbox(&env));
    assert_eq!(to, "+15072225001");
    assert!(
        !outbox(&env).contains("+15075550123"),
        "nothing to the number off file:\n{}",
        outbox(&env)
    );
    let (st, out, err) = env.run_stdin(
        &[
            "issue-codes",
            "alice",
            "--via",
            "helpdesk",
            "--identity-verified",
            "challenge",
            "--challenge",
            &id.to_string(),
            "--ticket",
            "INC-1",
            "-q",
        ],
        &format!("{digits}\n"),
    );
    assert_eq!(st, 0, "{out}{err}");
    assert!(!out.is_empty(), "the codes are shown");

    // --email: the directory's mail, not the one in the store.
    let (_, contact) = challenge(&env, "alice", &["--email"]);
    assert_eq!(contact, "email a***@example.org");
    let (_, to) = last_challenge(&mailbox(&env));
    assert_eq!(to, "alice@example.org");
    assert!(
        !mailbox(&env).contains("alice.private@example.net"),
        "{}",
        mailbox(&env)
    );

    // A device enrolled on the directory's mobile is that contact; lost,
    // neither it nor the directory's mobile (the same number) gets one.
    let on_file = env.enroll_mobile("alice", "+15072225001");
    let (_, contact) = challenge(&env, "alice", &[]);
    assert_eq!(contact, format!("device {on_file} (+*******5001)"));
    let (_, contact) = challenge(&env, "alice", &["--lost", &on_file.to_string()]);
    assert_eq!(
        contact, "email a***@example.org",
        "the lost phone's number is skipped"
    );
    let texts = outbox(&env).matches("verification code").count();

    // dave has no mail in the directory.
    let (st, _, err) = env.run(&["challenge", "dave", "--email"]);
    assert_eq!(st, 4, "dave is not in the store yet: {err}");
    env.ok(&[
        "enroll-device",
        "dave",
        "--kind",
        "landline",
        "--phone",
        "+15072225031",
    ]);
    let (st, _, err) = env.run(&["challenge", "dave", "--email"]);
    assert_eq!(st, 4, "{err}");
    assert!(
        err.contains("no email address on file in the directory"),
        "{err}"
    );

    // The trail: masked contacts, never a full number or address.
    let (_, audit, _) = env.run(&["--format", "json", "audit"]);
    assert!(audit.contains("directory mobile (+*******5001)"), "{audit}");
    for full in ["5072225001", "alice@example.org"] {
        assert!(!audit.contains(full), "{full} in the trail:\n{audit}");
    }

    // The directory down: exit 7 naming it, never the bind password;
    // nothing sent.
    ldap.stop();
    let (st, out, err) = env.run(&["challenge", "alice"]);
    assert_eq!(st, 7, "{out}{err}");
    assert!(err.contains("directory unreachable"), "{err}");
    assert!(err.contains(&ldap.url()), "{err}");
    assert!(!err.contains(&ldap.password), "{err}");
    assert_eq!(outbox(&env).matches("verification code").count(), texts);
}

/// A `codedesk` run on a pseudo-terminal (rexpect), as an operator at a
/// terminal runs it; the same way as tests/prompt_pty.rs.
struct Pty {
    s: rexpect::session::PtySession,
    tty: String,
    log: String,
}

impl Pty {
    fn spawn(env: &Env, args: &[&str]) -> Pty {
        use std::os::fd::AsRawFd;
        let mut c = Command::new("/bin/sh");
        c.env_clear()
            .env("HOME", env.path())
            .env("TERM", "xterm")
            .env("PATH", "/usr/bin:/bin")
            .arg("-c")
            .arg("stty echo && exec \"$0\" \"$@\"")
            .arg(common::BIN)
            .arg("--db")
            .arg(&env.db)
            .arg("--config")
            .arg(&env.config)
            .arg("--operator")
            .arg("tester")
            .args(args);
        let s = rexpect::session::spawn_command(c, Some(20_000)).expect("spawn on a pty");
        let master = s.process().get_file_handle().expect("pty master");
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", master.as_raw_fd()))
            .expect("the pty master's fdinfo");
        let index = info
            .lines()
            .find_map(|l| l.strip_prefix("tty-index:"))
            .expect("tty-index")
            .trim()
            .to_string();
        Pty {
            s,
            tty: format!("/dev/pts/{index}"),
            log: String::new(),
        }
    }

    fn expect(&mut self, needle: &str) {
        match self.s.exp_string(needle) {
            Ok(before) => {
                self.log.push_str(&before);
                self.log.push_str(needle);
            }
            Err(e) => panic!(
                "waiting for {needle:?}: {e}\nterminal so far:\n{}",
                self.log
            ),
        }
    }

    /// Types `keys` once the program reads single keys (raw mode).
    fn key(&mut self, keys: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = Command::new("stty")
                .arg("-F")
                .arg(&self.tty)
                .arg("-a")
                .output()
                .expect("stty");
            let mode = String::from_utf8_lossy(&out.stdout).into_owned();
            if ["-icanon", "-isig"]
                .iter()
                .all(|f| mode.split_whitespace().any(|w| w == *f))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "never in raw mode:\n{}",
                self.log
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.s.send(keys).expect("write to the pty");
        self.s.flush().expect("flush the pty");
    }

    fn finish(mut self) -> (i32, String) {
        match self.s.exp_eof() {
            Ok(rest) => self.log.push_str(&rest),
            Err(e) => panic!("codedesk did not exit: {e}\nterminal so far:\n{}", self.log),
        }
        match self.s.process().wait().expect("wait") {
            rexpect::process::WaitStatus::Exited(_, code) => (code, self.log),
            other => panic!("codedesk ended by {other:?}\n{}", self.log),
        }
    }
}

/// At a terminal, the call-back step shows the directory's numbers (in
/// full, there only; recorded masked), not a number enrolled off file; the
/// challenge step offers only the directory's contacts.
#[test]
fn the_prompt_calls_back_and_challenges_the_directorys_contacts() {
    let Some((_ldap, env)) = directory_env(
        "the_prompt_calls_back_and_challenges_the_directorys_contacts",
        "",
    ) else {
        return;
    };
    with_mailbox(&env);
    let off_file = alice_with_contacts_off_file(&env);
    let mut p = Pty::spawn(&env, &["issue-codes", "alice", "--via", "helpdesk"]);
    p.expect("How did you verify this person's identity?");
    p.key("j");
    p.key("j"); // callback
    p.key("\r");
    p.expect("Call back the number on file");
    p.expect("+15072225001 (directory mobile)");
    p.expect("+15072225002 (directory telephone)");
    p.expect("Did the person match");
    p.key("y");
    p.key("\r");
    p.expect("Ticket reference");
    p.key("INC-5");
    p.key("\r");
    let (status, log) = p.finish();
    assert_eq!(status, 0, "{log}");
    assert!(
        !log.contains("5075550123"),
        "the number off file was offered:\n{log}"
    );
    let ev = last_event(&env, "alice", "callback-number-shown");
    assert_eq!(
        ev["numbers"],
        serde_json::json!([
            "directory mobile (+*******5001)",
            "directory telephone (+*******5002)"
        ]),
        "{ev}"
    );
    let (_, audit, _) = env.run(&["--format", "json", "audit"]);
    assert!(
        !audit.contains("5072225001") && !audit.contains("5072225002"),
        "{audit}"
    );

    // The challenge step: the directory's mobile and mail, not the device
    // off file nor the store's email. Escape leaves without sending.
    let mut p = Pty::spawn(&env, &["issue-codes", "alice", "--via", "helpdesk"]);
    p.expect("How did you verify this person's identity?");
    p.key("\x1b[A");
    p.key("\x1b[A"); // challenge
    p.key("\r");
    p.expect("Send the challenge to");
    p.expect("directory mobile (+*******5001)");
    p.expect("email a***@example.org");
    p.key("\x1b");
    let (status, log) = p.finish();
    assert_eq!(status, 3, "{log}");
    assert!(!log.contains(&format!("device {off_file}")), "{log}");
    assert!(!log.contains("a***@example.net"), "{log}");
    assert!(!outbox(&env).contains("verification code"));
}

#[test]
fn a_user_in_a_group_nested_in_a_privileged_group_is_privileged() {
    let Some((ldap, env)) = directory_env(
        "a_user_in_a_group_nested_in_a_privileged_group_is_privileged",
        "",
    ) else {
        return;
    };
    // erin is in oncall, in tier0, in helpdesk-admins (and tier0 names
    // helpdesk-admins back: the loop ends).
    let out = env.ok(&[
        "--format",
        "json",
        "enroll-device",
        "erin",
        "--kind",
        "mobile",
        "--phone",
        "+15072225041",
    ]);
    assert_eq!(json(&out)["privileged"], true, "{out}");
    assert!(env.ok(&["list", "erin"]).contains("Erin Eady, PRIVILEGED"));
    // Through the API other commands use (approvals: `lookup(..).privileged`).
    let text = ldap.config(&ldap.url(), "");
    let file: codedesk::directory::DirectoryFile =
        toml::from_str::<toml::Table>(&text).unwrap()["directory"]
            .clone()
            .try_into()
            .unwrap();
    let cfg = codedesk::directory::DirectoryConfig::from_file(&file, &ldap.path("c.toml")).unwrap();
    let lookup = |u: &str| codedesk::directory::lookup(&cfg, u).unwrap().unwrap();
    assert!(lookup("erin").privileged);
    assert!(lookup("bob").privileged);
    assert!(!lookup("alice").privileged, "staff is not privileged");

    // A chain of groups below helpdesk-admins: frank 10 levels down is
    // privileged; grace, 11 levels down, is past the bound (warned).
    let max = codedesk::directory::MAX_GROUP_DEPTH;
    let mut ldif = String::new();
    for (u, n) in [("frank", 1), ("grace", 2)] {
        ldif.push_str(&format!(
            "dn: uid={u},ou=people,{SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: {u}\ncn: {u}\nsn: {u}\nmobile: +1507222510{n}\n\n"
        ));
    }
    for level in (1..=max + 1).rev() {
        let mut members = if level < max + 1 {
            format!("member: cn=chain{},ou=groups,{SUFFIX}\n", level + 1)
        } else {
            String::new()
        };
        if level == max {
            members.push_str(&format!("member: uid=frank,ou=people,{SUFFIX}\n"));
        }
        if level == max + 1 {
            members.push_str(&format!("member: uid=grace,ou=people,{SUFFIX}\n"));
        }
        ldif.push_str(&format!(
            "dn: cn=chain{level},ou=groups,{SUFFIX}\nchangetype: add\nobjectClass: groupOfNames\ncn: chain{level}\n{members}\n"
        ));
    }
    ldif.push_str(&format!(
        "dn: {PRIVILEGED}\nchangetype: modify\nadd: member\nmember: cn=chain1,ou=groups,{SUFFIX}\n"
    ));
    ldap.modify(&ldif);
    for (u, phone, privileged) in [
        ("frank", "+15072225101", true),
        ("grace", "+15072225102", false),
    ] {
        let (st, out, err) = env.run(&[
            "--format",
            "json",
            "enroll-device",
            u,
            "--kind",
            "mobile",
            "--phone",
            phone,
        ]);
        assert_eq!(st, 0, "{out}{err}");
        assert_eq!(json(&out)["privileged"], privileged, "{u}: {out}");
        assert!(
            err.contains(&format!("nested more than {max} levels")),
            "the bound is said: {err}"
        );
    }
}
