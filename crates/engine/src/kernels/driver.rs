//! [`QMatrix`]: a weight matrix kept in its GGUF format, and its product with f32 activation
//! rows on the [`Pool`]. Also [`WeightType`] and the shared byte storage [`Bytes`].

use std::ops::{Deref, Range};
use std::sync::Arc;

use super::act::{Q8Row, Q8Tile8};
use super::act_k::Q8KRow;
use super::float::{self, Float};
use super::pool::Pool;
use super::{q4_k, q5_0, q6_k, q8_0};
use crate::{EngineError, Result};

/// The weight formats the kernels implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightType {
    /// Plain f32.
    F32,
    /// Plain IEEE half.
    F16,
    /// 32-element blocks, f16 scale, i8 values.
    Q8_0,
    /// 32-element blocks, f16 scale, 5-bit values.
    Q5_0,
    /// 256-element super-blocks, 4-bit values with 6-bit scales and mins.
    Q4K,
    /// 256-element super-blocks, 6-bit values with i8 scales.
    Q6K,
}

impl WeightType {
    /// The kernel format of a GGUF tensor type, if we have one.
    pub fn from_ggml(t: candle_core::quantized::GgmlDType) -> Option<Self> {
        use candle_core::quantized::GgmlDType as G;
        Some(match t {
            G::F32 => Self::F32,
            G::F16 => Self::F16,
            G::Q8_0 => Self::Q8_0,
            G::Q5_0 => Self::Q5_0,
            G::Q4K => Self::Q4K,
            G::Q6K => Self::Q6K,
            _ => return None,
        })
    }

    /// Elements per block (1 for the float types).
    pub fn block(self) -> usize {
        match self {
            Self::F32 | Self::F16 => 1,
            Self::Q8_0 => q8_0::BLOCK,
            Self::Q5_0 => q5_0::BLOCK,
            Self::Q4K => q4_k::BLOCK,
            Self::Q6K => q6_k::BLOCK,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 => 2,
            Self::Q8_0 => q8_0::BLOCK_BYTES,
            Self::Q5_0 => q5_0::BLOCK_BYTES,
            Self::Q4K => q4_k::BLOCK_BYTES,
            Self::Q6K => q6_k::BLOCK_BYTES,
        }
    }

    /// Bytes of one row of `cols` elements (whole blocks; a partial block is not counted).
    pub fn row_bytes(self, cols: usize) -> usize {
        cols / self.block() * self.block_bytes()
    }
}

/// Shared immutable bytes: a `Vec`, or a range of a memory map (owner kept alive by the `Arc`).
#[derive(Clone)]
pub struct Bytes {
    owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
    range: Range<usize>,
}

impl Bytes {
    /// Owns `v`.
    pub fn from_vec(v: Vec<u8>) -> Self {
        let len = v.len();
        Self {
            owner: Arc::new(v),
            range: 0..len,
        }
    }

    /// `range` of `owner`'s bytes. A range past the end is cut to the bytes that exist (so a
    /// [`QMatrix`] over it reports the size mismatch instead of anything panicking).
    pub fn from_owner(owner: Arc<dyn AsRef<[u8]> + Send + Sync>, range: Range<usize>) -> Self {
        let len = (*owner).as_ref().len();
        let end = range.end.min(len);
        let start = range.start.min(end);
        Self {
            owner,
            range: start..end,
        }
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &(*self.owner).as_ref()[self.range.clone()]
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.range.len())
    }
}

/// A weight matrix in its GGUF format: `rows` output features of `cols` input features each.
#[derive(Clone, Debug)]
pub struct QMatrix {
    ty: WeightType,
    rows: usize,
    cols: usize,
    row_bytes: usize,
    data: Bytes,
}

impl QMatrix {
    /// Wraps `data` (GGUF shape `[cols, rows]`, i.e. `rows` consecutive rows). Fails when
    /// `cols` is not whole blocks or `data` is not exactly `rows` rows.
    pub fn new(ty: WeightType, rows: usize, cols: usize, data: Bytes) -> Result<Self> {
        if cols == 0 || !cols.is_multiple_of(ty.block()) {
            return Err(EngineError::Gguf(format!(
                "{ty:?} rows of {cols} values are not whole blocks of {}",
                ty.block()
            )));
        }
        let row_bytes = ty.row_bytes(cols);
        let want = rows.checked_mul(row_bytes);
        if want != Some(data.len()) {
            return Err(EngineError::Gguf(format!(
                "{ty:?} matrix {rows}x{cols} needs {} bytes, got {}",
                want.map_or_else(|| "too many".to_string(), |w| w.to_string()),
                data.len()
            )));
        }
        Ok(Self {
            ty,
            rows,
            cols,
            row_bytes,
            data,
        })
    }

    /// Output features.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input features.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The weight format.
    pub fn ty(&self) -> WeightType {
        self.ty
    }

    /// Weight row `r`'s bytes.
    fn row(&self, r: usize) -> &[u8] {
        &self.data[r * self.row_bytes..(r + 1) * self.row_bytes]
    }

    /// `out[i * rows + r] = dot(weight row r, x row i)`: `x` is `[m, cols]` row-major, `out` is
    /// `[m, rows]`. The result for each `(i, r)` is the format's canonical dot product, whatever
    /// `m`, the pool size or the SIMD level. Mismatched lengths are a bug of the caller: they
    /// are logged as an error and `out` is left as it is ([`QMatrix::try_matmul`] reports them).
    pub fn matmul(&self, x: &[f32], m: usize, out: &mut [f32], pool: &Pool) {
        if let Err(e) = self.try_matmul(x, m, out, pool) {
            tracing::error!(error = %e, "QMatrix::matmul");
        }
    }

    /// [`QMatrix::matmul`], failing (nothing written) on mismatched lengths.
    pub fn try_matmul(&self, x: &[f32], m: usize, out: &mut [f32], pool: &Pool) -> Result<()> {
        if m.checked_mul(self.cols) != Some(x.len()) || m.checked_mul(self.rows) != Some(out.len())
        {
            return Err(EngineError::InvalidRequest(format!(
                "matmul of a {}x{} matrix with m = {m}: x has {} values (want m*cols), out has {} (want m*rows)",
                self.rows,
                self.cols,
                x.len(),
                out.len()
            )));
        }
        if m == 0 || self.rows == 0 {
            return Ok(());
        }
        match self.ty {
            WeightType::F32 => self.run::<F32K>(x, m, out, pool),
            WeightType::F16 => self.run::<F16K>(x, m, out, pool),
            WeightType::Q8_0 => self.run::<Q8_0K>(x, m, out, pool),
            WeightType::Q5_0 => self.run::<Q5_0K>(x, m, out, pool),
            WeightType::Q4K => self.run::<Q4KK>(x, m, out, pool),
            WeightType::Q6K => self.run::<Q6KK>(x, m, out, pool),
        }
        Ok(())
    }

    /// Dequantized row `r` (token-embedding lookup) into `out` (`cols` values). With `r` out of
    /// range or `out` of the wrong length, `out` is left as it is and an error is logged.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        if r >= self.rows || out.len() != self.cols {
            tracing::error!(
                r,
                rows = self.rows,
                len = out.len(),
                cols = self.cols,
                "dequantize_row out of range"
            );
            return;
        }
        let w = self.row(r);
        match self.ty {
            WeightType::F32 => float::dequantize(Float::F32, w, out),
            WeightType::F16 => float::dequantize(Float::F16, w, out),
            WeightType::Q8_0 => q8_0::dequantize(w, out),
            WeightType::Q5_0 => q5_0::dequantize(w, out),
            WeightType::Q4K => q4_k::dequantize(w, out),
            WeightType::Q6K => q6_k::dequantize(w, out),
        }
    }

    fn run<K: Kernel>(&self, x: &[f32], m: usize, out: &mut [f32], pool: &Pool) {
        let cols = self.cols;
        let mut acts: Vec<K::Act> = (0..m).map(|_| K::Act::default()).collect();
        if m >= 4 && pool.threads() > 1 {
            let ap = SyncPtr(acts.as_mut_ptr());
            pool.for_each(m, &|i| {
                // SAFETY: each task writes only element i of `acts` (i < m = acts.len()).
                let a = unsafe { &mut *ap.get().add(i) };
                K::quantize_into(a, &x[i * cols..(i + 1) * cols]);
            });
        } else {
            for (i, a) in acts.iter_mut().enumerate() {
                K::quantize_into(a, &x[i * cols..(i + 1) * cols]);
            }
        }
        // Eight activation rows packed together where the kernel has an 8-row version and
        // they fit in L1 next to the weights (`TILE_MAX_COLS`).
        let tiles: Vec<Q8Tile8> = if m >= 8 && cols <= TILE_MAX_COLS {
            acts.chunks_exact(8)
                .map_while(|t| K::pack8([&t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &t[6], &t[7]]))
                .collect()
        } else {
            Vec::new()
        };
        let tiled = if tiles.len() == m / 8 { m / 8 * 8 } else { 0 };
        let rows = self.rows;
        let chunk = chunk_rows(rows, m, self.row_bytes, pool.threads());
        let tasks = rows.div_ceil(chunk);
        let op = SyncPtr(out.as_mut_ptr());
        let acts = &acts;
        pool.for_each(tasks, &|t| {
            let r0 = t * chunk;
            let r1 = (r0 + chunk).min(rows);
            let put = |i: usize, r: usize, v: f32| {
                // SAFETY: i < m, r < rows and out.len() == m * rows (checked by matmul);
                // tasks own disjoint row ranges, so no two threads write the same element.
                unsafe { op.get().add(i * rows + r).write(v) }
            };
            if tiled > 0 {
                for (t, tile) in tiles.iter().enumerate() {
                    for r in r0..r1 {
                        for (k, v) in K::dot_tile8(self.row(r), tile).into_iter().enumerate() {
                            put(8 * t + k, r, v);
                        }
                    }
                }
            }
            let mut i0 = tiled;
            while i0 < m {
                let i1 = (i0 + ACT_TILE).min(m);
                if i1 - i0 < 4 {
                    // Fewer than four activation rows (decode): four weight rows at a time
                    // share each activation row's loads and the final reductions. The four
                    // rows come from the chunk's four quarters, so each is one long
                    // sequential stream in its own pages (four rows side by side in one page
                    // defeat the hardware prefetcher).
                    let q = (r1 - r0) / 4;
                    for r in r0..r0 + q {
                        let w = [
                            self.row(r),
                            self.row(r + q),
                            self.row(r + 2 * q),
                            self.row(r + 3 * q),
                        ];
                        for (i, a) in acts.iter().enumerate().take(i1).skip(i0) {
                            for (k, v) in K::dot_rows4(w, a).into_iter().enumerate() {
                                put(i, r + k * q, v);
                            }
                        }
                    }
                    for r in r0 + 4 * q..r1 {
                        let w = self.row(r);
                        for (i, a) in acts.iter().enumerate().take(i1).skip(i0) {
                            put(i, r, K::dot(w, a));
                        }
                    }
                    i0 = i1;
                    continue;
                }
                for r in r0..r1 {
                    let w = self.row(r);
                    let mut i = i0;
                    while i + 4 <= i1 {
                        let v = K::dot4(w, [&acts[i], &acts[i + 1], &acts[i + 2], &acts[i + 3]]);
                        for (k, v) in v.into_iter().enumerate() {
                            put(i + k, r, v);
                        }
                        i += 4;
                    }
                    for (k, a) in acts[i..i1].iter().enumerate() {
                        put(i + k, r, K::dot(w, a));
                    }
                }
                i0 = i1;
            }
        });
    }
}

/// Activation rows handled together against a chunk of weight rows: one `dot4`, so the four
/// rows stay in L1 while the chunk's weight rows stream from L2.
const ACT_TILE: usize = 4;

/// The widest activation rows packed into 8-row tiles. Eight rows of up to ~4000 values stay
/// in L1 while a chunk of weight rows streams past (Q5_0 640 and 896 wide: +25-30% over two
/// `dot4`); Qwen's 4864-wide ffn_down spills to L2 and still gains a little (+4%).
const TILE_MAX_COLS: usize = 8192;

/// Upper bound of one task's weight bytes when `m > ACT_TILE` (the chunk is re-read from L2
/// once per group of activation rows, so it must stay well inside L2).
const CHUNK_BYTES: usize = 256 * 1024;

/// Output rows per pool task: multiples of 16 (whole cache lines of output), about 16 tasks per
/// thread so a slow thread is caught up by the others.
fn chunk_rows(rows: usize, m: usize, row_bytes: usize, threads: usize) -> usize {
    let mut per = rows.div_ceil(threads.max(1) * 16);
    if m > ACT_TILE {
        per = per.min(CHUNK_BYTES / row_bytes.max(1));
    }
    per.div_ceil(16).max(1) * 16
}

/// A raw pointer handed to pool tasks that write disjoint elements.
#[derive(Clone, Copy)]
struct SyncPtr<T>(*mut T);
// SAFETY: used only for disjoint writes from pool tasks while the owner is borrowed by the call.
unsafe impl<T> Send for SyncPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SyncPtr<T> {}
impl<T> SyncPtr<T> {
    fn get(&self) -> *mut T {
        self.0
    }
}

/// One weight format as the driver sees it.
trait Kernel {
    type Act: Default + Send + Sync;
    fn quantize_into(a: &mut Self::Act, x: &[f32]);
    fn dot(w: &[u8], a: &Self::Act) -> f32;
    fn dot4(w: &[u8], a: [&Self::Act; 4]) -> [f32; 4] {
        a.map(|r| Self::dot(w, r))
    }
    /// Four weight rows against one activation row; each result equals [`Kernel::dot`].
    fn dot_rows4(w: [&[u8]; 4], a: &Self::Act) -> [f32; 4] {
        w.map(|r| Self::dot(r, a))
    }
    /// Packs eight activation rows for [`Kernel::dot_tile8`], where this kernel has it at
    /// the current level.
    fn pack8(_a: [&Self::Act; 8]) -> Option<Q8Tile8> {
        None
    }
    /// One weight row against a tile from [`Kernel::pack8`]; result `i` equals
    /// [`Kernel::dot`] of row `i`.
    fn dot_tile8(_w: &[u8], _t: &Q8Tile8) -> [f32; 8] {
        [f32::NAN; 8] // never called: `pack8` gives no tile
    }
}

/// Whether the 8-row tile kernels of Q8_0/Q5_0 run here (AVX-512 only).
fn tiles_here() -> bool {
    #[cfg(target_arch = "x86_64")]
    return super::cpu::level() == super::cpu::Level::Avx512;
    #[cfg(not(target_arch = "x86_64"))]
    false
}

struct F32K;
struct F16K;
struct Q8_0K;
struct Q5_0K;
struct Q4KK;
struct Q6KK;

impl Kernel for F32K {
    type Act = Vec<f32>;
    fn quantize_into(a: &mut Vec<f32>, x: &[f32]) {
        a.clear();
        a.extend_from_slice(x);
    }
    fn dot(w: &[u8], a: &Vec<f32>) -> f32 {
        float::dot(Float::F32, w, a)
    }
}

impl Kernel for F16K {
    type Act = Vec<f32>;
    fn quantize_into(a: &mut Vec<f32>, x: &[f32]) {
        a.clear();
        a.extend_from_slice(x);
    }
    fn dot(w: &[u8], a: &Vec<f32>) -> f32 {
        float::dot(Float::F16, w, a)
    }
}

impl Kernel for Q8_0K {
    type Act = Q8Row;
    fn quantize_into(a: &mut Q8Row, x: &[f32]) {
        a.quantize_into(x);
    }
    fn dot(w: &[u8], a: &Q8Row) -> f32 {
        q8_0::dot(w, a)
    }
    fn dot4(w: &[u8], a: [&Q8Row; 4]) -> [f32; 4] {
        q8_0::dot4(w, a)
    }
    fn dot_rows4(w: [&[u8]; 4], a: &Q8Row) -> [f32; 4] {
        q8_0::dot_rows4(w, a)
    }
    fn pack8(a: [&Q8Row; 8]) -> Option<Q8Tile8> {
        tiles_here().then(|| Q8Tile8::pack(a)).flatten()
    }
    fn dot_tile8(w: &[u8], t: &Q8Tile8) -> [f32; 8] {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: tiles exist only at the AVX-512 level (`pack8`), and the driver passes
        // weight rows of the activations' width.
        return unsafe { q8_0::dot_tile8_avx512(w, t) };
        #[cfg(not(target_arch = "x86_64"))]
        [f32::NAN; 8]
    }
}

impl Kernel for Q5_0K {
    type Act = Q8Row;
    fn quantize_into(a: &mut Q8Row, x: &[f32]) {
        a.quantize_into(x);
    }
    fn dot(w: &[u8], a: &Q8Row) -> f32 {
        q5_0::dot(w, a)
    }
    fn dot4(w: &[u8], a: [&Q8Row; 4]) -> [f32; 4] {
        q5_0::dot4(w, a)
    }
    fn dot_rows4(w: [&[u8]; 4], a: &Q8Row) -> [f32; 4] {
        q5_0::dot_rows4(w, a)
    }
    fn pack8(a: [&Q8Row; 8]) -> Option<Q8Tile8> {
        tiles_here().then(|| Q8Tile8::pack(a)).flatten()
    }
    fn dot_tile8(w: &[u8], t: &Q8Tile8) -> [f32; 8] {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: tiles exist only at the AVX-512 level (`pack8`), and the driver passes
        // weight rows of the activations' width.
        return unsafe { q5_0::dot_tile8_avx512(w, t) };
        #[cfg(not(target_arch = "x86_64"))]
        [f32::NAN; 8]
    }
}

impl Kernel for Q4KK {
    type Act = Q8KRow;
    fn quantize_into(a: &mut Q8KRow, x: &[f32]) {
        a.quantize_into(x);
    }
    fn dot(w: &[u8], a: &Q8KRow) -> f32 {
        q4_k::dot(w, a)
    }
    fn dot4(w: &[u8], a: [&Q8KRow; 4]) -> [f32; 4] {
        q4_k::dot4(w, a)
    }
}

impl Kernel for Q6KK {
    type Act = Q8KRow;
    fn quantize_into(a: &mut Q8KRow, x: &[f32]) {
        a.quantize_into(x);
    }
    fn dot(w: &[u8], a: &Q8KRow) -> f32 {
        q6_k::dot(w, a)
    }
    fn dot4(w: &[u8], a: [&Q8KRow; 4]) -> [f32; 4] {
        q6_k::dot4(w, a)
    }
}
