use std::process::ExitCode;

use ironpki_authority::Caller;
use ironpki_x509::revocation::Reason;

use super::Ctx;
use crate::args::CaCommand;
use crate::{output, Failure};

pub fn run(ctx: &Ctx, cmd: CaCommand) -> Result<ExitCode, Failure> {
    let authority = ctx.open()?;
    match cmd {
        CaCommand::List => {
            let cas = authority.cas(&ctx.caller())?;
            if ctx.json {
                return output::json(&cas).map(|_| ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = cas
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.role.clone(),
                        c.status.clone(),
                        c.key_type.clone(),
                        output::time(c.not_after),
                        c.subject.clone(),
                    ]
                })
                .collect();
            output::table(&["NAME", "ROLE", "STATUS", "KEY", "NOT AFTER", "SUBJECT"], &rows);
        }
        CaCommand::Revoke { name, reason, invalidity_date } => {
            let reason: Reason = reason.parse()?;
            let invalidity = super::cert::invalidity_date(invalidity_date)?;
            let ca = authority.revoke_ca(&Caller::local(&super::actor()), &name, reason, invalidity)?;
            if ctx.json {
                return output::json(&ca).map(|_| ExitCode::SUCCESS);
            }
            println!("revoked CA {} (serial {}, issuer {}, reason {reason})", ca.name, ca.serial, ca.parent.unwrap_or_default());
        }
        CaCommand::SignCrl { ca, key_dir, next_update } => {
            let validity = next_update.map(|v| super::duration("--next-update", &v)).transpose()?;
            let done = authority.sign_offline_crl(&ca, &key_dir, &ctx.passphrase(false)?, validity)?;
            if ctx.json {
                return output::json(&done).map(|_| ExitCode::SUCCESS);
            }
            println!("signed CRL {} of {ca}: {} entries, next update {}", done.crl.number, done.crl.entries, output::time(done.crl.next_update));
            println!("signed OCSP responder {} until {}: {}", done.responder_serial, output::time(done.responder_not_after), done.responder_cert);
            println!("`ironpki serve` publishes both (a running one picks the CRL up within a second; the responder at its next start)");
        }
        CaCommand::Show { name, pem } => {
            let ca = authority.ca(&ctx.caller(), &name)?;
            if pem {
                print!("{}", ironpki_x509::pem::cert(&ca.der));
                return Ok(ExitCode::SUCCESS);
            }
            let summary = ironpki_x509::inspect::summarize(&ca.der)?;
            if ctx.json {
                return output::json(&serde_json::json!({ "ca": ca, "certificate": summary })).map(|_| ExitCode::SUCCESS);
            }
            println!("name        {}", ca.name);
            println!("role        {}", ca.role);
            if let Some(parent) = &ca.parent {
                println!("parent      {parent}");
            }
            println!("status      {}", ca.status);
            println!("key         {} ({})", ca.key_type, ca.key_ref);
            print_summary(&summary);
        }
        CaCommand::Roots => print!("{}", authority.roots_pem()?),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_summary(s: &ironpki_x509::inspect::CertSummary) {
    println!("subject     {}", s.subject);
    println!("issuer      {}", s.issuer);
    println!("serial      {}", s.serial);
    println!("not before  {}", output::rfc3339(s.not_before));
    println!("not after   {}", output::rfc3339(s.not_after));
    println!("key type    {}", s.key_type);
    if s.is_ca {
        println!("CA          yes{}", s.path_len.map(|n| format!(", pathLen {n}")).unwrap_or_default());
    }
    if !s.sans.is_empty() {
        println!("SANs        {}", s.sans.join(", "));
    }
    println!("key usage   {}", s.key_usage.join(", "));
    if !s.extended_key_usage.is_empty() {
        println!("ext usage   {}", s.extended_key_usage.join(", "));
    }
}
