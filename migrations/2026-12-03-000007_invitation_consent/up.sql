-- Invitations: revocable, and a partner contact's set-password invitation is bound to the
-- account it may set a password on.
ALTER TABLE invitations
    ADD COLUMN revoked_at timestamptz,
    ADD COLUMN user_id uuid REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX invitations_pending_email_idx ON invitations (organization_id, lower(email))
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Tokens were once written into the outbox in clear: only their hashes may stay anywhere.
UPDATE events SET payload = payload - 'token'
WHERE kind = 'invitation_created' AND payload ? 'token';
