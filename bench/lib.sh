# Shell shared by bench/api.sh, bench/scale.sh and bench/latency.sh (sourced, not run).
# The caller sets SCRIPT (its name, for messages), IRONPKI, PASS_FILE, PG (psql's
# connection arguments) and PG_DB before sourcing, and PY once bench_tools has run.

step() { echo "== $*" >&2; }
fail() { echo "$SCRIPT: $*" >&2; exit 1; }
ironpki() { "$IRONPKI" --passphrase-file "$PASS_FILE" "$@"; }

# Servers still running (PIDs), stopped with SIGTERM on exit; the PostgreSQL database, dropped.
RUNNING=""
PG_CREATED=0
stop() {  # stop PID: SIGTERM, then wait for it
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  RUNNING=${RUNNING// $1/}
}
on_exit() {
  local pid
  for pid in $RUNNING; do stop "$pid"; done
  if [[ $PG_CREATED == 1 ]]; then dropdb "${PG[@]}" --if-exists "$PG_DB" || true; fi
}
trap on_exit EXIT

wait_line() {  # wait_line FILE REGEX PID [SECONDS]: until FILE has a line matching REGEX (10 s)
  local _ tenths=$(( ${4:-10} * 10 ))
  for _ in $(seq "$tenths"); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { tail -n 20 "$1" >&2; fail "process $3 exited before printing /$2/ to $1"; }
    sleep 0.1
  done
  fail "no line /$2/ in $1 after ${4:-10} s"
}

cpu_seconds() {  # cpu_seconds PID: user + system CPU time of PID so far (its threads included)
  sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($12 + $13) / hz }'
}
pg_snapshot() {  # "PID SECONDS" for each PostgreSQL backend serving our database $PG_DB
  local pid t
  for pid in $(pgrep -u postgres 2>/dev/null); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q " $PG_DB " || continue
    t=$(cpu_seconds "$pid" 2>/dev/null) && [[ -n $t ]] && echo "$pid $t"
  done
  return 0
}
machine_busy() {  # machine_busy: "WALL BUSY" seconds, BUSY = CPU time of every process on the machine
  awk -v hz="$(getconf CLK_TCK)" -v now="$(date +%s.%N)" \
    '$1 == "cpu" { printf "%s %.2f\n", now, ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}

bench_tools() {  # bench_tools [DEBIAN_PACKAGE:COMMAND ...]: wrk, time and the venv, plus those
  local missing=() want
  command -v wrk >/dev/null || missing+=(wrk)
  [[ -x /usr/bin/time ]] || missing+=(time)
  for want in "$@"; do command -v "${want#*:}" >/dev/null || missing+=("${want%%:*}"); done
  if [[ ${#missing[@]} -gt 0 ]]; then
    step "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
  [[ -x "$BENCH/.venv/bin/python" ]] || python3 -m venv "$BENCH/.venv"
  PY="$BENCH/.venv/bin/python"
  "$PY" -c 'import cryptography' 2>/dev/null || "$PY" -m pip install --quiet cryptography
}

operator_tokens() {  # operator_tokens HOME COUNT OUT: COUNT operator tokens for $PROFILE, one a line
  local i
  : >"$3"
  for ((i = 1; i <= $2; i++)); do
    ironpki --home "$1" --output json token create --role operator --profiles "$PROFILE" \
      --description "$SCRIPT client $i" >"$3.json" || fail "ironpki token create failed"
    sed -n 's/^ *"token": *"\([^"]*\)".*/\1/p' "$3.json" >>"$3"
  done
  rm -f "$3.json"
  [[ $(grep -c . "$3") == "$2" ]] || fail "expected $2 tokens in $3"
}

serve_https() {  # serve_https HOME DIR: start `ironpki serve`; sets SERVE_PID and SERVE_URL
  # the binary itself in the background (not the ironpki function): $! must be the server.
  # Port 0: it prints "listening on http://…" and then "listening on https://ADDR".
  local port
  "$IRONPKI" --passphrase-file "$PASS_FILE" --home "$1" serve --http-listen 127.0.0.1:0 \
    --https-listen 127.0.0.1:0 >"$2/serve.out" 2>"$2/serve.log" &
  SERVE_PID=$!; RUNNING+=" $SERVE_PID"
  wait_line "$2/serve.out" '^listening on https://' "$SERVE_PID" 60
  port=$(sed -n 's#^listening on https://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$2/serve.out")
  [[ -n $port ]] || fail "cannot read the HTTPS port from: $(cat "$2/serve.out")"
  SERVE_URL="https://127.0.0.1:$port/api/v1/certificates"
}

check_first() {  # check_first DIR ROOTS TOKEN BODY NAME DAYS: one request at $SERVE_URL checked by hand
  local d=$1 code
  head -n1 "$4" >"$d/first.json"
  code=$(curl -s -o "$d/first.out" -w '%{http_code}' --cacert "$2" \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $3" \
    --data-binary @"$d/first.json" "$SERVE_URL") || fail "curl $SERVE_URL failed"
  [[ $code == 201 ]] || fail "$d: IronPKI answered $code: $(head -c 300 "$d/first.out")"
  "$PY" "$BENCH/peers/api_check.py" --kind ironpki --body "$d/first.out" --name "$5" \
    --days "$6" --cert-out "$d/first.pem" --chain-out "$d/first-chain.pem" | sed 's/^/   /' >&2
  SSL_CERT_FILE=/dev/null openssl verify -x509_strict -CAfile "$2" -untrusted "$d/first-chain.pem" \
    "$d/first.pem" >/dev/null || fail "$d: the certificate does not chain to the roots"
}

postgres_config() {  # postgres_config SRC DST: SRC's configuration with `store: postgres://…/$PG_DB`
  "$PY" - "$1" "$2" "postgres://postgres@127.0.0.1:5432/$PG_DB" <<'EOF'
import re, sys
src, dst, url = sys.argv[1:]
text, n = re.subn(r"^store:\n(?:[ \t]+.*\n)+", f"store: {url}\n", open(src).read(), flags=re.M)
assert n == 1, "no store: block in " + src
open(dst, "w").write(text)
EOF
}
