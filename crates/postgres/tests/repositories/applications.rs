//! The application store: forms (global slugs), affiliate links, submissions (rate-limited
//! with the insert, one live submission per email, paged newest first), reviews, and tenant
//! isolation.

use crate::helpers::*;
use chrono::{DateTime, Duration, Utc};
use partneros_domain::applications::form::{
    ApplicationContent, ApplicationStatus, parse_agreements, parse_fields,
};
use partneros_domain::applications::model::{
    AffiliateLink, Application, ApplicationPatch, NewSubmission, PartnerMapping, SubmissionCursor,
    SubmissionStatus,
};
use partneros_domain::applications::ports::{ApplicationStore, ReviewOutcome};
use partneros_domain::shared::ids::{OrganizationId, UserId};
use partneros_domain::shared::rate_limit::{RateDecision, WriteLimit};
use partneros_postgres::Database;
use serde_json::json;
use uuid::Uuid;

fn application(organization: OrganizationId, slug: &str, status: ApplicationStatus) -> Application {
    let fields = parse_fields(&json!([
        {"fieldKey": "companyName", "label": "Company", "type": "text", "required": true},
        {"fieldKey": "email", "label": "Email", "type": "email", "required": true},
    ]))
    .unwrap();
    let agreements = parse_agreements(&json!([
        {"id": Uuid::new_v4(), "title": "Terms", "body": "Be nice.", "required": true},
    ]))
    .unwrap();
    let now = t0();
    Application {
        id: Uuid::new_v4(),
        organization_id: organization,
        name: format!("Apply to {slug}"),
        slug: slug.to_owned(),
        status,
        fields,
        agreements,
        content: ApplicationContent {
            title: Some("Become a partner".into()),
            ..ApplicationContent::default()
        },
        partner_mapping: PartnerMapping {
            name: Some("companyName".into()),
            ..PartnerMapping::default()
        },
        notify_on_submission: true,
        created_at: now,
        updated_at: now,
    }
}

async fn created(store: &Database, a: Application) -> Application {
    store.create_application(a.clone()).await.unwrap();
    a
}

fn submission(
    a: &Application,
    email: &str,
    slug: Option<&str>,
    at: DateTime<Utc>,
) -> NewSubmission {
    let mut form_data = serde_json::Map::new();
    form_data.insert("companyName".into(), json!("Globex"));
    form_data.insert("email".into(), json!(email));
    NewSubmission {
        id: Uuid::new_v4(),
        organization_id: a.organization_id,
        application_id: a.id,
        form_data,
        accepted_agreements: a.agreements.iter().map(|s| s.id).collect(),
        email: Some(email.to_owned()),
        affiliate_slug: slug.map(str::to_owned),
        client_ip: Some("203.0.113.7".into()),
        created_at: at,
    }
}

fn roomy() -> WriteLimit {
    WriteLimit {
        bucket: format!("submit:{}", Uuid::new_v4()),
        limit: 1000,
        window: Duration::hours(1),
    }
}

async fn submitted(store: &Database, s: NewSubmission) -> Uuid {
    let id = s.id;
    assert_eq!(
        store.insert_submission(s, roomy()).await.unwrap(),
        RateDecision::Allowed
    );
    id
}

async fn two_organizations(store: &Database) -> (OrganizationId, OrganizationId, UserId) {
    let owner = user(store, "owner@example.com").await;
    (
        org(store, owner, "acme").await,
        org(store, owner, "globex").await,
        owner,
    )
}

// ---------------------------------------------------------------------------------------------
// Forms

#[tokio::test]
async fn an_application_round_trips_and_lists_newest_first() {
    let (_db, store) = setup().await;
    let (acme, globex, _) = two_organizations(&store).await;
    let mut first = application(acme, "first-form", ApplicationStatus::Draft);
    first.created_at -= Duration::minutes(1);
    let first = created(&store, first).await;
    let second = created(
        &store,
        application(acme, "second-form", ApplicationStatus::Draft),
    )
    .await;
    created(
        &store,
        application(globex, "their-form", ApplicationStatus::Draft),
    )
    .await;

    assert_eq!(
        store.get_application(acme, first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.list_applications(acme).await.unwrap(),
        vec![second.clone(), first.clone()]
    );
    assert!(store.application_exists(acme, first.id).await.unwrap());
    assert!(
        !store
            .application_exists(acme, Uuid::new_v4())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn application_slugs_are_unique_across_organizations() {
    let (_db, store) = setup().await;
    let (acme, globex, _) = two_organizations(&store).await;
    created(&store, application(acme, "apply", ApplicationStatus::Draft)).await;
    let taken = store
        .create_application(application(globex, "apply", ApplicationStatus::Draft))
        .await;
    assert!(is_conflict(&taken), "{taken:?}");

    // Renaming onto a taken slug is a conflict too, and leaves the form as it was.
    let other = created(&store, application(acme, "other", ApplicationStatus::Draft)).await;
    let patch = ApplicationPatch {
        slug: Some("apply".into()),
        ..ApplicationPatch::default()
    };
    let renamed = store.update_application(acme, other.id, patch, t0()).await;
    assert!(is_conflict(&renamed), "{renamed:?}");
    assert_eq!(
        store.get_application(acme, other.id).await.unwrap(),
        Some(other)
    );
}

#[tokio::test]
async fn updating_an_application_changes_only_the_parts_given() {
    let (_db, store) = setup().await;
    let (acme, _, _) = two_organizations(&store).await;
    let a = created(&store, application(acme, "apply", ApplicationStatus::Draft)).await;
    let later = t0() + Duration::minutes(1);
    let patch = ApplicationPatch {
        name: Some("Renamed".into()),
        status: Some(ApplicationStatus::Published),
        ..ApplicationPatch::default()
    };
    let updated = store
        .update_application(acme, a.id, patch, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.status, updated.updated_at),
        ("Renamed", ApplicationStatus::Published, later)
    );
    assert_eq!(
        (
            &updated.slug,
            &updated.fields,
            &updated.agreements,
            &updated.content
        ),
        (&a.slug, &a.fields, &a.agreements, &a.content)
    );
    assert_eq!(
        store.get_application(acme, a.id).await.unwrap(),
        Some(updated)
    );

    assert!(
        store
            .set_banner_url(acme, a.id, "https://cdn.example/b.png", later)
            .await
            .unwrap()
    );
    let banner = store.get_application(acme, a.id).await.unwrap().unwrap();
    assert_eq!(
        banner.content.banner_url.as_deref(),
        Some("https://cdn.example/b.png")
    );
    assert_eq!(
        banner.content.title, a.content.title,
        "the rest of the content stays"
    );
}

#[tokio::test]
async fn only_published_applications_are_public() {
    let (_db, store) = setup().await;
    let (acme, _, _) = two_organizations(&store).await;
    created(
        &store,
        application(acme, "draft-form", ApplicationStatus::Draft),
    )
    .await;
    created(
        &store,
        application(acme, "closed-form", ApplicationStatus::Closed),
    )
    .await;
    let live = created(
        &store,
        application(acme, "live-form", ApplicationStatus::Published),
    )
    .await;

    assert_eq!(
        store.published_application("live-form").await.unwrap(),
        Some(live)
    );
    assert_eq!(
        store.published_application("draft-form").await.unwrap(),
        None
    );
    assert_eq!(
        store.published_application("closed-form").await.unwrap(),
        None
    );
    assert_eq!(store.published_application("nowhere").await.unwrap(), None);
}

#[tokio::test]
async fn another_organization_can_neither_read_change_nor_delete_an_application() {
    let (db, store) = setup().await;
    let (acme, globex, _) = two_organizations(&store).await;
    let a = created(&store, application(acme, "apply", ApplicationStatus::Draft)).await;
    let s = submitted(&store, submission(&a, "pat@globex.io", None, t0())).await;
    let before = snapshot(&db, &["applications", "submissions", "affiliate_links"]).await;

    assert_eq!(store.get_application(globex, a.id).await.unwrap(), None);
    assert!(store.list_applications(globex).await.unwrap().is_empty());
    assert!(!store.application_exists(globex, a.id).await.unwrap());
    let patch = ApplicationPatch {
        name: Some("Hijacked".into()),
        ..ApplicationPatch::default()
    };
    assert_eq!(
        store
            .update_application(globex, a.id, patch, t0())
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .set_banner_url(globex, a.id, "https://evil.example/x.png", t0())
            .await
            .unwrap()
    );
    assert!(!store.delete_application(globex, a.id).await.unwrap());
    assert!(
        store
            .list_submissions(globex, a.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.get_submission(globex, s).await.unwrap(), None);
    assert!(matches!(
        store
            .reject_submission(globex, s, None, None, t0())
            .await
            .unwrap(),
        ReviewOutcome::NotFound
    ));
    assert!(
        store
            .list_affiliate_links(globex, a.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        snapshot(&db, &["applications", "submissions", "affiliate_links"]).await,
        before
    );

    assert!(store.delete_application(acme, a.id).await.unwrap());
    assert_eq!(store.get_application(acme, a.id).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// Affiliate links and submissions

#[tokio::test]
async fn submissions_are_attributed_to_the_link_named_by_their_slug() {
    let (db, store) = setup().await;
    let (acme, _, _) = two_organizations(&store).await;
    let a = created(
        &store,
        application(acme, "apply", ApplicationStatus::Published),
    )
    .await;
    let link = AffiliateLink {
        id: Uuid::new_v4(),
        application_id: a.id,
        slug: "summit".into(),
        label: Some("Summit booth".into()),
        partner_id: None,
        lead_count: 0,
        created_at: t0(),
    };
    store
        .create_affiliate_link(acme, link.clone())
        .await
        .unwrap();
    let again = AffiliateLink {
        id: Uuid::new_v4(),
        ..link.clone()
    };
    assert!(is_conflict(&store.create_affiliate_link(acme, again).await));

    let via_link = submitted(
        &store,
        submission(&a, "a@example.com", Some("summit"), t0()),
    )
    .await;
    let unknown = submitted(&store, submission(&a, "b@example.com", Some("nope"), t0())).await;
    let direct = submitted(&store, submission(&a, "c@example.com", None, t0())).await;

    let link_of = async |id| {
        let s = store.get_submission(acme, id).await.unwrap().unwrap();
        (s.affiliate_link_id, s.affiliate_slug, s.status)
    };
    assert_eq!(
        link_of(via_link).await,
        (
            Some(link.id),
            Some("summit".into()),
            SubmissionStatus::Pending
        )
    );
    assert_eq!(
        link_of(unknown).await,
        (None, Some("nope".into()), SubmissionStatus::Pending),
        "the slug is kept as sent"
    );
    assert_eq!(
        link_of(direct).await,
        (None, None, SubmissionStatus::Pending)
    );
    let links = store.list_affiliate_links(acme, a.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!((links[0].id, links[0].lead_count), (link.id, 1));
    assert_eq!(
        count(
            &db,
            &format!("events WHERE kind = 'application_submitted' AND organization_id = '{acme}'")
        )
        .await,
        3
    );
}

#[tokio::test]
async fn an_email_has_one_live_submission_per_application() {
    let (db, store) = setup().await;
    let (acme, _, _) = two_organizations(&store).await;
    let a = created(
        &store,
        application(acme, "apply", ApplicationStatus::Published),
    )
    .await;
    let b = created(
        &store,
        application(acme, "other", ApplicationStatus::Published),
    )
    .await;
    let first = submitted(&store, submission(&a, "pat@globex.io", None, t0())).await;
    let limit = roomy();
    let bucket = limit.bucket.clone();

    let again = store
        .insert_submission(submission(&a, "pat@globex.io", None, t0()), limit.clone())
        .await;
    assert!(is_conflict(&again), "{again:?}");
    assert_eq!(
        count(&db, &format!("rate_limit_hits WHERE bucket = '{bucket}'")).await,
        0,
        "a refused submission counts no hit"
    );
    // Another application takes the same email.
    submitted(&store, submission(&b, "pat@globex.io", None, t0())).await;

    // Once rejected, the email may apply again.
    let rejected = store
        .reject_submission(acme, first, Some("not a fit".into()), None, t0())
        .await
        .unwrap();
    let ReviewOutcome::Done(rejected) = rejected else {
        panic!("rejected: {rejected:?}")
    };
    assert_eq!(
        (rejected.status, rejected.reject_reason.as_deref()),
        (SubmissionStatus::Rejected, Some("not a fit"))
    );
    assert!(matches!(
        store
            .reject_submission(acme, first, None, None, t0())
            .await
            .unwrap(),
        ReviewOutcome::NotPending
    ));
    submitted(&store, submission(&a, "pat@globex.io", None, t0())).await;
}

#[tokio::test]
async fn a_submission_over_the_limit_stores_nothing() {
    let (db, store) = setup().await;
    let (acme, _, _) = two_organizations(&store).await;
    let a = created(
        &store,
        application(acme, "apply", ApplicationStatus::Published),
    )
    .await;
    let limit = WriteLimit {
        bucket: "submit:203.0.113.7".into(),
        limit: 2,
        window: Duration::hours(1),
    };
    let now = t0();
    for i in 0..2 {
        let s = submission(&a, &format!("p{i}@example.com"), None, now);
        let decision = store.insert_submission(s, limit.clone()).await.unwrap();
        assert_eq!(decision, RateDecision::Allowed);
    }
    let before = snapshot(&db, &["submissions", "events"]).await;
    let third = store
        .insert_submission(submission(&a, "p2@example.com", None, now), limit.clone())
        .await
        .unwrap();
    assert!(matches!(third, RateDecision::Limited { .. }), "{third:?}");
    assert_eq!(snapshot(&db, &["submissions", "events"]).await, before);
    // The window slides.
    let later = submission(&a, "p2@example.com", None, now + Duration::hours(2));
    assert_eq!(
        store.insert_submission(later, limit).await.unwrap(),
        RateDecision::Allowed
    );
}

#[tokio::test]
async fn submissions_page_newest_first_without_gaps_or_duplicates() {
    let (_db, store) = setup().await;
    let (acme, _, _) = two_organizations(&store).await;
    let a = created(
        &store,
        application(acme, "apply", ApplicationStatus::Published),
    )
    .await;
    let now = t0();
    let mut expected = Vec::new();
    for i in 0..7 {
        // Pairs share an instant, so the id breaks ties.
        let at = now + Duration::seconds(i / 2);
        expected.push(
            submitted(
                &store,
                submission(&a, &format!("p{i}@example.com"), None, at),
            )
            .await,
        );
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_submissions(acme, a.id, after, 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some(SubmissionCursor::after(last));
        seen.extend(page.iter().map(|s| (s.created_at, s.id)));
    }
    let mut newest_first = seen.clone();
    newest_first.sort_by(|x, y| y.cmp(x));
    assert_eq!(seen, newest_first);
    let mut ids: Vec<Uuid> = seen.into_iter().map(|(_, id)| id).collect();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn approving_a_submission_creates_its_partner_once() {
    let (db, store) = setup().await;
    let (acme, _, owner) = two_organizations(&store).await;
    let a = created(
        &store,
        application(acme, "apply", ApplicationStatus::Published),
    )
    .await;
    let s = submitted(&store, submission(&a, "pat@globex.io", None, t0())).await;

    let r = record(acme, "Globex", Some("globex.io"), "pat@globex.io", t0());
    let pid = r.id;
    let outcome = store.approve_submission(s, r, Some(owner)).await.unwrap();
    let ReviewOutcome::Done((approved, partner, _invitation)) = outcome else {
        panic!("approved: {outcome:?}")
    };
    assert_eq!(
        (approved.status, approved.partner_id, approved.reviewed_by),
        (SubmissionStatus::Approved, Some(pid), Some(owner))
    );
    assert_eq!(partner.id, pid);
    assert_eq!(
        count(&db, &format!("partners WHERE organization_id = '{acme}'")).await,
        1
    );

    let twice = record(acme, "Globex", Some("globex.io"), "pat@globex.io", t0());
    assert!(matches!(
        store.approve_submission(s, twice, None).await.unwrap(),
        ReviewOutcome::NotPending
    ));
    let missing = record(acme, "Initech", None, "x@initech.io", t0());
    assert!(matches!(
        store
            .approve_submission(Uuid::new_v4(), missing, None)
            .await
            .unwrap(),
        ReviewOutcome::NotFound
    ));
    assert_eq!(
        count(&db, &format!("partners WHERE organization_id = '{acme}'")).await,
        1
    );
}

#[tokio::test]
async fn approving_onto_a_taken_domain_is_a_conflict_and_leaves_the_submission_pending() {
    let (_db, store) = setup().await;
    let (acme, _, _) = two_organizations(&store).await;
    partner(&store, acme, "Globex", Some("globex.io")).await;
    let a = created(
        &store,
        application(acme, "apply", ApplicationStatus::Published),
    )
    .await;
    let s = submitted(&store, submission(&a, "pat@globex.io", None, t0())).await;

    let r = record(
        acme,
        "Globex again",
        Some("globex.io"),
        "pat@globex.io",
        t0(),
    );
    let approved = store.approve_submission(s, r, None).await;
    assert!(is_conflict(&approved), "{approved:?}");
    let stored = store.get_submission(acme, s).await.unwrap().unwrap();
    assert_eq!(stored.status, SubmissionStatus::Pending);
}

// ---------------------------------------------------------------------------------------------
// New-submission notices

#[tokio::test]
async fn the_notice_flag_round_trips_and_is_patched_alone() {
    let (_db, store) = setup().await;
    let (acme, _, _) = two_organizations(&store).await;
    let mut quiet = application(acme, "quiet", ApplicationStatus::Draft);
    quiet.notify_on_submission = false;
    let quiet = created(&store, quiet).await;
    assert!(
        !store
            .get_application(acme, quiet.id)
            .await
            .unwrap()
            .unwrap()
            .notify_on_submission
    );
    let patch = ApplicationPatch {
        notify_on_submission: Some(true),
        ..ApplicationPatch::default()
    };
    let loud = store
        .update_application(acme, quiet.id, patch, t0())
        .await
        .unwrap()
        .unwrap();
    assert!(loud.notify_on_submission);
    assert_eq!((loud.name, loud.fields), (quiet.name, quiet.fields));
    let untouched = store
        .update_application(acme, quiet.id, ApplicationPatch::default(), t0())
        .await
        .unwrap()
        .unwrap();
    assert!(untouched.notify_on_submission);
}

#[tokio::test]
async fn a_notice_goes_to_the_owners_and_admins_of_the_submissions_organization() {
    use partneros_domain::applications::notice::Recipient;
    use partneros_domain::identity::role::Role;
    let (_db, store) = setup().await;
    let (acme, globex, _) = two_organizations(&store).await;
    for (address, role) in [
        ("admin@example.com", Role::Admin),
        ("member@example.com", Role::Member),
        ("viewer@example.com", Role::Viewer),
    ] {
        let u = user(&store, address).await;
        store.add_member(acme, u, role).await.unwrap();
    }
    // An admin elsewhere only.
    let elsewhere = user(&store, "globex-admin@example.com").await;
    store
        .add_member(globex, elsewhere, Role::Admin)
        .await
        .unwrap();
    partner(&store, acme, "Partner Co", None).await;

    let a = created(
        &store,
        application(acme, "apply", ApplicationStatus::Published),
    )
    .await;
    let at = t0();
    let s = submitted(&store, submission(&a, "lead@example.com", None, at)).await;
    let notice = store.submission_notice(acme, s).await.unwrap().unwrap();
    assert_eq!((notice.submission_id, notice.application_id), (s, a.id));
    assert_eq!(notice.application_name, "Apply to apply");
    assert_eq!(notice.organization_name, "ACME");
    assert!(notice.notify);
    assert_eq!(notice.submitted_at, at);
    let mut to: Vec<&str> = notice.recipients.iter().map(|r| r.email.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["admin@example.com", "owner@example.com"]);
    assert!(notice.recipients.contains(&Recipient {
        email: "owner@example.com".into(),
        name: "Test User".into(),
    }));

    // Another organization does not see it; an unknown submission is none.
    assert!(store.submission_notice(globex, s).await.unwrap().is_none());
    assert!(
        store
            .submission_notice(acme, Uuid::new_v4())
            .await
            .unwrap()
            .is_none()
    );

    // Switched off: the notice says so, with nobody to mail.
    let patch = ApplicationPatch {
        notify_on_submission: Some(false),
        ..ApplicationPatch::default()
    };
    store
        .update_application(acme, a.id, patch, t0())
        .await
        .unwrap();
    let off = store.submission_notice(acme, s).await.unwrap().unwrap();
    assert!(!off.notify);
    assert!(off.recipients.is_empty());
}
