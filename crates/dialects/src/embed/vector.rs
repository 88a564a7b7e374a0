//! What happens to the model's vector on the way out: projection to the requested dimension,
//! normalisation, and the quantised types.
//!
//! **Projection.** The local model's vectors have its own dimension `m` (384 for
//! all-MiniLM-L6-v2); Bedrock's models answer with 256 to 1536. A vector `x` becomes `y = Q·x`
//! with a fixed `d × m` matrix `Q` built once per `(m, d)`:
//! - draw `k = min(d, m)` vectors of length `n = max(d, m)`; coordinate `j` of vector `i` is
//!   uniform in `[-1, 1)`, from the top 53 bits of `splitmix64(0x6265_6472_6f63_6b00 +
//!   d·2³² + i·n + j)` (the seed spells `"bedrock"`);
//! - orthonormalise them in order by modified Gram–Schmidt, in `f64`;
//! - going up (`d ≥ m`) they are the columns of `Q`: `Qᵀ·Q = I`, so lengths, dot products and
//!   cosine similarities are kept exactly (up to `f32` rounding of the result);
//! - going down (`d < m`) they are the rows of `Q`: `y` is the orthogonal projection of `x`
//!   onto a fixed random `d`-dimensional subspace, which keeps cosines approximately
//!   (Johnson–Lindenstrauss), as truncated Matryoshka vectors of the real models do.
//!
//! Only `+ − × ÷ √` in a fixed order, so every platform computes the same bits. Every output
//! coordinate mixes all input coordinates: no zero padding or copied prefix shows.
//!
//! **Quantised types** (Cohere's `embedding_types`, Titan's `embeddingTypes`):
//! - `int8`: `round(127 · v / max|v|)` per vector (symmetric scalar quantisation; cosine
//!   similarity is scale-invariant, so the per-vector scale keeps it close to the float one);
//!   `uint8`: the same plus 128;
//! - `ubinary`: one bit per dimension (1 when the value is positive), packed eight to a byte,
//!   first dimension in the high bit: `d / 8` values in 0..=255; `binary`: the same bytes minus
//!   128, in -128..=127 (Cohere's definitions);
//! - Titan's `binary`: one 0/1 value per dimension (1 when positive), not packed.

/// splitmix64: a tiny, well-mixed, portable generator.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const SEED: u64 = 0x6265_6472_6f63_6b00;

/// The orthonormal vectors of the `(m, d)` projection: `min(d, m)` rows of length `max(d, m)`.
fn basis(m: usize, d: usize) -> Vec<Vec<f64>> {
    let (k, n) = (d.min(m), d.max(m));
    let mut rows: Vec<Vec<f64>> = Vec::with_capacity(k);
    for i in 0..k {
        let mut v: Vec<f64> = (0..n)
            .map(|j| {
                let seed = SEED
                    .wrapping_add((d as u64) << 32)
                    .wrapping_add((i * n + j) as u64);
                (splitmix64(seed) >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect();
        for done in &rows {
            let dot: f64 = done.iter().zip(&v).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(done).for_each(|(x, q)| *x -= dot * q);
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        rows.push(v);
    }
    rows
}

type Basis = std::sync::Arc<Vec<Vec<f64>>>;

/// [`basis`], built once per `(m, d)` for the life of the process.
fn cached_basis(m: usize, d: usize) -> Basis {
    static CACHE: std::sync::Mutex<Vec<((usize, usize), Basis)>> =
        std::sync::Mutex::new(Vec::new());
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, b)) = cache.iter().find(|(key, _)| *key == (m, d)) {
        return b.clone();
    }
    let b = Basis::new(basis(m, d));
    cache.push(((m, d), b.clone()));
    b
}

/// `x` in dimension `d` by the fixed map of the module docs.
pub fn project(x: &[f32], d: usize) -> Vec<f32> {
    let m = x.len();
    if d == m || m == 0 {
        return x.to_vec();
    }
    let q = cached_basis(m, d);
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    if d >= m {
        // Columns: y = Σ_i x_i · q_i.
        let mut y = vec![0f64; d];
        for (xi, qi) in x64.iter().zip(q.iter()) {
            y.iter_mut().zip(qi).for_each(|(yj, qij)| *yj += xi * qij);
        }
        y.into_iter().map(|v| v as f32).collect()
    } else {
        // Rows: y_i = q_i · x.
        q.iter()
            .map(|qi| qi.iter().zip(&x64).map(|(a, b)| a * b).sum::<f64>() as f32)
            .collect()
    }
}

/// `x / |x|` (unchanged when `x` is zero).
pub fn normalize(x: &[f32]) -> Vec<f32> {
    let norm = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
    if norm == 0.0 {
        return x.to_vec();
    }
    x.iter().map(|v| (f64::from(*v) / norm) as f32).collect()
}

/// Signed 8-bit values: `round(127 · v / max|v|)`.
pub fn int8(x: &[f32]) -> Vec<i16> {
    let max = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        return vec![0; x.len()];
    }
    x.iter()
        .map(|v| (127.0 * v / max).round().clamp(-128.0, 127.0) as i16)
        .collect()
}

/// Unsigned 8-bit values: [`int8`] plus 128.
pub fn uint8(x: &[f32]) -> Vec<i16> {
    int8(x).into_iter().map(|v| v + 128).collect()
}

/// One bit per dimension, packed high bit first (0..=255 per byte).
pub fn ubinary(x: &[f32]) -> Vec<i16> {
    x.chunks(8)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0i16, |byte, (k, v)| byte | (i16::from(*v > 0.0) << (7 - k)))
        })
        .collect()
}

/// [`ubinary`] minus 128 (-128..=127 per byte).
pub fn binary(x: &[f32]) -> Vec<i16> {
    ubinary(x).into_iter().map(|v| v - 128).collect()
}

/// Titan's unpacked binary: 1 per positive dimension, else 0.
pub fn bits(x: &[f32]) -> Vec<u8> {
    x.iter().map(|v| u8::from(*v > 0.0)).collect()
}

/// Cosine similarity (for tests and checks).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(seed: u64, n: usize) -> Vec<f32> {
        (0..n as u64)
            .map(|j| ((splitmix64(seed * 7919 + j) >> 40) as f32 / (1u64 << 24) as f32) - 0.5)
            .collect()
    }

    #[test]
    fn going_up_keeps_lengths_and_cosines() {
        let (a, b) = (vector(1, 384), vector(2, 384));
        for d in [512, 1024, 1536] {
            let (pa, pb) = (project(&a, d), project(&b, d));
            assert_eq!(pa.len(), d);
            let len = |x: &[f32]| x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
            assert!((len(&pa) - len(&a)).abs() < 1e-5 * len(&a));
            assert!((cosine(&pa, &pb) - cosine(&a, &b)).abs() < 1e-6);
            // No zero padding shows: every coordinate carries signal.
            assert!(pa.iter().all(|v| *v != 0.0));
        }
    }

    #[test]
    fn going_down_keeps_cosines_approximately() {
        let base = vector(3, 384);
        let mut worst: f64 = 0.0;
        for k in 0..20 {
            // Vectors at various angles to `base`.
            let noise = vector(100 + k, 384);
            let w = k as f32 / 10.0;
            let other: Vec<f32> = base.iter().zip(&noise).map(|(x, n)| x + w * n).collect();
            let before = cosine(&base, &other);
            let after = cosine(&project(&base, 256), &project(&other, 256));
            worst = worst.max((before - after).abs());
        }
        assert!(worst < 0.1, "cosine moved by {worst}");
    }

    #[test]
    fn the_projection_is_fixed() {
        let a = vector(5, 384);
        assert_eq!(project(&a, 1024), project(&a, 1024));
        assert_eq!(project(&a, 384), a);
        // Pinned bits: a change to the documented construction is a breaking change.
        let unit: Vec<f32> = (0..384).map(|j| if j == 0 { 1.0 } else { 0.0 }).collect();
        let p = project(&unit, 256);
        assert_eq!(p.len(), 256);
        assert_eq!(p[..3], [-0.05863849, 0.008472796, -0.018364226]);
        let energy: f64 = p.iter().map(|v| f64::from(*v).powi(2)).sum();
        // A random 256-d subspace of 384 keeps about 2/3 of a vector's energy, spread out.
        assert!((energy - 2.0 / 3.0).abs() < 0.1, "{energy}");
        assert!(p.iter().all(|v| v.abs() < 0.3));
        let p2 = project(&unit, 256);
        assert_eq!(p, p2);
    }

    #[test]
    fn normalisation_and_quantised_types() {
        let n = normalize(&[3.0, 4.0]);
        assert!((n[0] - 0.6).abs() < 1e-7 && (n[1] - 0.8).abs() < 1e-7);
        assert_eq!(normalize(&[0.0, 0.0]), [0.0, 0.0]);
        let x = [0.5, -1.0, 0.25, 0.0, 1.0, -0.1, 0.2, 0.3, -0.7];
        assert_eq!(int8(&x), [64, -127, 32, 0, 127, -13, 25, 38, -89]);
        assert_eq!(uint8(&x), [192, 1, 160, 128, 255, 115, 153, 166, 39]);
        // bits 1 0 1 0 1 0 1 1 | 0 -> 0b1010_1011 = 171, then 0b0000_0000
        assert_eq!(ubinary(&x), [171, 0]);
        assert_eq!(binary(&x), [43, -128]);
        assert_eq!(bits(&x), [1, 0, 1, 0, 1, 0, 1, 1, 0]);
        let a = vector(9, 1024);
        let b: Vec<f32> = a
            .iter()
            .zip(vector(10, 1024))
            .map(|(x, y)| x + 0.5 * y)
            .collect();
        let q = |v: &[f32]| int8(v).into_iter().map(f32::from).collect::<Vec<_>>();
        assert!((cosine(&q(&a), &q(&b)) - cosine(&a, &b)).abs() < 0.01);
    }
}
