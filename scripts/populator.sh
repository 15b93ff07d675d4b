#!/usr/bin/env bash
# Loads the seed's CSV files (branches.csv, cashiers.csv, app_users.csv, stores.csv, app_user_visits_fact.csv,
# as scripts/generate-seed-csv.sh writes them) into the tables of sql/ddl-pg.sql with COPY, in foreign-key
# order and in one transaction: on any failure nothing is loaded.
#
#   scripts/populator.sh [-h HOST] [-p PORT] [-U USER] [-d DATABASE] [--dir DIR]      (--help for more)
#
# What no option gives comes from POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_DB in the environment
# or in .env of the working directory, as for the loader; the password only from POSTGRES_PASSWORD.
# Runs io.pgchloader.demo.SeedCsvPopulator on pgjdbc (no psql needed) from target/ (mvn -B -DskipTests package).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ ! -d $root/target/classes/io/pgchloader/demo || ! -d $root/target/lib ]]; then
    echo "populator: target/classes or target/lib is missing: run 'mvn -B -DskipTests package' first" >&2
    exit 2
fi
exec java -cp "$root/target/classes:$root/target/lib/*" io.pgchloader.demo.SeedCsvPopulator "$@"
