//! The partner store: creation with contact and invitation, domains, paging, filters, updates and tenant isolation.

use crate::helpers::*;
use chrono::Duration;
use partneros_domain::identity::ports::IdentityStore;
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::ports::{
    AcceptSession, InvitationAcceptance, OrganizationStore,
};
use partneros_domain::partners::model::{
    PartnerCursor, PartnerFilter, PartnerPatch, PartnerStage, PartnerType,
};
use partneros_domain::partners::ports::PartnerStore;
use partneros_domain::partners::web_domain::PartnerDomain;
use partneros_domain::shared::ids::PartnerId;
use partneros_domain::shared::values::{BoundedText, HttpsUrl};

#[tokio::test]
async fn creating_a_partner_stores_contact_member_invitation_and_event() {
    let (db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let r = record(
        acme,
        "Globex",
        Some("https://www.Globex.io/about"),
        "Pat@Globex.io",
        t0(),
    );
    let (pid, inv_id, contact_user) = (r.id, r.invitation.invitation.id, r.contact_user.id);

    let (p, invitation) = store.create_partner(r).await.unwrap();
    assert_eq!(
        invitation.user_id,
        Some(contact_user),
        "bound to the passwordless account"
    );
    assert_eq!(
        (p.id, p.name.as_str(), p.domain.as_deref()),
        (pid, "Globex", Some("globex.io"))
    );
    let contact = p.primary_contact.clone().unwrap();
    assert_eq!(
        (contact.first_name.as_str(), contact.email.as_str()),
        ("Pat", "Pat@globex.io")
    );
    assert_eq!(store.get_partner(acme, pid).await.unwrap(), Some(p));

    let checks = [
        format!("partners WHERE id = '{pid}' AND organization_id = '{acme}'"),
        format!(
            "partner_contacts WHERE partner_id = '{pid}' AND organization_id = '{acme}' \
             AND is_primary AND user_id = '{contact_user}'"
        ),
        format!("users WHERE id = '{contact_user}' AND password_hash IS NULL"),
        format!(
            "members WHERE organization_id = '{acme}' AND user_id = '{contact_user}' \
             AND role = 'partner' AND partner_id = '{pid}'"
        ),
        format!(
            "invitations WHERE id = '{inv_id}' AND organization_id = '{acme}' AND role = 'partner' \
             AND partner_id = '{pid}' AND email = 'Pat@globex.io' AND user_id = '{contact_user}'"
        ),
        "events WHERE kind = 'invitation_created' AND NOT payload ? 'token'".to_owned(),
        format!("events WHERE kind = 'partner_created' AND payload->>'partnerId' = '{pid}'"),
        format!(
            "events WHERE kind = 'invitation_created' AND payload->>'invitationId' = '{inv_id}'"
        ),
    ];
    for check in &checks {
        assert_eq!(count(&db, check).await, 1, "{check}");
    }
}

/// A partner is read (alone and in lists) with its primary contact as `partner_contacts` holds
/// it, whatever writes that table.
#[tokio::test]
async fn a_partner_is_read_with_its_primary_contact_record() {
    let (db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let p = partner(&store, acme, "Globex", Some("globex.io")).await;
    let pid = p.id;
    let contact = p.primary_contact.clone().unwrap();
    let client = db.client().await;
    let contacts = async |change: &str| {
        let sql = format!("{change} WHERE partner_id = '{pid}'");
        client.batch_execute(&sql).await.unwrap();
    };
    let read = async || store.get_partner(acme, pid).await.unwrap().unwrap();

    assert_eq!(read().await.primary_contact, Some(contact.clone()));
    let listed = store
        .list_partners(acme, PartnerFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(listed[0].primary_contact, Some(contact.clone()));

    contacts("UPDATE partner_contacts SET first_name = 'Robin', email = 'robin@globex.io'").await;
    let renamed = read().await.primary_contact.unwrap();
    assert_eq!(
        (
            renamed.id,
            renamed.first_name.as_str(),
            renamed.last_name.as_str(),
            renamed.email.as_str()
        ),
        (
            contact.id,
            "Robin",
            contact.last_name.as_str(),
            "robin@globex.io"
        )
    );

    contacts("UPDATE partner_contacts SET is_primary = false").await;
    assert_eq!(read().await.primary_contact, None);

    contacts("UPDATE partner_contacts SET is_primary = true").await;
    assert_eq!(read().await.primary_contact.map(|c| c.id), Some(contact.id));

    contacts("DELETE FROM partner_contacts").await;
    assert_eq!(read().await.primary_contact, None);
}

#[tokio::test]
async fn a_duplicate_domain_is_a_conflict_within_an_organization_only() {
    let (db, store) = setup().await;
    let a = user(&store, "a@example.com").await;
    let b = user(&store, "b@example.com").await;
    let acme = org(&store, a, "acme").await;
    let other = org(&store, b, "other").await;
    partner(&store, acme, "Globex", Some("globex.io")).await;

    let tables = [
        "partners",
        "partner_contacts",
        "users",
        "members",
        "invitations",
        "events",
    ];
    let before = snapshot(&db, &tables).await;
    let dup = record(
        acme,
        "Globex 2",
        Some("http://GLOBEX.io"),
        "new@globex.io",
        t0(),
    );
    let r = store.create_partner(dup).await;
    assert!(is_conflict(&r), "{r:?}");
    assert_eq!(snapshot(&db, &tables).await, before);

    let elsewhere = record(other, "Globex", Some("globex.io"), "new@globex.io", t0());
    assert!(store.create_partner(elsewhere).await.is_ok());
}

#[tokio::test]
async fn a_contact_whose_account_has_a_password_is_invited_not_attached() {
    let (db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let pat = user(&store, "Pat@Globex.io").await;

    let r = record(acme, "Globex", None, "pat@globex.io", t0());
    let (pid, token) = (r.id, r.invitation.token.hash);
    let (_, invitation) = store.create_partner(r).await.unwrap();
    assert_eq!(invitation.user_id, None, "not a set-password link");
    assert_eq!(store.count_users().await.unwrap(), 2);
    let contact = format!("partner_contacts WHERE partner_id = '{pid}' AND user_id = '{pat}'");
    assert_eq!(count(&db, &contact).await, 1);
    assert!(
        store.find_member(acme, pat).await.unwrap().is_none(),
        "no membership without the account's consent"
    );

    // Pat accepts while signed in: the portal membership appears.
    let pending = store
        .find_pending_invitation(token, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.existing_user.unwrap().user.id, pat);
    let signed_in = new_session(pat, None, t0());
    let session = signed_in.id;
    store.create_session(signed_in).await.unwrap();
    store
        .accept_invitation(
            InvitationAcceptance {
                invitation_id: invitation.id,
                user_id: pat,
                create_user: None,
                set_password_hash: None,
                session: AcceptSession::Switch(session),
            },
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    let m = store.find_member(acme, pat).await.unwrap().unwrap();
    assert_eq!((m.role, m.partner_id), (Role::Partner, Some(pid)));
}

#[tokio::test]
async fn partners_page_newest_first_without_gaps_or_duplicates() {
    let (_db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let other = org(&store, owner, "other").await;
    let base = t0();
    // Two share a created_at, so the id breaks the tie.
    let mut created = Vec::new();
    for (i, secs) in [0, 1, 1, 2, 3].into_iter().enumerate() {
        let r = record(
            acme,
            &format!("P{i}"),
            None,
            &format!("c{i}@example.com"),
            base + Duration::seconds(secs),
        );
        created.push(store.create_partner(r).await.unwrap().0);
    }
    store
        .create_partner(record(
            other,
            "Elsewhere",
            None,
            "x@example.com",
            base + Duration::seconds(9),
        ))
        .await
        .unwrap();
    created.sort_by_key(|p| std::cmp::Reverse((p.created_at, p.id)));
    let expected: Vec<PartnerId> = created.iter().map(|p| p.id).collect();

    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut after = None;
    // Bounded, so a cursor that repeats rows fails instead of paging forever.
    for _ in 0..10 {
        let page = store
            .list_partners(acme, PartnerFilter::default(), after, 2)
            .await
            .unwrap();
        pages.push(page.len());
        let Some(last) = page.last() else { break };
        after = Some(PartnerCursor::after(last));
        seen.extend(page.iter().map(|p| p.id));
    }
    assert_eq!(pages, [2, 2, 1, 0]);
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn partners_are_filtered_by_search_type_stage_and_tier() {
    let (_db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    // name, domain, type, stage, tier
    let specs = [
        (
            "Acme Corp",
            Some("acme.com"),
            PartnerType::Technology,
            PartnerStage::Prospect,
            Some("Gold"),
        ),
        (
            "Globex",
            Some("globex.io"),
            PartnerType::Consulting,
            PartnerStage::Active,
            Some("Silver"),
        ),
        (
            "100% Pure",
            Some("pure.com"),
            PartnerType::Reseller,
            PartnerStage::Active,
            Some("Gold"),
        ),
        (
            "snake_case Ltd",
            Some("snake.dev"),
            PartnerType::Technology,
            PartnerStage::Active,
            None,
        ),
        (
            "snakeXcase",
            Some("other.dev"),
            PartnerType::Technology,
            PartnerStage::Churned,
            None,
        ),
        (
            "Initech",
            None,
            PartnerType::Services,
            PartnerStage::Onboarding,
            None,
        ),
    ];
    for (i, (name, domain, partner_type, stage, tier)) in specs.into_iter().enumerate() {
        let mut r = record(acme, name, domain, &format!("c{i}@example.com"), t0());
        r.partner.partner_type = partner_type;
        r.partner.stage = stage;
        r.partner.tier = tier.map(text);
        store.create_partner(r).await.unwrap();
    }
    let names = async |filter: PartnerFilter| {
        let mut n: Vec<String> = store
            .list_partners(acme, filter, None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        n.sort();
        n
    };
    let q = |q: &str| PartnerFilter {
        q: Some(q.into()),
        ..Default::default()
    };

    assert_eq!(names(q("ACME")).await, ["Acme Corp"]);
    assert_eq!(
        names(q(".IO")).await,
        ["Globex"],
        "the domain is searched too"
    );
    assert_eq!(
        names(q("nitec")).await,
        ["Initech"],
        "a partner without a domain matches by name"
    );
    assert_eq!(names(q("%")).await, ["100% Pure"], "% matches itself");
    assert_eq!(
        names(q("e_c")).await,
        ["snake_case Ltd"],
        "_ matches itself"
    );
    assert!(names(q("nothing-like-this")).await.is_empty());
    assert_eq!(names(PartnerFilter::default()).await.len(), 6);

    let by_type = PartnerFilter {
        partner_type: Some(PartnerType::Technology),
        ..Default::default()
    };
    assert_eq!(
        names(by_type).await,
        ["Acme Corp", "snakeXcase", "snake_case Ltd"]
    );
    let by_stage = PartnerFilter {
        stage: Some(PartnerStage::Active),
        ..Default::default()
    };
    assert_eq!(
        names(by_stage).await,
        ["100% Pure", "Globex", "snake_case Ltd"]
    );
    let by_tier = PartnerFilter {
        tier: Some("Gold".into()),
        ..Default::default()
    };
    assert_eq!(names(by_tier).await, ["100% Pure", "Acme Corp"]);
    let combined = PartnerFilter {
        q: Some("snake".into()),
        partner_type: Some(PartnerType::Technology),
        stage: Some(PartnerStage::Churned),
        tier: None,
    };
    assert_eq!(names(combined).await, ["snakeXcase"]);
}

#[tokio::test]
async fn updating_a_partner_sets_clears_and_leaves_fields() {
    let (_db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let taken = partner(&store, acme, "Taken", Some("taken.com")).await;
    let mut r = record(acme, "Globex", Some("globex.io"), "pat@globex.io", t0());
    r.partner.subtype = Some(text("ISV"));
    r.partner.tier = Some(text("Gold"));
    r.partner.logo_url = Some(HttpsUrl::parse("https://globex.io/logo.png").unwrap());
    let (p, _) = store.create_partner(r).await.unwrap();

    let later = p.created_at + Duration::hours(1);
    let patch = PartnerPatch {
        name: Some(BoundedText::parse("Globex Corp").unwrap()),
        tier: Some(None),
        domain: Some(None),
        stage: Some(PartnerStage::Active),
        ..Default::default()
    };
    let u = store
        .update_partner(acme, p.id, patch, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.name, "Globex Corp");
    assert_eq!((u.tier.as_deref(), u.domain.as_deref()), (None, None));
    assert_eq!(u.stage, PartnerStage::Active);
    assert_eq!(
        u.subtype.as_deref(),
        Some("ISV"),
        "None leaves a field alone"
    );
    assert_eq!(u.logo_url, p.logo_url);
    assert_eq!(u.primary_contact, p.primary_contact);
    assert_eq!((u.created_at, u.updated_at), (p.created_at, later));
    assert_eq!(
        store.get_partner(acme, p.id).await.unwrap(),
        Some(u.clone())
    );

    // Taking another partner's domain is a conflict and changes nothing.
    let steal = PartnerPatch {
        domain: Some(Some(PartnerDomain::parse("taken.com").unwrap())),
        name: Some(BoundedText::parse("Thief").unwrap()),
        ..Default::default()
    };
    let r = store
        .update_partner(acme, p.id, steal, later + Duration::hours(1))
        .await;
    assert!(is_conflict(&r), "{r:?}");
    assert_eq!(store.get_partner(acme, p.id).await.unwrap(), Some(u));
    assert_eq!(
        store.get_partner(acme, taken.id).await.unwrap(),
        Some(taken)
    );
}

#[tokio::test]
async fn another_organization_can_neither_see_nor_change_a_partner() {
    let (db, store) = setup().await;
    let a = user(&store, "a@example.com").await;
    let b = user(&store, "b@example.com").await;
    let acme = org(&store, a, "acme").await;
    let other = org(&store, b, "other").await;
    let p = partner(&store, acme, "Globex", Some("globex.io")).await;

    let tables = ["partners", "partner_contacts", "members", "invitations"];
    let before = snapshot(&db, &tables).await;
    assert_eq!(store.get_partner(other, p.id).await.unwrap(), None);
    let patch = PartnerPatch {
        name: Some(BoundedText::parse("Hijacked").unwrap()),
        tier: Some(None),
        ..Default::default()
    };
    assert_eq!(
        store
            .update_partner(other, p.id, patch, t0())
            .await
            .unwrap(),
        None
    );
    assert!(!store.delete_partner(other, p.id).await.unwrap());
    assert!(
        store
            .list_partners(other, PartnerFilter::default(), None, 50)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(snapshot(&db, &tables).await, before);

    // Its own organization can delete it, with the contact and the portal membership.
    assert!(store.delete_partner(acme, p.id).await.unwrap());
    assert_eq!(store.get_partner(acme, p.id).await.unwrap(), None);
    assert_eq!(count(&db, "partner_contacts").await, 0);
    assert_eq!(count(&db, "members WHERE role = 'partner'").await, 0);
    assert_eq!(count(&db, "members").await, 2, "the owners stay");
}
