CREATE TABLE suppliers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- repeating-column-group: three numbered phone slots; one row per phone in a child table.
    phone1 text,
    phone2 text,
    phone3 text,
    -- multi-valued-column: a list of ids in a string; use bigint[] or a join table.
    product_ids text,
    details jsonb NOT NULL DEFAULT '{}'
);
-- wide-column-index: a btree on a whole jsonb document; use GIN (jsonb_path_ops) instead.
CREATE INDEX suppliers_details_idx ON suppliers (details);
