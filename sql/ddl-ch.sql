-- The seed schema in ClickHouse, as the loader would create it from the PostgreSQL catalog.
-- ReplacingMergeTree keeps one version per primary key: the row with the largest _version, which is
-- the row's updated_at, or its created_at while it was never updated. Query with FINAL (or through a
-- view that does) to see each row once.

CREATE TABLE IF NOT EXISTS branches (
    id          Int64,
    name        String,
    city        Nullable(String),
    created_at  DateTime64(6, 'UTC'),
    updated_at  Nullable(DateTime64(6, 'UTC')),
    _version    DateTime64(6, 'UTC') MATERIALIZED coalesce(updated_at, created_at)
) ENGINE = ReplacingMergeTree(_version)
ORDER BY (id);

CREATE TABLE IF NOT EXISTS cashiers (
    id          Int64,
    branch_id   Int64,
    full_name   String,
    employee_no Nullable(String),
    created_at  DateTime64(6, 'UTC'),
    updated_at  Nullable(DateTime64(6, 'UTC')),
    _version    DateTime64(6, 'UTC') MATERIALIZED coalesce(updated_at, created_at)
) ENGINE = ReplacingMergeTree(_version)
ORDER BY (id);

CREATE TABLE IF NOT EXISTS app_users (
    id          Int64,
    email       String,
    full_name   Nullable(String),
    birth_date  Nullable(Date32),
    is_active   Bool,
    created_at  DateTime64(6, 'UTC'),
    updated_at  Nullable(DateTime64(6, 'UTC')),
    _version    DateTime64(6, 'UTC') MATERIALIZED coalesce(updated_at, created_at)
) ENGINE = ReplacingMergeTree(_version)
ORDER BY (id);

CREATE TABLE IF NOT EXISTS stores (
    id          Int64,
    branch_id   Int64,
    name        String,
    address     Nullable(String),
    latitude    Nullable(Decimal(9, 6)),
    longitude   Nullable(Decimal(9, 6)),
    created_at  DateTime64(6, 'UTC'),
    updated_at  Nullable(DateTime64(6, 'UTC')),
    _version    DateTime64(6, 'UTC') MATERIALIZED coalesce(updated_at, created_at)
) ENGINE = ReplacingMergeTree(_version)
ORDER BY (id);

CREATE TABLE IF NOT EXISTS app_user_visits_fact (
    id               Int64,
    app_user_id      Int64,
    store_id         Int64,
    branch_id        Int64,
    cashier_id       Int64,
    visited_at       DateTime64(6, 'UTC'),
    duration_seconds Nullable(Int32),
    amount           Nullable(Decimal(12, 2)),
    channel          Nullable(String),
    created_at       DateTime64(6, 'UTC'),
    updated_at       Nullable(DateTime64(6, 'UTC')),
    _version         DateTime64(6, 'UTC') MATERIALIZED coalesce(updated_at, created_at)
) ENGINE = ReplacingMergeTree(_version)
ORDER BY (id);
