#!/usr/bin/env bash
# Writes synthetic CSV files of the seed schema (branches, cashiers, app users, stores, visits), one per table,
# for scripts/populator.sh. The same seed and sizes always give the same files.
#
#   scripts/generate-seed-csv.sh [--dir DIR] [--seed N] [--branches N] [--cashiers N] [--app-users N] [--stores N]
#                                [--visits N] [--until 'YYYY-MM-DD HH:MM:SS']      (--help for the defaults)
#
# Runs io.pgchloader.demo.SeedCsvGenerator from target/ (build it once with `mvn -B -DskipTests package`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ ! -d $root/target/classes/io/pgchloader/demo || ! -d $root/target/lib ]]; then
    echo "generate-seed-csv: target/classes or target/lib is missing: run 'mvn -B -DskipTests package' first" >&2
    exit 2
fi
exec java -cp "$root/target/classes:$root/target/lib/*" io.pgchloader.demo.SeedCsvGenerator "$@"
