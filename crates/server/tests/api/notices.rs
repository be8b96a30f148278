//! Mail sent by the outbox relay for product events: invitations (their token minted when
//! mailed) and the new-submission notice to owners and admins.

use super::applications::*;
use super::helpers::*;
use serde_json::json;

fn notices(mail: &[partneros_domain::organizations::mail::OutgoingMail]) -> usize {
    mail.iter()
        .filter(|m| m.subject.starts_with("New submission to "))
        .count()
}

#[tokio::test]
async fn a_new_submission_is_noticed_by_owners_and_admins_only_unless_switched_off() {
    let app = spawn_app().await;
    let owner = app.owner("notice").await;
    app.member(&owner, "admin", "notice").await;
    app.member(&owner, "member", "notice").await;
    app.member(&owner, "viewer", "notice").await;
    app.owner("elsewhere").await;
    let form = publish(&app, &owner, "notice-form").await;
    let read = app
        .get(
            &format!("/api/partners/applications/{}", form.id),
            &owner.token,
        )
        .await;
    assert_eq!(read.body["application"]["notifySubmissions"], true);

    let res = app
        .post(
            "/api/partners/applications/submit",
            None,
            submission(&form, "lead@initech.example"),
        )
        .await;
    assert!(res.status.is_success(), "{:?}", res.body);
    let to_owner = app.mail_to("owner-notice@example.com").await;
    assert_eq!(notices(&to_owner), 1);
    let notice = to_owner
        .iter()
        .find(|m| m.subject.starts_with("New submission"))
        .unwrap();
    assert_eq!(notice.subject, "New submission to Partner program");
    // No web app configured: plain text, no link.
    assert!(!notice.text.contains("http"), "{}", notice.text);
    assert!(notice.html.contains("Partner program"));
    assert_eq!(notices(&app.mail_to("admin-notice@example.com").await), 1);
    assert_eq!(notices(&app.mail_to("member-notice@example.com").await), 0);
    assert_eq!(notices(&app.mail_to("viewer-notice@example.com").await), 0);
    assert_eq!(
        notices(&app.mail_to("owner-elsewhere@example.com").await),
        0
    );

    // Switched off: the next submission is stored, nobody is mailed.
    let res = app
        .patch(
            &format!("/api/partners/applications/{}", form.id),
            &owner.token,
            json!({"notifySubmissions": false}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["application"]["notifySubmissions"], false);
    let res = app
        .post(
            "/api/partners/applications/submit",
            None,
            submission(&form, "second@initech.example"),
        )
        .await;
    assert!(res.status.is_success(), "{:?}", res.body);
    assert_eq!(notices(&app.mail_to("owner-notice@example.com").await), 1);
    assert_eq!(notices(&app.mail_to("admin-notice@example.com").await), 1);
}

#[tokio::test]
async fn with_a_web_app_the_notice_links_to_the_submission() {
    let app = spawn_app_with(Options {
        config: Box::new(|c| c.mail.app_url = Some("https://app.example.com".into())),
        ..Default::default()
    })
    .await;
    let owner = app.owner("linked").await;
    let res = app
        .post(
            "/api/partners/applications",
            Some(&owner.token),
            json!({"name": "Quiet form", "slug": "quiet-form", "notifySubmissions": false}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    assert_eq!(res.body["application"]["notifySubmissions"], false);
    let form = publish(&app, &owner, "linked-form").await;
    app.post(
        "/api/partners/applications/submit",
        None,
        submission(&form, "lead@initech.example"),
    )
    .await;
    let mail = app.mail_to("owner-linked@example.com").await;
    let notice = mail
        .iter()
        .find(|m| m.subject.starts_with("New submission"))
        .expect("a notice");
    let submission_id: String = app
        .db
        .client()
        .await
        .query_one("SELECT id::text FROM submissions", &[])
        .await
        .unwrap()
        .get(0);
    let link = format!(
        "https://app.example.com/applications/{}/submissions/{submission_id}",
        form.id
    );
    assert!(notice.text.contains(&link), "{}", notice.text);
    assert!(notice.html.contains(&format!("<a href=\"{link}\">")));
}

#[tokio::test]
async fn an_invitation_is_mailed_by_the_relay_with_a_token_only_the_mail_carries() {
    let app = spawn_app().await;
    let owner = app.owner("relay").await;
    let res = app
        .post(
            "/api/organizations/members",
            Some(&owner.token),
            json!({"email": "guest@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let answer = res.body.to_string();
    let token = app.invitation_token("guest@example.com").await;
    assert!(!answer.contains(&token[3..]), "the answer carries no token");
    let listed = app
        .get("/api/organizations/invitations", &owner.token)
        .await
        .body
        .to_string();
    assert!(!listed.contains(&token[3..]));
    let mail = app.mail_to("guest@example.com").await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].html.contains("/accept-invitation?token="));
    assert_eq!(
        app.count("events WHERE kind = 'invitation_created' AND published_at IS NOT NULL")
            .await,
        1
    );
    let res = app
        .post(
            "/api/auth/invitations/accept",
            None,
            json!({"token": token, "name": "Guest", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}
