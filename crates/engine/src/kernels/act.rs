//! Activation rows quantized to 8 bits in blocks of 32 ("Q8 blocks"), the right-hand side of
//! the Q8_0 and Q5_0 dot products.
//!
//! Quantization depends only on the row's own values (never on the batch it came in), which
//! is what makes the kernels batch invariant: per block, `d = amax / 127`,
//! `id = 1 / d` (0 for an all-zero block), `q = round(x * id)` (half away from zero) clamped to
//! [-127, 127]. `-128` is never produced, so the SIMD sign trick (`|w| * sign(a, w)`) cannot
//! overflow. Scales stay f32.
//!
//! Besides the canonical `d`/`qs`/`sums`, a row keeps two SIMD-friendly copies: `qu = qs + 128`
//! as unsigned bytes (the `u8` operand of `vpdpbusd`, so a weight needs no sign trick per
//! activation row), and `d16`, each block pair's scales spread as `[d0; 8] ++ [d1; 8]` (one
//! 64-byte load per pair in the AVX-512 kernels).

/// Elements per Q8 block.
pub const QK: usize = 32;

/// One activation row, quantized per 32-element block.
#[derive(Clone, Debug, Default)]
pub struct Q8Row {
    d: Vec<f32>,
    qs: Vec<i8>,
    sums: Vec<i32>,
    qu: Vec<u8>,
    d16: Vec<f32>,
}

impl Q8Row {
    /// Quantizes `x`. A trailing partial block (the driver never produces one) is zero-padded.
    pub fn quantize(x: &[f32]) -> Self {
        let mut row = Self::default();
        row.quantize_into(x);
        row
    }

    /// Quantizes `x` into `self`, reusing its allocations.
    pub fn quantize_into(&mut self, x: &[f32]) {
        let nb = x.len().div_ceil(QK);
        self.d.clear();
        self.d.resize(nb, 0.0);
        self.qs.clear();
        self.qs.resize(nb * QK, 0);
        self.sums.clear();
        self.sums.resize(nb, 0);
        for (b, chunk) in x.chunks(QK).enumerate() {
            let mut block = [0f32; QK];
            block[..chunk.len()].copy_from_slice(chunk);
            // Eight running maxima (the maximum does not depend on the order; NaNs are
            // skipped either way), so the loop vectorizes instead of chaining 32 `max`es.
            let mut m8 = [0f32; 8];
            for c in block.chunks_exact(8) {
                for (m, v) in m8.iter_mut().zip(c) {
                    *m = m.max(v.abs());
                }
            }
            let amax = m8.iter().fold(0.0f32, |m, &v| m.max(v));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut q = [0i8; QK];
            for (dst, &v) in q.iter_mut().zip(&block) {
                let r = round_half_away(v * id);
                let r = if r.is_nan() {
                    0.0
                } else {
                    r.clamp(-127.0, 127.0)
                };
                // An integer in [-127, 127] plus 1.5 * 2^23 is exact and leaves it, two's
                // complement, in the low byte of the bits: a cast that vectorizes.
                *dst = (r + 12_582_912.0).to_bits() as u8 as i8;
            }
            self.qs[b * QK..(b + 1) * QK].copy_from_slice(&q);
            self.d[b] = d;
            self.sums[b] = q.iter().map(|&v| i32::from(v)).sum();
        }
        self.qu.clear();
        self.qu.extend(self.qs.iter().map(|&q| (q as u8) ^ 0x80));
        self.d16.clear();
        for pair in self.d.chunks(2) {
            let d1 = pair.get(1).copied().unwrap_or(0.0);
            self.d16.extend([pair[0]; 8]);
            self.d16.extend([d1; 8]);
        }
    }

    /// Number of 32-element blocks.
    pub fn blocks(&self) -> usize {
        self.d.len()
    }

    /// Number of elements (whole blocks).
    pub fn len(&self) -> usize {
        self.qs.len()
    }

    /// Whether the row has no element.
    pub fn is_empty(&self) -> bool {
        self.qs.is_empty()
    }

    /// The block scales.
    pub fn d(&self) -> &[f32] {
        &self.d
    }

    /// The quantized values, `QK` per block.
    pub fn qs(&self) -> &[i8] {
        &self.qs
    }

    /// `qs[j] + 128` as unsigned bytes.
    pub fn qu(&self) -> &[u8] {
        &self.qu
    }

    /// Per block pair `k`: `d[2k]` eight times then `d[2k + 1]` eight times (0 past the end).
    pub fn d16(&self) -> &[f32] {
        &self.d16
    }

    /// The sum of each block's quantized values.
    pub fn sums(&self) -> &[i32] {
        &self.sums
    }

    /// The dequantized values (for tests).
    pub fn dequantize(&self) -> Vec<f32> {
        self.qs
            .iter()
            .enumerate()
            .map(|(i, &q)| self.d[i / QK] * f32::from(q))
            .collect()
    }
}

/// `v.round()` (half away from zero) in a form that vectorizes: `v - trunc(v)` is exact, so
/// comparing it with one half decides the rounding exactly as `f32::round` does.
/// Eight activation rows packed for the 8-row kernels (`dot_tile8` of Q8_0 and Q5_0): per
/// block pair, the eight rows' 64 `qu` bytes back to back, then (in `d16`) their 16 scales.
/// One base pointer and fixed offsets reach every row, so the kernels keep their 8
/// accumulators in registers instead of spilling 16 row pointers. Only rows with an even
/// block count are packed.
#[derive(Clone, Debug, Default)]
pub struct Q8Tile8 {
    qu: Vec<Line>,
    d16: Vec<Line>,
    pairs: usize,
}

/// 64 bytes on a cache-line boundary: every 64-byte load of a tile stays in one line (an
/// unaligned buffer splits each of them across two and costs a third of the speed).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Line([u8; 64]);

impl Q8Tile8 {
    /// Packs `rows` (all the same even number of blocks); `None` otherwise.
    pub fn pack(rows: [&Q8Row; 8]) -> Option<Self> {
        let blocks = rows[0].blocks();
        if !blocks.is_multiple_of(2) || rows.iter().any(|r| r.blocks() != blocks) {
            return None;
        }
        let pairs = blocks / 2;
        let mut qu = Vec::with_capacity(pairs * 8);
        let mut d16 = Vec::with_capacity(pairs * 8);
        for p in 0..pairs {
            for r in &rows {
                let mut line = Line([0; 64]);
                line.0.copy_from_slice(&r.qu[p * 2 * QK..(p + 1) * 2 * QK]);
                qu.push(line);
            }
            for r in &rows {
                let mut line = Line([0; 64]);
                for (dst, d) in line.0.chunks_exact_mut(4).zip(&r.d16[p * 16..(p + 1) * 16]) {
                    dst.copy_from_slice(&d.to_ne_bytes());
                }
                d16.push(line);
            }
        }
        Some(Self { qu, d16, pairs })
    }

    /// Block pairs per row.
    pub fn pairs(&self) -> usize {
        self.pairs
    }

    /// The packed `qu` bytes (`pairs x 8 rows x 64`), 64-byte aligned.
    pub fn qu(&self) -> &[u8] {
        // SAFETY: `Line` is 64 plain bytes (`repr(C)`, no padding), so the lines are one
        // contiguous, initialised byte slice of 64 bytes per line.
        unsafe { std::slice::from_raw_parts(self.qu.as_ptr().cast::<u8>(), self.qu.len() * 64) }
    }

    /// The packed pair scales (`pairs x 8 rows x 16`), 64-byte aligned.
    pub fn d16(&self) -> &[f32] {
        // SAFETY: as in `qu`; every 4 bytes hold an f32 written by `to_ne_bytes`, and the
        // lines are 64-byte aligned, so the pointer is aligned for f32.
        unsafe { std::slice::from_raw_parts(self.d16.as_ptr().cast::<f32>(), self.d16.len() * 16) }
    }
}

#[inline]
fn round_half_away(v: f32) -> f32 {
    let t = v.trunc();
    let up = if (v - t).abs() >= 0.5 { 1.0f32 } else { 0.0 };
    t + up.copysign(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_half_away_is_f32_round() {
        let mut x = 0x1234_5678u32;
        let special = [
            0.5f32,
            -0.5,
            1.5,
            -2.5,
            0.499_999_97,
            -0.499_999_97,
            8_388_607.5,
            1e30,
            -0.0,
        ];
        for v in special.into_iter().chain((0..200_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as i32 as f32) / 1e7 + f32::from_bits(x & 0x807f_ffff | 0x3f00_0000)
        })) {
            assert_eq!(round_half_away(v).to_bits(), v.round().to_bits(), "{v}");
        }
    }

    #[test]
    fn quantize_matches_the_plain_formula() {
        let mut s = 0x9e37_79b9u32;
        let x: Vec<f32> = (0..32 * 300)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let v = (s as i32 as f32) / 2e9 * [0.001f32, 1.0, 500.0][i / 32 % 3];
                if i % 97 == 0 {
                    f32::NAN
                } else {
                    v
                }
            })
            .collect();
        let row = Q8Row::quantize(&x);
        for (b, c) in x.chunks(QK).enumerate() {
            let amax = c.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            assert_eq!(row.d()[b], d);
            for (j, &v) in c.iter().enumerate() {
                let want = (v * id).round().clamp(-127.0, 127.0) as i8;
                assert_eq!(row.qs()[b * QK + j], want, "{v}");
            }
        }
    }

    #[test]
    fn quantize_rounds_half_away_and_never_128() {
        let mut x = vec![0.0f32; 64];
        x[0] = -127.0;
        x[1] = 127.0;
        x[2] = 0.5;
        x[3] = -0.5;
        x[4] = -1000.0; // clamped by amax anyway
        let r = Q8Row::quantize(&x);
        assert_eq!(r.blocks(), 2);
        assert_eq!(r.d()[0], 1000.0 / 127.0);
        assert!(r.qs().iter().all(|&q| q != -128));
        assert_eq!(r.qs()[4], -127);
        assert_eq!(r.d()[1], 0.0);
        assert!(r.qs()[32..].iter().all(|&q| q == 0));
        let y = Q8Row::quantize(&[-127.0, 127.0, 0.5, -0.5]);
        assert_eq!(&y.qs()[..4], &[-127, 127, 1, -1]);
        assert_eq!(y.sums()[0], 0);
        assert_eq!(y.len(), 32);
        assert_eq!(y.qu()[..4], [1, 255, 129, 127]);
        assert_eq!(y.d16().len(), 16);
        assert_eq!(r.d16()[7], r.d()[0]);
        assert_eq!(r.d16()[8], r.d()[1]);
    }
}
