// The exit_status suite (tests/exit_status.rs) on PostgreSQL: see tests/common/mod.rs.
include!("exit_status.rs");
