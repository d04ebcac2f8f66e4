#!/usr/bin/env bash
# Revocation: IronPKI's OCSP responder and CRL signing beside their peers in one run.
# Usage: bench/revocation.sh [--count N] [--seconds S]   (N CRL entries, S seconds per wrk run)
# BENCH_NO_BUILD=1 uses target/release/ironpki as it is (it is built only if missing).
set -euo pipefail

N=1000000
S=15
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) N="$2"; shift 2 ;;
    --seconds) S="$2"; shift 2 ;;
    -h|--help) sed -n 2,4p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
COMMAND="bench/revocation.sh --count $N --seconds $S"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
WORK="$BENCH/work-revocation"
IRONPKI="$ROOT/target/release/ironpki"
step() { echo "== $*" >&2; }
fail() { echo "revocation.sh: $*" >&2; exit 1; }
ironpki() { IRONPKI_PASSPHRASE=bench-passphrase "$IRONPKI" "$@"; }

# Servers still running, as "PID:pid" or "PID:group" (openssl ocsp -multi forks workers that
# outlive their parent: their whole process group is stopped). Whatever is left is stopped on exit.
RUNNING=""
stop() {  # stop PID [pid|group]: SIGTERM, then wait for it
  local pid=$1 how=${2:-pid}
  if [[ $how == group ]]; then kill -TERM -- "-$pid" 2>/dev/null || true
  else kill -TERM "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
  RUNNING=${RUNNING// $pid:$how/}
}
on_exit() { local e; for e in $RUNNING; do stop "${e%%:*}" "${e#*:}"; done; }
trap on_exit EXIT

wait_line() {  # wait_line FILE REGEX PID: until FILE has a line matching REGEX, 10 s at most
  local _
  for _ in $(seq 100); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || fail "process $3 exited before printing /$2/ to $1"
    sleep 0.1
  done
  fail "no line /$2/ in $1 after 10 s"
}

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# RFC 6960 Appendix A: the DER request, base64 (standard alphabet), with + / = percent-encoded.
ocsp_path() {
  "$PY" -c 'import base64, sys, urllib.parse
print(urllib.parse.quote(base64.b64encode(open(sys.argv[1], "rb").read()).decode(), safe=""))' "$1"
}

fetch_ocsp() {  # fetch_ocsp URL OUT: one GET that must answer 200 with a verified "good" response
  local code
  code=$(curl -s -o "$2" -w '%{http_code}' "$1") || fail "curl $1 failed"
  [[ $code == 200 ]] || fail "GET $1 answered $code"
  openssl ocsp -respin "$2" -issuer "$OCSP/issuing.pem" -cert "$OCSP/d1/cert.pem" \
    -CAfile "$OCSP/roots.pem" >"$2.txt" 2>&1 || { cat "$2.txt" >&2; fail "bad OCSP response in $2"; }
  grep -q ': good$' "$2.txt" && grep -q 'Response verify OK' "$2.txt" \
    || { cat "$2.txt" >&2; fail "OCSP response in $2 is not a verified good"; }
}

run_wrk() {  # run_wrk NAME URL [wrk args]: S seconds, 2 threads, 64 connections
  local name=$1 url=$2; shift 2
  wrk -t2 -c64 -d"${S}s" --latency "$@" "$url" >"$OCSP/wrk-$name.txt" \
    || { cat "$OCSP/wrk-$name.txt" >&2; fail "wrk against $name failed"; }
  grep -E 'Requests/sec|^ +(50|99)%|errors|Non-2xx' "$OCSP/wrk-$name.txt" | sed 's/^/   /' >&2
}

step "peers"
for tool in openssl curl; do command -v $tool >/dev/null || fail "$tool not found"; done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -x $NGINX ]] || missing+=(nginx-light)
[[ -x /usr/bin/time ]] || missing+=(time)
if [[ ${#missing[@]} -gt 0 ]]; then
  step "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
[[ -x "$BENCH/.venv/bin/python" ]] || python3 -m venv "$BENCH/.venv"
PY="$BENCH/.venv/bin/python"
"$PY" -c 'import cryptography' 2>/dev/null || "$PY" -m pip install --quiet cryptography

if [[ ! -x $IRONPKI || ${BENCH_NO_BUILD:-0} != 1 ]]; then
  step "building IronPKI"
  (cd "$ROOT" && cargo build --release -p ironpki)
fi

rm -rf "$WORK"
mkdir -p "$WORK"
OCSP="$WORK/ocsp"
mkdir -p "$OCSP"

# ---------------------------------------------------------------- A. OCSP throughput

step "A. IronPKI: a PKI with one device certificate"
H="$OCSP/home"
ironpki --home "$H" init --name Bench >"$OCSP/init.log"
ironpki --home "$H" cert issue --profile device --cn d1 --san dns:d1.iot.internal --out "$OCSP/d1" >"$OCSP/issue.log"
ironpki --home "$H" ca show issuing --pem >"$OCSP/issuing.pem"
ironpki --home "$H" ca roots >"$OCSP/roots.pem"
openssl ocsp -issuer "$OCSP/issuing.pem" -cert "$OCSP/d1/cert.pem" -no_nonce -reqout "$OCSP/req.der" >/dev/null
REQ=$(ocsp_path "$OCSP/req.der")

step "A1. ironpki serve, GET /ocsp/… (pre-signed, cached response), wrk ${S}s"
IRONPKI_PASSPHRASE=bench-passphrase "$IRONPKI" --home "$H" serve --http-listen 127.0.0.1:0 \
  >"$OCSP/serve.out" 2>"$OCSP/serve.log" &
pid=$!; RUNNING+=" $pid:pid"
wait_line "$OCSP/serve.out" '^listening on http://' "$pid"
PORT=$(head -n1 "$OCSP/serve.out" | sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p')
[[ -n $PORT ]] || fail "cannot read the port from: $(head -n1 "$OCSP/serve.out")"
URL="http://127.0.0.1:$PORT/ocsp/$REQ"
fetch_ocsp "$URL" "$OCSP/ironpki.der"
run_wrk ironpki "$URL"
stop "$pid"

step "A2. nginx, a static file of the same $(stat -c %s "$OCSP/ironpki.der") bytes, wrk ${S}s"
NG="$OCSP/nginx"
mkdir -p "$NG/www" "$NG/tmp"
cp "$OCSP/ironpki.der" "$NG/www/ocsp.der"
PORT=$(free_port)
cat >"$NG/nginx.conf" <<EOF
worker_processes auto;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $NG/tmp/body;
  proxy_temp_path $NG/tmp/proxy;
  fastcgi_temp_path $NG/tmp/fastcgi;
  uwsgi_temp_path $NG/tmp/uwsgi;
  scgi_temp_path $NG/tmp/scgi;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$PORT;
    root $NG/www;
    # the same URL as IronPKI's, answered with the saved response
    location /ocsp/ {
      default_type application/ocsp-response;
      try_files /ocsp.der =404;
    }
  }
}
EOF
"$NGINX" -e "$NG/error.log" -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;' 2>"$NG/stderr" &
pid=$!; RUNNING+=" $pid:pid"   # the master: SIGTERM stops its workers too
URL="http://127.0.0.1:$PORT/ocsp/$REQ"
for _ in $(seq 100); do
  curl -sf -o /dev/null "$URL" && break
  kill -0 "$pid" 2>/dev/null || { cat "$NG/stderr" "$NG/error.log" >&2; fail "nginx exited"; }
  sleep 0.1
done
fetch_ocsp "$URL" "$NG/got.der"
cmp -s "$NG/got.der" "$OCSP/ironpki.der" || fail "nginx does not serve IronPKI's bytes"
run_wrk nginx "$URL"
stop "$pid"

# openssl ocsp answers for IronPKI's own issuing CA: the same request, the CA certificate
# as -CA and as the signer (-rsigner, so the response carries it), its key decrypted with
# openssl pkey, and an index.txt with d1 as valid. It takes GET at /BASE64 (no /ocsp/).
OO="$OCSP/openssl"
mkdir -p "$OO"
(umask 077; openssl pkey -in "$H/ca/issuing/key.pem" -passin pass:bench-passphrase -out "$OO/issuing.key")
d1_end=$(date -u -d "$(openssl x509 -in "$OCSP/d1/cert.pem" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
d1_serial=$(openssl x509 -in "$OCSP/d1/cert.pem" -noout -serial | cut -d= -f2)
printf 'V\t%s\t\t%s\tunknown\t/CN=d1\n' "$d1_end" "$d1_serial" >"$OO/index.txt"

ocsp_responder() {  # ocsp_responder NAME [-multi 2]: a fresh responder, one check, then wrk
  local name=$1 pid how=pid; shift
  [[ $# -gt 0 ]] && how=group  # -multi makes the responder a process group leader
  openssl ocsp -index "$OO/index.txt" -port 0 -CA "$OCSP/issuing.pem" \
    -rsigner "$OCSP/issuing.pem" -rkey "$OO/issuing.key" "$@" >"$OO/$name.out" 2>"$OO/$name.log" &
  pid=$!; RUNNING+=" $pid:$how"
  # "ACCEPT [::]:PORT PID=…" is printed once it listens. Never probe the port with a bare
  # connect: the responder spins at 100 % CPU after a connection closed without a request.
  wait_line "$OO/$name.out" '^ACCEPT ' "$pid"
  PORT=$(sed -n 's/^ACCEPT .*:\([0-9]*\) PID=.*/\1/p' "$OO/$name.out")
  URL="http://127.0.0.1:$PORT/$REQ"
  fetch_ocsp "$URL" "$OO/$name.der"
  # wrk's connect check would hang the responder: peers/wrk-noprobe.lua skips it.
  run_wrk "$name" "$URL" -s "$BENCH/peers/wrk-noprobe.lua"
  stop "$pid" "$how"
}
step "A3. openssl ocsp -port, one process (fresh), wrk ${S}s without the connect check"
ocsp_responder openssl-ocsp
step "A4. openssl ocsp -port -multi 2 (fresh), wrk ${S}s without the connect check"
ocsp_responder openssl-ocsp-multi2 -multi 2

# ---------------------------------------------------------------- B. CRL of N entries

CRL="$WORK/crl"
crl_result() {  # crl_result NAME CRL.der ISSUER.pem: check signature and entry count, write NAME.json
  local name=$1 der=$2 entries secs kib
  entries=$(openssl crl -inform DER -in "$der" -CAfile "$3" -noout -text 2>"$CRL/$name.verify" \
            | grep -c 'Serial Number' || true)
  grep -q 'verify OK' "$CRL/$name.verify" || { cat "$CRL/$name.verify" >&2; fail "$name: CRL signature"; }
  [[ $entries == "$N" ]] || fail "$name: CRL lists $entries entries, not $N"
  read -r secs kib < <(tail -n1 "$CRL/$name.time")
  printf '{"seconds":%s,"peak_kib":%s,"bytes":%s,"entries":%s}\n' \
    "$secs" "$kib" "$(stat -c %s "$der")" "$entries" >"$CRL/$name.json"
  echo "   $secs s, $((kib / 1024)) MiB peak, $(stat -c %s "$der") bytes" >&2
}

step "B. IronPKI: a PKI with $N revoked certificates (not timed)"
ironpki bench revoked --count "$N" --work "$CRL" >"$WORK/crl-setup.json"
read -r CRL_HOME SERIALS NOT_AFTER < <("$PY" -c 'import json, sys
j = json.load(open(sys.argv[1])); print(j["home"], j["serials"], j["not_after"])' "$WORK/crl-setup.json")
[[ $(wc -l <"$SERIALS") == "$N" ]] || fail "$SERIALS does not hold $N serials"

step "B1. ironpki crl generate ($N entries)"
/usr/bin/time -f '%e %M' -o "$CRL/ironpki.time" env IRONPKI_PASSPHRASE=bench-passphrase \
  "$IRONPKI" --home "$CRL_HOME" crl generate --out "$CRL/ironpki.crl" >"$CRL/ironpki.log"
crl_result ironpki "$CRL/ironpki.crl" "$CRL_HOME/ca/issuing/cert.pem"

step "B2. openssl ca -gencrl ($N entries)"
export BENCH_CRL_DIR="$CRL/openssl"
CNF="$BENCH/peers/openssl-crl.cnf"
mkdir -p "$BENCH_CRL_DIR"
( cd "$BENCH_CRL_DIR"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
  openssl req -x509 -new -config "$CNF" -extensions ca_ext -key ca.key -sha256 -days 1825 \
    -subj "/CN=Bench CRL CA" -out ca.crt
  echo 01 >crlnumber )
"$PY" "$BENCH/peers/revoked_index.py" --serials "$SERIALS" --not-after "$NOT_AFTER" --out "$BENCH_CRL_DIR/index.txt"
SSL_CERT_FILE=/dev/null /usr/bin/time -f '%e %M' -o "$CRL/openssl.time" \
  openssl ca -gencrl -config "$CNF" -crldays 7 -out "$BENCH_CRL_DIR/crl.pem" 2>"$CRL/openssl.log" \
  || { cat "$CRL/openssl.log" >&2; fail "openssl ca -gencrl failed"; }
openssl crl -in "$BENCH_CRL_DIR/crl.pem" -outform DER -out "$CRL/openssl.crl"  # it writes PEM only
crl_result openssl "$CRL/openssl.crl" "$BENCH_CRL_DIR/ca.crt"

step "B3. Python cryptography CRL builder ($N entries, one list)"
/usr/bin/time -f '%e %M' -o "$CRL/python.time" "$PY" "$BENCH/peers/py_crl.py" --serials "$SERIALS" \
  --ca-key "$BENCH_CRL_DIR/ca.key" --ca-cert "$BENCH_CRL_DIR/ca.crt" --out "$CRL/python.crl"
crl_result python "$CRL/python.crl" "$BENCH_CRL_DIR/ca.crt"

echo >&2
"$PY" "$BENCH/revocation_report.py" --work "$WORK" --command "$COMMAND" --ironpki "$IRONPKI" --nginx "$NGINX"
