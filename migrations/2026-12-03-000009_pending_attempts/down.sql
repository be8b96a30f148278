ALTER TABLE rate_limit_hits DROP COLUMN pending;
