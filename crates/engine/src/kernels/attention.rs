//! Attention of one query position's heads over one sequence's cache, and the key layout it
//! reads.
//!
//! # Layout
//! Values are stored as written: one row of `kv_dim` floats per position (the key/value heads
//! side by side). Keys are stored in blocks of [`LANES`] positions, dimension-major: block `b`
//! holds positions `16b .. 16b + 16`, and float `i` of a position (`i = head * dim + d`) sits at
//! `b * kv_dim * 16 + i * 16 + position % 16`. A query's scores for 16 keys are then 16
//! independent multiply-add chains over `d`, one per SIMD lane, with no horizontal sums.
//! Lanes past the last stored position hold zeros or stale keys; they are masked.
//!
//! # Canonical arithmetic
//! [`attend`] follows the contract of the other kernels (module doc of `kernels`): the scalar
//! code defines every bit, and the AVX-512 code reproduces it exactly. For each query head:
//! - score of key `j`: `acc = q[d].mul_add(k_j[d], acc)` for `d = 0..dim` from `acc = 0`, then
//!   `acc * scale`;
//! - `m` = the largest score of the visible keys `first..=last`;
//! - weight `p_j = exp(score_j - m)` with [`exp`] (our own, the same in every implementation);
//!   keys of the blocks that are not visible get weight 0;
//! - `sum`: lane `j % 16` adds the weights of its keys block by block, then [`reduce_lanes`];
//! - output element `d`: `acc = p_j.mul_add(v_j[d], acc)` for `j = first..=last` in order from
//!   `acc = 0`, then `acc * (1 / sum)`.
//!
//! Every query head's result depends only on its own query, the cache and `first..=last`:
//! never on the other heads, rows or threads of the call (batch invariance).

use super::cpu::{self, Level};
use super::reduce_lanes;

/// Positions per key block (one AVX-512 register of f32).
pub const LANES: usize = 16;

/// Floats of one key block.
fn block_len(kv_dim: usize) -> usize {
    kv_dim * LANES
}

/// Floats a blocked key buffer needs for `positions` positions.
pub fn keys_len(kv_dim: usize, positions: usize) -> usize {
    positions.div_ceil(LANES) * block_len(kv_dim)
}

/// Writes the keys of `rows.len() / kv_dim` consecutive positions starting at `start` into
/// the blocked buffer `keys`, growing it by whole zeroed blocks as needed.
pub fn store_keys(keys: &mut Vec<f32>, kv_dim: usize, start: usize, rows: &[f32]) {
    if kv_dim == 0 {
        return;
    }
    let positions = rows.len() / kv_dim;
    let need = keys_len(kv_dim, start + positions);
    if keys.len() < need {
        keys.resize(need, 0.0);
    }
    for (p, row) in (start..).zip(rows.chunks_exact(kv_dim)) {
        let block = &mut keys[(p / LANES) * block_len(kv_dim)..][..block_len(kv_dim)];
        let lane = p % LANES;
        for (i, &x) in row.iter().enumerate() {
            block[i * LANES + lane] = x;
        }
    }
}

/// One sequence's cache of one layer, as [`attend`] reads it.
#[derive(Clone, Copy)]
pub struct Cache<'a> {
    /// Blocked keys (module doc).
    pub keys: &'a [f32],
    /// Value rows, `kv_dim` floats per position.
    pub values: &'a [f32],
    /// Floats per position (all key/value heads).
    pub kv_dim: usize,
}

/// One query position's heads that share key/value head `kv_head`: `qs` holds them side by
/// side (`heads x dim`), `out` receives theirs. They attend to positions `first..=last`.
/// `scratch` is reused space.
///
/// # Panics
/// If the cache does not hold position `last` or `qs`/`out` are not `heads x dim`.
#[allow(clippy::too_many_arguments)]
pub fn attend(
    qs: &[f32],
    dim: usize,
    cache: Cache<'_>,
    kv_head: usize,
    first: usize,
    last: usize,
    scale: f32,
    scratch: &mut Vec<f32>,
    out: &mut [f32],
) {
    let job = Job::new(qs, dim, cache, kv_head, first, last, scale, out.len());
    attend_at(cpu::level(), &job, scratch, out);
}

/// [`attend`] at a given level (at most [`cpu::detected`]).
fn attend_at(level: Level, job: &Job<'_>, scratch: &mut Vec<f32>, out: &mut [f32]) {
    match level {
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => {
            // SAFETY: callers pass at most `cpu::detected()`, so the CPU has AVX-512 F.
            unsafe { x86::attend_avx512(job, scratch, out) }
        }
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => {
            // SAFETY: callers pass at most `cpu::detected()`, so the CPU has AVX2 and FMA.
            unsafe { x86::attend_avx2(job, scratch, out) }
        }
        _ => attend_scalar(job, scratch, out),
    }
}

/// The checked arguments of one [`attend`] call.
struct Job<'a> {
    qs: &'a [f32],
    dim: usize,
    heads: usize,
    cache: Cache<'a>,
    kv_head: usize,
    first: usize,
    last: usize,
    scale: f32,
    /// The first block's first position (`first` rounded down to a block).
    base: usize,
    /// Score slots per head: the blocks `first / 16 ..= last / 16`.
    span: usize,
}

impl<'a> Job<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        qs: &'a [f32],
        dim: usize,
        cache: Cache<'a>,
        kv_head: usize,
        first: usize,
        last: usize,
        scale: f32,
        out_len: usize,
    ) -> Self {
        let heads = qs.len() / dim.max(1);
        assert!(
            dim > 0 && heads * dim == qs.len() && out_len == qs.len(),
            "attend: {} query floats, {out_len} output floats, head dim {dim}",
            qs.len()
        );
        assert!(first <= last, "attend: no visible key ({first}..={last})");
        assert!(
            (kv_head + 1) * dim <= cache.kv_dim
                && cache.values.len() >= (last + 1) * cache.kv_dim
                && cache.keys.len() >= keys_len(cache.kv_dim, last + 1),
            "attend: the cache does not hold position {last} of head {kv_head}"
        );
        let base = first / LANES * LANES;
        let span = (last / LANES + 1) * LANES - base;
        Self {
            qs,
            dim,
            heads,
            cache,
            kv_head,
            first,
            last,
            scale,
            base,
            span,
        }
    }

    /// The keys of head `kv_head` in block `b`: `dim x 16` floats.
    fn key_block(&self, b: usize) -> &'a [f32] {
        let at = b * block_len(self.cache.kv_dim) + self.kv_head * self.dim * LANES;
        &self.cache.keys[at..at + self.dim * LANES]
    }

    /// Value row of position `j` for head `kv_head`.
    fn value(&self, j: usize) -> &'a [f32] {
        let at = j * self.cache.kv_dim + self.kv_head * self.dim;
        &self.cache.values[at..at + self.dim]
    }

    /// Whether position `j` is visible.
    fn visible(&self, j: usize) -> bool {
        (self.first..=self.last).contains(&j)
    }
}

/// `exp(x)` to within 2 ulp for `x` in `[-87, 88]`, 0 below (`-inf` included): range
/// reduction by `ln 2` in two parts, a degree-6 polynomial, and the power of two built in
/// the exponent bits. Every implementation computes it with these same operations.
#[inline(always)]
#[allow(clippy::manual_clamp)] // `max`/`min` map NaN to a bound, as `vmaxps`/`vminps` do
pub fn exp(x: f32) -> f32 {
    let xc = x.max(EXP_LO).min(EXP_HI);
    let n = (xc * LOG2E).round_ties_even();
    let r = n.mul_add(-LN2_HI, xc);
    let r = n.mul_add(-LN2_LO, r);
    let mut p = EXP_C[0];
    for c in &EXP_C[1..] {
        p = p.mul_add(r, *c);
    }
    let p = p.mul_add(r, 1.0);
    let p = p.mul_add(r, 1.0);
    let two_n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    if x < EXP_LO {
        0.0
    } else {
        p * two_n
    }
}

const EXP_LO: f32 = -87.0;
const EXP_HI: f32 = 88.0;
const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Coefficients of `(exp(r) - 1 - r) / r^2`, highest power first (Cephes `expf`); the
/// polynomial ends with two `p.mul_add(r, 1.0)`.
const EXP_C: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5,
];

/// The canonical implementation (any CPU).
#[inline(always)]
fn attend_scalar(job: &Job<'_>, scratch: &mut Vec<f32>, out: &mut [f32]) {
    let (dim, span) = (job.dim, job.span);
    scratch.clear();
    scratch.resize(job.heads * span, 0.0);
    // Scores, block by block.
    for (bi, b) in (job.base / LANES..=job.last / LANES).enumerate() {
        let kb = job.key_block(b);
        for (h, q) in job.qs.chunks_exact(dim).enumerate() {
            let mut acc = [0f32; LANES];
            for (d, &qd) in q.iter().enumerate() {
                let k = &kb[d * LANES..(d + 1) * LANES];
                for l in 0..LANES {
                    acc[l] = qd.mul_add(k[l], acc[l]);
                }
            }
            let s = &mut scratch[h * span + bi * LANES..][..LANES];
            for l in 0..LANES {
                s[l] = if job.visible(b * LANES + l) {
                    acc[l] * job.scale
                } else {
                    f32::NEG_INFINITY
                };
            }
        }
    }
    // Weights and their sums.
    let mut inv = [0f32; 64];
    let mut inv_heap = Vec::new();
    let inv: &mut [f32] = if job.heads <= inv.len() {
        &mut inv[..job.heads]
    } else {
        inv_heap.resize(job.heads, 0.0);
        &mut inv_heap
    };
    for (row, inv) in scratch.chunks_exact_mut(span).zip(inv.iter_mut()) {
        let m = row.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
        let mut lanes = [0f32; LANES];
        for block in row.chunks_exact_mut(LANES) {
            for l in 0..LANES {
                block[l] = exp(block[l] - m);
                lanes[l] += block[l];
            }
        }
        *inv = 1.0 / reduce_lanes(&mut lanes);
    }
    values_scalar(job, scratch, inv, out);
}

/// The weighted value sums of every head (weights in `scratch`, `span` per head), each times
/// its `inv`: the canonical order, also the vector code's fallback for head dims that are not a
/// multiple of 16.
#[inline(always)]
fn values_scalar(job: &Job<'_>, scratch: &[f32], inv: &[f32], out: &mut [f32]) {
    let (dim, span) = (job.dim, job.span);
    for (h, o) in out.chunks_exact_mut(dim).enumerate() {
        o.fill(0.0);
        let ps = &scratch[h * span..(h + 1) * span];
        for j in job.first..=job.last {
            let p = ps[j - job.base];
            for (o, v) in o.iter_mut().zip(job.value(j)) {
                *o = p.mul_add(*v, *o);
            }
        }
        for o in o.iter_mut() {
            *o *= inv[h];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{
        attend_scalar, values_scalar, Job, EXP_C, EXP_HI, EXP_LO, LANES, LN2_HI, LN2_LO, LOG2E,
    };
    use crate::kernels::reduce_lanes;

    /// [`attend_scalar`] compiled with AVX2 and FMA (the compiler vectorises its lane loops;
    /// the operations are the same, so are the results).
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn attend_avx2(job: &Job<'_>, scratch: &mut Vec<f32>, out: &mut [f32]) {
        attend_scalar(job, scratch, out)
    }

    /// The same arithmetic as [`attend_scalar`], 16 lanes per register.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn attend_avx512(job: &Job<'_>, scratch: &mut Vec<f32>, out: &mut [f32]) {
        let (dim, span, heads) = (job.dim, job.span, job.heads);
        scratch.clear();
        scratch.resize(heads * span, 0.0);
        let s = scratch.as_mut_ptr();
        let neg_inf = _mm512_set1_ps(f32::NEG_INFINITY);
        for (bi, b) in (job.base / LANES..=job.last / LANES).enumerate() {
            let kb = job.key_block(b).as_ptr();
            // Lanes of this block outside `first..=last`.
            let mut visible: u16 = 0;
            for l in 0..LANES {
                if job.visible(b * LANES + l) {
                    visible |= 1 << l;
                }
            }
            let mut h = 0;
            while h < heads {
                let n = (heads - h).min(8);
                let q = job.qs.as_ptr().add(h * dim);
                let dst = s.add(h * span + bi * LANES);
                match n {
                    1 => scores::<1>(q, kb, dim, span, job.scale, visible, neg_inf, dst),
                    2 => scores::<2>(q, kb, dim, span, job.scale, visible, neg_inf, dst),
                    3 => scores::<3>(q, kb, dim, span, job.scale, visible, neg_inf, dst),
                    4 => scores::<4>(q, kb, dim, span, job.scale, visible, neg_inf, dst),
                    5 => scores::<5>(q, kb, dim, span, job.scale, visible, neg_inf, dst),
                    6 => scores::<6>(q, kb, dim, span, job.scale, visible, neg_inf, dst),
                    7 => scores::<7>(q, kb, dim, span, job.scale, visible, neg_inf, dst),
                    _ => scores::<8>(q, kb, dim, span, job.scale, visible, neg_inf, dst),
                }
                h += n;
            }
        }
        let mut inv = vec![0f32; heads];
        for (h, inv) in inv.iter_mut().enumerate() {
            let row = s.add(h * span);
            let mut m = neg_inf;
            for b in 0..span / LANES {
                m = _mm512_max_ps(m, _mm512_loadu_ps(row.add(b * LANES)));
            }
            let m = _mm512_set1_ps(_mm512_reduce_max_ps(m));
            let mut sum = _mm512_setzero_ps();
            for b in 0..span / LANES {
                let p = exp16(_mm512_sub_ps(_mm512_loadu_ps(row.add(b * LANES)), m));
                _mm512_storeu_ps(row.add(b * LANES), p);
                sum = _mm512_add_ps(sum, p);
            }
            let mut lanes = [0f32; LANES];
            _mm512_storeu_ps(lanes.as_mut_ptr(), sum);
            *inv = 1.0 / reduce_lanes(&mut lanes);
        }
        if dim % LANES != 0 {
            return values_scalar(job, scratch, &inv, out);
        }
        let n = job.last + 1 - job.first;
        let stride = job.cache.kv_dim;
        let mut h = 0;
        while h < heads {
            let hn = (heads - h).min(4);
            let mut c = 0;
            while c < dim {
                let wn = ((dim - c) / LANES).min(4);
                let p = s.add(h * span + job.first - job.base);
                let v = job.value(job.first).as_ptr().add(c);
                let o = out.as_mut_ptr().add(h * dim + c);
                let inv = &inv[h..h + hn];
                macro_rules! go {
                    ($($hh:literal),*) => {
                        match (hn, wn) {
                            $(
                                ($hh, 1) => weighted::<$hh, 1>(p, span, v, stride, n, inv, o, dim),
                                ($hh, 2) => weighted::<$hh, 2>(p, span, v, stride, n, inv, o, dim),
                                ($hh, 3) => weighted::<$hh, 3>(p, span, v, stride, n, inv, o, dim),
                                ($hh, _) => weighted::<$hh, 4>(p, span, v, stride, n, inv, o, dim),
                            )*
                            _ => unreachable!("at most 4 heads"),
                        }
                    };
                }
                go!(1, 2, 3, 4);
                c += wn * LANES;
            }
            h += hn;
        }
    }

    /// Scores of `H` query heads (rows of `dim` at `q`) against one key block `kb`, times
    /// `scale`, invisible lanes `-inf`, into `dst` (head `h` at `dst + h * span`).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn scores<const H: usize>(
        q: *const f32,
        kb: *const f32,
        dim: usize,
        span: usize,
        scale: f32,
        visible: u16,
        neg_inf: __m512,
        dst: *mut f32,
    ) {
        let mut acc = [_mm512_setzero_ps(); H];
        for d in 0..dim {
            let k = _mm512_loadu_ps(kb.add(d * LANES));
            for (h, acc) in acc.iter_mut().enumerate() {
                *acc = _mm512_fmadd_ps(_mm512_set1_ps(*q.add(h * dim + d)), k, *acc);
            }
        }
        let scale = _mm512_set1_ps(scale);
        for (h, acc) in acc.iter().enumerate() {
            let sc = _mm512_mask_blend_ps(visible, neg_inf, _mm512_mul_ps(*acc, scale));
            _mm512_storeu_ps(dst.add(h * span), sc);
        }
    }

    /// Weighted sums of `n` value rows (`v`, `stride` apart, `16 W` floats each) for `H` heads
    /// (weights at `p`, `span` apart per head), times each head's `inv`, into `o` (`dim` apart).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn weighted<const H: usize, const W: usize>(
        p: *const f32,
        span: usize,
        v: *const f32,
        stride: usize,
        n: usize,
        inv: &[f32],
        o: *mut f32,
        dim: usize,
    ) {
        let mut acc = [[_mm512_setzero_ps(); W]; H];
        for j in 0..n {
            let row = v.add(j * stride);
            let vs: [__m512; W] = std::array::from_fn(|w| _mm512_loadu_ps(row.add(w * LANES)));
            for (h, acc) in acc.iter_mut().enumerate() {
                let pw = _mm512_set1_ps(*p.add(h * span + j));
                for (a, v) in acc.iter_mut().zip(&vs) {
                    *a = _mm512_fmadd_ps(pw, *v, *a);
                }
            }
        }
        for (h, acc) in acc.iter().enumerate() {
            let inv = _mm512_set1_ps(inv[h]);
            for (w, a) in acc.iter().enumerate() {
                _mm512_storeu_ps(o.add(h * dim + w * LANES), _mm512_mul_ps(*a, inv));
            }
        }
    }

    /// [`super::exp`] on 16 lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn exp16(x: __m512) -> __m512 {
        let xc = _mm512_min_ps(
            _mm512_max_ps(x, _mm512_set1_ps(EXP_LO)),
            _mm512_set1_ps(EXP_HI),
        );
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_ps(xc, _mm512_set1_ps(LOG2E)),
        );
        let r = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_HI), xc);
        let r = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_LO), r);
        let mut p = _mm512_set1_ps(EXP_C[0]);
        for c in &EXP_C[1..] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(*c));
        }
        let one = _mm512_set1_ps(1.0);
        let p = _mm512_fmadd_ps(p, r, one);
        let p = _mm512_fmadd_ps(p, r, one);
        let e = _mm512_slli_epi32::<23>(_mm512_add_epi32(
            _mm512_cvtps_epi32(n),
            _mm512_set1_epi32(127),
        ));
        let y = _mm512_mul_ps(p, _mm512_castsi512_ps(e));
        let below = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_set1_ps(EXP_LO));
        _mm512_mask_blend_ps(below, y, _mm512_setzero_ps())
    }
}

#[cfg(test)]
#[path = "tests_attention.rs"]
mod tests;
