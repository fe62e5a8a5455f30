-- A migration not applied to the database yet.
CREATE INDEX events_payload_idx ON events (payload);
