//! Throughput of the K-quant dots per level (ignored: run by hand, numbers in the output).

use super::super::act_k::{Q8KRow, QK_K};
use super::super::cpu::available;
use super::super::{q4_k, q6_k};
use super::{activations, level_dot, Rng};

/// Throughput per level on a 896 x 4864 matrix (Qwen2.5-0.5B's ffn_down) and on a 96x taller one
/// (beyond the caches): `cargo test -p bedrock-local-engine --release bench_k_quants
/// -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
fn bench_k_quants() {
    use std::time::Instant;
    let cols = 4864;
    let blocks = cols / QK_K;
    let mut rng = Rng(99);
    let rows_a: Vec<Q8KRow> = (0..4)
        .map(|_| Q8KRow::quantize(&activations(&mut rng, blocks)))
        .collect();
    let x = activations(&mut rng, blocks);
    let mut row = Q8KRow::default();
    let mut best = f64::MAX;
    for _ in 0..20 {
        let t = Instant::now();
        for _ in 0..1000 {
            row.quantize_into(std::hint::black_box(&x));
        }
        best = best.min(t.elapsed().as_secs_f64() / 1000.0);
    }
    println!("Q8K quantize: {:.0} ns per {cols}-element row", best * 1e9);
    for (fmt, bb) in [("q4_k", q4_k::BLOCK_BYTES), ("q6_k", q6_k::BLOCK_BYTES)] {
        let big = std::env::var_os("BEDROCK_LOCAL_BENCH_SMALL").is_none();
        for rows in [896usize, 896 * 96]
            .into_iter()
            .filter(|&r| r == 896 || big)
        {
            let mut w = vec![0u8; rows * blocks * bb];
            for blk in w.chunks_mut(bb) {
                for v in blk.iter_mut() {
                    *v = rng.byte();
                }
                let at = if fmt == "q4_k" { 0 } else { 208 };
                blk[at..at + 2].copy_from_slice(&0x2c00u16.to_le_bytes());
            }
            let row_bytes = blocks * bb;
            for level in available() {
                for (threads, four) in [(1, false), (2, false), (1, true), (2, true)] {
                    let run = |lo: usize, hi: usize| {
                        let mut s = 0f32;
                        for r in lo..hi {
                            let wr = &w[r * row_bytes..(r + 1) * row_bytes];
                            if four {
                                let a4 = [&rows_a[0], &rows_a[1], &rows_a[2], &rows_a[3]];
                                let f = match fmt {
                                    "q4_k" => q4_k::dot_at::<4>(level, wr, a4),
                                    _ => q6_k::dot_at::<4>(level, wr, a4),
                                };
                                s += f[0] + f[3];
                            } else {
                                s += level_dot(fmt, level, wr, &rows_a[0]);
                            }
                        }
                        s
                    };
                    // Each thread streams its share of the rows repeatedly for a while; its best
                    // pass counts (the machine is shared with builds).
                    let chunk = rows.div_ceil(threads);
                    let best: Vec<f64> = std::thread::scope(|sc| {
                        let hs: Vec<_> = (0..threads)
                            .map(|i| {
                                let run = &run;
                                sc.spawn(move || {
                                    let (lo, hi) = (i * chunk, ((i + 1) * chunk).min(rows));
                                    let start = Instant::now();
                                    let mut best = f64::MAX;
                                    while start.elapsed().as_secs_f64() < 0.4 {
                                        let t = Instant::now();
                                        std::hint::black_box(run(lo, hi));
                                        best = best.min(t.elapsed().as_secs_f64());
                                    }
                                    best
                                })
                            })
                            .collect();
                        hs.into_iter().map(|h| h.join().unwrap()).collect()
                    });
                    let secs = best.iter().fold(0f64, |m, &t| m.max(t));
                    let reps = 1;
                    let m = if four { 4.0 } else { 1.0 };
                    let row_dots = (reps * rows) as f64 * m / secs;
                    let gbs = (reps * rows * row_bytes) as f64 / secs / 1e9;
                    println!(
                        "{fmt} {rows}x{cols} {:>6} threads={threads} m={} : {:>8.2} M row-dots/s, {:>6.2} GB/s of weights, {:>7.3} ms/matmul",
                        level.name(),
                        if four { "4 (dot4)" } else { "1" },
                        row_dots / 1e6,
                        gbs,
                        secs / reps as f64 * 1e3
                    );
                }
            }
        }
    }
}
