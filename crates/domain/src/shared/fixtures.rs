//! Test fixtures shared by the use-case tests.

use crate::identity::{ActiveMembership, Principal};
use crate::ids::{OrganizationId, SessionId, UserId};
use crate::values::Role;

/// A signed-in user with `role` in a fresh organization.
pub(crate) fn principal(role: Role) -> Principal {
    Principal::User {
        user_id: UserId::generate(),
        session_id: SessionId::generate(),
        membership: Some(ActiveMembership {
            organization_id: OrganizationId::generate(),
            role,
            partner_id: None,
        }),
    }
}

/// Delivers invitations to a mailer that accepts everything.
pub(crate) fn delivery() -> std::sync::Arc<crate::services::invitations::InvitationDelivery> {
    let mut mailer = crate::mail::MockMailer::new();
    mailer.expect_send().returning(|_| Ok(()));
    let mut organizations = crate::ports::MockOrganizationStore::new();
    organizations.expect_find_organization().returning(|id| {
        Ok(Some(crate::organization::Organization {
            id,
            name: "Acme".into(),
            slug: "acme".into(),
            created_at: chrono::Utc::now(),
        }))
    });
    std::sync::Arc::new(crate::services::invitations::InvitationDelivery::new(
        std::sync::Arc::new(mailer),
        std::sync::Arc::new(organizations),
        crate::mail::MailLinks {
            accept_invitation: "https://app.example/accept".into(),
        },
    ))
}
