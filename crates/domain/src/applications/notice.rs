//! The new-submission notice: the outbox relay's handler of `application_submitted` mails each
//! owner and admin of the form's organization, unless the form's `notify_on_submission` is off.

use crate::applications::ports::ApplicationStore;
use crate::organizations::mail::{MailLinks, Mailer, OutgoingMail, escape, html_link, html_page};
use crate::outbox::{EventHandler, EventType, HandlerError, PendingEvent};
use crate::shared::time::format_timestamp;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// One person to notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub email: String,
    pub name: String,
}

/// What a notice of one submission says, and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionNotice {
    pub submission_id: uuid::Uuid,
    pub application_id: uuid::Uuid,
    pub application_name: String,
    pub organization_name: String,
    /// The form's `notify_on_submission` as it is now.
    pub notify: bool,
    pub submitted_at: DateTime<Utc>,
    /// The organization's owners and admins.
    pub recipients: Vec<Recipient>,
}

/// The notice to one owner or admin: names the form, links to the submission in the web app
/// when there is one, says how to switch notices off.
pub fn submission_notice_mail(
    notice: &SubmissionNotice,
    to: &Recipient,
    links: &MailLinks,
) -> OutgoingMail {
    let lead = format!(
        "{} received a new submission on {}.",
        notice.application_name,
        format_timestamp(&notice.submitted_at)
    );
    let link = links.app.as_deref().map(|app| {
        format!(
            "{}/applications/{}/submissions/{}",
            app.trim_end_matches('/'),
            notice.application_id,
            notice.submission_id
        )
    });
    let footer = format!(
        "You receive this as an owner or admin of {}. Switch these notices off with the \
         application's notifySubmissions setting.",
        notice.organization_name
    );
    let (text, action) = match &link {
        Some(link) => (
            format!("{lead}\n\nReview it: {link}\n\n{footer}\n"),
            html_link(link, "Review the submission"),
        ),
        None => {
            let where_ = format!(
                "Review it among the submissions of {} (submission {}).",
                notice.application_name, notice.submission_id
            );
            let html = escape(&where_);
            (format!("{lead}\n\n{where_}\n\n{footer}\n"), html)
        }
    };
    OutgoingMail {
        to: to.email.clone(),
        subject: format!("New submission to {}", notice.application_name),
        text,
        html: html_page(&[escape(&lead), action], &footer),
    }
}

pub struct SubmissionNotifier {
    applications: Arc<dyn ApplicationStore>,
    mailer: Arc<dyn Mailer>,
    links: MailLinks,
}

impl SubmissionNotifier {
    pub fn new(
        applications: Arc<dyn ApplicationStore>,
        mailer: Arc<dyn Mailer>,
        links: MailLinks,
    ) -> Self {
        Self {
            applications,
            mailer,
            links,
        }
    }
}

#[async_trait]
impl EventHandler for SubmissionNotifier {
    fn handles(&self, event: EventType) -> bool {
        event == EventType::ApplicationSubmitted
    }

    /// One message per recipient. A failed send fails the whole event, so a retry mails every
    /// recipient again (a notice may arrive twice, never zero times).
    async fn handle(&self, event: &PendingEvent) -> Result<(), HandlerError> {
        let submission = event
            .payload
            .get("submissionId")
            .and_then(|v| v.as_str())
            .and_then(|s| uuid::Uuid::try_parse(s).ok());
        let (Some(organization), Some(submission)) = (event.organization_id, submission) else {
            tracing::error!(event_id = %event.id, "an application_submitted event names no organization or submission; no notice is mailed");
            return Ok(());
        };
        let notice = self
            .applications
            .submission_notice(organization, submission)
            .await
            .map_err(|e| HandlerError(format!("reading the submission failed: {e}")))?;
        // Deleted meanwhile, or notices are off.
        let Some(notice) = notice.filter(|n| n.notify) else {
            return Ok(());
        };
        for to in &notice.recipients {
            let mail = submission_notice_mail(&notice, to, &self.links);
            self.mailer.send(mail).await.map_err(HandlerError::from)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applications::ports::MockApplicationStore;
    use crate::organizations::mail::{MailError, MockMailer};
    use crate::shared::ids::{EventId, OrganizationId};
    use chrono::TimeZone;
    use std::sync::Mutex;

    fn notice(notify: bool) -> SubmissionNotice {
        SubmissionNotice {
            submission_id: uuid::Uuid::nil(),
            application_id: uuid::Uuid::max(),
            application_name: "Partner <Program>".into(),
            organization_name: "Acme & Co".into(),
            notify,
            submitted_at: Utc.with_ymd_and_hms(2026, 5, 16, 12, 0, 0).unwrap(),
            recipients: vec![
                Recipient {
                    email: "owner@acme.example".into(),
                    name: "Owner".into(),
                },
                Recipient {
                    email: "admin@acme.example".into(),
                    name: "Admin".into(),
                },
            ],
        }
    }

    fn links(app: Option<&str>) -> MailLinks {
        MailLinks {
            app: app.map(str::to_owned),
            ..MailLinks::on("https://api.example")
        }
    }

    #[test]
    fn the_notice_names_the_application_and_links_the_submission_in_the_app() {
        let n = notice(true);
        let mail =
            submission_notice_mail(&n, &n.recipients[1], &links(Some("https://app.example/")));
        assert_eq!(mail.to, "admin@acme.example");
        assert_eq!(mail.subject, "New submission to Partner <Program>");
        let link = format!(
            "https://app.example/applications/{}/submissions/{}",
            uuid::Uuid::max(),
            uuid::Uuid::nil()
        );
        assert!(mail.text.contains(&link), "{}", mail.text);
        assert!(mail.text.contains("2026-05-16T12:00:00.000Z"));
        assert!(mail.html.contains(&format!("<a href=\"{link}\">")));
        assert!(mail.html.contains("Partner &lt;Program&gt;"));
        assert!(mail.html.contains("Acme &amp; Co"));
        assert!(!mail.html.contains("<Program>"));
    }

    #[test]
    fn without_an_app_the_notice_is_plain_text() {
        let n = notice(true);
        let mail = submission_notice_mail(&n, &n.recipients[0], &links(None));
        assert!(!mail.text.contains("http"), "{}", mail.text);
        assert!(!mail.html.contains("<a "));
        assert!(
            mail.text
                .contains("among the submissions of Partner <Program>")
        );
    }

    fn event(payload: serde_json::Value) -> PendingEvent {
        PendingEvent {
            id: EventId::generate(),
            organization_id: Some(OrganizationId::generate()),
            kind: "application_submitted".into(),
            payload,
            created_at: Utc::now(),
            attempt: 1,
        }
    }

    fn submitted() -> PendingEvent {
        event(
            serde_json::json!({"submissionId": uuid::Uuid::now_v7(), "applicationId": uuid::Uuid::now_v7()}),
        )
    }

    #[tokio::test]
    async fn mails_each_owner_and_admin_once() {
        let mut store = MockApplicationStore::new();
        store
            .expect_submission_notice()
            .times(1)
            .returning(|_, _| Ok(Some(notice(true))));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let out = sent.clone();
        let mut mailer = MockMailer::new();
        mailer.expect_send().returning(move |m| {
            out.lock().unwrap().push(m.to);
            Ok(())
        });
        let n = SubmissionNotifier::new(Arc::new(store), Arc::new(mailer), links(None));
        assert!(n.handles(EventType::ApplicationSubmitted));
        assert!(!n.handles(EventType::ApplicationApproved));
        n.handle(&submitted()).await.unwrap();
        assert_eq!(
            *sent.lock().unwrap(),
            ["owner@acme.example", "admin@acme.example"]
        );
    }

    #[tokio::test]
    async fn nothing_is_mailed_when_notices_are_off_or_the_submission_is_gone() {
        for found in [Some(notice(false)), None] {
            let mut store = MockApplicationStore::new();
            store
                .expect_submission_notice()
                .returning(move |_, _| Ok(found.clone()));
            let mut mailer = MockMailer::new();
            mailer.expect_send().never();
            SubmissionNotifier::new(Arc::new(store), Arc::new(mailer), links(None))
                .handle(&submitted())
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn a_failed_send_is_retried_and_a_bad_payload_is_not() {
        let mut store = MockApplicationStore::new();
        store
            .expect_submission_notice()
            .times(1)
            .returning(|_, _| Ok(Some(notice(true))));
        let mut mailer = MockMailer::new();
        mailer
            .expect_send()
            .returning(|_| Err(MailError("smtp down".into())));
        let n = SubmissionNotifier::new(Arc::new(store), Arc::new(mailer), links(None));
        assert!(n.handle(&submitted()).await.is_err());
        n.handle(&event(serde_json::json!({}))).await.unwrap();
    }
}
