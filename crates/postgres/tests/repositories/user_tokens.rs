//! Account tokens: requested with their event, minted (hash only) when mailed, used once.

use crate::helpers::*;
use chrono::{DateTime, Duration, Utc};
use partneros_domain::identity::model::NewUser;
use partneros_domain::identity::ports::IdentityStore;
use partneros_domain::identity::tokens::{NewUserToken, TokenPurpose, UserTokenStore};
use partneros_domain::shared::ids::UserId;
use partneros_domain::shared::secret::TokenHash;
use partneros_postgres::Database;
use partneros_test_support::TestDatabase;

/// A signed-up (unverified) user with a session and their verification request.
async fn signed_up(store: &Database, address: &str, now: DateTime<Utc>) -> (NewUser, NewUserToken) {
    let user = NewUser {
        email_verified: false,
        ..new_user(address, true, now)
    };
    let request = NewUserToken::new(user.id, TokenPurpose::VerifyEmail, now);
    let created = store
        .create_user(
            user.clone(),
            Some(new_session(user.id, None, now)),
            Some(request.clone()),
        )
        .await
        .unwrap();
    assert!(!created.email_verified);
    (user, request)
}

async fn requested(
    store: &Database,
    user: UserId,
    purpose: TokenPurpose,
    now: DateTime<Utc>,
) -> NewUserToken {
    let t = NewUserToken::new(user, purpose, now);
    store.request_token(t.clone()).await.unwrap();
    t
}

async fn verified(db: &TestDatabase, user: UserId) -> bool {
    count(
        db,
        &format!("users WHERE id = '{user}' AND email_verified_at IS NOT NULL"),
    )
    .await
        == 1
}

#[tokio::test]
async fn sign_up_stores_the_request_and_its_event_without_any_token() {
    let (db, store) = setup().await;
    let now = t0();
    let (user, request) = signed_up(&store, "ann@example.com", now).await;
    assert_eq!(
        count(
            &db,
            &format!(
                "user_tokens WHERE id = '{}' AND user_id = '{}' AND purpose = 'verify_email' \
                 AND token_hash IS NULL AND used_at IS NULL",
                request.id, user.id
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "events WHERE kind = 'email_verification_requested' AND aggregate_id = '{}' \
                 AND organization_id IS NULL AND payload = '{{\"userTokenId\": \"{}\"}}'::jsonb",
                user.id, request.id
            )
        )
        .await,
        1
    );
    assert!(!verified(&db, user.id).await);
    // Operators' accounts (new_user's default) are verified from the start.
    let other = crate::helpers::user(&store, "op@example.com").await;
    assert!(verified(&db, other).await);
    // A failed sign-up (taken email) leaves no request behind.
    let again = NewUser {
        email_verified: false,
        ..new_user("ANN@example.com", true, now)
    };
    let r = store
        .create_user(
            again.clone(),
            None,
            Some(NewUserToken::new(again.id, TokenPurpose::VerifyEmail, now)),
        )
        .await;
    assert!(is_conflict(&r));
    assert_eq!(count(&db, "user_tokens").await, 1);
    assert_eq!(count(&db, "events").await, 1);
}

#[tokio::test]
async fn minting_replaces_the_hash_of_a_live_row_only() {
    let (db, store) = setup().await;
    let now = t0();
    let (user, request) = signed_up(&store, "ann@example.com", now).await;
    let first = TokenHash::of("pv_first");
    let minted = store
        .mint_token(request.id, first, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(minted.user.id, user.id);
    assert_eq!(minted.user.email, "ann@example.com");
    assert_eq!(minted.purpose, TokenPurpose::VerifyEmail);
    assert_eq!(minted.expires_at, request.expires_at);
    let live = |h| store.find_live_token(h, TokenPurpose::VerifyEmail, now);
    assert_eq!(live(first).await.unwrap(), Some(user.id));
    // A second mail of the same request: only its token works.
    let second = TokenHash::of("pv_second");
    store
        .mint_token(request.id, second, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live(first).await.unwrap(), None);
    assert_eq!(live(second).await.unwrap(), Some(user.id));
    // Purpose matters.
    assert_eq!(
        store
            .find_live_token(second, TokenPurpose::ResetPassword, now)
            .await
            .unwrap(),
        None
    );
    // Expired or used rows are not minted (nothing would be mailed).
    let at_expiry = request.expires_at;
    assert!(
        store
            .mint_token(request.id, TokenHash::of("pv_late"), at_expiry)
            .await
            .unwrap()
            .is_none()
    );
    store.verify_email(second, now).await.unwrap().unwrap();
    assert!(
        store
            .mint_token(request.id, TokenHash::of("pv_used"), now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .mint_token(
                partneros_domain::shared::ids::UserTokenId::generate(),
                TokenHash::of("pv_unknown"),
                now
            )
            .await
            .unwrap()
            .is_none()
    );
    // Only hashes at rest.
    assert_eq!(
        count(
            &db,
            "user_tokens WHERE token_hash = sha256('pv_second'::bytea)"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_verification_token_works_once_before_it_expires() {
    let (db, store) = setup().await;
    let now = t0();
    let (user, request) = signed_up(&store, "ann@example.com", now).await;
    let other = requested(&store, user.id, TokenPurpose::VerifyEmail, now).await;
    let hash = TokenHash::of("pv_once");
    store.mint_token(request.id, hash, now).await.unwrap();
    store
        .mint_token(other.id, TokenHash::of("pv_other"), now)
        .await
        .unwrap();

    // Not a reset token, and not after its expiry.
    assert!(
        store
            .reset_password(hash, "h".into(), now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .verify_email(hash, request.expires_at)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!verified(&db, user.id).await);

    let later = now + Duration::hours(1);
    let u = store.verify_email(hash, later).await.unwrap().unwrap();
    assert!(u.email_verified);
    assert!(verified(&db, user.id).await);
    assert!(store.verify_email(hash, later).await.unwrap().is_none());
    // The account's other verification links are retired with it.
    assert!(
        store
            .verify_email(TokenHash::of("pv_other"), later)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "user_tokens WHERE user_id = '{}' AND used_at IS NULL",
                user.id
            )
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_reset_sets_the_password_verifies_and_signs_out_everywhere() {
    let (db, store) = setup().await;
    let now = t0();
    let (user, verification) = signed_up(&store, "ann@example.com", now).await;
    let (_, other_session) = session(&store, user.id, None, now).await;
    let reset = requested(&store, user.id, TokenPurpose::ResetPassword, now).await;
    let spare = requested(&store, user.id, TokenPurpose::ResetPassword, now).await;
    assert_eq!(
        count(
            &db,
            &format!(
                "events WHERE kind = 'password_reset_requested' AND aggregate_id = '{}' \
                 AND payload->>'userTokenId' = '{}'",
                user.id, reset.id
            )
        )
        .await,
        1
    );
    let hash = TokenHash::of("pr_once");
    store.mint_token(reset.id, hash, now).await.unwrap();
    store
        .mint_token(spare.id, TokenHash::of("pr_spare"), now)
        .await
        .unwrap();
    store
        .mint_token(verification.id, TokenHash::of("pv_pending"), now)
        .await
        .unwrap();

    // A reset link lasts an hour.
    assert!(
        store
            .reset_password(hash, "$argon2id$new".into(), now + Duration::hours(1))
            .await
            .unwrap()
            .is_none()
    );
    let at = now + Duration::minutes(59);
    let u = store
        .reset_password(hash, "$argon2id$new".into(), at)
        .await
        .unwrap()
        .unwrap();
    assert!(u.email_verified);
    assert_eq!(
        count(
            &db,
            &format!(
                "users WHERE id = '{}' AND password_hash = '$argon2id$new'",
                user.id
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "sessions WHERE user_id = '{}' AND revoked_at IS NULL",
                user.id
            )
        )
        .await,
        0
    );
    assert!(
        store
            .authenticate(other_session, at)
            .await
            .unwrap()
            .is_none()
    );
    // Once only; the spare reset link and the pending verification link are retired.
    assert!(
        store
            .reset_password(hash, "$argon2id$again".into(), at)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_live_token(TokenHash::of("pr_spare"), TokenPurpose::ResetPassword, at)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .verify_email(TokenHash::of("pv_pending"), at)
            .await
            .unwrap()
            .is_none()
    );
    // Sessions started after the reset are untouched by it.
    let (_, fresh) = session(&store, user.id, None, at).await;
    assert!(store.authenticate(fresh, at).await.unwrap().is_some());
}

#[tokio::test]
async fn of_concurrent_uses_of_one_token_exactly_one_wins() {
    let (_db, store) = setup().await;
    let now = t0();
    let (user, request) = signed_up(&store, "ann@example.com", now).await;
    let hash = TokenHash::of("pv_race");
    store.mint_token(request.id, hash, now).await.unwrap();
    let reset = requested(&store, user.id, TokenPurpose::ResetPassword, now).await;
    let reset_hash = TokenHash::of("pr_race");
    store.mint_token(reset.id, reset_hash, now).await.unwrap();

    let verifies = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.verify_email(hash, now).await.unwrap() })
    });
    let resets = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .reset_password(reset_hash, format!("$argon2id${i}"), now)
                .await
                .unwrap()
        })
    });
    let verifications = futures::future::join_all(verifies).await;
    let reset = futures::future::join_all(resets).await;
    assert_eq!(
        verifications
            .into_iter()
            .filter(|r| r.as_ref().unwrap().is_some())
            .count(),
        1
    );
    assert_eq!(
        reset
            .into_iter()
            .filter(|r| r.as_ref().unwrap().is_some())
            .count(),
        1
    );
}
