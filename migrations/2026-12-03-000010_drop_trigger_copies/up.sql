-- Authorization state is no longer copied into sessions by triggers: a request's caller is
-- resolved by one statement that reads the session with its user's membership of the active
-- organization, and the domain decides what the caller may do. `members` is the only record
-- of a role. (The index on (user_id, active_organization_id) stays: the join and "every
-- session of a user" both use it.)
DROP TRIGGER members_session_copy ON members;
DROP FUNCTION members_refresh_sessions();
DROP TRIGGER sessions_membership_copy ON sessions;
DROP FUNCTION sessions_copy_membership();
ALTER TABLE sessions DROP COLUMN active_role, DROP COLUMN active_partner_id;

-- Nor does a partner carry a copy of its primary contact: reads join `partner_contacts` on its
-- unique (organization_id, partner_id) WHERE is_primary index. Measured with pgbench at 16
-- clients, the join read and the one-row read are within the machine's noise of each other.
DROP TRIGGER partner_contacts_primary_copy ON partner_contacts;
DROP FUNCTION partner_contacts_copy_primary();
ALTER TABLE partners
    DROP COLUMN primary_contact_id,
    DROP COLUMN primary_contact_first_name,
    DROP COLUMN primary_contact_last_name,
    DROP COLUMN primary_contact_email;
