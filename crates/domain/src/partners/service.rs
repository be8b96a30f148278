//! Partner records: create, read, list, change, delete.

use crate::StoreError;
use crate::identity::access;
use crate::identity::access::AccessError;
use crate::identity::model::{NewUser, Principal};
use crate::identity::role::Role;
use crate::organizations::model::NewInvitation;
use crate::partners::model::{
    CreatePartner, Partner, PartnerCursor, PartnerFilter, PartnerPage, PartnerPatch, TierSource,
};
use crate::partners::ports::{NewPartnerRecord, PartnerStore};
use crate::shared::clock::Clock;
use crate::shared::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::shared::ids::{ContactId, OrganizationId, PartnerId, UserId};
use std::sync::Arc;

/// Page size bounds of the list.
pub const DEFAULT_PAGE: i64 = 25;
pub const MAX_PAGE: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("authentication required: the session is missing, unknown, expired or revoked")]
    Unauthorized,
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("partner not found")]
    NotFound,
    #[error("this organization already has a partner with this domain")]
    DomainTaken,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for PartnerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => PartnerError::DomainTaken,
            e => PartnerError::Store(e),
        }
    }
}

impl Classify for PartnerError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Unauthorized => ErrorKind::Unauthorized,
            Self::Invalid(_) => ErrorKind::Validation,
            Self::NotFound => ErrorKind::NotFound,
            Self::DomainTaken => ErrorKind::Conflict,
            Self::Store(e) => e.kind(),
        }
    }
    fn details(&self) -> &[FieldError] {
        match self {
            Self::Invalid(v) => &v.0,
            _ => &[],
        }
    }
}

/// Everything stored with a new partner: its contact's account (created when the email has none)
/// and the contact's invitation to the portal.
pub fn new_partner_record(
    organization: OrganizationId,
    created_by: Option<UserId>,
    input: CreatePartner,
    now: chrono::DateTime<chrono::Utc>,
) -> NewPartnerRecord {
    let id = PartnerId::generate();
    let contact = &input.primary_contact;
    let contact_user = NewUser {
        id: UserId::generate(),
        email: contact.email.clone(),
        name: format!("{} {}", contact.first_name, contact.last_name),
        password_hash: None,
        // Verified when the contact uses the set-password link of their invitation.
        email_verified: false,
        created_at: now,
    };
    let invitation = NewInvitation::new(
        organization,
        &contact.email,
        Role::Partner,
        Some(id),
        created_by,
        now,
    );
    NewPartnerRecord {
        id,
        organization_id: organization,
        partner: input,
        contact_id: ContactId::generate(),
        contact_user,
        invitation,
        created_by,
        now,
    }
}

pub struct PartnerService {
    partners: Arc<dyn PartnerStore>,
    clock: Arc<dyn Clock>,
}

impl PartnerService {
    pub fn new(partners: Arc<dyn PartnerStore>, clock: Arc<dyn Clock>) -> Self {
        Self { partners, clock }
    }

    async fn check_manager(
        &self,
        organization: OrganizationId,
        manager: Option<UserId>,
    ) -> Result<(), PartnerError> {
        if let Some(manager) = manager
            && !self
                .partners
                .is_internal_member(organization, manager)
                .await?
        {
            return Err(PartnerError::Invalid(ValidationErrors::single(
                "managerId",
                "must be an internal member of the organization",
            )));
        }
        Ok(())
    }

    /// Creates the partner with its primary contact, who is mailed an invitation to the portal
    /// (a set-password link when their account has no password yet) by the outbox relay.
    pub async fn create(
        &self,
        principal: &Principal,
        input: CreatePartner,
    ) -> Result<Partner, PartnerError> {
        let m = access::writer(principal)?;
        self.check_manager(m.organization_id, input.manager_id)
            .await?;
        let record = new_partner_record(
            m.organization_id,
            principal.user_id(),
            input,
            self.clock.now(),
        );
        let (partner, _invitation) = self.partners.create_partner(record).await?;
        Ok(partner)
    }

    pub async fn get(&self, principal: &Principal, id: PartnerId) -> Result<Partner, PartnerError> {
        let m = access::internal_reader(principal)?;
        self.partners
            .get_partner(m.organization_id, id)
            .await?
            .ok_or(PartnerError::NotFound)
    }

    pub async fn list(
        &self,
        principal: &Principal,
        filter: PartnerFilter,
        after: Option<PartnerCursor>,
        limit: i64,
    ) -> Result<PartnerPage, PartnerError> {
        let m = access::internal_reader(principal)?;
        let limit = limit.clamp(1, MAX_PAGE);
        let mut partners = self
            .partners
            .list_partners(m.organization_id, filter, after, limit + 1)
            .await?;
        let next_cursor = crate::shared::page::trim_page(&mut partners, limit, |p| {
            PartnerCursor::after(p).encode()
        });
        Ok(PartnerPage {
            partners,
            next_cursor,
        })
    }

    pub async fn update(
        &self,
        principal: &Principal,
        id: PartnerId,
        mut patch: PartnerPatch,
    ) -> Result<Partner, PartnerError> {
        let m = access::writer(principal)?;
        if let Some(manager) = patch.manager_id {
            self.check_manager(m.organization_id, manager).await?;
        }
        // A tier set by hand is a manual tier unless the caller says otherwise.
        if let Some(tier) = &patch.tier
            && patch.tier_source.is_none()
        {
            patch.tier_source = Some(tier.as_ref().map(|_| TierSource::Manual));
        }
        if patch.is_empty() {
            return self.get(principal, id).await;
        }
        self.partners
            .update_partner(m.organization_id, id, patch, self.clock.now())
            .await?
            .ok_or(PartnerError::NotFound)
    }

    pub async fn delete(&self, principal: &Principal, id: PartnerId) -> Result<(), PartnerError> {
        let m = access::writer(principal)?;
        if self.partners.delete_partner(m.organization_id, id).await? {
            Ok(())
        } else {
            Err(PartnerError::NotFound)
        }
    }
}

/// Test fixtures shared with other services' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::partners::model::{PartnerStage, PartnerType};

    pub(crate) fn partner(org: OrganizationId) -> Partner {
        let now = chrono::Utc::now();
        Partner {
            id: PartnerId::generate(),
            organization_id: org,
            name: "Acme".into(),
            domain: None,
            logo_url: None,
            partner_type: PartnerType::Reseller,
            subtype: None,
            category: None,
            tier: None,
            tier_source: None,
            stage: PartnerStage::Prospect,
            industry: None,
            description: None,
            employees: None,
            employees_range: None,
            company_revenue: None,
            regions: vec![],
            languages: vec![],
            services: vec![],
            products: vec![],
            primary_contact: None,
            manager_id: None,
            fit_score: None,
            ai_insights: None,
            analyzed_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::clock::SystemClock;

    use crate::partners::model::{NewContact, PartnerStage, PartnerType, ShortText};
    use crate::partners::ports::MockPartnerStore;
    use crate::partners::web_domain::PartnerDomain;
    use crate::shared::values::{BoundedText, Email};

    use crate::shared::fixtures::principal;

    fn input() -> CreatePartner {
        CreatePartner {
            name: BoundedText::parse("Acme").unwrap(),
            domain: Some(PartnerDomain::parse("acme.com").unwrap()),
            logo_url: None,
            partner_type: PartnerType::Reseller,
            subtype: None,
            category: None,
            tier: None,
            stage: PartnerStage::Prospect,
            manager_id: None,
            products: vec![],
            primary_contact: NewContact {
                first_name: ShortText::parse("Jane").unwrap(),
                last_name: ShortText::parse("Doe").unwrap(),
                email: Email::parse("jane@acme.com").unwrap(),
            },
        }
    }

    fn partner(org: OrganizationId) -> Partner {
        super::tests_support::partner(org)
    }

    #[tokio::test]
    async fn viewers_and_partners_cannot_create() {
        let svc = PartnerService::new(Arc::new(MockPartnerStore::new()), Arc::new(SystemClock));
        for role in [Role::Viewer, Role::Partner] {
            let err = svc.create(&principal(role), input()).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Forbidden, "{role}");
        }
    }

    #[tokio::test]
    async fn create_scopes_the_record_and_invites_the_contact_as_partner() {
        let p = principal(Role::Member);
        let org = p.membership().unwrap().organization_id;
        let mut store = MockPartnerStore::new();
        store
            .expect_create_partner()
            .withf(move |r| {
                r.organization_id == org
                    && r.invitation.invitation.role == Role::Partner
                    && r.invitation.invitation.partner_id == Some(r.id)
                    && r.contact_user.password_hash.is_none()
                    && r.contact_user.email.as_str() == "jane@acme.com"
            })
            .times(1)
            .returning(move |r| Ok((partner(org), r.invitation.invitation.clone())));
        let svc = PartnerService::new(Arc::new(store), Arc::new(SystemClock));
        svc.create(&p, input()).await.unwrap();
    }

    #[tokio::test]
    async fn duplicate_domain_is_a_conflict() {
        let mut store = MockPartnerStore::new();
        store
            .expect_create_partner()
            .returning(|_| Err(StoreError::Conflict("domain".into())));
        let svc = PartnerService::new(Arc::new(store), Arc::new(SystemClock));
        let err = svc
            .create(&principal(Role::Owner), input())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }

    #[tokio::test]
    async fn a_manager_outside_the_staff_is_invalid() {
        let mut store = MockPartnerStore::new();
        store
            .expect_is_internal_member()
            .returning(|_, _| Ok(false));
        let svc = PartnerService::new(Arc::new(store), Arc::new(SystemClock));
        let mut i = input();
        i.manager_id = Some(UserId::generate());
        let err = svc.create(&principal(Role::Owner), i).await.unwrap_err();
        assert_eq!(err.details()[0].field, "managerId");
    }

    #[tokio::test]
    async fn list_returns_a_cursor_only_when_more_rows_exist() {
        let p = principal(Role::Viewer);
        let org = p.membership().unwrap().organization_id;
        let mut store = MockPartnerStore::new();
        store
            .expect_list_partners()
            .withf(|_, _, _, limit| *limit == 3)
            .returning(move |_, _, _, _| Ok((0..3).map(|_| partner(org)).collect()));
        let svc = PartnerService::new(Arc::new(store), Arc::new(SystemClock));
        let page = svc
            .list(&p, PartnerFilter::default(), None, 2)
            .await
            .unwrap();
        assert_eq!(page.partners.len(), 2);
        let cursor = PartnerCursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(cursor.id, page.partners[1].id);
    }

    #[tokio::test]
    async fn setting_a_tier_by_hand_marks_it_manual() {
        let mut store = MockPartnerStore::new();
        let p = principal(Role::Admin);
        let org = p.membership().unwrap().organization_id;
        store
            .expect_update_partner()
            .withf(|_, _, patch, _| patch.tier_source == Some(Some(TierSource::Manual)))
            .returning(move |_, _, _, _| Ok(Some(partner(org))));
        let svc = PartnerService::new(Arc::new(store), Arc::new(SystemClock));
        let patch = PartnerPatch {
            tier: Some(Some(ShortText::parse("Gold").unwrap())),
            ..Default::default()
        };
        svc.update(&p, PartnerId::generate(), patch).await.unwrap();
    }
}
