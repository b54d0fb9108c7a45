// The config_notify suite (tests/config_notify.rs) on PostgreSQL: see tests/common/mod.rs.
include!("config_notify.rs");
