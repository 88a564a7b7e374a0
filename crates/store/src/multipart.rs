//! Multipart uploads: Create, UploadPart, Complete, Abort, ListParts.
//!
//! An upload is a directory `uploads/<id>/` holding `upload.json` and one file per part,
//! `part-<nnnnn>.<md5 hex>`: the name carries the part's ETag, so a part is written with a
//! single rename and Complete picks exactly the version the client names. Complete
//! concatenates the parts into a new data file and commits it like a PutObject; the object's
//! ETag is the MD5 of the parts' binary MD5s followed by `-<number of parts>`.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{s3_error, S3Result};
use tokio::io::AsyncWriteExt;

use crate::layout::{self, fresh_name, Headers, ObjectMeta, UploadFile, TMP_PREFIX};
use crate::objects::{check_content_md5, check_key, empty_blob, timestamp};
use crate::store::{blocking, write_stream, Bucket, S3Store};

/// Smallest part S3 accepts, except for the last one.
pub(crate) const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
const MAX_PART_NUMBER: i32 = 10_000;

fn no_such_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

fn part_prefix(number: i32) -> String {
    format!("part-{number:05}.")
}

/// One stored part.
#[derive(Debug, Clone)]
pub(crate) struct StoredPart {
    pub number: i32,
    pub etag: String,
    pub size: u64,
    pub modified_ms: u64,
    pub path: PathBuf,
}

/// Every part file of an upload, sorted by part number (for a part uploaded twice
/// concurrently, both versions, newest first).
fn read_parts(dir: &Path) -> std::io::Result<Vec<StoredPart>> {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("part-") else {
            continue;
        };
        let Some((number, etag)) = rest.split_once('.') else {
            continue;
        };
        let Ok(number) = number.parse::<i32>() else {
            continue;
        };
        let meta = entry.metadata()?;
        parts.push(StoredPart {
            number,
            etag: etag.to_string(),
            size: meta.len(),
            modified_ms: meta.modified().map(layout::to_ms).unwrap_or(0),
            path: entry.path(),
        });
    }
    parts.sort_by(|a, b| {
        a.number
            .cmp(&b.number)
            .then(b.modified_ms.cmp(&a.modified_ms))
    });
    Ok(parts)
}

/// The ETag of a multipart object from its parts' MD5 hex strings.
pub(crate) fn multipart_etag<'a>(part_md5s: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut md5 = Md5::new();
    let mut count = 0usize;
    for hex_md5 in part_md5s {
        md5.update(hex::decode(hex_md5).ok()?);
        count += 1;
    }
    Some(format!("{}-{count}", hex::encode(md5.finalize())))
}

impl Bucket {
    /// The upload's directory and description, checked to belong to `key`.
    async fn upload(&self, upload_id: &str, key: &str) -> S3Result<(PathBuf, UploadFile)> {
        let dir = self
            .paths
            .upload_dir(upload_id)
            .ok_or_else(no_such_upload)?;
        let file = dir.join("upload.json");
        let text = tokio::fs::read(&file).await.map_err(|_| no_such_upload())?;
        let upload: UploadFile =
            serde_json::from_slice(&text).map_err(|e| s3_error!(InternalError, "{e}"))?;
        if upload.key != key {
            return Err(no_such_upload());
        }
        Ok((dir, upload))
    }
}

impl S3Store {
    pub(crate) async fn create_multipart_upload_op(
        &self,
        input: CreateMultipartUploadInput,
    ) -> S3Result<CreateMultipartUploadOutput> {
        let bucket = self.bucket(&input.bucket)?;
        check_key(&input.key)?;
        let upload_id = fresh_name();
        let upload = UploadFile {
            key: input.key.clone(),
            initiated_ms: layout::now_ms(),
            headers: Headers {
                content_type: input.content_type,
                content_encoding: input.content_encoding,
                content_disposition: input.content_disposition,
                content_language: input.content_language,
                cache_control: input.cache_control,
            },
            metadata: input.metadata.unwrap_or_default().into_iter().collect(),
        };
        let json = serde_json::to_vec(&upload).map_err(|e| s3_error!(InternalError, "{e}"))?;
        let dir = bucket
            .paths
            .upload_dir(&upload_id)
            .ok_or_else(no_such_upload)?;
        blocking(move || {
            std::fs::create_dir(&dir)?;
            layout::write_atomic(&dir, "upload.json", &json)
        })
        .await?;
        Ok(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            ..Default::default()
        })
    }

    pub(crate) async fn upload_part_op(
        &self,
        input: UploadPartInput,
    ) -> S3Result<UploadPartOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let (dir, _) = bucket.upload(&input.upload_id, &input.key).await?;
        if !(1..=MAX_PART_NUMBER).contains(&input.part_number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            ));
        }
        let tmp = dir.join(format!("{TMP_PREFIX}{}", fresh_name()));
        let (_, md5) = write_stream(&tmp, input.body.unwrap_or_else(empty_blob)).await?;
        if let Err(e) = check_content_md5(input.content_md5.as_deref(), &md5) {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        let etag = hex::encode(md5);
        let prefix = part_prefix(input.part_number);
        let name = format!("{prefix}{etag}");
        blocking(move || {
            // Earlier versions of this part go first; the new one appears with one rename.
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let old = entry.file_name().to_string_lossy().into_owned();
                if old.starts_with(&prefix) && old != name {
                    layout::remove_file_quiet(&entry.path())?;
                }
            }
            std::fs::rename(&tmp, dir.join(&name))?;
            layout::sync_dir(&dir)
        })
        .await?;
        Ok(UploadPartOutput {
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        })
    }

    pub(crate) async fn complete_multipart_upload_op(
        &self,
        input: CompleteMultipartUploadInput,
    ) -> S3Result<CompleteMultipartUploadOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let (dir, upload) = bucket.upload(&input.upload_id, &input.key).await?;
        let requested = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        if requested.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        let read_dir = dir.clone();
        let stored = blocking(move || read_parts(&read_dir)).await?;
        let mut chosen: Vec<StoredPart> = Vec::with_capacity(requested.len());
        for part in &requested {
            let number = part.part_number.unwrap_or(0);
            if chosen.last().is_some_and(|p| p.number >= number) {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order. Parts must be ordered by part number."
                ));
            }
            let want = part
                .e_tag
                .as_ref()
                .map(|e| e.value().trim_matches('"').to_ascii_lowercase());
            let found = stored
                .iter()
                .find(|s| s.number == number && want.as_deref().is_none_or(|w| w == s.etag))
                .ok_or_else(|| {
                    s3_error!(
                        InvalidPart,
                        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
                    )
                })?;
            chosen.push(found.clone());
        }
        if let Some(small) = chosen[..chosen.len() - 1]
            .iter()
            .find(|p| p.size < MIN_PART_SIZE)
        {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size. Part {} is {} bytes.",
                small.number,
                small.size
            ));
        }
        let etag = multipart_etag(chosen.iter().map(|p| p.etag.as_str()))
            .ok_or_else(|| s3_error!(InternalError, "a part file name is not an MD5"))?;

        let (data, path) = bucket.new_data_file();
        let size = concatenate(&path, &chosen).await?;
        let meta = ObjectMeta {
            key: upload.key.clone(),
            data,
            size,
            etag: etag.clone(),
            last_modified_ms: layout::now_ms(),
            headers: upload.headers,
            metadata: upload.metadata,
        };
        bucket.commit(meta).await?;
        let _ = blocking(move || std::fs::remove_dir_all(&dir)).await;
        Ok(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            e_tag: Some(ETag::Strong(etag)),
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            ..Default::default()
        })
    }

    pub(crate) async fn abort_multipart_upload_op(
        &self,
        input: AbortMultipartUploadInput,
    ) -> S3Result<AbortMultipartUploadOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let (dir, _) = bucket.upload(&input.upload_id, &input.key).await?;
        blocking(move || std::fs::remove_dir_all(&dir)).await?;
        Ok(AbortMultipartUploadOutput::default())
    }

    pub(crate) async fn list_parts_op(&self, input: ListPartsInput) -> S3Result<ListPartsOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let (dir, _) = bucket.upload(&input.upload_id, &input.key).await?;
        let mut stored = blocking(move || read_parts(&dir)).await?;
        stored.dedup_by_key(|p| p.number);
        let marker = input.part_number_marker.unwrap_or(0);
        let max = usize::try_from(input.max_parts.unwrap_or(1000).clamp(0, 1000)).unwrap_or(1000);
        let after: Vec<&StoredPart> = stored.iter().filter(|p| p.number > marker).collect();
        let truncated = after.len() > max;
        let page = &after[..after.len().min(max)];
        Ok(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            part_number_marker: input.part_number_marker,
            max_parts: Some(i32::try_from(max).unwrap_or(1000)),
            is_truncated: Some(truncated),
            next_part_number_marker: page.last().filter(|_| truncated).map(|p| p.number),
            parts: Some(
                page.iter()
                    .map(|p| Part {
                        part_number: Some(p.number),
                        e_tag: Some(ETag::Strong(p.etag.clone())),
                        size: Some(i64::try_from(p.size).unwrap_or(i64::MAX)),
                        last_modified: Some(timestamp(p.modified_ms)),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        })
    }
}

/// Writes the parts one after another into `path` (fsynced); returns the total size.
async fn concatenate(path: &Path, parts: &[StoredPart]) -> S3Result<u64> {
    let result = async {
        let mut out = tokio::fs::File::create(path).await?;
        let mut size = 0u64;
        for part in parts {
            let mut input = tokio::fs::File::open(&part.path).await?;
            size += tokio::io::copy(&mut input, &mut out).await?;
        }
        out.flush().await?;
        out.sync_all().await?;
        Ok::<u64, std::io::Error>(size)
    }
    .await;
    match result {
        Ok(size) => Ok(size),
        Err(e) => {
            let _ = tokio::fs::remove_file(path).await;
            Err(s3_error!(InternalError, "{e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etag_is_md5_of_binary_md5s_with_count() {
        let a = hex::encode(Md5::digest(b"hello "));
        let b = hex::encode(Md5::digest(b"world"));
        let mut joined = Md5::digest(b"hello ").to_vec();
        joined.extend_from_slice(&Md5::digest(b"world"));
        let want = format!("{}-2", hex::encode(Md5::digest(&joined)));
        assert_eq!(multipart_etag([a.as_str(), b.as_str()]).unwrap(), want);
        assert!(multipart_etag(["not-hex"]).is_none());
    }

    #[test]
    fn part_names_sort_and_parse() {
        let dir = tempfile::tempdir().unwrap();
        for (n, e) in [(2, "bb"), (1, "aa"), (10, "cc")] {
            std::fs::write(dir.path().join(format!("{}{e}", part_prefix(n))), b"x").unwrap();
        }
        std::fs::write(dir.path().join("upload.json"), b"{}").unwrap();
        let parts = read_parts(dir.path()).unwrap();
        let got: Vec<(i32, &str)> = parts.iter().map(|p| (p.number, p.etag.as_str())).collect();
        assert_eq!(got, [(1, "aa"), (2, "bb"), (10, "cc")]);
    }
}
