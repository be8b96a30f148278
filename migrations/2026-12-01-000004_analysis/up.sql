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

-- The analysis write as one prepared unit (PL/pgSQL keeps its plans per connection): the
-- partner's enriched fields, fit score and insights, and the `partner_analyzed` event. Hand-set
-- products stay and enriched ones follow them; a tier set by hand is left alone.
CREATE FUNCTION save_partner_analysis(
    p_organization uuid, p_partner uuid, p_industry text, p_description text,
    p_employees integer, p_employees_range text, p_company_revenue text, p_regions text[],
    p_languages text[], p_services text[], p_products text[], p_fit_score smallint,
    p_ai_insights jsonb, p_analyzed_at timestamptz, p_auto_tier text, p_event_id uuid,
    p_event jsonb
) RETURNS SETOF partners LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    UPDATE partners SET
        industry = p_industry, description = p_description, employees = p_employees,
        employees_range = p_employees_range, company_revenue = p_company_revenue,
        regions = p_regions, languages = p_languages, services = p_services,
        products = (SELECT coalesce(array_agg(x ORDER BY o), '{}') FROM (
            SELECT DISTINCT ON (lower(x)) x, o
            FROM unnest(partners.products || p_products) WITH ORDINALITY AS t(x, o)
            ORDER BY lower(x), o) d),
        fit_score = p_fit_score, ai_insights = p_ai_insights,
        analyzed_at = p_analyzed_at, updated_at = p_analyzed_at,
        tier = CASE WHEN p_auto_tier IS NOT NULL AND tier_source IS DISTINCT FROM 'manual'
            THEN p_auto_tier ELSE tier END,
        tier_source = CASE WHEN p_auto_tier IS NOT NULL AND tier_source IS DISTINCT FROM 'manual'
            THEN 'auto' ELSE tier_source END
    WHERE organization_id = p_organization AND id = p_partner
    RETURNING partners.*;
    IF FOUND THEN
        INSERT INTO events (id, organization_id, kind, payload, created_at)
        VALUES (p_event_id, p_organization, 'partner_analyzed', p_event, p_analyzed_at);
    END IF;
END
$$;
