CREATE TABLE reviews (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- missing-foreign-key: product_id has the type of products' key but nothing checks it; add
    -- REFERENCES products.
    product_id bigint NOT NULL,
    stars integer NOT NULL CHECK (stars BETWEEN 1 AND 5),
    -- inline-index-definition: MySQL's KEY clause. PostgreSQL reads it as a column named key
    -- (of a type that does not exist); `--fix` moves it to a CREATE INDEX after the table.
    KEY reviews_product_id_idx (product_id)
);
