//! Q8_0, Q5_0 and float kernels: every SIMD level equals the canonical scalar code bit for
//! bit, and the scalar code matches an independent dequantize-then-dot within rounding.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::act::Q8Row;
use super::float::{self, Float};
use super::{f16_to_f32, q5_0, q8_0};

/// A finite f16 over the whole range (subnormals to 65504), either sign.
pub(super) fn f16_bits(rng: &mut StdRng) -> u16 {
    let sign = if rng.random::<bool>() { 0x8000 } else { 0 };
    let exp: u16 = rng.random_range(0..31);
    let man: u16 = rng.random_range(0..1024);
    sign | (exp << 10) | man
}

/// A moderate f16 scale like real weights have (about 1e-4 .. 1).
pub(super) fn f16_scale(rng: &mut StdRng) -> u16 {
    let sign = if rng.random::<bool>() { 0x8000 } else { 0 };
    sign | (rng.random_range(2u16..15) << 10) | rng.random_range(0..1024u16)
}

/// Activations that look like hidden states: mostly small, a few outliers, some zero blocks.
pub(super) fn activations(rng: &mut StdRng, n: usize) -> Vec<f32> {
    let scale = [0.01f32, 1.0, 30.0][rng.random_range(0..3)];
    let mut x: Vec<f32> = (0..n)
        .map(|_| {
            let v: f32 = rng.random_range(-1.0..1.0) + rng.random_range(-1.0..1.0);
            if rng.random_range(0..50) == 0 {
                v * 40.0 * scale
            } else {
                v * scale
            }
        })
        .collect();
    if n >= 64 && rng.random::<bool>() {
        x[32..64].fill(0.0);
    }
    x
}

/// `nb` random Q8_0 blocks; `extreme` uses the whole f16 range for scales.
pub(super) fn q8_0_blocks(rng: &mut StdRng, nb: usize, extreme: bool) -> Vec<u8> {
    let mut w = Vec::with_capacity(nb * q8_0::BLOCK_BYTES);
    for _ in 0..nb {
        let d = if extreme {
            f16_bits(rng)
        } else {
            f16_scale(rng)
        };
        w.extend_from_slice(&d.to_le_bytes());
        let all_min = rng.random_range(0..8) == 0;
        for _ in 0..32 {
            w.push(if all_min { 0x80 } else { rng.random::<u8>() });
        }
    }
    w
}

/// `nb` random Q5_0 blocks (all bit patterns of `qh` and `qs`).
pub(super) fn q5_0_blocks(rng: &mut StdRng, nb: usize, extreme: bool) -> Vec<u8> {
    let mut w = Vec::with_capacity(nb * q5_0::BLOCK_BYTES);
    for _ in 0..nb {
        let d = if extreme {
            f16_bits(rng)
        } else {
            f16_scale(rng)
        };
        w.extend_from_slice(&d.to_le_bytes());
        let pattern = rng.random_range(0..8);
        for _ in 0..20 {
            w.push(match pattern {
                0 => 0x00,
                1 => 0xFF,
                _ => rng.random::<u8>(),
            });
        }
    }
    w
}

fn close(got: f32, want: f64, magnitude: f64, what: &str) {
    let tol = 1e-5 * magnitude + 1e-30;
    assert!(
        (f64::from(got) - want).abs() <= tol,
        "{what}: got {got}, want {want} (tolerance {tol})"
    );
}

/// Reference: dequantize both sides, dot in f64.
fn reference(w: &[f32], a: &[f32]) -> (f64, f64) {
    let mut s = 0.0f64;
    let mut mag = 0.0f64;
    for (&x, &y) in w.iter().zip(a) {
        let p = f64::from(x) * f64::from(y);
        s += p;
        mag += p.abs();
    }
    (s, mag)
}

type Dot = fn(&[u8], &Q8Row) -> f32;
type Rows4 = fn([&[u8]; 4], &Q8Row) -> [f32; 4];
type Dot8 = fn(&[u8], [&Q8Row; 8]) -> [f32; 8];

/// `dot8` through the dispatcher and at every level this CPU has (`levels` = the AVX2 and
/// AVX-512 versions, each only called when the CPU has it).
fn dot8_levels(dispatch: Dot8, levels: [Dot8; 2]) -> Vec<(&'static str, Dot8)> {
    let mut v: Vec<(&'static str, Dot8)> = vec![("dot8", dispatch)];
    #[cfg(target_arch = "x86_64")]
    {
        use super::cpu::{detected, Level};
        if detected() >= Level::Avx2 {
            v.push(("avx2x8", levels[0]));
        }
        if detected() >= Level::Avx512 {
            v.push(("avx512x8", levels[1]));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = levels;
    v
}

/// `dot_rows4` through the dispatcher and at every level this CPU has (`levels` =
/// the AVX2 and AVX-512 versions, each only called when the CPU has it).
fn rows4_levels(dispatch: Rows4, levels: [Rows4; 2]) -> Vec<(&'static str, Rows4)> {
    let mut v: Vec<(&'static str, Rows4)> = vec![("rows4", dispatch)];
    #[cfg(target_arch = "x86_64")]
    {
        use super::cpu::{detected, Level};
        if detected() >= Level::Avx2 {
            v.push(("avx2rows4", levels[0]));
        }
        if detected() >= Level::Avx512 {
            v.push(("avx512rows4", levels[1]));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = levels;
    v
}

#[allow(clippy::too_many_arguments)] // one list per kernel family under test
fn check_q8_format(
    name: &str,
    gen: fn(&mut StdRng, usize, bool) -> Vec<u8>,
    scalar: Dot,
    dequantize: fn(&[u8], &mut [f32]),
    levels: &[(&str, Dot)],
    dot4: fn(&[u8], [&Q8Row; 4]) -> [f32; 4],
    rows4: &[(&str, Rows4)],
    dot8s: &[(&str, Dot8)],
) {
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    for case in 0..300 {
        let nb = [1, 2, 3, 4, 5, 7, 8, 9, 20, 28, 152, 21][case % 12];
        let extreme = case % 3 == 0;
        let w = gen(&mut rng, nb, extreme);
        let rows: Vec<Q8Row> = (0..4)
            .map(|_| Q8Row::quantize(&activations(&mut rng, nb * 32)))
            .collect();
        let want: Vec<f32> = rows.iter().map(|a| scalar(&w, a)).collect();
        for (lname, f) in levels {
            for (a, &s) in rows.iter().zip(&want) {
                let got = f(&w, a);
                assert_eq!(
                    got.to_bits(),
                    s.to_bits(),
                    "{name} {lname} nb={nb}: {got} vs {s}"
                );
            }
        }
        // Four weight rows (this one and three more) against each activation row.
        let more: Vec<Vec<u8>> = (0..3).map(|_| gen(&mut rng, nb, extreme)).collect();
        let ws = [&w[..], &more[0][..], &more[1][..], &more[2][..]];
        for a in &rows {
            let want4 = ws.map(|wi| scalar(wi, a));
            for (lname, f) in rows4 {
                let got = f(ws, a);
                for k in 0..4 {
                    assert_eq!(
                        got[k].to_bits(),
                        want4[k].to_bits(),
                        "{name} {lname} row {k} nb={nb}: {} vs {}",
                        got[k],
                        want4[k]
                    );
                }
            }
        }
        let got4 = dot4(&w, [&rows[0], &rows[1], &rows[2], &rows[3]]);
        for (g, s) in got4.iter().zip(&want) {
            assert_eq!(g.to_bits(), s.to_bits(), "{name} dot4 nb={nb}");
        }
        // One weight row against eight activation rows (these four and four more).
        let rows8: Vec<Q8Row> = (0..4)
            .map(|_| Q8Row::quantize(&activations(&mut rng, nb * 32)))
            .collect();
        let a8: Vec<&Q8Row> = rows.iter().chain(&rows8).collect();
        let a8: [&Q8Row; 8] = [a8[0], a8[1], a8[2], a8[3], a8[4], a8[5], a8[6], a8[7]];
        let want8 = a8.map(|a| scalar(&w, a));
        for (lname, f) in dot8s {
            let got = f(&w, a8);
            for k in 0..8 {
                assert_eq!(
                    got[k].to_bits(),
                    want8[k].to_bits(),
                    "{name} {lname} row {k} nb={nb}: {} vs {}",
                    got[k],
                    want8[k]
                );
            }
        }
        if !extreme {
            let mut wf = vec![0f32; nb * 32];
            dequantize(&w, &mut wf);
            for (a, &s) in rows.iter().zip(&want) {
                let (r, mag) = reference(&wf, &a.dequantize());
                close(s, r, mag, name);
            }
        }
    }
}

#[allow(clippy::type_complexity)]
fn q8_levels() -> Vec<(&'static str, Dot)> {
    let mut v: Vec<(&'static str, Dot)> = vec![("dot", q8_0::dot)];
    #[cfg(target_arch = "x86_64")]
    {
        use super::cpu::{detected, Level};
        if detected() >= Level::Avx2 {
            // SAFETY (in the closures): the CPU has the level.
            v.push(("avx2", |w, a| unsafe { q8_0::dot_avx2(w, a) }));
            v.push(("avx2x4", |w, a| unsafe {
                q8_0::dot4_avx2(w, [a, a, a, a])[2]
            }));
        }
        if detected() >= Level::Avx512 {
            v.push(("avx512", |w, a| unsafe { q8_0::dot_avx512(w, a) }));
            v.push(("avx512x4", |w, a| unsafe {
                q8_0::dot4_avx512(w, [a, a, a, a])[2]
            }));
        }
    }
    v
}

#[allow(clippy::type_complexity)]
fn q5_levels() -> Vec<(&'static str, Dot)> {
    let mut v: Vec<(&'static str, Dot)> = vec![("dot", q5_0::dot)];
    #[cfg(target_arch = "x86_64")]
    {
        use super::cpu::{detected, Level};
        if detected() >= Level::Avx2 {
            v.push(("avx2", |w, a| unsafe { q5_0::dot_avx2(w, a) }));
            v.push(("avx2x4", |w, a| unsafe {
                q5_0::dot4_avx2(w, [a, a, a, a])[1]
            }));
        }
        if detected() >= Level::Avx512 {
            v.push(("avx512", |w, a| unsafe { q5_0::dot_avx512(w, a) }));
            v.push(("avx512x4", |w, a| unsafe {
                q5_0::dot4_avx512(w, [a, a, a, a])[3]
            }));
        }
    }
    v
}

#[test]
fn q8_0_levels_match_scalar_and_dequantize() {
    check_q8_format(
        "q8_0",
        q8_0_blocks,
        q8_0::dot_scalar,
        q8_0::dequantize,
        &q8_levels(),
        q8_0::dot4,
        &rows4_levels(
            q8_0::dot_rows4,
            [
                |w, a| {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: only called when the CPU has AVX2 (rows4_levels).
                    return unsafe { q8_0::dot_rows4_avx2(w, a) };
                    #[allow(unreachable_code)]
                    q8_0::dot_rows4(w, a)
                },
                |w, a| {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: only called when the CPU has AVX-512 (rows4_levels).
                    return unsafe { q8_0::dot_rows4_avx512(w, a) };
                    #[allow(unreachable_code)]
                    q8_0::dot_rows4(w, a)
                },
            ],
        ),
        &dot8_levels(
            q8_0::dot8,
            [
                |w, a| {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: only called when the CPU has AVX2 (dot8_levels).
                    return unsafe { q8_0::dot8_avx2(w, a) };
                    #[allow(unreachable_code)]
                    q8_0::dot8(w, a)
                },
                |w, a| {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: only called when the CPU has AVX-512 (dot8_levels).
                    return unsafe { q8_0::dot8_avx512(w, a) };
                    #[allow(unreachable_code)]
                    q8_0::dot8(w, a)
                },
            ],
        ),
    );
}

#[test]
fn q5_0_levels_match_scalar_and_dequantize() {
    check_q8_format(
        "q5_0",
        q5_0_blocks,
        q5_0::dot_scalar,
        q5_0::dequantize,
        &q5_levels(),
        q5_0::dot4,
        &rows4_levels(
            q5_0::dot_rows4,
            [
                |w, a| {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: only called when the CPU has AVX2 (rows4_levels).
                    return unsafe { q5_0::dot_rows4_avx2(w, a) };
                    #[allow(unreachable_code)]
                    q5_0::dot_rows4(w, a)
                },
                |w, a| {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: only called when the CPU has AVX-512 (rows4_levels).
                    return unsafe { q5_0::dot_rows4_avx512(w, a) };
                    #[allow(unreachable_code)]
                    q5_0::dot_rows4(w, a)
                },
            ],
        ),
        &dot8_levels(
            q5_0::dot8,
            [
                |w, a| {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: only called when the CPU has AVX2 (dot8_levels).
                    return unsafe { q5_0::dot8_avx2(w, a) };
                    #[allow(unreachable_code)]
                    q5_0::dot8(w, a)
                },
                |w, a| {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: only called when the CPU has AVX-512 (dot8_levels).
                    return unsafe { q5_0::dot8_avx512(w, a) };
                    #[allow(unreachable_code)]
                    q5_0::dot8(w, a)
                },
            ],
        ),
    );
}

#[test]
fn q5_0_decoding_by_hand() {
    // d = 1.0, qh bit 0 and bit 17 set, qs[0] = 0x21, qs[1] = 0xF0.
    let mut blk = vec![0x00, 0x3c];
    blk.extend_from_slice(&((1u32 << 0) | (1 << 17)).to_le_bytes());
    let mut qs = [0u8; 16];
    qs[0] = 0x21;
    qs[1] = 0xF0;
    blk.extend_from_slice(&qs);
    let mut out = [0f32; 32];
    q5_0::dequantize(&blk, &mut out);
    assert_eq!(out[0], (1 + 16 - 16) as f32); // low nibble 1, fifth bit set
    assert_eq!(out[16], (2 - 16) as f32); // high nibble 2, bit 16 clear
    assert_eq!(out[1], (0 - 16) as f32);
    assert_eq!(out[17], (15 + 16 - 16) as f32); // bit 17 set
    assert_eq!(out[2], -16.0);
}

#[test]
fn f16_conversion_is_exact() {
    assert_eq!(f16_to_f32(0x3c00), 1.0);
    assert_eq!(f16_to_f32(0xc000), -2.0);
    assert_eq!(f16_to_f32(0x7bff), 65504.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
    assert!(f16_to_f32(0x7e00).is_nan());
    #[cfg(target_arch = "x86_64")]
    if super::cpu::detected() >= super::cpu::Level::Avx2 {
        for h in 0..=u16::MAX {
            let e = (h >> 10) & 0x1f;
            if e == 0x1f {
                continue;
            }
            // SAFETY: F16C is present.
            let hw = unsafe { f16c(h) };
            assert_eq!(f16_to_f32(h).to_bits(), hw.to_bits(), "{h:#x}");
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "f16c")]
unsafe fn f16c(h: u16) -> f32 {
    use std::arch::x86_64::*;
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(h))))
}

#[test]
fn float_levels_match_scalar() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0002);
    for case in 0..200 {
        let n = [1, 7, 63, 64, 65, 127, 128, 200, 896, 1000][case % 10];
        let x = activations(&mut rng, n);
        for ty in [Float::F32, Float::F16] {
            let w: Vec<u8> = match ty {
                Float::F32 => activations(&mut rng, n)
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                Float::F16 => (0..n)
                    .flat_map(|_| {
                        if case % 2 == 0 {
                            f16_bits(&mut rng)
                        } else {
                            f16_scale(&mut rng)
                        }
                        .to_le_bytes()
                    })
                    .collect(),
            };
            let s = float::dot_scalar(ty, &w, &x);
            assert_eq!(float::dot(ty, &w, &x).to_bits(), s.to_bits());
            #[cfg(target_arch = "x86_64")]
            {
                use super::cpu::{detected, Level};
                if detected() >= Level::Avx2 {
                    // SAFETY: the CPU has the level.
                    let g = unsafe { float::dot_avx2(ty, &w, &x) };
                    assert_eq!(g.to_bits(), s.to_bits(), "{ty:?} avx2 n={n}");
                }
                if detected() >= Level::Avx512 {
                    // SAFETY: the CPU has the level.
                    let g = unsafe { float::dot_avx512(ty, &w, &x) };
                    assert_eq!(g.to_bits(), s.to_bits(), "{ty:?} avx512 n={n}");
                }
            }
            let mut wf = vec![0f32; n];
            float::dequantize(ty, &w, &mut wf);
            let (r, mag) = reference(&wf, &x);
            close(s, r, mag, "float");
        }
    }
}
