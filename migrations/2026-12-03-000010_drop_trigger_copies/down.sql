-- Restores the copy of 000006 (columns, backfill, triggers).
-- A session carries a copy of its active membership (role and partner), so authenticating a
-- request reads one row (the read path joined `members` on every request). `members` stays
-- the record; the copy is computed by one function whenever a session is created, switches
-- organization or has its copy written, and members' changes rewrite the copies of the
-- sessions they concern. A session whose user is not a member of its active organization
-- has no copy (both null), which reads as "no active organization".
ALTER TABLE sessions
    ADD COLUMN active_role text,
    ADD COLUMN active_partner_id uuid;

UPDATE sessions s
SET active_role = m.role, active_partner_id = m.partner_id
FROM members m
WHERE m.organization_id = s.active_organization_id AND m.user_id = s.user_id;

-- FOR SHARE waits for a concurrent change of the membership and then reads its outcome, so
-- a session switching organization while its role changes gets the new role. (Switching
-- takes the membership's lock before the session's, as the members trigger does, so the two
-- cannot deadlock.)
CREATE FUNCTION sessions_copy_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT m.role, m.partner_id INTO NEW.active_role, NEW.active_partner_id
    FROM members m
    WHERE m.organization_id = NEW.active_organization_id AND m.user_id = NEW.user_id
    FOR SHARE;
    RETURN NEW;
END
$$;

CREATE TRIGGER sessions_membership_copy
BEFORE INSERT OR UPDATE OF user_id, active_organization_id, active_role, active_partner_id
ON sessions
FOR EACH ROW EXECUTE FUNCTION sessions_copy_membership();

-- Writing the copy recomputes it (the trigger above), so this only names the sessions.
CREATE FUNCTION members_refresh_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE sessions SET active_role = NULL
        WHERE user_id = OLD.user_id AND active_organization_id = OLD.organization_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE'
        AND (NEW.user_id, NEW.organization_id) IS DISTINCT FROM (OLD.user_id, OLD.organization_id)) THEN
        UPDATE sessions SET active_role = NULL
        WHERE user_id = NEW.user_id AND active_organization_id = NEW.organization_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_session_copy
AFTER INSERT OR DELETE OR UPDATE OF organization_id, user_id, role, partner_id
ON members
FOR EACH ROW EXECUTE FUNCTION members_refresh_sessions();


-- Restores the copy of 000005.
-- A partner carries a copy of its primary contact's public fields, so a partner is read from
-- one row (the read path joined `partner_contacts` on every request). `partner_contacts`
-- stays the record of the contact; the trigger below keeps the copy equal to it whatever
-- writes the contact, and writes nothing when the copy already matches (a partner is
-- inserted with its copy filled in).
ALTER TABLE partners
    ADD COLUMN primary_contact_id uuid,
    ADD COLUMN primary_contact_first_name text,
    ADD COLUMN primary_contact_last_name text,
    ADD COLUMN primary_contact_email text;

UPDATE partners p
SET primary_contact_id = c.id,
    primary_contact_first_name = c.first_name,
    primary_contact_last_name = c.last_name,
    primary_contact_email = c.email
FROM partner_contacts c
WHERE c.organization_id = p.organization_id AND c.partner_id = p.id AND c.is_primary;

CREATE FUNCTION partner_contacts_copy_primary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' AND NEW.is_primary THEN
        UPDATE partners
        SET primary_contact_id = NEW.id,
            primary_contact_first_name = NEW.first_name,
            primary_contact_last_name = NEW.last_name,
            primary_contact_email = NEW.email
        WHERE organization_id = NEW.organization_id AND id = NEW.partner_id
          AND (primary_contact_id, primary_contact_first_name, primary_contact_last_name,
               primary_contact_email)
              IS DISTINCT FROM (NEW.id, NEW.first_name, NEW.last_name, NEW.email);
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.is_primary
       AND (TG_OP = 'DELETE' OR NOT NEW.is_primary OR NEW.partner_id <> OLD.partner_id) THEN
        UPDATE partners
        SET primary_contact_id = NULL,
            primary_contact_first_name = NULL,
            primary_contact_last_name = NULL,
            primary_contact_email = NULL
        WHERE organization_id = OLD.organization_id AND id = OLD.partner_id
          AND primary_contact_id = OLD.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER partner_contacts_primary_copy
AFTER INSERT OR DELETE OR UPDATE OF partner_id, is_primary, first_name, last_name, email
ON partner_contacts
FOR EACH ROW EXECUTE FUNCTION partner_contacts_copy_primary();
