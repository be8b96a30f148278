DROP INDEX invitations_pending_email_idx;
ALTER TABLE invitations DROP COLUMN user_id, DROP COLUMN revoked_at;
