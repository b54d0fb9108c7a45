// The upgrade suite (tests/upgrade.rs) on PostgreSQL: see tests/common/mod.rs.
include!("upgrade.rs");
