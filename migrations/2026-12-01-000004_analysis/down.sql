DROP FUNCTION save_partner_analysis;
DROP TABLE analysis_jobs;
DROP TABLE ideal_partner_profiles;
DROP TABLE domain_leases;
DROP TABLE domain_enrichments;
