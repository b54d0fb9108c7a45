// The enroll_gate suite (tests/enroll_gate.rs) on PostgreSQL: see tests/common/mod.rs.
include!("enroll_gate.rs");
