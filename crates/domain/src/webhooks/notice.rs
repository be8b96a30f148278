//! The mail to an organization's owners when one of its webhook endpoints is disabled.

use crate::identity::role::Role;
use crate::organizations::mail::{Mailer, OutgoingMail, escape};
use crate::organizations::ports::OrganizationStore;
use crate::outbox::{EventHandler, EventType, HandlerError, PendingEvent};
use async_trait::async_trait;
use std::sync::Arc;

pub fn disabled_mail(to: &str, organization: &str, url: &str, reason: &str) -> OutgoingMail {
    let lead = format!("A webhook endpoint of {organization} was disabled: {url}");
    let text = format!(
        "{lead}\n\nWhy: {reason}.\n\nNo more events are sent to it. Fix the receiver, then \
         enable the endpoint again (PATCH /api/webhooks/endpoints/{{id}} with \"enabled\": \
         true); deliveries still pending are sent then, and failed ones can be redelivered \
         from its delivery log.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>{}</p><p>Why: {}.</p>\
         <p>No more events are sent to it. Fix the receiver, then enable the endpoint again; \
         deliveries still pending are sent then, and failed ones can be redelivered from its \
         delivery log.</p></body></html>",
        escape(&lead),
        escape(reason)
    );
    OutgoingMail {
        to: to.to_owned(),
        subject: format!("Webhook endpoint disabled: {url}"),
        text,
        html,
    }
}

/// Mails every owner of the organization (a mail may be repeated if the relay retries).
pub struct EndpointDisabledNotice {
    organizations: Arc<dyn OrganizationStore>,
    mailer: Arc<dyn Mailer>,
}

impl EndpointDisabledNotice {
    pub fn new(organizations: Arc<dyn OrganizationStore>, mailer: Arc<dyn Mailer>) -> Self {
        Self {
            organizations,
            mailer,
        }
    }
}

#[async_trait]
impl EventHandler for EndpointDisabledNotice {
    fn handles(&self, event: EventType) -> bool {
        event == EventType::WebhookEndpointDisabled
    }

    async fn handle(&self, event: &PendingEvent) -> Result<(), HandlerError> {
        let Some(org) = event.organization_id else {
            return Ok(());
        };
        let text = |k: &str| {
            event
                .payload
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let fail = |e: &dyn std::fmt::Display| HandlerError(e.to_string());
        let Some(organization) = self
            .organizations
            .find_organization(org)
            .await
            .map_err(|e| fail(&e))?
        else {
            return Ok(());
        };
        let owners = self
            .organizations
            .list_members(org)
            .await
            .map_err(|e| fail(&e))?;
        for owner in owners.iter().filter(|m| m.role == Role::Owner) {
            let mail = disabled_mail(
                &owner.email,
                &organization.name,
                &text("url"),
                &text("reason"),
            );
            self.mailer.send(mail).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_names_the_endpoint_and_why_and_escapes_html() {
        let m = disabled_mail(
            "o@example.com",
            "<Acme>",
            "https://h.example/x",
            "it failed",
        );
        assert_eq!(m.to, "o@example.com");
        assert!(m.subject.contains("https://h.example/x"));
        assert!(m.text.contains("Why: it failed."));
        assert!(m.html.contains("&lt;Acme&gt;"));
    }
}
