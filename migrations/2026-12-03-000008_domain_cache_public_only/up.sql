-- Entries made before the cache held public facts only were enriched with the requesting
-- organization's name for the partner, which their summaries, strengths and risks may repeat
-- to every other organization. Drop them: each domain is enriched again, from the domain and its
-- website alone, on its next analysis.
DELETE FROM domain_enrichments;
