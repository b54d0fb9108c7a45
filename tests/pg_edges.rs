// The edges suite (tests/edges.rs) on PostgreSQL: see tests/common/mod.rs.
include!("edges.rs");
