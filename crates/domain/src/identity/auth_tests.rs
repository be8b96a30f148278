//! Tests of the sign-up, sign-in and session use cases, with mocked ports.

use super::*;
use crate::identity::model::UserWithPassword;
use crate::identity::ports::{MockIdentityStore, MockPasswordHasher};
use crate::organizations::ports::MockOrganizationStore;
use crate::shared::clock::SystemClock;
use crate::shared::rate_limit::MockRateLimiter;
use chrono::Utc;

fn user() -> User {
    User {
        id: UserId::generate(),
        email: "jane@example.com".into(),
        name: "Jane".into(),
        has_password: true,
        email_verified: true,
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
            AuthLimits::default(),
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
async fn an_attempt_the_hasher_could_not_check_releases_its_reservation_at_once() {
    let mut m = Mocks::new();
    m.limiter
        .expect_hit()
        .returning(|_, _, _, _| Ok(RateDecision::Allowed));
    m.limiter
        .expect_reserve()
        .returning(|_, _, _, _, _| Ok(RateDecision::Allowed));
    m.identity.expect_find_user_by_email().returning(|_| {
        Ok(Some(UserWithPassword {
            user: user(),
            password_hash: Some("hash".into()),
        }))
    });
    m.hasher
        .expect_verify()
        .returning(|_, _| Err(HashingError::Busy));
    m.limiter
        .expect_settle()
        .withf(|bucket, _, counted| bucket == "sign-in:jane@example.com" && !*counted)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let err = m
        .service(true)
        .sign_in("jane@example.com", "password1", &ClientInfo::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn a_database_failure_defers_the_release_to_the_next_reservation() {
    let mut m = Mocks::new();
    let mut seq = mockall::Sequence::new();
    m.limiter
        .expect_hit()
        .returning(|_, _, _, _| Ok(RateDecision::Allowed));
    m.identity
        .expect_find_user_by_email()
        .returning(|_| Err(StoreError::Unavailable("down".into())));
    // First sign-in: reserved, then the database fails; nothing waits on it again.
    m.limiter
        .expect_reserve()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _, _| Ok(RateDecision::Allowed));
    // Second: the deferred release still fails, so it fails too, without reserving.
    m.limiter
        .expect_settle()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Err(StoreError::Unavailable("down".into())));
    // Third: the database is back; the stale reservation goes before the new one is made.
    m.limiter
        .expect_settle()
        .withf(|bucket, _, counted| bucket == "sign-in:jane@example.com" && !*counted)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(()));
    m.limiter
        .expect_reserve()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _, _| {
            Ok(RateDecision::Limited {
                retry_after_secs: 5,
            })
        });
    let svc = m.service(true);
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let err = svc
            .sign_in("jane@example.com", "password1", &ClientInfo::default())
            .await
            .unwrap_err();
        kinds.push(err.kind());
    }
    assert_eq!(
        kinds,
        [
            ErrorKind::Unavailable,
            ErrorKind::Unavailable,
            ErrorKind::RateLimited
        ]
    );
}

#[tokio::test]
async fn a_busy_address_is_refused_before_any_sign_in_work() {
    let mut m = Mocks::new();
    m.limiter
        .expect_hit()
        .withf(|bucket, _, _, _| bucket == "sign-in-address:2001:db8:1:2::/64")
        .times(1)
        .returning(|_, _, _, _| {
            Ok(RateDecision::Limited {
                retry_after_secs: 7,
            })
        });
    let client = ClientInfo {
        user_agent: None,
        ip_address: Some("2001:db8:1:2:3:4:5:6".into()),
    };
    let err = m
        .service(true)
        .sign_in("jane@example.com", "password1", &client)
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(7));
}

#[tokio::test]
async fn sign_up_is_limited_per_address_before_the_password_is_hashed() {
    let mut m = Mocks::new();
    m.limiter
        .expect_hit()
        .withf(|bucket, limit, window, _| {
            bucket == "sign-up:203.0.113.9" && *limit == 10 && *window == SIGN_UP_WINDOW
        })
        .returning(|_, _, _, _| {
            Ok(RateDecision::Limited {
                retry_after_secs: 60,
            })
        });
    let client = ClientInfo {
        user_agent: None,
        ip_address: Some("203.0.113.9".into()),
    };
    let err = m
        .service(true)
        .sign_up("Jane", "jane@example.com", "password1", &client)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
}

#[tokio::test]
async fn a_saturated_hasher_is_a_503_with_retry_after() {
    let mut m = Mocks::new();
    m.limiter
        .expect_hit()
        .returning(|_, _, _, _| Ok(RateDecision::Allowed));
    m.hasher
        .expect_hash()
        .returning(|_| Err(HashingError::Busy));
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
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.retry_after(), Some(1));
}

#[tokio::test]
async fn sign_up_maps_a_taken_email_to_conflict() {
    let mut m = Mocks::new();
    m.limiter
        .expect_hit()
        .returning(|_, _, _, _| Ok(RateDecision::Allowed));
    m.hasher.expect_hash().returning(|_| Ok("hash".into()));
    m.identity
        .expect_create_user()
        .returning(|_, _, _| Err(StoreError::Conflict("email".into())));
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
async fn sign_up_creates_an_unverified_account_with_its_verification_request() {
    let mut m = Mocks::new();
    m.limiter
        .expect_hit()
        .returning(|_, _, _, _| Ok(RateDecision::Allowed));
    m.hasher.expect_hash().returning(|_| Ok("hash".into()));
    m.identity
        .expect_create_user()
        .withf(|u, s, v| {
            let v = v.as_ref().unwrap();
            !u.email_verified
                && s.as_ref().is_some_and(|s| s.user_id == u.id)
                && v.user_id == u.id
                && v.purpose == TokenPurpose::VerifyEmail
                && v.expires_at - v.created_at == Duration::hours(48)
        })
        .times(1)
        .returning(|u, _, _| {
            Ok(User {
                email_verified: u.email_verified,
                ..user()
            })
        });
    let signed = m
        .service(true)
        .sign_up(
            "Jane",
            "jane@example.com",
            "password1",
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    assert!(!signed.user.email_verified);
}

#[tokio::test]
async fn the_first_account_is_verified_from_the_start() {
    let mut m = Mocks::new();
    m.identity.expect_count_users().returning(|| Ok(0));
    m.hasher.expect_hash().returning(|_| Ok("hash".into()));
    m.identity
        .expect_create_user()
        .withf(|u, s, v| u.email_verified && s.is_none() && v.is_none())
        .times(1)
        .returning(|_, _, _| Ok(user()));
    m.organizations
        .expect_create_organization()
        .returning(|o, _, _| {
            Ok(crate::organizations::model::Organization {
                id: o.id,
                name: o.name,
                slug: o.slug.into_inner(),
                created_at: o.created_at,
            })
        });
    let created = m
        .service(true)
        .bootstrap(&FirstAccount {
            email: Email::parse("owner@example.com").unwrap(),
            password: Password::parse("password1").unwrap(),
            name: "Owner".into(),
            organization_name: "Acme".into(),
        })
        .await
        .unwrap();
    assert!(created);
}

#[tokio::test]
async fn wrong_password_spends_a_reserved_attempt_and_says_invalid_credentials() {
    let mut m = Mocks::new();
    m.limiter
        .expect_hit()
        .withf(|bucket, limit, _, _| bucket == "sign-in-address:203.0.113.9" && *limit == 30)
        .times(1)
        .returning(|_, _, _, _| Ok(RateDecision::Allowed));
    m.limiter
        .expect_reserve()
        .withf(|bucket, limit, _, lease, _| {
            bucket == "sign-in:jane@example.com" && *limit == 5 && *lease == SIGN_IN_LEASE
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(RateDecision::Allowed));
    m.limiter
        .expect_settle()
        .withf(|bucket, _, counted| bucket == "sign-in:jane@example.com" && *counted)
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.identity.expect_find_user_by_email().returning(|_| {
        Ok(Some(UserWithPassword {
            user: user(),
            password_hash: Some("hash".into()),
        }))
    });
    m.hasher.expect_verify().returning(|_, _| Ok(false));
    let client = ClientInfo {
        user_agent: None,
        ip_address: Some("203.0.113.9".into()),
    };
    // The reservation stays, as a failure; nothing is cleared.
    let err = m
        .service(true)
        .sign_in("Jane@Example.com", "wrong-password", &client)
        .await
        .unwrap_err();
    assert!(matches!(err, SignInError::InvalidCredentials));
}

#[tokio::test]
async fn unknown_email_still_verifies_a_hash_and_gives_the_same_error() {
    let mut m = Mocks::new();
    m.limiter
        .expect_hit()
        .times(1)
        .returning(|_, _, _, _| Ok(RateDecision::Allowed));
    m.limiter
        .expect_reserve()
        .times(1)
        .returning(|_, _, _, _, _| Ok(RateDecision::Allowed));
    m.limiter
        .expect_settle()
        .withf(|_, _, counted| *counted)
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.identity
        .expect_find_user_by_email()
        .returning(|_| Ok(None));
    m.hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok("dummy".into()));
    m.hasher.expect_verify().times(1).returning(|_, _| Ok(true));
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
    m.limiter
        .expect_hit()
        .withf(|bucket, _, _, _| bucket.starts_with("sign-in-address:"))
        .returning(|_, _, _, _| Ok(RateDecision::Allowed));
    m.limiter
        .expect_reserve()
        .withf(|bucket, _, _, _, _| bucket == "sign-in:jane@example.com")
        .returning(|_, _, _, _, _| {
            Ok(RateDecision::Limited {
                retry_after_secs: 42,
            })
        });
    // No expectation on the store or the hasher: neither may be touched.
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
        .expect_hit()
        .returning(|_, _, _, _| Ok(RateDecision::Allowed));
    m.limiter
        .expect_reserve()
        .returning(|_, _, _, _, _| Ok(RateDecision::Allowed));
    m.identity.expect_find_user_by_email().returning(move |_| {
        Ok(Some(UserWithPassword {
            user: u.clone(),
            password_hash: Some("hash".into()),
        }))
    });
    m.hasher.expect_verify().returning(|_, _| Ok(true));
    m.limiter
        .expect_clear()
        .withf(|bucket| bucket == "sign-in:jane@example.com")
        .times(1)
        .returning(|_| Ok(()));
    let org = crate::organizations::model::Organization {
        id: OrganizationId::generate(),
        name: "Acme".into(),
        slug: "acme".into(),
        created_at: Utc::now(),
    };
    let org_id = org.id;
    m.organizations
        .expect_list_memberships()
        .returning(move |_| {
            Ok(vec![crate::organizations::model::Membership {
                organization: org.clone(),
                role: crate::identity::role::Role::Owner,
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
