//! Role rules shared by the use cases.

use crate::identity::model::{ActiveMembership, Principal};
use crate::shared::error::{Classify, ErrorKind};

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

/// Why an upload was refused before its body was read.
#[derive(Debug)]
pub enum UploadRefused {
    Access(AccessError),
    RateLimited { retry_after_secs: u64 },
    Store(crate::StoreError),
}

/// Admits an upload before any byte of its body is read: a writer of the active organization,
/// within `per_minute` uploads of `kind` by this user (or API key) in it, counted in the shared
/// limiter (every admitted request counts).
pub async fn admit_upload(
    limiter: &dyn crate::shared::rate_limit::RateLimiter,
    principal: &Principal,
    kind: &str,
    per_minute: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ActiveMembership, UploadRefused> {
    let m = writer(principal).map_err(UploadRefused::Access)?;
    let bucket = format!("{kind}:{}:{}", m.organization_id, principal.actor_key());
    match limiter
        .hit(&bucket, per_minute, chrono::Duration::minutes(1), now)
        .await
        .map_err(UploadRefused::Store)?
    {
        crate::shared::rate_limit::RateDecision::Allowed => Ok(m),
        crate::shared::rate_limit::RateDecision::Limited { retry_after_secs } => {
            Err(UploadRefused::RateLimited { retry_after_secs })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::role::Role;
    use crate::shared::ids::{OrganizationId, SessionId, UserId};

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
