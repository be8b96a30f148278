//! `S3Store` against an S3-compatible server (`s3s` + `s3s-fs`) started inside the test.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use partneros_domain::banners::ports::{ObjectStore, StorageError, StorageProvider};
use partneros_domain::shared::secret::Secret;
use partneros_storage::{S3Settings, S3Store};
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use s3s::{S3Result, s3_error};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const ACCESS_KEY: &str = "test-access-key";
const SECRET_KEY: &str = "test-secret-key";
const BUCKET: &str = "banners";
const REGION: &str = "us-east-1";

/// Signed requests may do anything; anonymous ones may only read objects, like a public bucket.
struct PublicRead;

#[async_trait::async_trait]
impl S3Access for PublicRead {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_some() || cx.s3_op().name() == "GetObject" {
            Ok(())
        } else {
            Err(s3_error!(AccessDenied, "signed requests only"))
        }
    }
}

struct Server {
    endpoint: String,
    _root: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_server() -> Server {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join(BUCKET)).unwrap();
    let service = {
        let mut builder = S3ServiceBuilder::new(s3s_fs::FileSystem::new(root.path()).unwrap());
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        builder.set_access(PublicRead);
        builder.build()
    };
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let connection = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    });
    Server {
        endpoint,
        _root: root,
        task,
    }
}

fn settings(endpoint: &str, timeout: Duration) -> S3Settings {
    S3Settings {
        endpoint: Some(endpoint.to_owned()),
        region: REGION.to_owned(),
        bucket: BUCKET.to_owned(),
        access_key_id: ACCESS_KEY.to_owned(),
        secret_access_key: Secret::new(SECRET_KEY),
        force_path_style: true,
        public_base_url: None,
        timeout,
    }
}

/// An independent client, to check what the store wrote.
fn sdk_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn round_trips_a_5_mib_banner_and_deletes_it() {
    let server = start_server().await;
    let store = S3Store::new(settings(&server.endpoint, Duration::from_secs(30))).unwrap();
    assert_eq!(store.provider(), StorageProvider::S3);

    let bytes = pattern(5_242_880);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    // A space exercises key encoding in the signed request and in the public URL.
    let key = "0190f5c2-org/banner 1.png";

    store.put_file(key, file.path(), "image/png").await.unwrap();

    let sdk = sdk_client(&server.endpoint);
    let object = sdk
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("image/png"));
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(body.len(), bytes.len());
    assert!(body == bytes, "the stored bytes differ");

    let url = store.public_url(key);
    assert_eq!(
        url,
        format!("{}/{BUCKET}/0190f5c2-org/banner%201.png", server.endpoint)
    );
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    assert!(
        response.bytes().await.unwrap() == bytes,
        "the public URL serves other bytes"
    );

    store.delete(key).await.unwrap();
    let gone = sdk
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.as_service_error().is_some_and(|e| e.is_no_such_key()),
        "expected NoSuchKey, got {gone:?}"
    );
    store.delete(key).await.unwrap();
    store.delete("never/existed.png").await.unwrap();
}

#[tokio::test]
async fn wrong_credentials_fail() {
    let server = start_server().await;
    let mut settings = settings(&server.endpoint, Duration::from_secs(10));
    settings.secret_access_key = Secret::new("wrong");
    let store = S3Store::new(settings).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"png").unwrap();
    let put = store.put_file("a.png", file.path(), "image/png").await;
    assert!(matches!(put, Err(StorageError::Failed(_))), "{put:?}");
}

#[tokio::test]
async fn an_unreachable_store_fails_quickly() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let store = S3Store::new(settings(
        &format!("http://{closed}"),
        Duration::from_secs(2),
    ))
    .unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"png").unwrap();

    let started = Instant::now();
    let put = store.put_file("a.png", file.path(), "image/png").await;
    assert!(
        matches!(put, Err(StorageError::Failed(_) | StorageError::Timeout)),
        "{put:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    let delete = store.delete("a.png").await;
    assert!(delete.is_err(), "{delete:?}");
}

#[tokio::test]
async fn a_silent_store_times_out() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let store = S3Store::new(settings(&endpoint, Duration::from_millis(500))).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"png").unwrap();

    let started = Instant::now();
    let put = store.put_file("a.png", file.path(), "image/png").await;
    assert!(matches!(put, Err(StorageError::Timeout)), "{put:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    task.abort();
}
