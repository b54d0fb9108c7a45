// Where the store is: `--db`, else `CODEDESK_DB`, else `store.db` in the
// config file (a path, relative to that file; or a postgres:// URL, taken
// as it is), else the XDG default.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres); there `store.db`
// names the Env's database by its URL.

use crate::common;
use common::Env;

#[test]
fn store_db_in_the_config_file_names_the_store_and_flags_override_it() {
    let env = Env::with_raw_config("");
    let cfg = env.path().join("site.toml");
    // The Env's own store: its URL, or its file relative to the config.
    let store_db = match env.is_postgres() {
        true => env.db.to_str().unwrap().to_string(),
        false => "store/codedesk.db".to_string(),
    };
    assert!(!env.store_exists());
    std::fs::write(
        &cfg,
        format!("[store]\ndb = {store_db:?}\n\n[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n"),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut c = assert_cmd::Command::new(common::BIN);
        common::scrub(&mut c);
        c.env("HOME", env.path())
            .args(["--config", cfg.to_str().unwrap(), "--operator", "t"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["enroll-device", "zed", "--kind", "token"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(env.store_exists(), "the store of store.db was not created");
    assert_eq!(
        env.sql_column("SELECT name FROM users"),
        ["zed"],
        "zed went into the store named by store.db"
    );
    let out = run(&["config"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("store.db"), "{text}");
    if let Some(pw) = common::password_of(&store_db) {
        assert!(!text.contains(&format!(":{pw}@")), "{text}");
    }
    // --db wins over the file
    let other = env.path().join("other.db");
    let out = run(&["--db", other.to_str().unwrap(), "unlock", "zed"]);
    assert_eq!(out.status.code(), Some(4), "zed is not in the other store");
    assert!(other.exists());
}

/// libpq's key=value form (`host=db dbname=helpdesk`) is refused with exit
/// 2 instead of becoming a SQLite file of that name; the message does not
/// repeat it (it may hold a password), and `config` does not show it.
#[test]
fn a_key_value_connection_string_is_refused_not_made_a_file() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let conninfo = "host=db.example dbname=helpdesk user=cd password=s3cret";
    let run = |args: &[&str], db: Option<&str>| {
        let mut c = assert_cmd::Command::new(common::BIN);
        common::scrub(&mut c);
        c.current_dir(dir.path()).env("HOME", env.path()).args([
            "--config",
            env.config.to_str().unwrap(),
            "--operator",
            "t",
        ]);
        if let Some(db) = db {
            c.env("CODEDESK_DB", db);
        }
        c.args(args).output().unwrap()
    };
    for args in [
        vec!["--db", conninfo, "list"],
        vec!["--db", conninfo, "enroll-device", "zed", "--kind", "token"],
    ] {
        let out = run(&args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("key=value connection string"), "{err}");
        assert!(err.contains("postgres://"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
    // from the environment too, and `config` hides it
    let out = run(&["list"], Some(conninfo));
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["config"], Some(conninfo));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("not shown"), "{shown}");
    // nothing was created where a file of that name would have gone
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // `migrate --to` refuses it too
    let out = run(&["migrate", "--from", "x.db", "--to", conninfo], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    // a file that really is called so is still reachable as ./host=...
    let out = run(&["--db", "./host=db", "unlock", "nobody"], None);
    assert_eq!(out.status.code(), Some(4));
    let out = run(&["--db", "./host=db", "list"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
