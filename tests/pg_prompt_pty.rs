// The prompt_pty suite (tests/prompt_pty.rs) on PostgreSQL: see tests/common/mod.rs.
include!("prompt_pty.rs");
