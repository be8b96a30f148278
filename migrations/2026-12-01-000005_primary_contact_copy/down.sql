DROP TRIGGER partner_contacts_primary_copy ON partner_contacts;
DROP FUNCTION partner_contacts_copy_primary();
ALTER TABLE partners
    DROP COLUMN primary_contact_id,
    DROP COLUMN primary_contact_first_name,
    DROP COLUMN primary_contact_last_name,
    DROP COLUMN primary_contact_email;
