//! Tests of the sample and log store: sample search, out-of-order tolerance, retention and
//! selection by postings.

use super::*;
use crate::syntax::MatchOp;

fn l(s: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(s.iter().copied())
}

#[test]
fn first_at_or_after_agrees_with_partition_point() {
    let regular: Vec<(i64, f64)> = (0..61).map(|i| (i * 60_000, 0.0)).collect();
    let mut irregular: Vec<(i64, f64)> = Vec::new();
    let mut t = -5_000;
    for i in 0..200i64 {
        t += 1 + (i * 7919) % 9_000 + if i % 50 == 0 { 600_000 } else { 0 };
        irregular.push((t, 0.0));
    }
    for samples in [&regular[..], &irregular[..], &regular[..1], &[]] {
        let lo = samples.first().map_or(0, |s| s.0) - 100_000;
        let hi = samples.last().map_or(0, |s| s.0) + 100_000;
        let mut q = lo;
        while q <= hi {
            assert_eq!(
                first_at_or_after(samples, q),
                samples.partition_point(|s| s.0 < q),
                "t = {q} over {} samples",
                samples.len()
            );
            q += 997;
        }
        for s in samples {
            for d in [-1, 0, 1] {
                let q = s.0 + d;
                assert_eq!(
                    first_at_or_after(samples, q),
                    samples.partition_point(|x| x.0 < q)
                );
            }
        }
    }
}

#[test]
fn out_of_order_within_tolerance() {
    let mut st = Store::new();
    let a = l(&[("__name__", "x")]);
    st.add_sample(&a, 1000, 1.0).unwrap();
    st.add_sample(&a, 3000, 3.0).unwrap();
    assert!(matches!(
        st.add_sample(&a, 2000, 2.0),
        Err(Rejected::OutOfOrder {
            behind_ms: 1000,
            ..
        })
    ));
    st.set_out_of_order_tolerance(1500);
    st.add_sample(&a, 2000, 2.0).unwrap();
    let s = st.series(0);
    assert_eq!(
        s.samples.iter().map(|x| x.0).collect::<Vec<_>>(),
        [1000, 2000, 3000]
    );
    assert!(matches!(
        st.add_sample(&a, 2000, 5.0),
        Err(Rejected::Duplicate { .. })
    ));
    st.add_sample(&a, 2000, 2.0).unwrap();
}

#[test]
fn gc_drops_old_and_rejects_too_old() {
    let mut st = Store::new();
    st.set_retention(10_000);
    let a = l(&[("__name__", "x")]);
    let b = l(&[("__name__", "y")]);
    st.add_sample(&a, 0, 1.0).unwrap();
    st.add_sample(&b, 20_000, 1.0).unwrap();
    st.gc(25_000);
    assert_eq!(st.series_count(), 1);
    assert!(matches!(
        st.add_sample(&a, 1000, 1.0),
        Err(Rejected::TooOld { .. })
    ));
}

#[test]
fn select_uses_postings_and_matchers() {
    let mut st = Store::new();
    for (n, j) in [("up", "a"), ("up", "b"), ("down", "a")] {
        st.add_sample(&l(&[("__name__", n), ("job", j)]), 0, 1.0)
            .unwrap();
    }
    let ms = [
        Matcher::new("__name__", MatchOp::Equal, "up").unwrap(),
        Matcher::new("job", MatchOp::Regex, "b|c").unwrap(),
    ];
    assert_eq!(st.select(ms.iter()), vec![1]);
    let ms = [Matcher::new("job", MatchOp::NotEqual, "a").unwrap()];
    assert_eq!(st.select(ms.iter()), vec![1]);
}
