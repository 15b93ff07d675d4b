-- The seed's table without timestamps, synced by CDC (the demo's route: routes/demo/store-stock.yaml; docs/cdc.md):
-- the stock of each product in each store, changed in place and deleted when a store delists a product,
-- with no column that says when. Only plain-storage types, so it needs no REPLICA IDENTITY FULL.
-- Its ClickHouse table is created by the loader (with _version and _is_deleted).

CREATE TABLE IF NOT EXISTS store_stock (
    store_id    bigint   NOT NULL REFERENCES stores (id),
    product_no  integer  NOT NULL,
    on_hand     integer  NOT NULL,
    reserved    integer  NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, product_no)
);
