-- Nothing to restore: the cache refills itself.
SELECT 1;
