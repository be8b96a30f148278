//! The Docuseal adapter against a local fake of Docuseal's HTTP API (wiremock), reproducing the
//! documented wire contract of `POST /templates/pdf` and `DELETE /templates/{id}`, error bodies
//! included.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use partneros_docuseal::{DocusealClient, UnconfiguredESignature};
use partneros_domain::legal::ports::{
    ESignature, ESignatureError, FieldPlacement, NewSignatureTemplate, SignatureFieldType,
};
use partneros_domain::shared::secret::Secret;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "ds-test-key-7Qm2x9";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
/// Self-hosted instances serve the API under `/api`.
const CREATE_PATH: &str = "/api/templates/pdf";

/// A fake Docuseal: requests without the right `X-Auth-Token` get Docuseal's 401.
async fn docuseal() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Not authenticated"})),
        )
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    server
}

fn client_with(server: &MockServer, key: &str, timeout: Duration) -> DocusealClient {
    DocusealClient::new(&format!("{}/api", server.uri()), Secret::new(key), timeout).unwrap()
}

fn client(server: &MockServer) -> DocusealClient {
    client_with(server, KEY, DocusealClient::DEFAULT_TIMEOUT)
}

/// Answers `POST /api/templates/pdf` with the right key only.
async fn on_create(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(CREATE_PATH))
        .and(header("X-Auth-Token", KEY))
        .respond_with(response)
        .mount(server)
        .await;
}

fn placement(name: &str, role: &str, field_type: SignatureFieldType, page: u32) -> FieldPlacement {
    FieldPlacement {
        name: name.to_owned(),
        field_type,
        role: role.to_owned(),
        required: field_type == SignatureFieldType::Signature,
        page,
        x: 0.125,
        y: 0.75,
        width: 0.25,
        height: 0.0625,
    }
}

/// The PDF as the API spools it: a file on disk, kept for the whole test run.
fn spooled_pdf() -> std::path::PathBuf {
    static FILE: std::sync::OnceLock<tempfile::TempPath> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, PDF).unwrap();
        f.into_temp_path()
    })
    .to_path_buf()
}

fn nda() -> NewSignatureTemplate {
    NewSignatureTemplate {
        name: "Partner NDA".to_owned(),
        external_id: "0190f7a2-4c1e-7b3a-9d2e-1f5a6b7c8d9e".to_owned(),
        pdf: spooled_pdf(),
        roles: vec!["Partner".to_owned(), "PartnerOS".to_owned()],
        fields: vec![
            placement(
                "Partner signature",
                "Partner",
                SignatureFieldType::Signature,
                2,
            ),
            placement("Signed on", "Partner", SignatureFieldType::Date, 2),
            placement(
                "PartnerOS signature",
                "PartnerOS",
                SignatureFieldType::Signature,
                3,
            ),
        ],
    }
}

/// A template object as Docuseal answers it (abridged; the adapter reads `id` and `slug`).
fn template_json() -> Value {
    json!({
        "id": 1000001,
        "slug": "opaKWh8WWTAcVG",
        "name": "Partner NDA",
        "external_id": "0190f7a2-4c1e-7b3a-9d2e-1f5a6b7c8d9e",
        "folder_name": "Default",
        "submitters": [{"name": "Partner", "uuid": "a"}, {"name": "PartnerOS", "uuid": "b"}],
        "fields": [],
        "schema": [{"attachment_uuid": "c", "name": "Partner NDA"}],
        "documents": [{"id": 5, "uuid": "c", "url": "https://example.test/file/nda.pdf"}],
        "created_at": "2026-01-01T00:00:00.000Z",
        "archived_at": null
    })
}

async fn create_err(server: &MockServer) -> ESignatureError {
    client(server).create_template(nda()).await.unwrap_err()
}

#[tokio::test]
async fn creating_sends_the_documented_body_and_returns_id_and_slug() {
    let server = docuseal().await;
    on_create(
        &server,
        ResponseTemplate::new(200).set_body_json(template_json()),
    )
    .await;

    let created = client(&server).create_template(nda()).await.unwrap();

    assert_eq!(created.id, 1000001);
    assert_eq!(created.slug, "opaKWh8WWTAcVG");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.url.path(), CREATE_PATH);
    assert_eq!(request.headers["x-auth-token"], KEY);
    assert_eq!(request.headers["user-agent"], "partneros/0.1");
    assert!(
        request.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["name"], "Partner NDA");
    assert_eq!(body["external_id"], "0190f7a2-4c1e-7b3a-9d2e-1f5a6b7c8d9e");
    let documents = body["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0]["name"], "Partner NDA");
    let file = STANDARD
        .decode(documents[0]["file"].as_str().unwrap())
        .unwrap();
    assert_eq!(file, PDF);
    assert!(
        body.get("fields").is_none(),
        "fields live inside the document entry"
    );
    assert_eq!(
        documents[0]["fields"],
        json!([
            {"name": "Partner signature", "type": "signature", "role": "Partner", "required": true,
             "areas": [{"x": 0.125, "y": 0.75, "w": 0.25, "h": 0.0625, "page": 2}]},
            {"name": "Signed on", "type": "date", "role": "Partner", "required": false,
             "areas": [{"x": 0.125, "y": 0.75, "w": 0.25, "h": 0.0625, "page": 2}]},
            {"name": "PartnerOS signature", "type": "signature", "role": "PartnerOS", "required": true,
             "areas": [{"x": 0.125, "y": 0.75, "w": 0.25, "h": 0.0625, "page": 3}]},
        ])
    );
}

#[tokio::test]
async fn signer_roles_reach_docuseal_in_the_template_role_order() {
    let server = docuseal().await;
    on_create(
        &server,
        ResponseTemplate::new(200).set_body_json(template_json()),
    )
    .await;
    let mut template = nda();
    template.fields.reverse(); // PartnerOS's field first, though "Partner" is the first role

    client(&server).create_template(template).await.unwrap();

    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    let roles: Vec<&str> = body["documents"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["Partner", "Partner", "PartnerOS"]);
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized() {
    let server = docuseal().await;
    on_create(
        &server,
        ResponseTemplate::new(200).set_body_json(template_json()),
    )
    .await;

    let client = client_with(&server, "not-the-key", DocusealClient::DEFAULT_TIMEOUT);
    let err = client.create_template(nda()).await.unwrap_err();

    assert!(matches!(err, ESignatureError::Unauthorized), "{err:?}");
}

#[tokio::test]
async fn a_forbidden_answer_is_unauthorized() {
    let server = docuseal().await;
    on_create(
        &server,
        ResponseTemplate::new(403).set_body_json(json!({"error": "Forbidden"})),
    )
    .await;

    assert!(matches!(
        create_err(&server).await,
        ESignatureError::Unauthorized
    ));
}

#[tokio::test]
async fn a_422_is_rejected_with_docuseal_message() {
    let server = docuseal().await;
    let refusal = json!({"error": "Unable to read the PDF file"});
    on_create(&server, ResponseTemplate::new(422).set_body_json(refusal)).await;

    let err = create_err(&server).await;

    assert!(
        matches!(&err, ESignatureError::Rejected(m) if m == "Unable to read the PDF file"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_long_refusal_is_cut_and_a_non_json_body_is_never_echoed() {
    let server = docuseal().await;
    let long = "x".repeat(5000);
    on_create(
        &server,
        ResponseTemplate::new(422).set_body_json(json!({"error": long})),
    )
    .await;
    let ESignatureError::Rejected(message) = create_err(&server).await else {
        panic!("expected Rejected");
    };
    assert!(message.chars().count() <= 300);

    let server = docuseal().await;
    let page = "<html><body>Internal details: db=prod-7</body></html>";
    on_create(
        &server,
        ResponseTemplate::new(400).set_body_raw(page, "text/html"),
    )
    .await;
    let ESignatureError::Rejected(message) = create_err(&server).await else {
        panic!("expected Rejected");
    };
    assert!(!message.contains("db=prod-7"), "{message}");
}

#[tokio::test]
async fn the_free_edition_404_means_pro_edition_required() {
    let server = docuseal().await;
    let free = json!({"error": "Not found. This feature is available in Pro Edition: https://www.docuseal.com/pricing"});
    on_create(&server, ResponseTemplate::new(404).set_body_json(free)).await;

    assert!(matches!(
        create_err(&server).await,
        ESignatureError::ProEditionRequired
    ));
}

#[tokio::test]
async fn another_404_is_rejected_with_a_short_message() {
    let server = docuseal().await;
    on_create(
        &server,
        ResponseTemplate::new(404).set_body_json(json!({"error": "Not found"})),
    )
    .await;

    let err = create_err(&server).await;

    assert!(
        matches!(&err, ESignatureError::Rejected(m) if m.contains("404") && m.len() < 120),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_server_error_is_unavailable() {
    let server = docuseal().await;
    on_create(
        &server,
        ResponseTemplate::new(500).set_body_json(json!({"error": "Internal Server Error"})),
    )
    .await;

    assert!(matches!(
        create_err(&server).await,
        ESignatureError::Unavailable(_)
    ));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let server = docuseal().await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(template_json())
        .set_delay(Duration::from_secs(3));
    on_create(&server, slow).await;
    let client = client_with(&server, KEY, Duration::from_millis(500));

    let started = std::time::Instant::now();
    let err = client.create_template(nda()).await.unwrap_err();

    assert!(matches!(err, ESignatureError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_success_that_is_not_a_template_is_an_invalid_response() {
    for garbage in [
        ResponseTemplate::new(200).set_body_raw("<html>Welcome</html>", "text/html"),
        ResponseTemplate::new(200).set_body_json(json!({"data": []})),
        ResponseTemplate::new(201).set_body_json(json!({"id": "abc", "slug": "x"})),
    ] {
        let server = docuseal().await;
        on_create(&server, garbage).await;
        let err = create_err(&server).await;
        assert!(
            matches!(err, ESignatureError::InvalidResponse(_)),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn archiving_sends_delete_and_accepts_docuseal_answer() {
    let server = docuseal().await;
    Mock::given(method("DELETE"))
        .and(path("/api/templates/1000001"))
        .and(header("X-Auth-Token", KEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 1000001, "archived_at": "2026-01-01T00:00:00.000Z"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    client(&server).archive_template(1000001).await.unwrap();
}

#[tokio::test]
async fn archiving_an_unknown_template_is_ok() {
    let server = docuseal().await;
    Mock::given(method("DELETE"))
        .and(path("/api/templates/42"))
        .and(header("X-Auth-Token", KEY))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "Not found"})))
        .expect(1)
        .mount(&server)
        .await;

    client(&server).archive_template(42).await.unwrap();
}

#[tokio::test]
async fn archiving_maps_refusals_and_failures() {
    let server = docuseal().await;
    let wrong_key = client_with(&server, "nope", DocusealClient::DEFAULT_TIMEOUT);
    let err = wrong_key.archive_template(1).await.unwrap_err();
    assert!(matches!(err, ESignatureError::Unauthorized), "{err:?}");

    Mock::given(method("DELETE"))
        .and(path("/api/templates/2"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let err = client(&server).archive_template(2).await.unwrap_err();
    assert!(matches!(err, ESignatureError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = DocusealClient::new(
        &format!("http://127.0.0.1:{port}/api"),
        Secret::new(KEY),
        Duration::from_secs(5),
    )
    .unwrap();

    let err = client.create_template(nda()).await.unwrap_err();
    assert!(matches!(err, ESignatureError::Unavailable(_)), "{err:?}");
    assert!(!format!("{err:?} {err}").contains(KEY));

    let err = client.archive_template(1).await.unwrap_err();
    assert!(matches!(err, ESignatureError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn the_key_never_shows_in_debug_output() {
    let server = docuseal().await;
    let client = client(&server);

    let debug = format!("{client:?} {client:#?}");

    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("DocusealClient"));
}

#[tokio::test]
async fn the_unconfigured_port_says_so() {
    let port = UnconfiguredESignature;
    assert!(matches!(
        port.create_template(nda()).await,
        Err(ESignatureError::NotConfigured)
    ));
    assert!(matches!(
        port.archive_template(1).await,
        Err(ESignatureError::NotConfigured)
    ));
}
