//! The legal-template store: templates with their event, names unique per organization
//! case-insensitively, lists per partner, and tenant isolation.

use crate::helpers::*;
use chrono::Duration;
use partneros_domain::legal::model::{LegalTemplate, TemplateScope};
use partneros_domain::legal::ports::LegalTemplateStore;
use partneros_domain::legal::ports::{FieldPlacement, SignatureFieldType};
use partneros_domain::shared::ids::{OrganizationId, PartnerId, UserId};
use partneros_postgres::Database;
use uuid::Uuid;

fn template(
    organization: OrganizationId,
    partner: PartnerId,
    name: &str,
    by: Option<UserId>,
    minutes_ago: i64,
) -> LegalTemplate {
    LegalTemplate {
        id: Uuid::new_v4(),
        organization_id: organization,
        partner_id: partner,
        name: name.to_owned(),
        description: Some("Mutual NDA".into()),
        scope: TemplateScope::Reusable,
        roles: vec!["Partner".into(), "Company".into()],
        fields: vec![FieldPlacement {
            name: "Signature".into(),
            field_type: SignatureFieldType::Signature,
            role: "Partner".into(),
            required: true,
            page: 1,
            x: 0.1,
            y: 0.8,
            width: 0.3,
            height: 0.05,
        }],
        docuseal_template_id: 4242,
        docuseal_slug: "abc123".into(),
        created_by: by,
        created_at: t0() - Duration::minutes(minutes_ago),
    }
}

async fn inserted(store: &Database, t: LegalTemplate) -> LegalTemplate {
    store.insert_template(t.clone()).await.unwrap();
    t
}

#[tokio::test]
async fn a_template_round_trips_with_its_event() {
    let (db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let p = partner(&store, acme, "Globex", Some("globex.io")).await;
    let t = inserted(&store, template(acme, p.id, "NDA", Some(owner), 0)).await;

    assert_eq!(
        store.get_template(acme, t.id).await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "events WHERE kind = 'legal_template_created' AND organization_id = '{acme}' \
                 AND payload->>'templateId' = '{}' AND (payload->>'docusealTemplateId')::int8 = 4242",
                t.id
            )
        )
        .await,
        1
    );
    assert!(store.delete_template(acme, t.id).await.unwrap());
    assert_eq!(store.get_template(acme, t.id).await.unwrap(), None);
    assert!(!store.delete_template(acme, t.id).await.unwrap());
}

#[tokio::test]
async fn template_names_are_unique_per_organization_case_insensitively() {
    let (db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let globex = org(&store, owner, "globex").await;
    let in_acme = partner(&store, acme, "Initech", None).await;
    let in_globex = partner(&store, globex, "Initech", None).await;
    inserted(&store, template(acme, in_acme.id, "Partner NDA", None, 0)).await;

    assert!(
        store
            .template_name_taken(acme, "partner nda")
            .await
            .unwrap()
    );
    assert!(
        store
            .template_name_taken(acme, "PARTNER NDA")
            .await
            .unwrap()
    );
    assert!(
        !store
            .template_name_taken(acme, "Reseller terms")
            .await
            .unwrap()
    );
    assert!(
        !store
            .template_name_taken(globex, "Partner NDA")
            .await
            .unwrap()
    );

    // A concurrent creation that passed the check is refused by the store, with no event.
    let events = count(&db, "events WHERE kind = 'legal_template_created'").await;
    let taken = store
        .insert_template(template(acme, in_acme.id, "PARTNER nda", None, 0))
        .await;
    assert!(is_conflict(&taken), "{taken:?}");
    assert_eq!(
        count(&db, "events WHERE kind = 'legal_template_created'").await,
        events
    );
    // Another organization may use the name.
    inserted(
        &store,
        template(globex, in_globex.id, "Partner NDA", None, 0),
    )
    .await;
}

#[tokio::test]
async fn templates_list_newest_first_per_organization_and_partner() {
    let (_db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let globex = org(&store, owner, "globex").await;
    let a = partner(&store, acme, "Initech", None).await;
    let b = partner(&store, acme, "Hooli", None).await;
    let theirs = partner(&store, globex, "Umbrella", None).await;
    let old = inserted(&store, template(acme, a.id, "Old", None, 10)).await;
    let new = inserted(&store, template(acme, a.id, "New", None, 5)).await;
    let other = inserted(&store, template(acme, b.id, "Other", None, 1)).await;
    inserted(&store, template(globex, theirs.id, "Theirs", None, 0)).await;

    let names = |ts: Vec<LegalTemplate>| ts.into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.list_templates(acme, None).await.unwrap()),
        [other.name, new.name.clone(), old.name.clone()]
    );
    assert_eq!(
        names(store.list_templates(acme, Some(a.id)).await.unwrap()),
        [new.name, old.name]
    );
    assert!(
        store
            .list_templates(acme, Some(theirs.id))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn another_organization_can_neither_read_nor_delete_a_template() {
    let (db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let globex = org(&store, owner, "globex").await;
    let p = partner(&store, acme, "Initech", None).await;
    let t = inserted(&store, template(acme, p.id, "NDA", None, 0)).await;
    let before = snapshot(&db, &["legal_templates"]).await;

    assert_eq!(store.get_template(globex, t.id).await.unwrap(), None);
    assert!(store.list_templates(globex, None).await.unwrap().is_empty());
    assert!(!store.delete_template(globex, t.id).await.unwrap());
    // Nor attach one to a partner of another organization.
    let foreign = store
        .insert_template(template(globex, p.id, "Stolen", None, 0))
        .await;
    assert!(foreign.is_err(), "{foreign:?}");
    assert_eq!(snapshot(&db, &["legal_templates"]).await, before);
}

#[tokio::test]
async fn deleting_a_partner_deletes_its_templates() {
    let (_db, store) = setup().await;
    let owner = user(&store, "owner@example.com").await;
    let acme = org(&store, owner, "acme").await;
    let p = partner(&store, acme, "Initech", None).await;
    let t = inserted(&store, template(acme, p.id, "NDA", None, 0)).await;
    use partneros_domain::partners::ports::PartnerStore;
    assert!(store.delete_partner(acme, p.id).await.unwrap());
    assert_eq!(store.get_template(acme, t.id).await.unwrap(), None);
}
