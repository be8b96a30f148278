-- The relay: events are published in order per aggregate, retried with back-off, leased to one
-- relay instance at a time.
ALTER TABLE events
    ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN aggregate_id uuid,
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN leased_until timestamptz,
    ADD COLUMN last_error text,
    ADD COLUMN failed_at timestamptz;
-- What was recorded before the relay existed was delivered inline (invitation mail) or had no
-- consumer (no webhook endpoints existed): nothing is owed.
UPDATE events SET published_at = now() WHERE published_at IS NULL;
DROP INDEX events_unpublished_idx;
CREATE INDEX events_pending_idx ON events (seq) WHERE published_at IS NULL;
CREATE INDEX events_pending_aggregate_idx ON events (aggregate_id, seq) WHERE published_at IS NULL;

-- Sign-up email verification and password reset. Tokens are minted when the mail is sent (by the
-- relay) and only their hash is stored.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;
CREATE TABLE user_tokens (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash bytea,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX user_tokens_token_hash_key ON user_tokens (token_hash);
CREATE INDEX user_tokens_user_idx ON user_tokens (user_id, purpose, created_at DESC);

-- The new-submission notice to owners and admins, per application.
ALTER TABLE applications ADD COLUMN notify_on_submission boolean NOT NULL DEFAULT true;

-- Webhooks.
CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url text NOT NULL,
    description text NOT NULL DEFAULT '',
    event_types text[] NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    -- Since when every attempt has failed; cleared by a success.
    failing_since timestamptz,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id)
);
CREATE INDEX webhook_endpoints_organization_idx ON webhook_endpoints (organization_id, created_at DESC, id DESC);

-- Signing secrets: the newest signs; a rotated-out one keeps signing until it expires.
CREATE TABLE webhook_secrets (
    id uuid PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    secret text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);
CREATE INDEX webhook_secrets_endpoint_idx ON webhook_secrets (endpoint_id, created_at DESC);

-- One message of one event to one endpoint; its id is the `webhook-id`.
CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_type text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id),
    FOREIGN KEY (organization_id, endpoint_id) REFERENCES webhook_endpoints (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

-- The delivery log: every attempt.
CREATE TABLE webhook_attempts (
    id uuid PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    manual boolean NOT NULL DEFAULT false,
    attempted_at timestamptz NOT NULL,
    status_code integer,
    latency_ms integer NOT NULL,
    response_prefix text NOT NULL DEFAULT '',
    error text,
    UNIQUE (delivery_id, attempt)
);
