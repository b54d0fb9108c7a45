//! `config::parse` on arbitrary UTF-8: never panics, and every error is a
//! one-line usage error: no line breaks or other control characters, which
//! would break the line or drive the terminal.
#![no_main]

use codedesk::config::parse;
use codedesk::exit::{Status, status_of};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|text: &str| {
    if let Err(e) = parse(text, Path::new("/etc/codedesk/config.toml")) {
        let msg = format!("{e:#}");
        assert_eq!(status_of(&e), Status::Usage, "{msg}");
        assert!(!msg.chars().any(char::is_control), "raw control: {msg:?}");
    }
});
