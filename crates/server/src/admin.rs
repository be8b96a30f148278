//! Administrative commands run from the command line: operator work without a principal, against
//! the stores or through the domain services' operator entry points.

use crate::passwords::Argon2Hasher;
use anyhow::{Context, bail};
use partneros_domain::identity::api_keys::ApiKeyService;
use partneros_domain::identity::model::NewUser;
use partneros_domain::identity::password::Password;
use partneros_domain::identity::ports::{IdentityStore, PasswordHasher};
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::model::NewOrganization;
use partneros_domain::organizations::ports::OrganizationStore;
use partneros_domain::shared::clock::{Clock, SystemClock};
use partneros_domain::shared::ids::{OrganizationId, UserId};
use partneros_domain::shared::secret::Secret;
use partneros_domain::shared::slug::Slug;
use partneros_domain::shared::values::{BoundedText, Email};
use partneros_postgres::Database;
use std::sync::Arc;

pub struct Admin {
    pub db: Database,
    pub hasher: Argon2Hasher,
}

impl Admin {
    async fn user_id(&self, email: &str) -> anyhow::Result<UserId> {
        let email = Email::parse(email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
        let found = self.db.find_user_by_email(&email).await?;
        Ok(found
            .with_context(|| format!("no user with email {email}"))?
            .user
            .id)
    }

    pub async fn organization_id(&self, slug_or_id: &str) -> anyhow::Result<OrganizationId> {
        if let Ok(id) = uuid::Uuid::try_parse(slug_or_id) {
            return Ok(OrganizationId::from_uuid(id));
        }
        self.db
            .organization_id_by_slug(slug_or_id)
            .await?
            .with_context(|| format!("no organization with slug {slug_or_id}"))
    }

    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        password: &str,
    ) -> anyhow::Result<UserId> {
        let email = Email::parse(email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
        let name = BoundedText::<200>::parse(name).map_err(|e| anyhow::anyhow!("name: {e}"))?;
        let password = Password::parse(password).map_err(|e| anyhow::anyhow!("password: {e}"))?;
        let hash = self.hasher.hash(password.secret().clone()).await?;
        let user = self
            .db
            .create_user(
                NewUser {
                    id: UserId::generate(),
                    email,
                    name: name.into_inner(),
                    password_hash: Some(hash),
                    // The operator vouches for the address.
                    email_verified: true,
                    created_at: SystemClock.now(),
                },
                None,
                None,
            )
            .await?;
        Ok(user.id)
    }

    pub async fn create_organization(
        &self,
        name: &str,
        slug: Option<&str>,
        owner_email: &str,
    ) -> anyhow::Result<(OrganizationId, String)> {
        let owner = self.user_id(owner_email).await?;
        let name = BoundedText::<200>::parse(name).map_err(|e| anyhow::anyhow!("name: {e}"))?;
        let slug = match slug {
            Some(s) => Slug::parse(s).map_err(|e| anyhow::anyhow!("slug: {e}"))?,
            None => Slug::from_name(name.as_str()),
        };
        let org = self
            .db
            .create_organization(
                NewOrganization {
                    id: OrganizationId::generate(),
                    name: name.into_inner(),
                    slug,
                    slug_chosen: true,
                    created_at: SystemClock.now(),
                },
                owner,
                None,
            )
            .await?;
        Ok((org.id, org.slug))
    }

    pub async fn add_member(
        &self,
        organization: &str,
        email: &str,
        role: &str,
    ) -> anyhow::Result<()> {
        let org = self.organization_id(organization).await?;
        let user = self.user_id(email).await?;
        let role: Role = role.parse().map_err(|e| anyhow::anyhow!("role: {e}"))?;
        if role == Role::Partner {
            bail!("partner accounts are created with their partner record");
        }
        self.db.add_member(org, user, role).await?;
        Ok(())
    }

    /// Creates an API key through the domain's API key service (its operator entry point), so
    /// the CLI and the API issue keys by the same rules.
    pub async fn create_api_key(
        &self,
        organization: &str,
        name: &str,
        role: &str,
    ) -> anyhow::Result<Secret> {
        let org = self.organization_id(organization).await?;
        let keys = ApiKeyService::new(Arc::new(self.db.clone()), Arc::new(SystemClock));
        let (_, secret) = keys.create_for_operator(org, name, role).await?;
        Ok(secret)
    }
}
