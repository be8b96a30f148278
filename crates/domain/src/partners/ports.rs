//! Ports of partner records.
//!
//! Every storage port returns [`StoreError`]: `Unavailable` when the database cannot be reached
//! or no connection is free in time, `Unexpected` for anything else the adapter cannot explain;
//! the variants a method must use beyond those are listed under its `# Errors`.

use crate::StoreError;
use crate::identity::model::NewUser;
use crate::organizations::model::{Invitation, NewInvitation};
use crate::partners::model::{CreatePartner, Partner, PartnerCursor, PartnerFilter, PartnerPatch};
use crate::shared::ids::{OrganizationId, PartnerId, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Everything needed to store a new partner atomically.
#[derive(Debug, Clone)]
pub struct NewPartnerRecord {
    pub id: PartnerId,
    pub organization_id: OrganizationId,
    pub partner: CreatePartner,
    pub contact_id: crate::shared::ids::ContactId,
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
