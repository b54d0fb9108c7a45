// The smoke suite (tests/smoke.rs) on PostgreSQL: see tests/common/mod.rs.
include!("smoke.rs");
