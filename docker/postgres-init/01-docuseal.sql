-- Runs once, when the postgres volume is first initialised.
-- DocuSeal keeps its data in its own database next to the API's.
CREATE DATABASE docuseal;
