//! TLS as `sslmode` asks, against the local PostgreSQL server (which has `ssl = on`, with the
//! certificate Debian generates for `localhost`).

use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use partneros_postgres::ConnectOptions;
use partneros_test_support::TestDatabase;

#[derive(diesel::QueryableByName)]
struct Ssl {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

async fn connect(url: &str) -> Result<AsyncPgConnection, String> {
    let options = ConnectOptions::parse(url)?;
    options.establish().await.map_err(|e| e.to_string())
}

/// Whether this connection is encrypted, as the server sees it.
async fn encrypted(conn: &mut AsyncPgConnection) -> bool {
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Ssl>(conn)
        .await
        .unwrap()
        .ssl
}

/// `url` with the host replaced and query parameters added.
fn with(db: &TestDatabase, host: &str, params: &str) -> String {
    let mut url = url::Url::parse(db.url()).unwrap();
    url.set_host(Some(host)).unwrap();
    format!("{url}?{params}")
}

/// The file of the server's certificate (self-signed: it is its own CA).
async fn server_certificate(db: &TestDatabase) -> String {
    let mut conn = connect(&with(db, "127.0.0.1", "sslmode=disable"))
        .await
        .unwrap();
    let on = diesel::sql_query("SELECT current_setting('ssl') AS value")
        .get_result::<Setting>(&mut conn)
        .await
        .unwrap();
    assert_eq!(on.value, "on", "these tests need the server's ssl = on");
    diesel::sql_query("SELECT current_setting('ssl_cert_file') AS value")
        .get_result::<Setting>(&mut conn)
        .await
        .unwrap()
        .value
}

#[tokio::test]
async fn require_encrypts_and_disable_does_not() {
    let db = TestDatabase::new().await;
    let mut conn = connect(&with(&db, "127.0.0.1", "sslmode=require"))
        .await
        .unwrap();
    assert!(encrypted(&mut conn).await);
    let mut conn = connect(&with(&db, "127.0.0.1", "sslmode=disable"))
        .await
        .unwrap();
    assert!(!encrypted(&mut conn).await);
    // libpq's default, `prefer`, encrypts when the server can.
    let mut conn = connect(&with(&db, "127.0.0.1", "application_name=t"))
        .await
        .unwrap();
    assert!(encrypted(&mut conn).await);
}

#[tokio::test]
async fn verify_ca_accepts_a_chain_to_the_given_root_whatever_the_host_name() {
    let db = TestDatabase::new().await;
    let root = server_certificate(&db).await;
    let url = with(
        &db,
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={root}"),
    );
    let mut conn = connect(&url).await.unwrap();
    assert!(encrypted(&mut conn).await);
}

/// The public CAs' bundle does not include the server's self-signed certificate.
#[tokio::test]
async fn verify_ca_refuses_a_certificate_of_another_root() {
    let db = TestDatabase::new().await;
    server_certificate(&db).await;
    let params = "sslmode=verify-ca&sslrootcert=/etc/ssl/certs/ca-certificates.crt";
    let err = connect(&with(&db, "127.0.0.1", params))
        .await
        .err()
        .expect("refused");
    assert!(err.contains("certificate"), "{err}");
}

#[tokio::test]
async fn verify_full_checks_the_host_name() {
    let db = TestDatabase::new().await;
    let root = server_certificate(&db).await;
    // The certificate names `localhost`, not the address 127.0.0.1.
    let url = with(
        &db,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    let err = connect(&url).await.err().expect("refused");
    assert!(err.contains("not valid for name"), "{err}");

    let url = with(
        &db,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    let mut conn = connect(&url).await.unwrap();
    assert!(encrypted(&mut conn).await);
}

/// The pool opens its connections the same way: a repository call over `verify-full`.
#[tokio::test]
async fn the_pool_and_the_migrations_speak_tls() {
    use partneros_domain::shared::health::HealthCheck;
    let db = TestDatabase::new().await;
    let root = server_certificate(&db).await;
    let url = with(
        &db,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    assert_eq!(
        partneros_postgres::pending_migrations(&url).await.unwrap(),
        0
    );
    let store =
        partneros_postgres::connect(&url, &partneros_postgres::PoolConfig::default()).unwrap();
    store.ready().await.unwrap();

    let refused = with(
        &db,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    let store =
        partneros_postgres::connect(&refused, &partneros_postgres::PoolConfig::default()).unwrap();
    assert!(matches!(
        store.ready().await,
        Err(partneros_domain::StoreError::Unavailable(_))
    ));
}
