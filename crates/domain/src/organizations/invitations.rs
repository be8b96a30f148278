//! Delivering invitations: the outbox relay's handler of `invitation_created` and
//! `invitation_resent`. It mints the token as it mails it, by mail to the invited address and
//! nowhere else.
//!
//! Each run mints a fresh token, replacing the stored hash, so of several mails of one
//! invitation (a resend, or a run repeated after a crash or a failed send) only the newest
//! mail's link works. An invitation accepted, revoked or expired before its mail goes out gets
//! none.

use crate::organizations::mail::{MailLinks, Mailer, invitation_mail};
use crate::organizations::model::INVITATION_TOKEN_PREFIX;
use crate::organizations::ports::OrganizationStore;
use crate::outbox::{EventHandler, EventType, HandlerError, PendingEvent};
use crate::shared::clock::Clock;
use crate::shared::ids::InvitationId;
use crate::shared::secret::IssuedToken;
use async_trait::async_trait;
use std::sync::Arc;

pub struct InvitationDelivery {
    mailer: Arc<dyn Mailer>,
    organizations: Arc<dyn OrganizationStore>,
    links: MailLinks,
    clock: Arc<dyn Clock>,
}

impl InvitationDelivery {
    pub fn new(
        mailer: Arc<dyn Mailer>,
        organizations: Arc<dyn OrganizationStore>,
        links: MailLinks,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            mailer,
            organizations,
            links,
            clock,
        }
    }
}

#[async_trait]
impl EventHandler for InvitationDelivery {
    fn handles(&self, event: EventType) -> bool {
        matches!(
            event,
            EventType::InvitationCreated | EventType::InvitationResent
        )
    }

    /// # Errors
    /// `HandlerError` when the store or the mailer failed: the relay tries again later.
    async fn handle(&self, event: &PendingEvent) -> Result<(), HandlerError> {
        let Some(id) = event
            .payload
            .get("invitationId")
            .and_then(|v| v.as_str())
            .and_then(|s| uuid::Uuid::try_parse(s).ok())
        else {
            // Retrying cannot repair a payload.
            tracing::error!(event_id = %event.id, "an invitation event has no invitationId; nothing is mailed");
            return Ok(());
        };
        let token = IssuedToken::generate(INVITATION_TOKEN_PREFIX);
        let invitation = self
            .organizations
            .mint_invitation_token(InvitationId::from_uuid(id), token.hash, self.clock.now())
            .await
            .map_err(|e| HandlerError(format!("minting the invitation token failed: {e}")))?;
        let Some(invitation) = invitation else {
            tracing::info!(event_id = %event.id, invitation_id = %id, "the invitation was accepted, revoked or expired before its mail went out; nothing is mailed");
            return Ok(());
        };
        let organization = self
            .organizations
            .find_organization(invitation.organization_id)
            .await
            .map_err(|e| HandlerError(format!("reading the organization failed: {e}")))?;
        let Some(organization) = organization else {
            return Ok(());
        };
        let mail = invitation_mail(
            &invitation,
            &organization.name,
            token.token.expose(),
            &self.links,
        );
        self.mailer.send(mail).await.map_err(HandlerError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::role::Role;
    use crate::organizations::mail::{MailError, MockMailer, OutgoingMail};
    use crate::organizations::model::{Invitation, Organization};
    use crate::organizations::ports::MockOrganizationStore;
    use crate::shared::clock::ManualClock;
    use crate::shared::ids::{EventId, OrganizationId};
    use crate::shared::secret::TokenHash;
    use chrono::Utc;
    use std::sync::Mutex;

    fn invitation(id: InvitationId) -> Invitation {
        Invitation {
            id,
            organization_id: OrganizationId::generate(),
            email: "ann@example.com".into(),
            role: Role::Member,
            partner_id: None,
            user_id: None,
            expires_at: Utc::now(),
            created_at: Utc::now(),
        }
    }

    fn event(kind: EventType, id: InvitationId) -> PendingEvent {
        PendingEvent {
            id: EventId::generate(),
            organization_id: None,
            kind: kind.kind().into(),
            payload: serde_json::json!({"invitationId": id, "email": "ann@example.com"}),
            created_at: Utc::now(),
            attempt: 1,
        }
    }

    fn with_organization(store: &mut MockOrganizationStore) {
        store.expect_find_organization().returning(|id| {
            Ok(Some(Organization {
                id,
                name: "Acme".into(),
                slug: "acme".into(),
                created_at: Utc::now(),
            }))
        });
    }

    fn delivery(store: MockOrganizationStore, mailer: MockMailer) -> InvitationDelivery {
        InvitationDelivery::new(
            Arc::new(mailer),
            Arc::new(store),
            MailLinks::on("https://app.example"),
            Arc::new(ManualClock::new(Utc::now())),
        )
    }

    fn capture(mailer: &mut MockMailer) -> Arc<Mutex<Vec<OutgoingMail>>> {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let out = sent.clone();
        mailer.expect_send().returning(move |m| {
            out.lock().unwrap().push(m);
            Ok(())
        });
        sent
    }

    #[tokio::test]
    async fn each_run_mints_a_fresh_token_and_mails_exactly_that_one() {
        let id = InvitationId::generate();
        let minted = Arc::new(Mutex::new(Vec::<TokenHash>::new()));
        let seen = minted.clone();
        let mut store = MockOrganizationStore::new();
        store
            .expect_mint_invitation_token()
            .withf(move |i, _, _| *i == id)
            .times(2)
            .returning(move |i, hash, _| {
                seen.lock().unwrap().push(hash);
                Ok(Some(invitation(i)))
            });
        with_organization(&mut store);
        let mut mailer = MockMailer::new();
        let sent = capture(&mut mailer);
        let d = delivery(store, mailer);
        assert!(d.handles(EventType::InvitationCreated));
        assert!(d.handles(EventType::InvitationResent));
        assert!(!d.handles(EventType::PasswordResetRequested));
        d.handle(&event(EventType::InvitationCreated, id))
            .await
            .unwrap();
        d.handle(&event(EventType::InvitationResent, id))
            .await
            .unwrap();
        let sent = sent.lock().unwrap();
        let minted = minted.lock().unwrap();
        assert_eq!(sent.len(), 2);
        for (mail, hash) in sent.iter().zip(minted.iter()) {
            assert_eq!(mail.to, "ann@example.com");
            let token = mail.text.split("token=").nth(1).unwrap();
            let token = token.split_whitespace().next().unwrap();
            assert!(token.starts_with("pi_"));
            assert_eq!(TokenHash::of(token), *hash);
        }
        assert_ne!(minted[0], minted[1], "a new mail, a new token");
    }

    #[tokio::test]
    async fn an_invitation_no_longer_open_gets_no_mail() {
        let mut store = MockOrganizationStore::new();
        store
            .expect_mint_invitation_token()
            .returning(|_, _, _| Ok(None));
        store.expect_find_organization().never();
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        delivery(store, mailer)
            .handle(&event(
                EventType::InvitationCreated,
                InvitationId::generate(),
            ))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_failed_send_is_an_error_for_the_relay_to_retry() {
        let mut store = MockOrganizationStore::new();
        store
            .expect_mint_invitation_token()
            .returning(|i, _, _| Ok(Some(invitation(i))));
        with_organization(&mut store);
        let mut mailer = MockMailer::new();
        mailer
            .expect_send()
            .returning(|_| Err(MailError("connection refused".into())));
        let err = delivery(store, mailer)
            .handle(&event(
                EventType::InvitationCreated,
                InvitationId::generate(),
            ))
            .await
            .unwrap_err();
        assert!(err.0.contains("connection refused"), "{}", err.0);
    }

    #[tokio::test]
    async fn a_store_failure_is_retried_and_a_bad_payload_is_not() {
        let mut store = MockOrganizationStore::new();
        store
            .expect_mint_invitation_token()
            .returning(|_, _, _| Err(crate::StoreError::Unavailable("pool timeout".into())));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        let d = delivery(store, mailer);
        assert!(
            d.handle(&event(
                EventType::InvitationCreated,
                InvitationId::generate()
            ))
            .await
            .is_err()
        );
        let mut bad = event(EventType::InvitationCreated, InvitationId::generate());
        bad.payload = serde_json::json!({"email": "ann@example.com"});
        d.handle(&bad).await.unwrap();
    }
}
