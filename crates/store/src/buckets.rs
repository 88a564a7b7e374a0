//! Bucket operations and listings: CreateBucket, HeadBucket, ListBuckets, DeleteBucket,
//! GetBucketLocation, ListObjects, ListObjectsV2.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3s::dto::*;
use s3s::{s3_error, S3Result};

use crate::layout::ObjectMeta;
use crate::list::{list, ListPage, ListParams};
use crate::objects::{etag, timestamp};
use crate::store::S3Store;

/// Largest page S3 returns, whatever max-keys asks for.
const MAX_PAGE: usize = 1000;

/// `encoding-type=url`: what S3 leaves unescaped (RFC 3986 unreserved characters and `/`).
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Applies `encoding-type=url` to the strings of a listing when the client asked for it.
struct Encoder(bool);

impl Encoder {
    fn new(encoding: Option<&EncodingType>) -> Self {
        Encoder(encoding.is_some_and(|e| e.as_str() == EncodingType::URL))
    }
    fn apply(&self, s: &str) -> String {
        if self.0 {
            utf8_percent_encode(s, URL_ENCODE).to_string()
        } else {
            s.to_string()
        }
    }
}

fn max_keys(requested: Option<i32>) -> S3Result<usize> {
    match requested {
        None => Ok(MAX_PAGE),
        Some(n) if n < 0 => Err(s3_error!(
            InvalidArgument,
            "max-keys must be a non-negative integer"
        )),
        Some(n) => Ok(usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE)),
    }
}

fn object_entry(enc: &Encoder, key: &str, meta: &ObjectMeta) -> Object {
    Object {
        key: Some(enc.apply(key)),
        e_tag: Some(etag(meta)),
        size: Some(i64::try_from(meta.size).unwrap_or(i64::MAX)),
        last_modified: Some(timestamp(meta.last_modified_ms)),
        storage_class: Some(ObjectStorageClass::from_static(
            ObjectStorageClass::STANDARD,
        )),
        ..Default::default()
    }
}

fn page_parts(
    enc: &Encoder,
    page: &ListPage<std::sync::Arc<ObjectMeta>>,
) -> (Vec<Object>, Vec<CommonPrefix>) {
    let objects = page
        .objects
        .iter()
        .map(|(k, m)| object_entry(enc, k, m))
        .collect();
    let prefixes = page
        .prefixes
        .iter()
        .map(|p| CommonPrefix {
            prefix: Some(enc.apply(p)),
        })
        .collect();
    (objects, prefixes)
}

impl S3Store {
    pub(crate) async fn create_bucket_op(
        &self,
        input: CreateBucketInput,
    ) -> S3Result<CreateBucketOutput> {
        self.create_bucket(&input.bucket).await?;
        Ok(CreateBucketOutput {
            location: Some(format!("/{}", input.bucket)),
        })
    }

    pub(crate) fn head_bucket_op(&self, input: HeadBucketInput) -> S3Result<HeadBucketOutput> {
        self.bucket(&input.bucket)?;
        Ok(HeadBucketOutput::default())
    }

    pub(crate) fn list_buckets_op(&self) -> ListBucketsOutput {
        let buckets = self
            .buckets()
            .iter()
            .map(|b| Bucket {
                name: Some(b.name.clone()),
                creation_date: Some(timestamp(b.created_ms)),
                bucket_region: None,
            })
            .collect();
        ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Owner {
                display_name: Some("bedrock-local".to_string()),
                id: Some("bedrock-local".to_string()),
            }),
            ..Default::default()
        }
    }

    pub(crate) async fn delete_bucket_op(
        &self,
        input: DeleteBucketInput,
    ) -> S3Result<DeleteBucketOutput> {
        self.delete_bucket(&input.bucket).await?;
        Ok(DeleteBucketOutput::default())
    }

    pub(crate) fn get_bucket_location_op(
        &self,
        input: GetBucketLocationInput,
    ) -> S3Result<GetBucketLocationOutput> {
        self.bucket(&input.bucket)?;
        Ok(GetBucketLocationOutput::default())
    }

    pub(crate) fn list_objects_op(&self, input: ListObjectsInput) -> S3Result<ListObjectsOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let max = max_keys(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let page = list(
            &bucket.index(),
            ListParams {
                prefix: &prefix,
                delimiter: input.delimiter.as_deref(),
                after: input.marker.as_deref().filter(|m| !m.is_empty()),
                max_keys: max,
            },
        );
        let enc = Encoder::new(input.encoding_type.as_ref());
        let (contents, common_prefixes) = page_parts(&enc, &page);
        Ok(ListObjectsOutput {
            name: Some(bucket.name.clone()),
            prefix: Some(enc.apply(&prefix)),
            marker: Some(enc.apply(input.marker.as_deref().unwrap_or_default())),
            max_keys: input.max_keys.or(Some(MAX_PAGE as i32)),
            is_truncated: Some(page.truncated),
            contents: Some(contents),
            common_prefixes: Some(common_prefixes),
            delimiter: input.delimiter.as_deref().map(|d| enc.apply(d)),
            next_marker: page
                .last
                .as_deref()
                .filter(|_| page.truncated)
                .map(|l| enc.apply(l)),
            encoding_type: input.encoding_type,
            ..Default::default()
        })
    }

    pub(crate) fn list_objects_v2_op(
        &self,
        input: ListObjectsV2Input,
    ) -> S3Result<ListObjectsV2Output> {
        let bucket = self.bucket(&input.bucket)?;
        let max = max_keys(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        // The continuation token is the hex of the last key or prefix of the previous page.
        let after = match input.continuation_token.as_deref() {
            Some(token) => Some(
                hex::decode(token)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        s3_error!(
                            InvalidArgument,
                            "The continuation token provided is incorrect"
                        )
                    })?,
            ),
            None => input.start_after.clone().filter(|s| !s.is_empty()),
        };
        let page = list(
            &bucket.index(),
            ListParams {
                prefix: &prefix,
                delimiter: input.delimiter.as_deref(),
                after: after.as_deref(),
                max_keys: max,
            },
        );
        let enc = Encoder::new(input.encoding_type.as_ref());
        let (contents, common_prefixes) = page_parts(&enc, &page);
        let key_count = i32::try_from(contents.len() + common_prefixes.len()).unwrap_or(i32::MAX);
        Ok(ListObjectsV2Output {
            name: Some(bucket.name.clone()),
            prefix: Some(enc.apply(&prefix)),
            max_keys: input.max_keys.or(Some(MAX_PAGE as i32)),
            key_count: Some(key_count),
            continuation_token: input.continuation_token,
            is_truncated: Some(page.truncated),
            next_continuation_token: page
                .last
                .as_deref()
                .filter(|_| page.truncated)
                .map(hex::encode),
            contents: Some(contents),
            common_prefixes: Some(common_prefixes),
            delimiter: input.delimiter.as_deref().map(|d| enc.apply(d)),
            start_after: input.start_after.as_deref().map(|s| enc.apply(s)),
            encoding_type: input.encoding_type,
            ..Default::default()
        })
    }
}
