//! Q4_K weights (ggml layout) against Q8K activation rows.
//!
//! A block holds 256 weights in 144 bytes: f16 `d`, f16 `dmin`, 12 bytes packing eight 6-bit
//! scales `sc[j]` and eight 6-bit mins `m[j]` (one each per 32-element sub-block `j`), then 128
//! bytes of 4-bit quants: bytes `32c .. 32c + 32` carry sub-block `2c` in their low nibbles and
//! sub-block `2c + 1` in their high nibbles. A weight is `d * sc[j] * q - dmin * m[j]`.
//!
//! # Canonical arithmetic (what every level reproduces bit for bit)
//! Per weight block `b` with activation scale `da`:
//! - eight integer lanes `P[l] = sum over the elements i with (i % 32) / 4 == l of
//!   sc[i / 32] * q[i] * a[i]` (exact `i32`; this is the lane a 32-byte `maddubs`+`madd`, or
//!   `dpbusd`, puts element `i` in);
//! - eight integer lanes `M[l] = m[l] * (bsums[2l] + bsums[2l + 1])` (sub-block `l`'s min times
//!   its activation sum);
//! - `acc[l] = fma(da * d, P[l] as f32, acc[l])` and `accm[l] = fma(da * dmin, M[l] as f32,
//!   accm[l])`, blocks in order (every conversion is exact: `|P| < 2^22`, `|M| < 2^18`);
//! - at the end `v[l] = acc[l] - accm[l]` and the result is
//!   `((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7))`.
//!
//! The AVX2 path builds `P` with `maddubs`+`madd`; the AVX-512 path with 256-bit VNNI
//! (AVX-512VL): `dpbusd` per sub-block, two sub-blocks' sums paired as i16 and scaled by one
//! `dpwssd`. Both then run the same 8-lane float steps (the reduction is the module-wide
//! `reduce_lanes` tree). `dot4` shares the weight decoding across four activation rows and runs
//! the same steps per row, so `dot4(w, a)[i] == dot(w, a[i])`.

#![allow(unsafe_code)]

use super::act_k::{read_f16, Q8KRow, BSUMS, QK_K};
use super::cpu::{detected, level, Level};

/// Elements per block.
pub const BLOCK: usize = QK_K;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 144;

/// The eight 6-bit scales and eight 6-bit mins packed in a block's 12 scale bytes: sub-blocks
/// 0-3 keep theirs in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 keep
/// their low 4 bits in the nibbles of bytes 8-11 (scale low, min high) and their top 2 bits in
/// the top 2 bits of bytes 0-3 (scales) and 4-7 (mins).
#[inline(always)]
pub(crate) fn scales_mins(s: &[u8]) -> ([u8; 8], [u8; 8]) {
    let (sc, mn) = packed_scales_mins(s);
    (sc.to_le_bytes(), mn.to_le_bytes())
}

/// [`scales_mins`] as two little-endian words (byte `j` = sub-block `j`), computed a word at a
/// time: per byte, `(x >> 6) << 4` is `(word >> 2) & 0x30`.
#[inline(always)]
pub(crate) fn packed_scales_mins(s: &[u8]) -> (u64, u64) {
    let word = |i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    let (w0, w1, w2) = (word(0), word(4), word(8));
    let sc_lo = w0 & 0x3f3f_3f3f;
    let sc_hi = (w2 & 0x0f0f_0f0f) | ((w0 >> 2) & 0x3030_3030);
    let mn_lo = w1 & 0x3f3f_3f3f;
    let mn_hi = ((w2 >> 4) & 0x0f0f_0f0f) | ((w1 >> 2) & 0x3030_3030);
    (
        u64::from(sc_lo) | (u64::from(sc_hi) << 32),
        u64::from(mn_lo) | (u64::from(mn_hi) << 32),
    )
}

/// Decodes whole blocks of `src` into `out` (`out.len() == src.len() / 144 * 256`).
pub fn dequantize(src: &[u8], out: &mut [f32]) {
    assert_eq!(src.len() % BLOCK_BYTES, 0, "Q4_K data is not whole blocks");
    assert_eq!(
        out.len(),
        src.len() / BLOCK_BYTES * BLOCK,
        "Q4_K output length"
    );
    for (blk, y) in src
        .chunks_exact(BLOCK_BYTES)
        .zip(out.chunks_exact_mut(BLOCK))
    {
        let d = read_f16(&blk[0..2]);
        let dmin = read_f16(&blk[2..4]);
        let (sc, mn) = scales_mins(&blk[4..16]);
        for c in 0..4 {
            let qs = &blk[16 + 32 * c..16 + 32 * c + 32];
            let (d0, m0) = (d * f32::from(sc[2 * c]), dmin * f32::from(mn[2 * c]));
            let (d1, m1) = (
                d * f32::from(sc[2 * c + 1]),
                dmin * f32::from(mn[2 * c + 1]),
            );
            for (i, &q) in qs.iter().enumerate() {
                y[64 * c + i] = d0 * f32::from(q & 15) - m0;
                y[64 * c + 32 + i] = d1 * f32::from(q >> 4) - m1;
            }
        }
    }
}

/// The fixed final reduction shared by every level (see the module docs).
#[inline(always)]
pub(crate) fn reduce8(acc: &[f32; 8], accm: &[f32; 8]) -> f32 {
    let mut v: [f32; 8] = std::array::from_fn(|l| acc[l] - accm[l]);
    super::reduce_lanes(&mut v)
}

/// The shape check the SIMD paths rely on (their loads are unchecked).
fn check(w: &[u8], a: &Q8KRow) {
    assert!(
        w.len().is_multiple_of(BLOCK_BYTES) && a.fits(w.len() / BLOCK_BYTES),
        "Q4_K row of {} bytes against {} activation blocks",
        w.len(),
        a.blocks()
    );
}

fn dot_n_scalar<const N: usize>(w: &[u8], a: [&Q8KRow; N]) -> [f32; N] {
    let mut acc = [[0f32; 8]; N];
    let mut accm = [[0f32; 8]; N];
    for (b, blk) in w.chunks_exact(BLOCK_BYTES).enumerate() {
        let d = read_f16(&blk[0..2]);
        let dmin = read_f16(&blk[2..4]);
        let (sc, mn) = scales_mins(&blk[4..16]);
        let qs = &blk[16..BLOCK_BYTES];
        for r in 0..N {
            let aq = &a[r].qs[b * QK_K..(b + 1) * QK_K];
            let bs = &a[r].bsums[b * BSUMS..(b + 1) * BSUMS];
            let mut p = [0i32; 8];
            for c in 0..4 {
                let (s0, s1) = (i32::from(sc[2 * c]), i32::from(sc[2 * c + 1]));
                let q = &qs[32 * c..32 * c + 32];
                let (a0, a1) = (&aq[64 * c..64 * c + 32], &aq[64 * c + 32..64 * c + 64]);
                // Element products first (vectorizes), then each lane's four.
                let mut t = [0i32; 32];
                for i in 0..32 {
                    t[i] = s0 * i32::from(q[i] & 15) * i32::from(a0[i])
                        + s1 * i32::from(q[i] >> 4) * i32::from(a1[i]);
                }
                for (l, pl) in p.iter_mut().enumerate() {
                    *pl += (t[4 * l] + t[4 * l + 1]) + (t[4 * l + 2] + t[4 * l + 3]);
                }
            }
            let da = a[r].d[b];
            let (dd, dm) = (da * d, da * dmin);
            for l in 0..8 {
                let m = i32::from(mn[l]) * (i32::from(bs[2 * l]) + i32::from(bs[2 * l + 1]));
                acc[r][l] = dd.mul_add(p[l] as f32, acc[r][l]);
                accm[r][l] = dm.mul_add(m as f32, accm[r][l]);
            }
        }
    }
    std::array::from_fn(|r| reduce8(&acc[r], &accm[r]))
}

/// The canonical dot product of one Q4_K weight row with a Q8K activation row.
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

/// The dot product of one Q4_K weight row with a Q8K activation row at the process's kernel
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
    use super::{packed_scales_mins, BLOCK_BYTES};
    use std::arch::x86_64::*;

    /// Horizontal end of the canonical reduction on one row's accumulators.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn finish(acc: __m256, accm: __m256) -> f32 {
        let v = _mm256_sub_ps(acc, accm);
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let t = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)))
    }

    /// A block's `d` and `dmin` (F16C: exact, like the scalar conversion).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn d_dmin(blk: *const u8) -> (f32, f32) {
        let v = _mm_cvtph_ps(_mm_cvtsi32_si128(blk.cast::<i32>().read_unaligned()));
        (_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_movehdup_ps(v)))
    }

    /// Per block: the scales as i16 in both 128-bit halves (`[sc0..sc7 | sc0..sc7]`) and the
    /// mins as `[m0, m0, m1, m1, .., m7, m7]` (i16), ready for `madd` with the bsums.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales_mins(blk: &[u8]) -> (__m256i, __m256i) {
        let (sc, mn) = packed_scales_mins(&blk[4..16]);
        let both = _mm_set_epi64x(mn as i64, sc as i64);
        let sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(both));
        let mn8 = _mm_cvtepu8_epi16(_mm_srli_si128::<8>(both));
        let mins = _mm256_set_m128i(_mm_unpackhi_epi16(mn8, mn8), _mm_unpacklo_epi16(mn8, mn8));
        (sc16, mins)
    }

    /// Sub-block `j`'s scale in every i16 of a vector, picked out of `sc16`.
    macro_rules! scale {
        ($sc16:expr, $j:expr) => {
            _mm256_shuffle_epi8(
                $sc16,
                _mm256_set1_epi16(i16::from_le_bytes([2 * $j, 2 * $j + 1])),
            )
        };
    }

    /// One row's chunk `c`: `sums + sc[2c] * P(lo . a0) + sc[2c+1] * P(hi . a1)` per lane.
    /// AVX2: `maddubs` then `madd` with the broadcast scale. VNNI: `dpbusd` gives each
    /// sub-block's 4-element lane sums (at most 7620 in magnitude, so they fit i16), the two
    /// sub-blocks' sums are interleaved as i16 pairs and one `dpwssd` applies both scales.
    macro_rules! chunk {
        (avx2, $sums:expr, $lo:expr, $hi:expr, $a0:expr, $a1:expr, $sc16:expr, $c:expr) => {{
            let t = _mm256_madd_epi16(_mm256_maddubs_epi16($lo, $a0), scale!($sc16, 2 * $c));
            let u = _mm256_madd_epi16(_mm256_maddubs_epi16($hi, $a1), scale!($sc16, 2 * $c + 1));
            _mm256_add_epi32($sums, _mm256_add_epi32(t, u))
        }};
        (vnni, $sums:expr, $lo:expr, $hi:expr, $a0:expr, $a1:expr, $sc16:expr, $c:expr) => {{
            let z = _mm256_setzero_si256();
            let even = _mm256_dpbusd_epi32(z, $lo, $a0);
            let odd = _mm256_slli_epi32::<16>(_mm256_dpbusd_epi32(z, $hi, $a1));
            let pair = _mm256_blend_epi16::<0xaa>(even, odd);
            let spair = _mm256_shuffle_epi8(
                $sc16,
                _mm256_set1_epi32(i32::from_le_bytes([
                    4 * $c,
                    4 * $c + 1,
                    4 * $c + 2,
                    4 * $c + 3,
                ])),
            );
            _mm256_dpwssd_epi32($sums, pair, spair)
        }};
    }

    macro_rules! body {
        ($w:ident, $a:ident, $n_rows:ident, $mac:ident) => {{
            let m4 = _mm256_set1_epi8(0x0f);
            let mut acc = [_mm256_setzero_ps(); $n_rows];
            let mut accm = [_mm256_setzero_ps(); $n_rows];
            for (b, blk) in $w.chunks_exact(BLOCK_BYTES).enumerate() {
                let p = blk.as_ptr();
                let (d, dmin) = d_dmin(p);
                let (sc16, mins) = scales_mins(blk);
                let mut sums = [_mm256_setzero_si256(); $n_rows];
                for c in 0..4 {
                    let q = _mm256_loadu_si256(p.add(16 + 32 * c).cast());
                    let lo = _mm256_and_si256(q, m4);
                    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4);
                    for r in 0..$n_rows {
                        let ap = $a[r].qs.as_ptr().add(b * QK_K + 64 * c);
                        let a0 = _mm256_loadu_si256(ap.cast());
                        let a1 = _mm256_loadu_si256(ap.add(32).cast());
                        sums[r] = chunk!($mac, sums[r], lo, hi, a0, a1, sc16, c as u8);
                    }
                }
                for r in 0..$n_rows {
                    let bs = _mm256_loadu_si256($a[r].bsums.as_ptr().add(b * BSUMS).cast());
                    let mprod = _mm256_madd_epi16(bs, mins);
                    let da = *$a[r].d.get_unchecked(b);
                    let (dd, dm) = (_mm256_set1_ps(da * d), _mm256_set1_ps(da * dmin));
                    acc[r] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(sums[r]), acc[r]);
                    accm[r] = _mm256_fmadd_ps(dm, _mm256_cvtepi32_ps(mprod), accm[r]);
                }
            }
            let mut out = [0f32; $n_rows];
            for r in 0..$n_rows {
                out[r] = finish(acc[r], accm[r]);
            }
            out
        }};
    }

    /// AVX2 path (`maddubs` + `madd`); `N` activation rows share the weight decoding. The
    /// caller has checked that every row has as many blocks as `w`.
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
