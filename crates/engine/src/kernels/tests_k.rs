//! Tests of the K-quant kernels: Q8K activation quantization, Q4_K/Q6_K decoding (against an
//! independent element-by-element decoder and against real blocks decoded by gguf-py), every
//! SIMD level against the canonical scalar dot bit for bit, `dot4` against `dot`, and the scalar
//! dot against an f64 dot of the dequantized operands. `real` checks real blocks (gguf-py
//! fixture, candle on the Qwen GGUF); `bench` (ignored) measures throughput per level.

#![allow(unsafe_code)]

use super::act_k::{round_half_away, to_i8, Q8KRow, QK_K};
use super::cpu::{available, Level};
use super::f16_to_f32;
use super::{q4_k, q6_k};

mod bench;
mod real;

/// xorshift64*: deterministic, dependency-free test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
    /// A finite f16 scale: usually ordinary, sometimes subnormal, zero or near the f16 maximum.
    fn f16_scale(&mut self) -> [u8; 2] {
        let bits: u16 = match self.below(8) {
            0 => (self.below(0x400)) as u16,         // zero or subnormal
            1 => 0x7bff - self.below(64) as u16,     // near 65504
            2 => 0,                                  // zero
            _ => 0x1000 + self.below(0x2400) as u16, // ~6e-5 .. ~0.5
        };
        let sign = if self.below(4) == 0 { 0x8000 } else { 0 };
        (bits | sign).to_le_bytes()
    }
}

/// Activation rows that look like hidden states: mostly small values, a few outliers, plus
/// degenerate blocks (all zero, one spike) now and then.
fn activations(rng: &mut Rng, blocks: usize) -> Vec<f32> {
    let mut x = vec![0f32; blocks * QK_K];
    for xb in x.chunks_mut(QK_K) {
        match rng.below(10) {
            0 => {}
            1 => xb[rng.below(QK_K as u64) as usize] = -3.5,
            _ => {
                let scale = [1e-3f32, 0.1, 1.0, 30.0][rng.below(4) as usize];
                for v in xb.iter_mut() {
                    let u = rng.unit() + rng.unit() + rng.unit();
                    *v = u * scale * if rng.below(50) == 0 { 20.0 } else { 1.0 };
                }
            }
        }
    }
    x
}

fn q4k_blocks(rng: &mut Rng, blocks: usize) -> Vec<u8> {
    let mut w = vec![0u8; blocks * q4_k::BLOCK_BYTES];
    for blk in w.chunks_mut(q4_k::BLOCK_BYTES) {
        blk[0..2].copy_from_slice(&rng.f16_scale());
        blk[2..4].copy_from_slice(&rng.f16_scale());
        let fill = rng.below(6);
        for v in blk[4..].iter_mut() {
            *v = match fill {
                0 => 0xff, // every scale and min 63, every quant 15
                1 => 0x00,
                _ => rng.byte(),
            };
        }
    }
    w
}

fn q6k_blocks(rng: &mut Rng, blocks: usize) -> Vec<u8> {
    let mut w = vec![0u8; blocks * q6_k::BLOCK_BYTES];
    for blk in w.chunks_mut(q6_k::BLOCK_BYTES) {
        let fill = rng.below(6);
        for v in blk[..208].iter_mut() {
            *v = match fill {
                0 => 0xff, // every quant 63, every scale -1
                1 => 0x00, // every quant 0 (-32 after the offset)
                _ => rng.byte(),
            };
        }
        if fill == 2 {
            for (i, s) in blk[192..208].iter_mut().enumerate() {
                *s = if i % 2 == 0 { 0x80 } else { 0x7f }; // -128 and 127
            }
        }
        blk[208..210].copy_from_slice(&rng.f16_scale());
    }
    w
}

#[test]
fn f16_conversion_is_exact() {
    assert_eq!(f16_to_f32(0x3c00), 1.0);
    assert_eq!(f16_to_f32(0xc000), -2.0);
    assert_eq!(f16_to_f32(0x7bff), 65504.0);
    assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(f16_to_f32(0x83ff), -(1023.0 * 2f32.powi(-24)));
    assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
    assert!(f16_to_f32(0x7e00).is_nan());
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("f16c") {
        for h in 0..=u16::MAX {
            // SAFETY: F16C is present (checked above).
            let hw = unsafe { f16c(h) };
            let ours = f16_to_f32(h);
            assert!(
                hw.to_bits() == ours.to_bits() || (hw.is_nan() && ours.is_nan()),
                "{h:#x}"
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "f16c")]
unsafe fn f16c(h: u16) -> f32 {
    use std::arch::x86_64::*;
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_set1_epi16(h as i16)))
}

#[test]
fn rounding_equals_f32_round() {
    let edges = [
        0.0f32,
        -0.0,
        0.5,
        -0.5,
        1.5,
        2.5,
        -2.5,
        0.49999997,
        -0.49999997,
        126.5,
        127.49,
        8388607.5,
        8388608.0,
        1e30,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE,
    ];
    let mut rng = Rng(1);
    let random = (0..200_000).map(|_| f32::from_bits(rng.next() as u32));
    let near = (0..200_000).map(|i| (i as f32) * 0.25 - 25_000.0);
    for y in edges.into_iter().chain(random).chain(near) {
        let (a, b) = (round_half_away(y), y.round());
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "{y}: {a} vs {b}"
        );
        assert_eq!(to_i8(b), b.clamp(-127.0, 127.0) as i8, "{y}");
    }
}

#[test]
fn q8k_quantization_follows_the_rules() {
    let mut rng = Rng(7);
    let x = activations(&mut rng, 9);
    let row = Q8KRow::quantize(&x);
    assert_eq!((row.blocks(), row.len()), (9, 9 * QK_K));
    for (b, xb) in x.chunks(QK_K).enumerate() {
        let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        assert_eq!(row.d[b].to_bits(), d.to_bits());
        let id = if d > 0.0 { 1.0 / d } else { 0.0 };
        for (i, v) in xb.iter().enumerate() {
            let q = row.qs[b * QK_K + i];
            assert!(q >= -127);
            assert_eq!(f32::from(q), (v * id).round().clamp(-127.0, 127.0));
        }
        for k in 0..16 {
            let s: i32 = row.qs[b * QK_K + 16 * k..][..16]
                .iter()
                .map(|&q| i32::from(q))
                .sum();
            assert_eq!(i32::from(row.bsums[b * 16 + k]), s);
        }
    }
    // Halves round away from zero; reuse keeps results identical; zero rows stay zero.
    let mut half = vec![0f32; QK_K];
    half[0] = 127.0;
    half[1] = 2.5;
    half[2] = -2.5;
    let mut reused = Q8KRow::quantize(&x);
    reused.quantize_into(&half);
    assert_eq!(reused.qs[1..3], [3, -3]);
    assert_eq!(reused, Q8KRow::quantize(&half));
    let zero = Q8KRow::quantize(&[0.0; QK_K]);
    assert!(zero.d[0] == 0.0 && zero.qs.iter().all(|&q| q == 0));
    // The kernels refuse inconsistent rows instead of reading out of bounds.
    let mut bad = Q8KRow::quantize(&x[..QK_K]);
    assert!(bad.fits(1));
    bad.qs.pop();
    assert!(!bad.fits(1));
    let w = vec![0u8; q4_k::BLOCK_BYTES];
    assert!(std::panic::catch_unwind(|| q4_k::dot(&w, &bad)).is_err());
    // A partial trailing block is zero-padded.
    assert_eq!(Q8KRow::quantize(&x[..300]).len(), 2 * QK_K);
}

/// Straightforward Q4_K decoder written from the layout description, element by element.
fn q4k_reference(blk: &[u8]) -> Vec<f32> {
    let d = f16_to_f32(u16::from_le_bytes([blk[0], blk[1]]));
    let dmin = f16_to_f32(u16::from_le_bytes([blk[2], blk[3]]));
    let s = &blk[4..16];
    let six = |j: usize, mins: bool| -> u32 {
        let off = if mins { 4 } else { 0 };
        if j < 4 {
            u32::from(s[j + off]) % 64
        } else {
            let nib = if mins { s[j + 4] / 16 } else { s[j + 4] % 16 };
            u32::from(nib) + 16 * u32::from(s[j - 4 + off] / 64)
        }
    };
    (0..256)
        .map(|e| {
            let j = e / 32;
            let byte = blk[16 + 32 * (j / 2) + e % 32];
            let q = if j % 2 == 0 { byte % 16 } else { byte / 16 };
            d * six(j, false) as f32 * f32::from(q) - dmin * six(j, true) as f32
        })
        .collect()
}

/// Straightforward Q6_K decoder following ggml's loop (halves of 128, four 32-runs each).
fn q6k_reference(blk: &[u8]) -> Vec<f32> {
    let (ql, qh, sc) = (&blk[0..128], &blk[128..192], &blk[192..208]);
    let d = f16_to_f32(u16::from_le_bytes([blk[208], blk[209]]));
    let mut y = vec![0f32; 256];
    for n in 0..2 {
        for l in 0..32 {
            let h = qh[32 * n + l];
            let parts = [
                (ql[64 * n + l] & 15) | ((h & 3) << 4),
                (ql[64 * n + 32 + l] & 15) | (((h >> 2) & 3) << 4),
                (ql[64 * n + l] >> 4) | (((h >> 4) & 3) << 4),
                (ql[64 * n + 32 + l] >> 4) | ((h >> 6) << 4),
            ];
            for (k, q) in parts.into_iter().enumerate() {
                let e = 128 * n + 32 * k + l;
                let scale = f32::from(sc[e / 16] as i8);
                y[e] = d * scale * (f32::from(q) - 32.0);
            }
        }
    }
    y
}

#[test]
fn dequantize_matches_reference_decoders() {
    let mut rng = Rng(11);
    let w4 = q4k_blocks(&mut rng, 40);
    let mut out = vec![0f32; 40 * QK_K];
    q4_k::dequantize(&w4, &mut out);
    for (blk, y) in w4.chunks(q4_k::BLOCK_BYTES).zip(out.chunks(QK_K)) {
        let r = q4k_reference(blk);
        assert!(y.iter().zip(&r).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
    let w6 = q6k_blocks(&mut rng, 40);
    q6_k::dequantize(&w6, &mut out);
    for (blk, y) in w6.chunks(q6_k::BLOCK_BYTES).zip(out.chunks(QK_K)) {
        let r = q6k_reference(blk);
        assert!(y.iter().zip(&r).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

type DotFn = fn(&[u8], &Q8KRow) -> f32;
type DeqFn = fn(&[u8], &mut [f32]);

/// The dot of each level by name (only levels this CPU has).
fn level_dot(fmt: &str, level: Level, w: &[u8], a: &Q8KRow) -> f32 {
    match (fmt, level) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `available()` lists only levels whose features the CPU has.
        ("q4_k", Level::Avx2) => unsafe { q4_k::dot_avx2(w, a) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        ("q4_k", Level::Avx512) => unsafe { q4_k::dot_avx512(w, a) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        ("q6_k", Level::Avx2) => unsafe { q6_k::dot_avx2(w, a) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        ("q6_k", Level::Avx512) => unsafe { q6_k::dot_avx512(w, a) },
        ("q4_k", _) => q4_k::dot_scalar(w, a),
        _ => q6_k::dot_scalar(w, a),
    }
}

fn check_levels(fmt: &str, gen: fn(&mut Rng, usize) -> Vec<u8>, scalar: DotFn, seed: u64) {
    let mut rng = Rng(seed);
    let levels = available();
    for case in 0..150 {
        let blocks = 1 + rng.below(19) as usize;
        let w = gen(&mut rng, blocks);
        let rows: Vec<Q8KRow> = (0..4)
            .map(|_| Q8KRow::quantize(&activations(&mut rng, blocks)))
            .collect();
        let want: Vec<f32> = rows.iter().map(|a| scalar(&w, a)).collect();
        for &level in &levels {
            for (a, s) in rows.iter().zip(&want) {
                let got = level_dot(fmt, level, &w, a);
                assert_eq!(
                    got.to_bits(),
                    s.to_bits(),
                    "{fmt} {level:?} case {case}: {got} vs {s}"
                );
            }
        }
        let a4 = [&rows[0], &rows[1], &rows[2], &rows[3]];
        for &level in &levels {
            let four = if fmt == "q4_k" {
                q4_k::dot_at::<4>(level, &w, a4)
            } else {
                q6_k::dot_at::<4>(level, &w, a4)
            };
            for i in 0..4 {
                assert_eq!(
                    four[i].to_bits(),
                    want[i].to_bits(),
                    "{fmt} {level:?} dot4 case {case}"
                );
            }
        }
        let four = if fmt == "q4_k" {
            q4_k::dot4(&w, a4)
        } else {
            q6_k::dot4(&w, a4)
        };
        let one: Vec<f32> = rows
            .iter()
            .map(|a| {
                if fmt == "q4_k" {
                    q4_k::dot(&w, a)
                } else {
                    q6_k::dot(&w, a)
                }
            })
            .collect();
        for i in 0..4 {
            assert_eq!(
                four[i].to_bits(),
                want[i].to_bits(),
                "{fmt} dot4 case {case}"
            );
            assert_eq!(one[i].to_bits(), want[i].to_bits(), "{fmt} dot case {case}");
        }
    }
}

/// Packs 256 quants (0..64), 16 scales and an f16 `d` into a Q6_K block (inverse of
/// [`q6k_reference`]).
fn q6k_encode(q: &[u8; 256], scales: [i8; 16], d: u16) -> Vec<u8> {
    let mut blk = vec![0u8; q6_k::BLOCK_BYTES];
    for n in 0..2 {
        for l in 0..32 {
            let e = |k: usize| q[128 * n + 32 * k + l];
            blk[64 * n + l] = (e(0) & 15) | ((e(2) & 15) << 4);
            blk[64 * n + 32 + l] = (e(1) & 15) | ((e(3) & 15) << 4);
            blk[128 + 32 * n + l] =
                (e(0) >> 4) | ((e(1) >> 4) << 2) | ((e(2) >> 4) << 4) | ((e(3) >> 4) << 6);
        }
    }
    for (i, s) in scales.iter().enumerate() {
        blk[192 + i] = *s as u8;
    }
    blk[208..210].copy_from_slice(&d.to_le_bytes());
    blk
}

/// A Q6_K lane sum beyond 2^24 (its f32 conversion rounds): lane 0's elements carry quant 63
/// against +127, every other element quant 0 against -127, all scales 127.
#[test]
fn q6k_lane_sums_beyond_f32_precision_agree() {
    let q: [u8; 256] = std::array::from_fn(|e| if e % 32 < 4 { 63 } else { 0 });
    let x: Vec<f32> = (0..256)
        .map(|e| if e % 32 < 4 { 1.0 } else { -1.0 })
        .collect();
    let w = q6k_encode(&q, [127; 16], 0x3c00);
    let mut y = vec![0f32; 256];
    q6_k::dequantize(&w, &mut y);
    assert!(y
        .iter()
        .zip(&q)
        .all(|(v, &qe)| *v == 127.0 * (f32::from(qe) - 32.0)));
    let a = Q8KRow::quantize(&x);
    let want = q6_k::dot_scalar(&w, &a);
    for level in available() {
        assert_eq!(
            level_dot("q6_k", level, &w, &a).to_bits(),
            want.to_bits(),
            "{level:?}"
        );
    }
    let exact: f64 = y
        .iter()
        .zip(&x)
        .map(|(w, x)| f64::from(*w) * f64::from(*x))
        .sum();
    assert!(
        (f64::from(want) - exact).abs() <= exact.abs() * 1e-6,
        "{want} vs {exact}"
    );
}

#[test]
fn q4k_every_level_matches_scalar_bits() {
    check_levels("q4_k", q4k_blocks, q4_k::dot_scalar, 21);
}

#[test]
fn q6k_every_level_matches_scalar_bits() {
    check_levels("q6_k", q6k_blocks, q6_k::dot_scalar, 22);
}

/// The scalar dot against f64 dots of the dequantized weights with (1) the dequantized
/// activations (only float rounding differs) and (2) the original f32 activations (the
/// activation quantization error is bounded by `d / 2` per element).
fn check_against_dequantized(gen: fn(&mut Rng, usize) -> Vec<u8>, deq: DeqFn, dot: DotFn) {
    let mut rng = Rng(5);
    for _ in 0..60 {
        let blocks = 1 + rng.below(8) as usize;
        let w = gen(&mut rng, blocks);
        let x = activations(&mut rng, blocks);
        let a = Q8KRow::quantize(&x);
        let mut wf = vec![0f32; blocks * QK_K];
        deq(&w, &mut wf);
        let (mut exact, mut orig, mut mag, mut qbound) = (0f64, 0f64, 0f64, 0f64);
        for (i, (&wv, &xv)) in wf.iter().zip(&x).enumerate() {
            let ad = f64::from(a.d[i / QK_K]) * f64::from(a.qs[i]);
            exact += f64::from(wv) * ad;
            orig += f64::from(wv) * f64::from(xv);
            mag += (f64::from(wv) * ad).abs();
            qbound += f64::from(wv).abs() * f64::from(a.d[i / QK_K]) * 0.5;
        }
        let got = f64::from(dot(&w, &a));
        assert!(
            (got - exact).abs() <= mag * 1e-5 + 1e-30,
            "{got} vs {exact} (mag {mag})"
        );
        assert!(
            (got - orig).abs() <= qbound * 1.001 + mag * 1e-5 + 1e-30,
            "{got} vs {orig}"
        );
    }
}

#[test]
fn q4k_scalar_dot_matches_dequantized() {
    check_against_dequantized(q4k_blocks, q4_k::dequantize, q4_k::dot_scalar);
}

#[test]
fn q6k_scalar_dot_matches_dequantized() {
    check_against_dequantized(q6k_blocks, q6_k::dequantize, q6_k::dot_scalar);
}
