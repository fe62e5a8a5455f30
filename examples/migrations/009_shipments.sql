CREATE TABLE shipments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    carrier text NOT NULL,
    tracking_code text NOT NULL,
    shipped_at timestamptz NOT NULL
);
-- Look-ups of a carrier's parcels, by carrier and then tracking code.
CREATE INDEX shipments_carrier_tracking_idx ON shipments (carrier, tracking_code);
