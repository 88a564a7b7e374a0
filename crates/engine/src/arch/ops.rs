//! The float operations of a forward pass, row by row on plain `f32` slices.
//!
//! Every function here computes each output row from its own input row only, in a fixed
//! order of operations: a row's result never depends on which other rows (other sequences,
//! other prompt positions) share the call, nor on the thread count. That is what makes the
//! engine batch-invariant (a request's tokens are bit-identical alone or batched); keep it so
//! when optimising (no reductions across rows, no thread-dependent splits of one sum).

#![allow(unsafe_code)] // `for_each_chunk`: disjoint mutable chunks handed to pool threads

use super::config::{Activation, RopeParams, RopeStyle};
use crate::kernels::Pool;

/// A dot product with eight running sums (vectorisable, and always the same order).
///
/// Compiled twice: with AVX2+FMA enabled (chosen at run time where the CPU has them) and
/// portable. Both compute the same fused multiply-adds in the same order, so the result does
/// not depend on which one runs; without the run-time choice a portable build would call a
/// software `fmaf` per element.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked once by `fma`).
        return unsafe { dot_fma(a, b) };
    }
    dot_body(a, b)
}

/// Whether AVX2 and FMA may be used.
#[cfg(target_arch = "x86_64")]
fn fma() -> bool {
    use std::sync::OnceLock;
    static FMA: OnceLock<bool> = OnceLock::new();
    *FMA.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    dot_body(a, b)
}

#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for c in 0..chunks {
        let (x, y) = (&a[c * 8..c * 8 + 8], &b[c * 8..c * 8 + 8]);
        for l in 0..8 {
            acc[l] = x[l].mul_add(y[l], acc[l]);
        }
    }
    let mut tail = 0f32;
    for i in chunks * 8..a.len() {
        tail = a[i].mul_add(b[i], tail);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// RMSNorm of every `weight.len()`-wide row of `x` into `out`.
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let n = weight.len();
    for (row, o) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        let scale = 1.0 / (dot(row, row) / n as f32 + eps).sqrt();
        for ((o, v), w) in o.iter_mut().zip(row).zip(weight) {
            *o = v * scale * w;
        }
    }
}

/// RMSNorm of every `weight.len()`-wide row of `x`, in place.
pub fn rms_norm_in_place(x: &mut [f32], weight: &[f32], eps: f32) {
    let n = weight.len();
    for row in x.chunks_exact_mut(n) {
        let scale = 1.0 / (dot(row, row) / n as f32 + eps).sqrt();
        for (v, w) in row.iter_mut().zip(weight) {
            *v = *v * scale * w;
        }
    }
}

/// `x += y`.
pub fn add(x: &mut [f32], y: &[f32]) {
    for (x, y) in x.iter_mut().zip(y) {
        *x += y;
    }
}

/// `gate = act(gate) * up`, row by row on the pool's threads (`width`: values per row).
pub fn gated(pool: &Pool, gate: &mut [f32], up: &[f32], width: usize, activation: Activation) {
    for_each_chunk(pool, gate, width, &|r, g| {
        let u = &up[r * width..(r + 1) * width];
        match activation {
            Activation::Silu => {
                for (g, u) in g.iter_mut().zip(u) {
                    *g = *g / (1.0 + (-*g).exp()) * u;
                }
            }
            Activation::GeluTanh => {
                for (g, u) in g.iter_mut().zip(u) {
                    *g = gelu_tanh(*g) * u;
                }
            }
        }
    });
}

/// GELU, tanh approximation, with `tanh(y) = 1 - 2 / (exp(2y) + 1)`: one `exp` instead of
/// libm's slower `tanhf`, exact at the limits (`exp` overflowing to infinity gives 1,
/// underflowing to 0 gives -1) and within a few ulps elsewhere.
#[inline]
fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let y = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
    let tanh = 1.0 - 2.0 / ((2.0 * y).exp() + 1.0);
    0.5 * x * (1.0 + tanh)
}

/// Rotary tables: `cos`/`sin` of every position's angles, `[positions, dim / 2]`.
pub struct Rope {
    cos: Vec<f32>,
    sin: Vec<f32>,
    half: usize,
    style: RopeStyle,
}

impl Rope {
    /// Tables for `positions` positions of a `dim`-wide head.
    pub fn new(dim: usize, params: RopeParams, style: RopeStyle, positions: usize) -> Self {
        let half = dim / 2;
        let mut cos = Vec::with_capacity(positions * half);
        let mut sin = Vec::with_capacity(positions * half);
        for p in 0..positions {
            let p = p as f64 * f64::from(params.scale);
            for i in 0..half {
                let inv_freq = 1.0 / f64::from(params.base).powf(2.0 * i as f64 / dim as f64);
                let angle = p * inv_freq;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        Self {
            cos,
            sin,
            half,
            style,
        }
    }

    /// Rotates every `2 * half`-wide head of `row` (one position's heads side by side) to
    /// position `pos`.
    pub fn apply(&self, row: &mut [f32], pos: usize) {
        let half = self.half;
        let cos = &self.cos[pos * half..(pos + 1) * half];
        let sin = &self.sin[pos * half..(pos + 1) * half];
        for head in row.chunks_exact_mut(2 * half) {
            match self.style {
                RopeStyle::Neox => {
                    let (a, b) = head.split_at_mut(half);
                    for i in 0..half {
                        let (x, y) = (a[i], b[i]);
                        a[i] = x * cos[i] - y * sin[i];
                        b[i] = x * sin[i] + y * cos[i];
                    }
                }
                RopeStyle::Interleaved => {
                    for i in 0..half {
                        let (x, y) = (head[2 * i], head[2 * i + 1]);
                        head[2 * i] = x * cos[i] - y * sin[i];
                        head[2 * i + 1] = x * sin[i] + y * cos[i];
                    }
                }
            }
        }
    }

    /// Positions the tables cover.
    pub fn positions(&self) -> usize {
        self.cos.len() / self.half.max(1)
    }
}

/// Raw pointer to hand disjoint chunks of one buffer to pool threads.
struct Chunks(*mut f32);
// SAFETY: only used by `for_each_chunk`, whose indices give each thread a disjoint chunk.
unsafe impl Sync for Chunks {}
unsafe impl Send for Chunks {}

/// Runs `f(i, &mut out[i * chunk..(i + 1) * chunk])` for every whole chunk of `out`, on the
/// pool's threads.
pub fn for_each_chunk(
    pool: &Pool,
    out: &mut [f32],
    chunk: usize,
    f: &(dyn Fn(usize, &mut [f32]) + Sync),
) {
    if chunk == 0 {
        return;
    }
    let n = out.len() / chunk;
    let base = Chunks(out.as_mut_ptr());
    let base = &base;
    pool.for_each(n, &move |i| {
        // SAFETY: `i < n`, so the chunk lies inside `out`; chunks of different `i` do not
        // overlap, `for_each` calls each `i` exactly once, and `out` is borrowed mutably for
        // the whole call, so nobody else touches it meanwhile.
        let piece = unsafe { std::slice::from_raw_parts_mut(base.0.add(i * chunk), chunk) };
        f(i, piece);
    });
}
