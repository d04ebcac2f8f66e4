//! One pass over a certificate (`tick`): finish a swap a crash interrupted, look at the
//! files, ask the CA for its renewal window when due, renew when due, and say when to
//! look again. The daemon runs a pass per certificate each time its next action comes
//! (or a revocation wakes it); `--once` runs one pass of each.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Mutex, Notify};
use zeroize::Zeroizing;

use crate::acme::{self, Accounts};
use crate::config::{AgentConfig, Cert, Loaded};
use crate::files::{self, Bundle, Phase};
use crate::inspect::{self, Leaf, OnDisk};
use crate::state::{self, Ari, CertState, Next};
use crate::{hooks, log, schedule, staple, Error};

pub struct Agent {
    pub config: AgentConfig,
    pub certs: Vec<Cert>,
    accounts: Accounts,
    /// One order at a time: challenge listeners may be shared between certificates.
    renewing: Mutex<()>,
    /// Wakes a certificate's loop before its next action (a revocation).
    pub wakers: Vec<Arc<Notify>>,
    /// Serials the revocation feed named.
    pub feed_revoked: crate::feed::Revoked,
    /// `--once`: the caller (cron, an operator) sets the pace, so each pass is fresh and
    /// tries a failed renewal again, whatever the backoff says.
    once: bool,
    /// `--force`: renew every certificate in this pass.
    force: bool,
}

/// How a pass ended.
pub struct Pass {
    pub next: OffsetDateTime,
    pub failed: Option<String>,
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn after(d: Duration) -> OffsetDateTime {
    now() + d
}

impl Agent {
    pub fn new(loaded: Loaded, once: bool, force: bool) -> Agent {
        let wakers = loaded.certs.iter().map(|_| Arc::new(Notify::new())).collect();
        Agent {
            config: loaded.agent,
            certs: loaded.certs,
            accounts: Accounts::default(),
            renewing: Mutex::new(()),
            wakers,
            feed_revoked: Default::default(),
            once,
            force,
        }
    }

    /// One pass over certificate `i`. `fresh`: ask OCSP and the CA's renewal window now,
    /// whatever their schedules say (the daemon's first pass, a revocation notice).
    pub async fn tick(&self, i: usize, fresh: bool) -> Pass {
        let cert = &self.certs[i];
        let dir = &self.config.state_dir;
        let mut st = state::load(dir, cert.name());
        let failed = match self.pass(cert, &mut st, fresh || self.once).await {
            Ok(()) => None,
            Err(e) => {
                let msg = e.to_string();
                st.consecutive_failures = st.consecutive_failures.saturating_add(1);
                let wait = schedule::backoff(st.consecutive_failures, self.config.retry, cert.name().as_bytes());
                // Whole seconds, rounded up: the wait is never cut short.
                let at = after(wait);
                st.retry_at = Some(at.unix_timestamp() + i64::from(at.nanosecond() > 0));
                st.last_error = Some(msg.clone());
                log::warn(cert.name(), "renew.failed", &[("error", &msg), ("failures", &st.consecutive_failures.to_string()), ("retry_in", &humantime::format_duration(Duration::from_millis(wait.as_millis() as u64)).to_string())]);
                Some(msg)
            }
        };
        let next = self.next_action(cert, &st);
        st.next = Some(Next { at: next.0.unix_timestamp(), action: next.1.to_string() });
        if let Err(e) = state::save(dir, cert.name(), &st) {
            log::warn(cert.name(), "state.unsaved", &[("error", &e.to_string())]);
        }
        Pass { next: next.0, failed }
    }

    async fn pass(&self, cert: &Cert, st: &mut CertState, fresh: bool) -> Result<(), Error> {
        self.recover(cert).await?;
        if let OnDisk::Present(l) = inspect::on_disk(cert) {
            if l.valid_at(now()) && (fresh || staple::due(st.staple.as_ref(), &l, now().unix_timestamp())) {
                self.refresh_staple(cert, &l, st).await;
            }
        }
        let disk = inspect::on_disk(cert);
        let leaf = match &disk {
            OnDisk::Present(l) => Some(l.clone()),
            OnDisk::Missing(_) | OnDisk::Broken(_) => None,
        };
        if let Some(l) = &leaf {
            if st.serial.as_deref() != Some(&l.serial) {
                st.serial = Some(l.serial.clone());
                st.not_after = Some(l.not_after.unix_timestamp());
            }
        }
        let now = now();
        let reason = match (&disk, &leaf) {
            (OnDisk::Missing(m) | OnDisk::Broken(m), _) => Some(m.clone()),
            (_, Some(l)) if !l.valid_at(now) => Some("the certificate in place is not valid now".to_string()),
            (_, Some(l)) if st.revoked_serial.as_deref() == Some(l.serial.as_str()) => Some("the certificate in place is revoked".to_string()),
            (_, Some(_)) if self.force => Some("asked for (--force)".to_string()),
            (_, Some(l)) if self.feed_revoked.contains(&l.serial) => {
                Some("the revocation feed names the certificate in place".to_string())
            }
            (_, Some(l)) => {
                self.check_ari(cert, l, st, fresh).await;
                let at = self.renewal_time(cert, l, st);
                (now >= at).then(|| match &st.ari {
                    Some(a) if a.serial == l.serial && a.window.is_some() => "inside the CA's renewal window".to_string(),
                    _ => format!("past {:.0} % of its lifetime", cert.config.renew_at * 100.0),
                })
            }
            (_, None) => None,
        };
        let Some(reason) = reason else {
            // Nothing is due (a renewal that kept failing is no longer needed).
            st.retry_at = None;
            st.consecutive_failures = 0;
            st.last_error = None;
            return Ok(());
        };
        if let Some(retry_at) = st.retry_at.filter(|_| !self.once) {
            if retry_at > now.unix_timestamp() {
                return Ok(());
            }
        }
        log::info(cert.name(), "renew.start", &[("reason", &reason)]);
        let (new, staple) = self.renew(cert, leaf.as_ref(), st).await?;
        log::info(cert.name(), "renew.done", &[("serial", &new.serial), ("not_after", &new.not_after.unix_timestamp().to_string())]);
        st.serial = Some(new.serial.clone());
        st.not_after = Some(new.not_after.unix_timestamp());
        st.last_renewal = Some(now.unix_timestamp());
        st.consecutive_failures = 0;
        st.last_error = None;
        st.retry_at = None;
        st.ari = None;
        st.revoked_serial = None;
        st.staple = staple;
        self.check_ari(cert, &new, st, true).await;
        Ok(())
    }

    /// Asks OCSP about the certificate in place; writes the staple file when the answer
    /// changed, and reloads. A failure keeps the staple there and asks again later.
    async fn refresh_staple(&self, cert: &Cert, leaf: &Leaf, st: &mut CertState) {
        let now = now().unix_timestamp();
        match staple::fetch(&self.config, leaf).await {
            Ok(None) => st.staple = None,
            Ok(Some((body, checked))) => {
                let recorded = staple::recorded(leaf, &checked, now);
                let status = recorded.status.clone().unwrap_or_default();
                if matches!(checked.status, ironpki_x509::ocsp::CertStatus::Revoked { .. }) {
                    log::warn(cert.name(), "ocsp.revoked", &[("serial", &leaf.serial)]);
                    st.revoked_serial = Some(leaf.serial.clone());
                }
                if let Some(path) = &cert.config.files.ocsp_staple {
                    if std::fs::read(path).ok().as_deref() != Some(body.as_slice()) {
                        match files::write_atomic(cert, path, &body) {
                            Ok(()) => {
                                log::info(cert.name(), "staple.updated", &[("serial", &leaf.serial), ("status", &status)]);
                                if let Some(reload) = &cert.config.reload {
                                    if let Err(e) = hooks::reload(cert.name(), reload).await {
                                        log::warn(cert.name(), "staple.reload_failed", &[("error", &e.to_string())]);
                                    }
                                }
                            }
                            Err(e) => log::warn(cert.name(), "staple.unwritten", &[("error", &e.to_string())]),
                        }
                    }
                }
                st.staple = Some(recorded);
            }
            Err(e) => {
                let msg = e.to_string();
                log::warn(cert.name(), "staple.failed", &[("error", &msg)]);
                let retry = (now + self.config.retry.initial.as_secs().max(30) as i64).min(now + 3600);
                let mut kept = st.staple.clone().filter(|s| s.serial == leaf.serial).unwrap_or(state::Staple {
                    serial: leaf.serial.clone(),
                    status: None,
                    fetched_at: None,
                    this_update: None,
                    next_update: None,
                    refresh_at: retry,
                    error: None,
                });
                kept.refresh_at = retry;
                kept.error = Some(msg);
                st.staple = Some(kept);
            }
        }
    }

    /// Asks the CA for the window of `leaf` when none is known, the CA's `Retry-After`
    /// has passed, or `fresh`. A failure keeps what was known and asks again later.
    async fn check_ari(&self, cert: &Cert, leaf: &Leaf, st: &mut CertState, fresh: bool) {
        let now = now().unix_timestamp();
        let known = st.ari.as_ref().filter(|a| a.serial == leaf.serial);
        if known.is_some_and(|a| a.check_at > now) && !fresh {
            return;
        }
        let Some(source) = &cert.config.acme else { return };
        let account = match self.accounts.get(&self.config.state_dir, source, &self.config.roots).await {
            Ok(a) => a,
            Err(e) => {
                log::warn(cert.name(), "ari.failed", &[("error", &e.to_string())]);
                return;
            }
        };
        let previous = known.and_then(|a| a.window);
        let (window, wait) = match acme::renewal_info(&account, leaf).await {
            Ok(Some((info, retry_after))) => {
                let (start, end) = acme::window(&info);
                (Some((start.unix_timestamp(), end.unix_timestamp())), schedule::ari_recheck(retry_after))
            }
            // No renewal information from this CA: the lifetime decides; ask again daily.
            Ok(None) => (None, Duration::from_secs(86_400)),
            Err(e) => {
                log::warn(cert.name(), "ari.failed", &[("error", &e.to_string())]);
                (previous, self.config.retry.max.min(Duration::from_secs(3600)))
            }
        };
        if window != previous {
            if let Some((s, e)) = window {
                log::info(cert.name(), "ari.window", &[("serial", &leaf.serial), ("start", &s.to_string()), ("end", &e.to_string())]);
            }
        }
        st.ari = Some(Ari { serial: leaf.serial.clone(), window, check_at: now + wait.as_secs() as i64 });
    }

    fn renewal_time(&self, cert: &Cert, leaf: &Leaf, st: &CertState) -> OffsetDateTime {
        match st.ari.as_ref().filter(|a| a.serial == leaf.serial).and_then(|a| a.window) {
            Some((s, e)) => {
                let at = |t: i64| OffsetDateTime::from_unix_timestamp(t).unwrap_or(leaf.not_after);
                schedule::in_window(at(s), at(e), &leaf.serial)
            }
            None => schedule::by_lifetime(leaf.not_before, leaf.not_after, cert.config.renew_at, &leaf.serial),
        }
    }

    /// When to look at `cert` again, and why.
    fn next_action(&self, cert: &Cert, st: &CertState) -> (OffsetDateTime, &'static str) {
        let at = |t: i64| OffsetDateTime::from_unix_timestamp(t).unwrap_or_else(|_| now());
        if st.last_error.is_some() {
            if let Some(r) = st.retry_at {
                return (at(r), "retry");
            }
        }
        let leaf = match inspect::on_disk(cert) {
            OnDisk::Present(l) if l.valid_at(now()) && st.revoked_serial.as_deref() != Some(l.serial.as_str()) => l,
            _ => return (now(), "renew"),
        };
        let mut next = (self.renewal_time(cert, &leaf, st), "renew");
        let check_at = st.ari.as_ref().filter(|a| a.serial == leaf.serial).map_or_else(now, |a| at(a.check_at));
        if check_at < next.0 {
            next = (check_at, "check renewal information");
        }
        if let Some(s) = st.staple.as_ref().filter(|s| s.serial == leaf.serial && leaf.ocsp_url.is_some()) {
            if at(s.refresh_at) < next.0 {
                next = (at(s.refresh_at), "refresh OCSP");
            }
        }
        next
    }

    /// Obtains, checks and installs a new certificate; rolls back if the reload or the
    /// check fails.
    async fn renew(&self, cert: &Cert, current: Option<&Leaf>, st: &CertState) -> Result<(Leaf, Option<state::Staple>), Error> {
        let _one = self.renewing.lock().await;
        let (key_pem, csr) = new_key_and_csr(cert)?;
        let chain_pem = match (&cert.config.acme, &cert.config.api) {
            (Some(source), _) => self.order(cert, source, current, st, &csr).await?,
            (None, Some(api)) => crate::api::obtain(&self.config, api, cert, current, &csr).await?,
            (None, None) => return Err(Error::Config(format!("certificate {:?} has no source", cert.name()))),
        };
        let roots = inspect::read_roots(&self.config.roots)?;
        let (leaf, chain) = inspect::check_new(cert, &key_pem, &chain_pem, &roots, now())?;
        // The new certificate's OCSP answer goes in with it, so the staple never names
        // another certificate than the one served.
        let (staple_der, staple) = match staple::fetch(&self.config, &leaf).await {
            Ok(Some((der, checked))) => (Some(der), Some(staple::recorded(&leaf, &checked, now().unix_timestamp()))),
            Ok(None) => (None, None),
            Err(e) => {
                log::warn(cert.name(), "staple.failed", &[("error", &e.to_string())]);
                (None, None)
            }
        };
        let bundle = Bundle { key_pem, cert_pem: ironpki_x509::pem::cert(&leaf.der), chain_pem: chain, staple: staple_der };
        files::install(&self.config.state_dir, cert, &leaf.serial, &bundle)?;
        log::info(cert.name(), "swap.installed", &[("serial", &leaf.serial)]);
        self.settle(cert).await?;
        Ok((leaf, staple))
    }

    /// An ACME order for `csr`, replacing `current` when the CA offers renewal information.
    async fn order(&self, cert: &Cert, source: &crate::config::AcmeSource, current: Option<&Leaf>, st: &CertState, csr: &[u8]) -> Result<String, Error> {
        let account = self.accounts.get(&self.config.state_dir, source, &self.config.roots).await?;
        // `replaces` only to a CA that offers renewal information (it names one of ours).
        let offers_ari = st.ari.as_ref().is_some_and(|a| a.window.is_some());
        let replaces = current.filter(|_| offers_ari).and_then(acme::cert_id);
        match acme::order(&account, cert, source, csr, replaces.clone()).await {
            Err(Error::Acme(e)) if replaces.is_some() && e.starts_with("newOrder") => {
                // The CA would not take this order as a replacement (another account's
                // certificate, already replaced): order it as a new one.
                log::warn(cert.name(), "replaces.refused", &[("error", &e)]);
                acme::order(&account, cert, source, csr, None).await
            }
            other => other,
        }
    }

    /// Reloads and checks after a swap; on failure puts the previous files back and
    /// reloads again.
    async fn settle(&self, cert: &Cert) -> Result<(), Error> {
        let dir = &self.config.state_dir;
        let Some(journal) = files::read_journal(dir, cert.name())? else { return Ok(()) };
        let outcome = async {
            if let Some(reload) = &cert.config.reload {
                hooks::reload(cert.name(), reload).await?;
            }
            if let Some(check) = &cert.config.check {
                hooks::run(&check.command, &[("IRONPKI_CERT_NAME", cert.name())], check.timeout).await.map_err(Error::Check)?;
            }
            Ok::<(), Error>(())
        }
        .await;
        match outcome {
            Ok(()) => files::clear_journal(dir, cert.name()),
            Err(e) if !journal.had_previous => {
                // A first certificate: nothing to go back to, and the service may be
                // waiting for these very files to start.
                log::warn(cert.name(), "swap.first_unchecked", &[("serial", &journal.serial), ("error", &e.to_string())]);
                files::clear_journal(dir, cert.name())
            }
            Err(e) => {
                files::roll_back(&journal.targets)?;
                if let Some(reload) = &cert.config.reload {
                    if let Err(r) = hooks::reload(cert.name(), reload).await {
                        log::warn(cert.name(), "rollback.reload_failed", &[("error", &r.to_string())]);
                    }
                }
                files::clear_journal(dir, cert.name())?;
                log::warn(cert.name(), "swap.rolled_back", &[("serial", &journal.serial), ("error", &e.to_string())]);
                Err(Error::RolledBack(Box::new(e)))
            }
        }
    }

    /// Finishes a swap that a crash interrupted: renames what was staged into place,
    /// then reloads and checks as the swap would have.
    async fn recover(&self, cert: &Cert) -> Result<(), Error> {
        let dir = &self.config.state_dir;
        match files::read_journal(dir, cert.name())? {
            None => {
                files::discard_staged(cert);
                Ok(())
            }
            Some(journal) => {
                log::info(cert.name(), "swap.resumed", &[("serial", &journal.serial)]);
                if journal.phase == Phase::Staged {
                    files::roll_forward(&journal.targets)?;
                }
                self.settle(cert).await
            }
        }
    }
}

/// A fresh key (PEM) and a CSR for the configured names.
fn new_key_and_csr(cert: &Cert) -> Result<(Zeroizing<String>, Vec<u8>), Error> {
    let fail = |e: rcgen::Error| Error::Runtime(format!("key and CSR: {e}"));
    let kt = cert.config.key_type;
    let key = match kt.rsa_bits() {
        Some(bits) => {
            let size = match bits {
                2048 => rcgen::RsaKeySize::_2048,
                3072 => rcgen::RsaKeySize::_3072,
                _ => rcgen::RsaKeySize::_4096,
            };
            rcgen::KeyPair::generate_rsa_for(kt.rcgen_alg(), size)
        }
        None => rcgen::KeyPair::generate_for(kt.rcgen_alg()),
    }
    .map_err(fail)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    if let Some(cn) = &cert.config.common_name {
        params.distinguished_name.push(rcgen::DnType::CommonName, cn.as_str());
    }
    for san in &cert.sans {
        params.subject_alt_names.push(match san {
            ironpki_x509::san::San::Dns(d) => rcgen::SanType::DnsName(d.clone().try_into().map_err(fail)?),
            ironpki_x509::san::San::Ip(ip) => rcgen::SanType::IpAddress(*ip),
            other => return Err(Error::Config(format!("{other}: not orderable"))),
        });
    }
    let csr = params.serialize_request(&key).map_err(fail)?;
    Ok((Zeroizing::new(key.serialize_pem()), csr.der().to_vec()))
}
