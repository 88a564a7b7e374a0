//! Streaming sha256: hashing files, hashing while copying, and the `.verified` marker text.

use std::fs::Metadata;
use std::io::{Read, Write};
use std::path::Path;
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use crate::error::{RegistryError, Result};
use crate::progress::Progress;

/// Buffer size for hashing and copying.
pub(crate) const BUF: usize = 256 * 1024;

/// The marker line for a verified blob: sha, size and modification time. Any change to the blob
/// (replaced, truncated, touched) invalidates it and forces a re-hash.
pub(crate) fn marker_text(sha256: &str, meta: &Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{sha256} {} {mtime}", meta.len())
}

/// Hashes a whole file; returns (lower-case hex sha256, length).
pub(crate) fn hash_file(
    path: &Path,
    label: &str,
    progress: &dyn Progress,
) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(|e| RegistryError::io(path, e))?;
    let total = file.metadata().ok().map(|m| m.len());
    progress.start(label, total);
    let mut hasher = Sha256::new();
    let result = copy_hashing(&mut file, &mut std::io::sink(), &mut hasher, progress);
    progress.finish();
    let len = result.map_err(|e| RegistryError::io(path, e))?;
    Ok((hex::encode(hasher.finalize()), len))
}

/// Copies `reader` into `writer`, feeding every byte to `hasher` and `progress`. Returns the
/// number of bytes copied.
pub(crate) fn copy_hashing(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    hasher: &mut Sha256,
    progress: &dyn Progress,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        writer.write_all(&buf[..n])?;
        total += n as u64;
        progress.advance(n as u64);
    }
}

/// Lower-case hex of a finished hasher.
pub(crate) fn finish_hex(hasher: Sha256) -> String {
    hex::encode(hasher.finalize())
}
