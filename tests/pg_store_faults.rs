// The store_faults suite (tests/store_faults.rs) on PostgreSQL: see tests/common/mod.rs.
include!("store_faults.rs");
