//! Organizations, their members and invitations.

use crate::identity::role::Role;
use crate::shared::ids::{InvitationId, OrganizationId, PartnerId, UserId};
use crate::shared::secret::IssuedToken;
use crate::shared::slug::Slug;
use crate::shared::values::Email;
use chrono::{DateTime, Duration, Utc};

/// How long an invitation token may be used.
pub const INVITATION_TTL: Duration = Duration::hours(48);
pub const INVITATION_TOKEN_PREFIX: &str = "pi_";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub id: OrganizationId,
    pub name: String,
    pub slug: Slug,
    /// Whether the slug was derived from the name (and may be suffixed on a clash) or chosen.
    pub slug_chosen: bool,
    pub created_at: DateTime<Utc>,
}

/// One of the caller's memberships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub organization: Organization,
    pub role: Role,
}

/// A member as the organization's admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub partner_id: Option<PartnerId>,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub organization_id: OrganizationId,
    pub email: String,
    pub role: Role,
    pub partner_id: Option<PartnerId>,
    /// The account a set-password invitation is bound to: a partner contact's account that has
    /// no password yet. Such a token sets that account's password and nothing else.
    pub user_id: Option<UserId>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// An invitation about to be stored. Its stored token hash is a placeholder: the token behind it
/// is never sent anywhere, so no link works until the outbox relay mints the one it mails
/// ([`crate::organizations::invitations::InvitationDelivery`]).
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub invitation: Invitation,
    /// The placeholder (only its hash is stored).
    pub token: IssuedToken,
    pub invited_by: Option<UserId>,
}

impl NewInvitation {
    pub fn new(
        organization_id: OrganizationId,
        email: &Email,
        role: Role,
        partner_id: Option<PartnerId>,
        invited_by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            invitation: Invitation {
                id: InvitationId::generate(),
                organization_id,
                email: email.as_str().to_owned(),
                role,
                partner_id,
                user_id: None,
                expires_at: now + INVITATION_TTL,
                created_at: now,
            },
            token: IssuedToken::generate(INVITATION_TOKEN_PREFIX),
            invited_by,
        }
    }
}
