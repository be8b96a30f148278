-- Partner analysis: the shared domain cache, its single-flight leases, ideal partner profiles
-- and the background job queue.

-- Public facts about a domain, shared by every organization on purpose (no organization data,
-- so no organization_id): one row per domain and enricher (`heuristic`, `llm:<model>`).
CREATE TABLE domain_enrichments (
    domain text NOT NULL,
    enriched_by text NOT NULL,
    profile jsonb NOT NULL,
    sources jsonb NOT NULL,
    fetched_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (domain, enriched_by)
);
CREATE INDEX domain_enrichments_expires_idx ON domain_enrichments (expires_at);

-- Single flight across instances: whoever holds a domain's unexpired lease analyzes it.
CREATE TABLE domain_leases (
    domain text PRIMARY KEY,
    holder uuid NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE TABLE ideal_partner_profiles (
    organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    profile jsonb NOT NULL,
    updated_by uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE analysis_jobs (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    partner_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 4,
    run_at timestamptz NOT NULL,
    locked_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz,
    FOREIGN KEY (organization_id, partner_id) REFERENCES partners (organization_id, id) ON DELETE CASCADE
);
-- What workers poll: due work only.
CREATE INDEX analysis_jobs_due_idx ON analysis_jobs (run_at) WHERE status IN ('queued', 'running');
-- At most one queued job per partner.
CREATE UNIQUE INDEX analysis_jobs_queued_key ON analysis_jobs (organization_id, partner_id) WHERE status = 'queued';
CREATE INDEX analysis_jobs_organization_idx ON analysis_jobs (organization_id, created_at DESC);
