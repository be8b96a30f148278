//! Sign-up, sign-in, sign-out, sessions and the first account.

use crate::StoreError;
use crate::clock::Clock;
use crate::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::identity::{ClientInfo, Credential, NewSession, NewUser, Principal, Session, User};
use crate::ids::{OrganizationId, UserId};
use crate::organization::NewOrganization;
use crate::ports::{
    HashingError, IdentityStore, OrganizationStore, PasswordHasher, RateDecision, RateLimiter,
};
use crate::secret::Secret;
use crate::values::{BoundedText, Email, Password, Slug};
use chrono::Duration;
use std::sync::{Arc, Mutex};

/// Failed sign-ins allowed per email within [`SIGN_IN_WINDOW`].
pub const SIGN_IN_FAILURES: u32 = 5;
pub const SIGN_IN_WINDOW: Duration = Duration::minutes(15);

/// A signed-in user: the session and the token that names it (shown once).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub session: Session,
    pub token: Secret,
}

#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("sign-up is disabled on this server")]
    Disabled,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(StoreError),
}

impl Classify for SignUpError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::Validation,
            Self::Disabled => ErrorKind::Forbidden,
            Self::EmailTaken => ErrorKind::Conflict,
            Self::Hashing(_) => ErrorKind::Internal,
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
pub enum SignInError {
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("too many failed sign-ins for this email; try again later")]
    Throttled { retry_after_secs: u64 },
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for SignInError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::Validation,
            Self::InvalidCredentials => ErrorKind::Unauthorized,
            Self::Throttled { .. } => ErrorKind::RateLimited,
            Self::Hashing(_) => ErrorKind::Internal,
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
            Self::Throttled { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// Failures of calls made with a credential (get-session, sign-out, set-active).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("authentication required: the session is missing, unknown, expired or revoked")]
    Unauthorized,
    #[error("this needs a user session, not an API key")]
    NotASession,
    #[error("no such organization among your memberships")]
    OrganizationNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for SessionError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Unauthorized => ErrorKind::Unauthorized,
            Self::NotASession => ErrorKind::Forbidden,
            Self::OrganizationNotFound => ErrorKind::NotFound,
            Self::Store(e) => e.kind(),
        }
    }
}

/// The first account on an empty database.
#[derive(Debug, Clone)]
pub struct FirstAccount {
    pub email: Email,
    pub password: Password,
    pub name: String,
    pub organization_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct AuthService {
    identity: Arc<dyn IdentityStore>,
    organizations: Arc<dyn OrganizationStore>,
    hasher: Arc<dyn PasswordHasher>,
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
    signup_enabled: bool,
    /// A hash verified against when the email is unknown, so both failures take as long.
    dummy_hash: Mutex<Option<String>>,
}

impl AuthService {
    pub fn new(
        identity: Arc<dyn IdentityStore>,
        organizations: Arc<dyn OrganizationStore>,
        hasher: Arc<dyn PasswordHasher>,
        limiter: Arc<dyn RateLimiter>,
        clock: Arc<dyn Clock>,
        signup_enabled: bool,
    ) -> Self {
        Self {
            identity,
            organizations,
            hasher,
            limiter,
            clock,
            signup_enabled,
            dummy_hash: Mutex::new(None),
        }
    }

    pub fn signup_enabled(&self) -> bool {
        self.signup_enabled
    }

    pub async fn sign_up(
        &self,
        name: &str,
        email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<SignedIn, SignUpError> {
        if !self.signup_enabled {
            return Err(SignUpError::Disabled);
        }
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", BoundedText::<200>::parse(name));
        let email = errors.check("email", Email::parse(email));
        let password = errors.check("password", Password::parse(password));
        let (Some(name), Some(email), Some(password)) = (name, email, password) else {
            return Err(SignUpError::Invalid(errors));
        };
        let hash = self.hasher.hash(password.secret().clone()).await?;
        let now = self.clock.now();
        let user = NewUser {
            id: UserId::generate(),
            email,
            name: name.into_inner(),
            password_hash: Some(hash),
            created_at: now,
        };
        let session = NewSession::start(user.id, None, now, client);
        let token = session.token.token.clone();
        let session_view = session.session();
        let user = self
            .identity
            .create_user(user, Some(session))
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => SignUpError::EmailTaken,
                e => SignUpError::Store(e),
            })?;
        Ok(SignedIn {
            user,
            session: session_view,
            token,
        })
    }

    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<SignedIn, SignInError> {
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", Email::parse(email));
        if password.is_empty() {
            errors.push("password", "must not be empty");
        }
        let Some(email) = email.filter(|_| errors.is_empty()) else {
            return Err(SignInError::Invalid(errors));
        };
        let now = self.clock.now();
        let bucket = format!("sign-in:{}", email.normalized());
        if let RateDecision::Limited { retry_after_secs } = self
            .limiter
            .peek(&bucket, SIGN_IN_FAILURES, SIGN_IN_WINDOW, now)
            .await?
        {
            return Err(SignInError::Throttled { retry_after_secs });
        }
        let found = self.identity.find_user_by_email(&email).await?;
        let secret = Secret::new(password);
        let verified = match found.as_ref().and_then(|u| u.password_hash.clone()) {
            Some(hash) => self.hasher.verify(secret, hash).await?,
            None => {
                let dummy = self.dummy_hash().await?;
                let _ = self.hasher.verify(secret, dummy).await?;
                false
            }
        };
        let user = match (verified, found) {
            (true, Some(found)) => found.user,
            _ => {
                self.limiter.record(&bucket, now).await?;
                return Err(SignInError::InvalidCredentials);
            }
        };
        self.limiter.clear(&bucket).await?;
        let active = self.default_organization(user.id).await?;
        let session = NewSession::start(user.id, active, now, client);
        let token = session.token.token.clone();
        let view = session.session();
        self.identity.create_session(session).await?;
        Ok(SignedIn {
            user,
            session: view,
            token,
        })
    }

    async fn default_organization(
        &self,
        user: UserId,
    ) -> Result<Option<OrganizationId>, StoreError> {
        let memberships = self.organizations.list_memberships(user).await?;
        Ok(memberships.first().map(|m| m.organization.id))
    }

    async fn dummy_hash(&self) -> Result<String, HashingError> {
        if let Some(h) = self.dummy_hash.lock().expect("poisoned").clone() {
            return Ok(h);
        }
        let h = self.hasher.hash(Secret::new("not-a-real-password")).await?;
        *self.dummy_hash.lock().expect("poisoned") = Some(h.clone());
        Ok(h)
    }

    /// Resolves a credential; `Unauthorized` for anything not live.
    pub async fn authenticate(&self, credential: Credential) -> Result<Principal, SessionError> {
        self.identity
            .authenticate(credential, self.clock.now())
            .await?
            .ok_or(SessionError::Unauthorized)
    }

    pub async fn current_session(
        &self,
        principal: &Principal,
    ) -> Result<(User, Session), SessionError> {
        let Principal::User {
            user_id,
            session_id,
            ..
        } = principal
        else {
            return Err(SessionError::NotASession);
        };
        let user = self.identity.find_user(*user_id).await?;
        let session = self.identity.find_session(*session_id).await?;
        match (user, session) {
            (Some(u), Some(s)) => Ok((u, s)),
            _ => Err(SessionError::Unauthorized),
        }
    }

    pub async fn sign_out(&self, principal: &Principal) -> Result<(), SessionError> {
        let Principal::User { session_id, .. } = principal else {
            return Err(SessionError::NotASession);
        };
        self.identity
            .revoke_session(*session_id, self.clock.now())
            .await?;
        Ok(())
    }

    pub async fn set_active_organization(
        &self,
        principal: &Principal,
        organization: OrganizationId,
    ) -> Result<(User, Session), SessionError> {
        let Principal::User {
            user_id,
            session_id,
            ..
        } = principal
        else {
            return Err(SessionError::NotASession);
        };
        if !self
            .identity
            .set_active_organization(*session_id, *user_id, organization)
            .await?
        {
            return Err(SessionError::OrganizationNotFound);
        }
        self.current_session(principal).await
    }

    /// Creates `account` and its organization when the database has no user yet.
    /// `Ok(false)` when users exist (the account is then ignored); safe to race.
    pub async fn bootstrap(&self, account: &FirstAccount) -> Result<bool, BootstrapError> {
        if self.identity.count_users().await? > 0 {
            return Ok(false);
        }
        let now = self.clock.now();
        let hash = self.hasher.hash(account.password.secret().clone()).await?;
        let user = NewUser {
            id: UserId::generate(),
            email: account.email.clone(),
            name: account.name.clone(),
            password_hash: Some(hash),
            created_at: now,
        };
        let user = match self.identity.create_user(user, None).await {
            Ok(u) => u,
            // Another instance bootstrapped at the same moment.
            Err(StoreError::Conflict(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let slug = Slug::from_name(&account.organization_name);
        let org = NewOrganization {
            id: OrganizationId::generate(),
            name: account.organization_name.clone(),
            slug,
            slug_chosen: false,
            created_at: now,
        };
        self.organizations
            .create_organization(org, user.id, None)
            .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::identity::UserWithPassword;
    use crate::ports::{
        MockIdentityStore, MockOrganizationStore, MockPasswordHasher, MockRateLimiter,
    };
    use chrono::Utc;

    fn user() -> User {
        User {
            id: UserId::generate(),
            email: "jane@example.com".into(),
            name: "Jane".into(),
            has_password: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    struct Mocks {
        identity: MockIdentityStore,
        organizations: MockOrganizationStore,
        hasher: MockPasswordHasher,
        limiter: MockRateLimiter,
    }

    impl Mocks {
        fn new() -> Self {
            Self {
                identity: MockIdentityStore::new(),
                organizations: MockOrganizationStore::new(),
                hasher: MockPasswordHasher::new(),
                limiter: MockRateLimiter::new(),
            }
        }
        fn service(self, signup: bool) -> AuthService {
            AuthService::new(
                Arc::new(self.identity),
                Arc::new(self.organizations),
                Arc::new(self.hasher),
                Arc::new(self.limiter),
                Arc::new(SystemClock),
                signup,
            )
        }
    }

    #[tokio::test]
    async fn sign_up_is_refused_when_disabled_without_touching_storage() {
        let svc = Mocks::new().service(false);
        let err = svc
            .sign_up(
                "Jane",
                "jane@example.com",
                "password1",
                &ClientInfo::default(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, SignUpError::Disabled));
    }

    #[tokio::test]
    async fn sign_up_validates_every_field() {
        let svc = Mocks::new().service(true);
        let err = svc
            .sign_up("", "nope", "short", &ClientInfo::default())
            .await
            .unwrap_err();
        let fields: Vec<_> = err.details().iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["name", "email", "password"]);
    }

    #[tokio::test]
    async fn sign_up_maps_a_taken_email_to_conflict() {
        let mut m = Mocks::new();
        m.hasher.expect_hash().returning(|_| Ok("hash".into()));
        m.identity
            .expect_create_user()
            .returning(|_, _| Err(StoreError::Conflict("email".into())));
        let err = m
            .service(true)
            .sign_up(
                "Jane",
                "jane@example.com",
                "password1",
                &ClientInfo::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }

    #[tokio::test]
    async fn wrong_password_records_a_failure_and_says_invalid_credentials() {
        let mut m = Mocks::new();
        m.limiter
            .expect_peek()
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        m.identity.expect_find_user_by_email().returning(|_| {
            Ok(Some(UserWithPassword {
                user: user(),
                password_hash: Some("hash".into()),
            }))
        });
        m.hasher.expect_verify().returning(|_, _| Ok(false));
        m.limiter
            .expect_record()
            .withf(|bucket, _| bucket == "sign-in:jane@example.com")
            .times(1)
            .returning(|_, _| Ok(()));
        let err = m
            .service(true)
            .sign_in("Jane@Example.com", "wrong-password", &ClientInfo::default())
            .await
            .unwrap_err();
        assert!(matches!(err, SignInError::InvalidCredentials));
    }

    #[tokio::test]
    async fn unknown_email_still_verifies_a_hash_and_gives_the_same_error() {
        let mut m = Mocks::new();
        m.limiter
            .expect_peek()
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        m.identity
            .expect_find_user_by_email()
            .returning(|_| Ok(None));
        m.hasher
            .expect_hash()
            .times(1)
            .returning(|_| Ok("dummy".into()));
        m.hasher.expect_verify().times(1).returning(|_, _| Ok(true));
        m.limiter.expect_record().times(1).returning(|_, _| Ok(()));
        let err = m
            .service(true)
            .sign_in("ghost@example.com", "whatever1", &ClientInfo::default())
            .await
            .unwrap_err();
        assert!(matches!(err, SignInError::InvalidCredentials));
    }

    #[tokio::test]
    async fn throttled_email_is_refused_before_the_password_is_checked() {
        let mut m = Mocks::new();
        m.limiter.expect_peek().returning(|_, _, _, _| {
            Ok(RateDecision::Limited {
                retry_after_secs: 42,
            })
        });
        let err = m
            .service(true)
            .sign_in("jane@example.com", "password1", &ClientInfo::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(42));
    }

    #[tokio::test]
    async fn successful_sign_in_clears_failures_and_activates_the_first_organization() {
        let mut m = Mocks::new();
        let u = user();
        let uid = u.id;
        m.limiter
            .expect_peek()
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        m.identity.expect_find_user_by_email().returning(move |_| {
            Ok(Some(UserWithPassword {
                user: u.clone(),
                password_hash: Some("hash".into()),
            }))
        });
        m.hasher.expect_verify().returning(|_, _| Ok(true));
        m.limiter.expect_clear().times(1).returning(|_| Ok(()));
        let org = crate::organization::Organization {
            id: OrganizationId::generate(),
            name: "Acme".into(),
            slug: "acme".into(),
            created_at: Utc::now(),
        };
        let org_id = org.id;
        m.organizations
            .expect_list_memberships()
            .returning(move |_| {
                Ok(vec![crate::organization::Membership {
                    organization: org.clone(),
                    role: crate::values::Role::Owner,
                }])
            });
        m.identity
            .expect_create_session()
            .withf(move |s| s.user_id == uid && s.active_organization_id == Some(org_id))
            .times(1)
            .returning(|_| Ok(()));
        let signed = m
            .service(true)
            .sign_in("jane@example.com", "password1", &ClientInfo::default())
            .await
            .unwrap();
        assert_eq!(signed.session.active_organization_id, Some(org_id));
        assert!(signed.token.expose().starts_with("ps_"));
    }

    #[tokio::test]
    async fn bootstrap_is_ignored_once_a_user_exists() {
        let mut m = Mocks::new();
        m.identity.expect_count_users().returning(|| Ok(1));
        let account = FirstAccount {
            email: Email::parse("a@b.co").unwrap(),
            password: Password::parse("password1").unwrap(),
            name: "Owner".into(),
            organization_name: "Acme".into(),
        };
        assert!(!m.service(true).bootstrap(&account).await.unwrap());
    }
}
