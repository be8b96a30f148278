//! A chromedriver process owned by the test binary, and WebDriver sessions in headless Chromium.

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the binaries are: `CHROMEDRIVER` / `CHROMIUM`, else Debian's paths
/// (`apt-get install chromium chromium-driver`).
pub struct Binaries {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

impl Binaries {
    /// `None` when either is missing.
    pub fn find() -> Option<Self> {
        let pick = |var: &str, default: &str| {
            let path = std::env::var_os(var)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(default));
            path.is_file().then_some(path)
        };
        Some(Self {
            chromedriver: pick("CHROMEDRIVER", "/usr/bin/chromedriver")?,
            chromium: pick("CHROMIUM", "/usr/bin/chromium")?,
        })
    }
}

/// A running chromedriver on a free local port; killed (with its profile directory removed)
/// when dropped, also when a test panics.
pub struct ChromeDriver {
    child: Child,
    url: String,
    chromium: PathBuf,
    profile: PathBuf,
}

impl ChromeDriver {
    pub async fn start(binaries: &Binaries, log_dir: &Path) -> Self {
        let port = free_port();
        let log = std::fs::File::create(log_dir.join("chromedriver.log"))
            .expect("create the chromedriver log");
        let child = Command::new(&binaries.chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binaries.chromedriver.display()));
        let profile = std::env::temp_dir().join(format!(
            "partneros-browser-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&profile).expect("create the Chromium profile directory");
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium: binaries.chromium.clone(),
            profile,
        };
        driver.wait_until_ready().await;
        driver
    }

    async fn wait_until_ready(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = match http.get(format!("{}/status", self.url)).send().await {
                Ok(res) => res
                    .json::<serde_json::Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {} within 20 s (see target/test-artifacts/chromedriver.log)",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless Chromium session with a fresh profile.
    pub async fn session(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": self.chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1024,1400",
                    format!("--user-data-dir={}", self.profile.display()),
                ],
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("open a WebDriver session in headless Chromium")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free local port")
        .port()
}
