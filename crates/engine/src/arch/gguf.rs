//! A GGUF file's weights, memory-mapped.
//!
//! The tensor data is never copied: every matrix is a range of the one read-only map (the
//! kernels read the GGUF block layouts as they are), so the weights cost the page cache and
//! not the heap, and a second process serving the same file shares its pages. Only the small
//! f32 vectors (norms, biases) are copied out.

#![allow(unsafe_code)] // one mmap of a read-only model file, see `open`

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{Content, Value};
use memmap2::Mmap;

use crate::kernels::{Bytes, QMatrix, WeightType};
use crate::{EngineError, Result};

/// The map, shareable as the owner of weight byte ranges.
struct Map(Mmap);

impl AsRef<[u8]> for Map {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A GGUF file: its header (metadata, tensor table) and its mapped bytes.
pub struct Gguf {
    /// The header.
    pub content: Content,
    map: Arc<Map>,
}

impl Gguf {
    /// Reads the header and maps the file.
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display();
        let file =
            File::open(path).map_err(|e| EngineError::Gguf(format!("cannot open {name}: {e}")))?;
        // Buffered: the header is hundreds of thousands of small reads (one per vocabulary
        // string).
        let mut reader = BufReader::new(&file);
        let content =
            Content::read(&mut reader).map_err(|e| EngineError::Gguf(format!("{name}: {e}")))?;
        // SAFETY: the map is read-only and private to this process. Model files live in the
        // model store, which writes a file completely (temp file + rename) before anyone can
        // open it and never modifies it afterwards; truncating a mapped file under a running
        // server is outside what we support (as for every mmap-based inference engine).
        let map = unsafe { Mmap::map(&file) }
            .map_err(|e| EngineError::Gguf(format!("cannot map {name}: {e}")))?;
        Ok(Self {
            content,
            map: Arc::new(Map(map)),
        })
    }

    /// Whether the file has a tensor called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// The bytes and GGUF dimensions of tensor `name`.
    fn raw(&self, name: &str) -> Result<(Bytes, candle_core::quantized::GgmlDType, Vec<usize>)> {
        let info = self
            .content
            .tensor_infos
            .get(name)
            .ok_or_else(|| EngineError::Gguf(format!("missing tensor {name}")))?;
        let dims = info.shape.dims().to_vec();
        let elems: usize = dims.iter().product();
        let block = info.ggml_dtype.block_size();
        if !elems.is_multiple_of(block) {
            return Err(EngineError::Gguf(format!(
                "tensor {name}: {elems} values are not whole {:?} blocks",
                info.ggml_dtype
            )));
        }
        let size = elems / block * info.ggml_dtype.type_size();
        let start = usize::try_from(self.content.tensor_data_offset + info.offset)
            .map_err(|_| EngineError::Gguf(format!("tensor {name}: offset out of range")))?;
        let end = start
            .checked_add(size)
            .filter(|end| *end <= self.map.0.len())
            .ok_or_else(|| {
                EngineError::Gguf(format!(
                    "tensor {name} needs {size} bytes at offset {start}: the file is truncated"
                ))
            })?;
        let owner: Arc<dyn AsRef<[u8]> + Send + Sync> = self.map.clone();
        Ok((Bytes::from_owner(owner, start..end), info.ggml_dtype, dims))
    }

    /// A weight matrix, kept in its quantized format. candle reports GGUF shapes outermost
    /// first: `[rows (output features), cols (input features)]`.
    pub fn matrix(&self, name: &str) -> Result<QMatrix> {
        let (bytes, dtype, dims) = self.raw(name)?;
        let [rows, cols] = dims[..] else {
            return Err(EngineError::Gguf(format!(
                "tensor {name} has shape {dims:?}, expected a matrix"
            )));
        };
        let ty = WeightType::from_ggml(dtype).ok_or_else(|| {
            EngineError::Gguf(format!(
                "tensor {name}: weight type {dtype:?} is not supported"
            ))
        })?;
        QMatrix::new(ty, rows, cols, bytes)
            .map_err(|e| EngineError::Gguf(format!("tensor {name}: {e}")))
    }

    /// A vector (norm weights, biases) as f32 values, `len` long.
    pub fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        let (bytes, dtype, dims) = self.raw(name)?;
        let n: usize = dims.iter().product();
        if n != len {
            return Err(EngineError::Gguf(format!(
                "tensor {name} has {n} values, expected {len}"
            )));
        }
        let ty = WeightType::from_ggml(dtype).ok_or_else(|| {
            EngineError::Gguf(format!("tensor {name}: type {dtype:?} is not supported"))
        })?;
        let m = QMatrix::new(ty, 1, n, bytes)
            .map_err(|e| EngineError::Gguf(format!("tensor {name}: {e}")))?;
        let mut out = vec![0.0; n];
        m.dequantize_row(0, &mut out);
        Ok(out)
    }

    /// Metadata value `key`.
    pub fn meta(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    /// Metadata `key` as an integer, required.
    pub fn usize(&self, key: &str) -> Result<usize> {
        let v = self
            .meta(key)
            .ok_or_else(|| EngineError::Gguf(format!("missing metadata key {key}")))?;
        v.to_u32()
            .map(|v| v as usize)
            .or_else(|_| v.to_u64().map(|v| v as usize))
            .map_err(|e| EngineError::Gguf(format!("{key}: {e}")))
    }

    /// Metadata `key` as a float, or `default`.
    pub fn f32_or(&self, key: &str, default: f32) -> f32 {
        self.meta(key)
            .and_then(|v| v.to_f32().ok())
            .unwrap_or(default)
    }
}
