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

/// What accepting an invitation will do, decided by the use case.
#[derive(Debug, Clone)]
pub struct InvitationAcceptance {
    pub invitation_id: InvitationId,
    /// A new account to create (the invitee had none).
    pub create_user: Option<NewUser>,
    /// A password hash to set on an existing account without one.
    pub set_password_hash: Option<String>,
    /// The session that signs the invitee in; its user id is the invitee's.
    pub session: NewSession,
}

/// An invitation found by its token, with the account its email already has, if any.
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

    /// # Errors
    /// `Conflict` when the user is already a member.
    async fn add_member(
        &self,
        organization: OrganizationId,
        user: UserId,
        role: Role,
    ) -> Result<Member, StoreError>;

    /// Stores the invitation and its `invitation_created` event in one transaction.
    async fn create_invitation(&self, invitation: NewInvitation) -> Result<(), StoreError>;

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

    /// An unaccepted, unexpired invitation with this token.
    async fn find_pending_invitation(
        &self,
        token: TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingInvitation>, StoreError>;

    /// Accepts the invitation atomically: creates or updates the account, grants the role
    /// (keeping a higher one the user already has), marks the invitation used and stores the
    /// session. `Ok(None)` when the invitation was used or expired in the meantime.
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
    /// The set-password invitation, stored (with its event) when the contact's account has no
    /// password yet.
    pub invitation: NewInvitation,
    pub created_by: Option<UserId>,
    pub now: DateTime<Utc>,
}

/// Partner records. Every method is scoped to one organization.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PartnerStore: Send + Sync {
    /// Stores the partner, its primary contact, the contact's `partner`-role membership (and
    /// account when new), the invitation when needed and the `partner_created` event in one
    /// transaction. Returns the partner and whether an invitation was stored.
    ///
    /// # Errors
    /// `Conflict` when the organization already has a partner with this domain.
    async fn create_partner(&self, record: NewPartnerRecord)
    -> Result<(Partner, bool), StoreError>;

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

    /// Like `hit`, but counts nothing: whether a hit would be allowed.
    async fn peek(
        &self,
        bucket: &str,
        limit: u32,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError>;

    /// Counts a hit unconditionally.
    async fn record(&self, bucket: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Forgets every hit of `bucket`.
    async fn clear(&self, bucket: &str) -> Result<(), StoreError>;
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashingError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Password hashing (argon2id in production).
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
    /// contact, account, invitation and events) is created.
    ///
    /// # Errors
    /// `Conflict` when the organization already has a partner with the mapped domain.
    async fn approve_submission(
        &self,
        submission: uuid::Uuid,
        partner: NewPartnerRecord,
        reviewer: Option<UserId>,
    ) -> Result<ReviewOutcome<(crate::forms::Submission, Partner)>, StoreError>;

    async fn reject_submission(
        &self,
        organization: OrganizationId,
        submission: uuid::Uuid,
        reason: Option<String>,
        reviewer: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<ReviewOutcome<crate::forms::Submission>, StoreError>;
}
