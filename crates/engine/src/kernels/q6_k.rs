//! Q6_K weights (ggml layout) against Q8K activation rows.
//!
//! A block holds 256 weights in 210 bytes: `ql[128]` (low 4 bits), `qh[64]` (high 2 bits),
//! `i8 scales[16]` (one per 16 elements) and f16 `d`. The block is two halves of 128 elements;
//! in half `n`, element `128n + 32k + l` (`k` in 0..4, `l` in 0..32) takes its low nibble from
//! `ql[64n + l]` (k = 0: low, k = 2: high) or `ql[64n + 32 + l]` (k = 1: low, k = 3: high) and
//! its top two bits from bits `2k, 2k+1` of `qh[32n + l]`. A weight is
//! `d * scales[e / 16] * (q - 32)` with `q` in 0..64.
//!
//! # Canonical arithmetic (what every level reproduces bit for bit)
//! Per weight block `b` with activation scale `da`:
//! - eight integer lanes `P[l] = sum over the elements i with (i % 32) / 4 == l of
//!   sc[i / 16] * q[i] * a[i]  -  32 * (sc[2l] * bsums[2l] + sc[2l + 1] * bsums[2l + 1])`
//!   (exact `i32`; the first part is the lane a 32-byte `maddubs`+`madd` puts element `i` in, the
//!   second the `-32` offset folded in through the activation sums);
//! - `acc[l] = fma(da * d, P[l] as f32, acc[l])`, blocks in order (`|P|` can exceed 2^24 only
//!   for extreme scales; the conversion then rounds to nearest-even, identically in scalar
//!   `as f32` and SIMD `cvtdq2ps`);
//! - the result is `((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))`.
//!
//! The AVX2 path builds `P` with `maddubs`+`madd`; the AVX-512 path with 256-bit VNNI
//! (AVX-512VL): `dpbusd` per 32 elements, two vectors' lane sums paired as i16 and scaled by one
//! `dpwssd`. The offset is one `madd` of the bsums with the scales. `dot4` shares the weight
//! decoding across four rows, so `dot4(w, a)[i] == dot(w, a[i])`.

#![allow(unsafe_code)]

use super::act_k::{read_f16, Q8KRow, BSUMS, QK_K};
use super::cpu::{detected, level, Level};

/// Elements per block.
pub const BLOCK: usize = QK_K;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 210;

const QH: usize = 128;
const SC: usize = 192;
const D: usize = 208;

/// The 256 6-bit quants (0..64) of a block, in element order.
#[inline(always)]
fn quants(blk: &[u8]) -> [u8; QK_K] {
    let mut q = [0u8; QK_K];
    for n in 0..2 {
        let (ql, qh) = (
            &blk[64 * n..64 * n + 64],
            &blk[QH + 32 * n..QH + 32 * n + 32],
        );
        let out = &mut q[128 * n..128 * n + 128];
        for l in 0..32 {
            let (lo, hi, h) = (ql[l], ql[32 + l], qh[l]);
            out[l] = (lo & 15) | ((h & 3) << 4);
            out[32 + l] = (hi & 15) | (((h >> 2) & 3) << 4);
            out[64 + l] = (lo >> 4) | (((h >> 4) & 3) << 4);
            out[96 + l] = (hi >> 4) | ((h >> 6) << 4);
        }
    }
    q
}

/// Decodes whole blocks of `src` into `out` (`out.len() == src.len() / 210 * 256`).
pub fn dequantize(src: &[u8], out: &mut [f32]) {
    assert_eq!(src.len() % BLOCK_BYTES, 0, "Q6_K data is not whole blocks");
    assert_eq!(
        out.len(),
        src.len() / BLOCK_BYTES * BLOCK,
        "Q6_K output length"
    );
    for (blk, y) in src
        .chunks_exact(BLOCK_BYTES)
        .zip(out.chunks_exact_mut(BLOCK))
    {
        let d = read_f16(&blk[D..D + 2]);
        let q = quants(blk);
        for (g, (yg, qg)) in y.chunks_exact_mut(16).zip(q.chunks_exact(16)).enumerate() {
            let ds = d * f32::from(blk[SC + g] as i8);
            for (v, &qe) in yg.iter_mut().zip(qg) {
                *v = ds * f32::from(i16::from(qe) - 32);
            }
        }
    }
}

/// The fixed final reduction shared by every level (see the module docs).
#[inline(always)]
fn reduce8(acc: &[f32; 8]) -> f32 {
    let mut v = *acc;
    super::reduce_lanes(&mut v)
}

/// The shape check the SIMD paths rely on (their loads are unchecked).
fn check(w: &[u8], a: &Q8KRow) {
    assert!(
        w.len().is_multiple_of(BLOCK_BYTES) && a.fits(w.len() / BLOCK_BYTES),
        "Q6_K row of {} bytes against {} activation blocks",
        w.len(),
        a.blocks()
    );
}

fn dot_n_scalar<const N: usize>(w: &[u8], a: [&Q8KRow; N]) -> [f32; N] {
    let mut acc = [[0f32; 8]; N];
    for (b, blk) in w.chunks_exact(BLOCK_BYTES).enumerate() {
        let d = read_f16(&blk[D..D + 2]);
        let sc: [i32; 16] = std::array::from_fn(|g| i32::from(blk[SC + g] as i8));
        let q = quants(blk);
        for r in 0..N {
            let aq = &a[r].qs[b * QK_K..(b + 1) * QK_K];
            let bs = &a[r].bsums[b * BSUMS..(b + 1) * BSUMS];
            let mut p = [0i32; 8];
            for run in 0..8 {
                let (qr, ar) = (&q[32 * run..32 * run + 32], &aq[32 * run..32 * run + 32]);
                let (s0, s1) = (sc[2 * run], sc[2 * run + 1]);
                // Element products first (vectorizes), then each lane's four.
                let mut t = [0i32; 32];
                for i in 0..32 {
                    let s = if i < 16 { s0 } else { s1 };
                    t[i] = s * i32::from(qr[i]) * i32::from(ar[i]);
                }
                for (l, pl) in p.iter_mut().enumerate() {
                    *pl += (t[4 * l] + t[4 * l + 1]) + (t[4 * l + 2] + t[4 * l + 3]);
                }
            }
            let dd = a[r].d[b] * d;
            for l in 0..8 {
                let corr =
                    sc[2 * l] * i32::from(bs[2 * l]) + sc[2 * l + 1] * i32::from(bs[2 * l + 1]);
                acc[r][l] = dd.mul_add((p[l] - 32 * corr) as f32, acc[r][l]);
            }
        }
    }
    std::array::from_fn(|r| reduce8(&acc[r]))
}

/// The canonical dot product of one Q6_K weight row with a Q8K activation row.
pub fn dot_scalar(w: &[u8], a: &Q8KRow) -> f32 {
    check(w, a);
    dot_n_scalar::<1>(w, [a])[0]
}

/// [`dot_scalar`] with AVX2+FMA.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
pub unsafe fn dot_avx2(w: &[u8], a: &Q8KRow) -> f32 {
    check(w, a);
    x86::dot_n::<1>(w, [a])[0]
}

/// [`dot_scalar`] with AVX-512 VNNI (256-bit `dpbusd` + `dpwssd`).
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C, AVX-512 F/BW/VL and VNNI.
#[cfg(target_arch = "x86_64")]
pub unsafe fn dot_avx512(w: &[u8], a: &Q8KRow) -> f32 {
    check(w, a);
    x86::dot_n_vnni::<1>(w, [a])[0]
}

/// The dot product of one Q6_K weight row with a Q8K activation row at the process's kernel
/// level; bit-identical to [`dot_scalar`].
pub fn dot(w: &[u8], a: &Q8KRow) -> f32 {
    dot_at::<1>(level(), w, [a])[0]
}

/// One weight row against four activation rows; `dot4(w, a)[i] == dot(w, a[i])` bit for bit.
pub fn dot4(w: &[u8], a: [&Q8KRow; 4]) -> [f32; 4] {
    dot_at::<4>(level(), w, a)
}

/// `N` activation rows at an explicit level (capped at what the CPU has), for the public
/// entry points, tests and benchmarks.
pub(crate) fn dot_at<const N: usize>(at: Level, w: &[u8], a: [&Q8KRow; N]) -> [f32; N] {
    for r in a {
        check(w, r);
    }
    match at.min(detected()) {
        // SAFETY: the level is capped at the one detected on this CPU.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { x86::dot_n_vnni::<N>(w, a) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { x86::dot_n::<N>(w, a) },
        _ => dot_n_scalar::<N>(w, a),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::act_k::{Q8KRow, BSUMS, QK_K};
    use super::{BLOCK_BYTES, D, QH, SC};
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn finish(acc: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
        let t = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)))
    }

    /// The four 32-byte quant vectors (values 0..64) of half `n` of a block, `k` = 0..4.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn quants(blk: *const u8, n: usize) -> [__m256i; 4] {
        let m4 = _mm256_set1_epi8(0x0f);
        let m30 = _mm256_set1_epi8(0x30);
        let ql0 = _mm256_loadu_si256(blk.add(64 * n).cast());
        let ql1 = _mm256_loadu_si256(blk.add(64 * n + 32).cast());
        let qh = _mm256_loadu_si256(blk.add(QH + 32 * n).cast());
        [
            _mm256_or_si256(
                _mm256_and_si256(ql0, m4),
                _mm256_and_si256(_mm256_slli_epi16::<4>(qh), m30),
            ),
            _mm256_or_si256(
                _mm256_and_si256(ql1, m4),
                _mm256_and_si256(_mm256_slli_epi16::<2>(qh), m30),
            ),
            _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16::<4>(ql0), m4),
                _mm256_and_si256(qh, m30),
            ),
            _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16::<4>(ql1), m4),
                _mm256_and_si256(_mm256_srli_epi16::<2>(qh), m30),
            ),
        ]
    }

    /// The i16 scales of half `n`: vector `k` holds `sc[8n + 2k]` in its low 16 bytes and
    /// `sc[8n + 2k + 1]` in its high 16 bytes (8 copies each).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales(blk: *const u8, n: usize) -> [__m256i; 4] {
        let s = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_loadl_epi64(
            blk.add(SC + 8 * n).cast(),
        )));
        let pick = |k: i16| {
            let lo = ((4 * k + 1) << 8) | (4 * k);
            let hi = ((4 * k + 3) << 8) | (4 * k + 2);
            _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo))
        };
        [
            _mm256_shuffle_epi8(s, pick(0)),
            _mm256_shuffle_epi8(s, pick(1)),
            _mm256_shuffle_epi8(s, pick(2)),
            _mm256_shuffle_epi8(s, pick(3)),
        ]
    }

    /// `32 * (sc[2l] * bsums[2l] + sc[2l + 1] * bsums[2l + 1])` per lane `l`.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn offset(blk: *const u8, bsums: *const i16) -> __m256i {
        let sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(blk.add(SC).cast()));
        let bs = _mm256_loadu_si256(bsums.cast());
        _mm256_slli_epi32::<5>(_mm256_madd_epi16(bs, sc))
    }

    /// The VNNI scales of half `n`: for the vector pair (k, k + 1) = (0, 1) or (2, 3), i16
    /// pairs `(sc[8n + 2k], sc[8n + 2k + 2])` in the low 128 bits and
    /// `(sc[8n + 2k + 1], sc[8n + 2k + 3])` in the high 128 bits.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn pair_scales(blk: *const u8, n: usize) -> [__m256i; 2] {
        let s = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_loadl_epi64(
            blk.add(SC + 8 * n).cast(),
        )));
        let pick = |w: [u8; 4]| {
            let bytes = |a: u8, b: u8| i32::from_le_bytes([2 * a, 2 * a + 1, 2 * b, 2 * b + 1]);
            _mm256_set_m128i(
                _mm_set1_epi32(bytes(w[2], w[3])),
                _mm_set1_epi32(bytes(w[0], w[1])),
            )
        };
        [
            _mm256_shuffle_epi8(s, pick([0, 2, 1, 3])),
            _mm256_shuffle_epi8(s, pick([4, 6, 5, 7])),
        ]
    }

    /// One row's half `n`: adds `sc[e / 16] * q[e] * a[e]` of its 128 elements to the lanes.
    /// AVX2: `maddubs` then `madd` with the scales. VNNI: `dpbusd` gives 4-element lane sums
    /// (at most 32004 in magnitude: they fit i16), two vectors' sums are interleaved as i16
    /// pairs and one `dpwssd` applies their scales.
    macro_rules! half {
        (avx2, $sums:expr, $q:expr, $s:expr, $ap:expr) => {{
            let mut sums = $sums;
            for k in 0..4 {
                let av = _mm256_loadu_si256($ap.add(32 * k).cast());
                let p = _mm256_madd_epi16(_mm256_maddubs_epi16($q[k], av), $s[k]);
                sums = _mm256_add_epi32(sums, p);
            }
            sums
        }};
        (vnni, $sums:expr, $q:expr, $s:expr, $ap:expr) => {{
            let mut sums = $sums;
            let z = _mm256_setzero_si256();
            for k in [0, 2] {
                let a0 = _mm256_loadu_si256($ap.add(32 * k).cast());
                let a1 = _mm256_loadu_si256($ap.add(32 * k + 32).cast());
                let even = _mm256_dpbusd_epi32(z, $q[k], a0);
                let odd = _mm256_slli_epi32::<16>(_mm256_dpbusd_epi32(z, $q[k + 1], a1));
                let pair = _mm256_blend_epi16::<0xaa>(even, odd);
                sums = _mm256_dpwssd_epi32(sums, pair, $s[k / 2]);
            }
            sums
        }};
    }

    macro_rules! half_scales {
        (avx2, $p:expr, $n:expr) => {
            scales($p, $n)
        };
        (vnni, $p:expr, $n:expr) => {
            pair_scales($p, $n)
        };
    }

    macro_rules! body {
        ($w:ident, $a:ident, $n_rows:ident, $mac:ident) => {{
            let mut acc = [_mm256_setzero_ps(); $n_rows];
            for (b, blk) in $w.chunks_exact(BLOCK_BYTES).enumerate() {
                let p = blk.as_ptr();
                let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(
                    p.add(D).cast::<u16>().read_unaligned(),
                ))));
                let mut sums = [_mm256_setzero_si256(); $n_rows];
                for n in 0..2 {
                    let q = quants(p, n);
                    let s = half_scales!($mac, p, n);
                    for r in 0..$n_rows {
                        let ap = $a[r].qs.as_ptr().add(b * QK_K + 128 * n);
                        sums[r] = half!($mac, sums[r], q, s, ap);
                    }
                }
                for r in 0..$n_rows {
                    let off = offset(p, $a[r].bsums.as_ptr().add(b * BSUMS));
                    let pl = _mm256_sub_epi32(sums[r], off);
                    let dd = _mm256_set1_ps(*$a[r].d.get_unchecked(b) * d);
                    acc[r] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(pl), acc[r]);
                }
            }
            let mut out = [0f32; $n_rows];
            for r in 0..$n_rows {
                out[r] = finish(acc[r]);
            }
            out
        }};
    }

    /// AVX2 path (`maddubs` + `madd`); `N` activation rows share the weight decoding.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot_n<const N: usize>(w: &[u8], a: [&Q8KRow; N]) -> [f32; N] {
        body!(w, a, N, avx2)
    }

    /// AVX-512 VNNI path (256-bit `dpbusd` + `dpwssd`): same lanes as [`dot_n`].
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    pub(super) unsafe fn dot_n_vnni<const N: usize>(w: &[u8], a: [&Q8KRow; N]) -> [f32; N] {
        body!(w, a, N, vnni)
    }
}
