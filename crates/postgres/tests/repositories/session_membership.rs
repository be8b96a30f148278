//! A credential resolves to its session and membership of the active organization (or its API key).

use crate::helpers::*;
use chrono::Duration;
use partneros_domain::identity::model::{Credential, Principal};
use partneros_domain::identity::ports::ApiKeyStore;
use partneros_domain::identity::ports::IdentityStore;
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::ports::OrganizationStore;
use partneros_domain::partners::ports::PartnerStore;
use partneros_domain::shared::ids::{OrganizationId, UserId};
use partneros_domain::shared::secret::TokenHash;
use partneros_postgres::Database;

async fn role_of(store: &Database, credential: &Credential) -> Option<Role> {
    let principal = store.authenticate(*credential, t0()).await.unwrap();
    principal.unwrap().membership().map(|m| m.role)
}

/// An owner's organizations `acme` and `globex`, and a user `pat` who belongs to both with
/// these roles.
async fn pat_in_two(
    store: &Database,
    in_acme: Role,
    in_globex: Role,
) -> (UserId, OrganizationId, OrganizationId) {
    let owner = user(store, "owner@example.com").await;
    let pat = user(store, "pat@example.com").await;
    let acme = org(store, owner, "acme").await;
    let globex = org(store, owner, "globex").await;
    store.add_member(acme, pat, in_acme).await.unwrap();
    store.add_member(globex, pat, in_globex).await.unwrap();
    (pat, acme, globex)
}

#[tokio::test]
async fn a_session_follows_its_membership_through_role_changes_removal_and_switches() {
    let (_db, store) = setup().await;
    let (pat, acme, globex) = pat_in_two(&store, Role::Member, Role::Viewer).await;
    let (sid, cred) = session(&store, pat, Some(acme), t0()).await;
    assert_eq!(role_of(&store, &cred).await, Some(Role::Member));

    store.change_role(acme, pat, Role::Admin).await.unwrap();
    assert_eq!(role_of(&store, &cred).await, Some(Role::Admin));

    assert!(
        store
            .set_active_organization(sid, pat, globex)
            .await
            .unwrap()
    );
    assert_eq!(role_of(&store, &cred).await, Some(Role::Viewer));
    // A change in the other organization leaves this session alone.
    store.change_role(acme, pat, Role::Member).await.unwrap();
    assert_eq!(role_of(&store, &cred).await, Some(Role::Viewer));

    assert!(store.remove_member(globex, pat).await.unwrap());
    assert_eq!(role_of(&store, &cred).await, None);
    store.add_member(globex, pat, Role::Member).await.unwrap();
    assert_eq!(role_of(&store, &cred).await, Some(Role::Member));
}

#[tokio::test]
async fn a_partner_session_loses_its_partner_with_the_record() {
    let (_db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let r = record(acme, "Globex", Some("globex.io"), "pat@globex.io", t0());
    let contact_user = r.contact_user.id;
    let (p, _) = store.create_partner(r).await.unwrap();
    let (_, cred) = session(&store, contact_user, Some(acme), t0()).await;
    let membership = |principal: Option<Principal>| principal.unwrap().membership().cloned();
    let m = membership(store.authenticate(cred, t0()).await.unwrap()).unwrap();
    assert_eq!((m.role, m.partner_id), (Role::Partner, Some(p.id)));

    assert!(store.delete_partner(acme, p.id).await.unwrap());
    assert_eq!(
        membership(store.authenticate(cred, t0()).await.unwrap()),
        None
    );
}

/// Switching organization (from another one, or to the one already active) while the role
/// there changes, many times over: every operation succeeds (no deadlock) and the session
/// always ends with the membership's final role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_switches_and_role_changes_end_with_the_final_role() {
    let (_db, store) = setup().await;
    let (pat, acme, globex) = pat_in_two(&store, Role::Member, Role::Member).await;
    let (sid, cred) = session(&store, pat, Some(globex), t0()).await;
    for round in 0..30 {
        let role = if round % 2 == 0 {
            Role::Viewer
        } else {
            Role::Admin
        };
        let (switch, change) = tokio::join!(
            {
                let store = store.clone();
                tokio::spawn(async move { store.set_active_organization(sid, pat, acme).await })
            },
            {
                let store = store.clone();
                tokio::spawn(async move { store.change_role(acme, pat, role).await })
            },
        );
        assert!(switch.unwrap().unwrap(), "round {round}");
        assert!(change.unwrap().unwrap().is_some(), "round {round}");
        assert_eq!(role_of(&store, &cred).await, Some(role), "round {round}");
        assert!(
            store
                .set_active_organization(sid, pat, globex)
                .await
                .unwrap()
        );
    }
}

/// A switch into an organization whose membership is being changed waits for that change and
/// takes its outcome: the session never keeps the role the change replaced.
#[tokio::test]
async fn a_switch_waits_for_a_concurrent_role_change_and_takes_its_outcome() {
    let (db, store) = setup().await;
    let (pat, acme, globex) = pat_in_two(&store, Role::Admin, Role::Member).await;
    let (sid, cred) = session(&store, pat, Some(globex), t0()).await;

    let demoting = db.client().await;
    demoting
        .batch_execute(&format!(
            "BEGIN; UPDATE members SET role = 'viewer' \
             WHERE organization_id = '{acme}' AND user_id = '{pat}'"
        ))
        .await
        .unwrap();
    let switch = tokio::spawn({
        let store = store.clone();
        async move { store.set_active_organization(sid, pat, acme).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !switch.is_finished(),
        "the switch waits for the membership change"
    );
    demoting.batch_execute("COMMIT").await.unwrap();
    assert!(switch.await.unwrap().unwrap());
    assert_eq!(role_of(&store, &cred).await, Some(Role::Viewer));
}

#[tokio::test]
async fn a_credential_resolves_to_its_membership_of_the_active_organization() {
    let (_db, store) = setup().await;
    let now = t0();
    let a = user(&store, "a@example.com").await;
    let b = user(&store, "b@example.com").await;
    let acme = org(&store, a, "acme").await;
    let other = org(&store, b, "other").await;
    let (sid, cred) = session(&store, a, Some(acme), now).await;
    assert_eq!(
        store.authenticate(cred, now).await.unwrap(),
        Some(Principal::User {
            user_id: a,
            session_id: sid,
            membership: member_of(acme, Role::Owner),
        })
    );

    // No active organization: signed in, no membership.
    let (sid, no_org) = session(&store, a, None, now).await;
    assert_eq!(
        store.authenticate(no_org, now).await.unwrap(),
        Some(Principal::User {
            user_id: a,
            session_id: sid,
            membership: None
        })
    );

    // API keys act in their own organization with their own role.
    let key = api_key(other, Role::Viewer, now);
    let key_cred = Credential::ApiKey(key.token.hash);
    store.create_api_key(key).await.unwrap();
    let principal = store.authenticate(key_cred, now).await.unwrap().unwrap();
    assert_eq!(
        principal.membership().cloned(),
        member_of(other, Role::Viewer)
    );

    // Dead credentials resolve to nothing.
    assert_eq!(
        store
            .authenticate(cred, now + Duration::days(7))
            .await
            .unwrap(),
        None
    );
    let unknown = Credential::Session(TokenHash::of("ps_unknown"));
    assert_eq!(store.authenticate(unknown, now).await.unwrap(), None);
}
