//! Users and sessions: lookup, uniqueness, expiry and revocation, the sliding idle expiry.

use crate::helpers::*;
use chrono::Duration;
use partneros_domain::identity::model::{Credential, Principal};
use partneros_domain::identity::ports::IdentityStore;
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::ports::OrganizationStore;
use partneros_domain::shared::secret::TokenHash;

#[tokio::test]
async fn users_are_found_and_unique_case_insensitively() {
    let (_db, store) = setup().await;
    let created = store
        .create_user(new_user("Jane.Doe@Example.com", true, t0()), None, None)
        .await
        .unwrap();
    assert_eq!(created.email, "Jane.Doe@example.com");

    let found = store
        .find_user_by_email(&email("JANE.DOE@EXAMPLE.COM"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user, created);
    assert_eq!(found.password_hash.as_deref(), Some("$argon2id$stub"));
    assert!(
        store
            .find_user_by_email(&email("john@example.com"))
            .await
            .unwrap()
            .is_none()
    );

    let again = store
        .create_user(new_user("jane.doe@example.com", true, t0()), None, None)
        .await;
    assert!(is_conflict(&again), "{again:?}");
    assert_eq!(store.count_users().await.unwrap(), 1);
}

#[tokio::test]
async fn a_live_session_carries_the_membership_of_its_active_organization() {
    let (_db, store) = setup().await;
    let now = t0();
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let (sid, cred) = session(&store, owner, Some(acme), now).await;
    assert_eq!(
        store
            .authenticate(cred, now + Duration::seconds(1))
            .await
            .unwrap(),
        Some(Principal::User {
            user_id: owner,
            session_id: sid,
            membership: member_of(acme, Role::Owner),
        })
    );

    // Active organization the user does not belong to: signed in, but no membership.
    let outsider = user(&store, "outsider@example.com").await;
    let (sid, cred) = session(&store, outsider, Some(acme), now).await;
    assert_eq!(
        store.authenticate(cred, now).await.unwrap(),
        Some(Principal::User {
            user_id: outsider,
            session_id: sid,
            membership: None,
        })
    );

    // A removed member loses the membership on the next request.
    let admin = user(&store, "admin@example.com").await;
    store.add_member(acme, admin, Role::Admin).await.unwrap();
    let (_, cred) = session(&store, admin, Some(acme), now).await;
    let p = store.authenticate(cred, now).await.unwrap().unwrap();
    assert_eq!(p.membership().copied(), member_of(acme, Role::Admin));
    assert!(store.remove_member(acme, admin).await.unwrap());
    let p = store.authenticate(cred, now).await.unwrap().unwrap();
    assert_eq!(p.membership(), None);

    let unknown = Credential::Session(TokenHash::of("ps_unknown"));
    assert_eq!(store.authenticate(unknown, now).await.unwrap(), None);
}

#[tokio::test]
async fn expired_and_revoked_sessions_are_refused() {
    let (db, store) = setup().await;
    let now = t0();
    let u = user(&store, "u@example.com").await;

    // Idle expiry: refused exactly at idle_expires_at, without touching the row.
    let (idle_id, idle) = session(&store, u, None, now).await;
    let row = format!("sessions WHERE id = '{idle_id}'");
    let before = snapshot(&db, &[&row]).await;
    assert_eq!(
        store
            .authenticate(idle, now + Duration::days(7))
            .await
            .unwrap(),
        None
    );
    assert_eq!(snapshot(&db, &[&row]).await, before);
    assert!(
        store
            .authenticate(idle, now + Duration::days(7) - Duration::seconds(1))
            .await
            .unwrap()
            .is_some()
    );

    // Absolute expiry, even with inactivity time left.
    let mut s = new_session(u, None, now);
    s.absolute_expires_at = now + Duration::hours(1);
    let absolute = Credential::Session(s.token.hash);
    store.create_session(s).await.unwrap();
    assert!(
        store
            .authenticate(absolute, now + Duration::minutes(59))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .authenticate(absolute, now + Duration::hours(1))
            .await
            .unwrap(),
        None
    );

    // Revoked.
    let (revoked_id, revoked) = session(&store, u, None, now).await;
    store
        .revoke_session(revoked_id, now + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .authenticate(revoked, now + Duration::seconds(2))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn authentication_slides_the_idle_expiry_at_most_once_a_minute() {
    let (db, store) = setup().await;
    let now = t0();
    let u = user(&store, "u@example.com").await;
    let (sid, cred) = session(&store, u, None, now).await;
    let last_seen = format!("SELECT last_seen_at FROM sessions WHERE id = '{sid}'");
    let idle = format!("SELECT idle_expires_at FROM sessions WHERE id = '{sid}'");

    let t1 = now + Duration::minutes(2);
    assert!(store.authenticate(cred, t1).await.unwrap().is_some());
    assert_eq!(instant(&db, &last_seen).await, t1);
    assert_eq!(instant(&db, &idle).await, t1 + Duration::days(7));

    // Within the touch interval: nothing is written.
    assert!(
        store
            .authenticate(cred, t1 + Duration::seconds(59))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(instant(&db, &last_seen).await, t1);
    assert_eq!(instant(&db, &idle).await, t1 + Duration::days(7));

    // The sliding expiry never passes the absolute one.
    let mut s = new_session(u, None, now);
    s.absolute_expires_at = now + Duration::days(8);
    let (sid, cred) = (s.id, Credential::Session(s.token.hash));
    store.create_session(s).await.unwrap();
    assert!(
        store
            .authenticate(cred, now + Duration::days(3))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        instant(
            &db,
            &format!("SELECT idle_expires_at FROM sessions WHERE id = '{sid}'")
        )
        .await,
        now + Duration::days(8)
    );
    assert_eq!(
        store
            .authenticate(cred, now + Duration::days(8))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_active_organization_can_only_be_one_the_user_belongs_to() {
    let (db, store) = setup().await;
    let now = t0();
    let a = user(&store, "a@example.com").await;
    let b = user(&store, "b@example.com").await;
    let mine = org(&store, a, "mine").await;
    let theirs = org(&store, b, "theirs").await;
    let shared = org(&store, b, "shared").await;
    store.add_member(shared, a, Role::Viewer).await.unwrap();
    let (sid, cred) = session(&store, a, Some(mine), now).await;

    let row = format!("sessions WHERE id = '{sid}'");
    let before = snapshot(&db, &[&row]).await;
    assert!(!store.set_active_organization(sid, a, theirs).await.unwrap());
    assert_eq!(snapshot(&db, &[&row]).await, before);

    assert!(store.set_active_organization(sid, a, shared).await.unwrap());
    let p = store.authenticate(cred, now).await.unwrap().unwrap();
    assert_eq!(p.membership().copied(), member_of(shared, Role::Viewer));
    assert_eq!(
        store
            .find_session(sid)
            .await
            .unwrap()
            .unwrap()
            .active_organization_id,
        Some(shared)
    );
}
