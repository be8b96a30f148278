//! Outgoing mail: the port and the messages the product sends.
//!
//! Every message is sent by the outbox relay's handlers, after the change that asks for it is
//! committed. A token sent by mail is minted by the handler that sends it and is the only copy
//! outside the database's hash: the answer of the call that asked for the mail and the outbox
//! event carry an id, never a token.

use crate::identity::role::Role;
use crate::organizations::model::Invitation;
use crate::shared::time::format_timestamp;
use async_trait::async_trait;

/// One message, with a plain-text and an HTML body.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

// The bodies carry single-use tokens: a log line of a message must not.
impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the mail could not be sent")]
pub struct MailError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// A mail the relay's handler could not send: retried later, with the cause in the event's
/// `last_error`.
impl From<MailError> for crate::outbox::HandlerError {
    fn from(e: MailError) -> Self {
        Self(format!("{e}: {}", e.0))
    }
}

/// Sends mail (SMTP, or files in development).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// # Errors
    /// `MailError` when the message could not be handed over; it was not sent.
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError>;
}

/// Where the links in messages point.
#[derive(Debug, Clone)]
pub struct MailLinks {
    /// The page that accepts an invitation; the token is appended as `?token=`.
    pub accept_invitation: String,
    /// The page that verifies a new account's email address; the token is appended as `?token=`.
    pub verify_email: String,
    /// The page that sets a new password; the token is appended as `?token=`.
    pub reset_password: String,
    /// The product's web app, whose pages notices link to (a submission's is
    /// `{app}/applications/{applicationId}/submissions/{submissionId}`); without it, notices
    /// are plain text.
    pub app: Option<String>,
}

impl MailLinks {
    /// Every link on one base: `{base}/accept-invitation`, `{base}/verify-email` and
    /// `{base}/reset-password`; no app link.
    pub fn on(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            accept_invitation: format!("{base}/accept-invitation"),
            verify_email: format!("{base}/verify-email"),
            reset_password: format!("{base}/reset-password"),
            app: None,
        }
    }

    fn accept(&self, token: &str) -> String {
        with_token(&self.accept_invitation, token)
    }
}

/// `page` with `token=` appended to its query.
pub(crate) fn with_token(page: &str, token: &str) -> String {
    let sep = if page.contains('?') { '&' } else { '?' };
    format!("{page}{sep}token={token}")
}

/// Text made safe to put in HTML, in element content or a quoted attribute.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML body of a message: paragraphs (already escaped) and a footer (escaped here).
pub(crate) fn html_page(paragraphs: &[String], footer: &str) -> String {
    let mut body = String::from("<!doctype html><html><body style=\"font-family:sans-serif\">");
    for p in paragraphs {
        body.push_str("<p>");
        body.push_str(p);
        body.push_str("</p>");
    }
    body.push_str("<p style=\"color:#666\">");
    body.push_str(&escape(footer));
    body.push_str("</p></body></html>");
    body
}

/// A link as an HTML paragraph's content.
pub(crate) fn html_link(href: &str, label: &str) -> String {
    format!("<a href=\"{}\">{}</a>", escape(href), escape(label))
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Owner | Role::Admin => "an",
        _ => "a",
    }
}

/// The invitation to join an organization (members) or to use its partner portal (a partner's
/// primary contact). A `user_id`-bound invitation is the contact's set-password link.
pub fn invitation_mail(
    invitation: &Invitation,
    organization_name: &str,
    token: &str,
    links: &MailLinks,
) -> OutgoingMail {
    let link = links.accept(token);
    let expires = format_timestamp(&invitation.expires_at);
    let (subject, lead, action) = if invitation.role == Role::Partner {
        (
            format!("{organization_name} invites you to its partner portal"),
            format!(
                "{organization_name} added you as the primary contact of your company on its partner portal."
            ),
            if invitation.user_id.is_some() {
                "Set your password to sign in"
            } else {
                "Sign in with your account, then accept"
            },
        )
    } else {
        (
            format!("You are invited to join {organization_name}"),
            format!(
                "You are invited to join {organization_name} as {} {}.",
                article(invitation.role),
                invitation.role.as_str()
            ),
            "Accept the invitation",
        )
    };
    let footer = format!(
        "The link works once and expires at {expires}; if several invitation mails reach you, \
         only the newest one's link works. If you did not expect this message, ignore it: \
         nothing happens without you."
    );
    let text = format!("{lead}\n\n{action}: {link}\n\n{footer}\n");
    let html = html_page(&[escape(&lead), html_link(&link, action)], &footer);
    OutgoingMail {
        to: invitation.email.clone(),
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::ids::{InvitationId, OrganizationId, UserId};
    use chrono::Utc;

    fn invitation(role: Role, bound: bool) -> Invitation {
        Invitation {
            id: InvitationId::generate(),
            organization_id: OrganizationId::generate(),
            email: "ann@example.com".into(),
            role,
            partner_id: None,
            user_id: bound.then(UserId::generate),
            expires_at: Utc::now(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn the_link_carries_the_token_and_names_are_escaped_in_html() {
        let links = MailLinks {
            accept_invitation: "https://app.example/accept".into(),
            ..MailLinks::on("https://app.example")
        };
        let mail = invitation_mail(
            &invitation(Role::Admin, false),
            "<Acme & Co>",
            "pi_abc",
            &links,
        );
        assert_eq!(mail.to, "ann@example.com");
        assert_eq!(mail.subject, "You are invited to join <Acme & Co>");
        assert!(mail.text.contains("as an admin"));
        assert!(
            mail.text
                .contains("https://app.example/accept?token=pi_abc")
        );
        assert!(mail.html.contains("&lt;Acme &amp; Co&gt;"));
        assert!(
            mail.html
                .contains("<a href=\"https://app.example/accept?token=pi_abc\">")
        );
        assert!(mail.text.contains("only the newest one's link works"));
        assert!(!mail.html.contains("<Acme"));
        assert!(
            !format!("{mail:?}").contains("pi_abc"),
            "Debug hides the body"
        );
    }

    #[test]
    fn a_contact_without_a_password_is_asked_to_set_one() {
        let links = MailLinks {
            accept_invitation: "https://app.example/accept?lang=en".into(),
            ..MailLinks::on("https://app.example")
        };
        let mail = invitation_mail(&invitation(Role::Partner, true), "Acme", "pi_x", &links);
        assert!(mail.subject.contains("partner portal"));
        assert!(mail.text.contains("Set your password"));
        assert!(mail.text.contains("accept?lang=en&token=pi_x"));
        let mail = invitation_mail(&invitation(Role::Partner, false), "Acme", "pi_x", &links);
        assert!(mail.text.contains("Sign in with your account"));
    }
}
