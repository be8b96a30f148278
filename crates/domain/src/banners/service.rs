//! Banner image uploads for application forms.
//!
//! The handler asks [`BannerService::admit`] before reading the body (role and the shared
//! 20-per-minute limit), streams the file to a temporary file within the size limit, then hands
//! it to [`BannerService::store`], which judges the bytes, stores the object and, when asked,
//! points the application at it. A failure after the object was stored removes it again.

use crate::StoreError;
use crate::applications::ports::ApplicationStore;
use crate::banners::model::{ImageRejection, inspect_image};
use crate::banners::ports::{ObjectStore, StorageError, StorageProvider};
use crate::identity::access::{self, AccessError, UploadRefused};
use crate::identity::model::{ActiveMembership, Principal};
use crate::shared::clock::Clock;
use crate::shared::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::shared::rate_limit::RateLimiter;
use std::path::PathBuf;
use std::sync::Arc;

pub const UPLOADS_PER_MINUTE: u32 = 20;

/// A received file, already spooled to disk within the size limit.
#[derive(Debug, Clone)]
pub struct BannerUpload {
    pub file: PathBuf,
    /// The file's first bytes, for the content checks.
    pub head: Vec<u8>,
    pub application_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBanner {
    pub path: String,
    pub url: String,
    pub provider: StorageProvider,
}

#[derive(Debug, thiserror::Error)]
pub enum BannerError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("the image is larger than 5 MiB (5242880 bytes)")]
    TooLarge,
    #[error("{0}")]
    Unsupported(ImageRejection),
    #[error("at most 20 banner uploads a minute; retry later")]
    RateLimited { retry_after_secs: u64 },
    #[error("application not found")]
    ApplicationNotFound,
    #[error("the file store failed; nothing was changed")]
    Storage(#[source] StorageError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for BannerError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Invalid(_) => ErrorKind::Validation,
            Self::TooLarge => ErrorKind::PayloadTooLarge,
            Self::Unsupported(_) => ErrorKind::UnsupportedMediaType,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::ApplicationNotFound => ErrorKind::NotFound,
            Self::Storage(_) => ErrorKind::Upstream,
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

pub struct BannerService {
    store: Arc<dyn ObjectStore>,
    applications: Arc<dyn ApplicationStore>,
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
}

impl BannerService {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        applications: Arc<dyn ApplicationStore>,
        limiter: Arc<dyn RateLimiter>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            applications,
            limiter,
            clock,
        }
    }

    /// Role and rate limit, before any byte of the body is read. Every admitted request counts
    /// towards the limit of its user in its organization, shared by all instances.
    pub async fn admit(&self, principal: &Principal) -> Result<ActiveMembership, BannerError> {
        access::admit_upload(
            self.limiter.as_ref(),
            principal,
            "banner",
            UPLOADS_PER_MINUTE,
            self.clock.now(),
        )
        .await
        .map_err(|refused| match refused {
            UploadRefused::Access(e) => e.into(),
            UploadRefused::RateLimited { retry_after_secs } => {
                BannerError::RateLimited { retry_after_secs }
            }
            UploadRefused::Store(e) => e.into(),
        })
    }

    pub async fn store(
        &self,
        m: &ActiveMembership,
        upload: BannerUpload,
    ) -> Result<StoredBanner, BannerError> {
        let application = match upload.application_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(uuid::Uuid::try_parse(raw).map_err(|_| {
                BannerError::Invalid(ValidationErrors::single("applicationId", "must be a UUID"))
            })?),
        };
        if upload.head.is_empty() {
            return Err(BannerError::Invalid(ValidationErrors::single(
                "file",
                "an image file is required",
            )));
        }
        let (kind, _, _) = inspect_image(&upload.head).map_err(BannerError::Unsupported)?;
        if let Some(app) = application
            && !self
                .applications
                .application_exists(m.organization_id, app)
                .await?
        {
            return Err(BannerError::ApplicationNotFound);
        }
        let key = format!(
            "{}/{}.{}",
            m.organization_id,
            uuid::Uuid::new_v4(),
            kind.extension()
        );
        if let Err(e) = self
            .store
            .put_file(&key, &upload.file, kind.content_type())
            .await
        {
            // A failed put may still have written the object (a store that answers after the
            // timeout, or a connection lost after the request): remove it, so that no object is
            // left that nothing points at. Best effort: the answer is the 502 either way.
            if let Err(cleanup) = self.store.delete(&key).await {
                tracing::warn!(key = %key, error = %cleanup, "removing a banner whose upload failed failed too");
            }
            return Err(BannerError::Storage(e));
        }
        let url = self.store.public_url(&key);
        if let Some(app) = application {
            let set = self
                .applications
                .set_banner_url(m.organization_id, app, &url, self.clock.now())
                .await;
            if !matches!(set, Ok(true)) {
                // Compensate: no stored object that nothing points at.
                if let Err(e) = self.store.delete(&key).await {
                    tracing::error!(key = %key, error = %e, "removing an unused banner failed");
                }
                return Err(match set {
                    Ok(_) => BannerError::ApplicationNotFound,
                    Err(e) => e.into(),
                });
            }
        }
        Ok(StoredBanner {
            path: key,
            url,
            provider: self.store.provider(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::banners::model::samples;
    use crate::banners::ports::MockObjectStore;
    use crate::shared::clock::SystemClock;
    use crate::shared::rate_limit::{MockRateLimiter, RateDecision};
    use chrono::Duration;

    use crate::applications::ports::MockApplicationStore;
    use crate::identity::role::Role;

    use crate::shared::fixtures::principal;

    fn upload(head: &[u8], app: Option<&str>) -> BannerUpload {
        BannerUpload {
            file: PathBuf::from("/tmp/none"),
            head: head.to_vec(),
            application_id: app.map(str::to_owned),
        }
    }

    fn service(
        store: MockObjectStore,
        apps: MockApplicationStore,
        limiter: MockRateLimiter,
    ) -> BannerService {
        BannerService::new(
            Arc::new(store),
            Arc::new(apps),
            Arc::new(limiter),
            Arc::new(SystemClock),
        )
    }

    fn membership(p: &Principal) -> ActiveMembership {
        *p.membership().unwrap()
    }

    #[tokio::test]
    async fn admit_enforces_roles_and_the_per_user_limit() {
        let svc = service(
            MockObjectStore::new(),
            MockApplicationStore::new(),
            MockRateLimiter::new(),
        );
        for role in [Role::Viewer, Role::Partner] {
            assert_eq!(
                svc.admit(&principal(role)).await.unwrap_err().kind(),
                ErrorKind::Forbidden
            );
        }
        let p = principal(Role::Member);
        let org = membership(&p).organization_id;
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_hit()
            .withf(move |bucket, limit, window, _| {
                bucket.starts_with(&format!("banner:{org}:user:"))
                    && *limit == 20
                    && *window == Duration::minutes(1)
            })
            .returning(|_, _, _, _| {
                Ok(RateDecision::Limited {
                    retry_after_secs: 12,
                })
            });
        let svc = service(MockObjectStore::new(), MockApplicationStore::new(), limiter);
        let err = svc.admit(&p).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.retry_after()),
            (ErrorKind::RateLimited, Some(12))
        );
    }

    #[tokio::test]
    async fn stores_under_a_server_key_with_the_sniffed_type() {
        let p = principal(Role::Member);
        let org = membership(&p).organization_id;
        let mut store = MockObjectStore::new();
        store
            .expect_put_file()
            .withf(move |key, _, ct| {
                key.starts_with(&format!("{org}/")) && key.ends_with(".gif") && ct == "image/gif"
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        store
            .expect_public_url()
            .returning(|k| format!("https://cdn.example/{k}"));
        store.expect_provider().return_const(StorageProvider::S3);
        let svc = service(store, MockApplicationStore::new(), MockRateLimiter::new());
        let out = svc
            .store(&membership(&p), upload(samples::GIF, None))
            .await
            .unwrap();
        assert!(out.url.ends_with(&out.path));
        assert_eq!(out.provider, StorageProvider::S3);
    }

    #[tokio::test]
    async fn content_is_judged_before_anything_is_stored() {
        let p = principal(Role::Member);
        let mut store = MockObjectStore::new();
        store.expect_put_file().never();
        let svc = service(store, MockApplicationStore::new(), MockRateLimiter::new());
        let err = svc
            .store(&membership(&p), upload(b"<svg/>", None))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedMediaType);
        let err = svc
            .store(&membership(&p), upload(samples::PNG, Some("nope")))
            .await
            .unwrap_err();
        assert_eq!(err.details()[0].field, "applicationId");
    }

    #[tokio::test]
    async fn another_organizations_application_is_not_found_and_nothing_is_stored() {
        let p = principal(Role::Member);
        let mut apps = MockApplicationStore::new();
        apps.expect_application_exists().returning(|_, _| Ok(false));
        let mut store = MockObjectStore::new();
        store.expect_put_file().never();
        let svc = service(store, apps, MockRateLimiter::new());
        let err = svc
            .store(
                &membership(&p),
                upload(samples::PNG, Some(&uuid::Uuid::new_v4().to_string())),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn storage_failure_is_upstream_and_leaves_the_application_alone() {
        let p = principal(Role::Member);
        let mut apps = MockApplicationStore::new();
        apps.expect_application_exists().returning(|_, _| Ok(true));
        apps.expect_set_banner_url().never();
        let mut store = MockObjectStore::new();
        store
            .expect_put_file()
            .returning(|_, _, _| Err(StorageError::Timeout));
        // The store may have written it before its answer was lost.
        store.expect_delete().times(1).returning(|_| Ok(()));
        let svc = service(store, apps, MockRateLimiter::new());
        let err = svc
            .store(
                &membership(&p),
                upload(samples::PNG, Some(&uuid::Uuid::new_v4().to_string())),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Upstream);
    }

    #[tokio::test]
    async fn a_failed_removal_after_a_failed_put_still_answers_upstream() {
        let p = principal(Role::Member);
        let mut store = MockObjectStore::new();
        store
            .expect_put_file()
            .returning(|_, _, _| Err(StorageError::Failed("reset".into())));
        store
            .expect_delete()
            .times(1)
            .returning(|_| Err(StorageError::Timeout));
        let svc = service(store, MockApplicationStore::new(), MockRateLimiter::new());
        let err = svc
            .store(&membership(&p), upload(samples::PNG, None))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Upstream);
    }

    #[tokio::test]
    async fn failing_to_point_the_application_at_it_removes_the_object() {
        let p = principal(Role::Member);
        let mut apps = MockApplicationStore::new();
        apps.expect_application_exists().returning(|_, _| Ok(true));
        apps.expect_set_banner_url()
            .returning(|_, _, _, _| Err(StoreError::Unavailable("down".into())));
        let mut store = MockObjectStore::new();
        store.expect_put_file().returning(|_, _, _| Ok(()));
        store.expect_public_url().returning(|k| k.to_owned());
        store.expect_delete().times(1).returning(|_| Ok(()));
        let svc = service(store, apps, MockRateLimiter::new());
        let err = svc
            .store(
                &membership(&p),
                upload(samples::PNG, Some(&uuid::Uuid::new_v4().to_string())),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }
}
