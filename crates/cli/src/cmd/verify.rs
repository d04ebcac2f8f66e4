use std::process::ExitCode;

use ironpki_x509::verify::{self, Purpose};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{read_file, Ctx};
use crate::args::{PurposeArg, VerifyArgs};
use crate::{fail, output, Failure};

fn certs(path: &std::path::Path) -> Result<Vec<Vec<u8>>, Failure> {
    let ders = ironpki_x509::pem::blocks(&read_file(path)?, "CERTIFICATE", "certificate")
        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
    for der in &ders {
        ironpki_x509::inspect::summarize(der).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    }
    Ok(ders)
}

pub fn run(ctx: &Ctx, args: VerifyArgs) -> Result<ExitCode, Failure> {
    let mut leaf_and_more = certs(&args.cert)?;
    let leaf = leaf_and_more.remove(0);
    let mut intermediates = leaf_and_more;
    if let Some(chain) = &args.chain {
        intermediates.extend(certs(chain)?);
    }
    let roots = match &args.roots {
        Some(path) => certs(path)?,
        None => {
            let authority = ctx.open()?;
            let cas = authority.cas()?;
            intermediates.extend(cas.iter().filter(|c| c.role != "root" && c.status == "active").map(|c| c.der.clone()));
            cas.into_iter().filter(|c| c.role == "root" && c.status == "active").map(|c| c.der).collect()
        }
    };
    let at = match &args.at {
        Some(v) => OffsetDateTime::parse(v, &Rfc3339).map_err(|_| fail(format!("--at {v:?} is not an RFC 3339 time")))?,
        None => OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc()),
    };
    let result = verify::verify(&verify::Input {
        leaf: &leaf,
        intermediates: &intermediates,
        roots: &roots,
        name: args.name.as_deref(),
        at,
        purpose: args.purpose.map(|p| match p {
            PurposeArg::Server => Purpose::Server,
            PurposeArg::Client => Purpose::Client,
        }),
    });
    match result {
        Ok(v) => {
            let purposes: Vec<&str> = v.purposes.iter().map(|p| p.name()).collect();
            if ctx.json {
                output::json(&serde_json::json!({ "valid": true, "purposes": purposes, "chain": v.chain }))?;
            } else {
                println!("OK: valid for {} at {}", purposes.join(" and "), output::rfc3339(at));
                println!("chain: {}", v.chain.join(" <- "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if ctx.json {
                output::json(&serde_json::json!({ "valid": false, "reason": e.to_string() }))?;
            }
            Err(fail(format!("invalid: {e}")))
        }
    }
}
