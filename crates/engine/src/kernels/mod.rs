//! Our own quantized matrix products over the GGUF block formats (Q8_0, Q5_0, Q4_K, Q6_K, F16,
//! F32), replacing candle's `QMatMul` in the model code, which calls only [`QMatrix`] and
//! [`Pool`].
//!
//! # The canonical-arithmetic contract
//! For every weight format, the plain-Rust `dot_scalar` of its module *defines* the result bit
//! for bit, and every vectorised version (AVX2+FMA+F16C, AVX-512 with VNNI) returns exactly the
//! same f32 bits for every input. This is what lets the engine promise batch invariance: a
//! sequence's logits do not depend on the SIMD level, on the thread count, or on how many
//! other sequences share the matrix product. The recipe:
//! - integer parts (weight quant x activation quant) are exact i32 sums, so their order is free;
//! - the float part follows a fixed lane structure that the scalar code reproduces with
//!   explicit lane arrays and `f32::mul_add` wherever SIMD uses an FMA; for Q8_0 and Q5_0:
//!   16 lanes, block `b` feeds lanes `8 * (b % 2) + l`, lane `l` being the i32 sum over the
//!   block's elements `4l .. 4l + 4` (what `maddubs`+`madd` and `vpdpbusd` both produce), so AVX2
//!   keeps even and odd blocks in two ymm accumulators and AVX-512 puts a block pair in one zmm;
//!   F32/F16 use 64 lanes (element `j` into lane `j % 64`); the K-quants are documented in
//!   their modules;
//! - lanes are summed by one fixed halving tree, [`reduce_lanes`], in every implementation.
//!
//! Activations are quantized per row ([`act::Q8Row`], [`act_k::Q8KRow`]), never per batch.
//!
//! # Dispatch
//! [`cpu::level`] picks the level once per process (`is_x86_feature_detected!`, overridable by
//! `BEDROCK_LOCAL_KERNELS=scalar|avx2|avx512`); each format's `dot` dispatches on it. The x86
//! code is compiled behind `#[cfg(target_arch = "x86_64")]` with `#[target_feature]`, so one
//! portable binary runs everywhere and uses what the CPU has.
//!
//! # The driver
//! [`QMatrix::matmul`] quantizes the activation rows once, then splits the output rows into
//! chunks run on the [`Pool`]; inside a chunk each weight row is reused against the activation
//! rows four at a time (`dot4`), so prefill is compute-bound. With fewer than four activation
//! rows (decode) Q8_0/Q5_0 run `dot_rows4`: four weight rows, one from each quarter of the
//! chunk (four long sequential streams the hardware prefetcher follows), against one
//! activation row, sharing its loads and the final reductions. A dot product is never split
//! across threads.

#![allow(unsafe_code)] // SIMD intrinsics, the pool's job hand-off, disjoint output writes

pub mod act;
pub mod act_k;
pub mod attention;
pub mod cpu;
pub mod float;
mod pool;
pub mod q4_k;
pub mod q5_0;
pub mod q6_k;
pub mod q8_0;

mod driver;
#[cfg(test)]
mod tests_bench;
#[cfg(test)]
mod tests_driver;
#[cfg(test)]
mod tests_k;
#[cfg(test)]
mod tests_q;

pub use driver::{Bytes, QMatrix, WeightType};
pub use pool::Pool;

/// Sums power-of-two many lanes by halving: `lane[l] += lane[l + half]` for
/// `half = len/2, len/4, .., 1`, then returns lane 0. The one reduction order of every kernel.
#[inline]
pub fn reduce_lanes(lanes: &mut [f32]) -> f32 {
    let mut half = lanes.len() / 2;
    while half > 0 {
        for l in 0..half {
            lanes[l] += lanes[l + half];
        }
        half /= 2;
    }
    lanes.first().copied().unwrap_or(0.0)
}

/// Exact IEEE half to single conversion (NaNs come out quiet, as with F16C).
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match exp {
        0 if man == 0 => sign,
        0 => {
            // Subnormal: man * 2^-24, exact in f32.
            let v = man as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        0x1f if man == 0 => sign | 0x7f80_0000,
        0x1f => sign | 0x7fc0_0000 | (man << 13),
        _ => sign | ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}
