//! The store: buckets on disk plus an in-memory index of their objects.
//!
//! Every bucket's objects are indexed in a sorted map (key -> metadata), loaded from the
//! `meta/` files when the store opens; listings read only the index. A write streams its
//! bytes into a fresh data file, then commits under the bucket's commit lock: metadata file
//! replaced atomically, index updated, previous data file removed. Crash leftovers (temp
//! files, data files no metadata names) are removed when the store opens.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use md5::{Digest, Md5};
use s3s::dto::StreamingBlob;
use s3s::{s3_error, S3Result};
use tokio::io::AsyncWriteExt;

use crate::error::StoreError;
use crate::layout::{
    self, fresh_name, remove_file_quiet, valid_bucket_name, write_atomic, BucketFile, BucketPaths,
    ObjectMeta, TMP_PREFIX,
};

/// An S3 store over a directory. Cheap to clone; clones share the same state.
#[derive(Clone)]
pub struct S3Store {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub root: PathBuf,
    buckets: RwLock<BTreeMap<String, Arc<Bucket>>>,
    /// Serialises bucket creation and deletion.
    admin: tokio::sync::Mutex<()>,
}

/// One bucket: its paths, creation time and object index.
pub(crate) struct Bucket {
    pub name: String,
    pub paths: BucketPaths,
    pub created_ms: u64,
    objects: RwLock<BTreeMap<String, Arc<ObjectMeta>>>,
    /// Held while committing a write or delete; `true` once the bucket is deleted.
    commit: tokio::sync::Mutex<bool>,
}

fn internal(e: impl std::fmt::Display) -> s3s::S3Error {
    tracing::error!(error = %e, "S3 store I/O failed");
    s3_error!(InternalError, "{e}")
}

/// Runs blocking file work off the async threads, mapping failures to InternalError.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> S3Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(internal)
}

/// Streams `body` into a new file at `path` (fsynced), returning its length and MD5.
/// A partial file is removed when the stream fails.
pub(crate) async fn write_stream(
    path: &Path,
    mut body: StreamingBlob,
) -> S3Result<(u64, [u8; 16])> {
    let result = async {
        let mut file = tokio::fs::File::create(path).await.map_err(internal)?;
        let mut md5 = Md5::new();
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| s3_error!(IncompleteBody, "{e}"))?;
            md5.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(internal)?;
        }
        file.sync_all().await.map_err(internal)?;
        Ok((size, md5.finalize().into()))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    result
}

impl S3Store {
    /// Opens (creating if needed) the store rooted at `root`, loading every bucket's index and
    /// removing leftovers of interrupted writes.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(StoreError::io(&root))?;
        let mut buckets = BTreeMap::new();
        for entry in fs::read_dir(&root).map_err(StoreError::io(&root))? {
            let entry = entry.map_err(StoreError::io(&root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(TMP_PREFIX) {
                let _ = fs::remove_dir_all(entry.path());
                continue;
            }
            if !valid_bucket_name(&name) || !entry.path().join("bucket.json").is_file() {
                continue;
            }
            let bucket = Bucket::load(&root, &name)?;
            buckets.insert(name, Arc::new(bucket));
        }
        tracing::debug!(root = %root.display(), buckets = buckets.len(), "S3 store open");
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                buckets: RwLock::new(buckets),
                admin: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The bucket, or NoSuchBucket.
    pub(crate) fn bucket(&self, name: &str) -> S3Result<Arc<Bucket>> {
        self.inner
            .buckets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| s3_error!(NoSuchBucket, "The specified bucket does not exist"))
    }

    /// Every bucket, sorted by name.
    pub(crate) fn buckets(&self) -> Vec<Arc<Bucket>> {
        self.inner
            .buckets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Creates a bucket atomically (built under a temp name, then renamed).
    pub(crate) async fn create_bucket(&self, name: &str) -> S3Result<()> {
        if !valid_bucket_name(name) {
            return Err(s3_error!(
                InvalidBucketName,
                "The specified bucket is not valid."
            ));
        }
        let _admin = self.inner.admin.lock().await;
        if self.bucket(name).is_ok() {
            return Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            ));
        }
        let root = self.inner.root.clone();
        let created_ms = layout::now_ms();
        let name_owned = name.to_string();
        let paths = blocking(move || {
            let tmp = root.join(format!("{TMP_PREFIX}{}", fresh_name()));
            let tmp_paths = BucketPaths { dir: tmp.clone() };
            fs::create_dir(&tmp)?;
            fs::create_dir(tmp_paths.meta_dir())?;
            fs::create_dir(tmp_paths.data_dir())?;
            fs::create_dir(tmp_paths.uploads_dir())?;
            let json = serde_json::to_vec(&BucketFile { created_ms }).map_err(io::Error::other)?;
            write_atomic(&tmp, "bucket.json", &json)?;
            let paths = BucketPaths::new(&root, &name_owned);
            fs::rename(&tmp, &paths.dir)?;
            layout::sync_dir(&root)?;
            Ok(paths)
        })
        .await?;
        let bucket = Bucket {
            name: name.to_string(),
            paths,
            created_ms,
            objects: RwLock::new(BTreeMap::new()),
            commit: tokio::sync::Mutex::new(false),
        };
        self.inner
            .buckets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), Arc::new(bucket));
        Ok(())
    }

    /// Deletes an empty bucket (uploads in progress are discarded with it).
    pub(crate) async fn delete_bucket(&self, name: &str) -> S3Result<()> {
        let _admin = self.inner.admin.lock().await;
        let bucket = self.bucket(name)?;
        let mut deleted = bucket.commit.lock().await;
        if !bucket.index().is_empty() {
            return Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            ));
        }
        let root = self.inner.root.clone();
        let dir = bucket.paths.dir.clone();
        blocking(move || {
            // Renamed away first so a crash never leaves half a bucket under its name.
            let trash = root.join(format!("{TMP_PREFIX}{}", fresh_name()));
            fs::rename(&dir, &trash)?;
            layout::sync_dir(&root)?;
            fs::remove_dir_all(&trash)
        })
        .await?;
        *deleted = true;
        self.inner
            .buckets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        Ok(())
    }
}

impl Bucket {
    fn load(root: &Path, name: &str) -> Result<Self, StoreError> {
        let paths = BucketPaths::new(root, name);
        let bucket_json = paths.dir.join("bucket.json");
        let text = fs::read(&bucket_json).map_err(StoreError::io(&bucket_json))?;
        let file: BucketFile =
            serde_json::from_slice(&text).map_err(|source| StoreError::Corrupt {
                path: bucket_json.clone(),
                source,
            })?;
        for dir in [paths.meta_dir(), paths.data_dir(), paths.uploads_dir()] {
            fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        }
        let mut objects = BTreeMap::new();
        let meta_dir = paths.meta_dir();
        for entry in fs::read_dir(&meta_dir).map_err(StoreError::io(&meta_dir))? {
            let entry = entry.map_err(StoreError::io(&meta_dir))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                let _ = fs::remove_file(&path);
                continue;
            }
            let text = fs::read(&path).map_err(StoreError::io(&path))?;
            let meta: ObjectMeta = serde_json::from_slice(&text)
                .map_err(|source| StoreError::Corrupt { path, source })?;
            objects.insert(meta.key.clone(), Arc::new(meta));
        }
        // Data files no metadata names are leftovers of writes that never committed.
        let live: HashSet<&str> = objects.values().map(|m| m.data.as_str()).collect();
        let data_dir = paths.data_dir();
        for entry in fs::read_dir(&data_dir).map_err(StoreError::io(&data_dir))? {
            let entry = entry.map_err(StoreError::io(&data_dir))?;
            if !live.contains(entry.file_name().to_string_lossy().as_ref()) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(Self {
            name: name.to_string(),
            paths,
            created_ms: file.created_ms,
            objects: RwLock::new(objects),
            commit: tokio::sync::Mutex::new(false),
        })
    }

    /// A read view of the object index.
    pub fn index(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<ObjectMeta>>> {
        self.objects.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The object's metadata, or NoSuchKey.
    pub fn object(&self, key: &str) -> S3Result<Arc<ObjectMeta>> {
        self.index()
            .get(key)
            .cloned()
            .ok_or_else(|| s3_error!(NoSuchKey, "The specified key does not exist."))
    }

    /// A path for a new data file (not visible to readers until committed).
    pub fn new_data_file(&self) -> (String, PathBuf) {
        let name = fresh_name();
        let path = self.paths.data_file(&name);
        (name, path)
    }

    /// Makes `meta` the current version of its key: metadata file replaced atomically, index
    /// updated, the replaced version's bytes removed. If the bucket was deleted meanwhile the
    /// new data file is removed and NoSuchBucket returned.
    pub async fn commit(&self, meta: ObjectMeta) -> S3Result<()> {
        let deleted = self.commit.lock().await;
        let data_path = self.paths.data_file(&meta.data);
        if *deleted {
            let _ = tokio::fs::remove_file(&data_path).await;
            return Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            ));
        }
        let json = serde_json::to_vec(&meta).map_err(internal)?;
        let meta_dir = self.paths.meta_dir();
        let data_dir = self.paths.data_dir();
        let name = BucketPaths::meta_name(&meta.key);
        let written = blocking(move || {
            // The data file's directory entry must be durable before the metadata names it.
            layout::sync_dir(&data_dir)?;
            write_atomic(&meta_dir, &name, &json)
        })
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&data_path).await;
            return Err(e);
        }
        let old = self
            .objects
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(meta.key.clone(), Arc::new(meta));
        drop(deleted);
        if let Some(old) = old {
            let path = self.paths.data_file(&old.data);
            let _ = blocking(move || remove_file_quiet(&path)).await;
        }
        Ok(())
    }

    /// Removes a key (absent keys are not an error, as in S3).
    pub async fn delete(&self, key: &str) -> S3Result<()> {
        let deleted = self.commit.lock().await;
        if *deleted {
            return Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            ));
        }
        if !self.index().contains_key(key) {
            return Ok(());
        }
        let meta_dir = self.paths.meta_dir();
        let path = meta_dir.join(BucketPaths::meta_name(key));
        blocking(move || {
            remove_file_quiet(&path)?;
            layout::sync_dir(&meta_dir)
        })
        .await?;
        let old = self
            .objects
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        drop(deleted);
        if let Some(old) = old {
            let path = self.paths.data_file(&old.data);
            let _ = blocking(move || remove_file_quiet(&path)).await;
        }
        Ok(())
    }

    /// Opens the current bytes of `key`. A concurrent overwrite may remove the data file
    /// between reading the index and opening it; the index is then read again.
    pub async fn open_object(&self, key: &str) -> S3Result<(Arc<ObjectMeta>, tokio::fs::File)> {
        for _ in 0..3 {
            let meta = self.object(key)?;
            match tokio::fs::File::open(self.paths.data_file(&meta.data)).await {
                Ok(file) => return Ok((meta, file)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(internal(e)),
            }
        }
        Err(s3_error!(NoSuchKey, "The specified key does not exist."))
    }
}
