//! Organization API keys: the machine credential.

use crate::StoreError;
use crate::identity::access::{self, AccessError};
use crate::identity::model::{API_KEY_PREFIX, ApiKey, NewApiKey, Principal};
use crate::identity::ports::ApiKeyStore;
use crate::identity::role::Role;
use crate::shared::clock::Clock;
use crate::shared::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::shared::ids::{ApiKeyId, OrganizationId, UserId};
use crate::shared::secret::{IssuedToken, Secret};
use crate::shared::values::BoundedText;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for ApiKeyError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Invalid(_) => ErrorKind::Validation,
            Self::NotFound => ErrorKind::NotFound,
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

pub struct ApiKeyService {
    keys: Arc<dyn ApiKeyStore>,
    clock: Arc<dyn Clock>,
}

impl ApiKeyService {
    pub fn new(keys: Arc<dyn ApiKeyStore>, clock: Arc<dyn Clock>) -> Self {
        Self { keys, clock }
    }

    /// Creates a key with `admin`, `member` or `viewer` rights; the secret is returned once.
    pub async fn create(
        &self,
        principal: &Principal,
        name: &str,
        role: &str,
    ) -> Result<(ApiKey, Secret), ApiKeyError> {
        let m = access::manager(principal)?;
        self.issue(m.organization_id, principal.user_id(), name, role)
            .await
    }

    /// The operator's entry point (the `admin create-api-key` command): the same rules as
    /// [`create`](Self::create) for an organization named by the operator, who has shell access
    /// to the server and therefore no principal; the key records no creator.
    pub async fn create_for_operator(
        &self,
        organization: OrganizationId,
        name: &str,
        role: &str,
    ) -> Result<(ApiKey, Secret), ApiKeyError> {
        self.issue(organization, None, name, role).await
    }

    async fn issue(
        &self,
        organization: OrganizationId,
        created_by: Option<UserId>,
        name: &str,
        role: &str,
    ) -> Result<(ApiKey, Secret), ApiKeyError> {
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", BoundedText::<200>::parse(name));
        let role = errors.check("role", role.parse::<Role>());
        if let Some(r) = role
            && !matches!(r, Role::Admin | Role::Member | Role::Viewer)
        {
            errors.push("role", "must be one of admin, member, viewer");
        }
        let (Some(name), Some(role)) = (name, role) else {
            return Err(ApiKeyError::Invalid(errors));
        };
        errors.into_result().map_err(ApiKeyError::Invalid)?;
        let token = IssuedToken::generate(API_KEY_PREFIX);
        let key = ApiKey {
            id: ApiKeyId::generate(),
            organization_id: organization,
            name: name.into_inner(),
            role,
            prefix: token
                .token
                .expose()
                .chars()
                .take(API_KEY_PREFIX.len() + 6)
                .collect(),
            created_by,
            created_at: self.clock.now(),
            last_used_at: None,
        };
        let secret = token.token.clone();
        self.keys
            .create_api_key(NewApiKey {
                key: key.clone(),
                token,
            })
            .await?;
        Ok((key, secret))
    }

    pub async fn list(&self, principal: &Principal) -> Result<Vec<ApiKey>, ApiKeyError> {
        let m = access::manager(principal)?;
        Ok(self.keys.list_api_keys(m.organization_id).await?)
    }

    pub async fn revoke(&self, principal: &Principal, id: ApiKeyId) -> Result<(), ApiKeyError> {
        let m = access::manager(principal)?;
        if self
            .keys
            .revoke_api_key(m.organization_id, id, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(ApiKeyError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::model::ActiveMembership;
    use crate::identity::ports::MockApiKeyStore;
    use crate::shared::clock::SystemClock;
    use crate::shared::ids::SessionId;

    fn admin() -> Principal {
        Principal::User {
            user_id: UserId::generate(),
            session_id: SessionId::generate(),
            membership: Some(ActiveMembership {
                organization_id: OrganizationId::generate(),
                role: Role::Admin,
                partner_id: None,
            }),
        }
    }

    #[tokio::test]
    async fn owner_keys_are_refused() {
        let svc = ApiKeyService::new(Arc::new(MockApiKeyStore::new()), Arc::new(SystemClock));
        let err = svc.create(&admin(), "ci", "owner").await.unwrap_err();
        assert_eq!(err.details()[0].field, "role");
    }

    #[tokio::test]
    async fn the_stored_hash_matches_the_returned_secret() {
        let mut store = MockApiKeyStore::new();
        store.expect_create_api_key().times(1).returning(|k| {
            assert_eq!(
                crate::shared::secret::TokenHash::of(k.token.token.expose()),
                k.token.hash
            );
            Ok(())
        });
        let svc = ApiKeyService::new(Arc::new(store), Arc::new(SystemClock));
        let (key, secret) = svc.create(&admin(), "ci", "member").await.unwrap();
        assert!(secret.expose().starts_with(&key.prefix));
        assert!(key.prefix.starts_with("pk_"));
    }

    #[tokio::test]
    async fn operators_create_keys_for_the_organization_they_name_under_the_same_rules() {
        let org = OrganizationId::generate();
        let mut store = MockApiKeyStore::new();
        store
            .expect_create_api_key()
            .times(1)
            .withf(move |k| {
                k.key.organization_id == org
                    && k.key.created_by.is_none()
                    && k.key.role == Role::Viewer
                    && k.key.name == "ci"
            })
            .returning(|_| Ok(()));
        let svc = ApiKeyService::new(Arc::new(store), Arc::new(SystemClock));
        let (key, secret) = svc
            .create_for_operator(org, " ci ", "viewer")
            .await
            .unwrap();
        assert!(secret.expose().starts_with(&key.prefix));
        for (name, role, field) in [
            ("ci", "owner", "role"),
            ("ci", "partner", "role"),
            ("", "admin", "name"),
        ] {
            let err = svc.create_for_operator(org, name, role).await.unwrap_err();
            assert_eq!(err.details()[0].field, field, "{name} {role}");
        }
    }

    #[tokio::test]
    async fn revoking_an_unknown_key_is_not_found() {
        let mut store = MockApiKeyStore::new();
        store.expect_revoke_api_key().returning(|_, _, _| Ok(false));
        let svc = ApiKeyService::new(Arc::new(store), Arc::new(SystemClock));
        let err = svc
            .revoke(&admin(), ApiKeyId::generate())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
