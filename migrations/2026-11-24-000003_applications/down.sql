DROP TABLE submissions;
DROP TABLE affiliate_links;
DROP TABLE applications;
