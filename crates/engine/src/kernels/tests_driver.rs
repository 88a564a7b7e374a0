//! The driver and the pool: `QMatrix::matmul` gives each format's canonical dot product for
//! every (row, activation row), whatever `m` and the thread count; sizes are checked; the pool
//! runs every index exactly once, nests, and survives panics.

use std::sync::atomic::{AtomicUsize, Ordering};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::act::Q8Row;
use super::act_k::Q8KRow;
use super::float::{self, Float};
use super::tests_q::{activations, f16_scale, q5_0_blocks, q8_0_blocks};
use super::{q4_k, q5_0, q6_k, q8_0, Bytes, Pool, QMatrix, WeightType};

const TYPES: [WeightType; 6] = [
    WeightType::F32,
    WeightType::F16,
    WeightType::Q8_0,
    WeightType::Q5_0,
    WeightType::Q4K,
    WeightType::Q6K,
];

/// Random weights for `rows` rows of `cols`, with sane f16 scales for the K formats.
fn weights(rng: &mut StdRng, ty: WeightType, rows: usize, cols: usize) -> Vec<u8> {
    let nb = rows * cols / ty.block();
    match ty {
        WeightType::F32 => activations(rng, rows * cols)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        WeightType::F16 => (0..rows * cols)
            .flat_map(|_| f16_scale(rng).to_le_bytes())
            .collect(),
        WeightType::Q8_0 => q8_0_blocks(rng, nb, false),
        WeightType::Q5_0 => q5_0_blocks(rng, nb, false),
        WeightType::Q4K | WeightType::Q6K => {
            let bb = ty.block_bytes();
            let mut w: Vec<u8> = (0..nb * bb).map(|_| rng.random()).collect();
            for blk in w.chunks_exact_mut(bb) {
                let at = if ty == WeightType::Q4K {
                    [0, 2]
                } else {
                    [208, 208]
                };
                for a in at {
                    blk[a..a + 2].copy_from_slice(&(f16_scale(rng) & 0x7fff).to_le_bytes());
                }
            }
            w
        }
    }
}

/// The canonical value of one output element.
fn canonical(ty: WeightType, w: &[u8], x: &[f32]) -> f32 {
    match ty {
        WeightType::F32 => float::dot_scalar(Float::F32, w, x),
        WeightType::F16 => float::dot_scalar(Float::F16, w, x),
        WeightType::Q8_0 => q8_0::dot_scalar(w, &Q8Row::quantize(x)),
        WeightType::Q5_0 => q5_0::dot_scalar(w, &Q8Row::quantize(x)),
        WeightType::Q4K => q4_k::dot_scalar(w, &Q8KRow::quantize(x)),
        WeightType::Q6K => q6_k::dot_scalar(w, &Q8KRow::quantize(x)),
    }
}

#[test]
fn matmul_is_canonical_for_any_m_and_thread_count() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0003);
    let pools = [Pool::new(1), Pool::new(2), Pool::new(3)];
    for ty in TYPES {
        let (rows, cols) = (37, 512);
        let data = weights(&mut rng, ty, rows, cols);
        let mat = QMatrix::new(ty, rows, cols, Bytes::from_vec(data.clone())).unwrap();
        let rb = ty.row_bytes(cols);
        let x = activations(&mut rng, 33 * cols);
        let want: Vec<f32> = (0..33)
            .flat_map(|i| {
                let xi = &x[i * cols..(i + 1) * cols];
                (0..rows)
                    .map(|r| canonical(ty, &data[r * rb..(r + 1) * rb], xi))
                    .collect::<Vec<_>>()
            })
            .collect();
        for pool in &pools {
            for m in [1, 7, 8, 16, 33] {
                let mut out = vec![f32::NAN; m * rows];
                mat.try_matmul(&x[..m * cols], m, &mut out, pool).unwrap();
                for (k, (g, w)) in out.iter().zip(&want).enumerate() {
                    assert_eq!(
                        g.to_bits(),
                        w.to_bits(),
                        "{ty:?} m={m} threads={} element {k}: {g} vs {w}",
                        pool.threads()
                    );
                }
            }
        }
    }
}

#[test]
fn dequantize_row_matches_format_dequantize() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0004);
    for ty in TYPES {
        let (rows, cols) = (3, 256);
        let data = weights(&mut rng, ty, rows, cols);
        let mat = QMatrix::new(ty, rows, cols, Bytes::from_vec(data.clone())).unwrap();
        let mut all = vec![0f32; rows * cols];
        match ty {
            WeightType::F32 => float::dequantize(Float::F32, &data, &mut all),
            WeightType::F16 => float::dequantize(Float::F16, &data, &mut all),
            WeightType::Q8_0 => q8_0::dequantize(&data, &mut all),
            WeightType::Q5_0 => q5_0::dequantize(&data, &mut all),
            WeightType::Q4K => q4_k::dequantize(&data, &mut all),
            WeightType::Q6K => q6_k::dequantize(&data, &mut all),
        }
        let mut row = vec![0f32; cols];
        mat.dequantize_row(2, &mut row);
        assert_eq!(row, all[2 * cols..]);
        // Out of range: no panic, `out` untouched.
        let mut keep = vec![7.0f32; cols];
        mat.dequantize_row(3, &mut keep);
        assert!(keep.iter().all(|&v| v == 7.0));
    }
}

#[test]
fn wrong_sizes_are_errors_not_panics() {
    let pool = Pool::new(2);
    // Not whole blocks.
    assert!(QMatrix::new(WeightType::Q8_0, 2, 48, Bytes::from_vec(vec![0; 2 * 34])).is_err());
    assert!(QMatrix::new(WeightType::Q4K, 1, 128, Bytes::from_vec(vec![0; 144])).is_err());
    // Wrong byte count.
    assert!(QMatrix::new(WeightType::Q5_0, 2, 64, Bytes::from_vec(vec![0; 87])).is_err());
    assert!(QMatrix::new(WeightType::F16, 2, 3, Bytes::from_vec(vec![0; 13])).is_err());
    assert!(QMatrix::new(WeightType::F32, usize::MAX, 4, Bytes::from_vec(vec![])).is_err());
    // A range past the end of its owner is cut, then refused.
    let owner: std::sync::Arc<dyn AsRef<[u8]> + Send + Sync> = std::sync::Arc::new(vec![0u8; 40]);
    let cut = Bytes::from_owner(owner, 6..100);
    assert_eq!(cut.len(), 34);
    assert!(QMatrix::new(WeightType::Q8_0, 2, 32, cut).is_err());
    let mat = QMatrix::new(WeightType::Q8_0, 2, 32, Bytes::from_vec(vec![0; 68])).unwrap();
    assert_eq!(
        (mat.rows(), mat.cols(), mat.ty()),
        (2, 32, WeightType::Q8_0)
    );
    let mut out = vec![1.0f32; 4];
    assert!(mat.try_matmul(&[0.0; 63], 2, &mut out, &pool).is_err());
    assert!(mat.try_matmul(&[0.0; 64], 2, &mut out[..3], &pool).is_err());
    assert!(out.iter().all(|&v| v == 1.0));
    mat.matmul(&[0.0; 10], 2, &mut out, &pool); // logged, not a panic
    mat.try_matmul(&[0.0; 64], 2, &mut out, &pool).unwrap();
    assert_eq!(out, [0.0; 4]);
    mat.try_matmul(&[], 0, &mut [], &pool).unwrap();
}

#[test]
fn from_ggml_maps_the_supported_types() {
    use candle_core::quantized::GgmlDType as G;
    assert_eq!(WeightType::from_ggml(G::Q8_0), Some(WeightType::Q8_0));
    assert_eq!(WeightType::from_ggml(G::Q4K), Some(WeightType::Q4K));
    assert_eq!(WeightType::from_ggml(G::Q4_0), None);
    assert_eq!(WeightType::Q8_0.row_bytes(896), 28 * 34);
    assert_eq!(WeightType::Q6K.row_bytes(512), 2 * 210);
    assert_eq!(WeightType::F16.row_bytes(3), 6);
}

#[test]
fn pool_runs_every_index_once() {
    for threads in [1, 2, 3, 5] {
        let pool = Pool::new(threads);
        assert_eq!(pool.threads(), threads);
        for n in [0, 1, 2, 3, 17, 1000] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..20 {
                pool.for_each(n, &|i| {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
            }
            assert!(
                hits.iter().all(|h| h.load(Ordering::Relaxed) == 20),
                "threads={threads} n={n}"
            );
        }
    }
}

#[test]
fn pool_nests_and_is_shared_between_callers() {
    let pool = Pool::new(3);
    let total = AtomicUsize::new(0);
    pool.for_each(8, &|_| {
        pool.for_each(5, &|j| {
            total.fetch_add(j, Ordering::Relaxed);
        });
    });
    assert_eq!(total.load(Ordering::Relaxed), 8 * 10);
    let total = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..200 {
                    pool.for_each(4, &|i| {
                        total.fetch_add(i + 1, Ordering::Relaxed);
                    });
                }
            });
        }
    });
    assert_eq!(total.load(Ordering::Relaxed), 3 * 200 * 10);
}

#[test]
fn pool_reraises_a_task_panic_and_keeps_working() {
    let pool = Pool::new(2);
    let done = AtomicUsize::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.for_each(64, &|i| {
            if i == 40 {
                panic!("task 40");
            }
            done.fetch_add(1, Ordering::Relaxed);
        });
    }));
    assert!(r.is_err());
    assert_eq!(done.load(Ordering::Relaxed), 63);
    let again = AtomicUsize::new(0);
    pool.for_each(10, &|_| {
        again.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(again.load(Ordering::Relaxed), 10);
}

#[test]
fn pool_wakes_parked_workers() {
    let pool = Pool::new(2);
    let seen = std::sync::Mutex::new(std::collections::HashSet::new());
    std::thread::sleep(std::time::Duration::from_millis(5)); // workers park
    for _ in 0..50 {
        pool.for_each(64, &|_| {
            std::thread::sleep(std::time::Duration::from_micros(50));
            if let Ok(mut s) = seen.lock() {
                s.insert(std::thread::current().id());
            }
        });
        if seen.lock().map(|s| s.len()).unwrap_or(0) >= 2 {
            return;
        }
    }
    panic!("the worker never took a task");
}
