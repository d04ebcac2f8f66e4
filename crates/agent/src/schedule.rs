//! When to renew and when to retry: pure functions of the certificate, the CA's window
//! and the failures so far. Jitter comes from a hash of the serial (and window), so a
//! fleet spreads out while each agent keeps the same plan across restarts.

use std::time::Duration;

use aws_lc_rs::digest;
use time::OffsetDateTime;

use crate::config::Retry;

/// A number in [0, 1) drawn from `parts`.
pub fn unit(parts: &[&[u8]]) -> f64 {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
        ctx.update(&[0]);
    }
    let d = ctx.finish();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d.as_ref()[..8]);
    (u64::from_be_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// At `fraction` of the lifetime, moved by up to a twentieth of the lifetime either way,
/// and never after nine tenths of it.
pub fn by_lifetime(not_before: OffsetDateTime, not_after: OffsetDateTime, fraction: f64, serial: &str) -> OffsetDateTime {
    let lifetime = (not_after - not_before).as_seconds_f64().max(0.0);
    let jitter = (unit(&[serial.as_bytes()]) * 2.0 - 1.0) * lifetime / 20.0;
    let offset = (lifetime * fraction + jitter).clamp(0.0, lifetime * 0.9);
    not_before + time::Duration::seconds_f64(offset)
}

/// A time chosen uniformly inside the CA's window (RFC 9773 §4.2).
pub fn in_window(start: OffsetDateTime, end: OffsetDateTime, serial: &str) -> OffsetDateTime {
    if end <= start {
        return start;
    }
    let span = (end - start).as_seconds_f64();
    let key = format!("{}:{}", start.unix_timestamp(), end.unix_timestamp());
    start + time::Duration::seconds_f64(span * unit(&[serial.as_bytes(), key.as_bytes()]))
}

/// The wait after the `failures`-th failure in a row: `initial` doubled each time, up to
/// `max`, then between three quarters and all of it.
pub fn backoff(failures: u32, retry: Retry, salt: &[u8]) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let full = retry.initial.saturating_mul(1u32 << exp.min(20)).min(retry.max);
    let n = failures.to_be_bytes();
    full.mul_f64(0.75 + 0.25 * unit(&[salt, &n]))
}

/// How long to wait before asking the CA again, from its `Retry-After`: at least a
/// minute (a CA asking for less would have every agent poll it), at most a day.
pub fn ari_recheck(retry_after: Duration) -> Duration {
    retry_after.clamp(Duration::from_secs(60), Duration::from_secs(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn by_lifetime_sits_near_two_thirds() {
        let nb = datetime!(2026-01-01 0:00 UTC);
        let na = nb + time::Duration::days(90);
        for serial in ["01", "02", "ab", "ffee"] {
            let at = by_lifetime(nb, na, 2.0 / 3.0, serial);
            let days = (at - nb).as_seconds_f64() / 86_400.0;
            assert!((55.5..=64.5).contains(&days), "{serial}: {days}");
        }
        assert_eq!(by_lifetime(nb, na, 2.0 / 3.0, "01"), by_lifetime(nb, na, 2.0 / 3.0, "01"));
        assert_ne!(by_lifetime(nb, na, 2.0 / 3.0, "01"), by_lifetime(nb, na, 2.0 / 3.0, "02"));
    }

    #[test]
    fn in_window_stays_inside() {
        let start = datetime!(2026-03-01 0:00 UTC);
        let end = start + time::Duration::days(2);
        for serial in ["01", "02", "03"] {
            let at = in_window(start, end, serial);
            assert!(at >= start && at < end);
        }
        assert_eq!(in_window(end, start, "01"), end);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let retry = Retry { initial: Duration::from_secs(10), max: Duration::from_secs(60) };
        let b1 = backoff(1, retry, b"x");
        let b2 = backoff(2, retry, b"x");
        let b9 = backoff(9, retry, b"x");
        assert!(b1 >= Duration::from_millis(7500) && b1 <= Duration::from_secs(10), "{b1:?}");
        assert!(b2 >= Duration::from_secs(15) && b2 <= Duration::from_secs(20), "{b2:?}");
        assert!(b9 >= Duration::from_secs(45) && b9 <= Duration::from_secs(60), "{b9:?}");
        assert!(backoff(u32::MAX, retry, b"x") <= Duration::from_secs(60));
    }

    #[test]
    fn ari_recheck_is_clamped() {
        assert_eq!(ari_recheck(Duration::from_secs(1)), Duration::from_secs(60));
        assert_eq!(ari_recheck(Duration::from_secs(6 * 3600)), Duration::from_secs(6 * 3600));
        assert_eq!(ari_recheck(Duration::from_secs(9 * 86_400)), Duration::from_secs(86_400));
    }
}
