//! `ironpki bench issuance`: in-process issuance from CSRs persisted to SQLite, beside
//! the bare crypto work that issuance needs, measured in the same run. Prints one JSON
//! object for bench/run.sh.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, UnparsedPublicKey};
use ironpki_authority::{Authority, Caller, InitOptions, IssueRequest, Passphrase, RequestSubject, SystemClock};
use serde_json::json;

use super::{actor, read_file, Ctx};
use crate::args::BenchCommand;
use crate::{fail, output, Failure};

pub fn run(ctx: &Ctx, cmd: BenchCommand) -> Result<ExitCode, Failure> {
    match cmd {
        BenchCommand::Issuance { csrs, work, batch } => issuance(ctx, &csrs, &work, batch),
        BenchCommand::Revoked { count, work } => revoked(ctx, count, &work),
        BenchCommand::Query { window, repeat } => query(ctx, &window, repeat),
    }
}

/// Median milliseconds of `repeat` runs of `f`, and its last result.
fn timed<T>(repeat: usize, mut f: impl FnMut() -> Result<T, Failure>) -> Result<(f64, T), Failure> {
    let mut times = Vec::with_capacity(repeat);
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        last = Some(f()?);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let value = last.ok_or_else(|| fail("no run"))?;
    Ok((times[times.len() / 2], value))
}

fn query(ctx: &Ctx, window: &str, repeat: usize) -> Result<ExitCode, Failure> {
    use ironpki_authority::CertFilter;
    let window = super::duration("--window", window)?.as_secs() as i64;
    let authority = ctx.open()?;
    let caller = ctx.caller();
    let now = authority.now().unix_timestamp();
    let rows = authority.count_certificates(&caller)?;
    let list = |filter: &CertFilter| authority.list_certificates(&caller, filter);
    let page = CertFilter { now, expiring_within: Some(window), limit: Some(1000), ..CertFilter::default() };
    let (page_ms, page_rows) = timed(repeat, || Ok(list(&page)?.len()))?;
    let (count_ms, counted) = timed(repeat.min(5), || Ok(authority.expiring_counts(&caller, now + window)?.iter().map(|(_, n)| n).sum::<u64>()))?;
    let sample = list(&CertFilter { now, limit: Some(1), ..CertFilter::default() })?;
    let serial = sample.first().map(|c| c.serial.clone()).unwrap_or_default();
    let (lookup_ms, _) = timed(repeat, || Ok(authority.show_certificate(&caller, &serial, None).map(|_| 1).unwrap_or(0)))?;
    // A name found once (the sample's) and a text that most names contain.
    let name = sample.first().and_then(|c| c.common_name.clone()).unwrap_or_else(|| "nothing".into());
    let by_name = |text: &str| CertFilter { now, name_contains: Some(text.to_string()), limit: Some(100), ..CertFilter::default() };
    let (name_ms, _) = timed(repeat, || Ok(list(&by_name(&name))?.len()))?;
    let (common_ms, common_rows) = timed(repeat, || Ok(list(&by_name("internal"))?.len()))?;
    output::json(&json!({
        "rows": rows, "expiring_page_ms": page_ms, "expiring_page_rows": page_rows,
        "expiring_count_ms": count_ms, "expiring_count": counted, "lookup_by_serial_ms": lookup_ms,
        "name_rare_ms": name_ms, "name_common_ms": common_ms, "name_common_rows": common_rows,
    }))?;
    Ok(ExitCode::SUCCESS)
}

fn issuance(ctx: &Ctx, csrs: &Path, work: &Path, batch: usize) -> Result<ExitCode, Failure> {
    let csrs = ironpki_x509::pem::blocks(&read_file(csrs)?, "CERTIFICATE REQUEST", "CSR")?;
    if csrs.is_empty() || batch == 0 {
        return Err(fail("need at least one CSR and a batch of at least one"));
    }
    let passphrase = ctx.passphrase(false)?;
    std::fs::create_dir_all(work).map_err(|e| fail(format!("{}: {e}", work.display())))?;

    let (sign_per_sec, verify_per_sec) = bare_crypto(&csrs)?;
    let bare = 1.0 / (1.0 / sign_per_sec + 1.0 / verify_per_sec);

    let requests: Vec<IssueRequest> = csrs
        .iter()
        .map(|der| IssueRequest {
            profile: Some("bench".into()),
            subject: RequestSubject::Csr(der.clone()),
            lifetime: None,
            caller: Caller::local("bench"),
        })
        .collect();

    let mut variants = Vec::new();
    use ironpki_config::Durability::{Full, Normal};
    let runs = [
        ("commit per certificate", 1, 1, Full),
        ("commit per certificate", 1, 1, Normal),
        ("group commit", 1, batch, Full),
        ("group commit", 2, batch, Full),
    ];
    for (i, (name, threads, per_commit, durability)) in runs.into_iter().enumerate() {
        let authority = fresh_pki(&work.join(format!("pki-{i}")), &passphrase, durability)?;
        // init records certificates of its own (the admin client certificate)
        let before = authority.count_certificates(&ctx.caller())?;
        let start = Instant::now();
        std::thread::scope(|s| -> Result<(), Failure> {
            let chunk = requests.len().div_ceil(threads);
            let handles: Vec<_> = requests
                .chunks(chunk)
                .map(|part| {
                    let authority = &authority;
                    s.spawn(move || -> Result<(), String> {
                        for group in part.chunks(per_commit) {
                            for r in authority.issue_batch(group) {
                                r.map_err(|e| e.to_string())?;
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join().map_err(|_| fail("a bench thread panicked"))?.map_err(fail)?;
            }
            Ok(())
        })?;
        let seconds = start.elapsed().as_secs_f64();
        let stored = authority.count_certificates(&ctx.caller())? - before;
        if stored != requests.len() as u64 {
            return Err(fail(format!("{name}: {stored} certificates stored, {} issued", requests.len())));
        }
        variants.push(json!({
            "name": name, "threads": threads, "per_commit": per_commit, "issued": requests.len(),
            "fsync_per_commit": durability == Full,
            "seconds": seconds, "per_sec": requests.len() as f64 / seconds,
        }));
    }
    let primary = &variants[2];
    output::json(&json!({
        "issued": requests.len(),
        "seconds": primary["seconds"],
        "issued_per_sec": primary["per_sec"],
        "threads": 1,
        "sign_per_sec": sign_per_sec,
        "verify_per_sec": verify_per_sec,
        "bare_crypto_per_sec": bare,
        "variants": variants,
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// Fills a fresh PKI with `count` certificates of the issuing CA, all revoked (through
/// the store's own bulk paths: records, audit entries, revocation sequence).
fn revoked(ctx: &Ctx, count: usize, work: &Path) -> Result<ExitCode, Failure> {
    let passphrase = ctx.passphrase(false)?;
    let authority = fresh_pki(work, &passphrase, ironpki_config::Durability::Normal)?;
    let key = ironpki_signer::SoftwareKey::generate(ironpki_x509::KeyType::EcdsaP256)?;
    let sample = authority.issue(&IssueRequest {
        profile: Some("bench".into()),
        subject: RequestSubject::Key {
            common_name: Some("sample.bench.example".into()),
            sans: vec![],
            key_type: ironpki_x509::KeyType::EcdsaP256,
            public_key_raw: ironpki_signer::Signer::public_key_raw(&key.key).to_vec(),
        },
        lifetime: None,
        caller: Caller::local("bench"),
    })?;
    let start = Instant::now();
    let rng = SystemRandom::new();
    let mut serials = String::with_capacity(count * 33);
    for chunk_start in (0..count).step_by(10_000) {
        let batch = (0..(count - chunk_start).min(10_000))
            .map(|_| ironpki_x509::Serial::generate(authority.now(), &rng).map(|s| s.to_hex()))
            .collect::<Result<Vec<_>, _>>()?;
        for serial in &batch {
            serials.push_str(serial);
            serials.push('\n');
        }
        authority.record_synthetic_revoked(&Caller::local("bench"), &sample, &batch)?;
    }
    std::fs::write(work.join("serials.txt"), serials).map_err(|e| fail(e.to_string()))?;
    output::json(&json!({
        "home": work.join("home"), "serials": work.join("serials.txt"), "revoked": count,
        "seconds": start.elapsed().as_secs_f64(), "not_after": sample.not_after.unix_timestamp(),
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// A PKI whose `bench` profile accepts the harness's CSRs (`*.bench.example`, P-256
/// issuing CA).
fn fresh_pki(dir: &Path, passphrase: &Passphrase, durability: ironpki_config::Durability) -> Result<Authority, Failure> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    let mut config = ironpki_config::defaults("Bench")?;
    config.store.durability = durability;
    let mut profile = config.profiles["device"].clone();
    profile.san.dns = vec![".bench.example".into()];
    profile.cn_in_san = true;
    config.profiles.insert("bench".into(), profile);
    let config_path = dir.join("bench.yaml");
    let text = serde_yaml_ng::to_string(&config).map_err(|e| fail(e.to_string()))?;
    std::fs::write(&config_path, text).map_err(|e| fail(e.to_string()))?;
    let home = ironpki_authority::Home::new(dir.join("home"));
    ironpki_authority::init(
        &home,
        InitOptions { org: None, config_file: Some(config_path), root_offline: None, passphrase: passphrase.clone(), actor: actor() },
        Arc::new(SystemClock),
    )?;
    let authority = Authority::open(home, Arc::new(SystemClock), "bench")?;
    authority.unlock_for_profile(Some("bench"), passphrase)?;
    Ok(authority)
}

/// Signatures per second with a P-256 key over a certificate-sized message, and CSR
/// signature verifications per second, on one thread.
fn bare_crypto(csrs: &[Vec<u8>]) -> Result<(f64, f64), Failure> {
    use x509_parser::prelude::FromDer;
    let rng = SystemRandom::new();
    let key = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).map_err(|_| fail("keygen"))?;
    let message = vec![0x5au8; 420];
    let n = csrs.len();
    let start = Instant::now();
    for _ in 0..n {
        key.sign(&rng, &message).map_err(|_| fail("sign"))?;
    }
    let sign = n as f64 / start.elapsed().as_secs_f64();

    let parsed: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = csrs
        .iter()
        .map(|der| {
            let (_, req) = x509_parser::certification_request::X509CertificationRequest::from_der(der)
                .map_err(|e| fail(format!("CSR: {e}")))?;
            let info = &req.certification_request_info;
            Ok((info.raw.to_vec(), req.signature_value.data.to_vec(), info.subject_pki.subject_public_key.data.to_vec()))
        })
        .collect::<Result<_, Failure>>()?;
    let start = Instant::now();
    for (tbs, sig, key) in &parsed {
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, key)
            .verify(tbs, sig)
            .map_err(|_| fail("a bench CSR signature does not verify"))?;
    }
    let verify = n as f64 / start.elapsed().as_secs_f64();
    Ok((sign, verify))
}
