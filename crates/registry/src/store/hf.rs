//! The `hf` source: a file of a Hugging Face hub repository, through the hf-hub crate.
//!
//! Looks in the user's own hf cache (`HF_HOME`) first, then in ours (`<data_dir>/huggingface`),
//! then downloads into ours with hf-hub (which resumes its own `.part` files and honours the
//! configured endpoint; `HF_TOKEN` or the user's saved token is sent for gated repositories). Whatever is found is hashed before it enters the store; the store gets a
//! hard link when possible, a copy otherwise.

use std::path::{Path, PathBuf};

use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Cache, Repo, RepoType};

use super::fetch::{import_file, PullSession};
use super::Store;
use crate::error::{RegistryError, Result};
use crate::models::ModelFile;
use crate::progress::Progress;

/// Fetches `file_in_repo` of `repo@revision` from the session's endpoint into the store as
/// `target`. A transport failure marks the hub as down for the rest of the session.
pub(crate) fn fetch(
    store: &Store,
    session: &mut PullSession,
    repo: &str,
    file_in_repo: &str,
    revision: &str,
    target: &ModelFile,
    progress: &dyn Progress,
) -> Result<()> {
    let hf_repo = Repo::with_revision(repo.to_string(), RepoType::Model, revision.to_string());
    let from = format!("hf {repo}@{revision}/{file_in_repo}");

    // Already in a cache? Only a matching file is used; a mismatch falls through to download.
    let caches = user_cache_dir()
        .into_iter()
        .chain([store.hf_cache_dir().join("hub")])
        .map(Cache::new);
    for cache in caches {
        if let Some(path) = cache.repo(hf_repo.clone()).get(file_in_repo) {
            match import_file(store, &path, target, true, progress) {
                Ok(()) => {
                    tracing::info!(file = %target.name, cache = %path.display(), "found in the hf cache");
                    return Ok(());
                }
                Err(e) => tracing::warn!(file = %target.name, error = %e, "hf cache copy unusable"),
            }
        }
    }

    let mut builder = ApiBuilder::from_cache(Cache::new(store.hf_cache_dir().join("hub")));
    if let Some(token) = user_token() {
        builder = builder.with_token(Some(token));
    }
    let api = builder
        .with_endpoint(session.hf_endpoint.clone())
        .with_progress(false)
        .with_retries(3)
        .with_user_agent("bedrock-local", env!("CARGO_PKG_VERSION"))
        .build()
        .map_err(|e| RegistryError::download(&from, e))?;
    let label = format!("downloading {} ({from})", target.name);
    let path = api
        .repo(hf_repo)
        .download_with_progress(file_in_repo, HfProgress::new(&label, progress))
        .map_err(|e| {
            if is_unreachable(&e) {
                session.hf_down = Some(e.to_string());
            }
            RegistryError::download(&from, e)
        })?;
    import_file(store, &path, target, true, progress).inspect_err(|_| {
        // A wrong file in our own hf cache would be found again next time: drop it.
        remove_hf_copy(&path);
    })
}

/// True when the error says the hub cannot be reached at all (DNS, connect, TLS), as opposed to
/// a missing file: later files of the same pull then skip the hub instead of waiting again.
fn is_unreachable(e: &hf_hub::api::sync::ApiError) -> bool {
    use hf_hub::api::sync::ApiError;
    match e {
        ApiError::RequestError(inner) => matches!(**inner, ureq::Error::Transport(_)),
        ApiError::TooManyRetries(inner) => is_unreachable(inner),
        _ => false,
    }
}

/// The user's own hf cache (`HF_HUB_CACHE`, `HF_HOME/hub`, `~/.cache/huggingface/hub`), read only.
fn user_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("HF_HUB_CACHE") {
        return Some(PathBuf::from(dir));
    }
    if let Some(home) = std::env::var_os("HF_HOME") {
        return Some(PathBuf::from(home).join("hub"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
}

/// The user's hub token for gated repositories: `HF_TOKEN`, else the token file next to their
/// hf cache (`huggingface-cli login`).
fn user_token() -> Option<String> {
    std::env::var("HF_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .or_else(|| user_cache_dir().and_then(|dir| Cache::new(dir).token()))
}

/// Removes a file from our hf cache: the pointer and the blob it points to.
fn remove_hf_copy(pointer: &Path) {
    if let Ok(blob) = std::fs::canonicalize(pointer) {
        let _ = std::fs::remove_file(blob);
    }
    let _ = std::fs::remove_file(pointer);
}

/// Adapts our [`Progress`] to hf-hub's (which calls `init` again on each retry).
struct HfProgress<'a> {
    label: &'a str,
    inner: &'a dyn Progress,
    started: bool,
}

impl<'a> HfProgress<'a> {
    fn new(label: &'a str, inner: &'a dyn Progress) -> Self {
        Self {
            label,
            inner,
            started: false,
        }
    }
}

impl hf_hub::api::Progress for HfProgress<'_> {
    fn init(&mut self, size: usize, _filename: &str) {
        if !self.started {
            self.started = true;
            self.inner.start(self.label, Some(size as u64));
        }
    }

    fn update(&mut self, size: usize) {
        self.inner.advance(size as u64);
    }

    fn finish(&mut self) {
        if self.started {
            self.started = false;
            self.inner.finish();
        }
    }
}
