-- Development data, loaded with: psql -f examples/seed.sql
\set ON_ERROR_STOP on
COPY products (sku, name, price_cents) FROM stdin;
TEA-01	Green tea; 100 g	450
MUG-02	Mug	1200
\.
INSERT INTO users (email, username) VALUES ('ada@example.com', 'ada'), ('bob@example.com', 'bob');
