//! Query pieces shared by the one-statement reads (diesel types are too intricate to name, so
//! these are macros): the live session and the partner it may read; and SQL functions the
//! queries use.

// Case-insensitive comparisons (emails, template names): `lower(column) = value.to_lowercase()`.
diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

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

/// The session's id, user and last use, and its copy of the active membership: organization,
/// role and partner (see the `session_membership_copy` migration).
macro_rules! session_columns {
    () => {
        (
            sessions::id,
            sessions::user_id,
            sessions::last_seen_at,
            sessions::active_organization_id,
            sessions::active_role,
            sessions::active_partner_id,
        )
    };
}

/// `sessions` left-joined with partner `$id` only when it belongs to the session's active
/// organization and the session's member is internal staff.
macro_rules! session_partner {
    ($id:expr) => {
        sessions::table.left_join(
            partners::table.on(partners::id
                .eq($id)
                .and(
                    partners::organization_id
                        .nullable()
                        .eq(sessions::active_organization_id),
                )
                .and(sessions::active_role.ne(Role::Partner.as_str()))),
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

pub(crate) use {live_session, session_columns, session_partner};
