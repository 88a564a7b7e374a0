//! Object operations: PutObject, GetObject (ranges), HeadObject, DeleteObject(s), CopyObject.

use std::io::SeekFrom;

use base64::Engine;
use s3s::dto::*;
use s3s::{s3_error, S3Result};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::layout::{self, Headers, ObjectMeta};
use crate::store::{write_stream, S3Store};

/// Longest key S3 accepts, in bytes.
const MAX_KEY_BYTES: usize = 1024;
/// Read size when streaming an object out.
const READ_CHUNK: usize = 64 * 1024;

pub(crate) fn check_key(key: &str) -> S3Result<()> {
    if key.is_empty() {
        return Err(s3_error!(InvalidArgument, "Object key must not be empty."));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(s3_error!(KeyTooLongError, "Your key is too long"));
    }
    Ok(())
}

pub(crate) fn timestamp(ms: u64) -> Timestamp {
    Timestamp::from(layout::from_ms(ms))
}

pub(crate) fn etag(meta: &ObjectMeta) -> ETag {
    ETag::Strong(meta.etag.clone())
}

fn user_metadata(meta: &ObjectMeta) -> Option<Metadata> {
    (!meta.metadata.is_empty()).then(|| meta.metadata.clone().into_iter().collect())
}

pub(crate) fn empty_blob() -> StreamingBlob {
    StreamingBlob::from(s3s::Body::empty())
}

/// Fails with BadDigest when a Content-MD5 header does not match the bytes received.
pub(crate) fn check_content_md5(expected: Option<&str>, md5: &[u8; 16]) -> S3Result<()> {
    match expected {
        Some(expected) if expected != base64::engine::general_purpose::STANDARD.encode(md5) => {
            Err(s3_error!(
                BadDigest,
                "The Content-MD5 you specified did not match what we received."
            ))
        }
        _ => Ok(()),
    }
}

impl S3Store {
    pub(crate) async fn put_object_op(&self, input: PutObjectInput) -> S3Result<PutObjectOutput> {
        let bucket = self.bucket(&input.bucket)?;
        check_key(&input.key)?;
        let (data, path) = bucket.new_data_file();
        let (size, md5) = write_stream(&path, input.body.unwrap_or_else(empty_blob)).await?;
        if let Err(e) = check_content_md5(input.content_md5.as_deref(), &md5) {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        let meta = ObjectMeta {
            key: input.key,
            data,
            size,
            etag: hex::encode(md5),
            last_modified_ms: layout::now_ms(),
            headers: Headers {
                content_type: input.content_type,
                content_encoding: input.content_encoding,
                content_disposition: input.content_disposition,
                content_language: input.content_language,
                cache_control: input.cache_control,
            },
            metadata: input.metadata.unwrap_or_default().into_iter().collect(),
        };
        let e_tag = etag(&meta);
        bucket.commit(meta).await?;
        Ok(PutObjectOutput {
            e_tag: Some(e_tag),
            ..Default::default()
        })
    }

    pub(crate) async fn get_object_op(&self, input: GetObjectInput) -> S3Result<GetObjectOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let (meta, mut file) = bucket.open_object(&input.key).await?;
        let (start, len, content_range) = match &input.range {
            None => (0, meta.size, None),
            Some(range) => {
                let r = range.check(meta.size).map_err(|_| {
                    s3_error!(InvalidRange, "The requested range is not satisfiable")
                })?;
                let range = format!("bytes {}-{}/{}", r.start, r.end - 1, meta.size);
                (r.start, r.end - r.start, Some(range))
            }
        };
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .await
                .map_err(|e| s3_error!(InternalError, "{e}"))?;
        }
        let stream = ReaderStream::with_capacity(file.take(len), READ_CHUNK);
        Ok(GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some(i64::try_from(len).unwrap_or(i64::MAX)),
            content_range,
            accept_ranges: Some("bytes".to_string()),
            e_tag: Some(etag(&meta)),
            last_modified: Some(timestamp(meta.last_modified_ms)),
            content_type: meta.headers.content_type.clone(),
            content_encoding: meta.headers.content_encoding.clone(),
            content_disposition: meta.headers.content_disposition.clone(),
            content_language: meta.headers.content_language.clone(),
            cache_control: meta.headers.cache_control.clone(),
            metadata: user_metadata(&meta),
            ..Default::default()
        })
    }

    pub(crate) async fn head_object_op(
        &self,
        input: HeadObjectInput,
    ) -> S3Result<HeadObjectOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let meta = bucket.object(&input.key)?;
        Ok(HeadObjectOutput {
            content_length: Some(i64::try_from(meta.size).unwrap_or(i64::MAX)),
            accept_ranges: Some("bytes".to_string()),
            e_tag: Some(etag(&meta)),
            last_modified: Some(timestamp(meta.last_modified_ms)),
            content_type: meta.headers.content_type.clone(),
            content_encoding: meta.headers.content_encoding.clone(),
            content_disposition: meta.headers.content_disposition.clone(),
            content_language: meta.headers.content_language.clone(),
            cache_control: meta.headers.cache_control.clone(),
            metadata: user_metadata(&meta),
            ..Default::default()
        })
    }

    pub(crate) async fn delete_object_op(
        &self,
        input: DeleteObjectInput,
    ) -> S3Result<DeleteObjectOutput> {
        self.bucket(&input.bucket)?.delete(&input.key).await?;
        Ok(DeleteObjectOutput::default())
    }

    pub(crate) async fn delete_objects_op(
        &self,
        input: DeleteObjectsInput,
    ) -> S3Result<DeleteObjectsOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in input.delete.objects {
            match bucket.delete(&object.key).await {
                Ok(()) if quiet => {}
                Ok(()) => deleted.push(DeletedObject {
                    key: Some(object.key),
                    ..Default::default()
                }),
                Err(e) => errors.push(Error {
                    code: Some(e.code().as_str().to_string()),
                    message: e.message().map(str::to_string),
                    key: Some(object.key),
                    version_id: None,
                }),
            }
        }
        Ok(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: Some(errors),
            ..Default::default()
        })
    }

    pub(crate) async fn copy_object_op(
        &self,
        input: CopyObjectInput,
    ) -> S3Result<CopyObjectOutput> {
        let CopySource::Bucket {
            bucket: src_bucket,
            key: src_key,
            ..
        } = &input.copy_source
        else {
            return Err(s3_error!(
                NotImplemented,
                "Copying from an access point is not supported."
            ));
        };
        check_key(&input.key)?;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        if **src_bucket == *input.bucket && **src_key == *input.key && !replace {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let source = self.bucket(src_bucket)?;
        let target = self.bucket(&input.bucket)?;
        let (src_meta, file) = source.open_object(src_key).await?;
        let (data, path) = target.new_data_file();
        let blob = StreamingBlob::wrap(ReaderStream::with_capacity(file, READ_CHUNK));
        let (size, md5) = write_stream(&path, blob).await?;
        let (headers, metadata) = if replace {
            (
                Headers {
                    content_type: input.content_type,
                    content_encoding: input.content_encoding,
                    content_disposition: input.content_disposition,
                    content_language: input.content_language,
                    cache_control: input.cache_control,
                },
                input.metadata.unwrap_or_default().into_iter().collect(),
            )
        } else {
            (src_meta.headers.clone(), src_meta.metadata.clone())
        };
        let meta = ObjectMeta {
            key: input.key,
            data,
            size,
            etag: hex::encode(md5),
            last_modified_ms: layout::now_ms(),
            headers,
            metadata,
        };
        let result = CopyObjectResult {
            e_tag: Some(etag(&meta)),
            last_modified: Some(timestamp(meta.last_modified_ms)),
            ..Default::default()
        };
        target.commit(meta).await?;
        Ok(CopyObjectOutput {
            copy_object_result: Some(result),
            ..Default::default()
        })
    }
}
