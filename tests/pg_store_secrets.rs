// The store_secrets suite (tests/store_secrets.rs) on PostgreSQL: see tests/common/mod.rs.
include!("store_secrets.rs");
