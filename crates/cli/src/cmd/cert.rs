use std::path::Path;
use std::process::ExitCode;

use ironpki_authority::{Caller, IssueRequest, Issued, KeyRequest, RequestSubject, CERT_FILES};
use ironpki_signer::{write_private_file, write_public_file};
use ironpki_authority::{CertFilter, CertRecord, RenewalSelection, StatusFilter};
use ironpki_x509::pem;
use ironpki_x509::revocation::Reason;
use ironpki_x509::san::San;
use ironpki_x509::KeyType;
use time::format_description::well_known::Rfc3339;

use super::{actor, duration, read_file, Ctx};
use crate::args::{CertCommand, IssueArgs, ListArgs, RenewEarlyArgs, RevokeArgs, SignArgs, StatusArg};
use crate::{fail, output, Failure};

pub fn run(ctx: &Ctx, cmd: CertCommand) -> Result<ExitCode, Failure> {
    match cmd {
        CertCommand::Issue(args) => issue(ctx, args),
        CertCommand::Sign(args) => sign(ctx, args),
        CertCommand::List(args) => list(ctx, args),
        CertCommand::Show { serial, ca, pem } => show(ctx, &serial, ca.as_deref(), pem),
        CertCommand::Revoke(args) => revoke(ctx, args),
        CertCommand::RenewEarly(args) => renew_early(ctx, args),
        CertCommand::Verify(args) => super::verify::run(ctx, args),
    }
}

fn lifetime(value: Option<&str>) -> Result<Option<std::time::Duration>, Failure> {
    value.map(|v| duration("--lifetime", v)).transpose()
}

fn issue(ctx: &Ctx, args: IssueArgs) -> Result<ExitCode, Failure> {
    let key_type: KeyType = args.key_type.parse()?;
    let sans = args.sans.iter().map(|s| s.parse::<San>()).collect::<Result<Vec<_>, _>>()?;
    let lifetime = lifetime(args.lifetime.as_deref())?;
    let files = CERT_FILES;
    for file in [files.key, files.cert, files.chain, files.fullchain] {
        if args.out.join(file).exists() {
            return Err(fail(format!("{} already exists; choose another --out", args.out.join(file).display())));
        }
    }
    let authority = ctx.open()?;
    authority.profile(args.profile.as_deref())?;
    authority.unlock_for_profile(args.profile.as_deref(), &ctx.passphrase(false)?)?;
    let (issued, key) = authority.issue_with_new_key(KeyRequest {
        profile: args.profile,
        common_name: Some(args.cn),
        sans,
        key_type,
        lifetime,
        caller: Caller::local(&actor()),
    })?;
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| fail(format!("{}: {e}", out.display())))?;
    write_private_file(&out.join(files.key), key.pkcs8_pem().as_bytes())?;
    for (name, contents) in issued.public_files() {
        write_public_file(&out.join(name), contents.as_bytes())?;
    }
    print_issued(ctx, &issued, Some(out), false)
}

fn print_issued(ctx: &Ctx, issued: &Issued, out: Option<&Path>, cert_on_stdout: bool) -> Result<ExitCode, Failure> {
    if ctx.json {
        let mut value = serde_json::json!({
            "serial": issued.serial.to_hex(),
            "issuer": issued.issuer,
            "profile": issued.profile,
            "not_before": output::rfc3339(issued.not_before),
            "not_after": output::rfc3339(issued.not_after),
            "certificate": issued.cert_pem(),
            "chain": issued.chain_pem(),
            "fullchain": issued.fullchain_pem(),
        });
        if let Some(dir) = out {
            let f = CERT_FILES;
            value["files"] = serde_json::json!({
                "key": dir.join(f.key), "cert": dir.join(f.cert), "chain": dir.join(f.chain), "fullchain": dir.join(f.fullchain)
            });
        }
        return output::json(&value).map(|_| ExitCode::SUCCESS);
    }
    let lines = [
        format!("serial     {}", issued.serial),
        format!("not after  {}", output::rfc3339(issued.not_after)),
    ];
    for line in lines {
        // When the certificate itself went to stdout, the details go to stderr.
        if cert_on_stdout {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    if let Some(dir) = out {
        println!("wrote      {}/key.pem (0600), cert.pem, chain.pem, fullchain.pem", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn sign(ctx: &Ctx, args: SignArgs) -> Result<ExitCode, Failure> {
    let csr = read_file(&args.csr)?;
    let lifetime = lifetime(args.lifetime.as_deref())?;
    let authority = ctx.open()?;
    authority.profile(args.profile.as_deref())?;
    authority.unlock_for_profile(args.profile.as_deref(), &ctx.passphrase(false)?)?;
    let issued = authority.issue(&IssueRequest {
        profile: args.profile,
        subject: RequestSubject::Csr(csr),
        lifetime,
        caller: Caller::local(&actor()),
    })?;
    let cert = issued.cert_pem();
    if let Some(path) = &args.chain_out {
        write_public_file(path, issued.chain_pem().as_bytes())?;
    }
    if let Some(path) = &args.fullchain_out {
        write_public_file(path, issued.fullchain_pem().as_bytes())?;
    }
    match &args.out {
        Some(path) => {
            write_public_file(path, cert.as_bytes())?;
            print_issued(ctx, &issued, None, false)
        }
        None if ctx.json => print_issued(ctx, &issued, None, false),
        None => {
            print!("{cert}");
            print_issued(ctx, &issued, None, true)
        }
    }
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<ExitCode, Failure> {
    let authority = ctx.open()?;
    let expiring_within =
        args.expiring_within.as_deref().map(|v| duration("--expiring-within", v)).transpose()?.map(|d| d.as_secs() as i64);
    let filter = CertFilter {
        now: authority.now().unix_timestamp(),
        status: args.status.map(|s| match s {
            StatusArg::Valid => StatusFilter::Valid,
            StatusArg::Revoked => StatusFilter::Revoked,
            StatusArg::Expired => StatusFilter::Expired,
        }),
        expiring_within,
        profile: args.profile,
        issuer: args.ca,
        limit: args.limit,
        ..CertFilter::default()
    };
    let certs = authority.list_certificates(&ctx.caller(), &filter)?;
    if ctx.json {
        return output::json(&certs).map(|_| ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = certs
        .iter()
        .map(|c| {
            vec![
                c.serial.clone(),
                c.issuer.clone(),
                c.profile.clone(),
                c.status.name().to_string(),
                output::time(c.not_after),
                c.common_name.clone().unwrap_or_else(|| c.sans.first().cloned().unwrap_or_default()),
            ]
        })
        .collect();
    output::table(&["SERIAL", "ISSUER", "PROFILE", "STATUS", "NOT AFTER", "NAME"], &rows);
    Ok(ExitCode::SUCCESS)
}

fn show(ctx: &Ctx, serial: &str, ca: Option<&str>, as_pem: bool) -> Result<ExitCode, Failure> {
    let authority = ctx.open()?;
    let cert = authority.show_certificate(&ctx.caller(), serial, ca)?;
    if as_pem {
        print!("{}", pem::cert(&cert.der));
        return Ok(ExitCode::SUCCESS);
    }
    let summary = ironpki_x509::inspect::summarize(&cert.der)?;
    if ctx.json {
        return output::json(&serde_json::json!({ "record": cert, "certificate": summary })).map(|_| ExitCode::SUCCESS);
    }
    print_record(&cert);
    super::ca::print_summary(&summary);
    Ok(ExitCode::SUCCESS)
}

fn print_record(c: &CertRecord) {
    println!("status      {}", c.status.name());
    if let (Some(at), Some(code)) = (c.revoked_at, c.revocation_reason) {
        let reason = Reason::from_code(code).map(|r| r.name()).unwrap_or("unknown");
        println!("revoked     {} ({reason})", output::time(at));
    }
    println!("profile     {}", c.profile);
    println!("requester   {}", c.requester);
    println!("issued at   {}", output::time(c.issued_at));
}

/// `--invalidity-date`: an RFC 3339 time, as Unix seconds.
pub(super) fn invalidity_date(value: Option<String>) -> Result<Option<i64>, Failure> {
    value
        .map(|v| {
            time::OffsetDateTime::parse(&v, &Rfc3339)
                .map(|t| t.unix_timestamp())
                .map_err(|_| fail(format!("--invalidity-date {v:?} is not an RFC 3339 time")))
        })
        .transpose()
}

fn revoke(ctx: &Ctx, args: RevokeArgs) -> Result<ExitCode, Failure> {
    let reason: Reason = args.reason.parse()?;
    let invalidity = invalidity_date(args.invalidity_date)?;
    let authority = ctx.open()?;
    if let Some(serial) = &args.serial {
        let cert = authority.revoke(&Caller::local(&actor()), serial, args.ca.as_deref(), reason, invalidity)?;
        if ctx.json {
            return output::json(&cert).map(|_| ExitCode::SUCCESS);
        }
        println!("revoked {} (issuer {}, reason {reason})", cert.serial, cert.issuer);
        return Ok(ExitCode::SUCCESS);
    }

    // Bulk: gather (issuer, serial) pairs, then revoke per issuer in batches.
    let targets: Vec<(String, String)> = match &args.serials_file {
        Some(file) => {
            let text = String::from_utf8(read_file(file)?).map_err(|_| fail(format!("{}: not text", file.display())))?;
            let mut pairs = Vec::new();
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                let cert = authority.show_certificate(&ctx.caller(), line, args.ca.as_deref())?;
                pairs.push((cert.issuer, cert.serial));
            }
            pairs
        }
        None => authority.valid_serials(&ctx.caller(), args.issued_by.as_deref(), args.profile.as_deref())?,
    };
    let mut by_issuer: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (issuer, serial) in targets {
        by_issuer.entry(issuer).or_default().push(serial);
    }
    let total: usize = by_issuer.values().map(Vec::len).sum();
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut revoked = Vec::new();
    let mut offset = 0;
    for (issuer, serials) in &by_issuer {
        let mut progress = |done: usize| {
            if on_terminal {
                eprint!("\rrevoking: {}/{total}", offset + done);
            }
        };
        revoked.extend(authority.revoke_bulk(&Caller::local(&actor()), issuer, serials, reason, invalidity, &mut progress)?);
        offset += serials.len();
    }
    if on_terminal && total > 0 {
        eprintln!();
    }
    if ctx.json {
        return output::json(&serde_json::json!({ "selected": total, "revoked": revoked })).map(|_| ExitCode::SUCCESS);
    }
    println!("revoked {} of {total} selected certificates (reason {reason})", revoked.len());
    Ok(ExitCode::SUCCESS)
}

/// `cert renew-early`: marks the selected valid certificates; their ACME clients learn it
/// from renewal information.
fn renew_early(ctx: &Ctx, args: RenewEarlyArgs) -> Result<ExitCode, Failure> {
    let by = match args.by.as_deref() {
        None => None,
        Some(v) => Some(match time::OffsetDateTime::parse(v, &Rfc3339) {
            Ok(t) => t.unix_timestamp(),
            Err(_) => {
                let ahead = humantime::parse_duration(v).map_err(|_| fail(format!("--by {v:?} is neither an RFC 3339 time nor a duration such as 7d")))?;
                time::OffsetDateTime::now_utc().unix_timestamp().saturating_add(i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX))
            }
        }),
    };
    let selection = match (&args.serials_file, args.profile, args.issued_by) {
        (Some(file), _, _) => {
            let text = String::from_utf8(read_file(file)?).map_err(|_| fail(format!("{}: not text", file.display())))?;
            let serials: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect();
            RenewalSelection::Serials(serials)
        }
        (None, Some(profile), _) => RenewalSelection::Profile(profile),
        (None, None, Some(ca)) => RenewalSelection::Issuer(ca),
        (None, None, None) => return Err(fail("name --serials-file, --profile or --issued-by")),
    };
    let authority = ctx.open()?;
    let marked = authority.mark_early_renewal(&Caller::local(&actor()), &selection, by)?;
    if ctx.json {
        return output::json(&serde_json::json!({ "marked": marked, "by": by })).map(|_| ExitCode::SUCCESS);
    }
    let deadline = by.map(output::time).unwrap_or_else(|| "now".into());
    println!("marked {marked} certificates for renewal by {deadline}");
    Ok(ExitCode::SUCCESS)
}
