//! Legal agreement templates, prepared in the e-signature service (Docuseal).
//!
//! Creation calls Docuseal first and records afterwards; when recording fails after Docuseal
//! accepted, the Docuseal template is archived again, so neither side keeps an orphan.

use crate::StoreError;
use crate::identity::access::{self, AccessError, UploadRefused};
use crate::identity::model::Principal;
use crate::legal::model as legal;
use crate::legal::model::{LegalTemplate, MAX_PDF_BYTES, TemplateScope};
use crate::legal::ports::{ESignature, ESignatureError, LegalTemplateStore, NewSignatureTemplate};
use crate::partners::ports::PartnerStore;
use crate::shared::clock::Clock;
use crate::shared::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::shared::ids::PartnerId;
use crate::shared::rate_limit::RateLimiter;
use crate::shared::values::BoundedText;
use std::sync::Arc;

/// Template uploads admitted per minute per user (or API key) per organization.
pub const UPLOADS_PER_MINUTE: u32 = 10;

/// A create request as received (multipart parts), before validation. The PDF was streamed to
/// a temporary file within the size limit while it was received.
#[derive(Debug, Clone, Default)]
pub struct TemplateUpload {
    pub partner_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub scope: Option<String>,
    pub roles: Option<String>,
    pub fields: Option<String>,
    /// The spooled file; `None` when the form had no file part.
    pub pdf: Option<std::path::PathBuf>,
    /// The file's first bytes, for the content check.
    pub head: Vec<u8>,
    /// The file's size in bytes.
    pub len: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum LegalTemplateError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("the file is not a PDF")]
    NotPdf,
    #[error("the PDF is larger than 20 MiB")]
    TooLarge,
    #[error("too many template uploads; try again later")]
    RateLimited { retry_after_secs: u64 },
    #[error("partner not found")]
    PartnerNotFound,
    #[error("legal template not found")]
    NotFound,
    #[error("a legal template with this name already exists in the organization")]
    NameTaken,
    #[error("{}", upstream_message(.0))]
    Upstream(#[source] ESignatureError),
    #[error(transparent)]
    Store(StoreError),
}

/// Our own sentence for each Docuseal failure; Docuseal's own words stay in the log.
fn upstream_message(e: &ESignatureError) -> String {
    match e {
        ESignatureError::NotConfigured => "Docuseal is not configured".into(),
        ESignatureError::ProEditionRequired => e.to_string(),
        ESignatureError::Unauthorized => "Docuseal refused the configured API key".into(),
        ESignatureError::Rejected(_) => "Docuseal refused the template".into(),
        ESignatureError::Timeout => "Docuseal did not answer in time; nothing was recorded".into(),
        ESignatureError::Unavailable(_) => {
            "Docuseal is unreachable or failing; nothing was recorded".into()
        }
        ESignatureError::InvalidResponse(_) => {
            "Docuseal answered something unexpected; nothing was recorded".into()
        }
    }
}

impl From<StoreError> for LegalTemplateError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => Self::NameTaken,
            e => Self::Store(e),
        }
    }
}

impl Classify for LegalTemplateError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Invalid(_) => ErrorKind::Validation,
            Self::NotPdf => ErrorKind::UnsupportedMediaType,
            Self::TooLarge => ErrorKind::PayloadTooLarge,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::PartnerNotFound | Self::NotFound => ErrorKind::NotFound,
            Self::NameTaken => ErrorKind::NameTaken,
            Self::Upstream(_) => ErrorKind::Upstream,
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

struct Validated {
    partner_id: PartnerId,
    name: String,
    description: Option<String>,
    scope: TemplateScope,
    roles: Vec<String>,
    fields: Vec<crate::legal::ports::FieldPlacement>,
}

fn validate(upload: &TemplateUpload) -> Result<Validated, LegalTemplateError> {
    let mut e = ValidationErrors::new();
    let partner_id = match upload.partner_id.as_deref().map(str::trim) {
        Some(raw) => match uuid::Uuid::try_parse(raw) {
            Ok(id) => Some(PartnerId::from_uuid(id)),
            Err(_) => {
                e.push("partnerId", "must be a UUID");
                None
            }
        },
        None => {
            e.push("partnerId", "is required");
            None
        }
    };
    let name = match upload.name.as_deref() {
        Some(n) => e
            .check("name", BoundedText::<200>::parse(n))
            .map(BoundedText::into_inner),
        None => {
            e.push("name", "is required");
            None
        }
    };
    let description = match upload.description.as_deref().map(str::trim) {
        Some(d) if d.chars().count() > 2000 => {
            e.push("description", "must be at most 2000 characters");
            None
        }
        Some("") | None => None,
        Some(d) => Some(d.to_owned()),
    };
    let scope = match upload.scope.as_deref() {
        Some(s) => e.check("scope", TemplateScope::parse(s)),
        None => {
            e.push("scope", "is required (reusable or one_off)");
            None
        }
    };
    let roles = match upload.roles.as_deref() {
        Some(r) => match legal::parse_roles(r) {
            Ok(r) => Some(r),
            Err(errs) => {
                e.0.extend(errs.0);
                None
            }
        },
        None => {
            e.push("roles", "is required");
            None
        }
    };
    let fields = match (upload.fields.as_deref(), &roles) {
        (Some(f), Some(roles)) => match legal::parse_fields(f, roles) {
            Ok(f) => Some(f),
            Err(errs) => {
                e.0.extend(errs.0);
                None
            }
        },
        (Some(_), None) => None,
        (None, _) => {
            e.push("fields", "is required");
            None
        }
    };
    match (partner_id, name, scope, roles, fields) {
        (Some(partner_id), Some(name), Some(scope), Some(roles), Some(fields)) if e.is_empty() => {
            Ok(Validated {
                partner_id,
                name,
                description,
                scope,
                roles,
                fields,
            })
        }
        _ => Err(LegalTemplateError::Invalid(e)),
    }
}

pub struct LegalTemplateService {
    templates: Arc<dyn LegalTemplateStore>,
    partners: Arc<dyn PartnerStore>,
    esign: Arc<dyn ESignature>,
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
}

impl LegalTemplateService {
    pub fn new(
        templates: Arc<dyn LegalTemplateStore>,
        partners: Arc<dyn PartnerStore>,
        esign: Arc<dyn ESignature>,
        limiter: Arc<dyn RateLimiter>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            templates,
            partners,
            esign,
            limiter,
            clock,
        }
    }

    /// Role and rate limit, before any byte of the upload is read (a refused request costs a
    /// token lookup, not 20 MiB). Counted per user (or API key) per organization, shared by
    /// every instance.
    pub async fn admit(&self, principal: &Principal) -> Result<(), LegalTemplateError> {
        access::admit_upload(
            self.limiter.as_ref(),
            principal,
            "legal-template",
            UPLOADS_PER_MINUTE,
            self.clock.now(),
        )
        .await
        .map(|_| ())
        .map_err(|refused| match refused {
            UploadRefused::Access(e) => e.into(),
            UploadRefused::RateLimited { retry_after_secs } => {
                LegalTemplateError::RateLimited { retry_after_secs }
            }
            UploadRefused::Store(e) => LegalTemplateError::Store(e),
        })
    }

    pub async fn create(
        &self,
        principal: &Principal,
        upload: TemplateUpload,
    ) -> Result<LegalTemplate, LegalTemplateError> {
        let m = access::writer(principal)?;
        if upload.len > MAX_PDF_BYTES as u64 {
            return Err(LegalTemplateError::TooLarge);
        }
        let pdf = upload.pdf.clone().filter(|_| upload.len > 0);
        let Some(pdf) = pdf.filter(|_| legal::is_pdf(&upload.head)) else {
            return Err(if upload.len == 0 {
                LegalTemplateError::Invalid(ValidationErrors::single(
                    "file",
                    "a PDF file is required",
                ))
            } else {
                LegalTemplateError::NotPdf
            });
        };
        let v = validate(&upload)?;
        if self
            .partners
            .get_partner(m.organization_id, v.partner_id)
            .await?
            .is_none()
        {
            return Err(LegalTemplateError::PartnerNotFound);
        }
        if self
            .templates
            .template_name_taken(m.organization_id, &v.name)
            .await?
        {
            return Err(LegalTemplateError::NameTaken);
        }
        let id = uuid::Uuid::now_v7();
        let created = self
            .esign
            .create_template(NewSignatureTemplate {
                name: v.name.clone(),
                external_id: id.to_string(),
                pdf,
                roles: v.roles.clone(),
                fields: v.fields.clone(),
            })
            .await
            .map_err(LegalTemplateError::Upstream)?;
        let template = LegalTemplate {
            id,
            organization_id: m.organization_id,
            partner_id: v.partner_id,
            name: v.name,
            description: v.description,
            scope: v.scope,
            roles: v.roles,
            fields: v.fields,
            docuseal_template_id: created.id,
            docuseal_slug: created.slug,
            created_by: principal.user_id(),
            created_at: self.clock.now(),
        };
        if let Err(e) = self.templates.insert_template(template.clone()).await {
            // Compensate: no Docuseal template without a record.
            if let Err(archive) = self.esign.archive_template(created.id).await {
                tracing::error!(
                    docuseal_template_id = created.id,
                    error = %archive,
                    "archiving an orphaned Docuseal template failed; archive it by hand"
                );
            }
            return Err(e.into());
        }
        Ok(template)
    }

    pub async fn list(
        &self,
        principal: &Principal,
        partner: Option<PartnerId>,
    ) -> Result<Vec<LegalTemplate>, LegalTemplateError> {
        let m = access::internal_reader(principal)?;
        Ok(self
            .templates
            .list_templates(m.organization_id, partner)
            .await?)
    }

    pub async fn get(
        &self,
        principal: &Principal,
        id: uuid::Uuid,
    ) -> Result<LegalTemplate, LegalTemplateError> {
        let m = access::internal_reader(principal)?;
        self.templates
            .get_template(m.organization_id, id)
            .await?
            .ok_or(LegalTemplateError::NotFound)
    }

    /// Archives the template in Docuseal, then deletes the record. When Docuseal fails, the
    /// record stays (502), so the deletion can be retried.
    pub async fn delete(
        &self,
        principal: &Principal,
        id: uuid::Uuid,
    ) -> Result<(), LegalTemplateError> {
        let m = access::writer(principal)?;
        let template = self
            .templates
            .get_template(m.organization_id, id)
            .await?
            .ok_or(LegalTemplateError::NotFound)?;
        self.esign
            .archive_template(template.docuseal_template_id)
            .await
            .map_err(LegalTemplateError::Upstream)?;
        if self
            .templates
            .delete_template(m.organization_id, id)
            .await?
        {
            Ok(())
        } else {
            Err(LegalTemplateError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal::ports::{MockESignature, MockLegalTemplateStore, SignatureTemplate};
    use crate::shared::clock::SystemClock;
    use crate::shared::rate_limit::{MockRateLimiter, RateDecision};

    use crate::identity::role::Role;
    use crate::partners::ports::MockPartnerStore;

    use crate::shared::fixtures::principal;

    fn upload() -> TemplateUpload {
        TemplateUpload {
            partner_id: Some(uuid::Uuid::now_v7().to_string()),
            name: Some("NDA".into()),
            description: None,
            scope: Some("reusable".into()),
            roles: Some(r#"["Partner","PartnerOS"]"#.into()),
            fields: Some(
                r#"[{"name":"Sign","type":"signature","role":"Partner","page":1,"x":0.1,"y":0.8,"width":0.3,"height":0.05}]"#.into(),
            ),
            pdf: Some("spooled.pdf".into()),
            head: b"%PDF-1.7 test".to_vec(),
            len: 13,
        }
    }

    fn partner_found() -> MockPartnerStore {
        let mut p = MockPartnerStore::new();
        p.expect_get_partner().returning(|org, id| {
            let mut partner = crate::partners::service::tests_support::partner(org);
            partner.id = id;
            Ok(Some(partner))
        });
        p
    }

    fn service(
        t: MockLegalTemplateStore,
        p: MockPartnerStore,
        e: MockESignature,
    ) -> LegalTemplateService {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_hit()
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        LegalTemplateService::new(
            Arc::new(t),
            Arc::new(p),
            Arc::new(e),
            Arc::new(limiter),
            Arc::new(SystemClock),
        )
    }

    #[tokio::test]
    async fn success_creates_in_docuseal_then_records() {
        let mut t = MockLegalTemplateStore::new();
        t.expect_template_name_taken().returning(|_, _| Ok(false));
        t.expect_insert_template()
            .withf(|tpl| {
                tpl.docuseal_template_id == 42 && tpl.docuseal_slug == "abc" && tpl.roles.len() == 2
            })
            .times(1)
            .returning(|_| Ok(()));
        let mut e = MockESignature::new();
        e.expect_create_template()
            .withf(|n| n.name == "NDA" && n.pdf.ends_with("spooled.pdf") && n.fields.len() == 1)
            .times(1)
            .returning(|_| {
                Ok(SignatureTemplate {
                    id: 42,
                    slug: "abc".into(),
                })
            });
        e.expect_archive_template().never();
        let tpl = service(t, partner_found(), e)
            .create(&principal(Role::Member), upload())
            .await
            .unwrap();
        assert_eq!(tpl.docuseal_template_id, 42);
    }

    #[tokio::test]
    async fn a_taken_name_never_reaches_docuseal() {
        let mut t = MockLegalTemplateStore::new();
        t.expect_template_name_taken().returning(|_, _| Ok(true));
        let mut e = MockESignature::new();
        e.expect_create_template().never();
        let err = service(t, partner_found(), e)
            .create(&principal(Role::Owner), upload())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NameTaken);
    }

    #[tokio::test]
    async fn docuseal_failure_records_nothing() {
        let mut t = MockLegalTemplateStore::new();
        t.expect_template_name_taken().returning(|_, _| Ok(false));
        t.expect_insert_template().never();
        let mut e = MockESignature::new();
        e.expect_create_template()
            .returning(|_| Err(ESignatureError::ProEditionRequired));
        let err = service(t, partner_found(), e)
            .create(&principal(Role::Admin), upload())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Upstream);
        assert!(err.to_string().contains("Pro"), "{err}");
    }

    #[tokio::test]
    async fn recording_failure_after_docuseal_accepted_archives_the_template() {
        let mut t = MockLegalTemplateStore::new();
        t.expect_template_name_taken().returning(|_, _| Ok(false));
        t.expect_insert_template()
            .returning(|_| Err(StoreError::Conflict("legal_templates_name_key".into())));
        let mut e = MockESignature::new();
        e.expect_create_template().returning(|_| {
            Ok(SignatureTemplate {
                id: 7,
                slug: "s".into(),
            })
        });
        e.expect_archive_template()
            .withf(|id| *id == 7)
            .times(1)
            .returning(|_| Ok(()));
        let err = service(t, partner_found(), e)
            .create(&principal(Role::Member), upload())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NameTaken);
    }

    #[tokio::test]
    async fn content_size_partner_and_role_checks_come_first() {
        let svc = || {
            service(
                MockLegalTemplateStore::new(),
                MockPartnerStore::new(),
                MockESignature::new(),
            )
        };
        let mut u = upload();
        u.head = b"<html>".to_vec();
        assert_eq!(
            svc()
                .create(&principal(Role::Member), u)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::UnsupportedMediaType
        );
        let mut u = upload();
        u.len = MAX_PDF_BYTES as u64 + 1;
        assert_eq!(
            svc()
                .create(&principal(Role::Member), u)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::PayloadTooLarge
        );
        for role in [Role::Viewer, Role::Partner] {
            assert_eq!(
                svc()
                    .create(&principal(role), upload())
                    .await
                    .unwrap_err()
                    .kind(),
                ErrorKind::Forbidden
            );
        }
        let mut p = MockPartnerStore::new();
        p.expect_get_partner().returning(|_, _| Ok(None));
        let err = service(MockLegalTemplateStore::new(), p, MockESignature::new())
            .create(&principal(Role::Member), upload())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn uploads_are_admitted_by_role_and_rate_before_they_are_read() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_hit()
            .withf(|bucket, limit, _, _| bucket.starts_with("legal-template:") && *limit == 10)
            .returning(|_, _, _, _| {
                Ok(RateDecision::Limited {
                    retry_after_secs: 30,
                })
            });
        let svc = LegalTemplateService::new(
            Arc::new(MockLegalTemplateStore::new()),
            Arc::new(MockPartnerStore::new()),
            Arc::new(MockESignature::new()),
            Arc::new(limiter),
            Arc::new(SystemClock),
        );
        let err = svc.admit(&principal(Role::Member)).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.retry_after()),
            (ErrorKind::RateLimited, Some(30))
        );
        // A viewer is refused before the limiter is asked.
        let err = svc.admit(&principal(Role::Viewer)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Forbidden);
    }

    #[tokio::test]
    async fn invalid_parts_are_reported_together() {
        let svc = service(
            MockLegalTemplateStore::new(),
            MockPartnerStore::new(),
            MockESignature::new(),
        );
        let mut u = upload();
        u.name = Some(" ".into());
        u.scope = Some("forever".into());
        u.fields = Some(r#"[{"name":"x"}]"#.into());
        u.partner_id = Some("nope".into());
        let err = svc.create(&principal(Role::Member), u).await.unwrap_err();
        let fields: Vec<_> = err.details().iter().map(|d| d.field.as_str()).collect();
        for f in ["partnerId", "name", "scope", "fields[0].type"] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }

    #[tokio::test]
    async fn delete_keeps_the_record_when_docuseal_fails() {
        let mut t = MockLegalTemplateStore::new();
        let p = principal(Role::Member);
        let org = p.membership().unwrap().organization_id;
        t.expect_get_template().returning(move |_, id| {
            Ok(Some(LegalTemplate {
                id,
                organization_id: org,
                partner_id: PartnerId::generate(),
                name: "NDA".into(),
                description: None,
                scope: TemplateScope::Reusable,
                roles: vec!["Partner".into()],
                fields: vec![],
                docuseal_template_id: 9,
                docuseal_slug: "s".into(),
                created_by: None,
                created_at: chrono::Utc::now(),
            }))
        });
        t.expect_delete_template().never();
        let mut e = MockESignature::new();
        e.expect_archive_template()
            .returning(|_| Err(ESignatureError::Timeout));
        let err = service(t, MockPartnerStore::new(), e)
            .delete(&p, uuid::Uuid::now_v7())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Upstream);
    }
}
