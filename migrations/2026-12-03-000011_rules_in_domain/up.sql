-- The analysis write's rules (products merged after the hand-set ones, a hand-set tier left
-- alone) are decided by the domain now; the adapter stores the outcome with plain statements
-- under the partner's row lock.
DROP FUNCTION save_partner_analysis;
