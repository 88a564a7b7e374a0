//! F32 and F16 weight rows against f32 activations (no activation quantization).
//!
//! Canonical order: 64 f32 lanes; element `j` is accumulated into lane `j % 64` as
//! `acc = fma(w[j], x[j], acc)` in increasing `j`, then [`super::reduce_lanes`]. AVX-512 keeps
//! the 64 lanes in four zmm registers, AVX2 in eight ymm registers (four independent FMA chains
//! or more either way); the tail past the last full 64 elements runs the scalar lanes.

#[cfg(target_arch = "x86_64")]
use super::cpu::{self, Level};
use super::{f16_to_f32, reduce_lanes};

const LANES: usize = 64;

/// Weight element formats of this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Float {
    /// 4-byte IEEE single.
    F32,
    /// 2-byte IEEE half.
    F16,
}

impl Float {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Float::F32 => 4,
            Float::F16 => 2,
        }
    }

    #[inline]
    fn get(self, w: &[u8], j: usize) -> f32 {
        match self {
            Float::F32 => f32::from_le_bytes([w[4 * j], w[4 * j + 1], w[4 * j + 2], w[4 * j + 3]]),
            Float::F16 => f16_to_f32(u16::from_le_bytes([w[2 * j], w[2 * j + 1]])),
        }
    }
}

/// Decodes `out.len()` values of `src`.
pub fn dequantize(ty: Float, src: &[u8], out: &mut [f32]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = ty.get(src, j);
    }
}

/// Continues the canonical lanes from element `from` to the end of `x`, then reduces.
fn finish(ty: Float, w: &[u8], x: &[f32], from: usize, acc: &mut [f32; LANES]) -> f32 {
    for (j, &xv) in x.iter().enumerate().skip(from) {
        let l = j % LANES;
        acc[l] = ty.get(w, j).mul_add(xv, acc[l]);
    }
    reduce_lanes(acc)
}

/// The canonical dot product of one weight row (`x.len()` elements of `ty`) with `x`.
pub fn dot_scalar(ty: Float, w: &[u8], x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    finish(ty, w, x, 0, &mut acc)
}

/// [`dot_scalar`] at the level [`cpu::level`] chose.
pub fn dot(ty: Float, w: &[u8], x: &[f32]) -> f32 {
    debug_assert!(w.len() >= x.len() * ty.size());
    #[cfg(target_arch = "x86_64")]
    match cpu::level() {
        // SAFETY: the level is capped at what the CPU reports (cpu::detected).
        Level::Avx512 => return unsafe { dot_avx512(ty, w, x) },
        Level::Avx2 => return unsafe { dot_avx2(ty, w, x) },
        Level::Scalar => {}
    }
    dot_scalar(ty, w, x)
}

#[cfg(target_arch = "x86_64")]
pub use x86::{dot_avx2, dot_avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{finish, Float, LANES};
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8(ty: Float, w: *const u8, j: usize) -> __m256 {
        match ty {
            Float::F32 => _mm256_loadu_ps(w.add(4 * j) as *const f32),
            Float::F16 => _mm256_cvtph_ps(_mm_loadu_si128(w.add(2 * j) as *const __m128i)),
        }
    }

    /// AVX2 + FMA + F16C version of [`super::dot_scalar`] (same bits).
    ///
    /// # Safety
    /// The CPU must support avx2, fma and f16c; `w` must hold `x.len()` elements.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_avx2(ty: Float, w: &[u8], x: &[f32]) -> f32 {
        let n = x.len().min(w.len() / ty.size());
        let full = n / LANES * LANES;
        let (wp, xp) = (w.as_ptr(), x.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 8];
        let mut j = 0;
        while j < full {
            for (k, a) in acc.iter_mut().enumerate() {
                let o = j + 8 * k;
                *a = _mm256_fmadd_ps(load8(ty, wp, o), _mm256_loadu_ps(xp.add(o)), *a);
            }
            j += LANES;
        }
        let mut lanes = [0f32; LANES];
        for (k, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(lanes.as_mut_ptr().add(8 * k), *a);
        }
        finish(ty, w, &x[..n], full, &mut lanes)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    unsafe fn load16(ty: Float, w: *const u8, j: usize) -> __m512 {
        match ty {
            Float::F32 => _mm512_loadu_ps(w.add(4 * j) as *const f32),
            Float::F16 => _mm512_cvtph_ps(_mm256_loadu_si256(w.add(2 * j) as *const __m256i)),
        }
    }

    /// AVX-512 version of [`super::dot_scalar`] (same bits).
    ///
    /// # Safety
    /// The CPU must support avx512f/bw/vl/vnni, avx2, fma and f16c; `w` must hold `x.len()`
    /// elements.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    pub unsafe fn dot_avx512(ty: Float, w: &[u8], x: &[f32]) -> f32 {
        let n = x.len().min(w.len() / ty.size());
        let full = n / LANES * LANES;
        let (wp, xp) = (w.as_ptr(), x.as_ptr());
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut j = 0;
        while j < full {
            for (k, a) in acc.iter_mut().enumerate() {
                let o = j + 16 * k;
                *a = _mm512_fmadd_ps(load16(ty, wp, o), _mm512_loadu_ps(xp.add(o)), *a);
            }
            j += LANES;
        }
        let mut lanes = [0f32; LANES];
        for (k, a) in acc.iter().enumerate() {
            _mm512_storeu_ps(lanes.as_mut_ptr().add(16 * k), *a);
        }
        finish(ty, w, &x[..n], full, &mut lanes)
    }
}
