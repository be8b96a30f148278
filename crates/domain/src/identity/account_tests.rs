//! Tests of email verification and password reset, with mocked ports.

use super::*;
use crate::identity::model::UserWithPassword;
use crate::identity::ports::{MockIdentityStore, MockPasswordHasher};
use crate::identity::tokens::MockUserTokenStore;
use crate::shared::clock::SystemClock;
use crate::shared::fixtures::principal;
use crate::shared::ids::{ApiKeyId, UserId};
use crate::shared::rate_limit::MockRateLimiter;
use chrono::Utc;
use std::sync::Mutex;

fn user(verified: bool) -> User {
    User {
        id: UserId::generate(),
        email: "jane@example.com".into(),
        name: "Jane".into(),
        has_password: true,
        email_verified: verified,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

struct Mocks {
    identity: MockIdentityStore,
    tokens: MockUserTokenStore,
    hasher: MockPasswordHasher,
    limiter: MockRateLimiter,
}

impl Mocks {
    fn new() -> Self {
        Self {
            identity: MockIdentityStore::new(),
            tokens: MockUserTokenStore::new(),
            hasher: MockPasswordHasher::new(),
            limiter: MockRateLimiter::new(),
        }
    }
    fn allow_all(mut self) -> Self {
        self.limiter
            .expect_hit()
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        self
    }
    fn service(self) -> AccountService {
        AccountService::new(
            Arc::new(self.identity),
            Arc::new(self.tokens),
            Arc::new(self.hasher),
            Arc::new(self.limiter),
            Arc::new(SystemClock),
            AuthLimits::default(),
        )
    }
}

#[tokio::test]
async fn a_live_verification_token_verifies_and_any_other_is_refused() {
    let mut m = Mocks::new();
    let verified = user(true);
    let answer = verified.clone();
    m.tokens
        .expect_verify_email()
        .withf(|h, _| *h == TokenHash::of("pv_good"))
        .returning(move |_, _| Ok(Some(answer.clone())));
    m.tokens.expect_verify_email().returning(|_, _| Ok(None));
    let svc = m.service();
    assert_eq!(svc.verify_email("pv_good").await.unwrap(), verified);
    for bad in ["pv_used", "", &"x".repeat(201)] {
        assert!(matches!(
            svc.verify_email(bad).await.unwrap_err(),
            AccountError::InvalidToken
        ));
    }
    assert_eq!(AccountError::InvalidToken.kind(), ErrorKind::InvalidToken);
}

#[tokio::test]
async fn a_resend_is_for_unverified_users_only_and_is_rate_limited() {
    let caller = principal(crate::identity::role::Role::Owner);
    let id = caller.user_id().unwrap();

    // An API key has no user to mail.
    let key = Principal::ApiKey {
        key_id: ApiKeyId::generate(),
        membership: *caller.membership().unwrap(),
    };
    assert!(matches!(
        Mocks::new()
            .service()
            .resend_verification(&key)
            .await
            .unwrap_err(),
        AccountError::NotASession
    ));

    // Verified already: 409, nothing counted or stored.
    let mut m = Mocks::new();
    m.identity
        .expect_find_user()
        .returning(|_| Ok(Some(user(true))));
    m.limiter.expect_hit().never();
    m.tokens.expect_request_token().never();
    let err = m.service().resend_verification(&caller).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);

    // Over the limit: 429 with Retry-After, nothing stored.
    let mut m = Mocks::new();
    m.identity
        .expect_find_user()
        .returning(|_| Ok(Some(user(false))));
    m.limiter
        .expect_hit()
        .withf(move |bucket, limit, _, _| {
            bucket == format!("verify-email:{id}") && *limit == VERIFICATION_RESENDS
        })
        .returning(|_, _, _, _| {
            Ok(RateDecision::Limited {
                retry_after_secs: 600,
            })
        });
    m.tokens.expect_request_token().never();
    let err = m.service().resend_verification(&caller).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(600));

    // Otherwise a verification token row is requested for the caller.
    let mut m = Mocks::new().allow_all();
    m.identity
        .expect_find_user()
        .returning(|_| Ok(Some(user(false))));
    m.tokens
        .expect_request_token()
        .withf(move |t| t.user_id == id && t.purpose == TokenPurpose::VerifyEmail)
        .times(1)
        .returning(|_| Ok(()));
    m.service().resend_verification(&caller).await.unwrap();
}

#[tokio::test]
async fn a_reset_request_answers_alike_for_known_and_unknown_emails() {
    let known = user(true);
    let known_id = known.id;
    let mut m = Mocks::new().allow_all();
    m.identity.expect_find_user_by_email().returning(move |e| {
        Ok(
            (e.as_str() == "jane@example.com").then(|| UserWithPassword {
                user: known.clone(),
                password_hash: Some("h".into()),
            }),
        )
    });
    m.tokens
        .expect_request_token()
        .withf(move |t| {
            t.user_id == known_id
                && t.purpose == TokenPurpose::ResetPassword
                && t.expires_at - t.created_at == Duration::hours(1)
        })
        .times(1)
        .returning(|_| Ok(()));
    let svc = m.service();
    let client = ClientInfo::default();
    svc.request_password_reset("jane@example.com", &client)
        .await
        .unwrap();
    svc.request_password_reset("nobody@example.com", &client)
        .await
        .unwrap();
    let err = svc
        .request_password_reset("not an email", &client)
        .await
        .unwrap_err();
    assert_eq!(err.details()[0].field, "email");
}

#[tokio::test]
async fn reset_requests_count_per_address_and_per_email() {
    let buckets = Arc::new(Mutex::new(Vec::new()));
    let seen = buckets.clone();
    let mut m = Mocks::new();
    m.limiter
        .expect_hit()
        .returning(move |bucket, limit, _, _| {
            seen.lock().unwrap().push((bucket.to_owned(), limit));
            Ok(if bucket.starts_with("password-reset:") {
                RateDecision::Limited {
                    retry_after_secs: 30,
                }
            } else {
                RateDecision::Allowed
            })
        });
    m.identity.expect_find_user_by_email().never();
    m.tokens.expect_request_token().never();
    let client = ClientInfo {
        user_agent: None,
        ip_address: Some("203.0.113.9".into()),
    };
    let err = m
        .service()
        .request_password_reset("Jane@Example.com", &client)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(
        *buckets.lock().unwrap(),
        [
            ("password-reset-address:203.0.113.9".to_owned(), 20),
            (
                "password-reset:jane@example.com".to_owned(),
                PASSWORD_RESETS_PER_EMAIL
            ),
        ]
    );
}

#[tokio::test]
async fn a_reset_checks_the_password_then_the_token_before_hashing() {
    // A short password is refused without a look-up.
    let err = Mocks::new()
        .service()
        .confirm_password_reset("pr_x", "short")
        .await
        .unwrap_err();
    assert_eq!(err.details()[0].field, "password");

    // A dead token costs no hash.
    let mut m = Mocks::new();
    m.tokens
        .expect_find_live_token()
        .returning(|_, _, _| Ok(None));
    m.hasher.expect_hash().never();
    m.tokens.expect_reset_password().never();
    assert!(matches!(
        m.service()
            .confirm_password_reset("pr_dead", "new-password-1")
            .await
            .unwrap_err(),
        AccountError::InvalidToken
    ));
}

#[tokio::test]
async fn a_reset_sets_the_hash_and_a_lost_race_is_an_invalid_token() {
    let id = UserId::generate();
    let mut m = Mocks::new();
    m.tokens
        .expect_find_live_token()
        .withf(|h, p, _| *h == TokenHash::of("pr_live") && *p == TokenPurpose::ResetPassword)
        .returning(move |_, _, _| Ok(Some(id)));
    m.hasher
        .expect_hash()
        .withf(|p| p.expose() == "new-password-1")
        .returning(|_| Ok("argon2-hash".into()));
    m.tokens
        .expect_reset_password()
        .withf(|h, pw, _| *h == TokenHash::of("pr_live") && pw == "argon2-hash")
        .times(1)
        .returning(|_, _, _| Ok(Some(user(true))));
    let svc = m.service();
    let u = svc
        .confirm_password_reset("pr_live", "new-password-1")
        .await
        .unwrap();
    assert!(u.email_verified);

    let mut m = Mocks::new();
    m.tokens
        .expect_find_live_token()
        .returning(move |_, _, _| Ok(Some(id)));
    m.hasher.expect_hash().returning(|_| Ok("h".into()));
    m.tokens
        .expect_reset_password()
        .returning(|_, _, _| Ok(None));
    assert!(matches!(
        m.service()
            .confirm_password_reset("pr_live", "new-password-1")
            .await
            .unwrap_err(),
        AccountError::InvalidToken
    ));
}
