//! Q8K activation rows: the 8-bit form of an f32 activation row that the K-quant weight
//! formats ([`super::q4_k`], [`super::q6_k`]) take their dot products against.
//!
//! A row is cut into blocks of 256 values. Each block gets one f32 scale `d = amax / 127`,
//! 256 signed bytes `q = round(x / d)` (half away from zero, clamped to [-127, 127], so -128
//! never occurs) and 16 `i16` sums of its quants, one per 16 consecutive elements. The sums let
//! a kernel fold a weight format's per-sub-block offset (Q4_K's mins, Q6_K's `-32`) into a few
//! integer products instead of touching every element twice.
//!
//! The quantization depends only on the row's own values: the same activation row gives the
//! same bytes whether it is quantized alone or as part of a batch.

/// Elements per Q8K block (the K-quant super-block size).
pub const QK_K: usize = 256;

/// Per-16-element sums per block.
pub const BSUMS: usize = QK_K / 16;

/// One activation row quantized to Q8K blocks, stored as parallel arrays.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Q8KRow {
    /// One scale per block: the value of quant 1.
    pub d: Vec<f32>,
    /// 256 quants per block, in element order, each in [-127, 127].
    pub qs: Vec<i8>,
    /// 16 sums per block: `bsums[16 b + k]` is the sum of `qs[256 b + 16 k .. 256 b + 16 k + 16]`.
    pub bsums: Vec<i16>,
}

impl Q8KRow {
    /// Quantizes `x` (see [`Q8KRow::quantize_into`]).
    pub fn quantize(x: &[f32]) -> Self {
        let mut row = Self::default();
        row.quantize_into(x);
        row
    }

    /// Quantizes `x` into `self`, reusing its allocations. A trailing partial block (the
    /// driver never produces one: K-quant rows are whole blocks) is zero-padded.
    pub fn quantize_into(&mut self, x: &[f32]) {
        let blocks = x.len().div_ceil(QK_K);
        self.d.clear();
        self.d.resize(blocks, 0.0);
        self.qs.clear();
        self.qs.resize(blocks * QK_K, 0);
        self.bsums.clear();
        self.bsums.resize(blocks * BSUMS, 0);
        for (b, xb) in x.chunks(QK_K).enumerate() {
            let amax = abs_max(xb);
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            self.d[b] = d;
            let qb = &mut self.qs[b * QK_K..(b + 1) * QK_K];
            for (q, v) in qb.iter_mut().zip(xb) {
                *q = to_i8(round_half_away(v * id));
            }
            for (s, g) in self.bsums[b * BSUMS..(b + 1) * BSUMS]
                .iter_mut()
                .zip(qb.chunks_exact(16))
            {
                *s = g.iter().map(|&q| i16::from(q)).sum();
            }
        }
    }

    /// True when the row holds exactly `blocks` consistent blocks (its fields are public, so
    /// the kernels check this before their unchecked loads).
    pub fn fits(&self, blocks: usize) -> bool {
        self.d.len() == blocks
            && self.qs.len() == blocks * QK_K
            && self.bsums.len() == blocks * BSUMS
    }

    /// Number of 256-element blocks.
    pub fn blocks(&self) -> usize {
        self.d.len()
    }

    /// Number of elements including padding (a multiple of [`QK_K`]).
    pub fn len(&self) -> usize {
        self.qs.len()
    }

    /// True for a row of zero elements.
    pub fn is_empty(&self) -> bool {
        self.qs.is_empty()
    }
}

/// The largest `|v|` of `x` (0 for an empty slice; NaNs are skipped). Sixteen independent
/// running maxima let the loop vectorize; the maximum of non-negative values does not depend
/// on the order it is taken in, so the result is the plain sequential maximum.
#[inline]
fn abs_max(x: &[f32]) -> f32 {
    let mut m = [0f32; 16];
    let chunks = x.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (mi, v) in m.iter_mut().zip(c) {
            *mi = mi.max(v.abs());
        }
    }
    for v in rest {
        m[0] = m[0].max(v.abs());
    }
    m.iter().fold(0f32, |a, &b| a.max(b))
}

/// `y.round()` (half away from zero) written with `trunc`, which vectorizes (`round` does not
/// on x86). `y - trunc(y)` is exact, so this equals `f32::round` for every input, NaN and
/// infinities included.
#[inline(always)]
pub(crate) fn round_half_away(y: f32) -> f32 {
    let t = y.trunc();
    if (y - t).abs() >= 0.5 {
        t + 1f32.copysign(y)
    } else {
        t
    }
}

/// `r.clamp(-127.0, 127.0) as i8` for an integral `r` (NaN gives 0), without the saturating
/// float-to-int cast, which x86 does not vectorize: the clamped value is placed in the
/// mantissa of `1.5 * 2^23 + c` (exact for `|c| <= 2^22`) and read back as an integer.
#[inline(always)]
pub(crate) fn to_i8(r: f32) -> i8 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23
    let c = if r.is_nan() {
        0.0
    } else {
        r.clamp(-127.0, 127.0)
    };
    ((c + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32) as i8
}

/// Reads a little-endian f16 at `b[0..2]` as f32.
#[inline]
pub(crate) fn read_f16(b: &[u8]) -> f32 {
    super::f16_to_f32(u16::from_le_bytes([b[0], b[1]]))
}
