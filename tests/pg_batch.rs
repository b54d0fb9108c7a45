// The batch suite (tests/batch.rs) on PostgreSQL: see tests/common/mod.rs.
include!("batch.rs");
