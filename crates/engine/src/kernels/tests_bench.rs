//! Kernel microbenchmarks, ignored by default (timings are not tests). Run with
//! `BEDROCK_LOCAL_KERNELS=scalar|avx2|avx512 cargo test -p bedrock-local-engine --release
//! kernels::tests_bench -- --ignored --nocapture --test-threads 1`.

use std::time::{Duration, Instant};

use super::{cpu, Bytes, Pool, QMatrix, WeightType};

/// Weights with a sane scale in every block and pseudo-random quants.
fn synthetic(ty: WeightType, rows: usize, cols: usize) -> Vec<u8> {
    let bb = ty.block_bytes();
    let nb = rows * cols / ty.block();
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut w = vec![0u8; nb * bb];
    for chunk in w.chunks_exact_mut(8) {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        chunk.copy_from_slice(&s.to_le_bytes());
    }
    for blk in w.chunks_exact_mut(bb) {
        blk[..2].copy_from_slice(&0x2c00u16.to_le_bytes()); // 1/16
    }
    w
}

/// Runs `f` until at least `min` has passed (and 3 runs); returns the fastest run in seconds
/// (the machine is shared: the minimum is the least disturbed figure).
fn time(min: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut n = 0u32;
    let mut best = f64::INFINITY;
    while n < 3 || start.elapsed() < min {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
        n += 1;
    }
    best
}

#[test]
#[ignore = "benchmark"]
fn bench_matmul() {
    let level = cpu::level().name();
    let shapes = [
        ("q8_0 896x151936 (output)", WeightType::Q8_0, 151_936, 896),
        ("q5_0 4864->896 (ffn_down)", WeightType::Q5_0, 896, 4864),
        ("q8_0 896->4864", WeightType::Q8_0, 4864, 896),
        ("f32 896->896", WeightType::F32, 896, 896),
        ("q5_0 640->2048 (gemma gate)", WeightType::Q5_0, 2048, 640),
        ("q5_0 640->256 (gemma k)", WeightType::Q5_0, 256, 640),
    ];
    // BENCH_SHAPES=substring keeps only the matching shapes.
    let only = std::env::var("BENCH_SHAPES").unwrap_or_default();
    let shapes: Vec<_> = shapes.into_iter().filter(|s| s.0.contains(&only)).collect();
    let x: Vec<f32> = (0..128 * 4864)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    let mut row = super::act::Q8Row::default();
    let s = time(Duration::from_millis(200), || {
        for r in x.chunks_exact(4864) {
            row.quantize_into(r);
        }
    });
    println!(
        "{level:6} Q8Row::quantize_into: {:.2} ns/value",
        s * 1e9 / x.len() as f64
    );
    for threads in [1, 2] {
        let pool = Pool::new(threads);
        for &(name, ty, rows, cols) in &shapes {
            let mat = QMatrix::new(ty, rows, cols, Bytes::from_vec(synthetic(ty, rows, cols)))
                .unwrap_or_else(|e| panic!("{e}"));
            let bytes = (ty.row_bytes(cols) * rows) as f64;
            for m in [1usize, 4, 8, 128] {
                if level == "scalar" && m == 128 && rows > 10_000 {
                    continue;
                }
                let x: Vec<f32> = (0..m * cols)
                    .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                    .collect();
                let mut out = vec![0f32; m * rows];
                let s = time(Duration::from_millis(300), || {
                    mat.matmul(&x, m, &mut out, &pool)
                });
                println!(
                    "{level:6} threads={threads} {name:28} m={m:3}: {:8.3} ms  {:6.2} GB/s weights  {:7.1} GMAC/s  {:8.0} rows/s",
                    s * 1e3,
                    bytes / s / 1e9,
                    (rows * cols * m) as f64 / s / 1e9,
                    (rows * m) as f64 / s,
                );
            }
        }
    }
}

#[test]
#[ignore = "benchmark"]
fn bench_pool_overhead() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = AtomicUsize::new(0);
    let work = |_: usize| {
        hits.fetch_add(1, Ordering::Relaxed);
    };
    for threads in [2, 3] {
        let pool = Pool::new(threads);
        for n in [2usize, 32] {
            let s = time(Duration::from_millis(300), || pool.for_each(n, &work));
            println!(
                "Pool       threads={threads} for_each(n={n:2}) of a no-op: {:6.2} us/call",
                s * 1e6
            );
        }
        let rp = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        for n in [2usize, 32] {
            let s = time(Duration::from_millis(300), || {
                rp.install(|| {
                    use rayon::prelude::*;
                    (0..n).into_par_iter().for_each(work);
                })
            });
            println!(
                "rayon      threads={threads} par_iter(n={n:2}) of a no-op: {:6.2} us/call",
                s * 1e6
            );
            let s = time(Duration::from_millis(300), || {
                rp.scope(|sc| {
                    for i in 0..n {
                        sc.spawn(move |_| work(i));
                    }
                })
            });
            println!(
                "rayon      threads={threads} scope+spawn(n={n:2}):     {:6.2} us/call",
                s * 1e6
            );
        }
    }
    // Who does the work: tasks of ~1 ms each, counted per thread.
    for threads in [2, 3] {
        let pool = Pool::new(threads);
        let caller = std::thread::current().id();
        let mine = AtomicUsize::new(0);
        let t = Instant::now();
        pool.for_each(64, &|_| {
            let start = Instant::now();
            let mut x = 0u64;
            while start.elapsed() < Duration::from_millis(1) {
                x = x.wrapping_add(1);
                std::hint::black_box(x);
            }
            if std::thread::current().id() == caller {
                mine.fetch_add(1, Ordering::Relaxed);
            }
        });
        println!(
            "Pool       threads={threads} 64 tasks of 1 ms: {:5.1} ms wall, caller ran {} of them",
            t.elapsed().as_secs_f64() * 1e3,
            mine.load(Ordering::Relaxed)
        );
    }
    // A parked worker: the caller wakes it (futex) and may finish alone first.
    let pool = Pool::new(2);
    let mut total = 0.0;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(2));
        let t = Instant::now();
        pool.for_each(2, &work);
        total += t.elapsed().as_secs_f64();
    }
    println!(
        "Pool       threads=2 for_each(n= 2) after the worker parked: {:6.2} us/call",
        total / 50.0 * 1e6
    );
    assert!(hits.load(Ordering::Relaxed) > 0);
}

/// Decode (`m = 1`) single-thread A/B: `dot` row by row against `dot_rows4`, interleaved so
/// both see the same machine load.
#[test]
#[ignore = "benchmark"]
fn bench_rows4() {
    use super::act::Q8Row;
    use super::{q5_0, q8_0};
    type Rows4 = fn([&[u8]; 4], &Q8Row) -> [f32; 4];
    type Dot = fn(&[u8], &Q8Row) -> f32;
    let level = cpu::level().name();
    let shapes: [(&str, WeightType, usize, usize, Dot, Rows4); 4] = [
        (
            "q8_0 896x151936",
            WeightType::Q8_0,
            151_936,
            896,
            q8_0::dot,
            q8_0::dot_rows4,
        ),
        (
            "q8_0 640x262144",
            WeightType::Q8_0,
            262_144,
            640,
            q8_0::dot,
            q8_0::dot_rows4,
        ),
        (
            "q8_0 896->4864",
            WeightType::Q8_0,
            4864,
            896,
            q8_0::dot,
            q8_0::dot_rows4,
        ),
        (
            "q5_0 640->2048",
            WeightType::Q5_0,
            2048,
            640,
            q5_0::dot,
            q5_0::dot_rows4,
        ),
    ];
    for (name, ty, rows, cols, dot, rows4) in shapes {
        let w = synthetic(ty, rows, cols);
        let rb = ty.row_bytes(cols);
        let x: Vec<f32> = (0..cols)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
            .collect();
        let a = Q8Row::quantize(&x);
        let mut out = vec![0f32; rows];
        let (mut one, mut four) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..5 {
            one = one.min(time(Duration::from_millis(150), || {
                for (r, o) in out.iter_mut().enumerate() {
                    *o = dot(&w[r * rb..(r + 1) * rb], &a);
                }
            }));
            four = four.min(time(Duration::from_millis(150), || {
                // As the driver: per chunk, rows from its four quarters side by side.
                for c0 in (0..rows).step_by(1024) {
                    let q = (1024.min(rows - c0)) / 4;
                    for r in c0..c0 + q {
                        let ws = [0, 1, 2, 3].map(|k| &w[(r + k * q) * rb..(r + k * q + 1) * rb]);
                        for (k, v) in rows4(ws, &a).into_iter().enumerate() {
                            out[r + k * q] = v;
                        }
                    }
                }
            }));
        }
        let gb = w.len() as f64 / 1e9;
        println!(
            "{level:6} {name:16} m=1 1 thread: dot {:7.3} ms {:6.2} GB/s | dot_rows4 {:7.3} ms {:6.2} GB/s",
            one * 1e3,
            gb / one,
            four * 1e3,
            gb / four
        );
    }
}

/// Eight activation rows, single-thread A/B: two `dot4` per weight row against one `dot8`,
/// interleaved so both see the same machine load.
#[test]
#[ignore = "benchmark"]
fn bench_dot8() {
    use super::act::Q8Row;
    use super::{q5_0, q8_0};
    type Dot4 = fn(&[u8], [&Q8Row; 4]) -> [f32; 4];
    type Dot8 = fn(&[u8], [&Q8Row; 8]) -> [f32; 8];
    let level = cpu::level().name();
    let shapes: [(&str, WeightType, usize, usize, Dot4, Dot8); 4] = [
        (
            "q8_0 896->4864",
            WeightType::Q8_0,
            4864,
            896,
            q8_0::dot4,
            q8_0::dot8,
        ),
        (
            "q8_0 640->2048",
            WeightType::Q8_0,
            2048,
            640,
            q8_0::dot4,
            q8_0::dot8,
        ),
        (
            "q5_0 4864->896",
            WeightType::Q5_0,
            896,
            4864,
            q5_0::dot4,
            q5_0::dot8,
        ),
        (
            "q5_0 640->2048",
            WeightType::Q5_0,
            2048,
            640,
            q5_0::dot4,
            q5_0::dot8,
        ),
    ];
    for (name, ty, rows, cols, dot4, dot8) in shapes {
        let w = synthetic(ty, rows, cols);
        let rb = ty.row_bytes(cols);
        let acts: Vec<Q8Row> = (0..8)
            .map(|k| {
                let x: Vec<f32> = (0..cols)
                    .map(|i| (((i + 13 * k) * 37 % 101) as f32 - 50.0) / 25.0)
                    .collect();
                Q8Row::quantize(&x)
            })
            .collect();
        let a: [&Q8Row; 8] = std::array::from_fn(|k| &acts[k]);
        let mut out = vec![0f32; 8 * rows];
        let (mut two4, mut one8) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..5 {
            one8 = one8.min(time(Duration::from_millis(150), || {
                for r in 0..rows {
                    let v = dot8(&w[r * rb..(r + 1) * rb], a);
                    out[8 * r..8 * r + 8].copy_from_slice(&v);
                }
            }));
            two4 = two4.min(time(Duration::from_millis(150), || {
                for r in 0..rows {
                    let wr = &w[r * rb..(r + 1) * rb];
                    let lo = dot4(wr, [a[0], a[1], a[2], a[3]]);
                    let hi = dot4(wr, [a[4], a[5], a[6], a[7]]);
                    out[8 * r..8 * r + 4].copy_from_slice(&lo);
                    out[8 * r + 4..8 * r + 8].copy_from_slice(&hi);
                }
            }));
        }
        let gmac = (rows * cols * 8) as f64 / 1e9;
        println!(
            "{level:6} {name:16} m=8 1 thread: 2x dot4 {:7.3} ms {:6.1} GMAC/s | dot8 {:7.3} ms {:6.1} GMAC/s",
            two4 * 1e3,
            gmac / two4,
            one8 * 1e3,
            gmac / one8
        );
    }
}
