//! `ironpki-agent`: the agent alone, for hosts and devices that need no CA code.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(name = "ironpki-agent", version, about = "Keeps certificates renewed: ACME with ARI, zero-downtime swaps with rollback.")]
struct Cli {
    /// How `status` prints.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    output: Output,
    #[command(flatten)]
    agent: ironpki_agent::AgentArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    Table,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match ironpki_agent::run(cli.agent, cli.output == Output::Json) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ironpki-agent: error: {}", e.to_string().replace('\n', " "));
            ExitCode::from(1)
        }
    }
}
