// The article_rules suite (tests/article_rules.rs) on PostgreSQL: see tests/common/mod.rs.
include!("article_rules.rs");
