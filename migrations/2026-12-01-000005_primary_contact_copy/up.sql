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
