//! The committed shell completions and man pages: regenerated in memory
//! from the clap definition and compared byte for byte (run `cargo run --
//! generate-artifacts` to refresh them), loaded into bash, and checked for
//! the sections a man page owes its reader.
//!
//! No PostgreSQL twin: nothing here depends on the store's backend (the
//! one command run, `config`, does not open the store).

use crate::common;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const REFRESH: &str = "run `cargo run -- generate-artifacts` and commit completions/ and man/";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(prog: &str) -> bool {
    Command::new(prog)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip(test: &str, why: &str) {
    eprintln!("\n*** SKIPPED {test}: {why} ***\n");
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}; {REFRESH}"))
}

#[test]
fn committed_completions_and_man_pages_match_the_cli() {
    let rendered = codedesk::commands::artifacts::render().expect("render artifacts");
    let mut problems = Vec::new();
    let mut expected = BTreeSet::new();
    for (rel, bytes) in &rendered {
        expected.insert(rel.clone());
        match std::fs::read(root().join(rel)) {
            Ok(committed) if committed == *bytes => {}
            Ok(_) => problems.push(format!("{} is out of date", rel.display())),
            Err(e) => problems.push(format!("{} is missing ({e})", rel.display())),
        }
    }
    for dir in ["completions", "man"] {
        for entry in std::fs::read_dir(root().join(dir)).expect(dir) {
            let rel = Path::new(dir).join(entry.unwrap().file_name());
            if !expected.contains(&rel) {
                problems.push(format!("{} is no longer generated", rel.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the generated artifacts drifted from the clap definition:\n  {}\n{REFRESH}",
        problems.join("\n  ")
    );
    let names: BTreeSet<String> = rendered
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    for want in [
        "completions/codedesk.bash",
        "completions/_codedesk",
        "completions/codedesk.fish",
        "man/codedesk.1",
        "man/codedesk-issue-codes.1",
        "man/codedesk-verify.1",
    ] {
        assert!(names.contains(want), "{want} is generated: {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.contains("generate-artifacts")),
        "the maintainers' command stays out of the man pages"
    );
    for (rel, bytes) in rendered.iter().filter(|(rel, _)| !rel.starts_with("docs")) {
        assert!(
            !String::from_utf8_lossy(bytes).contains("generate-artifacts"),
            "the maintainers' command stays out of {}",
            rel.display()
        );
    }
}

/// Runs `script` in bash from the repository root; None when bash is absent.
fn bash(script: &str) -> Option<(bool, String)> {
    if !have("bash") {
        return None;
    }
    let out = Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(script)
        .current_dir(root())
        .output()
        .expect("bash");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Some((out.status.success(), text))
}

#[test]
fn the_bash_completion_loads_and_completes() {
    let Some((ok, text)) = bash("source completions/codedesk.bash && complete -p codedesk") else {
        return skip(
            "the_bash_completion_loads_and_completes",
            "bash is not installed",
        );
    };
    assert!(ok, "sourcing the bash completion failed: {text}");
    assert!(
        text.contains("-F _codedesk") && text.trim_end().ends_with("codedesk"),
        "{text}"
    );
    // What a helpdesk operator gets for TAB: subcommands, options, values.
    let complete = |words: &[&str]| -> Vec<String> {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let n = words.len();
        let script = format!(
            "source completions/codedesk.bash\n\
             COMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
             COMP_POINT=${{#COMP_LINE}}\n\
             _codedesk codedesk '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
            quoted.join(" "),
            n - 1,
            words[n - 1],
            words[n - 2]
        );
        let (ok, text) = bash(&script).expect("bash");
        assert!(ok, "{text}");
        text.lines().map(str::to_string).collect()
    };
    assert_eq!(complete(&["codedesk", "iss"]), ["issue-codes"]);
    assert_eq!(
        complete(&["codedesk", "issue-codes", "--ide"]),
        ["--identity-verified"]
    );
    assert_eq!(
        complete(&["codedesk", "issue-codes", "--identity-verified", ""]),
        ["in-person", "video-call", "callback", "challenge"]
    );
    assert_eq!(
        complete(&["codedesk", "enroll-device", "bob", "--kind", "l"]),
        ["landline"]
    );
}

#[test]
fn the_zsh_and_fish_completions_parse() {
    if have("zsh") {
        let out = Command::new("zsh")
            .args(["-n", "completions/_codedesk"])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    } else {
        skip(
            "the_zsh_and_fish_completions_parse (zsh)",
            "zsh is not installed",
        );
    }
    if have("fish") {
        let out = Command::new("fish")
            .args(["--no-execute", "completions/codedesk.fish"])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    } else {
        skip(
            "the_zsh_and_fish_completions_parse (fish)",
            "fish is not installed",
        );
    }
}

/// The `.SH` headings of a roff page, unquoted.
fn sections(page: &str) -> Vec<String> {
    page.lines()
        .filter_map(|l| l.strip_prefix(".SH "))
        .map(|h| h.trim().trim_matches('"').to_string())
        .collect()
}

/// The text of section `name`, up to the next `.SH`.
fn section<'a>(page: &'a str, name: &str) -> &'a str {
    let start = page
        .find(&format!(".SH {name}\n"))
        .or_else(|| page.find(&format!(".SH \"{name}\"\n")))
        .unwrap_or_else(|| panic!("no {name} section"));
    let rest = &page[start + 4..];
    &rest[..rest.find("\n.SH ").map_or(rest.len(), |i| i + 1)]
}

#[test]
fn the_main_man_page_has_the_sections_a_reader_needs() {
    let page = read("man/codedesk.1");
    let found = sections(&page);
    for want in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "CONFIGURATION",
        "SEE ALSO",
    ] {
        assert!(found.iter().any(|s| s == want), "no {want}: {found:?}");
    }
    assert!(
        found.iter().any(|s| s.starts_with("EXAMPLE")),
        "no EXAMPLES: {found:?}"
    );
    assert!(
        !found.iter().any(|s| s == "EXTRA" || s == "VERSION"),
        "clap_mangen's filler sections: {found:?}"
    );
    // NAME is one short line, not the description again.
    let name = section(&page, "NAME");
    assert!(name.lines().count() <= 2 && name.len() < 90, "{name}");

    // Every exit status of `src/exit.rs`, in order.
    let exit = section(&page, "EXIT STATUS");
    let statuses: Vec<&str> = exit
        .lines()
        .filter_map(|l| l.strip_prefix("\\fB"))
        .filter_map(|l| l.strip_suffix("\\fR"))
        .filter(|l| l.parse::<u8>().is_ok())
        .collect();
    assert_eq!(
        statuses,
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
        "{exit}"
    );

    let env = section(&page, "ENVIRONMENT");
    for var in [
        "CODEDESK_DB",
        "CODEDESK_CONFIG",
        "CODEDESK_OPERATOR",
        "SUDO_USER",
        "PAM_USER",
        "NO_COLOR",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
    ] {
        assert!(env.contains(var), "ENVIRONMENT misses {var}");
    }
    let files = section(&page, "FILES");
    assert!(files.contains("codedesk/codedesk.db") && files.contains("codedesk/config.toml"));

    // Every configuration key the program knows is documented, under its table.
    let env_ = common::Env::new();
    let keys: serde_json::Value =
        serde_json::from_str(env_.ok(&["config", "--format", "json"]).trim()).unwrap();
    let config = section(&page, "CONFIGURATION");
    let mut checked = 0;
    for key in keys.as_object().unwrap().keys().filter(|k| k.contains('.')) {
        let (table, leaf) = key.split_once('.').unwrap();
        let entry = config
            .split(".TP\n")
            .find(|e| e.starts_with(&format!("\\fB[{table}]\\fR")))
            .unwrap_or_else(|| panic!("no [{table}] entry in CONFIGURATION"));
        let first = entry.lines().next().unwrap();
        assert!(
            first.contains(&format!("\\fB{leaf}\\fR")),
            "{key} is not documented: {first}"
        );
        checked += 1;
    }
    assert_eq!(
        checked, 45,
        "the 18 documented keys, the safeguards' 6, verify.connect_retry, the directory's 18 and the approvals' 2"
    );

    let examples = section(&page, "EXAMPLES");
    assert!(examples.contains("\\-\\-identity\\-verified"), "{examples}");
    assert!(
        !page.contains("SECURITY.md"),
        "no reference to a file a reader lacks"
    );
}

#[test]
fn every_page_is_named_for_its_command_and_every_reference_exists() {
    let dir = root().join("man");
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        pages.push(name);
    }
    for sub in [
        "enroll-device",
        "issue-codes",
        "verify",
        "revoke",
        "unlock",
        "list",
        "audit",
        "audit-verify",
        "config",
        "demo",
        "calibrate",
    ] {
        let file = format!("codedesk-{sub}.1");
        assert!(pages.contains(&file), "no page for {sub}: {pages:?}");
        let page = read(&format!("man/{file}"));
        let title = page
            .lines()
            .find(|l| l.starts_with(".TH "))
            .unwrap_or_default();
        assert!(
            title.starts_with(&format!(".TH codedesk-{sub} 1 ")),
            "{file}: {title}"
        );
        let synopsis = section(&page, "SYNOPSIS").replace("\\-", "-");
        let shown = format!("codedesk {}", sub.replace('-', " "));
        let shown_alt = format!("codedesk {sub}");
        assert!(
            synopsis.contains(&shown) || synopsis.contains(&shown_alt),
            "{file}: the synopsis names the command as typed: {synopsis}"
        );
        assert!(
            page.contains("codedesk\\fR(1)"),
            "{file} points back to codedesk(1)"
        );
    }
    // Every codedesk-*(1) a page mentions is a page that exists.
    for p in &pages {
        let text = read(&format!("man/{p}")).replace("\\-", "-");
        for (i, _) in text.match_indices("codedesk-") {
            let rest = &text[i..];
            let Some(end) = rest.find("(1)") else {
                continue;
            };
            let name = rest[..end].trim_end_matches("\\fR");
            if name.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                assert!(
                    pages.contains(&format!("{name}.1")),
                    "{p} refers to {name}(1), which has no page"
                );
            }
        }
    }
    // codedesk(1)'s SEE ALSO lists every other page.
    let see_also = section(&read("man/codedesk.1"), "SEE ALSO").replace("\\-", "-");
    for p in pages.iter().filter(|p| *p != "codedesk.1") {
        let name = p.trim_end_matches(".1");
        assert!(
            see_also.contains(&format!("\\fB{name}\\fR(1)")),
            "codedesk(1) SEE ALSO misses {name}: {see_also}"
        );
    }
    // verify's exit statuses say what garbage gives (1, like a wrong code).
    let verify_page = read("man/codedesk-verify.1");
    let verify_exit = section(&verify_page, "EXIT STATUS");
    assert!(
        verify_exit.contains("1 rejected") && verify_exit.contains("not a code);"),
        "{verify_exit}"
    );
    // The verify page explains PAM; the batch pages their CSV columns.
    assert!(section(&read("man/codedesk-verify.1"), "PAM").contains("PAM_USER"));
    assert!(section(&read("man/codedesk-issue-codes.1"), "BATCH FILE").contains("user"));
    assert!(section(&read("man/codedesk-enroll-device.1"), "BATCH FILE").contains("kind"));
}

#[test]
fn the_man_pages_render_cleanly() {
    if !have("groff") {
        return skip(
            "the_man_pages_render_cleanly",
            "groff is not installed (apt-get install groff-base man-db)",
        );
    }
    for entry in std::fs::read_dir(root().join("man")).unwrap() {
        let path = entry.unwrap().path();
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(&path)
            .output()
            .unwrap();
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.trim().is_empty(),
            "{}: {warnings}",
            path.display()
        );
    }
    if !have("man") {
        return skip(
            "the_man_pages_render_cleanly (man -l)",
            "man is not installed",
        );
    }
    let out = Command::new("man")
        .args(["-l", "man/codedesk.1"])
        .env("MANWIDTH", "80")
        .env("MAN_KEEP_FORMATTING", "")
        .env_remove("MANPAGER")
        .env("PAGER", "cat")
        .current_dir(root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for heading in ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"] {
        assert!(
            text.contains(heading),
            "{heading} missing from man's rendering"
        );
    }
    assert!(
        text.lines().all(|l| l.chars().count() <= 100),
        "a line overflows an 80-column terminal badly:\n{text}"
    );
}
