//! Application forms through the API: building and publishing them, review, and the tenant and
//! role rules. The form fixtures here serve `submissions` (public submission, attribution) too.

use super::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

fn form_definition(slug: &str) -> Value {
    json!({
        "name": "Partner program",
        "slug": slug,
        "status": "published",
        "fields": [
            {"fieldKey": "companyName", "label": "Company", "type": "text", "required": true},
            {"fieldKey": "email", "label": "Work email", "type": "email", "required": true},
            {"fieldKey": "firstName", "label": "First name", "type": "text", "required": true},
            {"fieldKey": "lastName", "label": "Last name", "type": "text", "required": true},
            {"fieldKey": "website", "label": "Website", "type": "url"},
            {"fieldKey": "size", "label": "Employees", "type": "number"},
            {"fieldKey": "focus", "label": "Focus", "type": "select", "options": ["SaaS", "Services"]},
            {"fieldKey": "country", "label": "Country", "type": "country"},
            {"fieldKey": "pitch", "label": "Pitch", "type": "textarea", "maxLength": 20}
        ],
        "agreements": [{"title": "Terms", "body": "You agree.", "required": true},
                       {"title": "Newsletter", "body": "Maybe.", "required": false}],
        "content": {"title": "Become a partner", "confirmationMessage": "Thanks, we will call you."}
    })
}

pub(crate) struct Form {
    pub(crate) slug: String,
    pub(crate) id: String,
    pub(crate) terms: String,
}

pub(crate) async fn publish(app: &TestApp, owner: &Owner, slug: &str) -> Form {
    let res = app
        .post(
            "/api/partners/applications",
            Some(&owner.token),
            form_definition(slug),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let a = &res.body["application"];
    Form {
        slug: slug.to_owned(),
        id: a["id"].as_str().unwrap().to_owned(),
        terms: a["agreements"][0]["id"].as_str().unwrap().to_owned(),
    }
}

pub(crate) fn answers(email: &str) -> Value {
    json!({"companyName": "Initech", "email": email, "firstName": "Peter", "lastName": "Gibbons",
           "website": "https://initech.example", "size": "120", "focus": "SaaS", "country": "de"})
}

pub(crate) fn submission(form: &Form, email: &str) -> Value {
    json!({"slug": form.slug, "formData": answers(email), "acceptedAgreements": [form.terms]})
}

pub(crate) async fn submit_from(app: &TestApp, body: Value, ip: &str) -> Res {
    app.post_from("/api/partners/applications/submit", ip, body)
        .await
}

#[tokio::test]
async fn building_publishing_and_reading_a_form() {
    let app = spawn_app().await;
    let owner = app.owner("f").await;
    let res = app
        .post(
            "/api/partners/applications",
            Some(&owner.token),
            json!({"name": "Draft", "slug": "draft-form", "fields": [{"fieldKey": "1bad", "label": "x", "type": "text"}]}),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.body["details"][0]["field"], "fields[0].fieldKey");

    let res = app
        .post(
            "/api/partners/applications",
            Some(&owner.token),
            json!({"name": "Draft", "slug": "draft-form"}),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.body["application"]["status"], "draft");
    let draft_id = res.body["application"]["id"].as_str().unwrap().to_owned();
    let res = app
        .call(
            Method::GET,
            "/api/partners/applications/public/draft-form",
            None,
            None,
        )
        .await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (404, "not_found"),
        "drafts are not public"
    );

    let form = publish(&app, &owner, "partners-2027").await;
    let res = app
        .call(
            Method::GET,
            "/api/partners/applications/public/partners-2027",
            None,
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    let public = &res.body["application"];
    assert_eq!(public["fields"].as_array().unwrap().len(), 9);
    assert!(
        public.get("organizationId").is_none() && public.get("partnerMapping").is_none(),
        "{public}"
    );

    // Slugs are global.
    let other = app.owner("g").await;
    let res = app
        .post(
            "/api/partners/applications",
            Some(&other.token),
            form_definition("partners-2027"),
        )
        .await;
    assert_eq!((res.status.as_u16(), res.code()), (409, "conflict"));

    // Agreement ids survive an edit that sends them back.
    let current = app
        .get(
            &format!("/api/partners/applications/{}", form.id),
            &owner.token,
        )
        .await;
    let agreements = current.body["application"]["agreements"].clone();
    let res = app
        .patch(
            &format!("/api/partners/applications/{}", form.id),
            &owner.token,
            json!({"agreements": agreements, "content": {"title": "New title"}}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(
        res.body["application"]["agreements"][0]["id"],
        form.terms.as_str()
    );
    assert_eq!(res.body["application"]["content"]["title"], "New title");

    // Closing hides it again; deleting removes it.
    app.patch(
        &format!("/api/partners/applications/{}", form.id),
        &owner.token,
        json!({"status": "closed"}),
    )
    .await;
    let res = app
        .call(
            Method::GET,
            "/api/partners/applications/public/partners-2027",
            None,
            None,
        )
        .await;
    assert_eq!(res.status, 404);
    let list = app.get("/api/partners/applications", &owner.token).await;
    assert_eq!(
        list.body["applications"].as_array().map(Vec::len),
        Some(2),
        "{:?}",
        list.body
    );
    assert_eq!(
        app.delete(
            &format!("/api/partners/applications/{draft_id}"),
            &owner.token
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.get(
            &format!("/api/partners/applications/{draft_id}"),
            &owner.token
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn approving_creates_the_partner_and_contact_rejecting_frees_the_email() {
    let app = spawn_app_with(Options {
        forwarded_hops: 1,
        ..Options::default()
    })
    .await;
    let owner = app.owner("v").await;
    let form = publish(&app, &owner, "review-form").await;
    assert_eq!(
        submit_from(&app, submission(&form, "peter@initech.example"), "10.2.0.1")
            .await
            .status,
        200
    );
    let list = app
        .get(
            &format!("/api/partners/applications/{}/submissions", form.id),
            &owner.token,
        )
        .await;
    let sub = list.body["submissions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(list.body["submissions"][0]["status"], "pending");

    let viewer = app.member(&owner, "viewer", "v").await;
    let res = app
        .call(
            Method::POST,
            &format!("/api/partners/applications/submissions/{sub}/approve"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(res.status, 403);

    let res = app
        .call(
            Method::POST,
            &format!("/api/partners/applications/submissions/{sub}/approve"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["submission"]["status"], "approved");
    let p = &res.body["partner"];
    assert_eq!(p["name"], "Initech");
    assert_eq!(p["domain"], "initech.example");
    assert_eq!(p["primaryContact"]["email"], "peter@initech.example");
    assert_eq!(p["primaryContact"]["lastName"], "Gibbons");
    let again = app
        .call(
            Method::POST,
            &format!("/api/partners/applications/submissions/{sub}/approve"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!((again.status.as_u16(), again.code()), (409, "conflict"));
    assert_eq!(app.count("partners").await, 1);

    // Approved: the email stays taken. A rejected one frees it.
    assert_eq!(
        submit_from(&app, submission(&form, "peter@initech.example"), "10.2.0.2")
            .await
            .status,
        409
    );
    assert_eq!(
        submit_from(&app, submission(&form, "bill@initech.example"), "10.2.0.3")
            .await
            .status,
        200
    );
    let list = app
        .get(
            &format!("/api/partners/applications/{}/submissions?limit=1", form.id),
            &owner.token,
        )
        .await;
    assert!(list.body["nextCursor"].is_string());
    let bill = list.body["submissions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            &format!("/api/partners/applications/submissions/{bill}/reject"),
            Some(&owner.token),
            json!({"reason": "Not a fit"}),
        )
        .await;
    assert_eq!(res.body["submission"]["rejectReason"], "Not a fit");
    assert_eq!(
        submit_from(&app, submission(&form, "bill@initech.example"), "10.2.0.4")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn internal_application_endpoints_follow_tenant_and_role_rules() {
    let app = spawn_app().await;
    let a = app.owner("ta").await;
    let b = app.owner("tb").await;
    let form = publish(&app, &a, "tenant-form").await;
    let b_member = app.member(&b, "member", "bm").await;
    for (m, path) in [
        (
            Method::GET,
            format!("/api/partners/applications/{}", form.id),
        ),
        (
            Method::PATCH,
            format!("/api/partners/applications/{}", form.id),
        ),
        (
            Method::DELETE,
            format!("/api/partners/applications/{}", form.id),
        ),
        (
            Method::GET,
            format!("/api/partners/applications/{}/affiliate-links", form.id),
        ),
        (
            Method::POST,
            format!("/api/partners/applications/{}/affiliate-links", form.id),
        ),
        (
            Method::GET,
            format!("/api/partners/applications/{}/submissions", form.id),
        ),
    ] {
        let body = (m != Method::GET && m != Method::DELETE).then(|| json!({"slug": "abc-def"}));
        let res = app.call(m.clone(), &path, Some(&b_member), body).await;
        assert_eq!(
            (res.status.as_u16(), res.code()),
            (404, "not_found"),
            "{m} {path}"
        );
    }
    assert!(
        app.get("/api/partners/applications", &b_member).await.body["applications"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A's submissions cannot be reviewed from B.
    let res = app
        .post(
            "/api/partners/applications/submit",
            None,
            json!({"slug": "tenant-form", "formData": answers("t@tenant.example"), "acceptedAgreements": [form.terms]}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let subs = app
        .get(
            &format!("/api/partners/applications/{}/submissions", form.id),
            &a.token,
        )
        .await;
    let sub = subs.body["submissions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for action in ["approve", "reject"] {
        let res = app
            .post(
                &format!("/api/partners/applications/submissions/{sub}/{action}"),
                Some(&b_member),
                json!({}),
            )
            .await;
        assert_eq!(
            (res.status.as_u16(), res.code()),
            (404, "not_found"),
            "{action}"
        );
    }
    let res = app
        .post(
            "/api/partners/applications/submissions/not-a-uuid/approve",
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (res.status.as_u16(), res.code()),
        (400, "validation_failed")
    );
    assert_eq!(app.count("partners").await, 0, "nothing approved");

    let viewer = app.member(&a, "viewer", "av").await;
    let (portal, _) = app.partner_user(&a, "ap").await;
    for token in [&viewer, &portal] {
        let res = app
            .post(
                "/api/partners/applications",
                Some(token),
                form_definition("nope-form"),
            )
            .await;
        assert_eq!(res.status, 403);
        let res = app
            .patch(
                &format!("/api/partners/applications/{}", form.id),
                token,
                json!({"name": "x"}),
            )
            .await;
        assert_eq!(res.status, 403);
        let res = app
            .delete(&format!("/api/partners/applications/{}", form.id), token)
            .await;
        assert_eq!(res.status, 403);
    }
    assert_eq!(
        app.get("/api/partners/applications", &viewer).await.status,
        200
    );
    assert_eq!(
        app.get("/api/partners/applications", &portal).await.status,
        403
    );
    assert_eq!(
        app.get(&format!("/api/partners/applications/{}", form.id), &a.token)
            .await
            .body["application"]["name"],
        "Partner program"
    );
}
