// The interrupts suite (tests/interrupts.rs) on PostgreSQL: see tests/common/mod.rs.
include!("interrupts.rs");
