// Where the store is: `--db`, else `CODEDESK_DB`, else `store.db` in the
// config file (relative to that file), else the XDG default.

mod common;
use common::Env;

#[test]
fn store_db_in_the_config_file_names_the_store_and_flags_override_it() {
    let env = Env::with_raw_config("");
    let cfg = env.path().join("site.toml");
    std::fs::write(
        &cfg,
        "[store]\ndb = \"shared/codedesk.db\"\n\n[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n",
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
    assert!(env.path().join("shared/codedesk.db").exists());
    let out = run(&["config"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("store.db"), "{text}");
    // --db wins over the file
    let other = env.path().join("other.db");
    let out = run(&["--db", other.to_str().unwrap(), "list", "zed"]);
    assert_eq!(out.status.code(), Some(4), "zed is not in the other store");
    assert!(other.exists());
}
