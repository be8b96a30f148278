-- Legal agreement templates prepared in Docuseal.
CREATE TABLE legal_templates (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    partner_id uuid NOT NULL,
    name text NOT NULL,
    description text,
    scope text NOT NULL CHECK (scope IN ('reusable', 'one_off')),
    roles text[] NOT NULL,
    fields jsonb NOT NULL,
    docuseal_template_id bigint NOT NULL,
    docuseal_slug text NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (organization_id, partner_id) REFERENCES partners (organization_id, id) ON DELETE CASCADE
);
-- Names are unique per organization, case-insensitively.
CREATE UNIQUE INDEX legal_templates_organization_name_key ON legal_templates (organization_id, lower(name));
CREATE INDEX legal_templates_organization_partner_idx ON legal_templates (organization_id, partner_id, created_at DESC);
