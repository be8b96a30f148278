-- Restores the analysis write of migration 000004.
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
