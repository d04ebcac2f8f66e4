use std::process::ExitCode;
use std::sync::Arc;

use ironpki_authority::{InitOptions, SystemClock};

use super::{actor, Ctx};
use crate::args::InitArgs;
use crate::{output, Failure};

pub fn run(ctx: &Ctx, args: InitArgs) -> Result<ExitCode, Failure> {
    let passphrase = ctx.passphrase(true)?;
    let report = ironpki_authority::init(
        &ctx.home,
        InitOptions {
            org: args.name,
            config_file: args.config,
            root_offline: args.root_offline.clone(),
            passphrase,
            actor: actor(),
        },
        Arc::new(SystemClock),
    )?;
    if ctx.json {
        return output::json(&report).map(|_| ExitCode::SUCCESS);
    }
    println!("Created a PKI in {}", report.home);
    println!("  configuration  {}", report.config);
    println!("  root           {} ({}, {}, until {})", report.root.name, report.root.subject, report.root.key_type, output::time(report.root.not_after));
    match &args.root_offline {
        Some(dir) => println!("                 key kept offline in {}", dir.display()),
        None => println!("                 key {}", report.root.key_ref),
    }
    for ca in &report.intermediates {
        println!("  intermediate   {} ({}, {}, until {})", ca.name, ca.subject, ca.key_type, output::time(ca.not_after));
    }
    if let Some(admin) = &report.admin {
        println!("  admin client   {} (key {})", admin.certificate, admin.key);
    }
    println!("Next: ironpki cert issue --profile server --cn localhost --out ./tls");
    Ok(ExitCode::SUCCESS)
}
