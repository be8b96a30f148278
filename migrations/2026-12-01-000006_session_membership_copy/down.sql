CREATE INDEX sessions_user_idx ON sessions (user_id);
DROP INDEX sessions_user_organization_idx;
DROP TRIGGER members_session_copy ON members;
DROP FUNCTION members_refresh_sessions();
DROP TRIGGER sessions_membership_copy ON sessions;
DROP FUNCTION sessions_copy_membership();
ALTER TABLE sessions DROP COLUMN active_role, DROP COLUMN active_partner_id;
