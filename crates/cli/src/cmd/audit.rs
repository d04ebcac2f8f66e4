use std::io::Write;
use std::process::ExitCode;

use ironpki_store::audit::ChainVerifier;

use super::Ctx;
use crate::args::{AuditCommand, AuditFormat};
use crate::{fail, output, Failure};

pub fn run(ctx: &Ctx, cmd: AuditCommand) -> Result<ExitCode, Failure> {
    let authority = ctx.open()?;
    let store = authority.store();
    match cmd {
        AuditCommand::Verify => {
            let mut verifier = ChainVerifier::default();
            let mut broken = None;
            let mut head = String::new();
            store.for_each_audit(0, &mut |entry| {
                if broken.is_none() {
                    match verifier.check(&entry) {
                        Ok(()) => head = entry.hash,
                        Err(reason) => broken = Some(reason),
                    }
                }
                Ok(())
            })?;
            if let Some(reason) = broken {
                return Err(fail(format!("audit log broken: {reason}")));
            }
            if ctx.json {
                output::json(&serde_json::json!({ "intact": true, "entries": verifier.checked, "head": head }))?;
            } else {
                println!("audit log intact: {} entries, head {head}", verifier.checked);
            }
        }
        AuditCommand::Export { format: AuditFormat::Jsonl, since } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut write_error = None;
            store.for_each_audit(since, &mut |entry| {
                if write_error.is_none() {
                    let line = serde_json::json!({
                        "seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
                        "target": entry.target, "details": entry.details_json(), "prev_hash": entry.prev_hash, "hash": entry.hash,
                    });
                    if let Err(e) = writeln!(out, "{line}") {
                        write_error = Some(e);
                    }
                }
                Ok(())
            })?;
            out.flush().ok();
            if let Some(e) = write_error {
                return Err(fail(format!("writing the export: {e}")));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
