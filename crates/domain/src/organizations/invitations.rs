//! Delivering invitation tokens: by mail to the invited address, and nowhere else.

use crate::organizations::mail::{MailLinks, Mailer, invitation_mail};
use crate::organizations::model::Invitation;
use crate::organizations::ports::OrganizationStore;
use crate::shared::secret::Secret;
use std::sync::Arc;

pub struct InvitationDelivery {
    mailer: Arc<dyn Mailer>,
    organizations: Arc<dyn OrganizationStore>,
    links: MailLinks,
}

impl InvitationDelivery {
    pub fn new(
        mailer: Arc<dyn Mailer>,
        organizations: Arc<dyn OrganizationStore>,
        links: MailLinks,
    ) -> Self {
        Self {
            mailer,
            organizations,
            links,
        }
    }

    /// Mails a stored invitation's token. Called after the invitation is committed; a failure
    /// is logged and leaves the invitation in place, for an owner or admin to re-send (which
    /// issues a new token).
    pub async fn deliver(&self, invitation: &Invitation, token: &Secret) {
        let organization = match self
            .organizations
            .find_organization(invitation.organization_id)
            .await
        {
            Ok(Some(o)) => o.name,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(invitation_id = %invitation.id, error = %e, "reading the organization of an invitation failed; it was not mailed");
                return;
            }
        };
        let mail = invitation_mail(invitation, &organization, token.expose(), &self.links);
        if let Err(e) = self.mailer.send(mail).await {
            tracing::error!(
                invitation_id = %invitation.id,
                error = %e,
                cause = ?std::error::Error::source(&e),
                "mailing an invitation failed; re-send it"
            );
        }
    }
}
