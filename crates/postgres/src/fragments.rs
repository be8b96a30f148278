//! Query pieces shared by several queries (diesel types are too intricate to name, so the
//! live-session filter is a macro), and SQL functions the queries use.

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

/// `$query` (which has `partners`) left-joined with each partner's primary contact.
macro_rules! with_primary_contact {
    ($query:expr) => {
        $query.left_join(
            partner_contacts::table.on(partner_contacts::organization_id
                .eq(partners::organization_id)
                .and(partner_contacts::partner_id.eq(partners::id))
                .and(partner_contacts::is_primary)),
        )
    };
}

pub(crate) use {live_session, with_primary_contact};
