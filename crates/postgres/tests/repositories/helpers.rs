//! Shared harness of the adapter tests: a fresh database and a store per test, builders of
//! the records most tests need, and inspection through a plain SQL client.

use chrono::{DateTime, Utc};
use partneros_domain::identity::model::{
    ActiveMembership, ClientInfo, Credential, NewSession, NewUser,
};
use partneros_domain::identity::model::{ApiKey, NewApiKey};
use partneros_domain::identity::ports::IdentityStore;
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::model::{NewInvitation, NewOrganization};
use partneros_domain::organizations::ports::OrganizationStore;
use partneros_domain::partners::model::{
    CreatePartner, NewContact, Partner, PartnerStage, PartnerType, ShortText,
};
use partneros_domain::partners::ports::{NewPartnerRecord, PartnerStore};
use partneros_domain::partners::web_domain::PartnerDomain;
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::{
    ApiKeyId, ContactId, OrganizationId, PartnerId, SessionId, UserId,
};
use partneros_domain::shared::secret::IssuedToken;
use partneros_domain::shared::slug::Slug;
use partneros_domain::shared::time::truncate_to_micros;
use partneros_domain::shared::values::{BoundedText, Email};
use partneros_postgres::{Database, PoolConfig, connect};
use partneros_test_support::TestDatabase;

// ---------------------------------------------------------------------------------------------
// Harness

pub(crate) async fn setup() -> (TestDatabase, Database) {
    let db = TestDatabase::new().await;
    let store = connect(db.url(), &PoolConfig::default()).expect("build the pool");
    (db, store)
}

/// Now, at the precision PostgreSQL keeps, so stored instants compare equal.
pub(crate) fn t0() -> DateTime<Utc> {
    truncate_to_micros(Utc::now())
}

pub(crate) fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

pub(crate) fn text(raw: &str) -> ShortText {
    BoundedText::parse(raw).unwrap()
}

pub(crate) fn new_user(address: &str, with_password: bool, now: DateTime<Utc>) -> NewUser {
    NewUser {
        id: UserId::generate(),
        email: email(address),
        name: "Test User".into(),
        password_hash: with_password.then(|| "$argon2id$stub".to_owned()),
        email_verified: true,
        created_at: now,
    }
}

pub(crate) async fn user(store: &Database, address: &str) -> UserId {
    store
        .create_user(new_user(address, true, t0()), None, None)
        .await
        .unwrap()
        .id
}

pub(crate) async fn org(store: &Database, owner: UserId, slug: &str) -> OrganizationId {
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

pub(crate) fn new_session(
    user: UserId,
    active: Option<OrganizationId>,
    now: DateTime<Utc>,
) -> NewSession {
    NewSession::start(user, active, now, &ClientInfo::default())
}

/// Stores a session started at `now`; returns its id and credential.
pub(crate) async fn session(
    store: &Database,
    user: UserId,
    active: Option<OrganizationId>,
    now: DateTime<Utc>,
) -> (SessionId, Credential) {
    let s = new_session(user, active, now);
    store.create_session(s.clone()).await.unwrap();
    (s.id, Credential::Session(s.token.hash))
}

pub(crate) fn record(
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
        contact_user: NewUser {
            email_verified: false,
            ..new_user(contact, false, now)
        },
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
pub(crate) async fn partner(
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

pub(crate) fn api_key(organization: OrganizationId, role: Role, now: DateTime<Utc>) -> NewApiKey {
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

pub(crate) fn member_of(organization: OrganizationId, role: Role) -> Option<ActiveMembership> {
    Some(ActiveMembership {
        organization_id: organization,
        role,
        partner_id: None,
    })
}

pub(crate) fn is_conflict<T: std::fmt::Debug>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

// Inspection through a plain SQL client (ids are UUIDs, safe to inline).

pub(crate) async fn scalar(db: &TestDatabase, sql: &str) -> i64 {
    let row = db.client().await.query_one(sql, &[]).await;
    row.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

pub(crate) async fn count(db: &TestDatabase, from_where: &str) -> i64 {
    scalar(db, &format!("SELECT count(*) FROM {from_where}")).await
}

/// A timestamptz selected by `sql`.
pub(crate) async fn instant(db: &TestDatabase, sql: &str) -> DateTime<Utc> {
    let micros = scalar(
        db,
        &format!("SELECT (extract(epoch FROM t) * 1000000)::int8 FROM ({sql}) AS q(t)"),
    )
    .await;
    DateTime::from_timestamp_micros(micros).unwrap()
}

/// Every row of each source (`table` or `table WHERE ...`), as text: equal snapshots mean
/// nothing changed.
pub(crate) async fn snapshot(db: &TestDatabase, sources: &[&str]) -> Vec<String> {
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
