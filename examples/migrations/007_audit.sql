-- missing-primary-key: nothing identifies a row of audit_log (duplicates cannot be told apart,
-- and logical replication refuses its UPDATEs and DELETEs); give it an identity primary key.
CREATE TABLE audit_log (
    at timestamptz NOT NULL,
    message text NOT NULL
);
