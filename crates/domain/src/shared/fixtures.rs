//! Test fixtures shared by the use-case tests.

use crate::identity::model::{ActiveMembership, Principal};
use crate::identity::role::Role;
use crate::shared::ids::{OrganizationId, SessionId, UserId};

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
pub(crate) fn delivery() -> std::sync::Arc<crate::organizations::invitations::InvitationDelivery> {
    let mut mailer = crate::organizations::mail::MockMailer::new();
    mailer.expect_send().returning(|_| Ok(()));
    let mut organizations = crate::organizations::ports::MockOrganizationStore::new();
    organizations.expect_find_organization().returning(|id| {
        Ok(Some(crate::organizations::model::Organization {
            id,
            name: "Acme".into(),
            slug: "acme".into(),
            created_at: chrono::Utc::now(),
        }))
    });
    std::sync::Arc::new(crate::organizations::invitations::InvitationDelivery::new(
        std::sync::Arc::new(mailer),
        std::sync::Arc::new(organizations),
        crate::organizations::mail::MailLinks {
            accept_invitation: "https://app.example/accept".into(),
        },
    ))
}
