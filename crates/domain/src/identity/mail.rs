//! The account's mail: the sign-up's verification link and the password reset link, sent by
//! the outbox relay, which mints each token as it mails it.

use crate::identity::tokens::{MintedToken, TokenPurpose, UserTokenStore};
use crate::organizations::mail::{
    MailLinks, Mailer, OutgoingMail, escape, html_link, html_page, with_token,
};
use crate::outbox::{EventHandler, EventType, HandlerError, PendingEvent};
use crate::shared::clock::Clock;
use crate::shared::ids::UserTokenId;
use crate::shared::secret::IssuedToken;
use crate::shared::time::format_timestamp;
use async_trait::async_trait;
use std::sync::Arc;

/// The link that verifies a new account's address.
pub fn verification_mail(minted: &MintedToken, token: &str, links: &MailLinks) -> OutgoingMail {
    let link = with_token(&links.verify_email, token);
    let lead = format!(
        "Hello {}, please confirm that {} is your email address.",
        minted.user.name, minted.user.email
    );
    let action = "Confirm your email address";
    let footer = format!(
        "The link works once and expires at {}; only the newest verification mail's link works. \
         If you did not create an account, ignore this message.",
        format_timestamp(&minted.expires_at)
    );
    OutgoingMail {
        to: minted.user.email.clone(),
        subject: "Confirm your email address".into(),
        text: format!("{lead}\n\n{action}: {link}\n\n{footer}\n"),
        html: html_page(&[escape(&lead), html_link(&link, action)], &footer),
    }
}

/// The link that sets a new password.
pub fn password_reset_mail(minted: &MintedToken, token: &str, links: &MailLinks) -> OutgoingMail {
    let link = with_token(&links.reset_password, token);
    let lead = format!(
        "Hello {}, a new password was asked for the account {}.",
        minted.user.name, minted.user.email
    );
    let action = "Choose a new password";
    let footer = format!(
        "The link works once and expires at {}; setting a password signs the account out \
         everywhere. If you did not ask for this, ignore this message: the password stays as \
         it is.",
        format_timestamp(&minted.expires_at)
    );
    OutgoingMail {
        to: minted.user.email.clone(),
        subject: "Reset your password".into(),
        text: format!("{lead}\n\n{action}: {link}\n\n{footer}\n"),
        html: html_page(&[escape(&lead), html_link(&link, action)], &footer),
    }
}

/// The relay's handler of `email_verification_requested` and `password_reset_requested`: mints
/// the token of the requested row and mails its link. A row used or expired meanwhile gets no
/// mail. Run again (a retry, a crash before publishing), it mints a new token and mails again:
/// the newest mail's link is the one that works.
pub struct AccountMail {
    tokens: Arc<dyn UserTokenStore>,
    mailer: Arc<dyn Mailer>,
    links: MailLinks,
    clock: Arc<dyn Clock>,
}

impl AccountMail {
    pub fn new(
        tokens: Arc<dyn UserTokenStore>,
        mailer: Arc<dyn Mailer>,
        links: MailLinks,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tokens,
            mailer,
            links,
            clock,
        }
    }
}

#[async_trait]
impl EventHandler for AccountMail {
    fn handles(&self, event: EventType) -> bool {
        matches!(
            event,
            EventType::EmailVerificationRequested | EventType::PasswordResetRequested
        )
    }

    async fn handle(&self, event: &PendingEvent) -> Result<(), HandlerError> {
        let Some(id) = event
            .payload
            .get("userTokenId")
            .and_then(|v| v.as_str())
            .and_then(|s| uuid::Uuid::try_parse(s).ok())
        else {
            // Retrying cannot repair a payload.
            tracing::error!(event_id = %event.id, kind = %event.kind, "an account mail event has no userTokenId; nothing is mailed");
            return Ok(());
        };
        let purpose = if event.kind == EventType::PasswordResetRequested.kind() {
            TokenPurpose::ResetPassword
        } else {
            TokenPurpose::VerifyEmail
        };
        let token = IssuedToken::generate(purpose.prefix());
        let minted = self
            .tokens
            .mint_token(UserTokenId::from_uuid(id), token.hash, self.clock.now())
            .await
            .map_err(|e| HandlerError(format!("minting the token failed: {e}")))?;
        let Some(minted) = minted else {
            tracing::info!(event_id = %event.id, kind = %event.kind, "the token was used or expired before its mail went out; nothing is mailed");
            return Ok(());
        };
        let mail = match minted.purpose {
            TokenPurpose::VerifyEmail => {
                verification_mail(&minted, token.token.expose(), &self.links)
            }
            TokenPurpose::ResetPassword => {
                password_reset_mail(&minted, token.token.expose(), &self.links)
            }
        };
        self.mailer.send(mail).await.map_err(HandlerError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::model::User;
    use crate::identity::tokens::MockUserTokenStore;
    use crate::organizations::mail::{MailError, MockMailer};
    use crate::shared::clock::ManualClock;
    use crate::shared::ids::{EventId, UserId};
    use crate::shared::secret::TokenHash;
    use chrono::{TimeZone, Utc};
    use std::sync::Mutex;

    fn minted(purpose: TokenPurpose) -> MintedToken {
        MintedToken {
            user: User {
                id: UserId::generate(),
                email: "ann@example.com".into(),
                name: "Ann <Admin>".into(),
                has_password: true,
                email_verified: false,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            },
            purpose,
            expires_at: Utc.with_ymd_and_hms(2026, 5, 18, 12, 0, 0).unwrap(),
        }
    }

    fn links() -> MailLinks {
        MailLinks {
            reset_password: "https://app.example/reset?lang=en".into(),
            ..MailLinks::on("https://app.example/")
        }
    }

    #[test]
    fn the_verification_mail_links_the_token_and_escapes_the_name() {
        let mail = verification_mail(&minted(TokenPurpose::VerifyEmail), "pv_abc", &links());
        assert_eq!(mail.to, "ann@example.com");
        assert_eq!(mail.subject, "Confirm your email address");
        assert!(
            mail.text
                .contains("https://app.example/verify-email?token=pv_abc")
        );
        assert!(mail.text.contains("Hello Ann <Admin>"));
        assert!(mail.text.contains("2026-05-18T12:00:00.000Z"));
        assert!(mail.html.contains("Hello Ann &lt;Admin&gt;"));
        assert!(
            mail.html
                .contains("<a href=\"https://app.example/verify-email?token=pv_abc\">")
        );
        assert!(!format!("{mail:?}").contains("pv_abc"));
    }

    #[test]
    fn the_reset_mail_links_the_token_and_says_what_a_reset_does() {
        let mail = password_reset_mail(&minted(TokenPurpose::ResetPassword), "pr_x", &links());
        assert_eq!(mail.subject, "Reset your password");
        assert!(
            mail.text
                .contains("https://app.example/reset?lang=en&token=pr_x")
        );
        assert!(mail.text.contains("signs the account out everywhere"));
        assert!(mail.html.contains("reset?lang=en&amp;token=pr_x"));
        assert!(!mail.html.contains("<Admin>"));
    }

    fn event(kind: EventType, payload: serde_json::Value) -> PendingEvent {
        PendingEvent {
            id: EventId::generate(),
            organization_id: None,
            kind: kind.kind().into(),
            payload,
            created_at: Utc::now(),
            attempt: 1,
        }
    }

    fn handler(tokens: MockUserTokenStore, mailer: MockMailer) -> AccountMail {
        AccountMail::new(
            Arc::new(tokens),
            Arc::new(mailer),
            links(),
            Arc::new(ManualClock::new(Utc::now())),
        )
    }

    #[tokio::test]
    async fn mails_the_token_it_minted_and_only_that() {
        let id = UserTokenId::generate();
        let stored = Arc::new(Mutex::new(None::<TokenHash>));
        let seen = stored.clone();
        let mut tokens = MockUserTokenStore::new();
        tokens
            .expect_mint_token()
            .withf(move |i, _, _| *i == id)
            .times(1)
            .returning(move |_, hash, _| {
                *seen.lock().unwrap() = Some(hash);
                Ok(Some(minted(TokenPurpose::ResetPassword)))
            });
        let sent = Arc::new(Mutex::new(Vec::new()));
        let out = sent.clone();
        let mut mailer = MockMailer::new();
        mailer.expect_send().times(1).returning(move |m| {
            out.lock().unwrap().push(m);
            Ok(())
        });
        let h = handler(tokens, mailer);
        assert!(h.handles(EventType::PasswordResetRequested));
        assert!(h.handles(EventType::EmailVerificationRequested));
        assert!(!h.handles(EventType::InvitationCreated));
        h.handle(&event(
            EventType::PasswordResetRequested,
            serde_json::json!({"userTokenId": id}),
        ))
        .await
        .unwrap();
        let mail = sent.lock().unwrap().pop().unwrap();
        let token = mail.text.split("token=").nth(1).unwrap();
        let token = token.split_whitespace().next().unwrap();
        assert!(token.starts_with("pr_"));
        assert_eq!(Some(TokenHash::of(token)), *stored.lock().unwrap());
    }

    #[tokio::test]
    async fn a_used_or_expired_token_gets_no_mail() {
        let mut tokens = MockUserTokenStore::new();
        tokens.expect_mint_token().returning(|_, _, _| Ok(None));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        handler(tokens, mailer)
            .handle(&event(
                EventType::EmailVerificationRequested,
                serde_json::json!({"userTokenId": UserTokenId::generate()}),
            ))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_payload_without_a_token_row_is_dropped_without_a_retry() {
        let mut tokens = MockUserTokenStore::new();
        tokens.expect_mint_token().never();
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        handler(tokens, mailer)
            .handle(&event(
                EventType::EmailVerificationRequested,
                serde_json::json!({"token": "x"}),
            ))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_mail_or_store_failure_is_retried() {
        let mut tokens = MockUserTokenStore::new();
        tokens
            .expect_mint_token()
            .times(1)
            .returning(|_, _, _| Ok(Some(minted(TokenPurpose::VerifyEmail))));
        let mut mailer = MockMailer::new();
        mailer
            .expect_send()
            .returning(|_| Err(MailError("smtp down".into())));
        let payload = serde_json::json!({"userTokenId": UserTokenId::generate()});
        let h = handler(tokens, mailer);
        assert!(
            h.handle(&event(
                EventType::EmailVerificationRequested,
                payload.clone()
            ))
            .await
            .is_err()
        );
        let mut tokens = MockUserTokenStore::new();
        tokens
            .expect_mint_token()
            .returning(|_, _, _| Err(crate::StoreError::Unavailable("connection refused".into())));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        assert!(
            handler(tokens, mailer)
                .handle(&event(EventType::EmailVerificationRequested, payload))
                .await
                .is_err()
        );
    }
}
