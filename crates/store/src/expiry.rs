//! Counts of valid certificates expiring within a window, per profile, in a time that
//! does not grow with the number of matches. Both engines keep `expiry_counts`: the
//! number of valid certificates per profile and hour of notAfter, kept in the transaction
//! that inserts or revokes (PostgreSQL: statement triggers; SQLite: the store's insert,
//! once per profile and hour of a batch, and a trigger on revocation). A window is then the sum
//! of the whole hours inside it, plus the rows of its two partial hours at the edges,
//! counted from the expiry index.

use std::collections::BTreeMap;

/// Seconds in one `expiry_counts` bucket (`expiry_hour = not_after / 3600`).
pub(crate) const BUCKET: i64 = 3600;

/// How a window `[now, until]` is counted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Buckets counted from `expiry_counts`, both ends included (none when `first > last`).
    pub first: i64,
    pub last: i64,
    /// Ranges of notAfter, both ends included, counted row by row.
    pub edges: Vec<(i64, i64)>,
}

pub(crate) fn split(now: i64, until: i64) -> Window {
    if until < now {
        return Window { first: 1, last: 0, edges: Vec::new() };
    }
    let (lo, hi) = (now / BUCKET, until / BUCKET);
    // SQL's integer division truncates toward zero, so buckets are whole hours only for
    // non-negative times; a window within two buckets is counted row by row anyway.
    if now < 0 || hi - lo < 2 {
        return Window { first: 1, last: 0, edges: vec![(now, until)] };
    }
    Window { first: lo + 1, last: hi - 1, edges: vec![(now, (lo + 1) * BUCKET - 1), (hi * BUCKET, until)] }
}

/// Sums per profile the counts of the buckets and of the edges, in profile order,
/// leaving out profiles with none.
pub(crate) fn merge(parts: impl IntoIterator<Item = (String, i64)>) -> Vec<(String, u64)> {
    let mut sums: BTreeMap<String, i64> = BTreeMap::new();
    for (profile, n) in parts {
        *sums.entry(profile).or_default() += n;
    }
    sums.into_iter().filter_map(|(profile, n)| u64::try_from(n).ok().filter(|n| *n > 0).map(|n| (profile, n))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_whole_hours_between_two_partial_ones() {
        let w = split(3 * BUCKET + 10, 7 * BUCKET + 20);
        assert_eq!(w, Window { first: 4, last: 6, edges: vec![(3 * BUCKET + 10, 4 * BUCKET - 1), (7 * BUCKET, 7 * BUCKET + 20)] });
        let exact = split(3 * BUCKET, 6 * BUCKET - 1);
        assert_eq!((exact.first, exact.last), (4, 4));
        assert_eq!(exact.edges, [(3 * BUCKET, 4 * BUCKET - 1), (5 * BUCKET, 6 * BUCKET - 1)]);
    }

    #[test]
    fn short_negative_and_empty_windows_are_counted_row_by_row() {
        assert_eq!(split(10, 2 * BUCKET - 1).edges, [(10, 2 * BUCKET - 1)]);
        assert!(split(10, 2 * BUCKET - 1).first > split(10, 2 * BUCKET - 1).last);
        assert_eq!(split(-5 * BUCKET, 5 * BUCKET).edges, [(-5 * BUCKET, 5 * BUCKET)]);
        assert!(split(10, 9).edges.is_empty());
    }

    #[test]
    fn merge_sums_per_profile_and_drops_empty_ones() {
        let parts = [("server".to_string(), 3), ("device".to_string(), 2), ("server".to_string(), 4), ("gone".to_string(), 0)];
        assert_eq!(merge(parts), [("device".to_string(), 2), ("server".to_string(), 7)]);
    }
}
