use std::io::Write;
use std::process::ExitCode;

use ironpki_authority::AuditCheck;

use super::Ctx;
use crate::args::{AuditCommand, AuditFormat};
use crate::{fail, output, Failure};

pub fn run(ctx: &Ctx, cmd: AuditCommand) -> Result<ExitCode, Failure> {
    let authority = ctx.open()?;
    match cmd {
        AuditCommand::Verify => match authority.verify_audit(&ctx.caller())? {
            AuditCheck::Broken(reason) => return Err(fail(format!("audit log broken: {reason}"))),
            AuditCheck::Intact { entries, head } => {
                if ctx.json {
                    output::json(&serde_json::json!({ "intact": true, "entries": entries, "head": head }))?;
                } else {
                    println!("audit log intact: {entries} entries, head {head}");
                }
            }
        },
        AuditCommand::Export { format: AuditFormat::Jsonl, since } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut write_error = None;
            authority.audit(&ctx.caller(), since, &mut |entry| {
                let line = serde_json::json!({
                    "seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
                    "target": entry.target, "details": entry.details_json(), "prev_hash": entry.prev_hash, "hash": entry.hash,
                });
                match writeln!(out, "{line}") {
                    Ok(()) => true,
                    Err(e) => {
                        write_error = Some(e);
                        false
                    }
                }
            })?;
            out.flush().ok();
            if let Some(e) = write_error {
                return Err(fail(format!("writing the export: {e}")));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
