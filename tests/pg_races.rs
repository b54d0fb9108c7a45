// The races suite (tests/races.rs) on PostgreSQL: see tests/common/mod.rs.
include!("races.rs");
