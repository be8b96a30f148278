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
