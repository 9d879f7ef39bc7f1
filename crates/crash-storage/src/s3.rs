//! S3 object store (feature `s3`): each key is an object in one bucket, under
//! an optional key prefix (`s3://bucket/prefix/v1/raw_crash/20261125/<id>`),
//! the layout Antenna and Socorro use, so either can read what the other
//! wrote.
//!
//! Works with AWS and with S3-compatible servers (Ceph RADOS Gateway, MinIO,
//! ...) through `endpoint_url` and path-style addressing.
//!
//! - A `PutObject` is atomic and durable when acknowledged. Objects larger
//!   than the multipart threshold are sent with CreateMultipartUpload /
//!   UploadPart / CompleteMultipartUpload, which is atomic too; a failed
//!   upload is aborted so no parts are left behind (configure the bucket's
//!   `AbortIncompleteMultipartUpload` lifecycle rule for processes killed
//!   mid-upload).
//! - `list` pages through ListObjectsV2 with continuation tokens.
//! - Errors are classified: 404 / `NoSuchKey` is not found; throttling, 5xx,
//!   timeouts and connection failures are transient; bad credentials, access
//!   denied and a missing bucket are permanent, with a message naming the
//!   bucket.
//!
//! The SDK's own retries are off: [`Retrying`](crate::retrying::Retrying)
//! (what [`build`](crate::config::build) wraps every backend in) retries
//! transient errors with backoff, and retrying at both layers would multiply
//! the attempts (5 × 3 = 15 requests and minutes of waiting for one failing
//! call) and hide failures from that policy.

use std::error::Error as StdError;
use std::fmt;

use async_trait::async_trait;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future as credentials_future};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedHttpClient};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_http_client::tls;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::config::{S3_MAX_PART_SIZE, S3Config};
use crate::{ObjectStore, StorageError, keys};

/// The AWS SDK for S3, for callers that need it directly (e.g. tests that
/// create buckets).
pub use aws_sdk_s3 as sdk;

/// Most parts one multipart upload may have.
const MAX_PARTS: u64 = 10_000;
/// Parts of one multipart upload sent at the same time.
const PART_CONCURRENCY: usize = 4;
/// Objects of one `put_many` sent at the same time.
const PUT_MANY_CONCURRENCY: usize = 8;

/// The error from S3 (or from reaching it), with the SDK's whole error chain
/// rendered into its message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct S3Error(String);

/// An [`ObjectStore`] in an S3 bucket.
#[derive(Clone)]
pub struct S3ObjectStore {
    client: Client,
    bucket: String,
    /// Empty, or `/`-separated segments ending with `/`.
    prefix: String,
    multipart_threshold: u64,
    part_size: u64,
    list_page_size: Option<i32>,
}

impl fmt::Debug for S3ObjectStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3ObjectStore")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

/// The AWS default credential chain (environment, profile, web identity,
/// ECS, EC2 instance metadata), built on first use: building it is async
/// (it reads profile files) while [`S3ObjectStore::new`] is not.
#[derive(Debug)]
struct LazyDefaultChain {
    region: Region,
    http_client: SharedHttpClient,
    chain: tokio::sync::OnceCell<DefaultCredentialsChain>,
}

impl ProvideCredentials for LazyDefaultChain {
    fn provide_credentials<'a>(&'a self) -> credentials_future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        credentials_future::ProvideCredentials::new(async move {
            let chain = self
                .chain
                .get_or_init(|| async {
                    // The chain's own clients (STS, IMDS, ECS) use our HTTPS client.
                    let conf = ProviderConfig::default()
                        .with_http_client(self.http_client.clone())
                        .with_region(Some(self.region.clone()));
                    DefaultCredentialsChain::builder()
                        .configure(conf)
                        .region(self.region.clone())
                        .build()
                        .await
                })
                .await;
            chain.provide_credentials().await
        })
    }
}

/// What an S3 error means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    NotFound,
    NoSuchBucket,
    Denied,
    Transient,
    Permanent,
}

/// Classify an S3 error response by its error code, then its HTTP status.
fn classify_response(status: u16, code: Option<&str>) -> Class {
    match code {
        Some("NoSuchKey") => return Class::NotFound,
        Some("NoSuchBucket") => return Class::NoSuchBucket,
        Some(
            "AccessDenied"
            | "AllAccessDisabled"
            | "AccountProblem"
            | "ExpiredToken"
            | "InvalidAccessKeyId"
            | "InvalidToken"
            | "SignatureDoesNotMatch"
            | "TokenRefreshRequired"
            | "UserSuspended",
        ) => return Class::Denied,
        Some(
            "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "RequestThrottled"
            | "TooManyRequests"
            | "RequestTimeout"
            | "RequestTimeoutException"
            | "InternalError"
            | "ServiceUnavailable"
            | "OperationAborted",
        ) => return Class::Transient,
        _ => {}
    }
    match status {
        404 => Class::NotFound,
        401 | 403 => Class::Denied,
        408 | 429 | 500..=599 => Class::Transient,
        _ => Class::Permanent,
    }
}

/// The credentials error somewhere in `err`'s source chain, if any.
fn find_credentials_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a CredentialsError> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(creds) = e.downcast_ref::<CredentialsError>() {
            return Some(creds);
        }
        cur = e.source();
    }
    None
}

/// `err` and its sources, as `outer: inner: innermost` (no Debug dumps).
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let shown = e.to_string();
        if !shown.is_empty() && !out.contains(&shown) {
            out.push_str(": ");
            out.push_str(&shown);
        }
        cur = e.source();
    }
    out
}

impl S3ObjectStore {
    /// A store for the bucket and prefix of `cfg`, which is checked first
    /// (see [`S3Config::validate`]). No request is made and no runtime is
    /// needed here; the store's methods need a Tokio runtime.
    pub fn new(cfg: &S3Config) -> Result<Self, StorageError> {
        cfg.validate(crate::config::ENV_PREFIX)?;
        // rustls with ring (what reqwest uses too), trusting the platform's
        // root certificates; no aws-lc, no native-tls.
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let region = Region::new(cfg.region.trim().to_owned());
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region.clone())
            .http_client(http_client.clone())
            .force_path_style(cfg.path_style())
            // One attempt per call: `Retrying` above this store retries
            // transient errors with its own bounded backoff (see module docs).
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(cfg.connect_timeout())
                    .operation_attempt_timeout(cfg.request_timeout())
                    .operation_timeout(cfg.request_timeout())
                    .build(),
            );
        if let Some(endpoint) = cfg.endpoint() {
            builder = builder.endpoint_url(endpoint.trim_end_matches('/'));
        }
        builder = match cfg.static_credentials() {
            Some((id, secret, token)) => builder.credentials_provider(Credentials::new(
                id,
                secret,
                token.map(str::to_owned),
                None,
                "socorro-storage-config",
            )),
            None => builder.credentials_provider(LazyDefaultChain {
                region,
                http_client,
                chain: tokio::sync::OnceCell::new(),
            }),
        };
        Ok(Self::from_client(
            Client::from_conf(builder.build()),
            cfg.bucket.clone(),
            &cfg.normalized_prefix(),
            cfg.multipart_threshold_bytes,
            cfg.multipart_part_size_bytes,
        ))
    }

    /// A store over an already configured SDK client. `prefix` is the key
    /// prefix (leading and trailing `/` ignored); objects larger than
    /// `multipart_threshold` bytes are uploaded in parts of `part_size` bytes
    /// (raised if needed to stay within S3's 10,000 parts).
    pub fn from_client(
        client: Client,
        bucket: impl Into<String>,
        prefix: &str,
        multipart_threshold: u64,
        part_size: u64,
    ) -> Self {
        let trimmed = prefix.trim_matches('/');
        Self {
            client,
            bucket: bucket.into(),
            prefix: if trimmed.is_empty() {
                String::new()
            } else {
                format!("{trimmed}/")
            },
            multipart_threshold,
            part_size: part_size.max(1),
            list_page_size: None,
        }
    }

    /// Ask for at most `n` keys per ListObjectsV2 page (S3's default and
    /// maximum is 1,000). Useful to exercise pagination in tests.
    #[must_use]
    pub fn with_list_page_size(mut self, n: i32) -> Self {
        self.list_page_size = Some(n.max(1));
        self
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix: empty, or ending with `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Create the bucket unless it exists (deployment setup, `socorro
    /// setup`). Returns whether it was created. Services never create
    /// buckets: a missing bucket at run time is a configuration error.
    pub async fn ensure_bucket(&self) -> Result<bool, StorageError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => return Ok(false),
            Err(err) => {
                let status = err.raw_response().map(|r| r.status().as_u16());
                if status != Some(404) {
                    return Err(self.error("checking", "bucket", err));
                }
            }
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) if matches!(err.code(), Some("BucketAlreadyOwnedByYou")) => Ok(false),
            Err(err) => Err(self.error("creating", "bucket", err)),
        }
    }

    /// The object key of `key` in the bucket, after checking `key` is safe.
    fn full_key(&self, key: &str) -> Result<String, StorageError> {
        keys::validate_object_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    /// Classify an SDK error of `action` (`writing`, `reading`, ...) on `key`.
    fn error<E>(&self, action: &str, key: &str, err: SdkError<E, HttpResponse>) -> StorageError
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let what = format!("{action} {key} in {}", self.describe());
        let detail = S3Error(error_chain(&err));
        // Credentials from the default chain are loaded while sending.
        if let Some(creds) = find_credentials_error(&err) {
            let reason = error_chain(creds);
            let context = format!(
                "{what}: could not load AWS credentials for S3 bucket {:?} (no static access key \
                 id and secret access key are set, so the AWS default chain was used): {reason}",
                self.bucket
            );
            return match creds {
                CredentialsError::ProviderTimedOut(_) | CredentialsError::ProviderError(_) => {
                    StorageError::transient(context, detail)
                }
                _ => StorageError::permanent(context, detail),
            };
        }
        match &err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = err.code();
                let message = err.message().filter(|m| !m.trim().is_empty());
                let reason = match (code, message) {
                    (Some(code), Some(msg)) => format!("HTTP {status} {code}: {msg}"),
                    (Some(code), None) => format!("HTTP {status} {code}"),
                    (None, _) => format!("HTTP {status}"),
                };
                let detail = S3Error(match err.meta().extra("aws_request_id") {
                    Some(id) => format!("{reason} (request id {id})"),
                    None => reason.clone(),
                });
                match classify_response(status, code) {
                    Class::NotFound => StorageError::NotFound(key.to_owned()),
                    Class::NoSuchBucket => StorageError::permanent(
                        format!(
                            "S3 bucket {:?} does not exist ({what}: {reason}); create it or fix the bucket setting",
                            self.bucket
                        ),
                        detail,
                    ),
                    Class::Denied => StorageError::permanent(
                        format!(
                            "access to S3 bucket {:?} denied ({what}: {reason}); check the access key id, \
                             secret access key and the bucket's policy",
                            self.bucket
                        ),
                        detail,
                    ),
                    Class::Transient => {
                        StorageError::transient(format!("{what}: {reason}"), detail)
                    }
                    Class::Permanent => StorageError::permanent(
                        format!("{what} (S3 bucket {:?}): {reason}", self.bucket),
                        detail,
                    ),
                }
            }
            SdkError::TimeoutError(_) => {
                StorageError::transient(format!("{what}: request timed out"), detail)
            }
            SdkError::DispatchFailure(failure) if failure.is_user() => StorageError::permanent(
                format!("{what}: the request could not be sent (check the endpoint URL): {detail}"),
                detail,
            ),
            SdkError::DispatchFailure(failure) => {
                let reason = if failure.is_timeout() {
                    "timed out connecting to the S3 endpoint"
                } else {
                    "could not reach the S3 endpoint"
                };
                StorageError::transient(format!("{what}: {reason}"), detail)
            }
            SdkError::ResponseError(_) => {
                StorageError::transient(format!("{what}: unreadable response"), detail)
            }
            SdkError::ConstructionFailure(_) => StorageError::permanent(
                format!("{what}: the request could not be built: {detail}"),
                detail,
            ),
            _ => StorageError::transient(what, detail),
        }
    }

    /// The part size for an object of `len` bytes: the configured size,
    /// raised so the object fits in S3's 10,000 parts.
    fn part_size_for(&self, len: u64) -> u64 {
        self.part_size
            .max(len.div_ceil(MAX_PARTS))
            .min(S3_MAX_PART_SIZE)
    }

    /// Store one object whose key is already validated.
    async fn put_object(&self, key: &str, full: String, data: Bytes) -> Result<(), StorageError> {
        let len = data.len() as u64;
        if len > self.multipart_threshold {
            return self.put_multipart(key, full, data).await;
        }
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(full)
            .content_length(i64::try_from(len).unwrap_or(i64::MAX))
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| self.error("writing", key, e))?;
        Ok(())
    }

    async fn put_multipart(
        &self,
        key: &str,
        full: String,
        data: Bytes,
    ) -> Result<(), StorageError> {
        let len = data.len() as u64;
        let part_size = self.part_size_for(len);
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
            .map_err(|e| self.error("starting a multipart upload of", key, e))?;
        let Some(upload_id) = created.upload_id().map(str::to_owned) else {
            return Err(StorageError::permanent(
                format!(
                    "starting a multipart upload of {key} in {}",
                    self.describe()
                ),
                S3Error("CreateMultipartUpload returned no upload id".into()),
            ));
        };
        let mut guard = AbortOnDrop {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: full.clone(),
            upload_id: Some(upload_id.clone()),
        };
        tracing::debug!(key, bytes = len, part_size, upload_id = %upload_id, "s3 multipart upload started");
        match self
            .upload_parts(key, &full, &upload_id, data, part_size)
            .await
        {
            Ok(()) => {
                guard.upload_id = None;
                Ok(())
            }
            Err(e) => {
                guard.abort().await;
                Err(e)
            }
        }
    }

    async fn upload_parts(
        &self,
        key: &str,
        full: &str,
        upload_id: &str,
        data: Bytes,
        part_size: u64,
    ) -> Result<(), StorageError> {
        let size = usize::try_from(part_size).unwrap_or(usize::MAX);
        let chunks: Vec<(i32, Bytes)> = (0..data.len())
            .step_by(size)
            .zip(1..)
            .map(|(start, number)| (number, data.slice(start..(start + size).min(data.len()))))
            .collect();
        let mut parts: Vec<CompletedPart> = stream::iter(chunks)
            .map(|(number, chunk)| async move {
                let len = chunk.len();
                let out = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(full)
                    .upload_id(upload_id)
                    .part_number(number)
                    .content_length(i64::try_from(len).unwrap_or(i64::MAX))
                    .body(ByteStream::from(chunk))
                    .send()
                    .await
                    .map_err(|e| self.error(&format!("uploading part {number} of"), key, e))?;
                Ok::<_, StorageError>(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag().map(str::to_owned))
                        .build(),
                )
            })
            .buffer_unordered(PART_CONCURRENCY)
            .try_collect()
            .await?;
        parts.sort_by_key(|p| p.part_number());
        let count = parts.len();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(full)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.error("completing the multipart upload of", key, e))?;
        tracing::debug!(key, parts = count, "s3 multipart upload completed");
        Ok(())
    }
}

/// Aborts a multipart upload that did not complete: awaited on errors, and
/// spawned if the upload's future is dropped (a caller's timeout).
struct AbortOnDrop {
    client: Client,
    bucket: String,
    key: String,
    /// `None` once completed or aborted.
    upload_id: Option<String>,
}

impl AbortOnDrop {
    fn request(
        &self,
        upload_id: String,
    ) -> aws_sdk_s3::operation::abort_multipart_upload::builders::AbortMultipartUploadFluentBuilder
    {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
    }

    async fn abort(&mut self) {
        if let Some(upload_id) = self.upload_id.take() {
            let key = self.key.clone();
            match self.request(upload_id.clone()).send().await {
                Ok(_) => tracing::debug!(key, upload_id, "s3 multipart upload aborted"),
                Err(e) => tracing::warn!(
                    key,
                    upload_id,
                    error = %error_chain(&e),
                    "could not abort s3 multipart upload; its parts stay until a lifecycle rule removes them"
                ),
            }
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(upload_id) = self.upload_id.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let request = self.request(upload_id.clone());
        let key = self.key.clone();
        runtime.spawn(async move {
            if let Err(e) = request.send().await {
                tracing::warn!(
                    key,
                    upload_id,
                    error = %error_chain(&e),
                    "could not abort interrupted s3 multipart upload"
                );
            }
        });
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &str, data: Bytes) -> Result<(), StorageError> {
        let full = self.full_key(key)?;
        self.put_object(key, full, data).await
    }

    /// Validates every key first, then writes the objects concurrently.
    async fn put_many(&self, objects: Vec<(String, Bytes)>) -> Result<(), StorageError> {
        let mut planned = Vec::with_capacity(objects.len());
        for (key, data) in objects {
            let full = self.full_key(&key)?;
            planned.push((key, full, data));
        }
        let results: Vec<Result<(), StorageError>> = stream::iter(planned)
            .map(|(key, full, data)| async move { self.put_object(&key, full, data).await })
            .buffer_unordered(PUT_MANY_CONCURRENCY)
            .collect()
            .await;
        // Every upload ran to its end (none is cut off half-way); report the
        // first failure.
        results.into_iter().collect()
    }

    async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        let full = self.full_key(key)?;
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(full)
            .send()
            .await
            .map_err(|e| self.error("reading", key, e))?;
        let body = out.body.collect().await.map_err(|e| {
            StorageError::transient(
                format!("reading {key} in {}: body cut off", self.describe()),
                S3Error(error_chain(&e)),
            )
        })?;
        Ok(body.into_bytes())
    }

    async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        let full = self.full_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(full)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match self.error("checking", key, e) {
                StorageError::NotFound(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    /// Keys starting with `prefix` (a partial last segment works, as on the
    /// filesystem), without the store's own prefix, sorted. Keys another
    /// writer stored that this crate would refuse (`..`, empty segments) are
    /// skipped.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        // Same rule as the filesystem: everything up to the last `/` must be
        // a valid key.
        let dir_part = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        if !dir_part.is_empty() {
            keys::validate_object_key(dir_part)?;
        }
        let full_prefix = format!("{}{prefix}", self.prefix);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full_prefix)
                .set_max_keys(self.list_page_size)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.error("listing", prefix, e))?;
            for object in page.contents() {
                let Some(key) = object.key().and_then(|k| k.strip_prefix(&self.prefix)) else {
                    continue;
                };
                if keys::validate_object_key(key).is_ok() {
                    out.push(key.to_owned());
                } else {
                    tracing::debug!(key, "skipping s3 object with an unusable key");
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            match page.next_continuation_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => {
                    return Err(StorageError::permanent(
                        format!("listing {prefix} in {}", self.describe()),
                        S3Error("truncated ListObjectsV2 page without a continuation token".into()),
                    ));
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let full = self.full_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(full)
            .send()
            .await
            .map_err(|e| self.error("deleting", key, e))?;
        Ok(())
    }

    /// Writes, reads back and deletes `health/check-<random>` under the prefix.
    async fn check_health(&self) -> Result<(), StorageError> {
        crate::object_store::round_trip(self).await
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_s3_errors() {
        assert_eq!(classify_response(404, Some("NoSuchKey")), Class::NotFound);
        assert_eq!(classify_response(404, None), Class::NotFound);
        assert_eq!(
            classify_response(404, Some("NoSuchBucket")),
            Class::NoSuchBucket
        );
        for code in [
            "AccessDenied",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
        ] {
            assert_eq!(classify_response(403, Some(code)), Class::Denied, "{code}");
        }
        assert_eq!(classify_response(403, None), Class::Denied);
        for (status, code) in [
            (503, Some("SlowDown")),
            (500, Some("InternalError")),
            (400, Some("RequestTimeout")),
            (429, None),
            (502, None),
            (504, None),
        ] {
            assert_eq!(
                classify_response(status, code),
                Class::Transient,
                "{status} {code:?}"
            );
        }
        assert_eq!(
            classify_response(400, Some("InvalidArgument")),
            Class::Permanent
        );
        assert_eq!(
            classify_response(301, Some("PermanentRedirect")),
            Class::Permanent
        );
    }

    fn store(prefix: &str, part_size: u64) -> S3ObjectStore {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        S3ObjectStore::from_client(
            Client::from_conf(conf),
            "bucket",
            prefix,
            part_size,
            part_size,
        )
    }

    #[test]
    fn prefix_and_description() {
        assert_eq!(store("", 1).describe(), "s3://bucket/");
        assert_eq!(store("/", 1).prefix(), "");
        let s = store("/socorro/prod/", 1);
        assert_eq!(s.prefix(), "socorro/prod/");
        assert_eq!(s.describe(), "s3://bucket/socorro/prod/");
        assert_eq!(s.full_key("v1/dump/x").unwrap(), "socorro/prod/v1/dump/x");
        assert!(matches!(s.full_key("../x"), Err(StorageError::Invalid(_))));
    }

    #[test]
    fn part_size_stays_within_ten_thousand_parts() {
        let mib = 1024 * 1024;
        let s = store("", 8 * mib);
        assert_eq!(s.part_size_for(20 * mib), 8 * mib);
        let huge = 200_000 * mib;
        let size = s.part_size_for(huge);
        assert!(huge.div_ceil(size) <= MAX_PARTS, "{size}");
    }

    #[test]
    fn debug_shows_no_client_internals() {
        let shown = format!("{:?}", store("p", 1));
        assert!(shown.contains("bucket"), "{shown}");
    }
}
