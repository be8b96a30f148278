DROP TABLE legal_templates;
