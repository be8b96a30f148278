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
