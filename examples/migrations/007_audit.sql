-- missing-primary-key: nothing identifies a row of audit_log (duplicates cannot be told apart,
-- and logical replication refuses its UPDATEs and DELETEs); give it an identity primary key.
CREATE TABLE audit_log (
    at timestamptz NOT NULL,
    message text NOT NULL
);

CREATE TABLE refunds (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- float-for-money: a double precision amount cannot store 0.10 exactly; use numeric(12, 2).
    amount double precision NOT NULL
);

CREATE TABLE logins (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- timestamp-without-time-zone: an instant stored without its zone; use timestamptz.
    at timestamp NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    active boolean NOT NULL DEFAULT true
);
-- low-cardinality-index: a btree on a boolean; index the rare rows: (id) WHERE NOT active.
CREATE INDEX subscriptions_active_idx ON subscriptions (active);
