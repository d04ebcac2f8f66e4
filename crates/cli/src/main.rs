//! The `ironpki` binary: parses the command line, calls the authority, prints.
//! It decides nothing itself; every error leaves through `report`, one line on stderr.
#![forbid(unsafe_code)]

mod args;
mod cmd;
mod logging;
mod output;
mod secrets;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a request allocates and frees many small buffers (HTTP, JSON, PEM, DER) on
/// one thread and often frees them on another; with it the server issued about 8 % more
/// certificates a second than with the system allocator (trials in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => e.exit(),
        Err(e) => {
            eprintln!("ironpki: error: {} (see --help)", one_line(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ironpki: error: {}", e.0.replace('\n', " "));
            ExitCode::from(e.1)
        }
    }
}

/// clap's multi-line usage error as one line: the message, without the usage block.
fn one_line(rendered: &str) -> String {
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    message.join(" ").trim_start_matches("error: ").to_string()
}

/// A failure to report: the message and the exit code.
#[derive(Debug)]
pub struct Failure(pub String, pub u8);

/// Exit codes: 1 refused or invalid, 3 an internal fault (I/O, store, signing).
impl From<ironpki_authority::Error> for Failure {
    fn from(e: ironpki_authority::Error) -> Failure {
        use ironpki_authority::Error as E;
        let code = match e {
            E::Internal(_) | E::Store(_) => 3,
            _ => 1,
        };
        Failure(e.to_string(), code)
    }
}

macro_rules! refused_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Failure {
                Failure(e.to_string(), 1)
            }
        }
    )*};
}
refused_from!(ironpki_x509::Error, ironpki_signer::Error, ironpki_config::Error);

pub fn fail(msg: impl Into<String>) -> Failure {
    Failure(msg.into(), 1)
}
