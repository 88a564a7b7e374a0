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
            let amax = chunk.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let q = &mut self.qs[b * QK..b * QK + chunk.len()];
            let mut sum = 0i32;
            for (dst, &v) in q.iter_mut().zip(chunk) {
                let r = (v * id).round().clamp(-127.0, 127.0) as i8;
                *dst = r;
                sum += i32::from(r);
            }
            self.d[b] = d;
            self.sums[b] = sum;
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

#[cfg(test)]
mod tests {
    use super::*;

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
