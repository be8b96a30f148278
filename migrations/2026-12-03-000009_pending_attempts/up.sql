-- A reserved attempt (a sign-in whose password is being checked) counts at once, and for its
-- whole window only once settled as a failure; an unsettled one lapses after its lease.
ALTER TABLE rate_limit_hits ADD COLUMN pending boolean NOT NULL DEFAULT false;
