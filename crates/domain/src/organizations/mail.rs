//! Outgoing mail: the port and the messages the product sends.
//!
//! A token sent by mail is the only copy outside the database's hash: the answer of the call
//! that created it and the outbox event carry the invitation's id, never the token.

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
}

impl MailLinks {
    fn accept(&self, token: &str) -> String {
        let sep = if self.accept_invitation.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}token={token}", self.accept_invitation)
    }
}

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
    let text = format!(
        "{lead}\n\n{action}: {link}\n\nThe link works once and expires at {expires}. \
         If you did not expect this message, ignore it: nothing happens without you.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>{}</p>\
         <p><a href=\"{}\">{}</a></p><p style=\"color:#666\">The link works once and expires \
         at {}. If you did not expect this message, ignore it: nothing happens without you.</p>\
         </body></html>",
        escape(&lead),
        escape(&link),
        escape(action),
        escape(&expires)
    );
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
        };
        let mail = invitation_mail(&invitation(Role::Partner, true), "Acme", "pi_x", &links);
        assert!(mail.subject.contains("partner portal"));
        assert!(mail.text.contains("Set your password"));
        assert!(mail.text.contains("accept?lang=en&token=pi_x"));
        let mail = invitation_mail(&invitation(Role::Partner, false), "Acme", "pi_x", &links);
        assert!(mail.text.contains("Sign in with your account"));
    }
}
