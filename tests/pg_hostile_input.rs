// The hostile_input suite (tests/hostile_input.rs) on PostgreSQL: see tests/common/mod.rs.
include!("hostile_input.rs");
