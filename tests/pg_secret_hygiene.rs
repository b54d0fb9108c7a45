// The secret_hygiene suite (tests/secret_hygiene.rs) on PostgreSQL: see tests/common/mod.rs.
include!("secret_hygiene.rs");
