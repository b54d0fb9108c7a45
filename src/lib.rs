//! codedesk: a helpdesk's tool for two-factor backup codes.
//!
//! It automates a university's "Duo: Creating Backup Codes" article: users
//! with an SMS-capable phone get codes texted to them; users whose primary
//! device cannot receive texts (or who have no device) get bypass codes from
//! the helpdesk, only after an identity check. Each code works once and any
//! new set invalidates the old ones.
//!
//! Layout: `cli` (clap types) is turned into a plain
//! [`Ctx`](context::Ctx) by `context` and into per-command values;
//! `dispatch` hands each command line to one of `commands/*`, which run one
//! subcommand each; `store` owns all SQL;
//! `codes` is pure code generation and hashing; `rules` holds the article's
//! eight rules; `identity` is the identity gate; `prompt` is the only
//! module that prompts; `delivery` runs
//! the SMS and notify programs; `output` renders; `exit` maps errors to the
//! exit statuses of `exit.rs`; `interrupt` notes signals for the main flow,
//! and only `main` ends the process.

pub mod approvals;
pub mod audit;
pub mod audit_syslog;
pub mod cli;
pub mod clock;
pub mod codes;
pub mod commands;
pub mod config;
pub mod context;
pub mod delivery;
pub mod directory;
pub mod dispatch;
pub mod exit;
pub mod hashslots;
pub mod identity;
pub mod interrupt;
pub mod issuance;
pub mod model;
pub mod output;
pub mod principal;
pub mod prompt;
pub mod roles;
pub mod rules;
pub mod safeguards;
pub mod store;
pub mod trail;
pub mod trust;
