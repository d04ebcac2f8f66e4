#!/usr/bin/env bash
# Scale: REST issuance and the store's queries at an empty store and at N certificate records.
# Usage: bench/scale.sh [--rows N] [--seconds S] [--engines sqlite,postgres] [--count C]
#                       [--expiry-order hash|id]
#   N synthetic records bulk-loaded (10,000,000), S seconds per wrk run (8), the engines in
#   that order, C CSRs rotated through (5000); the records' notAfter unrelated to their order
#   in the table (hash, the default) or rising with it (id: as issuance over time would leave them)
# BENCH_NO_BUILD=1 uses target/release/ironpki as it is (it is built only if missing).
# BENCH_KEEP_STORE=1 keeps the SQLite store (GBs at 10M rows) instead of deleting it at the end
# (the PostgreSQL database is always dropped).
set -euo pipefail

ROWS=10000000
S=8
ENGINES=sqlite,postgres
N=5000          # CSRs rotated through (as bench/api.sh)
K=64            # API tokens, one per wrk connection (as bench/api.sh)
WARM=2          # seconds of warm-up before each measured run
REPEAT=20       # `ironpki bench query --repeat`
ORDER=hash      # peers/scale_fill.py --expiry-order
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --seconds) S="$2"; shift 2 ;;
    --engines) ENGINES="$2"; shift 2 ;;
    --count) N="$2"; shift 2 ;;
    --expiry-order) ORDER="$2"; shift 2 ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $ROWS =~ ^[0-9]+$ && $S =~ ^[0-9]+$ && $N =~ ^[0-9]+$ ]] || { echo "--rows, --seconds and --count take integers" >&2; exit 2; }
[[ $ORDER == hash || $ORDER == id ]] || { echo "--expiry-order takes hash or id" >&2; exit 2; }
for e in ${ENGINES//,/ }; do
  [[ $e == sqlite || $e == postgres ]] || { echo "unknown engine: $e (sqlite, postgres)" >&2; exit 2; }
done
COMMAND="bench/scale.sh --rows $ROWS --seconds $S --engines $ENGINES --count $N --expiry-order $ORDER"
[[ ${BENCH_NO_BUILD:-0} == 1 ]] && COMMAND="BENCH_NO_BUILD=1 $COMMAND"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
WORK="$BENCH/work-scale"
IRONPKI="$ROOT/target/release/ironpki"
LUA="$BENCH/peers/wrk-api.lua"
PASS_FILE="$WORK/passphrase"
PROFILE=server            # as bench/api.sh: DNS names under .internal
DOMAIN=bench.internal     # CSR names dev-<i>.bench.internal (CN = the one SAN dNSName)
LIFETIME=24h              # every issued certificate expires within the 30-day window queried
PG_DB="scale_$$"
PG=(-h 127.0.0.1 -p 5432 -U postgres)
SCRIPT=scale.sh
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

skipped() {  # skipped ENGINE REASON: record an engine that did not run
  mkdir -p "$WORK/$1"
  "$PY" -c 'import json, sys; json.dump({"engine": sys.argv[1], "skipped": sys.argv[2]}, sys.stdout)' \
    "$1" "$2" >"$WORK/$1/meta.json"
  echo "   SKIPPED: $2" >&2
}

# ---------------------------------------------------------------- one phase: issuance, then queries

phase() {  # phase ENGINE PHASE: serve + wrk (warm-up, measured run), stop serve, `bench query`
  local engine=$1 name=$2 H="$WORK/$1/home" d="$WORK/$1/$2" pid token url
  local cpu0 cpu1 busy0 busy1
  mkdir -p "$d"
  token=$(head -n1 "$WORK/$engine/tokens.txt")
  serve_https "$H" "$d"
  pid=$SERVE_PID url=$SERVE_URL
  # one request checked by hand: 201, the CSR's name, 24 hours, chains to the roots
  check_first "$d" "$WORK/$engine/roots.pem" "$token" "$WORK/bodies-ironpki.jsonl" "dev-0.$DOMAIN" 1

  wrk -t2 -c64 -d"${WARM}s" --timeout 10s -s "$LUA" "$url" -- "$WORK/bodies-ironpki.jsonl" \
    "$WORK/$engine/tokens.txt" >"$d/warmup.txt" 2>&1 \
    || { cat "$d/warmup.txt" >&2; fail "wrk warm-up ($engine $name) failed"; }
  sleep 1
  cpu0=$(cpu_seconds "$pid"); pg_snapshot >"$d/pg0.txt"; busy0=$(machine_busy)
  /usr/bin/time -f '%U %S' -o "$d/wrk.time" \
    wrk -t2 -c64 -d"${S}s" --timeout 10s -s "$LUA" "$url" -- "$WORK/bodies-ironpki.jsonl" \
    "$WORK/$engine/tokens.txt" >"$d/wrk.txt" 2>&1 \
    || { cat "$d/wrk.txt" >&2; fail "wrk ($engine $name) failed"; }
  cpu1=$(cpu_seconds "$pid"); pg_snapshot >"$d/pg1.txt"; busy1=$(machine_busy)
  grep -q '^api_result ' "$d/wrk.txt" || { cat "$d/wrk.txt" >&2; fail "no api_result line from wrk ($engine $name)"; }
  stop "$pid"

  if [[ $engine == postgres ]]; then
    # the state autovacuum keeps a table in (visibility map, GIN pending list, statistics), at
    # both phases alike: the bulk load ends with the same
    psql "${PG[@]}" -d "$PG_DB" -Xqc "VACUUM ANALYZE certificates" || fail "VACUUM ANALYZE failed"
  fi
  step "$engine, $name store: ironpki bench query --repeat $REPEAT"
  ironpki --home "$H" --output json bench query --repeat "$REPEAT" >"$d/query.json" \
    || fail "ironpki bench query ($engine $name) failed"

  "$PY" - "$d" "$engine" "$name" "$cpu0" "$cpu1" "$busy0" "$busy1" <<'EOF'
import json, sys
d, engine, phase, cpu0, cpu1, busy0, busy1 = sys.argv[1:]
pg0, pg1 = ({int(p): float(c) for p, c in (l.split() for l in open(f"{d}/pg{i}.txt") if l.strip())} for i in (0, 1))
(w0, b0), (w1, b1) = (map(float, busy0.split()), map(float, busy1.split()))
r = json.loads(next(l for l in open(f"{d}/wrk.txt") if l.startswith("api_result "))[len("api_result "):])
q = json.load(open(f"{d}/query.json"))
meta = {"engine": engine, "phase": phase, "wrk": r, "query": q,
        "server_cpu_s": float(cpu1) - float(cpu0),
        "postgres_cpu_s": sum(c - pg0.get(p, 0.0) for p, c in pg1.items()),
        "wrk_cpu_s": sum(map(float, open(f"{d}/wrk.time").read().split()[-2:])),
        "machine_cpu_s": b1 - b0, "machine_wall_s": w1 - w0}
json.dump(meta, open(f"{d}/meta.json", "w"))
errors = r["non_2xx"] + sum(r["socket_errors"].values())
print(f"   {r['ok_2xx'] / r['duration_s']:,.0f} certs/s (2xx), p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
      f"{errors} errors; {q['rows']:,} rows: expiring page {q['expiring_page_ms']:.2f} ms "
      f"({q['expiring_page_rows']} rows), count {q['expiring_count_ms']:.2f} ms ({q['expiring_count']:,}), "
      f"lookup {q['lookup_by_serial_ms']:.3f} ms, name rare {q['name_rare_ms']:.3f} ms, "
      f"common {q['name_common_ms']:.3f} ms", file=sys.stderr)
EOF
}

# ---------------------------------------------------------------- one engine

engine_run() {  # engine_run ENGINE: $WORK/ENGINE/home already initialised
  local engine=$1 d="$WORK/$1" H="$WORK/$1/home" fill
  operator_tokens "$H" "$K" "$d/tokens.txt"
  ironpki --home "$H" ca roots >"$d/roots.pem"

  step "$engine, empty store: serve + wrk ${WARM}s warm-up + ${S}s"
  phase "$engine" empty

  step "$engine: bulk load of $ROWS synthetic certificate records"
  if [[ $engine == sqlite ]]; then
    fill=(--sqlite "$H/ironpki.db")
  else
    fill=(--postgres "$PG_DB" --psql-args="${PG[*]}")
  fi
  "$PY" "$BENCH/peers/scale_fill.py" --rows "$ROWS" --expiry-order "$ORDER" "${fill[@]}" >"$d/fill.json" \
    || fail "the bulk load ($engine) failed"

  step "$engine, $ROWS records: serve + wrk ${WARM}s warm-up + ${S}s"
  phase "$engine" full
  "$PY" - "$d" "$engine" "$(store_bytes "$engine")" <<'EOF'
import json, sys
d, engine, size = sys.argv[1:]
json.dump({"engine": engine, "fill": json.load(open(f"{d}/fill.json")), "store_bytes": int(size)},
          open(f"{d}/meta.json", "w"))
EOF
  # the store takes GBs at 10M rows: delete it (PostgreSQL's database is dropped after this)
  if [[ $engine == sqlite && ${BENCH_KEEP_STORE:-0} != 1 ]]; then rm -f "$H/ironpki.db"*; fi
}

store_bytes() {  # store_bytes ENGINE: bytes the store takes on disk
  if [[ $1 == sqlite ]]; then
    du -cb "$WORK/sqlite/home/ironpki.db"* | tail -n1 | cut -f1
  else
    psql "${PG[@]}" -d "$PG_DB" -XtAc "SELECT pg_database_size(current_database())"
  fi
}

# ---------------------------------------------------------------- tools

step "tools"
for tool in openssl curl sqlite3 python3; do command -v $tool >/dev/null || fail "$tool not found"; done
bench_tools
"$PY" -c 'import sqlite3' || fail "$PY has no sqlite3 module (the SQLite bulk load needs it)"

if [[ ! -x $IRONPKI || ${BENCH_NO_BUILD:-0} != 1 ]]; then
  step "building IronPKI"
  (cd "$ROOT" && cargo build --release -p ironpki)
fi
"$IRONPKI" token --help >/dev/null 2>&1 || fail "$IRONPKI has no \`token\` subcommand: no REST API in this build"
"$IRONPKI" bench query --help >/dev/null 2>&1 || fail "$IRONPKI has no \`bench query\` subcommand"

rm -rf "$WORK"
mkdir -p "$WORK"
echo bench-passphrase >"$PASS_FILE"

step "generating $N CSRs (ECDSA P-256, dev-<i>.$DOMAIN) and their JSON bodies (lifetime $LIFETIME)"
"$PY" "$BENCH/peers/gen_csrs.py" --count "$N" --domain "$DOMAIN" --out "$WORK/csrs.pem"
"$PY" "$BENCH/peers/api_bodies.py" --csrs "$WORK/csrs.pem" --profile "$PROFILE" --lifetime "$LIFETIME" \
  --cfssl /dev/null --ironpki "$WORK/bodies-ironpki.jsonl" >/dev/null

# the default configuration, for the PostgreSQL store to swap its `store:` block
ironpki --home "$WORK/template" init --name Bench >/dev/null

for engine in ${ENGINES//,/ }; do
  d="$WORK/$engine"
  mkdir -p "$d"
  if [[ $engine == sqlite ]]; then
    step "sqlite: ironpki init"
    ironpki --home "$d/home" init --name Bench >"$d/init.log"
  else
    step "postgres: ironpki init (database $PG_DB)"
    if ! command -v psql >/dev/null || ! command -v createdb >/dev/null; then
      skipped postgres "psql/createdb not found (Debian: postgresql-client)"; continue
    elif ! pg_isready -q "${PG[@]}"; then
      skipped postgres "no PostgreSQL accepting connections on 127.0.0.1:5432"; continue
    fi
    createdb "${PG[@]}" "$PG_DB"
    PG_CREATED=1
    postgres_config "$WORK/template/ironpki.yaml" "$d/ironpki.yaml"
    ironpki --home "$d/home" init --config "$d/ironpki.yaml" >"$d/init.log" 2>&1 \
      || { cat "$d/init.log" >&2; fail "ironpki init with store: postgres://… failed"; }
  fi
  engine_run "$engine"
  if [[ $engine == postgres ]]; then dropdb "${PG[@]}" "$PG_DB" && PG_CREATED=0; fi
done

echo >&2
"$PY" "$BENCH/scale_report.py" --work "$WORK" --command "$COMMAND" --ironpki "$IRONPKI" --engines "$ENGINES"
