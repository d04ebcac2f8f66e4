//! The agent's command line, the same in `ironpki agent` and `ironpki-agent`:
//! run as a daemon, run one pass (`--once`), or print the state (`status`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use time::OffsetDateTime;

use crate::agent::Agent;
use crate::{config, log, roots, status, Error};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub command: Option<AgentCommand>,
    /// The agent's configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// One pass over every certificate (renew what is due, retry what failed), then exit:
    /// non-zero if any failed.
    #[arg(long)]
    pub once: bool,
    /// With --once: renew every certificate now, due or not.
    #[arg(long, requires = "once")]
    pub force: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics while running (overrides the
    /// configuration's `metrics_listen`).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Each certificate's state, expiry and next action (`--output json` for JSON).
    Status {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

/// Runs the agent as the arguments say (`json`: `--output json`); the exit code on success.
pub fn run(args: AgentArgs, json: bool) -> Result<u8, Error> {
    match args.command {
        Some(AgentCommand::Status { config }) => {
            let loaded = config::load(&config)?;
            status::print(&loaded, json)?;
            Ok(0)
        }
        None => {
            let path = args.config.ok_or_else(|| Error::Config("--config FILE is required".into()))?;
            let mut loaded = config::load(&path)?;
            if args.metrics_listen.is_some() {
                loaded.agent.metrics_listen = args.metrics_listen;
            }
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Error::Runtime(e.to_string()))?;
            let agent = Arc::new(Agent::new(loaded, args.once, args.force));
            if args.once {
                runtime.block_on(once(agent))
            } else {
                runtime.block_on(daemon(agent))
            }
        }
    }
}

async fn once(agent: Arc<Agent>) -> Result<u8, Error> {
    roots::refresh(&agent.config).await;
    let mut failed = 0;
    for i in 0..agent.certs.len() {
        if agent.tick(i, false).await.failed.is_some() {
            failed += 1;
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// The longest sleep: a clock stepped forward (a device resuming) is noticed within it.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

async fn daemon(agent: Arc<Agent>) -> Result<u8, Error> {
    log::info("", "agent.start", &[("certificates", &agent.certs.len().to_string())]);
    if let Some(addr) = agent.config.metrics_listen {
        crate::metrics::serve(agent.clone(), addr).await?;
    }
    roots::refresh(&agent.config).await;
    if agent.config.roots_url.is_some() {
        let a = agent.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(roots::REFRESH).await;
                roots::refresh(&a.config).await;
            }
        });
    }
    if let Some(feed) = &agent.config.revocation_feed {
        tokio::spawn(crate::feed::follow(agent.clone(), feed.mqtt.clone()));
    }
    for i in 0..agent.certs.len() {
        let agent = agent.clone();
        tokio::spawn(async move {
            // The first pass asks OCSP and the CA afresh: much may have changed while the
            // agent was not running.
            let mut fresh = true;
            loop {
                let pass = agent.tick(i, fresh).await;
                let wait = (pass.next - OffsetDateTime::now_utc()).try_into().unwrap_or(Duration::ZERO);
                fresh = tokio::select! {
                    _ = tokio::time::sleep(wait.min(MAX_SLEEP)) => false,
                    _ = agent.wakers[i].notified() => true,
                };
            }
        });
    }
    shutdown_signal().await;
    log::info("", "agent.stop", &[]);
    Ok(0)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
