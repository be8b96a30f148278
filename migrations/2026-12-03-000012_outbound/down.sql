DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_secrets;
DROP TABLE webhook_endpoints;
ALTER TABLE applications DROP COLUMN notify_on_submission;
DROP TABLE user_tokens;
ALTER TABLE users DROP COLUMN email_verified_at;
DROP INDEX events_pending_aggregate_idx;
DROP INDEX events_pending_idx;
CREATE INDEX events_unpublished_idx ON events (created_at) WHERE published_at IS NULL;
ALTER TABLE events
    DROP COLUMN seq, DROP COLUMN aggregate_id, DROP COLUMN attempts, DROP COLUMN next_attempt_at,
    DROP COLUMN leased_until, DROP COLUMN last_error, DROP COLUMN failed_at;
