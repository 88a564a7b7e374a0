//! Attention: every level equals the scalar code bit for bit, the scalar code is a softmax
//! attention (against f64), `exp` is accurate, and the blocked key layout is position-wise.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// A cache of `positions` positions with `kv_heads` heads of `dim`, random keys and values.
fn cache(rng: &mut StdRng, kv_heads: usize, dim: usize, positions: usize) -> (Vec<f32>, Vec<f32>) {
    let kv_dim = kv_heads * dim;
    let rows: Vec<f32> = (0..positions * kv_dim)
        .map(|_| rng.random_range(-3.0f32..3.0))
        .collect();
    let values: Vec<f32> = (0..positions * kv_dim)
        .map(|_| rng.random_range(-2.0f32..2.0))
        .collect();
    let mut keys = Vec::new();
    store_keys(&mut keys, kv_dim, 0, &rows);
    (keys, values)
}

fn run(level: Level, job: &Job<'_>) -> Vec<f32> {
    let mut out = vec![f32::NAN; job.qs.len()];
    let mut scratch = vec![7.0; 3];
    attend_at(level, job, &mut scratch, &mut out);
    out
}

#[test]
fn every_level_equals_scalar_bit_for_bit() {
    let mut rng = StdRng::seed_from_u64(11);
    for &(kv_heads, dim, heads) in &[
        (2, 16, 2),
        (2, 64, 7),
        (1, 256, 4),
        (3, 32, 1),
        (1, 64, 8),
        (2, 48, 9),
        (1, 24, 3),
        (2, 8, 5),
        (1, 128, 12),
    ] {
        let positions = 75;
        let (keys, values) = cache(&mut rng, kv_heads, dim, positions);
        let c = Cache {
            keys: &keys,
            values: &values,
            kv_dim: kv_heads * dim,
        };
        let qs: Vec<f32> = (0..heads * dim)
            .map(|_| rng.random_range(-2.0f32..2.0))
            .collect();
        for &(first, last) in &[
            (0, 0),
            (0, 15),
            (0, 16),
            (3, 40),
            (17, 74),
            (31, 32),
            (0, 74),
        ] {
            for kv_head in 0..kv_heads {
                let job = Job::new(&qs, dim, c, kv_head, first, last, 0.3, qs.len());
                let want = run(Level::Scalar, &job);
                assert!(want.iter().all(|v| v.is_finite()));
                for level in cpu::available() {
                    let got = run(level, &job);
                    let same = want
                        .iter()
                        .zip(&got)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(
                        same,
                        "{level:?} differs: kv {kv_heads} dim {dim} heads {heads} keys {first}..={last}"
                    );
                }
            }
        }
    }
}

#[test]
fn scalar_is_softmax_attention() {
    let mut rng = StdRng::seed_from_u64(5);
    let (kv_heads, dim, heads) = (2, 32, 3);
    let (keys, values) = cache(&mut rng, kv_heads, dim, 50);
    let kv_dim = kv_heads * dim;
    let c = Cache {
        keys: &keys,
        values: &values,
        kv_dim,
    };
    let qs: Vec<f32> = (0..heads * dim)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let (kv_head, first, last, scale) = (1, 9, 41, 0.2f32);
    let job = Job::new(&qs, dim, c, kv_head, first, last, scale, qs.len());
    let got = run(Level::Scalar, &job);
    for h in 0..heads {
        let q = &qs[h * dim..(h + 1) * dim];
        // The keys as written: read back through the layout, position by position.
        let key = |j: usize, d: usize| {
            keys[(j / LANES) * kv_dim * LANES + (kv_head * dim + d) * LANES + j % LANES]
        };
        let scores: Vec<f64> = (first..=last)
            .map(|j| {
                (0..dim)
                    .map(|d| f64::from(q[d]) * f64::from(key(j, d)))
                    .sum::<f64>()
                    * f64::from(scale)
            })
            .collect();
        let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
        let sum: f64 = w.iter().sum();
        for d in 0..dim {
            let want: f64 = (first..=last)
                .zip(&w)
                .map(|(j, w)| w * f64::from(values[j * kv_dim + kv_head * dim + d]))
                .sum::<f64>()
                / sum;
            let g = f64::from(got[h * dim + d]);
            assert!(
                (g - want).abs() < 1e-5 * (1.0 + want.abs()),
                "head {h} d {d}: {g} vs {want}"
            );
        }
    }
}

#[test]
fn exp_is_accurate_and_exact_at_the_edges() {
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp(-100.0), 0.0);
    let mut worst = 0f64;
    let mut x = -87.0f32;
    while x < 88.0 {
        let want = f64::from(x).exp();
        let got = f64::from(exp(x));
        worst = worst.max(((got - want) / want).abs());
        x += 0.013;
    }
    // 2 ulp of f32 is about 2.4e-7 relative.
    assert!(worst < 2.5e-7, "worst relative error {worst}");
}

#[test]
fn keys_stored_in_pieces_equal_keys_stored_at_once() {
    let mut rng = StdRng::seed_from_u64(3);
    let kv_dim = 12;
    let rows: Vec<f32> = (0..40 * kv_dim).map(|_| rng.random()).collect();
    let mut whole = Vec::new();
    store_keys(&mut whole, kv_dim, 0, &rows);
    let mut pieces = Vec::new();
    for (start, end) in [(0, 1), (1, 17), (17, 18), (18, 40)] {
        store_keys(
            &mut pieces,
            kv_dim,
            start,
            &rows[start * kv_dim..end * kv_dim],
        );
    }
    assert_eq!(whole, pieces);
    assert_eq!(whole.len(), keys_len(kv_dim, 40));
    assert_eq!(keys_len(kv_dim, 48), keys_len(kv_dim, 40));
    assert_eq!(
        whole[(33 / LANES) * kv_dim * LANES + 5 * LANES + 33 % LANES],
        rows[33 * kv_dim + 5]
    );
}
