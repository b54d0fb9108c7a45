// The directory suite (tests/directory.rs) on PostgreSQL: see tests/common/mod.rs.
include!("directory.rs");
