// The RADIUS suite (tests/radius.rs) on PostgreSQL: see tests/common/mod.rs.
include!("radius.rs");
