-- The seed schema in PostgreSQL: four dimension tables and a visits fact table.
-- Every table carries created_at (NOT NULL, set on insert) and updated_at (NULL until the row changes):
-- the loader's two streams follow them.

CREATE TABLE IF NOT EXISTS branches (
    id          bigserial PRIMARY KEY,
    name        text        NOT NULL,
    city        text,
    created_at  timestamp   NOT NULL DEFAULT now(),
    updated_at  timestamp   NULL
);

CREATE TABLE IF NOT EXISTS cashiers (
    id          bigserial PRIMARY KEY,
    branch_id   bigint      NOT NULL REFERENCES branches (id),
    full_name   text        NOT NULL,
    employee_no varchar(20),
    created_at  timestamp   NOT NULL DEFAULT now(),
    updated_at  timestamp   NULL
);

CREATE TABLE IF NOT EXISTS app_users (
    id          bigserial PRIMARY KEY,
    email       text        NOT NULL UNIQUE,
    full_name   text,
    birth_date  date,
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamp   NOT NULL DEFAULT now(),
    updated_at  timestamp   NULL
);

CREATE TABLE IF NOT EXISTS stores (
    id          bigserial PRIMARY KEY,
    branch_id   bigint      NOT NULL REFERENCES branches (id),
    name        text        NOT NULL,
    address     text,
    latitude    numeric(9, 6),
    longitude   numeric(9, 6),
    created_at  timestamp   NOT NULL DEFAULT now(),
    updated_at  timestamp   NULL
);

CREATE TABLE IF NOT EXISTS app_user_visits_fact (
    id               bigserial PRIMARY KEY,
    app_user_id      bigint        NOT NULL REFERENCES app_users (id),
    store_id         bigint        NOT NULL REFERENCES stores (id),
    branch_id        bigint        NOT NULL REFERENCES branches (id),
    cashier_id       bigint        NOT NULL REFERENCES cashiers (id),
    visited_at       timestamptz   NOT NULL,
    duration_seconds integer,
    amount           numeric(12, 2),
    channel          text,
    created_at       timestamp     NOT NULL DEFAULT now(),
    updated_at       timestamp     NULL
);

-- The indexes the loader's streams use, so a cycle reads only what changed (no full scan):
-- created stream: WHERE updated_at IS NULL AND created_at >= ? ORDER BY created_at
-- updated stream: WHERE updated_at >= ? ORDER BY updated_at
CREATE INDEX IF NOT EXISTS branches_created_idx ON branches (created_at) WHERE updated_at IS NULL;
CREATE INDEX IF NOT EXISTS branches_updated_idx ON branches (updated_at);
CREATE INDEX IF NOT EXISTS cashiers_created_idx ON cashiers (created_at) WHERE updated_at IS NULL;
CREATE INDEX IF NOT EXISTS cashiers_updated_idx ON cashiers (updated_at);
CREATE INDEX IF NOT EXISTS app_users_created_idx ON app_users (created_at) WHERE updated_at IS NULL;
CREATE INDEX IF NOT EXISTS app_users_updated_idx ON app_users (updated_at);
CREATE INDEX IF NOT EXISTS stores_created_idx ON stores (created_at) WHERE updated_at IS NULL;
CREATE INDEX IF NOT EXISTS stores_updated_idx ON stores (updated_at);
CREATE INDEX IF NOT EXISTS app_user_visits_fact_created_idx ON app_user_visits_fact (created_at) WHERE updated_at IS NULL;
CREATE INDEX IF NOT EXISTS app_user_visits_fact_updated_idx ON app_user_visits_fact (updated_at);
