//! Any S3-compatible store (AWS S3, MinIO, Supabase Storage, R2…) through `aws-sdk-s3`.

use crate::key::join_url;
use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use partneros_domain::banners::ports::{ObjectStore, StorageError, StorageProvider};
use partneros_domain::shared::secret::Secret;
use std::fmt;
use std::path::Path;
use std::time::Duration;
use url::Url;

/// Connection settings of an S3-compatible store (`S3_*` variables).
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `None` for AWS S3 itself; the store's URL otherwise (for Supabase Storage
    /// `https://<project>.supabase.co/storage/v1/s3`).
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// `<endpoint>/<bucket>/<key>` rather than `<bucket>.<endpoint host>/<key>`.
    pub force_path_style: bool,
    /// Where the bucket's objects are publicly readable (a CDN, a public bucket URL); derived
    /// from the endpoint when `None`.
    pub public_base_url: Option<String>,
    /// Bound on connecting and on each whole operation, retries included.
    pub timeout: Duration,
}

/// Settings that cannot describe a store; the message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum InvalidS3Settings {
    #[error("S3_ENDPOINT must be an http(s) URL with a host, got {0:?}")]
    Endpoint(String),
    #[error("S3_REGION must not be empty")]
    Region,
    #[error("S3_BUCKET must not be empty")]
    Bucket,
    #[error("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must not be empty")]
    Credentials,
    #[error("S3_PUBLIC_BASE_URL must be an http(s) URL with a host, got {0:?}")]
    PublicBaseUrl(String),
    #[error("the S3 timeout must be longer than zero")]
    Timeout,
}

/// An [`ObjectStore`] over the S3 API.
#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    endpoint: Option<String>,
    provider: StorageProvider,
    /// `public_url(key)` is this + `/` + the encoded key.
    public_prefix: String,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("provider", &self.provider)
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("public_prefix", &self.public_prefix)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Validates `settings` and builds the client. Nothing is contacted yet.
    pub fn new(settings: S3Settings) -> Result<Self, InvalidS3Settings> {
        let endpoint = match settings.endpoint.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => {
                let url = parse_http_url(raw)
                    .ok_or_else(|| InvalidS3Settings::Endpoint(raw.to_owned()))?;
                Some((raw.trim_end_matches('/').to_owned(), url))
            }
        };
        let region = settings.region.trim();
        if region.is_empty() {
            return Err(InvalidS3Settings::Region);
        }
        let bucket = settings.bucket.trim();
        if bucket.is_empty() {
            return Err(InvalidS3Settings::Bucket);
        }
        if settings.access_key_id.is_empty() || settings.secret_access_key.expose().is_empty() {
            return Err(InvalidS3Settings::Credentials);
        }
        let public_base_url = match settings.public_base_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => {
                parse_http_url(raw)
                    .ok_or_else(|| InvalidS3Settings::PublicBaseUrl(raw.to_owned()))?;
                Some(raw.trim_end_matches('/').to_owned())
            }
        };
        if settings.timeout.is_zero() {
            return Err(InvalidS3Settings::Timeout);
        }

        let provider = match &endpoint {
            Some((_, url)) if is_supabase(url) => StorageProvider::Supabase,
            _ => StorageProvider::S3,
        };
        let public_prefix = public_base_url.unwrap_or_else(|| {
            derived_public_prefix(
                endpoint.as_ref().map(|(raw, url)| (raw.as_str(), url)),
                region,
                bucket,
                settings.force_path_style,
            )
        });

        let credentials = Credentials::new(
            settings.access_key_id.clone(),
            settings.secret_access_key.expose().to_owned(),
            None,
            None,
            "partneros-settings",
        );
        // rustls over ring: the SDK's default HTTPS client needs aws-lc-rs, a C/cmake build.
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(credentials)
            .force_path_style(settings.force_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(settings.timeout)
                    .operation_timeout(settings.timeout)
                    .build(),
            )
            .retry_config(RetryConfig::standard())
            .http_client(http_client);
        if let Some((raw, _)) = &endpoint {
            config = config.endpoint_url(raw.clone());
        }

        Ok(Self {
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: bucket.to_owned(),
            endpoint: endpoint.map(|(raw, _)| raw),
            provider,
            public_prefix,
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn provider(&self) -> StorageProvider {
        self.provider
    }

    fn public_url(&self, key: &str) -> String {
        join_url(&self.public_prefix, key)
    }

    #[tracing::instrument(level = "debug", skip(self, path), fields(bucket = %self.bucket))]
    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|err| StorageError::Failed(Box::new(err)))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip(self), fields(bucket = %self.bucket))]
    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // S3 answers 204 for a missing key; some compatible stores answer 404.
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(())
            }
            Err(err) => Err(storage_error(err)),
        }
    }
}

fn storage_error<E>(err: SdkError<E, HttpResponse>) -> StorageError
where
    E: std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) => StorageError::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => StorageError::Timeout,
        _ => StorageError::Failed(Box::new(err)),
    }
}

fn parse_http_url(raw: &str) -> Option<Url> {
    Url::parse(raw)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
}

const SUPABASE_S3_PATH: &str = "/storage/v1/s3";

fn is_supabase(endpoint: &Url) -> bool {
    endpoint
        .host_str()
        .is_some_and(|host| host.ends_with(".supabase.co"))
        || endpoint.path().contains(SUPABASE_S3_PATH)
}

/// The URL below which the bucket's objects are public, when no base URL is configured.
fn derived_public_prefix(
    endpoint: Option<(&str, &Url)>,
    region: &str,
    bucket: &str,
    path_style: bool,
) -> String {
    let bucket_segment = crate::key::encode_key(bucket);
    match endpoint {
        Some((_, url)) if is_supabase(url) => {
            // Supabase serves public buckets at /storage/v1/object/public/<bucket>/<key> on the
            // project's API host (the S3 endpoint may use the `<project>.storage.supabase.co`
            // host); a self-hosted instance keeps whatever prefix precedes /storage/v1/s3.
            let mut api = url.clone();
            if let Some(project) = url
                .host_str()
                .and_then(|h| h.strip_suffix(".storage.supabase.co"))
            {
                let _ = api.set_host(Some(&format!("{project}.supabase.co")));
            }
            let prefix = url
                .path()
                .find(SUPABASE_S3_PATH)
                .map_or("", |i| &url.path()[..i]);
            format!(
                "{}{prefix}/storage/v1/object/public/{bucket_segment}",
                api.origin().ascii_serialization()
            )
        }
        Some((raw, _)) => format!("{raw}/{bucket_segment}"),
        // A bucket name with dots does not match the wildcard certificate of virtual hosts.
        None if path_style || bucket.contains('.') => {
            format!("https://s3.{region}.amazonaws.com/{bucket_segment}")
        }
        None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: Option<&str>) -> S3Settings {
        S3Settings {
            endpoint: endpoint.map(str::to_owned),
            region: "eu-west-3".to_owned(),
            bucket: "banners".to_owned(),
            access_key_id: "AKIDEXAMPLE".to_owned(),
            secret_access_key: Secret::new("super-secret-value"),
            force_path_style: endpoint.is_some(),
            public_base_url: None,
            timeout: Duration::from_secs(5),
        }
    }

    fn store(settings: S3Settings) -> S3Store {
        S3Store::new(settings).unwrap()
    }

    #[test]
    fn supabase_by_host() {
        let s = store(settings(Some("https://abcdefgh.supabase.co/storage/v1/s3")));
        assert_eq!(s.provider(), StorageProvider::Supabase);
        assert_eq!(
            s.public_url("org/a.png"),
            "https://abcdefgh.supabase.co/storage/v1/object/public/banners/org/a.png"
        );
    }

    #[test]
    fn supabase_storage_host_maps_to_the_project_api_host() {
        let s = store(settings(Some(
            "https://abcdefgh.storage.supabase.co/storage/v1/s3/",
        )));
        assert_eq!(s.provider(), StorageProvider::Supabase);
        assert_eq!(
            s.public_url("a.png"),
            "https://abcdefgh.supabase.co/storage/v1/object/public/banners/a.png"
        );
    }

    #[test]
    fn self_hosted_supabase_by_path() {
        let s = store(settings(Some("http://localhost:8000/storage/v1/s3")));
        assert_eq!(s.provider(), StorageProvider::Supabase);
        assert_eq!(
            s.public_url("a.png"),
            "http://localhost:8000/storage/v1/object/public/banners/a.png"
        );
    }

    #[test]
    fn minio_is_s3_with_path_style_urls() {
        let s = store(settings(Some("http://127.0.0.1:9000/")));
        assert_eq!(s.provider(), StorageProvider::S3);
        assert_eq!(
            s.public_url("org/a.png"),
            "http://127.0.0.1:9000/banners/org/a.png"
        );
        // A host merely containing "supabase" is not Supabase.
        let s = store(settings(Some("https://supabase.example.com")));
        assert_eq!(s.provider(), StorageProvider::S3);
    }

    #[test]
    fn aws_urls() {
        let s = store(settings(None));
        assert_eq!(s.provider(), StorageProvider::S3);
        assert_eq!(
            s.public_url("org/a.png"),
            "https://banners.s3.eu-west-3.amazonaws.com/org/a.png"
        );

        let mut path_style = settings(None);
        path_style.force_path_style = true;
        assert_eq!(
            store(path_style).public_url("a.png"),
            "https://s3.eu-west-3.amazonaws.com/banners/a.png"
        );

        let mut dotted = settings(None);
        dotted.bucket = "media.example.com".to_owned();
        assert_eq!(
            store(dotted).public_url("a.png"),
            "https://s3.eu-west-3.amazonaws.com/media.example.com/a.png"
        );
    }

    #[test]
    fn explicit_public_base_url_wins() {
        let mut s = settings(Some("https://abcdefgh.supabase.co/storage/v1/s3"));
        s.public_base_url = Some("https://cdn.example.com/banners/".to_owned());
        let s = store(s);
        assert_eq!(s.provider(), StorageProvider::Supabase);
        assert_eq!(
            s.public_url("org/a.png"),
            "https://cdn.example.com/banners/org/a.png"
        );
    }

    #[test]
    fn keys_are_encoded_per_segment() {
        let s = store(settings(Some("http://127.0.0.1:9000")));
        assert_eq!(
            s.public_url("org 1/a b#?%.png"),
            "http://127.0.0.1:9000/banners/org%201/a%20b%23%3F%25.png"
        );
        let s = store(settings(None));
        assert_eq!(
            s.public_url("é/x.png"),
            "https://banners.s3.eu-west-3.amazonaws.com/%C3%A9/x.png"
        );
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let settings = settings(Some("http://127.0.0.1:9000"));
        assert!(!format!("{settings:?}").contains("super-secret-value"));
        assert!(!format!("{:?}", store(settings)).contains("super-secret-value"));
    }

    type Mutation = fn(&mut S3Settings);

    #[test]
    fn invalid_settings_name_the_variable() {
        let cases: [(Mutation, &str); 6] = [
            (|s| s.endpoint = Some("ftp://x".into()), "S3_ENDPOINT"),
            (|s| s.endpoint = Some("not a url".into()), "S3_ENDPOINT"),
            (|s| s.region = " ".into(), "S3_REGION"),
            (|s| s.bucket = String::new(), "S3_BUCKET"),
            (
                |s| s.secret_access_key = Secret::new(""),
                "S3_SECRET_ACCESS_KEY",
            ),
            (
                |s| s.public_base_url = Some("/relative".into()),
                "S3_PUBLIC_BASE_URL",
            ),
        ];
        for (mutate, variable) in cases {
            let mut s = settings(Some("http://127.0.0.1:9000"));
            mutate(&mut s);
            let err = S3Store::new(s).unwrap_err();
            assert!(err.to_string().contains(variable), "{err}");
        }
        let mut s = settings(None);
        s.endpoint = Some(String::new());
        assert_eq!(
            store(s).provider(),
            StorageProvider::S3,
            "an empty endpoint means AWS"
        );
    }
}
