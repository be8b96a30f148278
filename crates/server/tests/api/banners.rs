//! Banner uploads: content checks, the streaming size limit, the shared rate limit, storage
//! failures.

use super::helpers::*;
use partneros_domain::banners::model::samples;
use reqwest::multipart::{Form, Part};
use serde_json::json;

async fn upload(
    app: &TestApp,
    token: &str,
    bytes: Vec<u8>,
    filename: &str,
    application: Option<&str>,
) -> Res {
    let mut form = Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str("image/png")
            .unwrap(),
    );
    if let Some(a) = application {
        form = form.text("applicationId", a.to_owned());
    }
    read(
        app.http
            .post(format!("{}/api/partners/applications/banner", app.address))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn stored_files(app: &TestApp) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            walk(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(app.files.path())
}

/// A PNG padded to exactly `len` bytes (the header decides; the rest is opaque data).
fn png_of_len(len: usize) -> Vec<u8> {
    let mut v = samples::PNG.to_vec();
    v.resize(len, 0);
    v
}

async fn application(app: &TestApp, owner: &Owner, slug: &str) -> String {
    let res = app
        .post(
            "/api/partners/applications",
            Some(&owner.token),
            json!({"name": "Form", "slug": slug}),
        )
        .await;
    res.body["application"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn accepted_images_are_stored_served_and_set_as_the_banner() {
    let app = spawn_app().await;
    let owner = app.owner("b").await;
    let app_id = application(&app, &owner, "banner-form").await;
    for (bytes, ext, ct) in [
        (samples::PNG, "png", "image/png"),
        (samples::JPEG, "jpg", "image/jpeg"),
        (samples::WEBP, "webp", "image/webp"),
        (samples::GIF, "gif", "image/gif"),
    ] {
        // The declared name and type are ignored: everything is sent as "x.png".
        let res = upload(&app, &owner.token, bytes.to_vec(), "x.png", None).await;
        assert_eq!(res.status, 200, "{ext}: {:?}", res.body);
        assert_eq!(res.body["provider"], "local");
        let path = res.body["path"].as_str().unwrap();
        assert!(
            path.starts_with(&format!("{}/", owner.organization_id))
                && path.ends_with(&format!(".{ext}")),
            "{path}"
        );
        let got = app
            .http
            .get(res.body["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(got.headers()["content-type"], ct);
        assert_eq!(got.headers()["x-content-type-options"], "nosniff");
        assert_eq!(got.bytes().await.unwrap().as_ref(), bytes);
    }
    let res = upload(
        &app,
        &owner.token,
        samples::PNG.to_vec(),
        "b.png",
        Some(&app_id),
    )
    .await;
    assert_eq!(res.status, 200);
    let form = app
        .get(
            &format!("/api/partners/applications/{app_id}"),
            &owner.token,
        )
        .await;
    assert_eq!(
        form.body["application"]["content"]["bannerUrl"],
        res.body["url"]
    );
}

#[tokio::test]
async fn content_decides_and_the_limit_is_exact() {
    let app = spawn_app().await;
    let owner = app.owner("c").await;
    let res = upload(&app, &owner.token, png_of_len(5_242_880), "big.png", None).await;
    assert_eq!(res.status, 200, "exactly 5 MiB is accepted");
    let before = stored_files(&app);
    let res = upload(&app, &owner.token, png_of_len(5_242_881), "big.png", None).await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (413, "payload_too_large")
    );
    assert_eq!(stored_files(&app), before, "nothing new in the store");

    let mut polyglot = samples::JPEG.to_vec();
    polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");
    let res = upload(&app, &owner.token, polyglot, "p.html", None).await;
    assert_eq!(res.status, 200, "a JPEG with HTML after it is a JPEG");
    let served = app
        .http
        .get(res.body["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");

    let res = upload(&app, &owner.token, samples::GIF.to_vec(), "cat.png", None).await;
    assert!(
        res.body["path"].as_str().unwrap().ends_with(".gif"),
        "a GIF named .png is a GIF"
    );

    let before = stored_files(&app);
    for (name, bytes) in [
        (
            "svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
        ),
        (
            "html",
            b"<!doctype html><html><body>hi</body></html>".to_vec(),
        ),
        ("pdf", b"%PDF-1.7\n%%EOF".to_vec()),
        ("truncated png", samples::PNG[..14].to_vec()),
        ("huge png", samples::png_of_size(20_000, 20_000)),
    ] {
        let res = upload(&app, &owner.token, bytes, "x.png", None).await;
        assert_eq!(
            (res.status.as_u16(), res.code()),
            (415, "unsupported_media_type"),
            "{name}"
        );
    }
    assert_eq!(stored_files(&app), before);
}

#[tokio::test]
async fn roles_and_tenancy() {
    let app = spawn_app().await;
    let a = app.owner("ra").await;
    let b = app.owner("rb").await;
    let theirs = application(&app, &b, "their-form").await;
    let res = upload(
        &app,
        &a.token,
        samples::PNG.to_vec(),
        "x.png",
        Some(&theirs),
    )
    .await;
    assert_eq!((res.status.as_u16(), res.code()), (404, "not_found"));
    let viewer = app.member(&a, "viewer", "rv").await;
    let (portal, _) = app.partner_user(&a, "rp").await;
    for token in [&viewer, &portal] {
        let res = upload(&app, token, samples::PNG.to_vec(), "x.png", None).await;
        assert_eq!((res.status.as_u16(), res.code()), (403, "forbidden"));
    }
    assert_eq!(stored_files(&app), 0);
    let form = app
        .get(&format!("/api/partners/applications/{theirs}"), &b.token)
        .await;
    assert!(
        form.body["application"]["content"]
            .get("bannerUrl")
            .is_none()
    );
}

#[tokio::test]
async fn twenty_a_minute_per_user_and_organization_across_instances() {
    let one = spawn_app().await;
    let two = spawn_app_with(Options {
        database_url: Some(one.db.url().to_owned()),
        // The first instance's relay mails its users; this one's would take half of that mail.
        config: Box::new(|c| c.outbound.relay_workers = 0),
        ..Options::default()
    })
    .await;
    let owner = one.owner("rl").await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (address, http, token) = (
            if i % 2 == 0 {
                one.address.clone()
            } else {
                two.address.clone()
            },
            one.http.clone(),
            owner.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let form = Form::new().part(
                "file",
                Part::bytes(samples::PNG.to_vec()).file_name("x.png"),
            );
            let r = http
                .post(format!("{address}/api/partners/applications/banner"))
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.headers().get("retry-after").is_some(),
            )
        }));
    }
    let mut ok = 0;
    let mut limited = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, _) => ok += 1,
            (429, true) => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, limited), (20, 20));
    // Another user of the organization is unaffected.
    let member = one.member(&owner, "member", "rl2").await;
    assert_eq!(
        upload(&two, &member, samples::PNG.to_vec(), "x.png", None)
            .await
            .status,
        200
    );
    // So is the same user in another organization.
    let res = one
        .post(
            "/api/organizations",
            Some(&owner.token),
            json!({"name": "Second org"}),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(
        upload(&one, &owner.token, samples::PNG.to_vec(), "x.png", None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_failing_store_is_a_502_and_changes_nothing() {
    // Nothing listens on port 9: every S3 request fails.
    let app = spawn_app_with(Options {
        s3_endpoint: Some("http://127.0.0.1:9".into()),
        ..Options::default()
    })
    .await;
    let owner = app.owner("sd").await;
    let app_id = application(&app, &owner, "down-form").await;
    let res = upload(
        &app,
        &owner.token,
        samples::PNG.to_vec(),
        "x.png",
        Some(&app_id),
    )
    .await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (502, "upstream_failed"),
        "{:?}",
        res.body
    );
    let form = app
        .get(
            &format!("/api/partners/applications/{app_id}"),
            &owner.token,
        )
        .await;
    assert!(
        form.body["application"]["content"]
            .get("bannerUrl")
            .is_none()
    );
}
