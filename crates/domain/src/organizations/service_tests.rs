//! Tests of the organization use cases, with mocked ports.

use super::*;
use crate::identity::model::{User, UserWithPassword};
use crate::shared::clock::SystemClock;

use crate::identity::ports::{MockIdentityStore, MockPasswordHasher};
use crate::organizations::ports::MockOrganizationStore;
use chrono::Utc;

use crate::shared::fixtures::principal;

fn service(
    identity: MockIdentityStore,
    orgs: MockOrganizationStore,
    hasher: MockPasswordHasher,
) -> OrganizationService {
    OrganizationService::new(
        Arc::new(identity),
        Arc::new(orgs),
        Arc::new(hasher),
        Arc::new(SystemClock),
    )
}

/// An identity store whose every user has (or has not) verified their address.
fn users(verified: bool) -> MockIdentityStore {
    let mut identity = MockIdentityStore::new();
    identity.expect_find_user().returning(move |id| {
        Ok(Some(User {
            id,
            email_verified: verified,
            ..account(true).user
        }))
    });
    identity
}

fn invitation(email: &str, bound: Option<UserId>) -> Invitation {
    Invitation {
        id: InvitationId::generate(),
        organization_id: OrganizationId::generate(),
        email: email.into(),
        role: if bound.is_some() {
            Role::Partner
        } else {
            Role::Member
        },
        partner_id: None,
        user_id: bound,
        expires_at: Utc::now(),
        created_at: Utc::now(),
    }
}

fn account(password: bool) -> UserWithPassword {
    UserWithPassword {
        user: User {
            id: UserId::generate(),
            email: "old@example.com".into(),
            name: "Old".into(),
            has_password: password,
            email_verified: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        },
        password_hash: password.then(|| "h".to_owned()),
    }
}

/// An organization store that finds `pending` for any token.
fn pending(invitation: Invitation, existing: Option<UserWithPassword>) -> MockOrganizationStore {
    let mut orgs = MockOrganizationStore::new();
    orgs.expect_find_pending_invitation()
        .returning(move |_, _| {
            Ok(Some(crate::organizations::ports::PendingInvitation {
                invitation: invitation.clone(),
                existing_user: existing.clone(),
            }))
        });
    orgs
}

fn signed_in_as(user: UserId) -> Principal {
    Principal::User {
        user_id: user,
        session_id: crate::shared::ids::SessionId::generate(),
        membership: None,
    }
}

fn member(role: Role) -> Member {
    Member {
        user_id: UserId::generate(),
        email: "x@example.com".into(),
        name: "X".into(),
        role,
        partner_id: None,
        joined_at: Utc::now(),
    }
}

#[tokio::test]
async fn derived_slug_clash_retries_with_a_suffix() {
    let mut orgs = MockOrganizationStore::new();
    let mut seq = mockall::Sequence::new();
    orgs.expect_create_organization()
        .times(1)
        .in_sequence(&mut seq)
        .withf(|o, _, _| o.slug.as_str() == "acme")
        .returning(|_, _, _| Err(StoreError::Conflict("slug".into())));
    orgs.expect_create_organization()
        .times(1)
        .in_sequence(&mut seq)
        .withf(|o, _, _| o.slug.as_str().starts_with("acme-"))
        .returning(|o, _, _| {
            Ok(Organization {
                id: o.id,
                name: o.name,
                slug: o.slug.as_str().into(),
                created_at: o.created_at,
            })
        });
    let svc = service(users(true), orgs, MockPasswordHasher::new());
    let org = svc
        .create(&principal(Role::Member), "Acme", None)
        .await
        .unwrap();
    assert!(org.slug.starts_with("acme-"));
}

#[tokio::test]
async fn chosen_slug_clash_is_a_conflict() {
    let mut orgs = MockOrganizationStore::new();
    orgs.expect_create_organization()
        .times(1)
        .returning(|_, _, _| Err(StoreError::Conflict("slug".into())));
    let svc = service(users(true), orgs, MockPasswordHasher::new());
    let err = svc
        .create(&principal(Role::Member), "Acme", Some("acme"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn an_unverified_account_cannot_create_an_organization() {
    let mut orgs = MockOrganizationStore::new();
    orgs.expect_create_organization().never();
    let svc = service(users(false), orgs, MockPasswordHasher::new());
    let err = svc
        .create(&principal(Role::Member), "Acme", None)
        .await
        .unwrap_err();
    assert!(matches!(err, OrganizationError::EmailNotVerified));
    assert_eq!(err.kind(), ErrorKind::EmailNotVerified);
    // Invalid input is reported before the account is looked at.
    let svc = service(
        MockIdentityStore::new(),
        MockOrganizationStore::new(),
        MockPasswordHasher::new(),
    );
    let err = svc
        .create(&principal(Role::Member), "", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
}

#[tokio::test]
async fn every_addition_is_an_invitation_stored_for_the_relay_to_mail() {
    let mut orgs = MockOrganizationStore::new();
    orgs.expect_create_invitation()
        .times(1)
        .withf(|i| i.invitation.role == Role::Viewer && i.invitation.email == "new@example.com")
        .returning(|_| Ok(()));
    // No mail, no token minted here: the invitation_created event carries the rest.
    orgs.expect_mint_invitation_token().never();
    let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
    let out = svc
        .add_member(&principal(Role::Admin), "new@example.com", "viewer")
        .await
        .unwrap();
    assert_eq!(out.email, "new@example.com");
}

#[tokio::test]
async fn a_resend_extends_the_invitation_and_leaves_the_token_to_the_relay() {
    let caller = principal(Role::Owner);
    let org = caller.membership().unwrap().organization_id;
    let id = InvitationId::generate();
    let mut orgs = MockOrganizationStore::new();
    orgs.expect_reissue_invitation()
        .times(1)
        .withf(move |o, i, expires, now| *o == org && *i == id && *expires - *now == INVITATION_TTL)
        .returning(|_, i, _, _| {
            Ok(Some(Invitation {
                id: i,
                ..invitation("ann@example.com", None)
            }))
        });
    orgs.expect_reissue_invitation()
        .returning(|_, _, _, _| Ok(None));
    let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
    assert_eq!(svc.resend_invitation(&caller, id).await.unwrap().id, id);
    let err = svc
        .resend_invitation(&caller, InvitationId::generate())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn inviting_a_member_again_is_a_conflict() {
    let mut orgs = MockOrganizationStore::new();
    orgs.expect_create_invitation()
        .returning(|_| Err(StoreError::Conflict("member".into())));
    let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
    let err = svc
        .add_member(&principal(Role::Owner), "old@example.com", "member")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn admins_cannot_grant_owner_and_members_cannot_manage() {
    let svc = service(
        MockIdentityStore::new(),
        MockOrganizationStore::new(),
        MockPasswordHasher::new(),
    );
    let err = svc
        .add_member(&principal(Role::Admin), "a@example.com", "owner")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    let err = svc
        .add_member(&principal(Role::Member), "a@example.com", "viewer")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    let err = svc
        .add_member(&principal(Role::Owner), "a@example.com", "partner")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
}

#[tokio::test]
async fn the_partner_role_is_refused_on_the_role_field() {
    let svc = service(
        MockIdentityStore::new(),
        MockOrganizationStore::new(),
        MockPasswordHasher::new(),
    );
    let err = svc
        .add_member(&principal(Role::Owner), "a@example.com", "partner")
        .await
        .unwrap_err();
    let OrganizationError::Invalid(errors) = err else {
        panic!("{err:?}")
    };
    assert_eq!(errors.0[0].field, "role");
}

#[tokio::test]
async fn last_owner_conflict_from_the_store_is_a_conflict() {
    let mut orgs = MockOrganizationStore::new();
    orgs.expect_find_member()
        .returning(|_, _| Ok(Some(member(Role::Owner))));
    orgs.expect_change_role().returning(|_, _, _| {
        Err(StoreError::Conflict(
            "the last owner cannot be demoted".into(),
        ))
    });
    let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
    let err = svc
        .change_role(&principal(Role::Owner), UserId::generate(), "admin")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn admin_cannot_remove_an_owner() {
    let mut orgs = MockOrganizationStore::new();
    orgs.expect_find_member()
        .returning(|_, _| Ok(Some(member(Role::Owner))));
    let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
    let err = svc
        .remove_member(&principal(Role::Admin), UserId::generate())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
}

#[tokio::test]
async fn accepting_for_a_new_account_requires_a_password() {
    let orgs = pending(invitation("new@example.com", None), None);
    let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
    let err = svc
        .accept_invitation(None, "pi_token", None, None, &ClientInfo::default())
        .await
        .unwrap_err();
    assert_eq!(err.details()[0].field, "password");
}

#[tokio::test]
async fn a_token_alone_never_signs_into_an_account_with_a_password() {
    // Neither without a password nor with one: the account's owner must be signed in.
    for password in [None, Some("attacker-chosen")] {
        let orgs = pending(invitation("old@example.com", None), Some(account(true)));
        let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
        let err = svc
            .accept_invitation(None, "pi_token", None, password, &ClientInfo::default())
            .await
            .unwrap_err();
        assert!(matches!(err, OrganizationError::SignInToAccept), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
    }
}

#[tokio::test]
async fn a_member_invitation_cannot_set_a_passwordless_accounts_password() {
    let orgs = pending(invitation("old@example.com", None), Some(account(false)));
    let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
    let err = svc
        .accept_invitation(
            None,
            "pi_token",
            None,
            Some("password1"),
            &ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, OrganizationError::SignInToAccept), "{err:?}");
}

#[tokio::test]
async fn the_invited_account_accepts_while_signed_in_and_keeps_its_session() {
    let existing = account(true);
    let uid = existing.user.id;
    let me = signed_in_as(uid);
    let Principal::User { session_id, .. } = me else {
        unreachable!()
    };
    let mut orgs = pending(invitation("old@example.com", None), Some(existing.clone()));
    orgs.expect_accept_invitation()
        .times(1)
        .withf(move |a, _| {
            a.user_id == uid
                && a.create_user.is_none()
                && a.set_password_hash.is_none()
                && matches!(a.session, AcceptSession::Switch(s) if s == session_id)
        })
        .returning(move |_, _| Ok(Some(existing.user.clone())));
    let mut identity = users(true);
    identity.expect_find_session().returning(move |id| {
        Ok(Some(Session {
            id,
            user_id: uid,
            active_organization_id: None,
            created_at: Utc::now(),
            expires_at: Utc::now(),
        }))
    });
    let svc = service(identity, orgs, MockPasswordHasher::new());
    let accepted = svc
        .accept_invitation(Some(&me), "pi_token", None, None, &ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(accepted.user.id, uid);
    assert!(accepted.token.is_none(), "no new session");
}

#[tokio::test]
async fn another_signed_in_account_cannot_accept() {
    let orgs = pending(invitation("old@example.com", None), Some(account(true)));
    let svc = service(users(true), orgs, MockPasswordHasher::new());
    let err = svc
        .accept_invitation(
            Some(&signed_in_as(UserId::generate())),
            "pi_token",
            None,
            None,
            &ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    // Nor an invitation for an address without an account: it is not the caller's.
    let orgs = pending(invitation("new@example.com", None), None);
    let svc = service(users(true), orgs, MockPasswordHasher::new());
    let err = svc
        .accept_invitation(
            Some(&signed_in_as(UserId::generate())),
            "pi_token",
            None,
            None,
            &ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
}

#[tokio::test]
async fn an_unverified_signed_in_account_cannot_accept() {
    let existing = account(true);
    let me = signed_in_as(existing.user.id);
    let mut orgs = pending(invitation("old@example.com", None), Some(existing));
    orgs.expect_accept_invitation().never();
    let svc = service(users(false), orgs, MockPasswordHasher::new());
    let err = svc
        .accept_invitation(Some(&me), "pi_token", None, None, &ClientInfo::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::EmailNotVerified);
}

#[tokio::test]
async fn an_account_created_by_accepting_is_verified() {
    let mut orgs = pending(invitation("new@example.com", None), None);
    orgs.expect_accept_invitation()
        .times(1)
        .withf(|a, _| {
            a.create_user
                .as_ref()
                .is_some_and(|u| u.email_verified && u.email.as_str() == "new@example.com")
        })
        .returning(|a, _| {
            let u = a.create_user.unwrap();
            Ok(Some(User {
                id: u.id,
                email: u.email.as_str().into(),
                name: u.name,
                has_password: true,
                email_verified: true,
                created_at: u.created_at,
                updated_at: u.created_at,
            }))
        });
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_hash().returning(|_| Ok("hash".into()));
    let svc = service(MockIdentityStore::new(), orgs, hasher);
    let accepted = svc
        .accept_invitation(
            None,
            "pi_token",
            Some("Ann"),
            Some("password1"),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    assert!(accepted.user.email_verified);
    assert!(accepted.token.is_some());
}

#[tokio::test]
async fn a_set_password_token_sets_the_bound_accounts_password_and_signs_in() {
    let contact = account(false);
    let uid = contact.user.id;
    let mut orgs = pending(
        invitation("old@example.com", Some(uid)),
        Some(contact.clone()),
    );
    orgs.expect_accept_invitation()
        .times(1)
        .withf(move |a, _| {
            a.user_id == uid
                && a.create_user.is_none()
                && a.set_password_hash.as_deref() == Some("new-hash")
                && matches!(&a.session, AcceptSession::Start(s) if s.user_id == uid)
        })
        .returning(move |_, _| Ok(Some(contact.user.clone())));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_hash().returning(|_| Ok("new-hash".into()));
    let svc = service(MockIdentityStore::new(), orgs, hasher);
    let accepted = svc
        .accept_invitation(
            None,
            "pi_token",
            None,
            Some("password1"),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    assert!(accepted.token.is_some());
}

#[tokio::test]
async fn a_set_password_token_of_an_account_that_has_one_now_is_refused() {
    let contact = account(true);
    let uid = contact.user.id;
    let orgs = pending(invitation("old@example.com", Some(uid)), Some(contact));
    let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
    let err = svc
        .accept_invitation(
            None,
            "pi_token",
            None,
            Some("password1"),
            &ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, OrganizationError::SignInToAccept), "{err:?}");
}
