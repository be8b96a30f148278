//! Organizations: slugs, and the last owner who cannot leave.

use crate::helpers::*;
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::model::NewOrganization;
use partneros_domain::organizations::ports::OrganizationStore;
use partneros_domain::shared::ids::OrganizationId;
use partneros_domain::shared::slug::Slug;

#[tokio::test]
async fn a_taken_slug_is_a_conflict() {
    let (db, store) = setup().await;
    let a = user(&store, "a@example.com").await;
    let b = user(&store, "b@example.com").await;
    org(&store, a, "acme").await;
    let clash = NewOrganization {
        id: OrganizationId::generate(),
        name: "Acme again".into(),
        slug: Slug::parse("acme").unwrap(),
        slug_chosen: true,
        created_at: t0(),
    };
    let r = store.create_organization(clash, b, None).await;
    assert!(is_conflict(&r), "{r:?}");
    assert_eq!(count(&db, "organizations").await, 1);
    assert!(store.list_memberships(b).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_organization_keeps_at_least_one_owner() {
    let (db, store) = setup().await;
    let a = user(&store, "a@example.com").await;
    let b = user(&store, "b@example.com").await;
    let acme = org(&store, a, "acme").await;
    store.add_member(acme, b, Role::Member).await.unwrap();

    let before = snapshot(&db, &["members"]).await;
    let r = store.change_role(acme, a, Role::Admin).await;
    assert!(is_conflict(&r), "{r:?}");
    let r = store.remove_member(acme, a).await;
    assert!(is_conflict(&r), "{r:?}");
    assert_eq!(snapshot(&db, &["members"]).await, before);

    // With a second owner, the first may step down.
    assert_eq!(
        store
            .change_role(acme, b, Role::Owner)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Owner
    );
    assert_eq!(
        store
            .change_role(acme, a, Role::Admin)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Admin
    );
    // ...and now b is the last one.
    let r = store.remove_member(acme, b).await;
    assert!(is_conflict(&r), "{r:?}");
    assert!(store.remove_member(acme, a).await.unwrap());

    let stranger = user(&store, "c@example.com").await;
    assert_eq!(
        store
            .change_role(acme, stranger, Role::Admin)
            .await
            .unwrap(),
        None
    );
    assert!(!store.remove_member(acme, stranger).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_owner_demotions_and_removals_leave_one_owner() {
    let (db, store) = setup().await;
    for round in 0..6 {
        let a = user(&store, &format!("a{round}@example.com")).await;
        let b = user(&store, &format!("b{round}@example.com")).await;
        let o = org(&store, a, &format!("org-{round}")).await;
        store.add_member(o, b, Role::Owner).await.unwrap();

        let (s1, s2) = (store.clone(), store.clone());
        let (ok, conflicts) = if round % 2 == 0 {
            let (r1, r2) = tokio::join!(
                tokio::spawn(async move { s1.change_role(o, a, Role::Admin).await }),
                tokio::spawn(async move { s2.change_role(o, b, Role::Admin).await }),
            );
            let rs = [r1.unwrap(), r2.unwrap()];
            (
                rs.iter()
                    .filter(|r| matches!(r, Ok(Some(m)) if m.role == Role::Admin))
                    .count(),
                rs.iter().filter(|r| is_conflict(r)).count(),
            )
        } else {
            let (r1, r2) = tokio::join!(
                tokio::spawn(async move { s1.remove_member(o, a).await }),
                tokio::spawn(async move { s2.remove_member(o, b).await }),
            );
            let rs = [r1.unwrap(), r2.unwrap()];
            (
                rs.iter().filter(|r| matches!(r, Ok(true))).count(),
                rs.iter().filter(|r| is_conflict(r)).count(),
            )
        };
        assert_eq!((ok, conflicts), (1, 1), "round {round}");
        let owners = format!("members WHERE organization_id = '{o}' AND role = 'owner'");
        assert_eq!(count(&db, &owners).await, 1, "round {round}");
    }
}
