// The store_locator suite (tests/store_locator.rs) on PostgreSQL: see tests/common/mod.rs.
include!("store_locator.rs");
