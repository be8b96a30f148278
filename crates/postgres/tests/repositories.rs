//! The PostgreSQL adapter against a real server: every test gets its own freshly migrated
//! database, passes explicit instants (no sleeps) and inspects rows with plain SQL.

use chrono::{DateTime, Duration, Utc};
use partneros_domain::StoreError;
use partneros_domain::identity::model::{
    ActiveMembership, ClientInfo, Credential, NewSession, NewUser, Principal,
};
use partneros_domain::identity::model::{ApiKey, NewApiKey};
use partneros_domain::identity::ports::{ApiKeyStore, IdentityStore};
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::model::{NewInvitation, NewOrganization};
use partneros_domain::organizations::ports::{
    AcceptSession, InvitationAcceptance, OrganizationStore,
};
use partneros_domain::partners::model::{
    CreatePartner, NewContact, Partner, PartnerCursor, PartnerFilter, PartnerPatch, PartnerStage,
    PartnerType, ShortText,
};
use partneros_domain::partners::ports::{NewPartnerRecord, PartnerStore};
use partneros_domain::partners::web_domain::PartnerDomain;
use partneros_domain::shared::health::HealthCheck;
use partneros_domain::shared::ids::{
    ApiKeyId, ContactId, OrganizationId, PartnerId, SessionId, UserId,
};
use partneros_domain::shared::rate_limit::{RateDecision, RateLimiter};
use partneros_domain::shared::secret::{IssuedToken, TokenHash};
use partneros_domain::shared::slug::Slug;
use partneros_domain::shared::time::truncate_to_micros;
use partneros_domain::shared::values::{BoundedText, Email, HttpsUrl};
use partneros_postgres::{Database, PoolConfig, connect};
use partneros_test_support::TestDatabase;

// ---------------------------------------------------------------------------------------------
// Harness

async fn setup() -> (TestDatabase, Database) {
    let db = TestDatabase::new().await;
    let store = connect(db.url(), &PoolConfig::default()).expect("build the pool");
    (db, store)
}

/// Now, at the precision PostgreSQL keeps, so stored instants compare equal.
fn t0() -> DateTime<Utc> {
    truncate_to_micros(Utc::now())
}

fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

fn text(raw: &str) -> ShortText {
    BoundedText::parse(raw).unwrap()
}

fn new_user(address: &str, with_password: bool, now: DateTime<Utc>) -> NewUser {
    NewUser {
        id: UserId::generate(),
        email: email(address),
        name: "Test User".into(),
        password_hash: with_password.then(|| "$argon2id$stub".to_owned()),
        created_at: now,
    }
}

async fn user(store: &Database, address: &str) -> UserId {
    store
        .create_user(new_user(address, true, t0()), None)
        .await
        .unwrap()
        .id
}

async fn org(store: &Database, owner: UserId, slug: &str) -> OrganizationId {
    let new = NewOrganization {
        id: OrganizationId::generate(),
        name: slug.to_uppercase(),
        slug: Slug::parse(slug).unwrap(),
        slug_chosen: true,
        created_at: t0(),
    };
    store
        .create_organization(new, owner, None)
        .await
        .unwrap()
        .id
}

fn new_session(user: UserId, active: Option<OrganizationId>, now: DateTime<Utc>) -> NewSession {
    NewSession::start(user, active, now, &ClientInfo::default())
}

/// Stores a session started at `now`; returns its id and credential.
async fn session(
    store: &Database,
    user: UserId,
    active: Option<OrganizationId>,
    now: DateTime<Utc>,
) -> (SessionId, Credential) {
    let s = new_session(user, active, now);
    store.create_session(s.clone()).await.unwrap();
    (s.id, Credential::Session(s.token.hash))
}

fn record(
    organization: OrganizationId,
    name: &str,
    domain: Option<&str>,
    contact: &str,
    now: DateTime<Utc>,
) -> NewPartnerRecord {
    let id = PartnerId::generate();
    let contact_email = email(contact);
    NewPartnerRecord {
        id,
        organization_id: organization,
        partner: CreatePartner {
            name: BoundedText::parse(name).unwrap(),
            domain: domain.map(|d| PartnerDomain::parse(d).unwrap()),
            logo_url: None,
            partner_type: PartnerType::Technology,
            subtype: None,
            category: None,
            tier: None,
            stage: PartnerStage::Prospect,
            manager_id: None,
            products: vec![],
            primary_contact: NewContact {
                first_name: text("Pat"),
                last_name: text("Lee"),
                email: contact_email.clone(),
            },
        },
        contact_id: ContactId::generate(),
        contact_user: new_user(contact, false, now),
        invitation: NewInvitation::new(
            organization,
            &contact_email,
            Role::Partner,
            Some(id),
            None,
            now,
        ),
        created_by: None,
        now,
    }
}

/// Creates a partner whose contact is unique to it.
async fn partner(
    store: &Database,
    organization: OrganizationId,
    name: &str,
    domain: Option<&str>,
) -> Partner {
    let contact = format!("contact-{}@example.com", uuid::Uuid::new_v4().simple());
    let (p, _) = store
        .create_partner(record(organization, name, domain, &contact, t0()))
        .await
        .unwrap();
    p
}

fn api_key(organization: OrganizationId, role: Role, now: DateTime<Utc>) -> NewApiKey {
    let token = IssuedToken::generate("pk_");
    NewApiKey {
        key: ApiKey {
            id: ApiKeyId::generate(),
            organization_id: organization,
            name: "ci".into(),
            role,
            prefix: token.token.expose()[..8].to_owned(),
            created_by: None,
            created_at: now,
            last_used_at: None,
        },
        token,
    }
}

fn member_of(organization: OrganizationId, role: Role) -> Option<ActiveMembership> {
    Some(ActiveMembership {
        organization_id: organization,
        role,
        partner_id: None,
    })
}

fn is_conflict<T: std::fmt::Debug>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

// Inspection through a plain SQL client (ids are UUIDs, safe to inline).

async fn scalar(db: &TestDatabase, sql: &str) -> i64 {
    let row = db.client().await.query_one(sql, &[]).await;
    row.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

async fn count(db: &TestDatabase, from_where: &str) -> i64 {
    scalar(db, &format!("SELECT count(*) FROM {from_where}")).await
}

/// A timestamptz selected by `sql`.
async fn instant(db: &TestDatabase, sql: &str) -> DateTime<Utc> {
    let micros = scalar(
        db,
        &format!("SELECT (extract(epoch FROM t) * 1000000)::int8 FROM ({sql}) AS q(t)"),
    )
    .await;
    DateTime::from_timestamp_micros(micros).unwrap()
}

/// Every row of each source (`table` or `table WHERE ...`), as text: equal snapshots mean
/// nothing changed.
async fn snapshot(db: &TestDatabase, sources: &[&str]) -> Vec<String> {
    let client = db.client().await;
    let mut out = Vec::new();
    for source in sources {
        let sql = format!(
            "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM (SELECT * FROM {source}) t"
        );
        out.push(client.query_one(&sql, &[]).await.unwrap().get(0));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Users

#[tokio::test]
async fn users_are_found_and_unique_case_insensitively() {
    let (_db, store) = setup().await;
    let created = store
        .create_user(new_user("Jane.Doe@Example.com", true, t0()), None)
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
        .create_user(new_user("jane.doe@example.com", true, t0()), None)
        .await;
    assert!(is_conflict(&again), "{again:?}");
    assert_eq!(store.count_users().await.unwrap(), 1);
}

// ---------------------------------------------------------------------------------------------
// Sessions

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

// ---------------------------------------------------------------------------------------------
// API keys

#[tokio::test]
async fn api_keys_authenticate_until_revoked_by_their_own_organization() {
    let (_db, store) = setup().await;
    let now = t0();
    let a = user(&store, "a@example.com").await;
    let b = user(&store, "b@example.com").await;
    let acme = org(&store, a, "acme").await;
    let other = org(&store, b, "other").await;
    let key = api_key(acme, Role::Admin, now);
    let (id, cred) = (key.key.id, Credential::ApiKey(key.token.hash));
    store.create_api_key(key).await.unwrap();

    let expected = Some(Principal::ApiKey {
        key_id: id,
        membership: ActiveMembership {
            organization_id: acme,
            role: Role::Admin,
            partner_id: None,
        },
    });
    assert_eq!(store.authenticate(cred, now).await.unwrap(), expected);
    let listed = store.list_api_keys(acme).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(now));
    assert!(store.list_api_keys(other).await.unwrap().is_empty());

    // Another organization cannot revoke it.
    assert!(!store.revoke_api_key(other, id, now).await.unwrap());
    assert_eq!(store.authenticate(cred, now).await.unwrap(), expected);

    assert!(store.revoke_api_key(acme, id, now).await.unwrap());
    assert_eq!(store.authenticate(cred, now).await.unwrap(), None);
    assert!(!store.revoke_api_key(acme, id, now).await.unwrap());
    assert!(store.list_api_keys(acme).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Organizations

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

// ---------------------------------------------------------------------------------------------
// Invitations

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

    // Reissue: a new token, the old one dead, a new expiry, an event without the token.
    let fresh = TokenHash::of("pi_fresh");
    let later = now + Duration::hours(47);
    let reissued = store
        .reissue_invitation(
            acme,
            second.invitation.id,
            fresh,
            later + Duration::hours(48),
            later,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reissued.expires_at, later + Duration::hours(48));
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
            .reissue_invitation(other, second.invitation.id, fresh, later, later)
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

// ---------------------------------------------------------------------------------------------
// Partners

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

/// The partner's copy of its primary contact follows `partner_contacts` whatever writes it.
#[tokio::test]
async fn the_primary_contact_copy_follows_the_contact_record() {
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

    // The create wrote the copy with the partner, so the trigger had nothing to rewrite: the
    // only partner of this fresh database is still its first row version.
    assert_eq!(read().await.primary_contact, Some(contact.clone()));
    let first_version = format!("partners WHERE id = '{pid}' AND ctid = '(0,1)'::tid");
    assert_eq!(count(&db, &first_version).await, 1);

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
    assert_eq!(
        count(
            &db,
            &format!("partners WHERE id = '{pid}' AND primary_contact_first_name IS NOT NULL")
        )
        .await,
        0
    );
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

#[tokio::test]
async fn get_partner_as_reads_only_from_the_active_organization() {
    let (_db, store) = setup().await;
    let now = t0();
    let a = user(&store, "a@example.com").await;
    let b = user(&store, "b@example.com").await;
    let acme = org(&store, a, "acme").await;
    let other = org(&store, b, "other").await;
    let mine = partner(&store, acme, "Mine", None).await;
    let theirs = partner(&store, other, "Theirs", None).await;
    let (sid, cred) = session(&store, a, Some(acme), now).await;
    let principal = Principal::User {
        user_id: a,
        session_id: sid,
        membership: member_of(acme, Role::Owner),
    };

    assert_eq!(
        store.get_partner_as(cred, mine.id, now).await.unwrap(),
        Some((principal.clone(), Some(mine.clone())))
    );
    assert_eq!(
        store.get_partner_as(cred, theirs.id, now).await.unwrap(),
        Some((principal, None))
    );

    // No active organization: signed in, nothing to read.
    let (sid, no_org) = session(&store, a, None, now).await;
    assert_eq!(
        store.get_partner_as(no_org, mine.id, now).await.unwrap(),
        Some((
            Principal::User {
                user_id: a,
                session_id: sid,
                membership: None
            },
            None
        ))
    );

    // API keys read their own organization.
    let key = api_key(other, Role::Viewer, now);
    let key_cred = Credential::ApiKey(key.token.hash);
    store.create_api_key(key).await.unwrap();
    let (_, read) = store
        .get_partner_as(key_cred, theirs.id, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, Some(theirs));
    let (_, read) = store
        .get_partner_as(key_cred, mine.id, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, None);

    // Dead credentials resolve to nothing.
    assert_eq!(
        store
            .get_partner_as(cred, mine.id, now + Duration::days(7))
            .await
            .unwrap(),
        None
    );
    let unknown = Credential::Session(TokenHash::of("ps_unknown"));
    assert_eq!(
        store.get_partner_as(unknown, mine.id, now).await.unwrap(),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Rate limits

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_hits_allow_exactly_the_limit() {
    let (db, store) = setup().await;
    let now = t0();
    let window = Duration::minutes(1);
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.hit("sign-in:a", 10, window, now).await })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            RateDecision::Allowed => allowed += 1,
            RateDecision::Limited { retry_after_secs } => assert!(retry_after_secs >= 1),
        }
    }
    assert_eq!(allowed, 10);
    assert_eq!(
        count(&db, "rate_limit_hits WHERE bucket = 'sign-in:a'").await,
        10
    );

    assert_eq!(
        store.hit("sign-in:b", 10, window, now).await.unwrap(),
        RateDecision::Allowed
    );
    // A refused hit records nothing and says when the oldest leaves the window.
    assert_eq!(
        store
            .hit("sign-in:a", 10, window, now + Duration::seconds(20))
            .await
            .unwrap(),
        RateDecision::Limited {
            retry_after_secs: 40
        }
    );
    assert_eq!(
        count(&db, "rate_limit_hits WHERE bucket = 'sign-in:a'").await,
        10
    );
    // Once the window has passed, hits are allowed again.
    assert_eq!(
        store
            .hit("sign-in:a", 10, window, now + window)
            .await
            .unwrap(),
        RateDecision::Allowed
    );
}

#[tokio::test]
async fn reservations_count_at_once_and_settle_as_failures_releases_or_lapses() {
    let (db, store) = setup().await;
    let now = t0();
    let (window, lease) = (Duration::minutes(15), Duration::minutes(2));
    // A concurrent burst: exactly the limit is reserved.
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve("acct", 3, window, lease, now).await })
        })
        .collect();
    let mut reserved = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() == RateDecision::Allowed {
            reserved += 1;
        }
    }
    assert_eq!(reserved, 3);
    // One is a failure (kept), one had no verdict (released), one is never settled.
    store.settle("acct", now, true).await.unwrap();
    store.settle("acct", now, false).await.unwrap();
    assert_eq!(count(&db, "rate_limit_hits WHERE bucket = 'acct'").await, 2);
    let later = now + Duration::seconds(30);
    assert_eq!(
        store
            .reserve("acct", 3, window, lease, later)
            .await
            .unwrap(),
        RateDecision::Allowed,
        "the released place is free again"
    );
    store.settle("acct", later, true).await.unwrap();
    // Past the lease the unsettled reservation lapses; the two failures still count.
    let after_lease = now + lease + Duration::seconds(1);
    assert_eq!(
        store
            .reserve("acct", 3, window, lease, after_lease)
            .await
            .unwrap(),
        RateDecision::Allowed
    );
    assert!(matches!(
        store
            .reserve("acct", 3, window, lease, after_lease)
            .await
            .unwrap(),
        RateDecision::Limited { .. }
    ));
}

// ---------------------------------------------------------------------------------------------
// Health

#[tokio::test]
async fn readiness_requires_every_migration() {
    let (db, store) = setup().await;
    store.ready().await.unwrap();
    db.client()
        .await
        .batch_execute(
            "DELETE FROM __diesel_schema_migrations \
             WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)",
        )
        .await
        .unwrap();
    assert!(store.ready().await.is_err());
}

#[tokio::test]
async fn purging_removes_only_expired_rate_limit_hits() {
    use partneros_domain::shared::rate_limit::RateLimiter;
    let test_db = partneros_test_support::TestDatabase::new().await;
    let db = partneros_postgres::connect(test_db.url(), &partneros_postgres::PoolConfig::default())
        .unwrap();
    let now = chrono::Utc::now();
    let day = chrono::Duration::days(1);
    db.hit("old", 10, day, now - chrono::Duration::hours(2))
        .await
        .unwrap();
    db.hit("new", 10, day, now - chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        db.purge_rate_limit_hits(now - chrono::Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    let client = test_db.client().await;
    let left: Vec<String> = client
        .query("SELECT bucket FROM rate_limit_hits", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, ["new"]);
}

// ---------------------------------------------------------------------------------------------
// The session's copy of its active membership

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
    let (db, store) = setup().await;
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

    // Writing the copy by hand recomputes it from the membership.
    db.client()
        .await
        .batch_execute(&format!(
            "UPDATE sessions SET active_role = 'owner' WHERE id = '{sid}'"
        ))
        .await
        .unwrap();
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
async fn concurrent_switches_and_role_changes_leave_the_copy_true() {
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
