//! The real application on port 0 with a fresh database, as in `tests/api/helpers.rs`, except that
//! the test decides where the database is reached (a proxy's port) and may replace the external
//! adapters after they are built (to give them short timeouts).

use crate::helpers::{TestApp, test_scraper};
use chrono::{TimeZone, Utc};
use partneros_domain::clock::ManualClock;
use partneros_server::config::{Config, Vars};
use partneros_server::startup::{Application, Externals, services};
use partneros_test_support::TestDatabase;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub struct Setup {
    /// The test's database (a fresh one when `None`).
    pub db: Option<TestDatabase>,
    /// The URL the app reaches it at (e.g. through a proxy); the database's own URL when `None`.
    pub database_url: Option<String>,
    pub pool_size: usize,
    pub pool_wait: Duration,
    pub workers: usize,
    pub config: Box<dyn FnOnce(&mut Config)>,
    pub externals: Box<dyn FnOnce(&mut Externals)>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            db: None,
            database_url: None,
            pool_size: 4,
            pool_wait: Duration::from_millis(500),
            workers: 1,
            config: Box::new(|_| {}),
            externals: Box::new(|_| {}),
        }
    }
}

pub async fn spawn(setup: Setup) -> TestApp {
    let db = match setup.db {
        Some(db) => db,
        None => TestDatabase::new().await,
    };
    let url = setup.database_url.unwrap_or_else(|| db.url().to_owned());
    let mut config = Config::from_vars(&Vars(HashMap::new())).expect("development defaults");
    config.database_url = Some(url.clone());
    config.demo_account = false;
    config.workers = Some(setup.workers);
    config.pool_size = setup.pool_size;
    config.pool_wait = setup.pool_wait;
    config.analysis_workers = 0;
    // Cheap hashes keep the suite fast; production parameters are the defaults.
    config.argon2_memory_kib = 256;
    config.argon2_iterations = 1;
    let files = tempfile::tempdir().expect("a temp dir");
    config.local_storage_dir = files.path().to_owned();
    // The address is known only after binding; links handed out use it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().unwrap().port()
    };
    config.port = port;
    config.public_base_url = format!("http://127.0.0.1:{port}");
    (setup.config)(&mut config);
    let mut externals = Externals::from_config(&config).expect("externals");
    externals.scraper = Arc::new(test_scraper(&[], 9));
    (setup.externals)(&mut externals);
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 5, 16, 12, 0, 0).unwrap(),
    ));
    let services = services(&config, &url, clock.clone(), externals).expect("services");
    let app = Application::build(&config, services).expect("bind");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        files,
        db,
        clock,
        http,
    }
}
