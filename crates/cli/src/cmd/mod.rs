mod acme;
mod audit;
mod bench;
mod ca;
mod cert;
mod crl;
mod init;
mod migrate;
mod ocsp;
mod revocation;
mod serve;
mod token;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ironpki_authority::{Authority, Home, SystemClock};

use crate::args::{Cli, Command};
use crate::{fail, Failure};

/// What every command gets: the global options.
pub struct Ctx {
    pub home: Home,
    pub passphrase_file: Option<PathBuf>,
    pub json: bool,
}

impl Ctx {
    pub fn open(&self) -> Result<Authority, Failure> {
        self.open_as(&actor())
    }

    /// The operator at this terminal: local commands act with the admin role.
    pub fn caller(&self) -> ironpki_authority::Caller {
        ironpki_authority::Caller::local(&actor())
    }

    /// Opens the PKI with `actor` recorded as who acts.
    pub fn open_as(&self, actor: &str) -> Result<Authority, Failure> {
        Ok(Authority::open(self.home.clone(), Arc::new(SystemClock), actor)?)
    }

    pub fn passphrase(&self, confirm: bool) -> Result<ironpki_authority::Passphrase, Failure> {
        crate::secrets::passphrase(self.passphrase_file.as_deref(), confirm)
    }
}

/// Who is acting, for the audit log: the operating-system user of this process,
/// `cli:NAME(uid=N)` (the effective user, as the kernel knows it; `$USER` can say anything).
pub fn actor() -> String {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid().to_string()).unwrap_or_else(|_| "?".into());
    let name = whoami::username().unwrap_or_else(|_| "unknown".into());
    format!("cli:{name}(uid={uid})")
}

fn home_dir(cli_home: Option<PathBuf>) -> Result<Home, Failure> {
    match cli_home {
        Some(h) => Ok(Home::new(h)),
        None => std::env::var_os("HOME")
            .map(|h| Home::new(PathBuf::from(h).join(".ironpki")))
            .ok_or_else(|| fail("no --home given, IRONPKI_HOME unset and HOME unknown")),
    }
}

pub fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let ctx = Ctx {
        home: home_dir(cli.home)?,
        passphrase_file: cli.passphrase_file,
        json: cli.output == crate::args::Output::Json,
    };
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Serve(args) => serve::run(&ctx, args),
        Command::Ca(c) => ca::run(&ctx, c),
        Command::Cert(c) => cert::run(&ctx, c),
        Command::Crl(c) => crl::run(&ctx, c),
        Command::Ocsp(c) => ocsp::run(&ctx, c),
        Command::Audit(c) => audit::run(&ctx, c),
        Command::Token(c) => token::run(&ctx, c),
        Command::Acme(c) => acme::run(&ctx, c),
        Command::Agent(args) => match ironpki_agent::run(args, ctx.json) {
            Ok(code) => Ok(ExitCode::from(code)),
            Err(e) => Err(Failure(e.to_string(), 1)),
        },
        Command::Migrate => migrate::run(&ctx),
        Command::Bench(c) => bench::run(&ctx, c),
    }
}

/// Parses a duration argument such as `24h` or `90d`.
pub fn duration(flag: &str, value: &str) -> Result<std::time::Duration, Failure> {
    humantime::parse_duration(value).map_err(|_| fail(format!("{flag} {value:?} is not a duration such as 24h or 90d")))
}

pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| fail(format!("{}: {e}", path.display())))
}
