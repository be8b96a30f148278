//! Invitations: stored with their event, accepted once, replaced, revoked and reissued.

use crate::helpers::*;
use chrono::Duration;
use partneros_domain::identity::model::Credential;
use partneros_domain::identity::ports::IdentityStore;
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::model::NewInvitation;
use partneros_domain::organizations::ports::{
    AcceptSession, InvitationAcceptance, OrganizationStore,
};
use partneros_domain::partners::ports::PartnerStore;
use partneros_domain::shared::secret::TokenHash;

#[tokio::test]
async fn an_invitation_is_stored_with_its_event_and_accepted_once() {
    let (db, store) = setup().await;
    let now = t0();
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let inv = NewInvitation::new(
        acme,
        &email("New@Example.com"),
        Role::Member,
        None,
        Some(owner),
        now,
    );
    let id = inv.invitation.id;
    store.create_invitation(inv.clone()).await.unwrap();

    let event = format!(
        "events WHERE kind = 'invitation_created' AND organization_id = '{acme}' \
         AND payload->>'invitationId' = '{id}' AND NOT payload ? 'token'"
    );
    assert_eq!(count(&db, &event).await, 1);
    // Only the token's hash is stored, anywhere.
    let token = inv.token.token.expose();
    let anywhere = format!(
        "(SELECT payload::text AS t FROM events UNION ALL \
          SELECT row_to_json(i)::text FROM invitations i) AS everything \
         WHERE t LIKE '%{}%'",
        &token[3..]
    );
    assert_eq!(count(&db, &anywhere).await, 0);
    // A failed insert writes no event either.
    assert!(is_conflict(&store.create_invitation(inv.clone()).await));
    assert_eq!(count(&db, "events").await, 1);

    let pending = store
        .find_pending_invitation(inv.token.hash, now + Duration::hours(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.invitation, inv.invitation);
    assert!(pending.existing_user.is_none());
    assert!(
        store
            .find_pending_invitation(TokenHash::of("pi_nope"), now)
            .await
            .unwrap()
            .is_none()
    );

    let later = now + Duration::hours(1);
    let newcomer = new_user("New@Example.com", true, later);
    let login = new_session(newcomer.id, Some(acme), later);
    let acceptance = InvitationAcceptance {
        invitation_id: id,
        user_id: newcomer.id,
        create_user: Some(newcomer.clone()),
        set_password_hash: None,
        session: AcceptSession::Start(login.clone()),
    };
    let accepted = store
        .accept_invitation(acceptance.clone(), later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(accepted.id, newcomer.id);
    assert_eq!(
        store
            .find_member(acme, newcomer.id)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Member
    );
    let p = store
        .authenticate(Credential::Session(login.token.hash), later)
        .await
        .unwrap();
    assert_eq!(
        p.unwrap().membership().copied(),
        member_of(acme, Role::Member)
    );

    // Used: neither found nor accepted again.
    assert!(
        store
            .find_pending_invitation(inv.token.hash, later)
            .await
            .unwrap()
            .is_none()
    );
    let again = InvitationAcceptance {
        create_user: None,
        session: AcceptSession::Start(new_session(newcomer.id, Some(acme), later)),
        ..acceptance
    };
    assert!(
        store
            .accept_invitation(again, later)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        count(&db, &format!("sessions WHERE user_id = '{}'", newcomer.id)).await,
        1
    );
    assert_eq!(store.count_users().await.unwrap(), 2);
}

#[tokio::test]
async fn an_expired_invitation_is_neither_found_nor_accepted() {
    let (db, store) = setup().await;
    let now = t0();
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let inv = NewInvitation::new(
        acme,
        &email("late@example.com"),
        Role::Member,
        None,
        None,
        now,
    );
    store.create_invitation(inv.clone()).await.unwrap();
    let expiry = inv.invitation.expires_at;

    assert!(
        store
            .find_pending_invitation(inv.token.hash, expiry - Duration::seconds(1))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .find_pending_invitation(inv.token.hash, expiry)
            .await
            .unwrap()
            .is_none()
    );

    let late = new_user("late@example.com", true, expiry);
    let acceptance = InvitationAcceptance {
        invitation_id: inv.invitation.id,
        user_id: late.id,
        create_user: Some(late.clone()),
        set_password_hash: None,
        session: AcceptSession::Start(new_session(late.id, Some(acme), expiry)),
    };
    assert!(
        store
            .accept_invitation(acceptance, expiry)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_eq!(count(&db, "sessions").await, 0);
}

#[tokio::test]
async fn accepting_an_invitation_never_lowers_a_role() {
    let (_db, store) = setup().await;
    let now = t0();
    let owner = user(&store, "owner@example.com").await;
    let admin = user(&store, "admin@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let inv = NewInvitation::new(
        acme,
        &email("admin@example.com"),
        Role::Viewer,
        None,
        None,
        now,
    );
    store.create_invitation(inv.clone()).await.unwrap();
    // Made an admin by an operator while the invitation was pending.
    store.add_member(acme, admin, Role::Admin).await.unwrap();

    let pending = store
        .find_pending_invitation(inv.token.hash, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.existing_user.unwrap().user.id, admin);
    let signed_in = new_session(admin, None, now);
    let session = signed_in.id;
    store.create_session(signed_in).await.unwrap();
    let acceptance = InvitationAcceptance {
        invitation_id: inv.invitation.id,
        user_id: admin,
        create_user: None,
        set_password_hash: None,
        session: AcceptSession::Switch(session),
    };
    assert!(
        store
            .accept_invitation(acceptance, now)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .find_session(session)
            .await
            .unwrap()
            .unwrap()
            .active_organization_id,
        Some(acme),
        "the signed-in session switched to the organization"
    );
    assert_eq!(
        store.find_member(acme, admin).await.unwrap().unwrap().role,
        Role::Admin
    );
}

#[tokio::test]
async fn invitations_are_replaced_listed_revoked_and_reissued() {
    let (db, store) = setup().await;
    let now = t0();
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let invite = |role| NewInvitation::new(acme, &email("Ann@Example.com"), role, None, None, now);

    // A member is not invited again.
    let r = store
        .create_invitation(NewInvitation::new(
            acme,
            &email("OWNER@example.com"),
            Role::Admin,
            None,
            None,
            now,
        ))
        .await;
    assert!(is_conflict(&r), "{r:?}");

    let first = invite(Role::Viewer);
    store.create_invitation(first.clone()).await.unwrap();
    let second = invite(Role::Member);
    store.create_invitation(second.clone()).await.unwrap();
    let listed = store.list_invitations(acme).await.unwrap();
    assert_eq!(
        listed,
        vec![second.invitation.clone()],
        "the newer one replaces the older"
    );
    assert!(
        store
            .find_pending_invitation(first.token.hash, now)
            .await
            .unwrap()
            .is_none(),
        "the replaced token is dead"
    );

    // Reissue: a new expiry and an event naming the invitation; the relay then mints a new
    // token (the old one dies then).
    let later = now + Duration::hours(47);
    let reissued = store
        .reissue_invitation(
            acme,
            second.invitation.id,
            later + Duration::hours(48),
            later,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reissued.expires_at, later + Duration::hours(48));
    let fresh = TokenHash::of("pi_fresh");
    let minted = store
        .mint_invitation_token(second.invitation.id, fresh, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(minted.expires_at, later + Duration::hours(48));
    assert!(
        store
            .find_pending_invitation(second.token.hash, later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_pending_invitation(fresh, later + Duration::hours(47))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        count(
            &db,
            "events WHERE kind = 'invitation_resent' AND NOT payload ? 'token'"
        )
        .await,
        1
    );

    // Another organization's id is not found; a revoked invitation is dead and not listed.
    let other = org(&store, owner, "other").await;
    assert!(
        !store
            .revoke_invitation(other, second.invitation.id, later)
            .await
            .unwrap()
    );
    assert!(
        store
            .reissue_invitation(other, second.invitation.id, later, later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .revoke_invitation(acme, second.invitation.id, later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_invitation(acme, second.invitation.id, later)
            .await
            .unwrap()
    );
    assert!(store.list_invitations(acme).await.unwrap().is_empty());
    assert!(
        store
            .find_pending_invitation(fresh, later)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(count(&db, "invitations WHERE token_hash IS NULL").await, 0);
}

#[tokio::test]
async fn a_set_password_invitation_cannot_overwrite_a_password_set_meanwhile() {
    let (db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let r = record(acme, "Globex", None, "pat@globex.io", t0());
    let (contact, token) = (r.contact_user.id, r.invitation.token.hash);
    let (_, invitation) = store.create_partner(r).await.unwrap();
    assert!(
        store
            .find_pending_invitation(token, t0())
            .await
            .unwrap()
            .is_some()
    );
    // The account got a password some other way (say, another organization's link).
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "UPDATE users SET password_hash = 'theirs' WHERE id = '{contact}'"
        ))
        .await
        .unwrap();
    let accepted = store
        .accept_invitation(
            InvitationAcceptance {
                invitation_id: invitation.id,
                user_id: contact,
                create_user: None,
                set_password_hash: Some("attacker".into()),
                session: AcceptSession::Start(new_session(contact, Some(acme), t0())),
            },
            t0(),
        )
        .await
        .unwrap();
    assert!(accepted.is_none());
    assert_eq!(
        count(
            &db,
            &format!("users WHERE id = '{contact}' AND password_hash = 'theirs'")
        )
        .await,
        1
    );
    assert_eq!(
        count(&db, &format!("sessions WHERE user_id = '{contact}'")).await,
        0
    );
}

#[tokio::test]
async fn a_token_is_minted_only_for_an_open_invitation() {
    let (db, store) = setup().await;
    let now = t0();
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let invite = |address: &str| {
        NewInvitation::new(acme, &email(address), Role::Member, None, Some(owner), now)
    };
    let open = invite("open@example.com");
    let revoked = invite("revoked@example.com");
    let accepted = invite("accepted@example.com");
    for i in [&open, &revoked, &accepted] {
        store.create_invitation(i.clone()).await.unwrap();
    }
    store
        .revoke_invitation(acme, revoked.invitation.id, now)
        .await
        .unwrap();
    let newcomer = new_user("accepted@example.com", true, now);
    store
        .accept_invitation(
            InvitationAcceptance {
                invitation_id: accepted.invitation.id,
                user_id: newcomer.id,
                create_user: Some(newcomer.clone()),
                set_password_hash: None,
                session: AcceptSession::Start(new_session(newcomer.id, Some(acme), now)),
            },
            now,
        )
        .await
        .unwrap()
        .unwrap();

    let minted = TokenHash::of("pi_minted");
    let got = store
        .mint_invitation_token(open.invitation.id, minted, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, open.invitation);
    // The placeholder stored at creation no longer works; the minted token does.
    assert!(
        store
            .find_pending_invitation(open.token.hash, now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_pending_invitation(minted, now)
            .await
            .unwrap()
            .is_some()
    );
    for (id, at) in [
        (revoked.invitation.id, now),
        (accepted.invitation.id, now),
        (open.invitation.id, open.invitation.expires_at),
        (partneros_domain::shared::ids::InvitationId::generate(), now),
    ] {
        let before = snapshot(&db, &["invitations"]).await;
        assert!(
            store
                .mint_invitation_token(id, TokenHash::of("pi_never"), at)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(snapshot(&db, &["invitations"]).await, before);
    }
    // An account created by accepting is verified: the token reached its address.
    assert_eq!(
        count(
            &db,
            &format!(
                "users WHERE id = '{}' AND email_verified_at IS NOT NULL",
                newcomer.id
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_contact_setting_their_password_through_the_link_is_verified() {
    let (db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let r = record(acme, "Globex", None, "pat@globex.io", t0());
    let contact = r.contact_user.id;
    let (_, invitation) = store.create_partner(r).await.unwrap();
    let unverified = format!("users WHERE id = '{contact}' AND email_verified_at IS NULL");
    assert_eq!(count(&db, &unverified).await, 1);
    let user = store
        .accept_invitation(
            InvitationAcceptance {
                invitation_id: invitation.id,
                user_id: contact,
                create_user: None,
                set_password_hash: Some("$argon2id$pat".into()),
                session: AcceptSession::Start(new_session(contact, Some(acme), t0())),
            },
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(user.has_password);
    assert!(user.email_verified);
    assert_eq!(count(&db, &unverified).await, 0);
}
