#!/usr/bin/env bash
# Issuance from CSRs: IronPKI beside its peers in one run. Usage: bench/run.sh [--count N]
# BENCH_SKIP_IRONPKI=1 runs the peers only.
set -euo pipefail

N=20000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) N="$2"; shift 2 ;;
    -h|--help) sed -n 2,3p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
M=$(( N < 1000 ? N : 1000 ))  # openssl ca costs a process per certificate
SKIP_IRONPKI="${BENCH_SKIP_IRONPKI:-0}"
COMMAND="bench/run.sh --count $N"
[[ "$SKIP_IRONPKI" == 1 ]] && COMMAND="BENCH_SKIP_IRONPKI=1 $COMMAND"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
WORK="$BENCH/work"
CNF="$BENCH/peers/openssl-ca.cnf"
step() { echo "== $*" >&2; }

step "peers"
command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 1; }
[[ -x "$BENCH/.venv/bin/python" ]] || python3 -m venv "$BENCH/.venv"
PY="$BENCH/.venv/bin/python"
"$PY" -c 'import cryptography' 2>/dev/null || "$PY" -m pip install --quiet cryptography

if [[ "$SKIP_IRONPKI" != 1 ]]; then
  step "building IronPKI"
  (cd "$ROOT" && cargo build --release -p ironpki)
fi

rm -rf "$WORK"
mkdir -p "$WORK"

step "generating $N CSRs"
"$PY" "$BENCH/peers/gen_csrs.py" --count "$N" --out "$WORK/csrs.pem"

step "root and intermediate CA for the peers"
CA="$WORK/ca"
export BENCH_CA_DIR="$CA"
mkdir -p "$CA/newcerts"
: > "$CA/index.txt"
( cd "$CA"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out root.key 2>/dev/null
  openssl req -x509 -new -config "$CNF" -extensions root_ext -key root.key -sha256 -days 3650 \
    -subj "/CN=Bench Root CA" -out root.crt
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out int.key 2>/dev/null
  openssl req -new -config "$CNF" -key int.key -subj "/CN=Bench Issuing CA" -out int.csr
  openssl x509 -req -in int.csr -CA root.crt -CAkey root.key -set_serial 2 -sha256 -days 1825 \
    -extfile "$CNF" -extensions int_ext -out int.crt 2>/dev/null )

if [[ "$SKIP_IRONPKI" != 1 ]]; then
  step "IronPKI bench issuance ($N)"
  if ! IRONPKI_PASSPHRASE=bench-passphrase "$ROOT/target/release/ironpki" bench issuance \
       --csrs "$WORK/csrs.pem" --work "$WORK/ironpki" >"$WORK/ironpki.json" 2>"$WORK/ironpki.stderr" \
     || ! "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$WORK/ironpki.json" 2>/dev/null; then
    echo "ironpki bench issuance failed; stdout:" >&2; cat "$WORK/ironpki.json" >&2
    echo "stderr:" >&2; cat "$WORK/ironpki.stderr" >&2
    exit 1
  fi
fi

for mode in store nostore; do
  step "Python cryptography signer, $mode ($N)"
  args=(--db "$WORK/py.sqlite"); [[ $mode == nostore ]] && args=(--no-store)
  "$PY" "$BENCH/peers/py_signer.py" --ca-key "$CA/int.key" --ca-cert "$CA/int.crt" \
    --csrs "$WORK/csrs.pem" --sample "$WORK/py_$mode.pem" "${args[@]}" > "$WORK/py_$mode.json"
done

step "openssl ca -batch ($M)"
OSSL="$WORK/openssl"
mkdir -p "$OSSL"
awk -v m="$M" -v dir="$OSSL" '/BEGIN CERTIFICATE REQUEST/ { if (++n > m) exit; f = dir "/csr_" n ".pem" }
  { print > f } /END CERTIFICATE REQUEST/ { close(f) }' "$WORK/csrs.pem"
# Without this, every openssl start reads the system trust bundle (see shared/ANCHORS.md).
export SSL_CERT_FILE=/dev/null
t0=$(date +%s.%N)
for ((i = 1; i <= M; i++)); do
  openssl ca -batch -config "$CNF" -rand_serial -notext \
    -in "$OSSL/csr_$i.pem" -out "$OSSL/cert_$i.pem" 2>>"$OSSL/ca.log" \
    || { echo "openssl ca failed on csr_$i.pem:" >&2; tail -n 20 "$OSSL/ca.log" >&2; exit 1; }
done
t1=$(date +%s.%N)
awk -v n="$M" -v t0="$t0" -v t1="$t1" \
  'BEGIN { s = t1 - t0; printf "{\"issued\":%d,\"seconds\":%.4f,\"per_sec\":%.1f}\n", n, s, n / s }' \
  > "$WORK/openssl_ca.json"

step "checking sample certificates chain to the root"
openssl verify -x509_strict -CAfile "$CA/root.crt" -untrusted "$CA/int.crt" \
  "$OSSL/cert_1.pem" "$OSSL/cert_$M.pem" "$WORK/py_store.pem" "$WORK/py_nostore.pem" >/dev/null

echo >&2
"$PY" "$BENCH/report.py" --work "$WORK" --command "$COMMAND"
