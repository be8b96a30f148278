//! Role rules shared by the use cases.

use crate::error::{Classify, ErrorKind};
use crate::identity::{ActiveMembership, Principal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error(
        "the session has no active organization; choose one with POST /api/auth/organization/set-active"
    )]
    NoActiveOrganization,
    #[error("your role does not allow this")]
    Forbidden,
}

impl Classify for AccessError {
    fn kind(&self) -> ErrorKind {
        match self {
            AccessError::NoActiveOrganization => ErrorKind::NoActiveOrganization,
            AccessError::Forbidden => ErrorKind::Forbidden,
        }
    }
}

fn active(principal: &Principal) -> Result<ActiveMembership, AccessError> {
    principal
        .membership()
        .copied()
        .ok_or(AccessError::NoActiveOrganization)
}

/// Internal staff reading organization data (everyone but `partner`).
pub fn internal_reader(principal: &Principal) -> Result<ActiveMembership, AccessError> {
    let m = active(principal)?;
    if m.role.is_internal() {
        Ok(m)
    } else {
        Err(AccessError::Forbidden)
    }
}

/// Writing organization data: `owner`, `admin`, `member`.
pub fn writer(principal: &Principal) -> Result<ActiveMembership, AccessError> {
    let m = active(principal)?;
    if m.role.can_write() {
        Ok(m)
    } else {
        Err(AccessError::Forbidden)
    }
}

/// Managing members and keys: `owner`, `admin`.
pub fn manager(principal: &Principal) -> Result<ActiveMembership, AccessError> {
    let m = active(principal)?;
    if m.role.can_manage() {
        Ok(m)
    } else {
        Err(AccessError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrganizationId, SessionId, UserId};
    use crate::values::Role;

    fn user(role: Option<Role>) -> Principal {
        Principal::User {
            user_id: UserId::generate(),
            session_id: SessionId::generate(),
            membership: role.map(|role| ActiveMembership {
                organization_id: OrganizationId::generate(),
                role,
                partner_id: None,
            }),
        }
    }

    #[test]
    fn role_matrix() {
        use Role::*;
        for (role, read, write, manage) in [
            (Owner, true, true, true),
            (Admin, true, true, true),
            (Member, true, true, false),
            (Viewer, true, false, false),
            (Partner, false, false, false),
        ] {
            let p = user(Some(role));
            assert_eq!(internal_reader(&p).is_ok(), read, "{role} read");
            assert_eq!(writer(&p).is_ok(), write, "{role} write");
            assert_eq!(manager(&p).is_ok(), manage, "{role} manage");
        }
        assert_eq!(writer(&user(None)), Err(AccessError::NoActiveOrganization));
    }
}
