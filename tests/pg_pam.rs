// The pam suite (tests/pam.rs) on PostgreSQL: see tests/common/mod.rs.
include!("pam.rs");
