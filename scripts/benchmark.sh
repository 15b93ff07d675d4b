#!/usr/bin/env bash
# Backfill benchmark (issue 5): ClickHouse's native pull vs the loader's backfill of the same N-row table,
# then the incremental cycle, all on embedded PostgreSQL 17 and ClickHouse 26.7.
#
#   scripts/benchmark.sh [ROWS] [options]          ROWS defaults to 2000000
#   scripts/benchmark.sh 2000000 --profile         also records the loader with JFR and prints where the time goes
#
# Options (passed to io.pgchloader.bench.Benchmark, a test-scope class that never ships):
#   --variant "label [batchSize=N] [fetchSize=N] [template=FILE] [jvm=OPTION]..."   one more backfill each
#   --rounds N          alternate native pull and variants N times and print medians (a shared machine is noisy)
#   --no-incremental    skip the 10,000-change incremental cycle
#   --heap 256m         the loader's -Xmx
#   --work DIR          where routes, logs and recordings go (default: a new folder under /tmp)
# Environment: BENCH_SKIP_BUILD=1 uses target/ as it is (no mvn package).
#
# The loader runs as `java -Xmx256m -cp target/classes:target/lib/* io.pgchloader.Main --once` in a JVM of its
# own with a clean environment; its peak RSS is its VmHWM. The embedded databases keep their data under /tmp
# (about 1.5 GB per 10M rows in PostgreSQL, plus ClickHouse's copies).
set -euo pipefail
cd "$(dirname "$0")/.."

rows=2000000
if [[ $# -gt 0 && $1 =~ ^[0-9_]+$ ]]; then
    rows=$1
    shift
fi

profile=""
args=()
for a in "$@"; do
    if [[ $a == --profile ]]; then profile=1; else args+=("$a"); fi
done

if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
    echo "building (mvn package -DskipTests; test classes are compiled too)..."
    mvn -B -q -DskipTests package
fi

jfr_dir=""
if [[ -n $profile ]]; then
    jfr_dir=$(mktemp -d /tmp/pgch-bench-jfr-XXXXXX)
    args=(--jfr "$jfr_dir" --variant "loader jvm=-XX:FlightRecorderOptions=stackdepth=512" "${args[@]}")
fi

# the driver JVM holds only the embedded databases' handles; the loader runs in a child JVM
java -Xmx1g -Duser.timezone=UTC -cp "target/test-classes:target/classes:target/lib/*" \
    io.pgchloader.bench.Benchmark "$rows" ${args[@]+"${args[@]}"}

if [[ -n $profile ]]; then
    for rec in "$jfr_dir"/*.jfr; do
        echo
        echo "=== JFR profile of the loader: $rec ==="
        jfr print --json --stack-depth 400 --events jdk.ExecutionSample,jdk.NativeMethodSample "$rec" > "$rec.json"
        python3 - "$rec.json" <<'PY'
import json, sys, collections

events = json.load(open(sys.argv[1]))["recording"]["events"]

def frames(e):
    st = e["values"].get("stackTrace") or {}
    return [f["method"]["type"]["name"].replace("/", ".") + "." + f["method"]["name"] for f in st.get("frames", [])]

# phase of a sample: the innermost step of copy-stream it belongs to (frames are leaf first)
PHASES = [
    ("insert: executeBatch (CH driver serialize + HTTP)", ("PreparedStatementImpl.executeBatch", "executeBatch")),
    ("insert: bind rows (camel-sql/Spring/CH setX)", ("SqlProducer.populateStatement", "DefaultSqlPrepareStatementStrategy.populateStatement", "ArgumentPreparedStatementSetter")),
    ("insert: other (prepare, metadata, connection)", ("SqlProducer.process",)),
    ("read: PostgreSQL fetch + decode + map", ("CopyStreamSteps$1.next", "ResultSetIterator.next", "SourceRowMapperFactory")),
    ("read: query start", ("SqlProducer.processStreamList",)),
]

def phase(fs):
    for f in fs:
        for name, keys in PHASES:
            if any(f.endswith(k) or k in f for k in keys):
                return name
    return "other (Camel routing, startup, GC helpers)"

def package(frame):
    for p in ("org.postgresql", "com.clickhouse", "org.springframework", "org.apache.camel", "org.apache.hc",
              "io.pgchloader", "java.", "jdk.", "sun.", "com.zaxxer", "net.jpountz"):
        if frame.startswith(p):
            return p.rstrip(".")
    return frame.rsplit(".", 2)[0]

by_thread = collections.Counter()
for e in events:
    by_thread[(e["type"].split(".")[-1], e["values"]["sampledThread"]["javaName"])] += 1
print("samples per thread (ExecutionSample = running Java, NativeMethodSample = in native code, e.g. socket I/O):")
for (kind, thread), n in by_thread.most_common(12):
    print(f"  {n:6d}  {kind:18s} {thread}")

for kind in ("ExecutionSample", "NativeMethodSample"):
    evs = [e for e in events if e["type"].endswith(kind) and "Camel" in e["values"]["sampledThread"]["javaName"]
           or e["type"].endswith(kind) and e["values"]["sampledThread"]["javaName"] == "main"]
    if not evs:
        continue
    total = len(evs)
    print(f"\n--- {kind}: {total} samples of the copying thread(s) (main / Camel) ---")
    phases = collections.Counter()
    self_by_phase = collections.defaultdict(collections.Counter)
    pkg = collections.Counter()
    incl = collections.Counter()
    selfm = collections.Counter()
    for e in evs:
        fs = frames(e)
        if not fs:
            continue
        p = phase(fs)
        phases[p] += 1
        self_by_phase[p][fs[0]] += 1
        pkg[package(fs[0])] += 1
        selfm[fs[0]] += 1
        for f in set(fs):
            incl[f] += 1
    print("by phase:")
    for p, n in phases.most_common():
        print(f"  {100*n/total:5.1f}%  {p}")
        for m, k in self_by_phase[p].most_common(6):
            print(f"           {100*k/total:5.1f}%  {m}")
    print("by package of the running method:")
    for p, n in pkg.most_common(10):
        print(f"  {100*n/total:5.1f}%  {p}")
    print("hottest methods (self):")
    for m, n in selfm.most_common(25):
        print(f"  {100*n/total:5.1f}%  {m}")
    print("inclusive (selected):")
    keys = ("getParameterMetaData", "StatementCreatorUtils.setParameterValue", "StatementCreatorUtils.setNull",
            "ArgumentPreparedStatementSetter.setValues", "createPopulateIterator", "hasNamedParameters",
            "TypeConverter", "convertTo", "PreparedStatementImpl.setObject", "PreparedStatementImpl.addBatch",
            "PreparedStatementImpl.executeBatch", "RowBinary", "SerializerUtils", "PgToClickHouse", "mapRow",
            "PgResultSet.next", "QueryExecutorImpl.fetch", "PgResultSet.getObject", "PgResultSet.getBigDecimal",
            "TimestampUtils", "ResultSetIterator.next", "CopyStreamSteps.inserted", "batchInserted", "processStreamList")
    rows = [(m, n) for m, n in incl.items() if any(k in m for k in keys)]
    for m, n in sorted(rows, key=lambda x: -x[1])[:30]:
        print(f"  {100*n/total:5.1f}%  {m}")
PY
    done
fi
