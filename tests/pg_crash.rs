// The crash suite (tests/crash.rs) on PostgreSQL: see tests/common/mod.rs.
include!("crash.rs");
