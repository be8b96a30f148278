//! Query pieces shared by the one-statement reads (diesel types are too intricate to name, so
//! these are macros): the live session with its membership, and a partner with its contact.

/// `partners` left-joined with their primary contact (every partner read).
macro_rules! with_contact {
    () => {
        partners::table.left_join(
            partner_contacts::table.on(partner_contacts::partner_id
                .eq(partners::id)
                .and(partner_contacts::organization_id.eq(partners::organization_id))
                .and(partner_contacts::is_primary)),
        )
    };
}

/// `sessions` left-joined with the membership of their active organization.
macro_rules! session_with_membership {
    () => {
        sessions::table.left_join(
            members::table.on(members::user_id.eq(sessions::user_id).and(
                members::organization_id
                    .nullable()
                    .eq(sessions::active_organization_id),
            )),
        )
    };
}

/// The session with this token hash is live at `now`: not revoked, neither expiry passed.
macro_rules! live_session {
    ($hash:expr, $now:expr) => {
        sessions::token_hash
            .eq($hash)
            .and(sessions::revoked_at.is_null())
            .and(sessions::idle_expires_at.gt($now))
            .and(sessions::absolute_expires_at.gt($now))
    };
}

/// The session's id, user and last use, and its membership's organization, role and partner.
macro_rules! session_columns {
    () => {
        (
            sessions::id,
            sessions::user_id,
            sessions::last_seen_at,
            members::organization_id.nullable(),
            members::role.nullable(),
            members::partner_id.nullable(),
        )
    };
}

/// `$query` (which has `members`) joined with partner `$id` only when it belongs to the
/// membership's organization and the member is internal staff, then with its primary contact.
macro_rules! member_partner_with_contact {
    ($query:expr, $id:expr) => {
        $query
            .left_join(
                partners::table.on(partners::id
                    .eq($id)
                    .and(partners::organization_id.eq(members::organization_id))
                    .and(members::role.ne(Role::Partner.as_str()))),
            )
            .left_join(
                partner_contacts::table.on(partner_contacts::partner_id
                    .eq(partners::id)
                    .and(partner_contacts::organization_id.eq(partners::organization_id))
                    .and(partner_contacts::is_primary)),
            )
    };
}

/// What [`session_columns!`] selects.
pub(crate) type SessionColumns = (
    uuid::Uuid,
    uuid::Uuid,
    chrono::DateTime<chrono::Utc>,
    Option<uuid::Uuid>,
    Option<String>,
    Option<uuid::Uuid>,
);

pub(crate) use {
    live_session, member_partner_with_contact, session_columns, session_with_membership,
    with_contact,
};
