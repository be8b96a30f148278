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

