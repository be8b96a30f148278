//! Organizations, memberships and invitations.

use crate::Database;
use crate::error::ResultExt;
use crate::fragments::lower;
use crate::identity::{insert_session, user_insert};
use crate::models::{
    InvitationRow, MemberRow, OrganizationRow, TxError, UserRow, insert_invitation, member,
    parse_role,
};
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use partneros_domain::identity::model::{User, UserWithPassword};
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::model::{
    Invitation, Member, Membership, NewInvitation, NewOrganization, Organization,
};
use partneros_domain::organizations::ports::{
    AcceptSession, InvitationAcceptance, OrganizationStore, PendingInvitation,
};
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::*;
use partneros_domain::shared::secret::TokenHash;

fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 4,
        Role::Admin => 3,
        Role::Member => 2,
        Role::Viewer => 1,
        Role::Partner => 0,
    }
}

fn last_owner() -> TxError {
    TxError::Store(StoreError::Conflict(
        "an organization must keep at least one owner".into(),
    ))
}

/// Locks the organization's owner rows and returns their user ids, so concurrent demotions
/// and removals of owners are serialized.
async fn lock_owners(
    conn: &mut crate::Conn,
    organization: OrganizationId,
) -> Result<Vec<uuid::Uuid>, diesel::result::Error> {
    members::table
        .filter(members::organization_id.eq(organization.as_uuid()))
        .filter(members::role.eq(Role::Owner.as_str()))
        .select(members::user_id)
        .for_update()
        .load(conn)
        .await
}

#[async_trait]
impl OrganizationStore for Database {
    async fn create_organization(
        &self,
        organization: NewOrganization,
        owner: UserId,
        activate: Option<SessionId>,
    ) -> Result<Organization, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let row: OrganizationRow = diesel::insert_into(organizations::table)
                    .values(OrganizationRow {
                        id: organization.id.as_uuid(),
                        name: organization.name.clone(),
                        slug: organization.slug.as_str().to_owned(),
                        created_at: organization.created_at,
                        updated_at: organization.created_at,
                    })
                    .returning(OrganizationRow::as_returning())
                    .get_result(conn)
                    .await?;
                diesel::insert_into(members::table)
                    .values(MemberRow {
                        organization_id: row.id,
                        user_id: owner.as_uuid(),
                        role: Role::Owner.as_str().into(),
                        partner_id: None,
                        created_at: organization.created_at,
                    })
                    .execute(conn)
                    .await?;
                if let Some(session) = activate {
                    diesel::update(sessions::table.find(session.as_uuid()))
                        .set(sessions::active_organization_id.eq(row.id))
                        .execute(conn)
                        .await?;
                }
                Ok(row)
            })
            .await?;
        Ok(row.into())
    }

    async fn list_memberships(&self, user: UserId) -> Result<Vec<Membership>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(OrganizationRow, String)> = members::table
            .inner_join(organizations::table)
            .filter(members::user_id.eq(user.as_uuid()))
            .order((members::created_at.asc(), organizations::id.asc()))
            .select((OrganizationRow::as_select(), members::role))
            .load(&mut conn)
            .await
            .store()?;
        rows.into_iter()
            .map(|(o, role)| {
                Ok(Membership {
                    organization: o.into(),
                    role: parse_role(&role)?,
                })
            })
            .collect()
    }

    async fn list_members(&self, organization: OrganizationId) -> Result<Vec<Member>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(MemberRow, UserRow)> = members::table
            .inner_join(users::table)
            .filter(members::organization_id.eq(organization.as_uuid()))
            .order((members::created_at.asc(), members::user_id.asc()))
            .select((MemberRow::as_select(), UserRow::as_select()))
            .load(&mut conn)
            .await
            .store()?;
        rows.into_iter().map(|(m, u)| member(m, u)).collect()
    }

    async fn find_member(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> Result<Option<Member>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<(MemberRow, UserRow)> = members::table
            .inner_join(users::table)
            .filter(members::organization_id.eq(organization.as_uuid()))
            .filter(members::user_id.eq(user.as_uuid()))
            .select((MemberRow::as_select(), UserRow::as_select()))
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        row.map(|(m, u)| member(m, u)).transpose()
    }

    async fn find_organization(
        &self,
        id: OrganizationId,
    ) -> Result<Option<Organization>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<OrganizationRow> = organizations::table
            .find(id.as_uuid())
            .select(OrganizationRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        Ok(row.map(Into::into))
    }

    async fn create_invitation(&self, invitation: NewInvitation) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction::<_, TxError, _>(async move |conn| {
            let inv = &invitation.invitation;
            let org = inv.organization_id.as_uuid();
            let already: i64 = members::table
                .inner_join(users::table)
                .filter(members::organization_id.eq(org))
                .filter(lower(users::email).eq(inv.email.to_lowercase()))
                .filter(members::role.ne(Role::Partner.as_str()))
                .count()
                .get_result(conn)
                .await?;
            if already > 0 {
                return Err(TxError::Store(StoreError::Conflict(
                    "this address is already a member".into(),
                )));
            }
            // One live invitation per address: a new one replaces the earlier.
            diesel::update(pending_invitations(org))
                .filter(invitations::user_id.is_null())
                .filter(lower(invitations::email).eq(inv.email.to_lowercase()))
                .set(invitations::revoked_at.eq(inv.created_at))
                .execute(conn)
                .await?;
            insert_invitation(conn, &invitation).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn list_invitations(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<Invitation>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<InvitationRow> = pending_invitations(organization.as_uuid())
            .order((invitations::created_at.desc(), invitations::id.desc()))
            .select(InvitationRow::as_select())
            .load(&mut conn)
            .await
            .store()?;
        rows.into_iter()
            .map(InvitationRow::into_invitation)
            .collect()
    }

    async fn revoke_invitation(
        &self,
        organization: OrganizationId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let n = diesel::update(pending_invitations(organization.as_uuid()))
            .filter(invitations::id.eq(id.as_uuid()))
            .set(invitations::revoked_at.eq(now))
            .execute(&mut conn)
            .await
            .store()?;
        Ok(n == 1)
    }

    async fn reissue_invitation(
        &self,
        organization: OrganizationId,
        id: InvitationId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Invitation>, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let row: Option<InvitationRow> =
                    diesel::update(pending_invitations(organization.as_uuid()))
                        .filter(invitations::id.eq(id.as_uuid()))
                        .set(invitations::expires_at.eq(expires_at))
                        .returning(InvitationRow::as_returning())
                        .get_result(conn)
                        .await
                        .optional()?;
                if let Some(row) = &row {
                    crate::models::record_event(
                        conn,
                        Some(organization),
                        partneros_domain::outbox::EventType::InvitationResent,
                        row.id,
                        serde_json::json!({
                            "invitationId": row.id,
                            "email": row.email,
                            "expiresAt": partneros_domain::shared::time::format_timestamp(&expires_at),
                        }),
                        now,
                    )
                    .await?;
                }
                Ok(row)
            })
            .await?;
        row.map(InvitationRow::into_invitation).transpose()
    }

    async fn mint_invitation_token(
        &self,
        id: InvitationId,
        token: TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Invitation>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<InvitationRow> = diesel::update(
            invitations::table
                .find(id.as_uuid())
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::revoked_at.is_null())
                .filter(invitations::expires_at.gt(now)),
        )
        .set(invitations::token_hash.eq(token.as_bytes().as_slice()))
        .returning(InvitationRow::as_returning())
        .get_result(&mut conn)
        .await
        .optional()
        .store()?;
        row.map(InvitationRow::into_invitation).transpose()
    }

    async fn change_role(
        &self,
        organization: OrganizationId,
        user: UserId,
        role: Role,
    ) -> Result<Option<Member>, StoreError> {
        let mut conn = self.conn().await?;
        let changed = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let owners = lock_owners(conn, organization).await?;
                if role != Role::Owner && owners == [user.as_uuid()] {
                    return Err(last_owner());
                }
                let n = diesel::update(
                    members::table
                        .filter(members::organization_id.eq(organization.as_uuid()))
                        .filter(members::user_id.eq(user.as_uuid()))
                        .filter(members::role.ne(Role::Partner.as_str())),
                )
                .set(members::role.eq(role.as_str()))
                .execute(conn)
                .await?;
                Ok(n == 1)
            })
            .await?;
        drop(conn);
        if changed {
            self.find_member(organization, user).await
        } else {
            Ok(None)
        }
    }

    async fn remove_member(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let removed = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let owners = lock_owners(conn, organization).await?;
                if owners == [user.as_uuid()] {
                    return Err(last_owner());
                }
                let n = diesel::delete(
                    members::table
                        .filter(members::organization_id.eq(organization.as_uuid()))
                        .filter(members::user_id.eq(user.as_uuid())),
                )
                .execute(conn)
                .await?;
                Ok(n == 1)
            })
            .await?;
        Ok(removed)
    }

    async fn find_pending_invitation(
        &self,
        token: TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingInvitation>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<InvitationRow> = invitations::table
            .filter(invitations::token_hash.eq(token.as_bytes().as_slice()))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .filter(invitations::expires_at.gt(now))
            .select(InvitationRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        let Some(row) = row else { return Ok(None) };
        // A set-password invitation concerns its bound account only, whatever its email is now.
        let user: Option<UserRow> = match row.user_id {
            Some(bound) => users::table
                .find(bound)
                .select(UserRow::as_select())
                .first(&mut conn)
                .await
                .optional()
                .store()?,
            None => crate::identity::find_user_by_email_on(&mut conn, &row.email)
                .await
                .store()?,
        };
        Ok(Some(PendingInvitation {
            invitation: row.into_invitation()?,
            existing_user: user.map(|u| {
                let password_hash = u.password_hash.clone();
                UserWithPassword {
                    user: u.into_user(),
                    password_hash,
                }
            }),
        }))
    }

    async fn accept_invitation(
        &self,
        acceptance: InvitationAcceptance,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn().await?;
        let user = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let user_id = acceptance.user_id.as_uuid();
                if acceptance.set_password_hash.is_some() {
                    // The bound account must still have no password; locked until commit, so a
                    // concurrent acceptance or password change cannot slip in between.
                    let current: Option<Option<String>> = users::table
                        .find(user_id)
                        .select(users::password_hash)
                        .for_update()
                        .first(conn)
                        .await
                        .optional()?;
                    if !matches!(current, Some(None)) {
                        return Ok(None);
                    }
                }
                let inv: Option<InvitationRow> = diesel::update(
                    invitations::table
                        .find(acceptance.invitation_id.as_uuid())
                        .filter(invitations::accepted_at.is_null())
                        .filter(invitations::revoked_at.is_null())
                        .filter(invitations::expires_at.gt(now)),
                )
                .set(invitations::accepted_at.eq(now))
                .returning(InvitationRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
                let Some(inv) = inv else { return Ok(None) };
                if let Some(new) = &acceptance.create_user {
                    diesel::insert_into(users::table)
                        .values(user_insert(new))
                        .execute(conn)
                        .await?;
                } else if let Some(hash) = &acceptance.set_password_hash {
                    diesel::update(
                        users::table
                            .find(user_id)
                            .filter(users::password_hash.is_null()),
                    )
                    .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
                    .execute(conn)
                    .await?;
                    // The set-password link reached the address.
                    crate::user_tokens::mark_verified(conn, user_id, now).await?;
                }
                let invited = parse_role(&inv.role).map_err(TxError::Store)?;
                let existing: Option<String> = members::table
                    .filter(members::organization_id.eq(inv.organization_id))
                    .filter(members::user_id.eq(user_id))
                    .select(members::role)
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                match existing {
                    None => {
                        diesel::insert_into(members::table)
                            .values(MemberRow {
                                organization_id: inv.organization_id,
                                user_id,
                                role: invited.as_str().into(),
                                partner_id: inv.partner_id,
                                created_at: now,
                            })
                            .execute(conn)
                            .await?;
                        crate::models::record_event(
                            conn,
                            Some(OrganizationId::from_uuid(inv.organization_id)),
                            partneros_domain::outbox::EventType::MemberJoined,
                            user_id,
                            serde_json::json!({
                                "userId": user_id,
                                "email": inv.email,
                                "role": invited.as_str(),
                                "partnerId": inv.partner_id,
                                "invitationId": inv.id,
                            }),
                            now,
                        )
                        .await?;
                    }
                    Some(current) => {
                        let current = parse_role(&current).map_err(TxError::Store)?;
                        if rank(invited) > rank(current) {
                            diesel::update(
                                members::table
                                    .filter(members::organization_id.eq(inv.organization_id))
                                    .filter(members::user_id.eq(user_id)),
                            )
                            .set((
                                members::role.eq(invited.as_str()),
                                members::partner_id.eq(None::<uuid::Uuid>),
                            ))
                            .execute(conn)
                            .await?;
                        }
                    }
                }
                match &acceptance.session {
                    AcceptSession::Start(session) => insert_session(conn, session).await?,
                    AcceptSession::Switch(session) => {
                        diesel::update(
                            sessions::table
                                .find(session.as_uuid())
                                .filter(sessions::user_id.eq(user_id)),
                        )
                        .set(sessions::active_organization_id.eq(inv.organization_id))
                        .execute(conn)
                        .await?;
                    }
                }
                let user: UserRow = users::table
                    .find(user_id)
                    .select(UserRow::as_select())
                    .first(conn)
                    .await?;
                Ok(Some(user))
            })
            .await?;
        Ok(user.map(UserRow::into_user))
    }
}

/// The organization's invitations that are neither accepted nor revoked.
#[diesel::dsl::auto_type]
fn pending_invitations(organization: uuid::Uuid) -> _ {
    invitations::table
        .filter(invitations::organization_id.eq(organization))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
}

impl Database {
    /// Makes an existing user a member at once, without an invitation: for operators (the
    /// `partneros admin add-member` command), never reachable through the API, where every
    /// addition is an invitation the invitee accepts.
    ///
    /// # Errors
    /// `Conflict` when the user is already a member.
    pub async fn add_member(
        &self,
        organization: OrganizationId,
        user: UserId,
        role: Role,
    ) -> Result<Member, StoreError> {
        let mut conn = self.conn().await?;
        diesel::insert_into(members::table)
            .values(MemberRow {
                organization_id: organization.as_uuid(),
                user_id: user.as_uuid(),
                role: role.as_str().into(),
                partner_id: None,
                created_at: Utc::now(),
            })
            .execute(&mut conn)
            .await
            .store()?;
        drop(conn);
        self.find_member(organization, user)
            .await?
            .ok_or_else(|| StoreError::unexpected("member vanished after insert"))
    }

    /// The id of the organization with this slug (for administrative commands).
    pub async fn organization_id_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<OrganizationId>, StoreError> {
        let mut conn = self.conn().await?;
        let id: Option<uuid::Uuid> = organizations::table
            .filter(organizations::slug.eq(slug))
            .select(organizations::id)
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        Ok(id.map(OrganizationId::from_uuid))
    }
}
