// The approvals suite (tests/approvals.rs) on PostgreSQL: see tests/common/mod.rs.
include!("approvals.rs");
