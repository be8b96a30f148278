//! Ports of applications: the forms' storage and the captcha that guards public submissions.
//!
//! Storage methods return [`StoreError`]: `Unavailable` when the database
//! cannot be reached, `Unexpected` for anything else, plus the variants listed under `# Errors`.

use crate::StoreError;
use crate::organizations::model::Invitation;
use crate::partners::model::Partner;
use crate::partners::ports::NewPartnerRecord;
use crate::shared::ids::{OrganizationId, UserId};
use crate::shared::rate_limit::{RateDecision, WriteLimit};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::net::IpAddr;

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
        application: crate::applications::model::Application,
    ) -> Result<(), StoreError>;

    async fn list_applications(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<crate::applications::model::Application>, StoreError>;

    async fn get_application(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
    ) -> Result<Option<crate::applications::model::Application>, StoreError>;

    /// `Ok(None)` when there is no such application.
    ///
    /// # Errors
    /// `Conflict` when the new slug is taken.
    async fn update_application(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
        patch: crate::applications::model::ApplicationPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::applications::model::Application>, StoreError>;

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
    ) -> Result<Option<crate::applications::model::Application>, StoreError>;

    /// # Errors
    /// `Conflict` when the application already has a link with this slug.
    async fn create_affiliate_link(
        &self,
        organization: OrganizationId,
        link: crate::applications::model::AffiliateLink,
    ) -> Result<(), StoreError>;

    async fn list_affiliate_links(
        &self,
        organization: OrganizationId,
        application: uuid::Uuid,
    ) -> Result<Vec<crate::applications::model::AffiliateLink>, StoreError>;

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
        submission: crate::applications::model::NewSubmission,
        limit: WriteLimit,
    ) -> Result<RateDecision, StoreError>;

    /// Newest first, strictly after `after`, at most `limit`.
    async fn list_submissions(
        &self,
        organization: OrganizationId,
        application: uuid::Uuid,
        after: Option<crate::applications::model::SubmissionCursor>,
        limit: i64,
    ) -> Result<Vec<crate::applications::model::Submission>, StoreError>;

    async fn get_submission(
        &self,
        organization: OrganizationId,
        id: uuid::Uuid,
    ) -> Result<Option<crate::applications::model::Submission>, StoreError>;

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
    ) -> Result<
        ReviewOutcome<(crate::applications::model::Submission, Partner, Invitation)>,
        StoreError,
    >;

    /// What the new-submission notice of a submission of the organization says, and to whom:
    /// its form, the organization's name and its owners and admins. `Ok(None)` when the
    /// submission (or its form) no longer exists.
    async fn submission_notice(
        &self,
        organization: OrganizationId,
        submission: uuid::Uuid,
    ) -> Result<Option<crate::applications::notice::SubmissionNotice>, StoreError>;

    async fn reject_submission(
        &self,
        organization: OrganizationId,
        submission: uuid::Uuid,
        reason: Option<String>,
        reviewer: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<ReviewOutcome<crate::applications::model::Submission>, StoreError>;
}

/// The captcha service's verdict on a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptchaVerdict {
    Passed,
    /// Refused, with the service's error codes (e.g. `invalid-input-response`).
    Failed(Vec<String>),
}

#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    #[error("the captcha service is unreachable, slow or answered garbage")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Server-side captcha verification. Fails closed: anything but a clear verdict is an error.
///
/// # Errors
/// `Unavailable` for connection failures, timeouts, non-2xx statuses and unparsable bodies,
/// and when the service itself reports `internal-error`.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Captcha: Send + Sync {
    async fn verify(
        &self,
        token: &str,
        remote_ip: Option<IpAddr>,
    ) -> Result<CaptchaVerdict, CaptchaError>;
}
