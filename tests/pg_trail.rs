// The trail suite (tests/trail.rs) on PostgreSQL: see tests/common/mod.rs.
include!("trail.rs");
