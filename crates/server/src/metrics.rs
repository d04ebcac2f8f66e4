//! Prometheus metrics in the text exposition format (version 0.0.4): counters and
//! latency histograms updated by the handlers, gauges read from the store at scrape.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets, in seconds: 0.5 ms to about 4 s.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096];

type Labels = Vec<(&'static str, String)>;

struct Family<T> {
    name: &'static str,
    help: &'static str,
    series: Mutex<BTreeMap<Labels, T>>,
}

impl<T: Default> Family<T> {
    const fn new(name: &'static str, help: &'static str) -> Family<T> {
        Family { name, help, series: Mutex::new(BTreeMap::new()) }
    }

    fn with(&self, labels: &[(&'static str, &str)], f: impl FnOnce(&mut T)) {
        let key: Labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        f(series.entry(key).or_default())
    }
}

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The metrics of one `ironpki serve` process.
pub struct Metrics {
    issued: Family<u64>,
    issuance_seconds: Family<Histogram>,
    renewals: Family<u64>,
    revocations: Family<u64>,
    ocsp_requests: Family<u64>,
    ocsp_seconds: Family<Histogram>,
    errors: Family<u64>,
    store_seconds: Family<Histogram>,
    signer_seconds: Family<Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            issued: Family::new("ironpki_certificates_issued_total", "Certificates issued, by profile and protocol."),
            issuance_seconds: Family::new(
                "ironpki_issuance_duration_seconds",
                "Time from request to recorded certificate, by profile and protocol.",
            ),
            renewals: Family::new("ironpki_renewals_total", "Certificates renewed, by profile."),
            revocations: Family::new("ironpki_revocations_total", "Certificates revoked, by reason."),
            ocsp_requests: Family::new("ironpki_ocsp_requests_total", "OCSP requests answered, by certificate status."),
            ocsp_seconds: Family::new("ironpki_ocsp_duration_seconds", "OCSP answer latency, by certificate status."),
            errors: Family::new("ironpki_errors_total", "Failures of the store or the signer, by component."),
            store_seconds: Family::new("ironpki_store_duration_seconds", "Store write latency, by operation."),
            signer_seconds: Family::new("ironpki_signer_duration_seconds", "Decide, lint and sign latency, by profile."),
        }
    }
}

/// Gauges computed when scraped.
pub struct Snapshot {
    /// (ca, kind "full"|"delta", age seconds, size bytes, number, seconds to nextUpdate)
    pub crls: Vec<(String, &'static str, i64, usize, i64, i64)>,
    /// (profile, within "7d"|"30d", count)
    pub expiring: Vec<(String, &'static str, u64)>,
    pub certificates: u64,
}

impl Metrics {
    pub fn issued(&self, profile: &str, protocol: &str, elapsed: Duration) {
        let labels = [("profile", profile), ("protocol", protocol)];
        self.issued.with(&labels, |n| *n += 1);
        self.issuance_seconds.with(&labels, |h| observe(h, elapsed));
    }

    pub fn renewed(&self, profile: &str) {
        self.renewals.with(&[("profile", profile)], |n| *n += 1);
    }

    pub fn revoked(&self, reason: &str, count: u64) {
        self.revocations.with(&[("reason", reason)], |n| *n += count);
    }

    pub fn ocsp(&self, status: &str, elapsed: Duration) {
        self.ocsp_requests.with(&[("status", status)], |n| *n += 1);
        self.ocsp_seconds.with(&[("status", status)], |h| observe(h, elapsed));
    }

    pub fn error(&self, component: &str) {
        self.errors.with(&[("component", component)], |n| *n += 1);
    }

    pub fn store_write(&self, operation: &str, elapsed: Duration) {
        self.store_seconds.with(&[("operation", operation)], |h| observe(h, elapsed));
    }

    pub fn signed(&self, profile: &str, elapsed: Duration) {
        self.signer_seconds.with(&[("profile", profile)], |h| observe(h, elapsed));
    }

    /// The exposition, with the scrape-time gauges.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = String::with_capacity(8192);
        for family in [&self.issued, &self.renewals, &self.revocations, &self.ocsp_requests, &self.errors] {
            counter(&mut out, family);
        }
        for family in [&self.issuance_seconds, &self.ocsp_seconds, &self.store_seconds, &self.signer_seconds] {
            histogram(&mut out, family);
        }
        header(&mut out, "ironpki_crl_age_seconds", "Seconds since thisUpdate of the CRL being served.", "gauge");
        for (ca, kind, age, ..) in &snapshot.crls {
            sample(&mut out, "ironpki_crl_age_seconds", &[("ca", ca), ("kind", kind)], *age as f64);
        }
        header(&mut out, "ironpki_crl_size_bytes", "Size of the CRL being served.", "gauge");
        for (ca, kind, _, size, ..) in &snapshot.crls {
            sample(&mut out, "ironpki_crl_size_bytes", &[("ca", ca), ("kind", kind)], *size as f64);
        }
        header(&mut out, "ironpki_crl_number", "CRL number of the CRL being served.", "gauge");
        for (ca, kind, _, _, number, _) in &snapshot.crls {
            sample(&mut out, "ironpki_crl_number", &[("ca", ca), ("kind", kind)], *number as f64);
        }
        header(
            &mut out,
            "ironpki_crl_expires_in_seconds",
            "Seconds until nextUpdate of the CRL being served (negative once past): an offline root's CRL needs a key ceremony before it lapses.",
            "gauge",
        );
        for (ca, kind, _, _, _, left) in &snapshot.crls {
            sample(&mut out, "ironpki_crl_expires_in_seconds", &[("ca", ca), ("kind", kind)], *left as f64);
        }
        header(
            &mut out,
            "ironpki_certificates_expiring",
            "Valid certificates whose notAfter falls within the window, by profile.",
            "gauge",
        );
        for (profile, within, count) in &snapshot.expiring {
            sample(&mut out, "ironpki_certificates_expiring", &[("profile", profile), ("within", within)], *count as f64);
        }
        header(&mut out, "ironpki_certificates", "Certificate records in the store.", "gauge");
        sample(&mut out, "ironpki_certificates", &[], snapshot.certificates as f64);
        out
    }
}

fn observe(h: &mut Histogram, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    for (i, bound) in BUCKETS.iter().enumerate() {
        if secs <= *bound {
            h.buckets[i] += 1;
        }
    }
    h.count += 1;
    h.sum += secs;
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let escaped = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            let _ = write!(out, "{k}=\"{escaped}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

fn counter(out: &mut String, family: &Family<u64>) {
    header(out, family.name, family.help, "counter");
    let series = family.series.lock().unwrap_or_else(|p| p.into_inner());
    for (labels, value) in series.iter() {
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        sample(out, family.name, &labels, *value as f64);
    }
}

fn histogram(out: &mut String, family: &Family<Histogram>) {
    header(out, family.name, family.help, "histogram");
    let series = family.series.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let (bucket, sum, count) =
        (format!("{}_bucket", family.name), format!("{}_sum", family.name), format!("{}_count", family.name));
    for (labels, h) in series.iter() {
        let base: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for (bound, n) in BUCKETS.iter().zip(h.buckets) {
            let le = bound.to_string();
            let mut with_le = base.clone();
            with_le.push(("le", &le));
            sample(out, &bucket, &with_le, n as f64);
        }
        let mut inf = base.clone();
        inf.push(("le", "+Inf"));
        sample(out, &bucket, &inf, h.count as f64);
        sample(out, &sum, &base, h.sum);
        sample(out, &count, &base, h.count as f64);
    }
}
