// The safeguards suite (tests/safeguards.rs) on PostgreSQL: see tests/common/mod.rs.
include!("safeguards.rs");
