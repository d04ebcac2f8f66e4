//! The IronPKI agent: keeps the certificates of a host or device renewed.
//!
//! Owns the agent's configuration, its ACME client side (accounts, orders, challenge
//! answers, renewal information), the schedule, the swap of working files with rollback,
//! the reload and check hooks, and its state directory. It never holds a CA key and
//! links none of the CA: no store, no authority, no server. It builds alone as the
//! `ironpki-agent` binary and runs inside `ironpki` as `ironpki agent`.
#![forbid(unsafe_code)]

mod acme;
mod agent;
mod api;
mod challenge;
mod cli;
pub mod config;
mod feed;
mod fetch;
mod files;
mod hooks;
mod inspect;
mod log;
mod metrics;
mod roots;
mod schedule;
mod staple;
mod state;
mod status;

pub use cli::{run, AgentArgs};

/// What went wrong, by where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("files: {0}")]
    Files(String),
    #[error("ACME: {0}")]
    Acme(String),
    #[error("REST API: {0}")]
    Api(String),
    #[error("challenge: {0}")]
    Challenge(String),
    #[error("the new certificate was not installed: {0}")]
    Rejected(String),
    #[error("OCSP: {0}")]
    Ocsp(String),
    #[error("reload: {0}")]
    Reload(String),
    #[error("check: {0}")]
    Check(String),
    #[error("{0}; the previous certificate was put back")]
    RolledBack(Box<Error>),
    #[error("{0}")]
    Runtime(String),
}
