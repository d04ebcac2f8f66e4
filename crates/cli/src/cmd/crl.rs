use std::process::ExitCode;

use ironpki_authority::Authority;
use ironpki_signer::write_public_file;

use super::{read_file, Ctx};
use crate::args::CrlCommand;
use crate::{fail, output, Failure};

pub fn run(ctx: &Ctx, cmd: CrlCommand) -> Result<ExitCode, Failure> {
    match cmd {
        CrlCommand::Generate { ca, delta, out, pem } => {
            let authority = ctx.open()?;
            let ca = match ca {
                Some(ca) => ca,
                None => only_intermediate(&authority)?,
            };
            authority.unlock(&ca, &ctx.passphrase(false)?)?;
            let crl = authority.generate_crl(&ca, delta)?;
            if out.exists() {
                std::fs::remove_file(&out).map_err(|e| fail(format!("{}: {e}", out.display())))?;
            }
            if pem {
                write_public_file(&out, ironpki_x509::pem::encode("X509 CRL", &crl.der).as_bytes())?;
            } else {
                write_public_file(&out, &crl.der)?;
            }
            if ctx.json {
                return output::json(&crl).map(|_| ExitCode::SUCCESS);
            }
            println!(
                "{} CRL {} of {ca}: {} entries, next update {}, written to {}",
                if delta { "delta" } else { "full" },
                crl.number,
                crl.entries,
                output::time(crl.next_update),
                out.display()
            );
        }
        CrlCommand::Show { file } => {
            let summary = ironpki_x509::inspect::summarize_crl(&read_file(&file)?)
                .map_err(|e| fail(format!("{}: {e}", file.display())))?;
            if ctx.json {
                return output::json(&summary).map(|_| ExitCode::SUCCESS);
            }
            println!("issuer       {}", summary.issuer);
            println!("number       {}", summary.number.as_deref().unwrap_or("-"));
            if let Some(base) = &summary.delta_base {
                println!("delta of     {base}");
            }
            println!("this update  {}", output::rfc3339(summary.this_update));
            println!("next update  {}", summary.next_update.map(output::rfc3339).unwrap_or_else(|| "-".into()));
            println!("entries      {}", summary.entries.len());
            let rows: Vec<Vec<String>> = summary
                .entries
                .iter()
                .map(|e| vec![e.serial.clone(), output::rfc3339(e.revoked_at), e.reason.clone().unwrap_or_default()])
                .collect();
            if !rows.is_empty() {
                output::table(&["SERIAL", "REVOKED", "REASON"], &rows);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The CA a command means when it names none: the only intermediate.
pub fn only_intermediate(authority: &Authority) -> Result<String, Failure> {
    let names: Vec<String> = authority.config.intermediates.iter().map(|i| i.name.clone()).collect();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(fail(format!("several intermediates ({}): name one with --ca", names.join(", ")))),
    }
}
