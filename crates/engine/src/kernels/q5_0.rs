//! Q5_0 weights (ggml layout): blocks of 32 values, 22 bytes each: an f16 scale `d`, a u32
//! `qh` (bit `j` = fifth bit of element `j`), then 16 bytes `qs` (element `j < 16` in the
//! low nibble of `qs[j]`, element `j + 16` in its high nibble); `x = d * (q - 16)`.
//!
//! The kernels decode `q - 16` to a signed byte in [-16, 15] and reuse the Q8_0 integer path
//! (`|w| * sign(a, w)`), so the canonical order is exactly Q8_0's: 16 f32 lanes, block `b` in
//! lanes `8 * (b % 2) + l`, lane `l` = exact i32 sum over elements `4l .. 4l + 4`,
//! `acc = fma(d_w * d_a, p, acc)`, then [`super::reduce_lanes`].

use super::act::{Q8Row, QK};
#[cfg(target_arch = "x86_64")]
use super::cpu::{self, Level};
use super::{f16_to_f32, reduce_lanes};

/// Elements per block.
pub const BLOCK: usize = 32;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 22;

/// The 32 signed values `q - 16` of one block.
#[inline]
fn decode(blk: &[u8]) -> [i8; 32] {
    let qh = u32::from_le_bytes([blk[2], blk[3], blk[4], blk[5]]);
    let qs = &blk[6..22];
    let mut v = [0i8; 32];
    for j in 0..16 {
        let lo = (qs[j] & 15) | ((((qh >> j) & 1) as u8) << 4);
        let hi = (qs[j] >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
        v[j] = lo as i8 - 16;
        v[j + 16] = hi as i8 - 16;
    }
    v
}

/// Dequantizes whole blocks of `src` into `out` (`out.len()` values).
pub fn dequantize(src: &[u8], out: &mut [f32]) {
    for (blk, o) in src
        .chunks_exact(BLOCK_BYTES)
        .zip(out.chunks_exact_mut(BLOCK))
    {
        let d = f16_to_f32(u16::from_le_bytes([blk[0], blk[1]]));
        for (v, q) in o.iter_mut().zip(decode(blk)) {
            *v = d * f32::from(q);
        }
    }
}

#[inline]
fn block_scalar(blk: &[u8], a: &Q8Row, b: usize, acc: &mut [f32; 16]) {
    let s = f16_to_f32(u16::from_le_bytes([blk[0], blk[1]])) * a.d()[b];
    let x = &a.qs()[b * QK..b * QK + QK];
    let q = decode(blk);
    let half = (b & 1) * 8;
    for l in 0..8 {
        let mut p = 0i32;
        for k in 4 * l..4 * l + 4 {
            p += i32::from(q[k]) * i32::from(x[k]);
        }
        acc[half + l] = s.mul_add(p as f32, acc[half + l]);
    }
}

/// The canonical dot product of one weight row with an activation row (same block count).
pub fn dot_scalar(w: &[u8], a: &Q8Row) -> f32 {
    let mut acc = [0f32; 16];
    for (b, blk) in w.chunks_exact(BLOCK_BYTES).take(a.blocks()).enumerate() {
        block_scalar(blk, a, b, &mut acc);
    }
    reduce_lanes(&mut acc)
}

/// [`dot_scalar`] at the level [`cpu::level`] chose.
pub fn dot(w: &[u8], a: &Q8Row) -> f32 {
    debug_assert_eq!(w.len(), a.blocks() * BLOCK_BYTES);
    #[cfg(target_arch = "x86_64")]
    match cpu::level() {
        // SAFETY: the level is capped at what the CPU reports (cpu::detected).
        Level::Avx512 => return unsafe { dot_avx512(w, a) },
        Level::Avx2 => return unsafe { dot_avx2(w, a) },
        Level::Scalar => {}
    }
    dot_scalar(w, a)
}

/// One weight row against four activation rows; each result equals [`dot`] of that row.
pub fn dot4(w: &[u8], a: [&Q8Row; 4]) -> [f32; 4] {
    #[cfg(target_arch = "x86_64")]
    match cpu::level() {
        // SAFETY: the level is capped at what the CPU reports (cpu::detected).
        Level::Avx512 => return unsafe { dot4_avx512(w, a) },
        Level::Avx2 => return unsafe { dot4_avx2(w, a) },
        Level::Scalar => {}
    }
    a.map(|r| dot_scalar(w, r))
}

/// One weight row against eight activation rows; each result equals [`dot`] of that row.
pub fn dot8(w: &[u8], a: [&Q8Row; 8]) -> [f32; 8] {
    #[cfg(target_arch = "x86_64")]
    match cpu::level() {
        // SAFETY: the level is capped at what the CPU reports (cpu::detected).
        Level::Avx512 => return unsafe { dot8_avx512(w, a) },
        Level::Avx2 => return unsafe { dot8_avx2(w, a) },
        Level::Scalar => {}
    }
    a.map(|r| dot_scalar(w, r))
}

/// Four weight rows against one activation row (decode, `m < 4`); result `i` equals
/// [`dot`]`(w[i], a)` bit for bit.
pub fn dot_rows4(w: [&[u8]; 4], a: &Q8Row) -> [f32; 4] {
    #[cfg(target_arch = "x86_64")]
    match cpu::level() {
        // SAFETY: the level is capped at what the CPU reports (cpu::detected).
        Level::Avx512 => return unsafe { dot_rows4_avx512(w, a) },
        Level::Avx2 => return unsafe { dot_rows4_avx2(w, a) },
        Level::Scalar => {}
    }
    w.map(|r| dot_scalar(r, a))
}

#[cfg(target_arch = "x86_64")]
pub use x86::{
    dot4_avx2, dot4_avx512, dot8_avx2, dot8_avx512, dot_avx2, dot_avx512, dot_rows4_avx2,
    dot_rows4_avx512, dot_tile8_avx512,
};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::q8_0::{dw_f16c, pair_dw, reduce4, reduce_zmm, tile8};
    use super::super::{f16_to_f32, reduce_lanes};
    use super::{block_scalar, Q8Row, BLOCK_BYTES, QK};
    use crate::kernels::act::Q8Tile8;
    use std::arch::x86_64::*;

    #[inline]
    unsafe fn dw(blk: *const u8) -> f32 {
        f16_to_f32(u16::from_le_bytes([*blk, *blk.add(1)]))
    }

    #[inline]
    unsafe fn qh(blk: *const u8) -> u32 {
        u32::from_le_bytes([*blk.add(2), *blk.add(3), *blk.add(4), *blk.add(5)])
    }

    /// One block's 32 signed values `q - 16`.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn weights_avx2(blk: *const u8) -> __m256i {
        let v = _mm_loadu_si128(blk.add(6) as *const __m128i);
        let m4 = _mm_set1_epi8(15);
        let lo = _mm_and_si128(v, m4);
        let hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
        let q = _mm256_set_m128i(hi, lo);
        // Byte j of `bits` = 0xFF when bit j of qh is set.
        let h = _mm256_set1_epi32(qh(blk) as i32);
        let spread = _mm256_shuffle_epi8(
            h,
            _mm256_setr_epi64x(
                0,
                0x0101_0101_0101_0101,
                0x0202_0202_0202_0202,
                0x0303_0303_0303_0303,
            ),
        );
        let probe = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe));
        let bits = _mm256_cmpeq_epi8(probe, _mm256_set1_epi64x(-1));
        // Without the fifth bit, q - 16 = q | 0xF0 (two's complement); with it, q.
        _mm256_or_si256(q, _mm256_andnot_si256(bits, _mm256_set1_epi8(0xF0u8 as i8)))
    }

    /// Adds block `b` (at `blk`, signed weights `q`) times each row's block `b` into `acc`.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn step_avx2<const N: usize>(
        q: __m256i,
        dw: f32,
        b: usize,
        a: &[&Q8Row; N],
        acc: &mut [__m256; N],
    ) {
        let aq = _mm256_sign_epi8(q, q);
        let ones = _mm256_set1_epi16(1);
        for i in 0..N {
            let xv = _mm256_loadu_si256(a[i].qs().as_ptr().add(b * QK) as *const __m256i);
            let p16 = _mm256_maddubs_epi16(aq, _mm256_sign_epi8(xv, q));
            let p = _mm256_madd_epi16(p16, ones);
            let s = _mm256_set1_ps(dw * *a[i].d().get_unchecked(b));
            acc[i] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(p), acc[i]);
        }
    }

    /// One weight row against `N` activation rows with AVX2: even blocks into one ymm
    /// accumulator per row, odd blocks into another; `|w| * sign(a, w)` through
    /// `maddubs`+`madd` gives the exact lane sums.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot_n_avx2<const N: usize>(w: &[u8], a: [&Q8Row; N]) -> [f32; N] {
        let nb = a
            .iter()
            .map(|r| r.blocks())
            .min()
            .unwrap_or(0)
            .min(w.len() / BLOCK_BYTES);
        let wp = w.as_ptr();
        let mut acc0 = [_mm256_setzero_ps(); N];
        let mut acc1 = [_mm256_setzero_ps(); N];
        let mut b = 0;
        while b + 2 <= nb {
            let blk = wp.add(b * BLOCK_BYTES);
            step_avx2(weights_avx2(blk), dw(blk), b, &a, &mut acc0);
            let blk = blk.add(BLOCK_BYTES);
            step_avx2(weights_avx2(blk), dw(blk), b + 1, &a, &mut acc1);
            b += 2;
        }
        if b < nb {
            let blk = wp.add(b * BLOCK_BYTES);
            step_avx2(weights_avx2(blk), dw(blk), b, &a, &mut acc0);
        }
        let mut out = [0f32; N];
        for i in 0..N {
            let mut lanes = [0f32; 16];
            _mm256_storeu_ps(lanes.as_mut_ptr(), acc0[i]);
            _mm256_storeu_ps(lanes.as_mut_ptr().add(8), acc1[i]);
            out[i] = reduce_lanes(&mut lanes);
        }
        out
    }

    /// Adds block `b` of each of four weight rows times the activation block `xv` (scale
    /// `da`) into that row's accumulator, as [`step_avx2`] does for one row.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn step_rows4_avx2(
        wp: &[*const u8; 4],
        b: usize,
        xv: __m256i,
        da: f32,
        acc: &mut [__m256; 4],
    ) {
        let ones = _mm256_set1_epi16(1);
        for i in 0..4 {
            let blk = wp[i].add(b * BLOCK_BYTES);
            let q = weights_avx2(blk);
            let p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(xv, q));
            let p = _mm256_madd_epi16(p16, ones);
            let s = _mm256_set1_ps(dw_f16c(blk) * da);
            acc[i] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(p), acc[i]);
        }
    }

    /// Four weight rows against one activation row with AVX2: the activation block is loaded
    /// once per block for the four rows, and the four reductions run together.
    ///
    /// # Safety
    /// As [`dot_avx2`], for each of the four rows.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_rows4_avx2(w: [&[u8]; 4], a: &Q8Row) -> [f32; 4] {
        let nb = w
            .iter()
            .map(|r| r.len() / BLOCK_BYTES)
            .min()
            .unwrap_or(0)
            .min(a.blocks());
        let wp = [w[0].as_ptr(), w[1].as_ptr(), w[2].as_ptr(), w[3].as_ptr()];
        let xp = a.qs().as_ptr();
        let d = a.d();
        let mut acc0 = [_mm256_setzero_ps(); 4];
        let mut acc1 = [_mm256_setzero_ps(); 4];
        let mut b = 0;
        while b + 2 <= nb {
            let x0 = _mm256_loadu_si256(xp.add(b * QK) as *const __m256i);
            step_rows4_avx2(&wp, b, x0, *d.get_unchecked(b), &mut acc0);
            let x1 = _mm256_loadu_si256(xp.add((b + 1) * QK) as *const __m256i);
            step_rows4_avx2(&wp, b + 1, x1, *d.get_unchecked(b + 1), &mut acc1);
            b += 2;
        }
        if b < nb {
            let x0 = _mm256_loadu_si256(xp.add(b * QK) as *const __m256i);
            step_rows4_avx2(&wp, b, x0, *d.get_unchecked(b), &mut acc0);
        }
        for i in 0..4 {
            acc0[i] = _mm256_add_ps(acc0[i], acc1[i]);
        }
        reduce4(acc0)
    }

    /// AVX2 + FMA + F16C version of [`super::dot_scalar`] (same bits).
    ///
    /// # Safety
    /// The CPU must support avx2, fma and f16c; `w` must hold `a.blocks()` blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_avx2(w: &[u8], a: &Q8Row) -> f32 {
        dot_n_avx2(w, [a])[0]
    }

    /// [`dot_avx2`] of one weight row against four activation rows, decoding each block once.
    ///
    /// # Safety
    /// As [`dot_avx2`], for each of the four rows.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot4_avx2(w: &[u8], a: [&Q8Row; 4]) -> [f32; 4] {
        dot_n_avx2(w, a)
    }

    /// [`dot_avx2`] of one weight row against eight activation rows: two [`dot4_avx2`] (eight
    /// rows' accumulators do not fit in the 16 ymm registers).
    ///
    /// # Safety
    /// As [`dot_avx2`], for each of the eight rows.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot8_avx2(w: &[u8], a: [&Q8Row; 8]) -> [f32; 8] {
        let lo = dot_n_avx2(w, [a[0], a[1], a[2], a[3]]);
        let hi = dot_n_avx2(w, [a[4], a[5], a[6], a[7]]);
        [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]]
    }

    /// The two blocks' signed values `q - 16`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    unsafe fn pair_weights(blk: *const u8) -> __m512i {
        let n0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(blk.add(6) as *const __m128i));
        let n1 = _mm256_broadcastsi128_si256(_mm_loadu_si128(
            blk.add(BLOCK_BYTES + 6) as *const __m128i
        ));
        let n = _mm512_inserti64x4(_mm512_castsi256_si512(n0), n1, 1);
        // 128-bit lanes 1 and 3 take the high nibbles.
        let n = _mm512_mask_srli_epi16(n, 0xFF00_FF00, n, 4);
        let q = _mm512_and_si512(n, _mm512_set1_epi8(15));
        let high = u64::from(qh(blk)) | (u64::from(qh(blk.add(BLOCK_BYTES))) << 32);
        _mm512_mask_sub_epi8(q, !high, q, _mm512_set1_epi8(16))
    }

    /// One weight row against `N` activation rows, two blocks per zmm (the low half in the
    /// even-block lanes, the high half in the odd-block lanes). Per block pair the signed
    /// weights `w` are decoded once with `-128 * (lane sum of w)`; per activation row one
    /// `vpdpbusd` of the unsigned `qu = a + 128` against `w` starting from that correction gives
    /// the exact lane sums of `w * a`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    unsafe fn dot_n<const N: usize>(w: &[u8], a: [&Q8Row; N]) -> [f32; N] {
        let nb = a
            .iter()
            .map(|r| r.blocks())
            .min()
            .unwrap_or(0)
            .min(w.len() / BLOCK_BYTES);
        let wp = w.as_ptr();
        let xp = a.map(|r| r.qu().as_ptr());
        let dp = a.map(|r| r.d16().as_ptr());
        let offset = _mm512_set1_epi8(0x80u8 as i8);
        let zero = _mm512_setzero_si512();
        let mut acc = [_mm512_setzero_ps(); N];
        let mut b = 0;
        while b + 2 <= nb {
            let blk = wp.add(b * BLOCK_BYTES);
            let q = pair_weights(blk);
            let corr = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, offset, q));
            let dw = pair_dw(blk, BLOCK_BYTES);
            for i in 0..N {
                let xu = _mm512_loadu_si512(xp[i].add(b * QK) as *const __m512i);
                let p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(corr, xu, q));
                let s = _mm512_mul_ps(dw, _mm512_loadu_ps(dp[i].add(b * 8)));
                acc[i] = _mm512_fmadd_ps(s, p, acc[i]);
            }
            b += 2;
        }
        if b == nb {
            return reduce_zmm(&acc);
        }
        let mut out = [0f32; N];
        for i in 0..N {
            let mut lanes = [0f32; 16];
            _mm512_storeu_ps(lanes.as_mut_ptr(), acc[i]);
            block_scalar(
                &w[b * BLOCK_BYTES..(b + 1) * BLOCK_BYTES],
                a[i],
                b,
                &mut lanes,
            );
            out[i] = reduce_lanes(&mut lanes);
        }
        out
    }

    /// The two blocks' unsigned values `q` in `0..32` (without the `- 16`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    unsafe fn pair_unsigned(blk: *const u8) -> __m512i {
        let n0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(blk.add(6) as *const __m128i));
        let n1 = _mm256_broadcastsi128_si256(_mm_loadu_si128(
            blk.add(BLOCK_BYTES + 6) as *const __m128i
        ));
        let n = _mm512_inserti64x4(_mm512_castsi256_si512(n0), n1, 1);
        let n = _mm512_mask_srli_epi16(n, 0xFF00_FF00, n, 4);
        let q = _mm512_and_si512(n, _mm512_set1_epi8(15));
        let high = u64::from(qh(blk)) | (u64::from(qh(blk.add(BLOCK_BYTES))) << 32);
        _mm512_mask_add_epi8(q, high, q, _mm512_set1_epi8(16))
    }

    /// One block's unsigned values `q` in `0..32`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    unsafe fn block_unsigned(blk: *const u8) -> __m256i {
        let n = _mm256_broadcastsi128_si256(_mm_loadu_si128(blk.add(6) as *const __m128i));
        let n = _mm256_mask_srli_epi16(n, 0xFF00, n, 4);
        let q = _mm256_and_si256(n, _mm256_set1_epi8(15));
        _mm256_mask_add_epi8(q, qh(blk), q, _mm256_set1_epi8(16))
    }

    /// Four weight rows against one activation row, two blocks per zmm as in [`dot_n`]. The
    /// activation side is shared: its signed bytes `x` and, per lane, `-16 * (lane sum of
    /// x)`; each row's weights stay unsigned `q = w + 16`, and `vpdpbusd` of them against `x`
    /// starting from that correction gives the exact lane sums of `w * x`.
    ///
    /// # Safety
    /// As [`dot_avx512`], for each of the four rows.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub unsafe fn dot_rows4_avx512(w: [&[u8]; 4], a: &Q8Row) -> [f32; 4] {
        let nb = w
            .iter()
            .map(|r| r.len() / BLOCK_BYTES)
            .min()
            .unwrap_or(0)
            .min(a.blocks());
        let wp = [w[0].as_ptr(), w[1].as_ptr(), w[2].as_ptr(), w[3].as_ptr()];
        let xp = a.qs().as_ptr();
        let dp = a.d16().as_ptr();
        let sixteen = _mm512_set1_epi8(16);
        let zero = _mm512_setzero_si512();
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut b = 0;
        while b + 2 <= nb {
            let x = _mm512_loadu_si512(xp.add(b * QK) as *const __m512i);
            let corr = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, sixteen, x));
            let da = _mm512_loadu_ps(dp.add(b * 8));
            for i in 0..4 {
                let blk = wp[i].add(b * BLOCK_BYTES);
                let p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(corr, pair_unsigned(blk), x));
                let s = _mm512_mul_ps(pair_dw(blk, BLOCK_BYTES), da);
                acc[i] = _mm512_fmadd_ps(s, p, acc[i]);
            }
            b += 2;
        }
        let mut lo = [_mm256_setzero_ps(); 4];
        let mut hi = [_mm256_setzero_ps(); 4];
        for i in 0..4 {
            lo[i] = _mm512_castps512_ps256(acc[i]);
            hi[i] = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[i]), 1));
        }
        if b < nb {
            // The last, even block: lanes 0..8 only.
            let x = _mm256_loadu_si256(xp.add(b * QK) as *const __m256i);
            let zero = _mm256_setzero_si256();
            let corr = _mm256_sub_epi32(zero, _mm256_dpbusd_epi32(zero, _mm256_set1_epi8(16), x));
            let da = _mm256_set1_ps(*a.d().get_unchecked(b));
            for i in 0..4 {
                let blk = wp[i].add(b * BLOCK_BYTES);
                let p = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(corr, block_unsigned(blk), x));
                let s = _mm256_mul_ps(_mm256_set1_ps(dw(blk)), da);
                lo[i] = _mm256_fmadd_ps(s, p, lo[i]);
            }
        }
        for i in 0..4 {
            lo[i] = _mm256_add_ps(lo[i], hi[i]);
        }
        reduce4(lo)
    }

    /// AVX-512 VNNI version of [`super::dot_scalar`] (same bits).
    ///
    /// # Safety
    /// The CPU must support avx512f/bw/vl/vnni, avx2, fma and f16c; `w` must hold
    /// `a.blocks()` blocks.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub unsafe fn dot_avx512(w: &[u8], a: &Q8Row) -> f32 {
        dot_n(w, [a])[0]
    }

    /// [`dot_avx512`] of one weight row against four activation rows, decoding each weight
    /// pair once.
    ///
    /// # Safety
    /// As [`dot_avx512`], for each of the four rows.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub unsafe fn dot4_avx512(w: &[u8], a: [&Q8Row; 4]) -> [f32; 4] {
        dot_n(w, a)
    }

    /// [`dot_avx512`] of one weight row against eight activation rows, decoding each weight
    /// pair once for all eight (one zmm accumulator per row).
    ///
    /// # Safety
    /// As [`dot_avx512`], for each of the eight rows.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub unsafe fn dot8_avx512(w: &[u8], a: [&Q8Row; 8]) -> [f32; 8] {
        match Q8Tile8::pack(a) {
            Some(t) => dot_tile8_avx512(w, &t),
            None => dot_n(w, a),
        }
    }

    /// [`dot_avx512`] of one weight row against the eight packed rows of `t` (the body is
    /// shared with Q8_0: `q8_0::tile8`).
    ///
    /// # Safety
    /// As [`dot_avx512`]; `w` must hold `2 * t.pairs()` blocks.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub unsafe fn dot_tile8_avx512(w: &[u8], t: &Q8Tile8) -> [f32; 8] {
        tile8::<BLOCK_BYTES>(w, t, |blk| pair_weights(blk))
    }
}
