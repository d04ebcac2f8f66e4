//! The commands the agent runs for a certificate: the reload (a command, or a signal to
//! the process in a pid file), the check after a swap, and the dns-01 hooks. Commands
//! run under `sh -c` with a timeout; a failure carries the exit status and the end of
//! what the command printed.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tokio::process::Command;

use crate::config::Reload;
use crate::Error;

const RELOAD_TIMEOUT: Duration = Duration::from_secs(60);

pub fn signal_by_name(name: &str) -> Result<Signal, String> {
    let upper = name.trim_start_matches("SIG").to_ascii_uppercase();
    Ok(match upper.as_str() {
        "HUP" => Signal::HUP,
        "USR1" => Signal::USR1,
        "USR2" => Signal::USR2,
        "TERM" => Signal::TERM,
        "INT" => Signal::INT,
        "QUIT" => Signal::QUIT,
        _ => return Err(format!("signal {name:?} is not one of HUP, USR1, USR2, TERM, INT, QUIT")),
    })
}

pub async fn reload(name: &str, reload: &Reload) -> Result<(), Error> {
    if let Some(command) = &reload.command {
        return run(command, &[("IRONPKI_CERT_NAME", name)], RELOAD_TIMEOUT).await.map_err(Error::Reload);
    }
    if let (Some(signal), Some(pid_file)) = (&reload.signal, &reload.pid_file) {
        return send_signal(signal, pid_file).map_err(Error::Reload);
    }
    Ok(())
}

fn send_signal(signal: &str, pid_file: &Path) -> Result<(), String> {
    let signal = signal_by_name(signal)?;
    let text = std::fs::read_to_string(pid_file).map_err(|e| format!("{}: {e}", pid_file.display()))?;
    let pid = text
        .trim()
        .parse::<i32>()
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| format!("{}: {:?} is not a process id", pid_file.display(), text.trim()))?;
    rustix::process::kill_process(pid, signal).map_err(|e| format!("signal to {}: {e}", pid.as_raw_nonzero()))
}

/// Runs `command` under `sh -c` with `env`; an error says how it failed.
pub async fn run(command: &str, env: &[(&str, &str)], timeout: Duration) -> Result<(), String> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().map_err(|e| format!("{command:?}: {e}"))?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(r) => r.map_err(|e| format!("{command:?}: {e}"))?,
        Err(_) => return Err(format!("{command:?} did not finish within {}", humantime::format_duration(timeout))),
    };
    if output.status.success() {
        return Ok(());
    }
    let mut said = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if said.is_empty() {
        said = String::from_utf8_lossy(&output.stdout).trim().to_string();
    }
    let tail: String = said.chars().rev().take(300).collect::<Vec<_>>().into_iter().rev().collect();
    let status = output.status.code().map_or_else(|| "was killed by a signal".to_string(), |c| format!("exited with {c}"));
    Err(format!("{command:?} {status}{}", if tail.is_empty() { String::new() } else { format!(": {}", tail.replace('\n', " ")) }))
}
