#!/usr/bin/env bash
# REST issuance from CSRs, 64 concurrent clients: IronPKI beside cfssl in one run.
# Usage: bench/api.sh [--count N] [--seconds S] [--tokens K] [--rounds R]
#   N CSRs rotated through, S seconds per wrk run, K IronPKI API tokens (one per client: 64),
#   R rounds: every target runs once a round, on a fresh store, in the same order; the report
#   takes each target's median, so that drift of the machine's speed during the run moves
#   every target alike instead of whichever ran in a slow minute
# BENCH_NO_BUILD=1 uses target/release/ironpki as it is (it is built only if missing).
# BENCH_SKIP_IRONPKI=1 runs the cfssl targets only (no build; IronPKI shows as not run).
set -euo pipefail

N=5000
S=10
K=64            # IronPKI API tokens, taken in turn: 64 clients would each have their own
ROUNDS=3
WARM=2          # seconds of warm-up before each measured run
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) N="$2"; shift 2 ;;
    --seconds) S="$2"; shift 2 ;;
    --tokens) K="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "--rounds: a whole number of at least 1, not $ROUNDS" >&2; exit 2; }
COMMAND="bench/api.sh --count $N --seconds $S --tokens $K --rounds $ROUNDS"
SKIP_IRONPKI="${BENCH_SKIP_IRONPKI:-0}"
[[ "$SKIP_IRONPKI" == 1 ]] && COMMAND="BENCH_SKIP_IRONPKI=1 $COMMAND"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
WORK="$BENCH/work-api"
IRONPKI="$ROOT/target/release/ironpki"
LUA="$BENCH/peers/wrk-api.lua"
PASS_FILE="$WORK/passphrase"
PROFILE=server            # IronPKI's default profile for TLS servers: DNS names under .internal
DOMAIN=bench.internal     # CSR names are dev-<i>.bench.internal (CN = the one SAN dNSName)
PG_DB="bench_$$"
PG=(-h 127.0.0.1 -p 5432 -U postgres)
SCRIPT=api.sh
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Each target's files of the current round are in $WORK/TARGET/$R (R: r1, r2, ...).
R=r1
# The serial column of each store, one value a line (cfssl: decimal; IronPKI: as it stores it).
serials_cfssl() { sqlite3 "$WORK/cfssl-sqlite/$R/certdb.sqlite" 'SELECT serial_number FROM certificates;'; }
serials_cfssl_https() { sqlite3 "$WORK/cfssl-sqlite-https/$R/certdb.sqlite" 'SELECT serial_number FROM certificates;'; }
serials_ironpki_sqlite() { sqlite3 "$WORK/ironpki-sqlite/$R/home/ironpki.db" 'SELECT serial FROM certificates;'; }
serials_ironpki_sqlite_normal() { sqlite3 "$WORK/ironpki-sqlite-normal/$R/home/ironpki.db" 'SELECT serial FROM certificates;'; }
serials_ironpki_postgres() { psql "${PG[@]}" -d "$PG_DB" -tAc 'SELECT serial FROM certificates;'; }

skipped() {  # skipped NAME TARGET STORE REASON: record a target that did not run
  mkdir -p "$WORK/$1/$R"
  "$PY" -c 'import json, sys; json.dump({"target": sys.argv[1], "store": sys.argv[2], "skipped": sys.argv[3]}, sys.stdout)' \
    "$2" "$3" "$4" >"$WORK/$1/$R/meta.json"
  echo "   SKIPPED: $4" >&2
}

run_load() {  # run_load NAME TARGET STORE URL PID SERIALS_FN|- [TOKENS_FILE]: warm-up, then the measured run
  local name=$1 target=$2 store=$3 url=$4 pid=$5 serials=$6 tokens=${7:-} d="$WORK/$1/$R" body
  local before=null after=null cpu0 cpu1 busy0 busy1 answers=() kind=cfssl
  body="$WORK/bodies-cfssl.jsonl"
  [[ $target == IronPKI ]] && { body="$WORK/bodies-ironpki.jsonl"; kind=ironpki; }
  # --timeout 10s: wrk's default (2 s) would drop cfssl's slowest answers as timeouts
  # instead of measuring them (its p99 with a store reaches seconds, see shared/ANCHORS.md).
  wrk -t2 -c64 -d"${WARM}s" --timeout 10s -s "$LUA" "$url" -- "$body" "$tokens" >"$d/warmup.txt" 2>&1 \
    || { cat "$d/warmup.txt" >&2; fail "wrk warm-up against $name failed"; }
  sleep 1   # let requests still in flight when wrk stopped finish before counting rows
  if [[ $serials != - ]]; then
    before=$($serials | wc -l) || fail "cannot read the serials of $name's store"
    answers=("$d/answers")   # every 2xx body of the measured run, to look its serial up after
  fi
  # CPU of the server, of wrk and of the whole machine: what is left is other work that skews
  # the figures (the report shows it)
  cpu0=$(cpu_seconds "$pid"); pg_snapshot >"$d/pg0.txt"; busy0=$(machine_busy)
  /usr/bin/time -f '%U %S' -o "$d/wrk.time" \
    wrk -t2 -c64 -d"${S}s" --timeout 10s -s "$LUA" "$url" -- "$body" "$tokens" "${answers[@]}" >"$d/wrk.txt" 2>&1 \
    || { cat "$d/wrk.txt" >&2; fail "wrk against $name failed"; }
  cpu1=$(cpu_seconds "$pid"); pg_snapshot >"$d/pg1.txt"; busy1=$(machine_busy)
  sleep 1
  grep -q '^api_result ' "$d/wrk.txt" || { cat "$d/wrk.txt" >&2; fail "no api_result line from wrk against $name"; }
  echo '{}' >"$d/stored.json"
  if [[ $serials != - ]]; then
    $serials >"$d/serials.txt" || fail "cannot read the serials of $name's store"
    after=$(wc -l <"$d/serials.txt")
    "$PY" "$BENCH/peers/api_stored.py" --kind "$kind" --serials "$d/serials.txt" "$d"/answers-* >"$d/stored.json"
  fi
  "$PY" - "$d" "$target" "$store" "$before" "$after" "$cpu0" "$cpu1" "$url" "$busy0" "$busy1" <<'EOF'
import json, sys
d, target, store, before, after, cpu0, cpu1, url, busy0, busy1 = sys.argv[1:]
# PostgreSQL backends of our database: CPU per PID (one that started meanwhile counts from 0)
pg0, pg1 = ({int(p): float(c) for p, c in (l.split() for l in open(f"{d}/pg{i}.txt") if l.strip())} for i in (0, 1))
pg_cpu = sum(c - pg0.get(p, 0.0) for p, c in pg1.items())
(w0, b0), (w1, b1) = (map(float, busy0.split()), map(float, busy1.split()))
wrk_cpu = sum(map(float, open(f"{d}/wrk.time").read().split()[-2:]))
r = json.loads(next(l for l in open(f"{d}/wrk.txt") if l.startswith("api_result "))[len("api_result "):])
num = lambda s: None if s in ("", "null") else int(s)
check = json.load(open(f"{d}/stored.json"))
if check and check["answered"] != r["ok_2xx"]:
    sys.exit(f"api.sh: {d}: {check['answered']} 2xx bodies written but wrk counted {r['ok_2xx']}")
meta = {"target": target, "store": store, "url": url, "rows_before": num(before), "rows_after": num(after),
        "stored_check": check or None, "server_cpu_s": float(cpu1) - float(cpu0), "wrk_cpu_s": wrk_cpu,
        "postgres_cpu_s": pg_cpu,
        "machine_cpu_s": b1 - b0, "machine_wall_s": w1 - w0, "wrk": r}
json.dump(meta, open(f"{d}/meta.json", "w"))
ok = r["ok_2xx"] / r["duration_s"]
errors = r["non_2xx"] + sum(r["socket_errors"].values())
stored = f", {check['stored']} of the {r['ok_2xx']} certificates answered are in the store" if check else ""
print(f"   {ok:,.0f} certs/s (2xx), p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
      f"statuses {r['statuses']}, {errors} errors{stored}", file=sys.stderr)
EOF
}

# ---------------------------------------------------------------- tools

step "tools"
for tool in openssl curl sqlite3; do command -v $tool >/dev/null || fail "$tool not found"; done
bench_tools golang-cfssl:cfssl

IRON_SKIP=""
if [[ $SKIP_IRONPKI == 1 ]]; then
  IRON_SKIP="BENCH_SKIP_IRONPKI=1"
else
  if [[ ! -x $IRONPKI || ${BENCH_NO_BUILD:-0} != 1 ]]; then
    step "building IronPKI"
    (cd "$ROOT" && cargo build --release -p ironpki)
  fi
  # The REST API is new: an ironpki without `token` has none, and its targets are skipped.
  "$IRONPKI" token --help >/dev/null 2>&1 \
    || IRON_SKIP="$IRONPKI has no \`token\` subcommand: no REST API in this build"
fi

rm -rf "$WORK"
mkdir -p "$WORK"
echo bench-passphrase >"$PASS_FILE"

step "generating $N CSRs (ECDSA P-256, dev-<i>.$DOMAIN) and their JSON bodies"
"$PY" "$BENCH/peers/gen_csrs.py" --count "$N" --domain "$DOMAIN" --out "$WORK/csrs.pem"
"$PY" "$BENCH/peers/api_bodies.py" --csrs "$WORK/csrs.pem" --profile "$PROFILE" \
  --cfssl "$WORK/bodies-cfssl.jsonl" --ironpki "$WORK/bodies-ironpki.jsonl" >/dev/null
FIRST_NAME="dev-0.$DOMAIN"   # the first body of each file: the check before the load

# ---------------------------------------------------------------- cfssl

step "cfssl: root and intermediate CA (openssl), 90-day client/server signing profile"
CA="$WORK/ca"
export BENCH_CA_DIR="$CA"
CNF="$BENCH/peers/openssl-ca.cnf"
mkdir -p "$CA"
( cd "$CA"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out root.key 2>/dev/null
  openssl req -x509 -new -config "$CNF" -extensions root_ext -key root.key -sha256 -days 3650 \
    -subj "/CN=Bench Root CA" -out root.crt
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out int.key 2>/dev/null
  openssl req -new -config "$CNF" -key int.key -subj "/CN=Bench Issuing CA" -out int.csr
  openssl x509 -req -in int.csr -CA root.crt -CAkey root.key -set_serial 2 -sha256 -days 1825 \
    -extfile "$CNF" -extensions int_ext -out int.crt 2>/dev/null
  # cfssl's own HTTPS listener (-tls-cert), for the target over HTTPS as IronPKI is measured
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key \
    -CA root.crt -CAkey root.key -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -days 30 -out tls.crt 2>/dev/null )
cat >"$CA/cfssl-config.json" <<'EOF'
{"signing": {"default": {"expiry": "2160h",
  "usages": ["digital signature", "server auth", "client auth"]}}}
EOF

cfssl_target() {  # cfssl_target NAME STORE [DB_CONFIG|- [SERIALS_FN|- [https]]]
  local name=$1 store=$2 d="$WORK/$1/$R" pid port code db=() tls=() scheme=http
  mkdir -p "$d"
  [[ ${3:--} != - ]] && db=(-db-config "$3")
  [[ ${5:-} == https ]] && { tls=(-tls-cert "$CA/tls.crt" -tls-key "$CA/tls.key"); scheme=https; }
  port=$(free_port)
  # default log level: cfssl logs 4 lines per request, to a file here
  cfssl serve -address 127.0.0.1 -port "$port" -ca "$CA/int.crt" -ca-key "$CA/int.key" \
    -config "$CA/cfssl-config.json" "${db[@]}" "${tls[@]}" >"$d/serve.out" 2>"$d/serve.log" &
  pid=$!; RUNNING+=" $pid"
  wait_line "$d/serve.log" 'Now listening on' "$pid"
  local url="$scheme://127.0.0.1:$port/api/v1/cfssl/sign"
  head -n1 "$WORK/bodies-cfssl.jsonl" >"$d/first.json"
  code=$(curl -s -o "$d/first.out" -w '%{http_code}' --cacert "$CA/root.crt" -H 'Content-Type: application/json' \
    --data-binary @"$d/first.json" "$url") || fail "curl $url failed"
  [[ $code == 200 ]] || fail "cfssl $name answered $code: $(head -c 300 "$d/first.out")"
  "$PY" "$BENCH/peers/api_check.py" --kind cfssl --body "$d/first.out" --name "$FIRST_NAME" \
    --days 90 --cert-out "$d/first.pem" | sed 's/^/   /' >&2
  SSL_CERT_FILE=/dev/null openssl verify -x509_strict -CAfile "$CA/root.crt" -untrusted "$CA/int.crt" \
    "$d/first.pem" >/dev/null || fail "cfssl $name: the certificate does not chain to the root"
  run_load "$name" cfssl "$store" "$url" "$pid" "${4:--}"
  stop "$pid"
}

cfssl_nostore() {
  step "cfssl serve, no store: wrk ${WARM}s warm-up + ${S}s ($R)"
  cfssl_target cfssl-nostore none
}

cfssl_sqlite() {  # cfssl_sqlite NAME [https]: cfssl with its SQLite certdb, over HTTP or HTTPS
  local name=$1 scheme=${2:-http} db="$WORK/$1/$R/certdb.sqlite" serials=serials_cfssl
  [[ $scheme == https ]] && serials=serials_cfssl_https
  step "cfssl serve, SQLite certdb in WAL mode, over ${scheme^^}: wrk ${WARM}s warm-up + ${S}s ($R)"
  mkdir -p "$WORK/$name/$R"
  # cfssl's certdb/sqlite/migrations/001_CreateCertificates.sql, the version whose columns the
  # Debian 2016 snapshot inserts (later versions add created_at and the 002 metadata columns).
  sqlite3 "$db" >/dev/null <<'EOF'
CREATE TABLE certificates (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  ca_label                 blob,
  status                   blob NOT NULL,
  reason                   int,
  expiry                   timestamp,
  revoked_at               timestamp,
  pem                      blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier)
);

CREATE TABLE ocsp_responses (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  body                     blob NOT NULL,
  expiry                   timestamp,
  PRIMARY KEY(serial_number, authority_key_identifier),
  FOREIGN KEY(serial_number, authority_key_identifier) REFERENCES certificates(serial_number, authority_key_identifier)
);
PRAGMA journal_mode=WAL;
EOF
  [[ $(sqlite3 "$db" 'PRAGMA journal_mode;') == wal ]] || fail "$db is not in WAL mode"
  printf '{"driver":"sqlite3","data_source":"%s"}\n' "$db" >"$WORK/$name/$R/db-config.json"
  cfssl_target "$name" "SQLite WAL" "$WORK/$name/$R/db-config.json" "$serials" "$scheme"
}

# ---------------------------------------------------------------- IronPKI

ironpki_target() {  # ironpki_target NAME STORE SERIALS_FN: HOME is $WORK/NAME/$R/home, already initialised
  local name=$1 store=$2 serials=$3 d="$WORK/$1/$R" H="$WORK/$1/$R/home"
  mkdir -p "$d"
  # K operator tokens for the profile, one per client (the API limits each identity's rate)
  operator_tokens "$H" "$K" "$d/tokens.txt"
  ironpki --home "$H" ca roots >"$d/roots.pem"
  serve_https "$H" "$d"
  check_first "$d" "$d/roots.pem" "$(head -n1 "$d/tokens.txt")" "$WORK/bodies-ironpki.jsonl" "$FIRST_NAME" 90
  run_load "$name" IronPKI "$store" "$SERVE_URL" "$SERVE_PID" "$serials" "$d/tokens.txt"
  stop "$SERVE_PID"
}

ironpki_sqlite() {
  step "IronPKI serve, SQLite store: wrk ${WARM}s warm-up + ${S}s ($R)"
  if [[ -n $IRON_SKIP ]]; then
    skipped ironpki-sqlite IronPKI SQLite "$IRON_SKIP"
  else
    mkdir -p "$WORK/ironpki-sqlite/$R"
    ironpki --home "$WORK/ironpki-sqlite/$R/home" init --name Bench >"$WORK/ironpki-sqlite/$R/init.log"
    ironpki_target ironpki-sqlite SQLite serials_ironpki_sqlite
  fi
}

# cfssl's SQLite driver (mattn/go-sqlite3) sets synchronous=NORMAL: its commits are not
# fsynced (strace shows none). IronPKI's like-for-like setting is `store.durability: normal`.
ironpki_sqlite_normal() {
  step "IronPKI serve, SQLite store with durability normal: wrk ${WARM}s warm-up + ${S}s ($R)"
  if [[ -n $IRON_SKIP ]]; then
    skipped ironpki-sqlite-normal IronPKI "SQLite, durability normal" "$IRON_SKIP"
  else
    local d="$WORK/ironpki-sqlite-normal/$R" base="$WORK/ironpki-sqlite/$R/home/ironpki.yaml"
    mkdir -p "$d"
    sed 's/^\( *durability:\) full/\1 normal/' "$base" >"$d/ironpki.yaml"
    grep -q '^ *durability: normal' "$d/ironpki.yaml" || fail "no durability: full in $base"
    ironpki --home "$d/home" init --config "$d/ironpki.yaml" >"$d/init.log"
    ironpki_target ironpki-sqlite-normal "SQLite, durability normal" serials_ironpki_sqlite_normal
  fi
}

ironpki_postgres() {
  step "IronPKI serve, PostgreSQL store (database $PG_DB, created afresh): wrk ${WARM}s warm-up + ${S}s ($R)"
  if [[ -n $IRON_SKIP ]]; then
    skipped ironpki-postgres IronPKI PostgreSQL "$IRON_SKIP"
  elif ! command -v psql >/dev/null || ! command -v createdb >/dev/null; then
    skipped ironpki-postgres IronPKI PostgreSQL "psql/createdb not found (Debian: postgresql-client)"
  elif ! pg_isready -q "${PG[@]}"; then
    skipped ironpki-postgres IronPKI PostgreSQL "no PostgreSQL accepting connections on 127.0.0.1:5432"
  else
    local d="$WORK/ironpki-postgres/$R"
    mkdir -p "$d"
    dropdb "${PG[@]}" --if-exists "$PG_DB"
    createdb "${PG[@]}" "$PG_DB"
    PG_CREATED=1
    # init's own configuration with the store swapped for `store: postgres://…`
    postgres_config "$WORK/ironpki-sqlite/$R/home/ironpki.yaml" "$d/ironpki.yaml"
    if ! ironpki --home "$d/home" init --config "$d/ironpki.yaml" >"$d/init.log" 2>&1; then
      skipped ironpki-postgres IronPKI PostgreSQL "ironpki init with store: postgres://… failed: $(tail -n1 "$d/init.log")"
    else
      ironpki_target ironpki-postgres PostgreSQL serials_ironpki_postgres
    fi
  fi
}

for ((round = 1; round <= ROUNDS; round++)); do
  R="r$round"
  cfssl_nostore
  cfssl_sqlite cfssl-sqlite
  cfssl_sqlite cfssl-sqlite-https https
  ironpki_sqlite
  ironpki_sqlite_normal
  ironpki_postgres
done

echo >&2
"$PY" "$BENCH/api_report.py" --work "$WORK" --command "$COMMAND" --ironpki "$IRONPKI"
