//! Organizations, members and invitations.

use crate::StoreError;
use crate::identity::access::{self, AccessError};
use crate::identity::model::{ClientInfo, NewSession, NewUser, Principal, Session, User};
use crate::identity::password::Password;
use crate::identity::ports::{HashingError, IdentityStore, PasswordHasher};
use crate::identity::role::Role;
use crate::organizations::model::{
    INVITATION_TTL, Invitation, Member, Membership, NewInvitation, NewOrganization, Organization,
};
use crate::organizations::ports::{AcceptSession, InvitationAcceptance, OrganizationStore};
use crate::shared::clock::Clock;
use crate::shared::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::shared::ids::{InvitationId, OrganizationId, UserId};
use crate::shared::secret::TokenHash;
use crate::shared::slug::Slug;
use crate::shared::values::{BoundedText, Email};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum OrganizationError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("this needs a signed-in user, not an API key")]
    UserRequired,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the invitation is unknown, used, revoked or expired")]
    InvitationInvalid,
    #[error("this invitation is for an existing account: sign in as that account, then accept it")]
    SignInToAccept,
    #[error("this invitation is for another account")]
    OtherAccount,
    #[error("verify your email address first: use the link mailed to it")]
    EmailNotVerified,
    #[error("authentication required: the session is missing, unknown, expired or revoked")]
    Unauthorized,
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for OrganizationError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(what),
            e => Self::Store(e),
        }
    }
}

impl Classify for OrganizationError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Invalid(_) => ErrorKind::Validation,
            Self::UserRequired => ErrorKind::Forbidden,
            Self::NotFound | Self::InvitationInvalid => ErrorKind::NotFound,
            Self::SignInToAccept => ErrorKind::Unauthorized,
            Self::OtherAccount => ErrorKind::Forbidden,
            Self::EmailNotVerified => ErrorKind::EmailNotVerified,
            Self::Unauthorized => ErrorKind::Unauthorized,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Hashing(e) => e.kind(),
            Self::Store(e) => e.kind(),
        }
    }
    fn details(&self) -> &[FieldError] {
        match self {
            Self::Invalid(v) => &v.0,
            _ => &[],
        }
    }
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Hashing(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// The outcome of accepting an invitation: the invitee's account and session, and the token
/// of that session when a new one was started (a signed-in invitee keeps theirs).
#[derive(Debug, Clone)]
pub struct Accepted {
    pub user: User,
    pub session: Session,
    pub token: Option<crate::shared::secret::Secret>,
}

fn invalid(field: &str, message: &str) -> OrganizationError {
    OrganizationError::Invalid(ValidationErrors::single(field, message))
}

pub struct OrganizationService {
    identity: Arc<dyn IdentityStore>,
    organizations: Arc<dyn OrganizationStore>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
}

impl OrganizationService {
    pub fn new(
        identity: Arc<dyn IdentityStore>,
        organizations: Arc<dyn OrganizationStore>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            identity,
            organizations,
            hasher,
            clock,
        }
    }

    /// Refuses a signed-in user whose email address is not verified yet.
    async fn require_verified(&self, user: UserId) -> Result<(), OrganizationError> {
        match self.identity.find_user(user).await? {
            Some(u) if u.email_verified => Ok(()),
            Some(_) => Err(OrganizationError::EmailNotVerified),
            // The session outlived its user (deleted meanwhile).
            None => Err(OrganizationError::Unauthorized),
        }
    }

    /// Creates an organization, makes the caller its owner and its session's active one. The
    /// caller's email address must be verified.
    pub async fn create(
        &self,
        principal: &Principal,
        name: &str,
        slug: Option<&str>,
    ) -> Result<Organization, OrganizationError> {
        let Principal::User {
            user_id,
            session_id,
            ..
        } = principal
        else {
            return Err(OrganizationError::UserRequired);
        };
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", BoundedText::<200>::parse(name));
        let chosen = slug.map(|s| errors.check("slug", Slug::parse(s)));
        let Some(name) = name.filter(|_| errors.is_empty()) else {
            return Err(OrganizationError::Invalid(errors));
        };
        self.require_verified(*user_id).await?;
        let (slug, slug_chosen) = match chosen {
            Some(Some(s)) => (s, true),
            _ => (Slug::from_name(name.as_str()), false),
        };
        let now = self.clock.now();
        let mut attempt = slug.clone();
        for round in 0..4 {
            let new = NewOrganization {
                id: OrganizationId::generate(),
                name: name.as_str().to_owned(),
                slug: attempt.clone(),
                slug_chosen,
                created_at: now,
            };
            match self
                .organizations
                .create_organization(new, *user_id, Some(*session_id))
                .await
            {
                Ok(org) => return Ok(org),
                Err(StoreError::Conflict(_)) if !slug_chosen && round < 3 => {
                    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
                    attempt = slug.with_suffix(suffix);
                }
                Err(StoreError::Conflict(_)) => {
                    return Err(OrganizationError::Conflict("this slug is taken".into()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(OrganizationError::Conflict("this slug is taken".into()))
    }

    pub async fn list_mine(
        &self,
        principal: &Principal,
    ) -> Result<Vec<Membership>, OrganizationError> {
        let user = principal.user_id().ok_or(OrganizationError::UserRequired)?;
        Ok(self.organizations.list_memberships(user).await?)
    }

    pub async fn list_members(
        &self,
        principal: &Principal,
    ) -> Result<Vec<Member>, OrganizationError> {
        let m = access::manager(principal)?;
        Ok(self.organizations.list_members(m.organization_id).await?)
    }

    /// Invites the email to the organization: stores the invitation and its `invitation_created`
    /// event; the outbox relay mails it with a freshly minted single-use token
    /// ([`crate::organizations::invitations::InvitationDelivery`]). Whether the address has an
    /// account is not revealed: the invitee joins by accepting.
    pub async fn add_member(
        &self,
        principal: &Principal,
        email: &str,
        role: &str,
    ) -> Result<Invitation, OrganizationError> {
        let m = access::manager(principal)?;
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", Email::parse(email));
        let role = errors.check("role", role.parse::<Role>());
        let (Some(email), Some(role)) = (email, role) else {
            return Err(OrganizationError::Invalid(errors));
        };
        Self::check_grant(m.role, role)?;
        let invitation = NewInvitation::new(
            m.organization_id,
            &email,
            role,
            None,
            principal.user_id(),
            self.clock.now(),
        );
        let view = invitation.invitation.clone();
        self.organizations
            .create_invitation(invitation)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    OrganizationError::Conflict("this address is already a member".into())
                }
                e => e.into(),
            })?;
        Ok(view)
    }

    pub async fn list_invitations(
        &self,
        principal: &Principal,
    ) -> Result<Vec<Invitation>, OrganizationError> {
        let m = access::manager(principal)?;
        Ok(self
            .organizations
            .list_invitations(m.organization_id)
            .await?)
    }

    pub async fn revoke_invitation(
        &self,
        principal: &Principal,
        id: InvitationId,
    ) -> Result<(), OrganizationError> {
        let m = access::manager(principal)?;
        if self
            .organizations
            .revoke_invitation(m.organization_id, id, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(OrganizationError::NotFound)
        }
    }

    /// Mails a pending invitation again, with a new 48-hour validity: its `invitation_resent`
    /// event has the relay mint a new token and mail it (the earlier link stops working then).
    pub async fn resend_invitation(
        &self,
        principal: &Principal,
        id: InvitationId,
    ) -> Result<Invitation, OrganizationError> {
        let m = access::manager(principal)?;
        let now = self.clock.now();
        self.organizations
            .reissue_invitation(m.organization_id, id, now + INVITATION_TTL, now)
            .await?
            .ok_or(OrganizationError::NotFound)
    }

    /// `partner` comes only with a partner record; only owners grant or take `owner`.
    fn check_grant(actor: Role, role: Role) -> Result<(), OrganizationError> {
        if role == Role::Partner {
            return Err(invalid(
                "role",
                "partner accounts are created with their partner record",
            ));
        }
        if role == Role::Owner && actor != Role::Owner {
            return Err(AccessError::Forbidden.into());
        }
        Ok(())
    }

    pub async fn change_role(
        &self,
        principal: &Principal,
        user: UserId,
        role: &str,
    ) -> Result<Member, OrganizationError> {
        let m = access::manager(principal)?;
        let role: Role = role
            .parse()
            .map_err(|e: crate::shared::values::InvalidValue| invalid("role", &e.0))?;
        Self::check_grant(m.role, role)?;
        let target = self
            .organizations
            .find_member(m.organization_id, user)
            .await?
            .ok_or(OrganizationError::NotFound)?;
        if target.role == Role::Owner && m.role != Role::Owner {
            return Err(AccessError::Forbidden.into());
        }
        self.organizations
            .change_role(m.organization_id, user, role)
            .await?
            .ok_or(OrganizationError::NotFound)
    }

    pub async fn remove_member(
        &self,
        principal: &Principal,
        user: UserId,
    ) -> Result<(), OrganizationError> {
        let m = access::manager(principal)?;
        let target = self
            .organizations
            .find_member(m.organization_id, user)
            .await?
            .ok_or(OrganizationError::NotFound)?;
        if target.role == Role::Owner && m.role != Role::Owner {
            return Err(AccessError::Forbidden.into());
        }
        if self
            .organizations
            .remove_member(m.organization_id, user)
            .await?
        {
            Ok(())
        } else {
            Err(OrganizationError::NotFound)
        }
    }

    /// Accepts an invitation (or a partner contact's set-password token).
    ///
    /// The token alone never signs anyone into an account that has a password: such an account
    /// accepts while signed in as itself (`caller`). A token creates an account only for an
    /// address that has none, and a set-password token only sets the password of the account
    /// it is bound to while that account still has none; either way the token proved the
    /// address, so the account's email counts as verified. A signed-in caller must have
    /// verified their address already.
    pub async fn accept_invitation(
        &self,
        caller: Option<&Principal>,
        token: &str,
        name: Option<&str>,
        password: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Accepted, OrganizationError> {
        if token.is_empty() || token.len() > 200 {
            return Err(OrganizationError::InvitationInvalid);
        }
        let signed_in = match caller {
            None => None,
            Some(Principal::User {
                user_id,
                session_id,
                ..
            }) => Some((*user_id, *session_id)),
            Some(Principal::ApiKey { .. }) => return Err(OrganizationError::UserRequired),
        };
        if let Some((user_id, _)) = signed_in {
            self.require_verified(user_id).await?;
        }
        let now = self.clock.now();
        let pending = self
            .organizations
            .find_pending_invitation(TokenHash::of(token), now)
            .await?
            .ok_or(OrganizationError::InvitationInvalid)?;
        let invitation = pending.invitation;
        let account = pending.existing_user;
        if invitation.user_id.is_some() && account.is_none() {
            // The bound account is gone: nothing left to set a password on.
            return Err(OrganizationError::InvitationInvalid);
        }

        // Signed in: only the invited account may accept, and it keeps its session.
        if let Some((user_id, session_id)) = signed_in {
            if account.as_ref().map(|a| a.user.id) != Some(user_id) {
                return Err(OrganizationError::OtherAccount);
            }
            let user = self
                .organizations
                .accept_invitation(
                    InvitationAcceptance {
                        invitation_id: invitation.id,
                        user_id,
                        create_user: None,
                        set_password_hash: None,
                        session: AcceptSession::Switch(session_id),
                    },
                    now,
                )
                .await?
                .ok_or(OrganizationError::InvitationInvalid)?;
            let session = self
                .identity
                .find_session(session_id)
                .await?
                .ok_or(OrganizationError::InvitationInvalid)?;
            return Ok(Accepted {
                user,
                session,
                token: None,
            });
        }

        // Not signed in: the token may only start a session for an account it creates, or for
        // the passwordless account it is bound to, and a password is set either way.
        // (A passwordless account, a partner contact of some organization, sets its password
        // through its own set-password link, not through someone's invitation.)
        if account
            .as_ref()
            .is_some_and(|a| a.password_hash.is_some() || invitation.user_id.is_none())
        {
            return Err(OrganizationError::SignInToAccept);
        }
        let mut errors = ValidationErrors::new();
        let password = match password {
            Some(p) => errors.check("password", Password::parse(p)),
            None => {
                errors.push("password", "is required to set up the account");
                None
            }
        };
        let name = match (name, &account) {
            (Some(n), _) => errors
                .check("name", BoundedText::<200>::parse(n))
                .map(BoundedText::into_inner),
            (None, Some(a)) => Some(a.user.name.clone()),
            (None, None) => Some(
                invitation
                    .email
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        };
        let (Some(password), Some(name)) = (password, name) else {
            return Err(OrganizationError::Invalid(errors));
        };
        let hash = self.hasher.hash(password.secret().clone()).await?;
        let (user_id, create_user, set_password_hash) = match &account {
            Some(a) => (a.user.id, None, Some(hash)),
            None => {
                let email = Email::parse(&invitation.email)
                    .map_err(|_| OrganizationError::InvitationInvalid)?;
                let id = UserId::generate();
                let user = NewUser {
                    id,
                    email,
                    name,
                    password_hash: Some(hash),
                    email_verified: true,
                    created_at: now,
                };
                (id, Some(user), None)
            }
        };
        let session = NewSession::start(user_id, Some(invitation.organization_id), now, client);
        let token = session.token.token.clone();
        let view = session.session();
        let user = self
            .organizations
            .accept_invitation(
                InvitationAcceptance {
                    invitation_id: invitation.id,
                    user_id,
                    create_user,
                    set_password_hash,
                    session: AcceptSession::Start(session),
                },
                now,
            )
            .await?
            .ok_or(OrganizationError::InvitationInvalid)?;
        Ok(Accepted {
            user,
            session: view,
            token: Some(token),
        })
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
