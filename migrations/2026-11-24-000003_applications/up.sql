-- Partner applications: published forms, affiliate links and submissions.
CREATE TABLE applications (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name text NOT NULL,
    -- Public and globally unique: it is the form's address.
    slug text NOT NULL,
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'closed')),
    fields jsonb NOT NULL DEFAULT '[]',
    agreements jsonb NOT NULL DEFAULT '[]',
    content jsonb NOT NULL DEFAULT '{}',
    -- Which form fields become the partner record on approval.
    partner_mapping jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX applications_slug_key ON applications (slug);
CREATE INDEX applications_organization_created_idx ON applications (organization_id, created_at DESC, id DESC);

CREATE TABLE affiliate_links (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    application_id uuid NOT NULL,
    slug text NOT NULL,
    label text,
    partner_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, application_id) REFERENCES applications (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, partner_id) REFERENCES partners (organization_id, id) ON DELETE SET NULL (partner_id)
);
CREATE UNIQUE INDEX affiliate_links_application_slug_key ON affiliate_links (application_id, slug);
CREATE INDEX affiliate_links_organization_idx ON affiliate_links (organization_id, application_id, created_at);

CREATE TABLE submissions (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    application_id uuid NOT NULL,
    form_data jsonb NOT NULL,
    accepted_agreements uuid[] NOT NULL DEFAULT '{}',
    -- The form's first email field, lowercased: one live submission per email and form.
    email text,
    -- Attribution: the link when the slug named one, and the raw slug as sent either way.
    affiliate_link_id uuid,
    affiliate_slug text,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reject_reason text,
    partner_id uuid,
    client_ip text,
    reviewed_by uuid REFERENCES users (id) ON DELETE SET NULL,
    reviewed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, application_id) REFERENCES applications (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, affiliate_link_id) REFERENCES affiliate_links (organization_id, id) ON DELETE SET NULL (affiliate_link_id),
    FOREIGN KEY (organization_id, partner_id) REFERENCES partners (organization_id, id) ON DELETE SET NULL (partner_id)
);
CREATE UNIQUE INDEX submissions_live_email_key ON submissions (application_id, email)
    WHERE email IS NOT NULL AND status IN ('pending', 'approved');
CREATE INDEX submissions_organization_application_idx ON submissions (organization_id, application_id, created_at DESC, id DESC);
-- leadCount is counted from these rows: no hot counter row for a viral link.
CREATE INDEX submissions_affiliate_link_idx ON submissions (affiliate_link_id) WHERE affiliate_link_id IS NOT NULL;
