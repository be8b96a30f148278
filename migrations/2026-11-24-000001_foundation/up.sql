-- Identity: users, organizations, memberships, sessions, API keys, invitations.
CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    password_hash text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE organizations (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    slug text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organizations_slug_key ON organizations (slug);

CREATE TABLE partners (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name text NOT NULL,
    domain text,
    logo_url text,
    partner_type text NOT NULL CHECK (partner_type IN ('technology', 'consulting', 'services', 'channel', 'strategic', 'reseller', 'referral')),
    subtype text,
    category text CHECK (category IN ('solution', 'technology', 'sales')),
    tier text,
    tier_source text CHECK (tier_source IN ('auto', 'manual')),
    stage text NOT NULL DEFAULT 'prospect' CHECK (stage IN ('prospect', 'onboarding', 'active', 'inactive', 'churned')),
    industry text,
    description text,
    employees integer CHECK (employees >= 0),
    employees_range text,
    company_revenue text,
    regions text[] NOT NULL DEFAULT '{}',
    languages text[] NOT NULL DEFAULT '{}',
    services text[] NOT NULL DEFAULT '{}',
    products text[] NOT NULL DEFAULT '{}',
    manager_id uuid,
    fit_score smallint CHECK (fit_score BETWEEN 0 AND 100),
    ai_insights jsonb,
    analyzed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX partners_organization_domain_key ON partners (organization_id, domain) WHERE domain IS NOT NULL;
CREATE INDEX partners_organization_created_idx ON partners (organization_id, created_at DESC, id DESC);

CREATE TABLE members (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer', 'partner')),
    -- The partner record a `partner`-role member belongs to.
    partner_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id),
    FOREIGN KEY (organization_id, partner_id) REFERENCES partners (organization_id, id) ON DELETE SET NULL (partner_id)
);
CREATE INDEX members_user_idx ON members (user_id, organization_id);

CREATE TABLE partner_contacts (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    partner_id uuid NOT NULL,
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    email text NOT NULL,
    is_primary boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, partner_id) REFERENCES partners (organization_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX partner_contacts_primary_key ON partner_contacts (organization_id, partner_id) WHERE is_primary;

CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    token_hash bytea NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    active_organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    user_agent text,
    ip_address text
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    token_hash bytea NOT NULL,
    prefix text NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE UNIQUE INDEX api_keys_token_hash_key ON api_keys (token_hash);
CREATE INDEX api_keys_organization_idx ON api_keys (organization_id, created_at DESC);

CREATE TABLE invitations (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email text NOT NULL,
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer', 'partner')),
    partner_id uuid,
    token_hash bytea NOT NULL,
    invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, partner_id) REFERENCES partners (organization_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
CREATE INDEX invitations_organization_idx ON invitations (organization_id, created_at DESC);

-- Transactional outbox: domain events written in the same transaction as the change they describe.
CREATE TABLE events (
    id uuid PRIMARY KEY,
    organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX events_organization_idx ON events (organization_id, created_at);
CREATE INDEX events_unpublished_idx ON events (created_at) WHERE published_at IS NULL;

-- Sliding-window rate limits shared by every instance (sign-in throttle, uploads, submissions).
CREATE TABLE rate_limit_hits (
    bucket text NOT NULL,
    hit_at timestamptz NOT NULL
);
CREATE INDEX rate_limit_hits_bucket_idx ON rate_limit_hits (bucket, hit_at);
