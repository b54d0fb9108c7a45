// The issuance_limits suite (tests/issuance_limits.rs) on PostgreSQL: see tests/common/mod.rs.
include!("issuance_limits.rs");
