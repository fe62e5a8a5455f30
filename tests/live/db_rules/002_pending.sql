-- A migration not applied to the database yet.
CREATE INDEX CONCURRENTLY events_payload_idx ON events (payload);
