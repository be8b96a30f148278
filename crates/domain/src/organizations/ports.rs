//! Ports: what the use cases need from the outside world. Adapters implement them; the
//! services hold them as `Arc<dyn Port>`.
//!
//! Every storage port returns [`StoreError`]: `Unavailable` when the database cannot be reached
//! or no connection is free in time, `Unexpected` for anything else the adapter cannot explain;
//! the variants a method must use beyond those are listed under its `# Errors`.

use crate::StoreError;
use crate::identity::{
    Credential, NewSession, NewUser, Principal, Session, User, UserWithPassword,
};
use crate::ids::{ApiKeyId, InvitationId, OrganizationId, PartnerId, SessionId, UserId};
use crate::organization::{
    ApiKey, Invitation, Member, Membership, NewApiKey, NewInvitation, NewOrganization, Organization,
};
use crate::partner::{CreatePartner, Partner, PartnerCursor, PartnerFilter, PartnerPatch};
use crate::secret::{Secret, TokenHash};
use crate::values::{Email, Role};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

/// Users and sessions.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Stores a new user and, when given, their first session.
    ///
    /// # Errors
    /// `Conflict` when the email is taken (case-insensitively).
    async fn create_user(
        &self,
        user: NewUser,
        session: Option<NewSession>,
    ) -> Result<User, StoreError>;

    async fn find_user_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserWithPassword>, StoreError>;

    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError>;

    async fn count_users(&self) -> Result<i64, StoreError>;

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError>;

    /// Resolves a presented credential at `now`: a live (not revoked, not expired) session with
    /// the caller's membership in its active organization, or a live API key. Slides the
    /// session's inactivity expiry when it was last seen more than a minute ago.
    /// `Ok(None)` for an unknown, expired or revoked credential.
    async fn authenticate(
        &self,
        credential: Credential,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError>;

    async fn find_session(&self, id: SessionId) -> Result<Option<Session>, StoreError>;

    async fn revoke_session(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Makes `organization` the session's active organization.
    /// `Ok(false)` when the user is not a member of it (nothing changes then).
    async fn set_active_organization(
        &self,
        session: SessionId,
        user: UserId,
        organization: OrganizationId,
    ) -> Result<bool, StoreError>;
}

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

    /// Replaces a pending invitation's token (the old one stops working) and its expiry, and
    /// records an `invitation_resent` event. `Ok(None)` when there is no pending invitation
    /// with that id in the organization.
    async fn reissue_invitation(
        &self,
        organization: OrganizationId,
        id: InvitationId,
        token: TokenHash,
        expires_at: DateTime<Utc>,
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
    /// password, grants the role (keeping a higher one the user already has), marks the
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

/// Organization API keys.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn create_api_key(&self, key: NewApiKey) -> Result<(), StoreError>;
    async fn list_api_keys(&self, organization: OrganizationId) -> Result<Vec<ApiKey>, StoreError>;
    /// `Ok(false)` when there is no live key with that id in the organization.
    async fn revoke_api_key(
        &self,
        organization: OrganizationId,
        id: ApiKeyId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// Everything needed to store a new partner atomically.
#[derive(Debug, Clone)]
pub struct NewPartnerRecord {
    pub id: PartnerId,
    pub organization_id: OrganizationId,
    pub partner: CreatePartner,
    pub contact_id: crate::ids::ContactId,
    /// The account to create for the contact when their email has none.
    pub contact_user: NewUser,
    /// The contact's invitation to the portal, always stored (with its event). When the
    /// contact's account has no password yet, it gets the `partner` membership at once and the
    /// invitation is bound to it (a set-password link); an account with a password joins only
    /// by accepting it while signed in.
    pub invitation: NewInvitation,
    pub created_by: Option<UserId>,
    pub now: DateTime<Utc>,
}

/// Partner records. Every method is scoped to one organization.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PartnerStore: Send + Sync {
    /// Stores the partner, its primary contact (and account when new), the contact's invitation
    /// (and `partner`-role membership for an account without a password; see
    /// [`NewPartnerRecord::invitation`]) and the `partner_created` event in one transaction.
    /// Returns the partner and the invitation as stored.
    ///
    /// # Errors
    /// `Conflict` when the organization already has a partner with this domain.
    async fn create_partner(
        &self,
        record: NewPartnerRecord,
    ) -> Result<(Partner, Invitation), StoreError>;

    async fn get_partner(
        &self,
        organization: OrganizationId,
        id: PartnerId,
    ) -> Result<Option<Partner>, StoreError>;

    /// Authentication and the read in one round trip: `Ok(None)` when the credential is not
    /// live; otherwise the principal and the partner if it exists in the principal's active
    /// organization (and the principal has one).
    async fn get_partner_as(
        &self,
        credential: Credential,
        id: PartnerId,
        now: DateTime<Utc>,
    ) -> Result<Option<(Principal, Option<Partner>)>, StoreError>;

    /// Newest first, strictly after `after`, at most `limit`.
    async fn list_partners(
        &self,
        organization: OrganizationId,
        filter: PartnerFilter,
        after: Option<PartnerCursor>,
        limit: i64,
    ) -> Result<Vec<Partner>, StoreError>;

    /// `Ok(None)` when there is no such partner in the organization.
    ///
    /// # Errors
    /// `Conflict` when the new domain is taken in the organization.
    async fn update_partner(
        &self,
        organization: OrganizationId,
        id: PartnerId,
        patch: PartnerPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Partner>, StoreError>;

    /// `Ok(false)` when there is no such partner in the organization.
    async fn delete_partner(
        &self,
        organization: OrganizationId,
        id: PartnerId,
    ) -> Result<bool, StoreError>;

    /// Whether the user is an internal (non-partner) member of the organization.
    async fn is_internal_member(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> Result<bool, StoreError>;
}

/// The verdict of a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    Limited { retry_after_secs: u64 },
}

/// Sliding-window counters shared by every instance.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts a hit in `bucket` if fewer than `limit` happened in the `window` before `now`;
    /// atomic across concurrent callers and instances.
    async fn hit(
        &self,
        bucket: &str,
        limit: u32,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError>;

    /// Reserves an attempt in `bucket`, like `hit`: counted at once, so concurrent attempts
    /// cannot all pass. The reservation is then settled with [`RateLimiter::settle`]; one that
    /// never is (its request died with the database, say) stops counting after `lease`.
    async fn reserve(
        &self,
        bucket: &str,
        limit: u32,
        window: Duration,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError>;

    /// Settles one reservation made at `at` in `bucket`: `counted` keeps it for the whole
    /// window, otherwise it is removed.
    async fn settle(
        &self,
        bucket: &str,
        at: DateTime<Utc>,
        counted: bool,
    ) -> Result<(), StoreError>;

    /// Forgets every hit of `bucket`.
    async fn clear(&self, bucket: &str) -> Result<(), StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    /// Every hashing slot stayed busy for the adapter's whole wait: the server is saturated
    /// with password work (a flood of sign-ins), so the caller should come back shortly.
    #[error("the server is busy checking passwords; retry shortly")]
    Busy,
    #[error("password hashing failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl crate::error::Classify for HashingError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            Self::Busy => crate::ErrorKind::Unavailable,
            Self::Failed(_) => crate::ErrorKind::Internal,
        }
    }
    fn retry_after(&self) -> Option<u64> {
        matches!(self, Self::Busy).then_some(1)
    }
}

/// Password hashing (argon2id in production).
///
/// # Errors
/// `Busy` when no hashing slot frees up within the adapter's wait (memory and CPU spent on
/// password work are bounded); `Failed` for anything else.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: Secret) -> Result<String, HashingError>;
    /// `Ok(false)` for a wrong password or an unparsable hash.
    async fn verify(&self, password: Secret, hash: String) -> Result<bool, HashingError>;
}

/// Readiness of the storage behind the service.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// `Ok` when the database answers and every migration is applied.
    async fn ready(&self) -> Result<(), StoreError>;
}

/// Legal agreement templates. Every method is scoped to one organization.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LegalTemplateStore: Send + Sync {
    /// Whether a live template of the organization has this name, case-insensitively.
    async fn template_name_taken(
        &self,
        organization: OrganizationId,
        name: &str,
    ) -> Result<bool, StoreError>;

    /// Stores the template and its `legal_template_created` event in one transaction.
    ///
    /// # Errors
    /// `Conflict` when the name is taken (case-insensitively) in the organization, as a
    /// concurrent creation may do after `template_name_taken` said no.
    async fn insert_template(
        &self,
        template: crate::legal::LegalTemplate,
    ) -> Result<(), StoreError>;

    async fn list_templates(
        &self,
        organization: OrganizationId,
        partner: Option<PartnerId>,
    ) -> Result<Vec<crate::legal::LegalTemplate>, StoreError>;

    async fn get_template(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
    ) -> Result<Option<crate::legal::LegalTemplate>, StoreError>;

    /// `Ok(false)` when there is no such template in the organization.
    async fn delete_template(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
    ) -> Result<bool, StoreError>;
}

/// A sliding-window limit checked and counted in the same transaction as the write it guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteLimit {
    pub bucket: String,
    pub limit: u32,
    pub window: Duration,
}

/// How a review of a submission ended at the store.
#[derive(Debug, Clone)]
pub enum ReviewOutcome<T> {
    Done(T),
    NotFound,
    /// The submission was already approved or rejected.
    NotPending,
}

/// Application forms, their affiliate links and submissions. Every method but the public ones
/// (`published_application`, `insert_submission`) is scoped to one organization.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// # Errors
    /// `Conflict` when the slug is taken (slugs are global).
    async fn create_application(
        &self,
        application: crate::forms::Application,
    ) -> Result<(), StoreError>;

    async fn list_applications(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<crate::forms::Application>, StoreError>;

    async fn get_application(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
    ) -> Result<Option<crate::forms::Application>, StoreError>;

    /// `Ok(None)` when there is no such application.
    ///
    /// # Errors
    /// `Conflict` when the new slug is taken.
    async fn update_application(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
        patch: crate::forms::ApplicationPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::forms::Application>, StoreError>;

    async fn delete_application(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
    ) -> Result<bool, StoreError>;

    async fn application_exists(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
    ) -> Result<bool, StoreError>;

    /// Sets the form's `content.bannerUrl`; `Ok(false)` when there is no such application.
    async fn set_banner_url(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The published application with this slug (any organization).
    async fn published_application(
        &self,
        slug: &str,
    ) -> Result<Option<crate::forms::Application>, StoreError>;

    /// # Errors
    /// `Conflict` when the application already has a link with this slug.
    async fn create_affiliate_link(
        &self,
        organization: OrganizationId,
        link: crate::forms::AffiliateLink,
    ) -> Result<(), StoreError>;

    async fn list_affiliate_links(
        &self,
        organization: OrganizationId,
        application: uuid::Uuid,
    ) -> Result<Vec<crate::forms::AffiliateLink>, StoreError>;

    /// Stores the submission, attributed to the application's link named by its affiliate slug
    /// when there is one, with its `application_submitted` event, in one transaction — unless
    /// `limit` is reached: the limit is checked and the hit counted in that same transaction, so
    /// `Ok(Limited)` stores nothing, and a refused submission (duplicate) counts no hit.
    ///
    /// # Errors
    /// `Conflict` when the application already has a pending or approved submission with the
    /// same email.
    async fn insert_submission(
        &self,
        submission: crate::forms::NewSubmission,
        limit: WriteLimit,
    ) -> Result<RateDecision, StoreError>;

    /// Newest first, strictly after `after`, at most `limit`.
    async fn list_submissions(
        &self,
        organization: OrganizationId,
        application: uuid::Uuid,
        after: Option<crate::forms::SubmissionCursor>,
        limit: i64,
    ) -> Result<Vec<crate::forms::Submission>, StoreError>;

    async fn get_submission(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
    ) -> Result<Option<crate::forms::Submission>, StoreError>;

    /// Atomically: the pending submission becomes approved and its partner record (with
    /// contact, account, invitation and events) is created. Returns the invitation as stored.
    ///
    /// # Errors
    /// `Conflict` when the organization already has a partner with the mapped domain.
    async fn approve_submission(
        &self,
        submission: uuid::Uuid,
        partner: NewPartnerRecord,
        reviewer: Option<UserId>,
    ) -> Result<ReviewOutcome<(crate::forms::Submission, Partner, Invitation)>, StoreError>;

    async fn reject_submission(
        &self,
        organization: OrganizationId,
        submission: uuid::Uuid,
        reason: Option<String>,
        reviewer: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<ReviewOutcome<crate::forms::Submission>, StoreError>;
}
