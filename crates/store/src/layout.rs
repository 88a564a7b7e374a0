//! The on-disk layout of the store, and the only code that turns names into paths.
//!
//! ```text
//! <root>/                          (= <data_dir>/s3)
//!   <bucket>/                      one directory per bucket (names are S3-validated first)
//!     bucket.json                  {"created_ms": ...}
//!     meta/<sha256(key)>.json      one object: its key, size, ETag, headers, user metadata,
//!                                  and the name of its data file; replacing this file (temp
//!                                  file + fsync + rename) is the commit point of a write
//!     data/<uuid>                  object bytes, written once, never modified in place
//!     uploads/<upload-id>/         one multipart upload in progress
//!       upload.json                its key and headers
//!       part-<nnnnn>.<md5 hex>     one uploaded part, named by its number and ETag
//! ```
//!
//! A key never becomes a path: its metadata file is named by the SHA-256 of the key and its
//! bytes by a fresh UUID, so `..`, `/`, `\`, absolute paths, `%2e%2e%2f` or NUL in a key
//! cannot reach outside the bucket, and a key that is a prefix of another (`a`, `a/b`) is
//! just another file. Upload ids are checked to be 32 hex digits before they are joined.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Prefix of temporary files; they are never read and are removed when the store opens.
pub(crate) const TMP_PREFIX: &str = ".tmp-";

/// Everything the store keeps about one object besides its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ObjectMeta {
    /// The object key, exactly as the client sent it.
    pub key: String,
    /// File name of the bytes under `data/`.
    pub data: String,
    /// Length in bytes.
    pub size: u64,
    /// ETag without quotes: MD5 hex, or MD5-of-MD5s `-N` for multipart objects.
    pub etag: String,
    /// Last-Modified, milliseconds since the epoch.
    pub last_modified_ms: u64,
    #[serde(default, skip_serializing_if = "Headers::is_empty")]
    pub headers: Headers,
    /// `x-amz-meta-*` user metadata (names without the prefix).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// The standard headers S3 stores with an object and returns on GET/HEAD.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Headers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
}

impl Headers {
    fn is_empty(&self) -> bool {
        *self == Headers::default()
    }
}

/// `bucket.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BucketFile {
    pub created_ms: u64,
}

/// `uploads/<id>/upload.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UploadFile {
    pub key: String,
    pub initiated_ms: u64,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> u64 {
    to_ms(SystemTime::now())
}

pub(crate) fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

pub(crate) fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// S3's bucket naming rules (general purpose buckets): 3-63 characters of lowercase letters,
/// digits, `.` and `-`; starts and ends with a letter or digit; no `..`; not an IPv4
/// address; none of the reserved prefixes and suffixes.
pub fn valid_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if !(3..=63).contains(&bytes.len()) {
        return false;
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.iter().all(|&b| alnum(b) || b == b'.' || b == b'-') {
        return false;
    }
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return false;
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return false;
    }
    const BAD_PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];
    const BAD_SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    !BAD_PREFIXES.iter().any(|p| name.starts_with(p))
        && !BAD_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// True for the upload ids this store mints (32 lowercase hex digits), so an id from a
/// request is safe to join to a path.
pub(crate) fn valid_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Paths inside one bucket directory.
#[derive(Debug, Clone)]
pub(crate) struct BucketPaths {
    pub dir: PathBuf,
}

impl BucketPaths {
    pub fn new(root: &Path, bucket: &str) -> Self {
        Self {
            dir: root.join(bucket),
        }
    }
    pub fn meta_dir(&self) -> PathBuf {
        self.dir.join("meta")
    }
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
    pub fn uploads_dir(&self) -> PathBuf {
        self.dir.join("uploads")
    }
    /// The metadata file name of `key`: SHA-256 hex, never derived from the key's characters.
    pub fn meta_name(key: &str) -> String {
        format!("{}.json", hex::encode(Sha256::digest(key.as_bytes())))
    }
    pub fn data_file(&self, data: &str) -> PathBuf {
        self.data_dir().join(data)
    }
    /// Directory of an upload; `None` when the id is not one we could have minted.
    pub fn upload_dir(&self, upload_id: &str) -> Option<PathBuf> {
        valid_upload_id(upload_id).then(|| self.uploads_dir().join(upload_id))
    }
}

/// A fresh file name for temporary or data files.
pub(crate) fn fresh_name() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Writes `bytes` to `dir/name` atomically: a temp file in the same directory, fsync, rename,
/// fsync of the directory. Readers see the old file or the new one, never a mix.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{TMP_PREFIX}{}", fresh_name()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, dir.join(name))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Makes a rename or unlink in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes `path`, treating "already gone" as success.
pub(crate) fn remove_file_quiet(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["in-bucket", "abc", "a.b-c", "123", "my.bucket.s3"] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "Upper",
            "under_score",
            "-start",
            "end-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "xn--abc",
            "x-s3alias",
            "..",
            "a/b",
            &"a".repeat(64),
        ] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
    }

    #[test]
    fn meta_names_are_hashes_whatever_the_key() {
        for key in [
            "../../etc/passwd",
            "/abs",
            "a\\b",
            "%2e%2e%2f",
            "a\0b",
            "a",
            "a/b",
        ] {
            let name = BucketPaths::meta_name(key);
            assert_eq!(name.len(), 64 + 5, "{key}");
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'));
        }
        assert_ne!(BucketPaths::meta_name("a"), BucketPaths::meta_name("a/b"));
    }

    #[test]
    fn upload_ids_are_checked_before_use() {
        let p = BucketPaths::new(Path::new("/r"), "b");
        assert!(p.upload_dir("../../x").is_none());
        assert!(p.upload_dir(&"0".repeat(31)).is_none());
        let id = fresh_name();
        assert_eq!(
            p.upload_dir(&id),
            Some(PathBuf::from("/r/b/uploads").join(&id))
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "f", b"one").unwrap();
        write_atomic(dir.path(), "f", b"two").unwrap();
        assert_eq!(fs::read(dir.path().join("f")).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f")]);
    }
}
