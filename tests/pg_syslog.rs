// The syslog suite (tests/syslog.rs) on PostgreSQL: see tests/common/mod.rs.
include!("syslog.rs");
