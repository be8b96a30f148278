//! Organizations, members and invitations.

use super::access::{self, AccessError};
use super::auth::SignedIn;
use crate::StoreError;
use crate::clock::Clock;
use crate::error::{Classify, ErrorKind, FieldError, ValidationErrors};
use crate::identity::{ClientInfo, NewSession, NewUser, Principal};
use crate::ids::{OrganizationId, UserId};
use crate::organization::{
    Member, MemberAdded, Membership, NewInvitation, NewOrganization, Organization,
};
use crate::ports::{
    HashingError, IdentityStore, InvitationAcceptance, OrganizationStore, PasswordHasher,
};
use crate::secret::TokenHash;
use crate::values::{BoundedText, Email, Password, Role, Slug};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum OrganizationError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("this needs a signed-in user, not an API key")]
    UserRequired,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the invitation is unknown, used or expired")]
    InvitationInvalid,
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for OrganizationError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(what),
            e => Self::Store(e),
        }
    }
}

impl Classify for OrganizationError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Invalid(_) => ErrorKind::Validation,
            Self::UserRequired => ErrorKind::Forbidden,
            Self::NotFound | Self::InvitationInvalid => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Hashing(_) => ErrorKind::Internal,
            Self::Store(e) => e.kind(),
        }
    }
    fn details(&self) -> &[FieldError] {
        match self {
            Self::Invalid(v) => &v.0,
            _ => &[],
        }
    }
}

fn invalid(field: &str, message: &str) -> OrganizationError {
    OrganizationError::Invalid(ValidationErrors::single(field, message))
}

pub struct OrganizationService {
    identity: Arc<dyn IdentityStore>,
    organizations: Arc<dyn OrganizationStore>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
}

impl OrganizationService {
    pub fn new(
        identity: Arc<dyn IdentityStore>,
        organizations: Arc<dyn OrganizationStore>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            identity,
            organizations,
            hasher,
            clock,
        }
    }

    /// Creates an organization, makes the caller its owner and its session's active one.
    pub async fn create(
        &self,
        principal: &Principal,
        name: &str,
        slug: Option<&str>,
    ) -> Result<Organization, OrganizationError> {
        let Principal::User {
            user_id,
            session_id,
            ..
        } = principal
        else {
            return Err(OrganizationError::UserRequired);
        };
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", BoundedText::<200>::parse(name));
        let chosen = slug.map(|s| errors.check("slug", Slug::parse(s)));
        let Some(name) = name.filter(|_| errors.is_empty()) else {
            return Err(OrganizationError::Invalid(errors));
        };
        let (slug, slug_chosen) = match chosen {
            Some(Some(s)) => (s, true),
            _ => (Slug::from_name(name.as_str()), false),
        };
        let now = self.clock.now();
        let mut attempt = slug.clone();
        for round in 0..4 {
            let new = NewOrganization {
                id: OrganizationId::generate(),
                name: name.as_str().to_owned(),
                slug: attempt.clone(),
                slug_chosen,
                created_at: now,
            };
            match self
                .organizations
                .create_organization(new, *user_id, Some(*session_id))
                .await
            {
                Ok(org) => return Ok(org),
                Err(StoreError::Conflict(_)) if !slug_chosen && round < 3 => {
                    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
                    attempt = slug.with_suffix(suffix);
                }
                Err(StoreError::Conflict(_)) => {
                    return Err(OrganizationError::Conflict("this slug is taken".into()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(OrganizationError::Conflict("this slug is taken".into()))
    }

    pub async fn list_mine(
        &self,
        principal: &Principal,
    ) -> Result<Vec<Membership>, OrganizationError> {
        let user = principal.user_id().ok_or(OrganizationError::UserRequired)?;
        Ok(self.organizations.list_memberships(user).await?)
    }

    pub async fn list_members(
        &self,
        principal: &Principal,
    ) -> Result<Vec<Member>, OrganizationError> {
        let m = access::manager(principal)?;
        Ok(self.organizations.list_members(m.organization_id).await?)
    }

    /// Adds an existing user, or invites the email with a single-use token.
    pub async fn add_member(
        &self,
        principal: &Principal,
        email: &str,
        role: &str,
    ) -> Result<MemberAdded, OrganizationError> {
        let m = access::manager(principal)?;
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", Email::parse(email));
        let role = errors.check("role", role.parse::<Role>());
        let (Some(email), Some(role)) = (email, role) else {
            return Err(OrganizationError::Invalid(errors));
        };
        Self::check_grant(m.role, role)?;
        match self.identity.find_user_by_email(&email).await? {
            Some(found) => {
                let member = self
                    .organizations
                    .add_member(m.organization_id, found.user.id, role)
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(_) => {
                            OrganizationError::Conflict("this user is already a member".into())
                        }
                        e => e.into(),
                    })?;
                Ok(MemberAdded::Added(member))
            }
            None => {
                let invitation = NewInvitation::new(
                    m.organization_id,
                    &email,
                    role,
                    None,
                    principal.user_id(),
                    self.clock.now(),
                );
                let token = invitation.token.token.clone();
                let view = invitation.invitation.clone();
                self.organizations.create_invitation(invitation).await?;
                Ok(MemberAdded::Invited {
                    invitation: view,
                    token,
                })
            }
        }
    }

    /// `partner` comes only with a partner record; only owners grant or take `owner`.
    fn check_grant(actor: Role, role: Role) -> Result<(), OrganizationError> {
        if role == Role::Partner {
            return Err(invalid(
                "role",
                "partner accounts are created with their partner record",
            ));
        }
        if role == Role::Owner && actor != Role::Owner {
            return Err(AccessError::Forbidden.into());
        }
        Ok(())
    }

    pub async fn change_role(
        &self,
        principal: &Principal,
        user: UserId,
        role: &str,
    ) -> Result<Member, OrganizationError> {
        let m = access::manager(principal)?;
        let role: Role = role
            .parse()
            .map_err(|e: crate::values::InvalidValue| invalid("role", &e.0))?;
        Self::check_grant(m.role, role)?;
        let target = self
            .organizations
            .find_member(m.organization_id, user)
            .await?
            .ok_or(OrganizationError::NotFound)?;
        if target.role == Role::Owner && m.role != Role::Owner {
            return Err(AccessError::Forbidden.into());
        }
        self.organizations
            .change_role(m.organization_id, user, role)
            .await?
            .ok_or(OrganizationError::NotFound)
    }

    pub async fn remove_member(
        &self,
        principal: &Principal,
        user: UserId,
    ) -> Result<(), OrganizationError> {
        let m = access::manager(principal)?;
        let target = self
            .organizations
            .find_member(m.organization_id, user)
            .await?
            .ok_or(OrganizationError::NotFound)?;
        if target.role == Role::Owner && m.role != Role::Owner {
            return Err(AccessError::Forbidden.into());
        }
        if self
            .organizations
            .remove_member(m.organization_id, user)
            .await?
        {
            Ok(())
        } else {
            Err(OrganizationError::NotFound)
        }
    }

    /// Accepts an invitation (or a partner contact's set-password token) and signs in.
    pub async fn accept_invitation(
        &self,
        token: &str,
        name: Option<&str>,
        password: Option<&str>,
        client: &ClientInfo,
    ) -> Result<SignedIn, OrganizationError> {
        if token.is_empty() || token.len() > 200 {
            return Err(OrganizationError::InvitationInvalid);
        }
        let now = self.clock.now();
        let pending = self
            .organizations
            .find_pending_invitation(TokenHash::of(token), now)
            .await?
            .ok_or(OrganizationError::InvitationInvalid)?;
        let invitation = pending.invitation;
        let needs_password = pending
            .existing_user
            .as_ref()
            .is_none_or(|u| u.password_hash.is_none());
        let mut errors = ValidationErrors::new();
        let password = match password {
            Some(p) if needs_password => errors.check("password", Password::parse(p)),
            None if needs_password => {
                errors.push("password", "is required to set up the account");
                None
            }
            _ => None,
        };
        let name = match (name, &pending.existing_user) {
            (Some(n), _) => errors
                .check("name", BoundedText::<200>::parse(n))
                .map(|n| n.into_inner()),
            (None, Some(u)) => Some(u.user.name.clone()),
            (None, None) => Some(
                invitation
                    .email
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        };
        if !errors.is_empty() {
            return Err(OrganizationError::Invalid(errors));
        }
        let hash = match password {
            Some(p) => Some(self.hasher.hash(p.secret().clone()).await?),
            None => None,
        };
        let email =
            Email::parse(&invitation.email).map_err(|_| OrganizationError::InvitationInvalid)?;
        let (user_id, create_user, set_password_hash) = match &pending.existing_user {
            Some(u) => (u.user.id, None, hash),
            None => {
                let id = UserId::generate();
                let user = NewUser {
                    id,
                    email,
                    name: name.unwrap_or_default(),
                    password_hash: hash,
                    created_at: now,
                };
                (id, Some(user), None)
            }
        };
        let session = NewSession::start(user_id, Some(invitation.organization_id), now, client);
        let token = session.token.token.clone();
        let view = session.session();
        let user = self
            .organizations
            .accept_invitation(
                InvitationAcceptance {
                    invitation_id: invitation.id,
                    create_user,
                    set_password_hash,
                    session,
                },
                now,
            )
            .await?
            .ok_or(OrganizationError::InvitationInvalid)?;
        Ok(SignedIn {
            user,
            session: view,
            token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::identity::{User, UserWithPassword};

    use crate::ports::{MockIdentityStore, MockOrganizationStore, MockPasswordHasher};
    use chrono::Utc;

    use crate::services::fixtures::principal;

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
        let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
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
        let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
        let err = svc
            .create(&principal(Role::Member), "Acme", Some("acme"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }

    #[tokio::test]
    async fn unknown_email_gets_an_invitation() {
        let mut identity = MockIdentityStore::new();
        identity.expect_find_user_by_email().returning(|_| Ok(None));
        let mut orgs = MockOrganizationStore::new();
        orgs.expect_create_invitation()
            .times(1)
            .withf(|i| i.invitation.role == Role::Viewer && i.invitation.email == "new@example.com")
            .returning(|_| Ok(()));
        let svc = service(identity, orgs, MockPasswordHasher::new());
        let out = svc
            .add_member(&principal(Role::Admin), "new@example.com", "viewer")
            .await
            .unwrap();
        assert!(matches!(out, MemberAdded::Invited { .. }));
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
        let mut orgs = MockOrganizationStore::new();
        orgs.expect_find_pending_invitation().returning(|_, _| {
            Ok(Some(crate::ports::PendingInvitation {
                invitation: crate::organization::Invitation {
                    id: crate::ids::InvitationId::generate(),
                    organization_id: OrganizationId::generate(),
                    email: "new@example.com".into(),
                    role: Role::Member,
                    partner_id: None,
                    expires_at: Utc::now(),
                    created_at: Utc::now(),
                },
                existing_user: None,
            }))
        });
        let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
        let err = svc
            .accept_invitation("pi_token", None, None, &ClientInfo::default())
            .await
            .unwrap_err();
        assert_eq!(err.details()[0].field, "password");
    }

    #[tokio::test]
    async fn existing_user_with_password_joins_without_one() {
        let mut orgs = MockOrganizationStore::new();
        let existing = User {
            id: UserId::generate(),
            email: "old@example.com".into(),
            name: "Old".into(),
            has_password: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let uid = existing.id;
        let found = existing.clone();
        orgs.expect_find_pending_invitation()
            .returning(move |_, _| {
                Ok(Some(crate::ports::PendingInvitation {
                    invitation: crate::organization::Invitation {
                        id: crate::ids::InvitationId::generate(),
                        organization_id: OrganizationId::generate(),
                        email: "old@example.com".into(),
                        role: Role::Member,
                        partner_id: None,
                        expires_at: Utc::now(),
                        created_at: Utc::now(),
                    },
                    existing_user: Some(UserWithPassword {
                        user: found.clone(),
                        password_hash: Some("h".into()),
                    }),
                }))
            });
        orgs.expect_accept_invitation()
            .withf(move |a, _| {
                a.create_user.is_none() && a.set_password_hash.is_none() && a.session.user_id == uid
            })
            .returning(move |_, _| Ok(Some(existing.clone())));
        let svc = service(MockIdentityStore::new(), orgs, MockPasswordHasher::new());
        let signed = svc
            .accept_invitation("pi_token", None, None, &ClientInfo::default())
            .await
            .unwrap();
        assert_eq!(signed.user.id, uid);
    }
}
