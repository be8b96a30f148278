//! Application forms: building them, publishing them, taking public submissions and reviewing
//! them into partner records.

use crate::StoreError;
use crate::applications::form::ApplicationStatus;
use crate::applications::input::{ApplicationInput, CheckedSubmission, SubmitInput};
use crate::applications::model::*;
use crate::applications::ports::{ApplicationStore, Captcha, CaptchaVerdict, ReviewOutcome};
use crate::identity::access::{self, AccessError};
use crate::identity::model::Principal;
use crate::partners::model::{
    CreatePartner, NewContact, Partner, PartnerStage, PartnerType, ShortText,
};
use crate::partners::ports::PartnerStore;
use crate::partners::service::new_partner_record;
use crate::partners::web_domain::PartnerDomain;
use crate::shared::clock::Clock;
use crate::shared::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::shared::ids::PartnerId;
use crate::shared::rate_limit::{RateDecision, WriteLimit};
use crate::shared::slug::Slug;
use crate::shared::values::{BoundedText, Email};
use chrono::Duration;
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;

/// Submissions per client IP and application per minute.
pub const SUBMISSIONS_PER_MINUTE: u32 = 10;
pub const DEFAULT_PAGE: i64 = 25;

#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("this submission was already reviewed")]
    AlreadyReviewed,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ApplicationError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) if what.contains("slug") => {
                Self::Conflict("this slug is taken".into())
            }
            StoreError::Conflict(what) if what.contains("domain") => {
                Self::Conflict("this organization already has a partner with this domain".into())
            }
            StoreError::Conflict(_) => Self::Conflict("this would create a duplicate".into()),
            e => Self::Store(e),
        }
    }
}

impl Classify for ApplicationError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Invalid(_) => ErrorKind::Validation,
            Self::NotFound => ErrorKind::NotFound,
            Self::Conflict(_) | Self::AlreadyReviewed => ErrorKind::Conflict,
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

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("no published application has this slug")]
    NotFound,
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("the captcha was missing or not accepted; reload the page and try again")]
    CaptchaFailed,
    #[error("the captcha service could not be reached; nothing was recorded, try again")]
    CaptchaUnavailable(#[source] crate::applications::ports::CaptchaError),
    #[error("too many submissions from this address; try again in a minute")]
    RateLimited { retry_after_secs: u64 },
    #[error("an application with this email is already pending or approved")]
    Duplicate,
    #[error(transparent)]
    Store(StoreError),
}

impl Classify for SubmitError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::Invalid(_) => ErrorKind::Validation,
            Self::CaptchaFailed => ErrorKind::CaptchaFailed,
            Self::CaptchaUnavailable(_) => ErrorKind::Upstream,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Duplicate => ErrorKind::DuplicateSubmission,
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
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// What the public sees of a published form.
#[derive(Debug, Clone)]
pub struct PublicForm {
    pub application: Application,
    pub turnstile_site_key: Option<String>,
}

pub struct ApplicationService {
    applications: Arc<dyn ApplicationStore>,
    partners: Arc<dyn PartnerStore>,
    captcha: Option<Arc<dyn Captcha>>,
    turnstile_site_key: Option<String>,
    clock: Arc<dyn Clock>,
}

impl ApplicationService {
    pub fn new(
        applications: Arc<dyn ApplicationStore>,
        partners: Arc<dyn PartnerStore>,
        captcha: Option<Arc<dyn Captcha>>,
        turnstile_site_key: Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            applications,
            partners,
            captcha,
            turnstile_site_key,
            clock,
        }
    }

    pub async fn create(
        &self,
        principal: &Principal,
        input: ApplicationInput,
    ) -> Result<Application, ApplicationError> {
        let m = access::writer(principal)?;
        let mut missing = ValidationErrors::new();
        if input.name.is_none() {
            missing.push("name", "is required");
        }
        if input.slug.is_none() {
            missing.push("slug", "is required");
        }
        missing.into_result().map_err(ApplicationError::Invalid)?;
        let p = ApplicationPatch::parse(&input, None).map_err(ApplicationError::Invalid)?;
        let now = self.clock.now();
        let app = Application {
            id: uuid::Uuid::now_v7(),
            organization_id: m.organization_id,
            name: p.name.unwrap_or_default(),
            slug: p.slug.unwrap_or_default(),
            status: p.status.unwrap_or(ApplicationStatus::Draft),
            fields: p.fields.unwrap_or_default(),
            agreements: p.agreements.unwrap_or_default(),
            content: p.content.unwrap_or_default(),
            partner_mapping: p.partner_mapping.unwrap_or_default(),
            notify_on_submission: p.notify_on_submission.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        Self::check_publishable(&app)?;
        self.applications.create_application(app.clone()).await?;
        Ok(app)
    }

    /// A published form needs at least one field.
    fn check_publishable(app: &Application) -> Result<(), ApplicationError> {
        if app.status == ApplicationStatus::Published && app.fields.is_empty() {
            return Err(ApplicationError::Invalid(ValidationErrors::single(
                "fields",
                "a published application needs at least one field",
            )));
        }
        Ok(())
    }

    pub async fn list(&self, principal: &Principal) -> Result<Vec<Application>, ApplicationError> {
        let m = access::internal_reader(principal)?;
        Ok(self
            .applications
            .list_applications(m.organization_id)
            .await?)
    }

    pub async fn get(
        &self,
        principal: &Principal,
        id: uuid::Uuid,
    ) -> Result<Application, ApplicationError> {
        let m = access::internal_reader(principal)?;
        self.applications
            .get_application(m.organization_id, id)
            .await?
            .ok_or(ApplicationError::NotFound)
    }

    pub async fn update(
        &self,
        principal: &Principal,
        id: uuid::Uuid,
        input: ApplicationInput,
    ) -> Result<Application, ApplicationError> {
        let m = access::writer(principal)?;
        let current = self
            .applications
            .get_application(m.organization_id, id)
            .await?
            .ok_or(ApplicationError::NotFound)?;
        let mut patch = ApplicationPatch::parse(&input, Some(&current.fields))
            .map_err(ApplicationError::Invalid)?;
        let mut preview = current.clone();
        if let Some(s) = patch.status {
            preview.status = s;
        }
        if let Some(f) = &patch.fields {
            preview.fields = f.clone();
        }
        Self::check_publishable(&preview)?;
        // A banner set by upload survives a content edit that does not mention it.
        if let Some(c) = &mut patch.content
            && c.banner_url.is_none()
            && input
                .content
                .as_ref()
                .is_some_and(|v| v.get("bannerUrl").is_none())
        {
            c.banner_url = current.content.banner_url.clone();
        }
        self.applications
            .update_application(m.organization_id, id, patch, self.clock.now())
            .await?
            .ok_or(ApplicationError::NotFound)
    }

    pub async fn delete(
        &self,
        principal: &Principal,
        id: uuid::Uuid,
    ) -> Result<(), ApplicationError> {
        let m = access::writer(principal)?;
        if self
            .applications
            .delete_application(m.organization_id, id)
            .await?
        {
            Ok(())
        } else {
            Err(ApplicationError::NotFound)
        }
    }

    pub async fn create_affiliate_link(
        &self,
        principal: &Principal,
        application: uuid::Uuid,
        slug: &str,
        label: Option<&str>,
        partner: Option<uuid::Uuid>,
    ) -> Result<AffiliateLink, ApplicationError> {
        let m = access::writer(principal)?;
        let mut e = ValidationErrors::new();
        let slug = e.check("slug", Slug::parse(slug).map(Slug::into_inner));
        let label = label
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .and_then(|l| {
                e.check("label", BoundedText::<200>::parse(l))
                    .map(BoundedText::into_inner)
            });
        e.into_result().map_err(ApplicationError::Invalid)?;
        if !self
            .applications
            .application_exists(m.organization_id, application)
            .await?
        {
            return Err(ApplicationError::NotFound);
        }
        let partner_id = match partner {
            Some(p) => {
                let id = PartnerId::from_uuid(p);
                if self
                    .partners
                    .get_partner(m.organization_id, id)
                    .await?
                    .is_none()
                {
                    return Err(ApplicationError::Invalid(ValidationErrors::single(
                        "partnerId",
                        "must be a partner of the organization",
                    )));
                }
                Some(id)
            }
            None => None,
        };
        let link = AffiliateLink {
            id: uuid::Uuid::now_v7(),
            application_id: application,
            slug: slug.unwrap_or_default(),
            label,
            partner_id,
            lead_count: 0,
            created_at: self.clock.now(),
        };
        self.applications
            .create_affiliate_link(m.organization_id, link.clone())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => ApplicationError::Conflict(
                    "this application already has a link with this slug".into(),
                ),
                e => e.into(),
            })?;
        Ok(link)
    }

    pub async fn list_affiliate_links(
        &self,
        principal: &Principal,
        application: uuid::Uuid,
    ) -> Result<Vec<AffiliateLink>, ApplicationError> {
        let m = access::internal_reader(principal)?;
        if !self
            .applications
            .application_exists(m.organization_id, application)
            .await?
        {
            return Err(ApplicationError::NotFound);
        }
        Ok(self
            .applications
            .list_affiliate_links(m.organization_id, application)
            .await?)
    }

    pub async fn list_submissions(
        &self,
        principal: &Principal,
        application: uuid::Uuid,
        after: Option<SubmissionCursor>,
        limit: i64,
    ) -> Result<(Vec<Submission>, Option<String>), ApplicationError> {
        let m = access::internal_reader(principal)?;
        if !self
            .applications
            .application_exists(m.organization_id, application)
            .await?
        {
            return Err(ApplicationError::NotFound);
        }
        let limit = limit.clamp(1, crate::partners::service::MAX_PAGE);
        let mut rows = self
            .applications
            .list_submissions(m.organization_id, application, after, limit + 1)
            .await?;
        let next = crate::shared::page::trim_page(&mut rows, limit, |s| {
            SubmissionCursor::after(s).encode()
        });
        Ok((rows, next))
    }

    /// Creates the partner (and its primary contact) from the answers, through the form's
    /// partner mapping, and marks the submission approved — atomically.
    pub async fn approve(
        &self,
        principal: &Principal,
        submission: uuid::Uuid,
    ) -> Result<(Submission, Partner), ApplicationError> {
        let m = access::writer(principal)?;
        let found = self
            .applications
            .get_submission(m.organization_id, submission)
            .await?
            .ok_or(ApplicationError::NotFound)?;
        if found.status != SubmissionStatus::Pending {
            return Err(ApplicationError::AlreadyReviewed);
        }
        let app = self
            .applications
            .get_application(m.organization_id, found.application_id)
            .await?
            .ok_or(ApplicationError::NotFound)?;
        let input = partner_from_answers(&app, &found).map_err(ApplicationError::Invalid)?;
        let record = new_partner_record(
            m.organization_id,
            principal.user_id(),
            input,
            self.clock.now(),
        );
        // The contact's portal invitation goes out through the outbox relay.
        match self
            .applications
            .approve_submission(submission, record, principal.user_id())
            .await?
        {
            ReviewOutcome::Done((submission, partner, _invitation)) => Ok((submission, partner)),
            ReviewOutcome::NotFound => Err(ApplicationError::NotFound),
            ReviewOutcome::NotPending => Err(ApplicationError::AlreadyReviewed),
        }
    }

    pub async fn reject(
        &self,
        principal: &Principal,
        submission: uuid::Uuid,
        reason: Option<&str>,
    ) -> Result<Submission, ApplicationError> {
        let m = access::writer(principal)?;
        let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(
                BoundedText::<2000>::parse(r)
                    .map_err(|e| {
                        ApplicationError::Invalid(ValidationErrors::single("reason", e.0))
                    })?
                    .into_inner(),
            ),
            None => None,
        };
        match self
            .applications
            .reject_submission(
                m.organization_id,
                submission,
                reason,
                principal.user_id(),
                self.clock.now(),
            )
            .await?
        {
            ReviewOutcome::Done(s) => Ok(s),
            ReviewOutcome::NotFound => Err(ApplicationError::NotFound),
            ReviewOutcome::NotPending => Err(ApplicationError::AlreadyReviewed),
        }
    }

    pub async fn public_form(&self, slug: &str) -> Result<PublicForm, SubmitError> {
        if Slug::parse(slug).is_err() {
            return Err(SubmitError::NotFound);
        }
        let application = self
            .applications
            .published_application(slug)
            .await
            .map_err(SubmitError::Store)?
            .ok_or(SubmitError::NotFound)?;
        Ok(PublicForm {
            application,
            turnstile_site_key: self.turnstile_site_key.clone(),
        })
    }

    /// Takes a public submission; returns the confirmation message to show.
    pub async fn submit(
        &self,
        input: SubmitInput,
        client_ip: Option<IpAddr>,
    ) -> Result<String, SubmitError> {
        let form = self.public_form(&input.slug).await?.application;
        let ip = client_ip.map(|i| i.to_string());
        if let Some(captcha) = &self.captcha {
            let token = input
                .turnstile_token
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(SubmitError::CaptchaFailed)?;
            match captcha.verify(token, client_ip).await {
                Ok(CaptchaVerdict::Passed) => {}
                Ok(CaptchaVerdict::Failed(_)) => return Err(SubmitError::CaptchaFailed),
                Err(e) => return Err(SubmitError::CaptchaUnavailable(e)),
            }
        }
        let checked = CheckedSubmission::parse(&form, &input).map_err(SubmitError::Invalid)?;
        let valid = checked.answers;
        let affiliate_slug = checked.affiliate_slug;
        let submission = NewSubmission {
            id: uuid::Uuid::now_v7(),
            organization_id: form.organization_id,
            application_id: form.id,
            form_data: valid.values,
            accepted_agreements: valid.accepted_agreements,
            email: valid.email,
            affiliate_slug,
            client_ip: ip.clone(),
            created_at: self.clock.now(),
        };
        // The per-address limit is checked and counted with the write itself: one transaction,
        // and only submissions that are stored count towards it.
        let limit = WriteLimit {
            bucket: format!(
                "submit:{}:{}",
                form.id,
                client_ip.map_or_else(|| "unknown".to_owned(), crate::identity::model::address_key)
            ),
            limit: SUBMISSIONS_PER_MINUTE,
            window: Duration::minutes(1),
        };
        match self.applications.insert_submission(submission, limit).await {
            Ok(RateDecision::Allowed) => {}
            Ok(RateDecision::Limited { retry_after_secs }) => {
                return Err(SubmitError::RateLimited { retry_after_secs });
            }
            Err(StoreError::Conflict(_)) => return Err(SubmitError::Duplicate),
            Err(e) => return Err(SubmitError::Store(e)),
        }
        Ok(form.content.confirmation().to_owned())
    }
}

/// Builds the partner record from a submission's answers through the form's mapping.
pub fn partner_from_answers(
    app: &Application,
    submission: &Submission,
) -> Result<CreatePartner, ValidationErrors> {
    let mapping = &app.partner_mapping;
    let answer = |mapped: &Option<String>, conventional: &[&str]| -> Option<String> {
        let keys: Vec<&str> = match mapped {
            Some(k) => vec![k.as_str()],
            None => conventional.to_vec(),
        };
        keys.iter()
            .filter_map(|k| submission.form_data.get(*k).and_then(Value::as_str))
            .map(str::trim)
            .find(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let mut e = ValidationErrors::new();
    let name = answer(
        &mapping.name,
        &["companyName", "company", "organization", "organizationName"],
    );
    let name = match name {
        Some(n) => e.check("partnerMapping.name", BoundedText::<200>::parse(&n)),
        None => {
            e.push(
                "partnerMapping.name",
                "the answers have no company name; map a field to `name`",
            );
            None
        }
    };
    let domain = answer(
        &mapping.domain,
        &["website", "domain", "companyWebsite", "url"],
    )
    .and_then(|d| PartnerDomain::parse(&d).ok());
    let first = answer(
        &mapping.first_name,
        &["firstName", "first_name", "givenName"],
    );
    let last = answer(
        &mapping.last_name,
        &["lastName", "last_name", "familyName", "surname"],
    );
    let email = match &mapping.email {
        Some(_) => answer(&mapping.email, &[]),
        None => submission.email.clone(),
    };
    let first = match first {
        Some(f) => e.check("partnerMapping.firstName", ShortText::parse(&f)),
        None => {
            e.push(
                "partnerMapping.firstName",
                "the answers have no first name; map a field to `firstName`",
            );
            None
        }
    };
    let last = match last {
        Some(l) => e.check("partnerMapping.lastName", ShortText::parse(&l)),
        None => {
            e.push(
                "partnerMapping.lastName",
                "the answers have no last name; map a field to `lastName`",
            );
            None
        }
    };
    let email = match email {
        Some(m) => e.check("partnerMapping.email", Email::parse(&m)),
        None => {
            e.push(
                "partnerMapping.email",
                "the answers have no email; map a field to `email`",
            );
            None
        }
    };
    match (name, first, last, email) {
        (Some(name), Some(first_name), Some(last_name), Some(email)) if e.is_empty() => {
            Ok(CreatePartner {
                name,
                domain,
                logo_url: None,
                partner_type: mapping.partner_type.unwrap_or(PartnerType::Referral),
                subtype: None,
                category: None,
                tier: None,
                stage: PartnerStage::Onboarding,
                manager_id: None,
                products: vec![],
                primary_contact: NewContact {
                    first_name,
                    last_name,
                    email,
                },
            })
        }
        _ => Err(e),
    }
}
