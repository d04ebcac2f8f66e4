use std::process::ExitCode;

use ironpki_x509::verify::{self, Purpose};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{read_file, revocation, Ctx};
use crate::args::{PurposeArg, VerifyArgs, VerifyProfileArg};
use crate::{fail, output, Failure};

pub fn certs(path: &std::path::Path) -> Result<Vec<Vec<u8>>, Failure> {
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
    let authority = if args.roots.is_none() { Some(ctx.open()?) } else { None };
    let roots = match (&args.roots, &authority) {
        (Some(path), _) => certs(path)?,
        (None, Some(authority)) => {
            let cas = authority.public_cas()?;
            intermediates.extend(cas.iter().filter(|c| c.role != "root" && c.status == "active").map(|c| c.der.clone()));
            cas.into_iter().filter(|c| c.role == "root" && c.status == "active").map(|c| c.der).collect()
        }
        (None, None) => Vec::new(),
    };
    let at = match &args.at {
        Some(v) => OffsetDateTime::parse(v, &Rfc3339).map_err(|_| fail(format!("--at {v:?} is not an RFC 3339 time")))?,
        None => OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc()),
    };
    let mut revocation_note = None;
    let mut crls = Vec::new();
    if args.check_revocation {
        match revocation::check(authority.as_ref(), &leaf, &intermediates, &roots)? {
            revocation::Outcome::Decided { note, revoked: None } => revocation_note = Some(note),
            revocation::Outcome::Decided { revoked: Some(reason), .. } => {
                if ctx.json {
                    output::json(&serde_json::json!({ "valid": false, "reason": reason }))?;
                }
                return Err(fail(format!("invalid: {reason}")));
            }
            revocation::Outcome::Crls { ders, note } => {
                crls = ders;
                revocation_note = Some(note);
            }
        }
    }
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
        crls: &crls,
        profile: match args.profile {
            VerifyProfileArg::Rfc5280 => verify::Profile::Rfc5280,
            VerifyProfileArg::Webpki => verify::Profile::Webpki,
        },
    });
    match result {
        Ok(v) => {
            let purposes: Vec<&str> = v.purposes.iter().map(|p| p.name()).collect();
            if ctx.json {
                output::json(&serde_json::json!({ "valid": true, "purposes": purposes, "chain": v.chain, "revocation": revocation_note }))?;
            } else {
                println!("OK: valid for {} at {}", purposes.join(" and "), output::rfc3339(at));
                println!("chain: {}", v.chain.join(" <- "));
                if let Some(note) = revocation_note {
                    println!("revocation: {note}");
                }
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
