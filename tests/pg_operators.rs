// The operators suite (tests/operators.rs) on PostgreSQL: see tests/common/mod.rs.
include!("operators.rs");
