//! Ports of organizations: organizations, memberships and invitations.
//!
//! Every storage port returns [`StoreError`]: `Unavailable` when the database cannot be reached
//! or no connection is free in time, `Unexpected` for anything else the adapter cannot explain;
//! the variants a method must use beyond those are listed under its `# Errors`.

use crate::StoreError;
use crate::identity::model::{NewSession, NewUser, User, UserWithPassword};
use crate::identity::role::Role;
use crate::organizations::model::{
    Invitation, Member, Membership, NewInvitation, NewOrganization, Organization,
};
use crate::shared::ids::{InvitationId, OrganizationId, SessionId, UserId};
use crate::shared::secret::TokenHash;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// How accepting an invitation signs the invitee in.
#[derive(Debug, Clone)]
pub enum AcceptSession {
    /// A new session: the invitee's account is new, or had no password until this acceptance.
    Start(NewSession),
    /// The invitee is signed in already: their session switches to the organization.
    Switch(SessionId),
}

/// What accepting an invitation will do, decided by the use case.
#[derive(Debug, Clone)]
pub struct InvitationAcceptance {
    pub invitation_id: InvitationId,
    /// The invitee's account id (new or existing).
    pub user_id: UserId,
    /// A new account to create (the invitee had none).
    pub create_user: Option<NewUser>,
    /// A password hash to set on the bound account, which must still have none.
    pub set_password_hash: Option<String>,
    pub session: AcceptSession,
}

/// An invitation found by its token, with the account it concerns, if any: the bound account of
/// a set-password invitation, else the account the invited email has.
#[derive(Debug, Clone)]
pub struct PendingInvitation {
    pub invitation: Invitation,
    pub existing_user: Option<UserWithPassword>,
}

/// Organizations, memberships, invitations.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Creates the organization with `owner` as its owner; when `activate` names a session,
    /// makes the new organization that session's active one.
    ///
    /// # Errors
    /// `Conflict` when the slug is taken.
    async fn create_organization(
        &self,
        organization: NewOrganization,
        owner: UserId,
        activate: Option<SessionId>,
    ) -> Result<Organization, StoreError>;

    async fn list_memberships(&self, user: UserId) -> Result<Vec<Membership>, StoreError>;

    async fn list_members(&self, organization: OrganizationId) -> Result<Vec<Member>, StoreError>;

    async fn find_member(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> Result<Option<Member>, StoreError>;

    async fn find_organization(
        &self,
        id: OrganizationId,
    ) -> Result<Option<Organization>, StoreError>;

    /// Stores the invitation and its `invitation_created` event (which names the invitation,
    /// never its token) in one transaction, revoking the organization's earlier pending
    /// invitation of the same email.
    ///
    /// # Errors
    /// `Conflict` when the email's account is already a member of the organization.
    async fn create_invitation(&self, invitation: NewInvitation) -> Result<(), StoreError>;

    /// Invitations neither accepted nor revoked (expired ones included), newest first.
    async fn list_invitations(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<Invitation>, StoreError>;

    /// `Ok(false)` when there is no pending invitation with that id in the organization.
    async fn revoke_invitation(
        &self,
        organization: OrganizationId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Sets a pending invitation's new expiry and records an `invitation_resent` event (which
    /// names the invitation, never a token), in one transaction. `Ok(None)` when there is no
    /// pending invitation with that id in the organization.
    async fn reissue_invitation(
        &self,
        organization: OrganizationId,
        id: InvitationId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Invitation>, StoreError>;

    /// Replaces the token of an open invitation (not accepted, not revoked, not expired at
    /// `now`) in one statement, so the token about to be mailed is the only one that works.
    /// `Ok(None)` when the invitation is not open (or unknown): there is nothing to mail.
    async fn mint_invitation_token(
        &self,
        id: InvitationId,
        token: TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Invitation>, StoreError>;

    /// `Ok(None)` when the user is not a member.
    ///
    /// # Errors
    /// `Conflict` when this would leave the organization without an owner.
    async fn change_role(
        &self,
        organization: OrganizationId,
        user: UserId,
        role: Role,
    ) -> Result<Option<Member>, StoreError>;

    /// `Ok(false)` when the user is not a member.
    ///
    /// # Errors
    /// `Conflict` when this would leave the organization without an owner.
    async fn remove_member(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> Result<bool, StoreError>;

    /// An unaccepted, unrevoked, unexpired invitation with this token.
    async fn find_pending_invitation(
        &self,
        token: TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingInvitation>, StoreError>;

    /// Accepts the invitation atomically: creates the account or sets the bound account's
    /// password (and marks its email verified: the token proved the address), grants the role (keeping a higher one the user already has), marks the
    /// invitation used and starts or switches the session. `Ok(None)` when the invitation was
    /// used, revoked or expired in the meantime, or the bound account got a password meanwhile
    /// (nothing changes then).
    ///
    /// # Errors
    /// `Conflict` when `create_user`'s email was taken in the meantime.
    async fn accept_invitation(
        &self,
        acceptance: InvitationAcceptance,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError>;
}
