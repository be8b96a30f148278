//! Forms on the customer's own site: the embed script `GET /embed.js`, and which responses a
//! page of another origin may frame (the hosted form only).

use super::helpers::*;
use serde_json::json;

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn the_embed_script_is_served_as_cacheable_javascript() {
    let app = spawn_app().await;
    let res = get(&app, "/embed.js").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "content-type"),
        Some("application/javascript; charset=utf-8")
    );
    assert_eq!(header(&res, "cache-control"), Some("public, max-age=3600"));
    assert_eq!(header(&res, "x-content-type-options"), Some("nosniff"));
    // Loadable with `crossorigin` + `integrity`, and from pages that require CORP.
    assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&res, "cross-origin-resource-policy"),
        Some("cross-origin")
    );
    let etag = header(&res, "etag").expect("an ETag").to_owned();
    let script = res.text().await.expect("the script");
    assert!(script.contains("partneros:resize"));
    assert!(script.contains("data-form"));

    // Revalidation: the same ETag is not modified.
    let res = app
        .http
        .get(format!("{}/embed.js", app.address))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 304);
    assert_eq!(header(&res, "etag"), Some(etag.as_str()));
    assert!(res.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn only_the_hosted_form_may_be_framed() {
    let app = spawn_app().await;
    let owner = app.owner("framing").await;
    let res = app
        .post(
            "/api/partners/applications",
            Some(&owner.token),
            json!({
                "name": "Partner program", "slug": "framed-form", "status": "published",
                "fields": [{"fieldKey": "email", "label": "Work email", "type": "email", "required": true}]
            }),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);

    for path in ["/apply/framed-form", "/apply/framed-form?embed=1"] {
        let res = get(&app, path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, "x-frame-options"), None, "{path}");
        let csp = header(&res, "content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors *"), "{path}: {csp}");
        assert_eq!(csp.matches("frame-ancestors").count(), 1, "{csp}");
    }

    // Everything else: the JSON API (the public side of the form included), the other hosted
    // page, the API reference, operations and unknown routes.
    for path in [
        "/api/partners/applications/public/framed-form",
        "/api/auth/get-session",
        "/api/no-such-route",
        "/accept-invitation?token=pi_x",
        "/docs/",
        "/healthz",
        "/embed.js",
    ] {
        let res = get(&app, path).await;
        assert_eq!(header(&res, "x-frame-options"), Some("DENY"), "{path}");
        let csp = header(&res, "content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(csp.matches("frame-ancestors").count(), 1, "{path}: {csp}");
    }
    let res = app
        .http
        .post(format!("{}/api/partners/applications/submit", app.address))
        .header("origin", "https://customer.example")
        .json(
            &json!({"slug": "framed-form", "formData": {"email": "pat@example.com"},
                      "acceptedAgreements": []}),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-frame-options"), Some("DENY"));
}
