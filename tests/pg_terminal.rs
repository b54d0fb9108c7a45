// The terminal suite (tests/terminal.rs) on PostgreSQL: see tests/common/mod.rs.
include!("terminal.rs");
