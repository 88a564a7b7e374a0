//! S3 on bedrock-local's port: an [s3s](https://docs.rs/s3s) service over a directory
//! (`<data_dir>/s3/`), so batch inference jobs and the `aws s3` commands of LocalStack's
//! Bedrock guide work against the same server as Bedrock.
//!
//! [`S3Store`] owns the files (layout in [`layout`]) and implements the S3 operations:
//! buckets, objects (ranges, copies, user metadata), listings (v1 and v2, delimiter and
//! pagination) and multipart uploads. [`S3Endpoint`] is the HTTP face the facade hands S3
//! requests to: path-style or virtual-host addressing ([`classify_host`]), any credentials
//! accepted, bodies streamed to disk. Errors on the wire are S3's XML, produced by s3s.
//!
//! Must not: know about Bedrock, models or the facade's error table.

mod buckets;
mod chunked;
mod endpoint;
mod error;
pub mod layout;
mod list;
mod multipart;
mod objects;
mod ops;
mod store;

pub use endpoint::{classify_host, S3Endpoint, S3HostKind};
pub use error::StoreError;
pub use layout::valid_bucket_name;
pub use store::S3Store;
